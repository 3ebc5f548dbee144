"""Test session setup: an isolated Jupyter/IPython state and the environment's bin/ on PATH.

Jupyter and IPython write under the home directory; every test run uses a
temporary folder instead, so that a developer's own kernels, extensions and
settings never change a result. nbgrader shells out to ``alembic``, which
lives beside this Python.
"""

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = Path(tempfile.mkdtemp(prefix="backproplab-tests-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)

os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
for _name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
    os.environ[_name] = str(SCRATCH / _name.lower())
os.environ["PYTHONHASHSEED"] = "0"
os.environ.pop("MPLBACKEND", None)  # kernels must draw inline, as for students
os.environ.pop("BACKPROPLAB_GRADING", None)
os.environ.pop("BACKPROPLAB_LANG", None)


@pytest.fixture(scope="session")
def course_dir():
    """A temporary nbgrader course directory with every assignment generated into its gradebook."""
    import harness

    return harness.make_course_dir(SCRATCH / "course-dir")
