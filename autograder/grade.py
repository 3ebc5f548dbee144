"""Grade a class: ``python -m autograder.grade autograde ASSIGNMENT`` and ``... export``.

What it adds to ``nbgrader autograde``:

- **Verdicts outside the student's kernel.** nbgrader's bookkeeping (the
  sanitizing of each notebook, its locked and test cells restored from the
  gradebook, the limits on outputs) runs here with nbgrader's own
  preprocessors; the checks record their evidence in grading mode; the score
  that counts is recomputed here, in the grader's own process, from the test
  cells of the gradebook (trusted) and the evidence in the executed
  notebook's outputs (untrusted, read as data). Where the notebook's own run
  and the evidence disagree, or the code touches the machinery (input
  transformers, exception handlers, sys.modules, the checks), the submission
  is flagged.
- **Only the kernel in the sandbox.** The notebook's execution alone
  (:mod:`autograder.run_notebook`: nbclient and the kernel) runs inside
  :mod:`autograder.sandbox` (bubblewrap: no network, nothing of the course
  but the notebook's own folder, memory, CPU, file-size and process limits,
  an unprivileged user), with a time limit per cell and per notebook. A cell
  stopped at a limit is flagged with where and why; the score of what ran
  stands.
- **Batches that hold up, on one machine or a cluster.** Each submission is
  a task on Dask distributed: by default a local cluster of one
  single-threaded worker process per core, or the running scheduler
  ``--scheduler tcp://HOST:PORT`` (or ``c.DaskGrading.scheduler`` in
  nbgrader_config.py) names. A task carries what a worker needs as data
  (the submission's files, the assignment's cells as a gradebook of their
  own, nbgrader's configuration, the limits) and returns the executed
  notebook and the verdict record; a worker needs the course's environment,
  not the course folder nor the gradebook. A worker that cannot sandbox
  takes no submission unless ``--allow-unisolated``. A worker that dies
  midway loses nothing: the scheduler gives its submission to another.
  Only this process writes the real gradebook, one submission at a time, so
  it is never locked. A record per submission
  (``verdicts/ASSIGNMENT/STUDENT.json``) is written last; a batch killed midway
  and run again grades exactly the submissions without a record for their
  current content.
- **One gradebook**, the one nbgrader_config.py names (``--db`` overrides it),
  for grading and for the export; a regrade keeps the formgrader's manual
  grades and comments.
- **Exports from the gradebook** that tell 0 from "could not be graded" (with
  the reason) and from "missing", in a long layout and in the wide layouts
  Canvas and Moodle import.
- **Reports that say what happened**: each record and export row holds
  the grading time; a progress bar (or one line per submission), a summary
  line, and the exit status: 0 all graded, 1 some not graded, 2 the batch
  could not start.
"""

import argparse
import contextlib
import csv
import datetime
import fnmatch
import functools
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import sandbox
from .recompute import judge_cells

ROOT = Path(__file__).resolve().parents[1]
MAX_NOTEBOOK_BYTES = 64 * 1024**2
MAX_SUBMISSION_BYTES = 2 * MAX_NOTEBOOK_BYTES  # all the files of one submission, as a task carries them
LOG_TAIL = 4000

SUSPICIOUS = {
    "input transformer": r"input_transformers",
    "custom exception handler": r"set_custom_exc|showtraceback|_showtraceback",
    "module replacement": r"sys\.modules",
    "IPython event hook": r"events\.register|register_magic|ast_transformers",
    "patched checks": r"autograder\s*\.\s*\w+\s*=|import\s+autograder\b.*\n.*=|contract\.\w+\s*=",
    "patched numpy": r"\bnp\.\w+(\.\w+)*\s*=[^=]|numpy\.\w+(\.\w+)*\s*=[^=]",
    "patched builtins": r"builtins|__builtins__",
    "process exit": r"os\._exit|sys\.exit|os\.kill",
}


@dataclass
class Settings:
    """Limits of one submission, on top of :class:`sandbox.Limits`."""

    cell_timeout: int = 60
    notebook_timeout: int = 600
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    workers: int = max(1, os.cpu_count() or 1)  # worker processes of the local cluster
    scheduler: str = ""  # a running Dask scheduler (tcp://HOST:PORT); "" starts a local cluster
    allow_unisolated: bool = False  # workers that cannot sandbox grade too (every row flagged)
    retries: int = 1  # runs again of a submission whose notebook ran out of its time limit
    connect_timeout: int = 20  # seconds to reach the scheduler
    wait_for_workers: int = 300  # seconds to wait for a first worker that can take submissions


# -- what is being graded -----------------------------------------------------------

def submissions(root, assignment, pattern="*"):
    """[(student, folder)] of submitted/STUDENT/ASSIGNMENT, sorted."""
    base = Path(root) / "submitted"
    found = []
    for folder in sorted(base.glob(f"*/{assignment}")) if base.is_dir() else []:
        if folder.is_dir() and fnmatch.fnmatch(folder.parent.name, pattern):
            found.append((folder.parent.name, folder))
    return found


def digest(folder):
    """A hash of every file of a submission (names and contents)."""
    h = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def assignment_cells(db_url, assignment):
    """{notebook file name: {grade_id: (source, points)}}: the assignment's graded code cells, from the gradebook.

    The gradebook holds them as ``nbgrader generate_assignment`` (run by
    :func:`register`) recorded them from source/ (hidden tests included): they are what nbgrader
    restores in each submission and what the grader trusts.
    """
    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(db_url) as gb:
        warnings.simplefilter("ignore")
        try:
            found = gb.find_assignment(assignment)
            masters = {}
            for notebook in sorted(found.notebooks, key=lambda n: n.name):
                points = {cell.name: cell.max_score for cell in notebook.grade_cells if cell.cell_type == "code"}
                masters[f"{notebook.name}.ipynb"] = {cell.name: (cell.source, float(points[cell.name]))
                                                     for cell in notebook.source_cells if cell.name in points}
        except MissingEntry:
            raise GradingError(f"the gradebook ({_safe_url(db_url)}) has no assignment {assignment}: run "
                               f"`python3 run.py grade register {assignment}` first") from None
        finally:
            gb.engine.dispose()  # no connection left open for the workers forked later to inherit
    if not any(masters.values()):
        raise GradingError(f"the gradebook's assignment {assignment} has no graded code cell")
    return masters


class GradingError(RuntimeError):
    """The batch cannot start (a problem of the course, not of a submission)."""


def _safe_url(db_url):
    return re.sub(r"//[^@/]*@", "//***@", str(db_url))


# -- the course's nbgrader configuration and its gradebook -------------------------------

