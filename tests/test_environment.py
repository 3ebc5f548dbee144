"""The entry points: pins, run.py, the README's commands, .ci/run, .gitignore."""

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

import harness

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[a-z0-9,_-]+\])?==[0-9][0-9A-Za-z.+!-]*$")


def load_run():
    return harness.load_module(ROOT / "run.py", "run_py")


run = load_run()


def normalise(requirement):
    name, version = requirement.split("==")
    return re.sub(r"[-_.]+", "-", name).lower() + "==" + version.strip()


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def environment_yml():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def yml_pip_list(env):
    lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(lists) == 1, "environment.yml needs exactly one `pip:` list"
    return lists[0]


# -- pins ------------------------------------------------------------------------

def test_environment_yml_has_python_311_and_pip():
    env = environment_yml()
    assert env["name"] == "backproplab"
    assert env["channels"] == ["conda-forge"]
    plain = [d for d in env["dependencies"] if isinstance(d, str)]
    assert plain == ["python=3.11", "pip"]


def test_environment_yml_pins_equal_pyproject_dependencies():
    in_yml = {normalise(r) for r in yml_pip_list(environment_yml())}
    in_toml = {normalise(r) for r in pyproject()["dependencies"]}
    assert in_yml == in_toml, (
        "environment.yml and pyproject.toml disagree.\n"
        f"only in environment.yml: {sorted(in_yml - in_toml)}\n"
        f"only in pyproject.toml:  {sorted(in_toml - in_yml)}")


@pytest.mark.parametrize("where", ["dependencies", "test extra", "postgres extra", "hub extra", "environment.yml"])
def test_every_requirement_is_an_exact_pin(where):
    requirements = {
        "dependencies": pyproject()["dependencies"],
        "test extra": pyproject()["optional-dependencies"]["test"],
        "postgres extra": pyproject()["optional-dependencies"]["postgres"],
        "hub extra": pyproject()["optional-dependencies"]["hub"],
        "environment.yml": yml_pip_list(environment_yml()),
    }[where]
    assert requirements, f"no requirements in {where}"
    loose = [r for r in requirements if not PIN.match(r)]
    assert not loose, f"not an exact `name==version` pin in {where}: {loose}"


@pytest.mark.parametrize("extra", sorted({e for within in run.EXTRAS_WITHIN.values() for e in within}))
def test_the_test_extra_holds_the_extras_run_py_counts_as_installed_with_it(extra):
    """run.py takes an environment with the test extra as having these extras too (run.py hub)."""
    optional = pyproject()["optional-dependencies"]
    for holder, within in run.EXTRAS_WITHIN.items():
        if extra in within:
            missing = set(map(normalise, optional[extra])) - set(map(normalise, optional[holder]))
            assert not missing, f"the {holder} extra lacks {sorted(missing)} of the {extra} extra"


