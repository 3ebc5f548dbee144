"""What the tests need to drive notebooks and nbgrader.

- reading the masters (source/) and releases (course/) and their graded cells;
- the in-process mutation harness: run an exercise's test cell (hidden tests
  included, as written in source/) against any implementation, without
  starting nbgrader or a kernel;
- a temporary course directory, submissions, and ``nbgrader autograde`` with
  scores read back through nbgrader's Python API.
"""

import contextlib
import hashlib
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "source"
COURSE = ROOT / "course"


def load_module(path, name):
    """The Python file ``path`` (not on sys.path: run.py, a deployment script) imported as ``name``."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assignments():
    return sorted(p.name for p in SOURCE.iterdir() if p.is_dir())


def notebooks(folder=SOURCE):
    """Every notebook under ``folder`` (source/, course/ or solutions/), sorted."""
    return sorted(p for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def load(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def source_text(cell):
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def graded_test_cells(nb):
    """{grade_id: source} of the autograded test cells of a notebook."""
    return {nbgrader_meta(c)["grade_id"]: source_text(c) for c in nb["cells"]
            if c["cell_type"] == "code" and nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}


def master(assignment):
    """The path of an assignment's master notebook in source/."""
    (path,) = notebooks(SOURCE / assignment)
    return path


def run_test_cell(source, namespace):
    """Execute a test cell's source with ``namespace`` as the student's globals; return what it printed.

    Raises whatever the test cell raises (AssertionError when a check fails).
    """
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<test cell>", "exec"), dict(namespace))
    return out.getvalue()


# -- nbgrader ------------------------------------------------------------------

def nbgrader(args, course, env=None, check=True):
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    done = subprocess.run(command, cwd=course, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def make_course_dir(path, only=None):
    """A fresh course directory at ``path``: config, source/, and every assignment (or those in ``only``)
    generated. Within a test run, each set of assignments is generated once (``nbgrader generate_assignment``,
    a new gradebook) and copied from then on: the copy is the same directory."""
    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    names = list(only or assignments())
    shared = os.environ.get("BACKPROPLAB_TEST_SHARED")
    try:
        import fcntl  # POSIX; elsewhere each call generates its own
    except ImportError:
        shared = None
    if not shared:
        return _generate_course_dir(path, names)
    made = Path(shared) / ("course-" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:16])
    with open(f"{made}.lock", "w") as lock:  # one process generates it; the others wait, then copy
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.is_dir():
            _generate_course_dir(Path(f"{made}.partial"), names)
            os.replace(f"{made}.partial", made)
    shutil.copytree(made, path, symlinks=True)
    return path


def _generate_course_dir(path, names):
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", path)
    shutil.copytree(SOURCE, path / "source")
    for assignment in names:
        nbgrader(["generate_assignment", assignment, "--force"], path)
    return path


def submit(course, student, assignment, notebook_path, edit=None):
    """Place a notebook as ``student``'s submission, optionally changed by ``edit(nb)`` first."""
    target = Path(course) / "submitted" / student / assignment
    target.mkdir(parents=True, exist_ok=True)
    nb = load(notebook_path)
    if edit is not None:
        edit(nb)
    (target / Path(notebook_path).name).write_text(json.dumps(nb, indent=1), encoding="utf-8")
    (target / "timestamp.txt").write_text("2026-11-23 09:00:00.000000 UTC")
    return target


def autograde(course, assignment, env=None):
    """Run ``nbgrader autograde`` on every submitted student; return its completed process."""
    return nbgrader(["autograde", assignment, "--force"], course, env=env, check=False)


def scores(course, assignment):
    """{student: (score, max_score)} from the gradebook, through nbgrader's API."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{Path(course) / 'gradebook.db'}") as gb:
        return {s.student.id: (s.score, s.max_score) for s in gb.assignment_submissions(assignment)}


def autograded(course, student, assignment):
    """The autograded notebook of one student, loaded."""
    (path,) = notebooks(Path(course) / "autograded" / student / assignment)
    return load(path)


# -- system packages -------------------------------------------------------------

def debian_package(binary, package, *, ci=None, install=None):
    """The path of ``binary``, installing Debian's ``package`` with apt-get where it can.

    Returns (path, None) when the binary is there, else (None, reason). A test
    that needs the binary skips with the reason, except under CI=true, where
    it must run and so fails instead (see :func:`require_binary`).
    """
    found = shutil.which(binary)
    if found:
        return found, None
    if install is None:
        install = _apt_get_install
    reason = install(package)
    found = shutil.which(binary)
    return (found, None) if found else (None, reason or f"{binary} is still missing after installing {package}")


def _apt_get_install(package):
    """Install a Debian package; None on success, else why not."""
    if not shutil.which("apt-get"):
        return f"{package} is not installed and there is no apt-get here"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return f"{package} is not installed; install it with `sudo apt-get install {package}`"
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(command, capture_output=True, text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if done.returncode != 0:
            return f"`{' '.join(command)}` failed: {done.stderr.strip()[-300:]}"
    return None


def require_binary(binary, package, **kwargs):
    """The path of ``binary``; otherwise skip with a printed reason, or fail under CI=true."""
    import pytest

    path, reason = debian_package(binary, package, **kwargs)
    if path:
        return path
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    print(f"skipped: {reason}")
    pytest.skip(reason)