def course_config(root):
    """nbgrader's configuration as nbgrader reads it: the Jupyter config folders, then the course's own file."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(Path(root).resolve())]:
        path = Path(folder) / "nbgrader_config.py"
        if path.is_file():
            config.merge(PyFileConfigLoader(path.name, str(path.parent)).load_config())
    return config


@dataclass
class Gradebook:
    """Where the course's gradebook is: the URL and the course id nbgrader's apps use."""

    url: str
    course_id: str

    def open(self):
        """nbgrader's Gradebook on it; a new one is made and stamped with nbgrader's migration head read in
        this process (:func:`alembic_head`), not by an ``alembic heads`` process of its own."""
        from nbgrader.api import Gradebook as NbGradebook

        with _alembic_in_process():
            return NbGradebook(self.url, course_id=self.course_id)


def gradebook(root, db_url=None):
    """The gradebook of the course at ``root``: ``db_url`` when given, else nbgrader_config.py's db_url.

    Without a db_url in the configuration it is nbgrader's default, gradebook.db
    in the course directory. SQLite URLs get a lock timeout.
    """
    from nbgrader.coursedir import CourseDirectory

    config = course_config(root)
    coursedir = CourseDirectory(config=config)
    if "root" not in config.get("CourseDirectory", {}):
        coursedir.root = str(Path(root).resolve())
    url = db_url or coursedir.db_url
    if url.startswith("sqlite:") and "?" not in url:
        url += "?timeout=60"
    return Gradebook(url, coursedir.course_id)


def register(root, assignment, book, log=print):
    """Put ``assignment`` (its notebooks, cells and points, from source/) into the gradebook.

    nbgrader's generate_assignment does it, in a scratch course directory, so
    that course/ is never rewritten; the release it makes there is compared
    with course/ and a difference is reported. Returns that difference, or "".
    """
    from .build import isolated_env

    with warnings.catch_warnings(), book.open():  # made here when new: nbgrader would start `alembic heads`
        warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory(prefix="backproplab-register-") as scratch:
        course = Path(scratch) / "course-dir"
        course.mkdir()
        shutil.copy2(Path(root) / "nbgrader_config.py", course)
        if not (Path(root) / "source" / assignment).is_dir():
            source = Path(root) / "source"
            known = ", ".join(sorted(p.name for p in source.iterdir() if p.is_dir())) if source.is_dir() else ""
            raise ValueError(f"no assignment {assignment!r} in source/ (there are: {known or 'none'})")
        shutil.copytree(Path(root) / "source" / assignment, course / "source" / assignment)
        done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
                               f"--CourseDirectory.root={course}", f"--CourseDirectory.db_url={book.url}",
                               f"--CourseDirectory.course_id={book.course_id}"],
                              cwd=course, env=isolated_env(Path(scratch) / "state"), capture_output=True, text=True)
        if done.returncode != 0 or not (course / "course" / assignment).is_dir():
            raise RuntimeError(f"could not register {assignment} in the gradebook:\n{done.stderr[-LOG_TAIL:]}")
        released, committed = course / "course" / assignment, Path(root) / "course" / assignment
        changed = sorted(str(p.relative_to(released)) for p in released.rglob("*") if p.is_file()
                         and (not (committed / p.relative_to(released)).is_file()
                              or (committed / p.relative_to(released)).read_bytes() != p.read_bytes()))
    with book.open() as gb:
        points = gb.find_assignment(assignment).max_score
    log(f"{assignment}: in the gradebook ({points:g} points)")
    if changed:
        note = (f"course/{assignment} differs from what source/ releases ({', '.join(changed)}): "
                "run `python3 run.py build` before releasing")
        log(note)
        return note
    return ""


def _gradebook_state(book, assignment):
    """(whether the assignment is in the gradebook, the ids of the students with a submission of it)."""
    from nbgrader.api import MissingEntry

    with warnings.catch_warnings(), book.open() as gb:
        warnings.simplefilter("ignore")
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            return False, set()
        return True, {s.student.id for s in gb.assignment_submissions(assignment)}


# -- one submission (in a worker process) ------------------------------------------------

FIRST_UID = 61000  # users 61000..61999 grade submissions (no account needed)
RUN_NOTEBOOK = Path(__file__).with_name("run_notebook.py")  # run as a file: it needs none of the package
GRACE = 30  # seconds past the notebook's time limit before the sandbox is killed


def _sandbox_spec(hide, work, scratch, report, uid, limits, isolated):
    import autograder
    import backproplab

    keep = sorted({sys.prefix, sys.base_prefix, str(Path(autograder.__file__).parent),
                   str(Path(backproplab.__file__).parent)})
    hide = [*hide, str(Path(scratch).resolve())]
    return sandbox.Spec(report=str(report), hide=hide, keep=keep, writable=[str(work)], uid=uid, limits=limits,
                        namespaces=isolated, bwrap=shutil.which("bwrap") or "")


def _kernel_env(work):
    """The whole environment of the sandbox: nothing of the grader's own (no credentials, no paths)."""
    state = work / "state"
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
           "HOME": str(work / "home"), "MPLCONFIGDIR": str(work / "mpl"), "TMPDIR": "/tmp",
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
           "BACKPROPLAB_GRADING": "1", "NBGRADER_EXECUTION": "autograde",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(state / name.lower())
    return env


@functools.lru_cache(maxsize=None)
def _font_list():
    """(file name, bytes) of matplotlib's font list as a kernel on this machine builds it, or None.

    Every submission's kernel starts with an empty MPLCONFIGDIR, where its first figure would scan the
    machine's fonts again (about 0.3 s of CPU): grading copies this list in first. It is built once per
    process, outside the sandbox, by the environment's Python with a kernel's environment (an empty home, so
    no user's fonts); it lists only the environment's and the system's fonts, which the sandbox shows
    read-only. Should a listed font be missing there, matplotlib rebuilds the list itself."""
    with tempfile.TemporaryDirectory(prefix="backproplab-fonts-") as folder:
        work = Path(folder)
        for private in ("state", "home", "mpl"):
            (work / private).mkdir()
        try:
            subprocess.run([sys.executable, "-I", "-c", "import matplotlib.font_manager"], cwd=folder,
                           env=_kernel_env(work), capture_output=True, timeout=120, check=True)
        except (OSError, subprocess.SubprocessError):
            return None
        found = sorted((work / "mpl").glob("fontlist-*.json"))
        return (found[0].name, found[0].read_bytes()) if len(found) == 1 else None


def _course_config(root):
    """The course's nbgrader configuration (nbgrader_config.py), for nbgrader's preprocessors."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(root) / "nbgrader_config.py" if root is not None else None
    if path is None or not path.is_file():
        return Config()
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


class _SchemaOnce:
    """jsonschema as nbgrader's metadata validator calls it, with its schema checked once, not once per cell.

    ``jsonschema.validate`` checks the schema itself before each instance
    (10 ms here); nbgrader validates every cell's metadata against one
    constant schema, twice per notebook. Same verdict, same error type.
    """

    def __init__(self):
        import jsonschema

        self.jsonschema, self.ValidationError, self.validators = jsonschema, jsonschema.ValidationError, {}

    def validate(self, instance, schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in self.validators:
            cls = self.jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            self.validators[key] = cls(schema)
        error = self.jsonschema.exceptions.best_match(self.validators[key].iter_errors(instance))
        if error is not None:
            raise error


@functools.lru_cache(maxsize=None)
def _schema_once():
    return _SchemaOnce()


@functools.lru_cache(maxsize=None)
def alembic_head():
    """The head revision of nbgrader's gradebook migrations, read in this process.

    nbgrader stamps a gradebook it creates with this revision, which it asks
    of a new ``alembic heads`` process each time (3 to 5 s of CPU: a Python
    that imports SQLAlchemy and alembic); a batch creates one, the workers'
    copy of the assignment's cells. Same answer, read once.
    """
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import _temp_alembic_ini

    with _temp_alembic_ini("sqlite://") as ini:
        return ScriptDirectory.from_config(AlembicConfig(ini)).get_current_head()


@contextlib.contextmanager
def _alembic_in_process():
    """nbgrader's new gradebooks stamped with :func:`alembic_head` instead of a process of their own."""
    from nbgrader import api

    saved, api.get_alembic_version = api.get_alembic_version, alembic_head
    try:
        yield
    finally:
        api.get_alembic_version = saved