def test_importing_nbformat_builds_no_iri_parser():
    """jsonschema from 4.25 imports rfc3987-syntax, which builds a parser for about 2 s of CPU, in every
    process that reads a notebook: the grader, each worker and sandboxed run, each nbgrader command. The pin of
    jsonschema in pyproject.toml keeps it out; nbformat's schemas use no "iri" format."""
    probe = ("import sys, time\nstart = time.process_time()\nimport nbformat\n"
             "print(sorted(m for m in sys.modules if m.startswith(('rfc3987', 'lark'))), time.process_time() - start)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    modules, seconds = result.stdout.rsplit(" ", 1)
    assert modules == "[]", f"importing nbformat loaded {modules} ({float(seconds):.1f} s of CPU)"


# -- run.py ------------------------------------------------------------------------

def test_the_environment_is_byte_compiled():
    """run.py installs with --no-compile and compiles on every core afterwards: the packages must end up
    compiled all the same, since a sandboxed kernel (PYTHONDONTWRITEBYTECODE, a read-only environment) would
    otherwise compile every module it imports at each start."""
    import importlib.util
    import sysconfig

    sources = [p for p in Path(sysconfig.get_paths()["purelib"]).rglob("*.py") if "__pycache__" not in p.parts]
    compiled = sum(1 for p in sources if Path(importlib.util.cache_from_source(str(p))).is_file())
    assert len(sources) > 1000
    assert compiled / len(sources) > 0.95, f"{compiled} of {len(sources)} modules have bytecode"


def test_the_course_packages_in_the_checkout_get_bytecode_that_a_graded_kernel_can_use():
    """A graded kernel runs as another user with PYTHONDONTWRITEBYTECODE: it cannot write the bytecode of
    backproplab/ and autograder/, so run.py compiles them (and again what changed). Each module's bytecode
    must be there and current: its header's source time and size those of the source, as the import checks."""
    import importlib.util
    import struct

    run.compile_checkout()
    stale = []
    for package in run.PACKAGES:
        sources = sorted((ROOT / package).rglob("*.py"))
        assert len(sources) > 10, package
        for source in sources:
            cached = Path(importlib.util.cache_from_source(str(source)))
            if not cached.is_file():
                stale.append(f"{source.relative_to(ROOT)}: no bytecode")
                continue
            flags, mtime, size = struct.unpack("<III", cached.read_bytes()[4:16])
            stat = source.stat()
            if flags != 0 or mtime != int(stat.st_mtime) & 0xFFFFFFFF or size != stat.st_size & 0xFFFFFFFF:
                stale.append(f"{source.relative_to(ROOT)}: bytecode of another version")
    assert not stale, "\n".join(stale)


def test_run_py_help_lists_the_commands():
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ["lab", "instructor", "hub", "test", "build", "env"]:
        assert re.search(rf"^\s+{command}\s", result.stdout, re.M), (
            f"`run.py --help` does not list `{command}`:\n{result.stdout}")


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_sync_work_copies_the_course_into_an_empty_work_folder(tmp_path):
    course, work = tmp_path / "course", tmp_path / "work"
    write(course / "01-a" / "a.ipynb", "release 1")
    write(course / "01-a" / "data" / "x.csv", "1,2")
    write(course / "01-a" / ".ipynb_checkpoints" / "a-checkpoint.ipynb", "noise")

    result = run.sync_work(course, work)

    assert result.added == ["01-a/a.ipynb", "01-a/data/x.csv"]
    assert result.kept == []
    assert (work / "01-a" / "a.ipynb").read_text() == "release 1"
    assert (work / "01-a" / "data" / "x.csv").read_text() == "1,2"
    assert not (work / "01-a" / ".ipynb_checkpoints").exists()
    assert run.sync_work(course, work) == ([], []), "a second sync changes nothing"


def test_sync_work_never_overwrites_the_students_notebook(tmp_path):
    course, work = tmp_path / "course", tmp_path / "work"
    write(course / "01-a" / "a.ipynb", "release 1")
    run.sync_work(course, work)
    write(work / "01-a" / "a.ipynb", "my answers")

    assert run.sync_work(course, work) == ([], []), "a student's edit alone is not reported"

    write(course / "01-a" / "a.ipynb", "release 2")
    write(course / "02-b" / "b.ipynb", "new notebook")
    result = run.sync_work(course, work)

    assert (work / "01-a" / "a.ipynb").read_text() == "my answers"
    assert result.kept == ["01-a/a.ipynb"]
    assert result.added == ["02-b/b.ipynb"]
    assert (work / "02-b" / "b.ipynb").read_text() == "new notebook"


def test_sync_work_brings_back_a_deleted_notebook_at_its_new_release(tmp_path):
    course, work = tmp_path / "course", tmp_path / "work"
    write(course / "01-a" / "a.ipynb", "release 1")
    run.sync_work(course, work)
    write(course / "01-a" / "a.ipynb", "release 2")
    (work / "01-a" / "a.ipynb").unlink()

    result = run.sync_work(course, work)

    assert result.added == ["01-a/a.ipynb"]
    assert (work / "01-a" / "a.ipynb").read_text() == "release 2"
    assert run.sync_work(course, work) == ([], [])


def test_sync_work_keeps_a_differing_copy_it_has_no_record_of(tmp_path):
    course, work = tmp_path / "course", tmp_path / "work"
    write(course / "01-a" / "a.ipynb", "release 1")
    write(work / "01-a" / "a.ipynb", "copied by hand, then edited")

    assert run.sync_work(course, work) == ([], ["01-a/a.ipynb"])
    assert (work / "01-a" / "a.ipynb").read_text() == "copied by hand, then edited"
    assert run.sync_work(course, work) == ([], []), "reported once"
    assert json.loads((work / run.SYNC_RECORD).read_text())["01-a/a.ipynb"]


def test_python_version_guard():
    for minor in (11, 12, 13):
        assert run.python_version_problem((3, minor, 7, "final", 0), "/usr/bin/python3") is None
    message = run.python_version_problem((3, 10, 12, "final", 0), "/usr/bin/python3")
    assert "3.10.12" in message and "/usr/bin/python3" in message
    assert "Python 3.11, 3.12 or 3.13" in message and "py -3.13 run.py" in message
    assert "3.14.1" in run.python_version_problem((3, 14, 1, "final", 0), "python3")
    assert "2.7.18" in run.python_version_problem((2, 7, 18, "final", 0), "python")


def test_run_py_accepts_the_pythons_that_pyproject_toml_requires():
    from packaging.specifiers import SpecifierSet

    accepted = SpecifierSet(pyproject()["requires-python"])
    for minor in range(8, 20):
        version = (3, minor, 0, "final", 0)
        assert (run.python_version_problem(version, "python3") is None) == ("3.%d.0" % minor in accepted), (
            f"run.py and requires-python disagree about Python 3.{minor}")


def test_the_environment_is_made_anew_when_the_python_changes(tmp_path, monkeypatch):
    """A .venv/ made by another Python minor version is replaced, not reinstalled into."""
    venv = tmp_path / ".venv"
    monkeypatch.setattr(run, "VENV", venv)
    monkeypatch.setattr(run, "STAMP", venv / "backproplab-install.json")
    monkeypatch.setattr(run, "LOG", venv / "backproplab-install.log")
    made = []

    def fake_run(cmd, **kwargs):  # `python -m venv --clear DIR`: what venv writes that run.py reads
        assert cmd[1:4] == ["-m", "venv", "--clear"], cmd
        made.append(cmd)
        python = run.venv_python()
        python.parent.mkdir(parents=True, exist_ok=True)
        python.write_text("")
        (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = %d.%d.%d\n" % sys.version_info[:3])
        return subprocess.CompletedProcess(cmd, 0, "")

    monkeypatch.setattr(run.subprocess, "run", fake_run)
    monkeypatch.setattr(run, "pip", lambda args, log: None)
    monkeypatch.setattr(run, "compile_environment", lambda log: None)
    monkeypatch.setattr(run, "compile_checkout", lambda: None)

    run.ensure_environment()
    assert len(made) == 1 and run.venv_python_version() == sys.version_info[:2]
    run.ensure_environment()
    assert len(made) == 1, "the same Python keeps its environment"

    other = (3, 11) if sys.version_info[:2] != (3, 11) else (3, 13)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = %d.%d.4\n" % other)
    (venv / "left-by-the-old-python").write_text("")
    run.ensure_environment()
    assert len(made) == 2, "an environment of another Python is made anew"
    assert not (venv / "left-by-the-old-python").exists()
    assert run.venv_python_version() == sys.version_info[:2]
    assert json.loads(run.STAMP.read_text())["hash"] == run.install_hash()


# -- the README's commands, .ci/run, .gitignore --------------------------------------

def readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```[^\n]*\n(.*?)^```", text, re.M | re.S)
    assert block, "README.md has no code block"
    lines = [line.split("#")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    before = text[:text.index("```")].strip().splitlines()
    assert before[0].startswith("# ") and len([l for l in before if l.strip()]) == 2, (
        "README.md must open with a title and one sentence, then the commands")
    assert readme_commands()[:2] == ["python3 run.py lab", "python3 run.py test"]
    assert "py -3.13 run.py lab" in text and "py -3.13 run.py test" in text


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in script
    runs = [line.strip() for line in script.splitlines() if "run.py" in line]
    assert runs == [readme_commands()[1]], f".ci/run runs {runs}"
    if os.name != "nt":
        assert os.access(ROOT / ".ci" / "run", os.X_OK), ".ci/run is not executable"


@pytest.mark.parametrize("entry", [
    ".venv/", ".hub/", "work/", "submitted/", "autograded/", "feedback/", "release/", "exchange/",
    "gradebook.db", "gradebook.db-journal", "*.csv", "__pycache__/", "*.egg-info/",
    ".ipynb_checkpoints/", ".pytest_cache/", "build/", "dist/",
])
def test_gitignore_lists_the_runtime_folders(entry):
    lines = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert entry in lines or "/" + entry in lines, f".gitignore lacks {entry}"


# -- run.py hub ---------------------------------------------------------------------

@pytest.mark.skipif(os.name == "nt", reason="the hub runs on Linux")
def test_run_py_hub_refuses_to_start_without_root(monkeypatch):
    monkeypatch.setattr(run.os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit, match=r"needs root: `sudo python3 run.py hub`"):
        run.cmd_hub([])


def test_the_hub_exchange_is_made_writable_by_everyone_with_the_sticky_bit(tmp_path):
    exchange = tmp_path / "srv" / "exchange"
    run.prepare_exchange(exchange)
    assert exchange.stat().st_mode & 0o7777 == 0o1777
    run.prepare_exchange(exchange)  # as it is: accepted
    exchange.chmod(0o755)
    with pytest.raises(SystemExit, match=r"must be writable by everyone .*chmod 1777"):
        run.prepare_exchange(exchange)


def test_folders_other_users_cannot_enter_are_named(tmp_path):
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    for folder in (tmp_path, tmp_path / "a", inner):
        folder.chmod(0o755)
    (tmp_path / "a").chmod(0o750)
    assert str(tmp_path / "a") in run.unreachable_for_others(inner)
    assert str(inner) not in run.unreachable_for_others(inner)


def test_missing_hub_groups_are_named(monkeypatch):
    env = {"BACKPROPLAB_STUDENTS": "root", "BACKPROPLAB_INSTRUCTORS": "no-such-group-for-the-hub"}
    assert run.missing_groups(env) == [("an instructor", "no-such-group-for-the-hub")]
