"""Every pinned package installs from a wheel on the Pythons students have (3.12 and 3.13).

run.py installs the pins of pyproject.toml with the Python that runs it,
3.11 to 3.13. This suite itself runs on one of them; for the others, pip
resolves the pins (the runtime dependencies and every extra: test, postgres,
whatever pyproject.toml holds) as it would on the target, from wheels only
(``--only-binary=:all:``), for CPython 3.12 and 3.13 on three platforms:
Linux x86_64 (manylinux, glibc 2.35 and older: Ubuntu 22.04 and later, Debian
12 and later), macOS 14 on Apple silicon and Windows x86-64. A pin without a
wheel there, or a dependency of one, fails the resolution.

The pins are not a full set: their own dependencies are not pinned, so they
are resolved with them, as run.py's install resolves them. ``pip download``
fetches the wheels of each target, with their dependencies, into
~/.cache/backproplab/wheels/ (about 1.1 GB for the six targets; delete it to
check against the index afresh); ``pip install --dry-run --no-index
--report`` then resolves from that folder alone and reports what it chose,
so that later runs download only what a changed pin needs. pip evaluates
environment markers for the Python that runs it, not for the target, so
dependencies that only the target needs (pywinpty on Windows, appnope on
macOS, ...) are found from the resolved metadata and fetched in a further
round, until nothing is missing.

Needs the package index (PyPI, or what pip's configuration names). Without
it the tests skip with the reason, except under CI=true, where they fail.
"""

import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
WHEELS = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "backproplab" / "wheels"
PYTHONS = ["3.12", "3.13"]
MANYLINUX = ([f"manylinux_2_{minor}_x86_64" for minor in range(35, 4, -1)]
             + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"])
PLATFORMS = {
    # name: (pip --platform tags, the target's environment-marker values)
    "linux-x86_64": (MANYLINUX, {"sys_platform": "linux", "platform_system": "Linux",
                                 "os_name": "posix", "platform_machine": "x86_64"}),
    "macos-arm64": (["macosx_14_0_arm64"], {"sys_platform": "darwin", "platform_system": "Darwin",
                                            "os_name": "posix", "platform_machine": "arm64"}),
    "windows-amd64": (["win_amd64"], {"sys_platform": "win32", "platform_system": "Windows",
                                      "os_name": "nt", "platform_machine": "AMD64"}),
}
NO_NETWORK = re.compile(r"NewConnectionError|Max retries exceeded|Temporary failure in name resolution"
                        r"|Network is unreachable|ProxyError|ConnectTimeout|Read timed out")


def pins():
    """Every requirement of pyproject.toml: the dependencies and every optional extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        found += [r for r in extra if r not in found]
    return found


def marker_environment(python, platform):
    return {"python_version": python, "python_full_version": python + ".0",
            "implementation_name": "cpython", "implementation_version": python + ".0",
            "platform_python_implementation": "CPython", "platform_release": "", "platform_version": "",
            **PLATFORMS[platform][1]}


def missing_for_target(report, roots, environment):
    """Requirements the target needs that pip (evaluating markers for this Python) left out.

    Walks the dependency graph from ``roots`` through the resolved packages'
    metadata, evaluating each requirement's marker for the target, with the
    extras each package was asked for.
    """
    resolved = {canonicalize_name(item["metadata"]["name"]): item["metadata"] for item in report["install"]}
    missing, seen = {}, set()
    todo = [Requirement(r) for r in roots]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        if name not in resolved:
            # without its marker, which was true for the target and would be evaluated again at the top
            extras = "[%s]" % ",".join(sorted(requirement.extras)) if requirement.extras else ""
            missing.setdefault(name, f"{requirement.name}{extras}{requirement.specifier}")
            continue
        for extra in {"", *requirement.extras}:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for line in resolved[name].get("requires_dist", []):
                dependency = Requirement(line)
                if dependency.marker is None or dependency.marker.evaluate({**environment, "extra": extra}):
                    todo.append(dependency)
    return sorted(missing.values())


def target_options(python, platform):
    abi = "cp" + python.replace(".", "")
    return ["--only-binary=:all:", "--python-version", python, "--implementation", "cp",
            "--abi", abi, "--abi", "abi3", "--abi", "none",
            *[f"--platform={tag}" for tag in PLATFORMS[platform][0]]]


def pip(args, requirements):
    """Run pip with ``requirements`` in a requirements file; (exit status, output)."""
    with tempfile.TemporaryDirectory(prefix="wheels-") as scratch:
        listing = Path(scratch) / "requirements.txt"
        listing.write_text("\n".join(requirements) + "\n", encoding="utf-8")
        done = subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check",
                               "--no-input", "-r", str(listing)],
                              capture_output=True, text=True, timeout=900)
    return done.returncode, done.stdout + done.stderr


def resolve_offline(python, platform, requirements, folder):
    """pip's resolution of ``requirements`` from the wheels in ``folder`` alone; (report or None, output)."""
    with tempfile.TemporaryDirectory(prefix="wheels-report-") as scratch:
        report = Path(scratch) / "report.json"
        status, output = pip(["install", "--dry-run", "--ignore-installed", "--quiet", "--no-index",
                              "--find-links", str(folder), *target_options(python, platform),
                              "--report", str(report)], requirements)
        if status != 0:
            return None, output
        return json.loads(report.read_text(encoding="utf-8")), output


def resolve_for_target(python, platform):
    """Resolve the pins from wheels for one target; (report or None, requirements, pip's output).

    The wheels are downloaded (with their dependencies, from the package
    index) into a folder of the user's cache; pip then resolves from that
    folder alone, so that a later run downloads only what a changed pin needs.
    Dependencies that only the target's markers ask for are added and
    resolved in a further round.
    """
    folder = WHEELS / f"cp{python.replace('.', '')}-{platform}"
    folder.mkdir(parents=True, exist_ok=True)
    requirements = pins()
    for _ in range(4):
        report, output = resolve_offline(python, platform, requirements, folder)
        if report is None:
            status, output = pip(["download", "--quiet", "--dest", str(folder),
                                  *target_options(python, platform)], requirements)
            if status != 0:
                return None, requirements, output
            report, output = resolve_offline(python, platform, requirements, folder)
            if report is None:
                return None, requirements, output
        extra = missing_for_target(report, requirements, marker_environment(python, platform))
        if not extra:
            return report, requirements, output
        requirements = requirements + extra
    return None, requirements, f"the target's dependencies did not settle: still missing {extra}"


@pytest.fixture(scope="module")
def resolutions():
    """{(python, platform): (report or None, requirements, pip's output)}, resolved concurrently."""
    targets = [(python, platform) for python in PYTHONS for platform in PLATFORMS]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(targets)) as pool:
        futures = {target: pool.submit(resolve_for_target, *target) for target in targets}
        return {target: future.result() for target, future in futures.items()}