@contextlib.contextmanager
def _nbgrader_metadata_checks():
    """nbgrader's metadata checks, each schema compiled once in this process."""
    from nbgrader.nbgraderformat import common

    saved, common.jsonschema = common.jsonschema, _schema_once()
    try:
        yield
    finally:
        common.jsonschema = saved


def sanitize(path, assignment, student, db_url, config):
    """nbgrader's sanitizing of a submitted notebook, in place, outside the sandbox.

    Outputs cleared, ids deduplicated, the kernelspec, locked cells and test
    cells (hidden tests included) restored from the gradebook, the metadata
    checked: the preprocessors ``nbgrader autograde`` runs before executing.
    """
    import nbformat
    from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells,
                                        OverwriteKernelspec)

    nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
    resources = {"nbgrader": {"notebook": Path(path).stem, "assignment": assignment, "student": student,
                              "db_url": db_url}}
    with warnings.catch_warnings(), _nbgrader_metadata_checks():
        warnings.simplefilter("ignore")
        for kind in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata):
            nb, resources = kind(config=config).preprocess(nb, resources)
    Path(path).write_text(nbformat.writes(nb), encoding="utf-8")


def finish(text, config):
    """nbgrader's steps after execution, on the executed notebook (untrusted text): outputs limited,
    ignored patterns dropped, metadata checked. Returns (notebook, its text)."""
    import nbformat
    from nbgrader.preprocessors import CheckCellMetadata, IgnorePattern, LimitOutput

    nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    resources = {}
    with _nbgrader_metadata_checks():
        for kind in (IgnorePattern, LimitOutput, CheckCellMetadata):
            nb, resources = kind(config=config).preprocess(nb, resources)
    return nb, nbformat.writes(nb)


def kernel_scores(nb, trusted):
    """{grade_id: score} as nbgrader computes it from the kernel's run (untrusted; used to flag)."""
    import logging

    from nbgrader.utils import determine_grade

    found = {}
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in trusted and grade_id not in found:
            try:
                score, _ = determine_grade(cell, logging.getLogger("nbgrader"))
            except Exception:
                continue
            found[grade_id] = score or 0.0
    return found


def _nbgrader_reason(log):
    """The likely reason a notebook could not be graded, from the log."""
    for pattern, reason in [
        (r"NotJSONError|Notebook does not appear to be JSON|JSONDecodeError", "the notebook is not valid JSON"),
        (r"DeadKernelError|Kernel died", "the kernel died (exit or crash)"),
        (r"MemoryError|Cannot allocate memory", "the memory limit"),
        (r"File size limit|SIGXFSZ|File too large", "the output exceeded the file-size limit"),
        (r"schema|validation|ValidationError", "the notebook's metadata is invalid"),
        (r"No notebooks were matched|does not exist|No such file", "no notebook with the expected name"),
    ]:
        if re.search(pattern, log, re.I):
            return reason
    lines = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
    return lines[-1][-300:] if lines else "the notebook's run left no notebook"


def _suspicious(folder):
    """Names of SUSPICIOUS patterns found in the code cells a student could edit."""
    found = set()
    for path in Path(folder).glob("*.ipynb"):
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
            code = "\n".join("".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                             for c in nb["cells"] if c.get("cell_type") == "code"
                             and not c.get("metadata", {}).get("nbgrader", {}).get("locked"))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
        found |= {name for name, pattern in SUSPICIOUS.items() if re.search(pattern, code)}
    return sorted(found)


def precheck(folder, names):
    """Why the submission cannot be graded before running anything, or ""."""
    present = sorted(p.name for p in Path(folder).glob("*.ipynb"))
    for name in names:
        path = Path(folder) / name
        if not path.is_file():
            return f"no notebook named {name} in the submission (found: {', '.join(present) or 'none'})"
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return f"{name} is larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB"
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            return f"{name} is not valid JSON ({exc})"
        cells = nb.get("cells") if isinstance(nb, dict) else None
        if not isinstance(cells, list):
            return f"{name} is not a notebook (no list of cells)"
        if not any(isinstance(c, dict) and isinstance(c.get("metadata"), dict) and "nbgrader" in c["metadata"]
                   for c in cells):
            return f"{name} has lost its nbgrader metadata (was it copied into a new notebook?)"
    return ""


def _where(entry, nb):
    """'test cell X' or 'cell N' (N counted from 1 among all cells) for a status entry of the run."""
    if entry.get("grade_id"):
        return f"cell {entry['grade_id']}"
    index = entry.get("index")
    return f"cell {index + 1}" if isinstance(index, int) else "a cell"


def time_limits(status, settings):
    """(flags, {grade_id: reason}) for the cells the run stopped at a time limit, and the ones it never ran."""
    flags, reasons = [], {}
    for entry in status.get("timed_out") or []:
        if not isinstance(entry, dict):
            continue
        where, limit = _where(entry, None), entry.get("limit", settings.cell_timeout)
        if entry.get("which") == "notebook":
            flags.append(f"time limit: {where} was stopped when the notebook's {settings.notebook_timeout} s ran out")
        else:
            flags.append(f"time limit: {where} was stopped after {limit} s")
        if entry.get("grade_id"):
            reasons[entry["grade_id"]] = f"this test cell was stopped at its time limit ({limit} s)"
    stopped = status.get("stopped")
    if isinstance(stopped, dict) and stopped.get("why") in ("notebook", "deaf"):
        where = _where(stopped, None)
        if stopped["why"] == "deaf":
            flags.append(f"time limit: {where} ignored the interrupt at its time limit; the cells after it did not run")
        else:
            flags.append(f"time limit: the notebook's {settings.notebook_timeout} s ran out before {where}; "
                         "it and the cells after it did not run")
    return flags, reasons


def _not_run(nb, stopped):
    """The grade ids of the cells from ``stopped['index']`` on (the run never reached them)."""
    if not isinstance(stopped, dict) or not isinstance(stopped.get("index"), int):
        return set()
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb.cells[stopped["index"]:]} - {None}


def grade_one(hide, assignment, student, folder, db_url, masters, batch, settings, uid=sandbox.NOBODY,
              config=None, isolated=True):
    """Grade one submission: nbgrader's bookkeeping here, only the notebook's run in the sandbox; a plain dict.

    ``hide``: folders of this machine recorded as out of the sandbox's reach (the course); ``db_url``: a
    gradebook that holds the assignment (its cells); ``config``: nbgrader's configuration of the course;
    ``isolated``: whether the sandbox may use bwrap here (else limits only, and the row is flagged).
    """
    started = time.monotonic()
    result = {"student": student, "assignment": assignment, "digest": digest(folder),
              "status": "not graded", "reason": "", "score": 0.0,
              "max_score": sum(p for cells in masters.values() for _, p in cells.values()),
              "cells": {}, "flags": _suspicious(folder), "isolation": {}, "notebooks": {}, "grading_seconds": 0.0}
    try:
        _grade_into(result, hide, assignment, student, folder, db_url, masters, batch, settings, uid,
                    config if config is not None else _course_config(None), isolated)
    finally:
        result["grading_seconds"] = round(time.monotonic() - started, 1)
    return result


