"""Binder: the launch links, postBuild and the two Jupyter profiles of jupyter/.

environment.yml itself (it parses, and its pins equal pyproject.toml's) is
tested in tests/test_environment.py.

postBuild is not run as Binder runs it: that would install every pinned
package again, for minutes, to learn what the pin tests already say. Instead
``bash -n`` checks its syntax, and it runs for real with a stand-in ``pip`` on
PATH that records its arguments, and with a temporary folder as the
environment's prefix; the files it writes there must make, through Jupyter's
own configuration loaders, exactly the student profile, and its kernel must
cap the BLAS threads. The browser tests (tests/test_browser.py) run
JupyterLab with the same profile.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import harness

ROOT = harness.ROOT
PROFILES = ROOT / "jupyter"
NBGRADER_PLUGINS = {"formgrader", "assignment-list", "course-list", "create-assignment",
                    "menu", "validate-assignment"}
# The student keeps Validate. The menu would be empty without the other four.
STUDENT_DISABLED = {f"@jupyter/nbgrader:{name}" for name in NBGRADER_PLUGINS - {"validate-assignment"}}
SERVER_EXTENSIONS = {f"nbgrader.server_extensions.{name}"
                     for name in ("formgrader", "assignment_list", "course_list", "validate_assignment")}
LINK = re.compile(r"https://mybinder\.org/v2/gh/([^/\s)]+/[^/\s)]+)/([^?\s)]+)\?urlpath=lab/tree/([^\s)]+)")


def binder():
    return json.loads((ROOT / "binder.json").read_text(encoding="utf-8"))


def readme_links():
    return LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))


# -- the launch links --------------------------------------------------------------

def test_every_binder_link_uses_the_repository_and_tag_of_binder_json():
    where = binder()
    links = readme_links()
    assert links, "README.md has no Binder link"
    for repository, ref, _ in links:
        assert (repository, ref) == (where["repository"], where["ref"]), (
            f"a README link opens {repository} at {ref}; binder.json says "
            f"{where['repository']} at {where['ref']}")


def test_every_course_notebook_has_a_binder_link_and_every_link_opens_a_notebook():
    targets = [target for _, _, target in readme_links()]
    for target in targets:
        assert (ROOT / target).is_file(), f"a README Binder link opens {target}, which does not exist"
    released = {path.relative_to(ROOT).as_posix() for path in harness.notebooks(harness.COURSE)}
    assert released <= set(targets), f"no Binder link in README.md for {sorted(released - set(targets))}"


def test_the_badge_opens_notebook_01_and_the_readme_tells_how_to_keep_work():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    badge = re.search(r"\[!\[[^\]]*\]\(https://mybinder\.org/badge_logo\.svg\)\]\((\S+?)\)", text)
    assert badge, "README.md has no Binder badge"
    assert badge[1].endswith("?urlpath=lab/tree/course/01-gradient-intuition/gradient_intuition.ipynb")
    assert "10 minutes" in text and "File > Download" in text


# -- postBuild -------------------------------------------------------------------------

def test_postbuild_is_an_executable_bash_script_that_stops_on_errors():
    script = ROOT / "postBuild"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/usr/bin/env bash\n")
    assert re.search(r"^set -[a-z]*e", text, re.M), "postBuild must `set -e`"
    if os.name != "nt":
        assert os.access(script, os.X_OK), "postBuild is not executable"
    done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Run postBuild with a recording ``pip`` and a temporary prefix; return (prefix, pip calls)."""
    tmp = tmp_path_factory.mktemp("binder")
    fake = tmp / "bin"
    fake.mkdir()
    calls = tmp / "pip-calls"
    (fake / "pip").write_text(f'#!/usr/bin/env bash\necho "$PWD $*" >> {calls}\n')
    (fake / "pip").chmod(0o755)
    prefix = tmp / "prefix"
    env = {**os.environ, "PATH": os.pathsep.join([str(fake), str(Path(sys.executable).parent),
                                                  os.environ["PATH"]])}
    done = subprocess.run(["bash", str(ROOT / "postBuild"), str(prefix)], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return prefix, calls.read_text().splitlines()


def test_postbuild_installs_the_course_packages_without_their_dependencies(built):
    _, calls = built
    assert len(calls) == 1, calls
    where, *args = calls[0].split()
    assert Path(where) == ROOT
    assert args[0] == "install" and "--no-deps" in args and args[-2:] == ["-e", "."]


def resolved(config_dir):
    """The nbgrader server extensions and disabled lab plugins that Jupyter resolves from config_dir."""
    code = (
        "import json\n"
        "from jupyter_core.paths import jupyter_config_path\n"
        "from jupyter_server.extension.config import ExtensionConfigManager\n"
        "from jupyterlab_server.config import get_static_page_config\n"
        "servers = ExtensionConfigManager(read_config_path=jupyter_config_path()).get_jpserver_extensions()\n"
        "disabled = get_static_page_config().get('disabledExtensions', {})\n"
        "print(json.dumps([servers, disabled]))\n")
    env = {**os.environ, "JUPYTER_CONFIG_PATH": str(config_dir)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    servers, disabled = json.loads(done.stdout)
    enabled = {name for name, on in servers.items() if on and name.startswith("nbgrader.")}
    return enabled, {name for name, off in disabled.items() if off and "nbgrader" in name}


def test_postbuild_makes_the_student_profile_the_environments_configuration(built):
    prefix, _ = built
    config = prefix / "etc" / "jupyter"
    for name in ("jupyter_server_config.json", "labconfig/page_config.json"):
        assert (config / name).read_bytes() == (PROFILES / "student" / name).read_bytes()
    assert resolved(config) == ({"nbgrader.server_extensions.validate_assignment"}, STUDENT_DISABLED)


def test_postbuild_caps_the_blas_threads_of_the_kernel(built):
    prefix, _ = built
    kernel = json.loads((prefix / "share/jupyter/kernels/python3/kernel.json").read_text())
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        assert kernel["env"][name] == "1"


def test_postbuild_makes_the_kernel_draw_inline_as_run_py_does(built):
    """Binder's kernel sets the backend that the course's kernelspec sets (tests/test_figures.py runs it)."""
    prefix, _ = built
    kernel = json.loads((prefix / "share/jupyter/kernels/python3/kernel.json").read_text())
    course = json.loads((PROFILES / "data/kernels/python3/kernel.json").read_text())
    assert kernel["env"]["MPLBACKEND"] == course["env"]["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"


# -- the profiles and run.py ---------------------------------------------------------

def test_the_student_profile_keeps_only_validate():
    assert resolved(PROFILES / "student") == ({"nbgrader.server_extensions.validate_assignment"},
                                               STUDENT_DISABLED)


def test_the_instructor_profile_keeps_the_formgrader():
    assert resolved(PROFILES / "instructor") == (SERVER_EXTENSIONS, set())


def test_run_py_opens_jupyterlab_with_a_profile_and_one_blas_thread(monkeypatch):
    import test_environment

    run = test_environment.run
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "JUPYTER_CONFIG_PATH"):
        monkeypatch.delenv(name, raising=False)
    for profile in ("student", "instructor"):
        env = run.lab_environ(profile)
        assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str(PROFILES / profile)
        assert env["OPENBLAS_NUM_THREADS"] == env["OMP_NUM_THREADS"] == "1"