@pytest.mark.parametrize("platform", list(PLATFORMS))
@pytest.mark.parametrize("python", PYTHONS)
def test_every_pin_and_its_dependencies_install_from_wheels(resolutions, python, platform):
    report, requirements, output = resolutions[(python, platform)]
    if report is None and NO_NETWORK.search(output):
        reason = f"the package index is not reachable: {NO_NETWORK.search(output).group(0)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run this test: {reason}")
        print(f"skipped: {reason}")
        pytest.skip(reason)
    assert report is not None, (
        f"no wheels for CPython {python} on {platform} for these requirements:\n"
        + "\n".join(requirements) + "\n\npip says:\n" + output[-3000:])
    installed = {canonicalize_name(item["metadata"]["name"]): item for item in report["install"]}
    for pin in pins():
        requirement = Requirement(pin)
        item = installed.get(canonicalize_name(requirement.name))
        assert item is not None, f"{pin} is not in pip's resolution for {python} on {platform}"
        assert requirement.specifier.contains(item["metadata"]["version"]), (
            f"pip resolved {requirement.name} {item['metadata']['version']}, not the pin {pin}")
    not_wheels = [item["download_info"]["url"] for item in report["install"]
                  if not item["download_info"]["url"].endswith(".whl")]
    assert not not_wheels, f"not wheels: {not_wheels}"


def test_the_target_walk_finds_what_only_the_target_needs():
    """missing_for_target adds a Windows-only dependency for Windows and nothing for Linux."""
    report = {"install": [
        {"metadata": {"name": "Top", "requires_dist": [
            "dep ; sys_platform == 'win32'", "tool[fast] ; python_version >= '3.12'",
            "never ; extra == 'docs'"]}},
        {"metadata": {"name": "tool", "requires_dist": ["speedup ; extra == 'fast'"]}},
    ]}
    assert missing_for_target(report, ["top==1"], marker_environment("3.13", "windows-amd64")) == [
        "dep", "speedup"]
    assert missing_for_target(report, ["top==1"], marker_environment("3.13", "linux-x86_64")) == ["speedup"]
    assert missing_for_target(report, ["top==1"], {**marker_environment("3.11", "linux-x86_64")}) == []