def _grade_into(result, hide, assignment, student, folder, db_url, masters, batch, settings, uid, config, isolated):
    result["reason"] = precheck(folder, masters)
    if result["reason"]:
        result["isolation"] = {"sandbox": "not started: nothing in the submission could run"}
        return
    work = Path(tempfile.mkdtemp(prefix="w-", dir=batch))
    flags = set(result["flags"])
    try:
        run_dir = work / assignment  # what the sandbox sees of the course: this folder, nothing else
        shutil.copytree(folder, run_dir, symlinks=False)
        for private in ("state", "home", "mpl"):
            (work / private).mkdir()
        fonts = _font_list()
        if fonts:
            (work / "mpl" / fonts[0]).write_bytes(fonts[1])
        try:
            for name in masters:
                sanitize(run_dir / name, assignment, student, db_url, config)
        except Exception as exc:  # nbgrader refused the notebook (its metadata, most likely)
            result["isolation"] = {"sandbox": "not started: nbgrader could not prepare the notebook"}
            result["reason"] = _nbgrader_reason(f"{type(exc).__name__}: {exc}")
            result["log"] = f"{type(exc).__name__}: {exc}"[-LOG_TAIL:]
            return
        report = Path(batch) / f"{work.name}.isolation.json"
        log_path = Path(batch) / f"{work.name}.log"
        tail = ""
        for name, trusted in masters.items():
            path = run_dir / name
            # the sandbox's lifeline: this process keeps the write end; should it die before the sandbox has
            # set its parent-death signal, the sandbox sees the end of the pipe and stops
            lifeline = os.pipe()
            spec = _sandbox_spec(hide, work, Path(batch).parent, report, uid, settings.limits, isolated)
            spec.lifeline = list(lifeline)
            argv = sandbox.command(spec, [
                sys.executable, "-I", str(RUN_NOTEBOOK), str(path),
                f"--cell-timeout={settings.cell_timeout}", f"--notebook-timeout={settings.notebook_timeout}"])
            try:
                with open(log_path, "ab") as log:
                    try:
                        child = subprocess.Popen(argv, cwd=run_dir, env=_kernel_env(work), stdout=log,
                                                 stderr=subprocess.STDOUT, start_new_session=True, pass_fds=lifeline)
                    finally:
                        os.close(lifeline[0])
                    try:
                        child.wait(timeout=settings.notebook_timeout + GRACE)
                        killed = False
                    except subprocess.TimeoutExpired:
                        killed = True
                    finally:
                        try:
                            os.killpg(child.pid, signal.SIGKILL)  # whatever the submission left running
                        except ProcessLookupError:
                            pass
                        child.wait()
            finally:
                os.close(lifeline[1])
            with open(log_path, "rb") as log:
                log.seek(max(0, log_path.stat().st_size - 20 * LOG_TAIL))
                tail = log.read().decode("utf-8", "replace")
            try:
                result["isolation"] = json.loads(report.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                result["isolation"] = {"warnings": ["the sandbox did not report"]}
            try:
                status = json.loads(Path(f"{path}.status.json").read_text(encoding="utf-8"))
                status = status if isinstance(status, dict) else {}
            except (OSError, ValueError):
                status = {}
            if killed and not status.get("stopped"):
                status["stopped"] = {**(status.get("running") or {}), "why": "notebook"}
            if killed or (isinstance(status.get("stopped"), dict) and status["stopped"].get("why") == "notebook") or any(
                    isinstance(t, dict) and t.get("which") == "notebook" for t in status.get("timed_out") or []):
                result["out_of_time"] = True  # the task's own time limit: Dask runs it again (Settings.retries)
            stopped = status.get("stopped") if isinstance(status.get("stopped"), dict) else None
            if stopped and stopped.get("why") == "kernel died":
                result["reason"] = "the kernel died (exit or crash)"
                break
            if stopped and stopped.get("why") == "write":
                result["reason"] = _nbgrader_reason(str(stopped.get("error", ""))) if stopped.get("error") else \
                    "the notebook could not be written"
                break
            if not path.is_file() or not status:
                result["reason"] = _nbgrader_reason(tail)
                break
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                result["reason"] = f"the graded notebook is larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB"
                break
            try:
                nb, text = finish(path.read_text(encoding="utf-8", errors="replace"), config)
            except Exception as exc:
                result["reason"] = f"the graded notebook could not be read ({type(exc).__name__}: {str(exc)[:200]})"
                break
            result["notebooks"][name] = text
            limit_flags, limit_reasons = time_limits(status, settings)
            flags |= set(limit_flags)
            not_run = _not_run(nb, stopped)
            from_kernel = kernel_scores(nb, trusted)
            order = {gid: i for i, gid in enumerate(c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                                                    for c in nb.cells)}
            verdicts = judge_cells(trusted, nb)
            for grade_id in sorted(verdicts, key=lambda gid: order.get(gid, len(order))):  # the notebook's order
                verdict = verdicts[grade_id]
                cell = {"notebook": name, **asdict(verdict), "max": trusted[grade_id][1]}
                why = limit_reasons.get(grade_id) or (
                    "this test cell did not run: the notebook stopped before it" if grade_id in not_run else "")
                if why and not verdict.passed:
                    cell["reasons"] = [why] + [r for r in verdict.reasons if "no evidence" not in r]
                result["cells"][grade_id] = cell
                if from_kernel.get(grade_id, 0) > verdict.points:
                    flags.add("tests passed in the kernel without evidence")
        else:
            result["status"] = "graded"
            result["score"] = sum(c["points"] for c in result["cells"].values())
        if result["isolation"].get("warnings"):
            flags.add("graded without full isolation")
        result["log"] = tail[-LOG_TAIL:]
    finally:
        result["flags"] = sorted(flags)
        shutil.rmtree(work, ignore_errors=True)


# -- the real gradebook (this process only) -------------------------------------------------

def record_path(root, assignment, student):
    return Path(root) / "verdicts" / assignment / f"{student}.json"


def already_graded(root, assignment, student, folder):
    try:
        record = json.loads(record_path(root, assignment, student).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return record.get("digest") == digest(folder)


def submitted_at(root, assignment, student):
    """The submission's own time (submitted/.../timestamp.txt), as nbgrader reads it; None without one.

    The formgrader counts a submission as autograded only when the gradebook
    holds this same time.
    """
    from nbgrader.utils import parse_utc

    path = Path(root) / "submitted" / student / assignment / "timestamp.txt"
    try:
        return parse_utc(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def store(root, book, result, masters):
    """Write one result to the gradebook, the autograded/ folder and its record (last).

    A submission already in the gradebook is updated in place: its automatic
    scores and flag change, the manual grades, extra credit and comments given
    in the formgrader stay.
    """
    from nbgrader.api import MissingEntry

    assignment, student = result["assignment"], result["student"]
    timestamp = submitted_at(root, assignment, student)
    with warnings.catch_warnings(), book.open() as gb:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        gb.update_or_create_student(student)
        try:
            submission = gb.find_submission(assignment, student)
            submission.timestamp = timestamp
        except MissingEntry:
            submission = gb.add_submission(assignment, student, timestamp=timestamp)
        flagged = bool(result["flags"]) or result["status"] != "graded"
        for name, trusted in masters.items():
            notebook = gb.find_submission_notebook(Path(name).stem, assignment, student)
            notebook.flagged = flagged
            for grade_id in trusted:
                grade = gb.find_grade(grade_id, Path(name).stem, assignment, student)
                cell = result["cells"].get(grade_id)
                grade.auto_score = cell["points"] if cell else 0.0
                grade.needs_manual_grade = False
        gb.db.commit()
        del submission
    target = Path(root) / "autograded" / student / assignment
    if target.exists():
        shutil.rmtree(target)
    if result["notebooks"]:
        target.mkdir(parents=True)
        for name, text in result["notebooks"].items():
            (target / name).write_text(text, encoding="utf-8")
    record = {k: v for k, v in result.items() if k != "notebooks"}
    record["graded_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    path = record_path(root, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(partial, path)


def _line(result):
    line = f"{result['assignment']} {result['student']}: {result['status']}, {result['score']:g}/{result['max_score']:g}"
    return (line + (f" ({result['reason']})" if result["reason"] else "")
            + (f" flags: {', '.join(result['flags'])}" if result["flags"] else "")
            + f" [{result.get('grading_seconds', 0):.1f} s]")


def summary(assignment, results, seconds):
    """One line for the end of a batch: how many were graded, which were not and why, which were flagged."""
    graded = [r for r in results if r["status"] == "graded"]
    failed = [r for r in results if r["status"] != "graded"]
    text = f"{assignment}: {len(graded)} graded, {len(failed)} not graded"
    if failed:
        text += ": " + "; ".join(f"{r['student']} ({r['reason']})" for r in failed)
    flagged = [r["student"] for r in results if r["flags"]]
    if flagged:
        text += f"; {len(flagged)} flagged: {', '.join(flagged)}"
    from tqdm import tqdm

    return text + f"; in {tqdm.format_interval(seconds)}"


class Progress:
    """A tqdm bar with the time left on a terminal; otherwise one line per submission, with the count and
    the time left."""

    def __init__(self, total, desc, log, bar=None, file=None):
        from tqdm import tqdm

        self.total, self.log, self.done, self.started = total, log, 0, time.monotonic()
        stream = file or sys.stderr
        self.bar = bar if bar is not None else bool(getattr(stream, "isatty", lambda: False)())
        self.tqdm = tqdm(total=total, desc=desc, unit="submission", file=stream, disable=not self.bar,
                         dynamic_ncols=True,
                         bar_format="{desc}: {n}/{total} |{bar}| {elapsed} elapsed, {remaining} left")

    def __call__(self, line):
        from tqdm import tqdm

        self.done += 1
        if self.bar:
            with tqdm.external_write_mode(file=self.tqdm.fp):
                self.log(line)
            self.tqdm.update(1)
            return
        elapsed = time.monotonic() - self.started
        left = elapsed / self.done * (self.total - self.done)
        self.log(f"[{self.done}/{self.total}, {tqdm.format_interval(elapsed)} elapsed, "
                 f"about {tqdm.format_interval(left)} left] {line}")

    def close(self):
        self.tqdm.close()


# -- the batch on Dask distributed ---------------------------------------------------------

RESOURCE = "grading-sandbox"  # what a worker that may take submissions offers, one per thread


class NotIsolated(RuntimeError):
    """A worker that cannot sandbox was given a submission without --allow-unisolated."""


class TimeLimitExceeded(Exception):
    """The submission's notebook ran out of its time limit. Raised so that Dask runs the task again
    (``retries``); when the last run ran out too, the client takes the result it carries."""

    def __init__(self, result, limit):
        super().__init__(f"{result['student']}: the notebook ran out of its time limit ({limit} s)")
        self.result, self.limit = result, limit

    def __reduce__(self):
        return (TimeLimitExceeded, (self.result, self.limit))


@dataclass
class Job:
    """One submission as a task carries it to a worker: data only, nothing of the course's folders."""

    assignment: str
    student: str
    files: dict  # {path in the submission's folder: bytes}
    masters: dict  # {notebook: {grade_id: (source, points)}}: the trusted test cells
    masters_db: bytes  # a SQLite gradebook that holds this assignment alone, for nbgrader's preprocessors
    config: object  # nbgrader's configuration of the course (nbgrader_config.py)
    settings: Settings
    uid: int  # the unprivileged user of this submission's sandbox
    hide: list  # the course's folders on the grader's machine, recorded as out of the sandbox's reach


def _local_directory():
    """The working folder of the Dask worker running this task (else the system's temporary folder)."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def _worker_name():
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "this process"


def grade_task(job):
    """A worker's task: grade one submission from ``job`` alone; the result dict, executed notebooks included.

    Refuses (:class:`NotIsolated`) where the sandbox cannot run, unless the batch allows it; raises
    :class:`TimeLimitExceeded` when the notebook ran out of its time limit, so that Dask runs it again.
    """
    isolated, why = sandbox.isolation()
    if not isolated and not job.settings.allow_unisolated:
        raise NotIsolated(f"the worker {_worker_name()} cannot sandbox submissions ({why}); "
                          "--allow-unisolated grades there with the limits only")
    with tempfile.TemporaryDirectory(prefix="backproplab-grade-", dir=_local_directory()) as scratch:
        os.chmod(scratch, 0o711)
        folder = Path(scratch) / "submitted" / job.student / job.assignment
        folder.mkdir(parents=True)
        for name, data in job.files.items():
            target = (folder / name).resolve()
            if folder.resolve() not in target.parents:
                raise ValueError(f"a submission's file lies outside its folder: {name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        db = Path(scratch) / "masters.db"
        db.write_bytes(job.masters_db)
        batch = Path(scratch) / "batch"
        batch.mkdir(mode=0o711)
        result = grade_one(job.hide, job.assignment, job.student, folder, f"sqlite:///{db}", job.masters, batch,
                           job.settings, job.uid, config=job.config, isolated=isolated)
    result["worker"] = _worker_name()
    if result.pop("out_of_time", False) and job.settings.retries > 0:
        raise TimeLimitExceeded(result, job.settings.notebook_timeout)
    return result


def submission_files(folder):
    """{path: bytes} of a submission's regular files (symbolic links are not followed), or a reason it is too
    large to carry."""
    files, size = {}, 0
    for path in sorted(Path(folder).rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        size += path.stat().st_size
        if size > MAX_SUBMISSION_BYTES:
            return None, f"the submission's files take more than {MAX_SUBMISSION_BYTES // 1024**2} MB"
        files[str(path.relative_to(folder))] = path.read_bytes()
    return files, ""


def masters_gradebook(book, assignment, scratch):
    """The bytes of a SQLite gradebook holding ``assignment`` alone (notebooks, cells, sources, points,
    checksums, kernelspecs), copied from the course's gradebook: what nbgrader's preprocessors read on a
    worker, which has neither the course nor its gradebook. No student is in it."""
    path = Path(scratch) / "masters.db"
    with warnings.catch_warnings(), _alembic_in_process(), book.open() as gb, \
            Gradebook(f"sqlite:///{path}", book.course_id).open() as out:
        warnings.simplefilter("ignore")
        found = gb.find_assignment(assignment)
        out.add_assignment(assignment)
        for nb in found.notebooks:
            out.add_notebook(nb.name, assignment, kernelspec=nb.kernelspec)
            for cell in nb.source_cells:
                out.add_source_cell(cell.name, nb.name, assignment, cell_type=cell.cell_type, locked=cell.locked,
                                    source=cell.source, checksum=cell.checksum)
            for cell in nb.grade_cells:
                out.add_grade_cell(cell.name, nb.name, assignment, max_score=cell.max_score,
                                   cell_type=cell.cell_type)
            for cell in nb.solution_cells:
                out.add_solution_cell(cell.name, nb.name, assignment)
            for cell in nb.task_cells:
                out.add_task_cell(cell.name, nb.name, assignment, max_score=cell.max_score, cell_type=cell.cell_type)
        gb.engine.dispose()
    return path.read_bytes()


def _grading_plugin(allow_unisolated):
    """A Dask worker plugin: each worker, now and joining later, offers :data:`RESOURCE` (one per thread)
    when it can sandbox, or when unisolated grading is allowed; otherwise it offers none and gets no submission."""
    from distributed import WorkerPlugin

    class GradingSandbox(WorkerPlugin):
        name = "backproplab-grading-sandbox"

        def __init__(self, allow):
            self.allow = allow

        async def setup(self, worker):
            import asyncio

            isolated, _ = await asyncio.get_running_loop().run_in_executor(None, sandbox.isolation)
            takes = isolated or self.allow
            await worker.set_resources(**{RESOURCE: worker.state.nthreads if takes else 0})
            stop_profiler(worker)

    return GradingSandbox(allow_unisolated)


def stop_profiler(worker):
    """Stop a Dask worker's sampling profiler: it reads the stack of the task's thread every 10 ms, which
    cost a submission of notebook 01 about 2 s of its 10 (bench/README.md, grading.py). Its profiles are
    only drawn on the dashboard, which grading does not use."""
    for name in ("profile", "profile-cycle"):
        callback = worker.periodic_callbacks.pop(name, None)
        if callback is not None:
            callback.stop()


def _worker_isolation(dask_worker=None):
    isolated, why = sandbox.isolation()
    return {"isolated": isolated, "why": why, "takes": dask_worker.state.total_resources.get(RESOURCE, 0)}


# Dask's housekeeping in the grader's scheduler and client and in the local workers costs CPU every second a
# batch runs: by default about 0.03 s a second in the grader and as much in each worker, about 0.01 in all
# with these settings (docs/grading.md). The event loop's watchdog ticks every second instead of every 20 ms,
# the CPU, memory and network sampling for dashboards runs every 5 s instead of every 0.5 s, the worker's
# memory check every 5 s instead of every 0.1 s (the sandbox limits the kernel's memory; a worker's own stays
# small) and the workers' statistical profiler is off. Workers on a scheduler keep their own configuration:
# the workers' image and the Slurm recipe (deploy/dask) set the same, and the grading plugin stops profilers.
QUIET_DASK = {
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "5s",
    "distributed.worker.profile.enabled": False,
}

# What a grading worker imports: a local worker forks from a process that has imported them once.
WORKER_MODULES = ("distributed", "distributed.nanny", "distributed.worker", "numpy", "autograder.grade",
                  "autograder.recompute", "nbformat", "nbgrader.api", "nbgrader.preprocessors", "nbgrader.utils",
                  "nbgrader.nbgraderformat")


@contextlib.contextmanager
def local_workers_fork():
    """While open, the workers of a local cluster start as forks of multiprocessing's fork server, which
    imports :data:`WORKER_MODULES` once, as it starts here, while this process starts the scheduler: a
    spawned worker imported them itself (about 3 s of CPU each). Dask's environment for new workers (one
    BLAS thread, the malloc trim threshold) is set before the server starts, as a spawned worker got it.
    The server is stopped on leaving, after the cluster: it has reaped the workers, so their CPU time
    reaches this process (as a spawned worker's did), and the next batch's server starts from this
    process's environment then."""
    import multiprocessing
    from multiprocessing import forkserver

    import dask
    from distributed.utils import get_mp_context

    for name, value in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items():
        os.environ[name] = str(value)
    with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
        get_mp_context()  # distributed's own preload list, once per process: the line below replaces it
        multiprocessing.get_context("forkserver").set_forkserver_preload(list(WORKER_MODULES))
        forkserver.ensure_running()
        try:
            yield
        finally:
            stop = getattr(forkserver._forkserver, "_stop", None)  # Python 3.11-3.13; without it, at exit
            if stop is not None:
                stop()


def _connect(settings, scratch, log):
    """(client, local cluster or None): the scheduler of ``settings``, else a local cluster of
    ``settings.workers`` single-threaded worker processes (started inside :func:`local_workers_fork`)."""
    from distributed import Client, LocalCluster

    if settings.scheduler:
        try:
            return Client(settings.scheduler, timeout=f"{settings.connect_timeout}s"), None
        except Exception as exc:  # OSError, TimeoutError, or a malformed address (ValueError)
            raise GradingError(f"cannot reach the Dask scheduler at {settings.scheduler} within "
                               f"{settings.connect_timeout} s ({type(exc).__name__}: {exc}); nothing was graded. "
                               "Start it (`dask scheduler`, and workers with `dask worker ADDRESS`), or grade on "
                               "this machine without --scheduler") from None
    cluster = LocalCluster(n_workers=settings.workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", local_directory=str(scratch), silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _check_workers(client, settings, log):
    """Register the plugin and wait until some worker takes submissions; a GradingError if none can."""
    client.register_plugin(_grading_plugin(settings.allow_unisolated))
    deadline = time.monotonic() + settings.wait_for_workers
    said = False
    while True:
        found = client.run(_worker_isolation) if client.scheduler_info()["workers"] else {}
        takers = [w for w, info in found.items() if info["takes"]]
        refusing = {w: info["why"] for w, info in found.items() if not info["takes"] and not info["isolated"]}
        if takers:
            for worker, why in refusing.items():
                log(f"warning: the worker {worker} cannot sandbox submissions and gets none ({why}); "
                    "--allow-unisolated grades there with the limits only")
            if settings.allow_unisolated:
                for worker, info in found.items():
                    if not info["isolated"]:
                        log(f"warning: the worker {worker} grades without the sandbox ({info['why']}): "
                            "its rows are flagged")
            return
        if refusing and (not settings.scheduler or len(refusing) == len(found)):
            raise GradingError("no worker can sandbox submissions: " + "; ".join(
                f"{w}: {why}" for w, why in sorted(refusing.items())) + ". Install bubblewrap (Debian: "
                "apt-get install bubblewrap) where the workers run, or pass --allow-unisolated to grade with the "
                "limits only (every row flagged); nothing was graded")
        if time.monotonic() > deadline:
            raise GradingError(f"no worker joined the scheduler at {settings.scheduler} within "
                               f"{settings.wait_for_workers} s (start some with `dask worker {settings.scheduler}`); "
                               "nothing was graded")
        if not said and settings.scheduler:
            log(f"waiting for workers on {settings.scheduler}")
            said = True
        time.sleep(0.5)


def _failed(job_student, assignment, folder, masters, reason):
    return {"student": job_student, "assignment": assignment, "status": "not graded", "reason": reason,
            "score": 0.0, "max_score": sum(p for cells in masters.values() for _, p in cells.values()),
            "cells": {}, "flags": [], "isolation": {}, "notebooks": {}, "digest": digest(folder),
            "grading_seconds": 0.0}


def _outcome(future, student, assignment, folder, masters, settings):
    """The result of a finished task, or the record of why the submission could not be graded."""
    from distributed import KilledWorker

    exc = future.exception()
    if exc is None:
        return future.result()
    if isinstance(exc, TimeLimitExceeded):
        result = exc.result
        result["flags"] = sorted(set(result["flags"]) | {
            f"time limit: the notebook ran out of its time limit on each of {settings.retries + 1} runs"})
        return result
    if isinstance(exc, KilledWorker):
        return _failed(student, assignment, folder, masters,
                       "the workers grading it died (the scheduler's allowed-failures was reached): "
                       "it may crash its worker")
    if isinstance(exc, NotIsolated):
        return _failed(student, assignment, folder, masters, str(exc))
    return _failed(student, assignment, folder, masters, f"grader error: {type(exc).__name__}: {exc}")


def autograde(root, assignment, pattern="*", force=False, db_url=None, settings=None, log=print, bar=None,
              bar_file=None):
    """Grade every submission of ``assignment`` without a record for its current content or a gradebook entry.

    The gradebook is ``db_url``, else the one nbgrader_config.py names
    (:func:`gradebook`); the assignment is registered there first when it is
    missing. The submissions are tasks on Dask distributed: on the scheduler
    ``settings.scheduler`` (else nbgrader_config.py's
    ``c.DaskGrading.scheduler``), else on a local cluster of
    ``settings.workers`` single-threaded processes. ``bar``: a tqdm progress
    bar (on ``bar_file``, default stderr); by default when stderr is a
    terminal, otherwise each submission's line says how many are done and the
    time left.
    """
    import dataclasses

    settings = settings or Settings()
    if not settings.scheduler:
        configured = course_config(root).get("DaskGrading", {}).get("scheduler", "")
        settings = dataclasses.replace(settings, scheduler=configured or "")
    started = time.monotonic()
    book = gradebook(root, db_url)
    registered, in_gradebook = _gradebook_state(book, assignment)
    todo = [(s, f) for s, f in submissions(root, assignment, pattern)
            if force or s not in in_gradebook or not already_graded(root, assignment, s, f)]
    if not todo:
        log(f"{assignment}: nothing to grade")
        return []
    done = []
    import dask  # here: a batch with nothing to grade does not import Dask
    import distributed  # noqa: F401  (its configuration's defaults first: leaving the set below restores them)

    with contextlib.ExitStack() as stack:
        stack.enter_context(dask.config.set(QUIET_DASK))
        if not settings.scheduler:
            stack.enter_context(local_workers_fork())
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="backproplab-grade-"))
        os.chmod(scratch, 0o711)
        client, cluster = _connect(settings, scratch, log)
        try:
            _check_workers(client, settings, log)
            if not registered:
                register(root, assignment, book, log)
            masters = assignment_cells(book.url, assignment)
            masters_db = masters_gradebook(book, assignment, scratch)
            config = _course_config(root)
            hide = [str(Path(root).resolve())]
            progress = Progress(len(todo), assignment, log, bar, bar_file)
            done = _run(client, todo, assignment, masters, masters_db, config, settings, hide, root, book, progress)
            progress.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    log(summary(assignment, done, time.monotonic() - started))
    return done


def _run(client, todo, assignment, masters, masters_db, config, settings, hide, root, book, progress):
    """Submit the tasks, a window at a time (the scheduler holds only those), and store each result as it
    comes: one gradebook entry and one record per submission, written here only."""
    import uuid

    from distributed import as_completed

    folders = dict(todo)
    pending = iter(enumerate(todo))
    running = as_completed()
    students = {}
    batch_id = uuid.uuid4().hex[:8]

    def window():
        threads = sum(client.nthreads().values()) or 1
        return max(2 * threads, 4)

    def submit_next():
        for index, (student, folder) in pending:
            files, too_big = submission_files(folder)
            if files is None:
                return _failed(student, assignment, folder, masters, too_big)
            job = Job(assignment, student, files, masters, masters_db, config, settings, FIRST_UID + index % 1000,
                      hide)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Large object")  # a large notebook is sent as it is
                future = client.submit(grade_task, job, key=f"grade-{assignment}-{student}-{batch_id}", pure=False,
                                       retries=settings.retries, resources={RESOURCE: 1})
            students[future.key] = student
            running.add(future)
            return None
        return False

    done = []

    def keep(result):
        store(root, book, result, masters)
        done.append(result)
        progress(_line(result))

    def fill():
        while running.count() < window():
            refused = submit_next()
            if refused is False:
                return
            if refused is not None:
                keep(refused)

    fill()
    while running.count():
        future = next(running)
        student = students.pop(future.key)
        result = _outcome(future, student, assignment, folders[student], masters, settings)
        future.release()
        keep(result)
        fill()
    return done


# -- export ----------------------------------------------------------------------------

LONG = ["assignment", "student", "last_name", "first_name", "email", "status", "score", "max_score",
        "timestamp", "duedate", "late", "hours_late", "reason", "flags", "grading_seconds", "graded_at"]
LAYOUTS = ("long", "wide", "canvas", "moodle")


def _number(value):
    return f"{value:g}" if value is not None else ""


def _when(value):
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def gradebook_rows(root, book, assignments=None):
    """One row per enrolled student and assignment, from the gradebook (manual grades included).

    Each row holds the columns of :data:`LONG` plus one ``ASSIGNMENT/GRADE_ID``
    per graded cell; a student without a submission is ``missing``. Returns
    (rows, cell columns, {assignment: max score}).
    """
    from nbgrader.api import MissingEntry

    rows, cell_columns, max_scores = [], [], {}
    with warnings.catch_warnings(), book.open() as gb:
        warnings.simplefilter("ignore")
        known = sorted(a.name for a in gb.assignments)
        names = assignments or known
        unknown = [a for a in names if a not in known]
        if unknown:
            raise ValueError(f"not in the gradebook: {', '.join(unknown)} (it has: {', '.join(known) or 'nothing'})")
        students = sorted(gb.students, key=lambda s: s.id)
        for name in names:
            assignment = gb.find_assignment(name)
            max_scores[name] = assignment.max_score
            cells = [(nb.name, cell.name) for nb in assignment.notebooks for cell in nb.grade_cells]
            cell_columns += [f"{name}/{cell}" for _, cell in cells]
            for student in students:
                row = {"assignment": name, "student": student.id, "last_name": student.last_name or "",
                       "first_name": student.first_name or "", "email": student.email or "",
                       "lms_user_id": student.lms_user_id or "",  # for the canvas and moodle layouts
                       "max_score": _number(assignment.max_score), "duedate": _when(assignment.duedate)}
                try:
                    submission = gb.find_submission(name, student.id)
                except MissingEntry:
                    rows.append({**row, "status": "missing", "score": "", "late": "", "hours_late": ""})
                    continue
                try:
                    record = json.loads(record_path(root, name, student.id).read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    record = {}
                late = submission.total_seconds_late
                row.update({"status": record.get("status", "graded"), "score": _number(submission.score),
                            "timestamp": _when(submission.timestamp), "duedate": _when(submission.duedate),
                            "late": ("yes" if late > 0 else "no") if submission.duedate and submission.timestamp
                            else "",
                            "hours_late": f"{late / 3600:.2f}" if late > 0 else "",
                            "reason": record.get("reason", ""), "flags": "; ".join(record.get("flags", [])),
                            "grading_seconds": _number(record.get("grading_seconds")),
                            "graded_at": record.get("graded_at", "")})
                for notebook, cell in cells:
                    row[f"{name}/{cell}"] = _number(gb.find_grade(cell, notebook, name, student.id).score)
                rows.append(row)
    return rows, cell_columns, max_scores


def _wide(rows, max_scores, layout):
    """(header, rows) of one row per student and one score column per assignment, in ``layout``."""
    students = {}
    for row in rows:
        students.setdefault(row["student"], row)
    by_key = {(r["student"], r["assignment"]): r for r in rows}

    def score(student, assignment):
        row = by_key[(student, assignment)]
        return row["score"] if row["status"] != "missing" else ("missing" if layout == "wide" else "")

    assignments = list(max_scores)
    if layout == "wide":
        header = ["student", "last_name", "first_name", "email", *assignments]
        body = [[s, r["last_name"], r["first_name"], r["email"], *(score(s, a) for a in assignments)]
                for s, r in students.items()]
        return header, body
    if layout == "canvas":
        # Canvas's gradebook export/import: Student, ID, SIS User ID, SIS Login ID, Section, one column per
        # assignment; the second row gives each assignment's points. ID is the Canvas user id that Canvas
        # puts in its submission downloads (zip_collect's student id).
        header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *assignments]
        body = [["Points Possible", "", "", "", "", *(_number(max_scores[a]) for a in assignments)]]
        for s, r in students.items():
            name = ", ".join(part for part in (r["last_name"], r["first_name"]) if part) or s
            # the roster's lms_user_id where the student id is not Canvas's (a hub's user name)
            body.append([name, r["lms_user_id"] or s, "", "", "", *(score(s, a) for a in assignments)])
        return header, body
    # Moodle's CSV grade import (Grades > Import > CSV file): identify users by "Email address" or
    # "ID number", map each "Assignment: ..." column to a grade item; blank cells import nothing.
    header = ["First name", "Surname", "ID number", "Email address", *(f"Assignment: {a}" for a in assignments)]
    body = [[r["first_name"], r["last_name"], r["lms_user_id"] or s, r["email"], *(score(s, a) for a in assignments)]
            for s, r in students.items()]
    return header, body


def export(root, out, db_url=None, assignments=None, layout="long"):
    """Write the grades of the gradebook to the CSV ``out``; returns the rows written (dicts or lists).

    ``long``: one row per student and assignment (:data:`LONG` and one column per
    graded cell). ``wide``, ``canvas``, ``moodle``: one row per student, one
    score column per assignment, in the columns those imports expect.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    rows, cell_columns, max_scores = gradebook_rows(root, gradebook(root, db_url), assignments)
    with open(out, "w", newline="", encoding="utf-8") as f:
        if layout == "long":
            writer = csv.DictWriter(f, fieldnames=LONG[:8] + cell_columns + LONG[8:], restval="",
                                    extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            return rows
        header, body = _wide(rows, max_scores, layout)
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(body)
        return body


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.grade", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("register", help="put an assignment of source/ into the gradebook (course/ untouched)")
    r.add_argument("assignment")
    i = sub.add_parser("import", help="place FOLDER/STUDENT.ipynb as submitted/STUDENT/ASSIGNMENT/")
    i.add_argument("assignment")
    i.add_argument("folder", help="a folder of downloaded notebooks, one per student, named STUDENT.ipynb")
    i.add_argument("--force", action="store_true", help="replace a different submission already there")
    f = sub.add_parser("feedback", help="HTML feedback in feedback/STUDENT/ASSIGNMENT/, also for the ungraded")
    f.add_argument("assignment")
    a = sub.add_parser("autograde", help="grade the submissions in submitted/*/ASSIGNMENT")
    a.add_argument("assignment")
    a.add_argument("--student", default="*", help="a student id or a glob (default: all)")
    a.add_argument("--force", action="store_true", help="grade again even when a record exists")
    a.add_argument("--workers", type=int, default=Settings.workers,
                   help="worker processes of the local cluster (default: one per core)")
    a.add_argument("--scheduler", default="",
                   help="grade on the running Dask scheduler at tcp://HOST:PORT (default: "
                        "c.DaskGrading.scheduler of nbgrader_config.py, else a local cluster)")
    a.add_argument("--allow-unisolated", action="store_true",
                   help="let workers that cannot sandbox grade, with the limits only (every row flagged)")
    a.add_argument("--retries", type=int, default=Settings.retries,
                   help="runs again of a submission that ran out of its notebook's time limit (default 1)")
    a.add_argument("--connect-timeout", type=int, default=Settings.connect_timeout,
                   help="seconds to reach the --scheduler (default 20)")
    a.add_argument("--cell-timeout", type=int, default=Settings.cell_timeout)
    a.add_argument("--notebook-timeout", type=int, default=Settings.notebook_timeout)
    a.add_argument("--memory-mb", type=int, default=sandbox.Limits.memory // 1024**2)
    e = sub.add_parser("export", help="write the gradebook's grades to a CSV")
    e.add_argument("--out", default="grades.csv")
    e.add_argument("--assignment", action="append",
                   help="export this assignment only (repeat for several; default: all in the gradebook)")
    e.add_argument("--layout", choices=LAYOUTS, default="long",
                   help="long: a row per student and assignment, a column per graded cell (default); "
                        "wide: a row per student; canvas, moodle: wide, in the columns of their grade imports")
    for p in (r, i, f, a, e):
        p.add_argument("--root", default=".", help="the course directory (default: here)")
    for p in (r, f, a, e):
        p.add_argument("--db", help="gradebook URL (default: db_url of nbgrader_config.py, "
                                    "else gradebook.db of the course)")
    args = parser.parse_args(argv)
    try:
        if args.command == "export":
            rows = export(args.root, args.out, args.db, args.assignment, args.layout)
            print(f"wrote {len(rows)} rows to {args.out}")
            return 0
        if args.command == "register":
            register(args.root, args.assignment, gradebook(args.root, args.db))
            return 0
        if args.command == "import":
            from .collect import import_folder

            import_folder(args.root, args.assignment, args.folder, args.force)
            return 0
        if args.command == "feedback":
            from . import feedback

            feedback.generate(args.root, args.assignment, gradebook(args.root, args.db))
            return 0
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = Settings(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                        limits=sandbox.Limits(memory=args.memory_mb * 1024**2), workers=args.workers,
                        scheduler=args.scheduler, allow_unisolated=args.allow_unisolated, retries=args.retries,
                        connect_timeout=args.connect_timeout)
    try:
        results = autograde(args.root, args.assignment, args.student, args.force, args.db, settings)
    except (ValueError, RuntimeError) as exc:  # GradingError, or an assignment register cannot find

        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0 if all(r["status"] == "graded" for r in results) else 1


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy's: the tasks sent to Dask workers name the
    # functions they call by module, and a worker can import autograder.grade, never this __main__.
    from autograder import grade as _module

    sys.exit(_module.main())
