"""Test session setup: an isolated Jupyter/IPython state, the environment's bin/ on PATH, one BLAS thread.

Jupyter and IPython write under the home directory; every test run uses a
temporary folder instead, so that a developer's own kernels, extensions and
settings never change a result. nbgrader shells out to ``alembic``, which
lives beside this Python.
"""

import atexit
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = Path(tempfile.mkdtemp(prefix="backproplab-tests-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)

# Built artefacts the test processes share (course directories generated once per run: harness.make_course_dir):
# made by the first process, pytest-xdist's controller, whose environment its workers inherit
if "BACKPROPLAB_TEST_SHARED" not in os.environ:
    os.environ["BACKPROPLAB_TEST_SHARED"] = tempfile.mkdtemp(prefix="backproplab-shared-")
    atexit.register(shutil.rmtree, os.environ["BACKPROPLAB_TEST_SHARED"], ignore_errors=True)

os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
for _name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
    os.environ[_name] = str(SCRATCH / _name.lower())
os.environ["PYTHONHASHSEED"] = "0"
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads, as the course's
    os.environ[_name] = "1"  # kernels and grading have it: parallel test processes, no BLAS threads spinning
os.environ.pop("MPLBACKEND", None)  # kernels must draw inline, as for students
os.environ.pop("BACKPROPLAB_GRADING", None)
os.environ.pop("BACKPROPLAB_LANG", None)


@pytest.fixture(scope="session")
def course_dir():
    """A temporary nbgrader course directory with every assignment generated into its gradebook."""
    import harness

    return harness.make_course_dir(SCRATCH / "course-dir")


class PostgresServer:
    """A PostgreSQL server of this test session on 127.0.0.1; :meth:`database` makes a fresh database."""

    def __init__(self, bindir, port):
        self.bindir, self.port, self.count = bindir, port, 0

    def database(self):
        self.count += 1
        name = f"gradebook{self.count}"
        subprocess.run(_as_server_user([f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port),
                                        "-U", "postgres", name]), capture_output=True, text=True, check=True)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


def _postgres_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _as_server_user(command):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@pytest.fixture(scope="session")
def postgres_server():
    """Debian's PostgreSQL, installed with apt-get where it is missing, started for the session.

    Under CI=true a test that needs it must run; elsewhere it is skipped with the reason.
    """
    import harness

    bindir = _postgres_bindir()
    if bindir is None:
        reason = harness._apt_get_install("postgresql")
        bindir = _postgres_bindir()
        if bindir is None:
            reason = reason or "postgresql installed, but no initdb under /usr/lib/postgresql"
            if os.environ.get("CI") == "true":
                pytest.fail(f"CI must run this test: {reason}")
            print(f"skipped: {reason}")
            pytest.skip(reason)
    # not under pytest's basetemp, which another pytest run of the same user may prune while this one runs
    base = Path(tempfile.mkdtemp(prefix="pg-", dir=SCRATCH))
    os.chmod(base, 0o755)
    for parent in base.parents:  # the server user must reach its data folder
        if str(parent).startswith("/tmp/") and os.geteuid() == 0:
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *cmd: subprocess.run(_as_server_user(list(cmd)), capture_output=True, text=True, check=True)
    run(f"{bindir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
    run(f"{bindir}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "log"),
        "-o", f"-h 127.0.0.1 -p {port} -k {base}", "start")
    try:
        yield PostgresServer(bindir, port)
    finally:
        subprocess.run(_as_server_user([f"{bindir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)


def pytest_collection_modifyitems(config, items):
    """The slow modules first: parallel workers (pytest-xdist) start the long batches together, not last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_xdist_auto_num_workers(config):
    """``-n auto``: one worker more than the cores. Many slow tests wait rather than compute (a download, a
    server or a browser starting, a sandbox's time limit), and a spare worker keeps the cores busy then."""
    return (os.cpu_count() or 1) + 1
