"""Grade a class: ``python -m autograder.grade autograde ASSIGNMENT`` and ``... export``.

What it adds to ``nbgrader autograde``:

- **Verdicts outside the student's kernel.** Each submission is autograded by
  nbgrader in grading mode, so that the checks record their evidence; the
  score that counts is then recomputed here, in the grader's own process, from
  the test cells of the master (trusted) and the evidence in the graded
  notebook's outputs (untrusted, read as data). Where the notebook's own run
  and the evidence disagree, or the code touches the machinery (input
  transformers, exception handlers, sys.modules, the checks), the submission
  is flagged.
- **Isolation and limits.** Each submission is graded in a working copy that
  holds only its own notebooks and a gradebook with the assignment alone,
  inside :mod:`autograder.sandbox` (no network, the course folder hidden,
  memory, CPU, file-size and process limits, an unprivileged user), with a
  time limit per cell and per notebook.
- **Batches that hold up.** Submissions are graded in parallel worker
  processes; only this process writes the real gradebook, one submission at
  a time, so it is never locked. A record per submission
  (``verdicts/ASSIGNMENT/STUDENT.json``) is written last; a batch killed midway
  and run again grades exactly the submissions without a record for their
  current content.
- **One gradebook**, the one nbgrader_config.py names (``--db`` overrides it),
  for grading and for the export; a regrade keeps the formgrader's manual
  grades and comments.
- **Exports from the gradebook** that tell 0 from "could not be graded" (with
  the reason) and from "missing", in a long layout and in the wide layouts
  Canvas and Moodle import.
"""

import argparse
import concurrent.futures
import csv
import datetime
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import sandbox
from .build import isolated_env
from .recompute import judge_cells, trusted_cells

ROOT = Path(__file__).resolve().parents[1]
MAX_NOTEBOOK_BYTES = 64 * 1024**2
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
    workers: int = max(1, os.cpu_count() or 1)


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


def make_template(root, assignment, scratch, env):
    """A course directory with the assignment alone in its gradebook (no student, no other assignment)."""
    template = Path(scratch) / "template"
    template.mkdir()
    shutil.copy2(Path(root) / "nbgrader_config.py", template)
    shutil.copytree(Path(root) / "source" / assignment, template / "source" / assignment)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
                           f"--CourseDirectory.root={template}",
                           f"--CourseDirectory.db_url=sqlite:///{template}/gradebook.db"],
                          cwd=template, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"could not prepare {assignment}:\n{done.stderr[-LOG_TAIL:]}")
    masters = {p.name: trusted_cells(json.loads(p.read_text(encoding="utf-8")))
               for p in sorted((template / "source" / assignment).glob("*.ipynb"))}
    return template, masters


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
        from nbgrader.api import Gradebook as NbGradebook

        bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` to set up a new gradebook
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
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
    with tempfile.TemporaryDirectory(prefix="backproplab-register-") as scratch:
        course = Path(scratch) / "course-dir"
        course.mkdir()
        shutil.copy2(Path(root) / "nbgrader_config.py", course)
        if not (Path(root) / "source" / assignment).is_dir():
            known = ", ".join(sorted(p.name for p in (Path(root) / "source").iterdir() if p.is_dir()))
            raise ValueError(f"no assignment {assignment!r} in source/ (there are: {known})")
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


def _sandbox_spec(root, work, scratch, report, uid):
    import autograder
    import backproplab

    keep = sorted({sys.prefix, sys.base_prefix, str(Path(autograder.__file__).parent),
                   str(Path(backproplab.__file__).parent), str(work)})
    hide = [str(Path(root).resolve()), str(Path(scratch).resolve())]
    return sandbox.Spec(report=str(report), hide=hide, keep=keep, writable=[str(work)], uid=uid)


def _nbgrader_reason(log):
    """The likely reason nbgrader gave for not grading, from its log."""
    for pattern, reason in [
        (r"NotJSONError|Notebook does not appear to be JSON|JSONDecodeError", "the notebook is not valid JSON"),
        (r"DeadKernelError|Kernel died", "the kernel died (exit or crash)"),
        (r"CellTimeoutError|Timeout waiting for (execute )?reply|timed out", "a cell ran past its time limit"),
        (r"MemoryError|Cannot allocate memory", "the memory limit"),
        (r"File size limit|SIGXFSZ|File too large", "the output exceeded the file-size limit"),
        (r"schema|validation|ValidationError", "the notebook's metadata is invalid"),
        (r"No notebooks were matched|does not exist|No such file", "no notebook with the expected name"),
    ]:
        if re.search(pattern, log, re.I):
            return reason
    lines = [line for line in log.splitlines() if "ERROR" in line or "Error" in line]
    return lines[-1][-300:] if lines else "nbgrader did not produce a graded notebook"


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


def _kernel_side_scores(work, assignment, student):
    """{grade_id: score} that nbgrader computed in the working copy (untrusted; used to flag)."""
    from nbgrader.api import Gradebook

    try:
        with Gradebook(f"sqlite:///{work}/gradebook.db") as gb:
            submission = gb.find_submission(assignment, student)
            return {g.name: g.score for nb in submission.notebooks for g in nb.grades}
    except Exception:
        return {}


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


def grade_one(root, assignment, student, folder, template, masters, batch, settings, uid=sandbox.NOBODY):
    """Autograde one submission in its sandbox and judge it; returns a plain dict."""
    result = {"student": student, "assignment": assignment, "digest": digest(folder),
              "status": "not graded", "reason": "", "score": 0.0,
              "max_score": sum(p for cells in masters.values() for _, p in cells.values()),
              "cells": {}, "flags": _suspicious(folder), "isolation": {}, "notebooks": {}}
    result["reason"] = precheck(folder, masters)
    if result["reason"]:
        result["isolation"] = {"sandbox": "not started: nothing in the submission could run"}
        return result
    work = Path(tempfile.mkdtemp(prefix="w-", dir=batch))
    try:
        shutil.copy2(Path(root) / "nbgrader_config.py", work)
        shutil.copy2(Path(template) / "gradebook.db", work / "gradebook.db")
        shutil.copytree(folder, work / "submitted" / student / assignment, symlinks=False)
        for private in ("state", "home", "mpl"):
            (work / private).mkdir()
        env = isolated_env(work / "state")
        env.update({"HOME": str(work / "home"), "MPLCONFIGDIR": str(work / "mpl"),
                    "BACKPROPLAB_GRADING": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                    "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"})
        report = Path(batch) / f"{work.name}.isolation.json"
        argv = sandbox.command(_sandbox_spec(root, work, Path(batch).parent, report, uid), [
            sys.executable, "-m", "nbgrader", "autograde", assignment, "--student", student, "--force",
            f"--CourseDirectory.root={work}", f"--CourseDirectory.db_url=sqlite:///{work}/gradebook.db",
            f"--Execute.timeout={settings.cell_timeout}", "--Execute.interrupt_on_timeout=True"])
        log_path = Path(batch) / f"{work.name}.log"
        with open(log_path, "wb") as log:
            child = subprocess.Popen(argv, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
            try:
                child.wait(timeout=settings.notebook_timeout)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                try:
                    os.killpg(child.pid, signal.SIGKILL)  # whatever the submission left running
                except ProcessLookupError:
                    pass
                child.wait()
        with open(log_path, "rb") as log:
            log.seek(max(0, log_path.stat().st_size - 20 * LOG_TAIL))
            tail = log.read().decode("utf-8", "replace")
        try:
            result["isolation"] = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            result["isolation"] = {"warnings": ["the sandbox did not report"]}
        kernel_scores = _kernel_side_scores(work, assignment, student)
        graded_dir = work / "autograded" / student / assignment
        for name, trusted in masters.items():
            path = graded_dir / name
            if timed_out:
                result["reason"] = f"the notebook ran past its time limit of {settings.notebook_timeout} s"
                break
            if not path.is_file():
                result["reason"] = _nbgrader_reason(tail)
                break
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                result["reason"] = f"the graded notebook is larger than {MAX_NOTEBOOK_BYTES // 1024**2} MB"
                break
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                nb = json.loads(text)
            except ValueError:
                result["reason"] = "the graded notebook is not valid JSON"
                break
            result["notebooks"][name] = text
            for grade_id, verdict in judge_cells(trusted, nb).items():
                result["cells"][grade_id] = {"notebook": name, **asdict(verdict), "max": trusted[grade_id][1]}
                if kernel_scores.get(grade_id, 0) > verdict.points:
                    result["flags"] = sorted(set(result["flags"]) | {"tests passed in the kernel without evidence"})
        else:
            result["status"] = "graded"
            result["score"] = sum(c["points"] for c in result["cells"].values())
        if result["isolation"].get("warnings"):
            result["flags"] = sorted(set(result["flags"]) | {"graded without full isolation"})
        result["log"] = tail[-LOG_TAIL:]
        return result
    finally:
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


def autograde(root, assignment, pattern="*", force=False, db_url=None, settings=None, log=print):
    """Grade every submission of ``assignment`` without a record for its current content or a gradebook entry.

    The gradebook is ``db_url``, else the one nbgrader_config.py names
    (:func:`gradebook`); the assignment is registered there first when it is
    missing.
    """
    settings = settings or Settings()
    book = gradebook(root, db_url)
    registered, in_gradebook = _gradebook_state(book, assignment)
    if not registered:
        register(root, assignment, book, log)
    todo = [(s, f) for s, f in submissions(root, assignment, pattern)
            if force or s not in in_gradebook or not already_graded(root, assignment, s, f)]
    if not todo:
        log(f"{assignment}: nothing to grade")
        return []
    done = []
    with tempfile.TemporaryDirectory(prefix="backproplab-grade-") as scratch:
        os.chmod(scratch, 0o711)
        env = isolated_env(Path(scratch) / "state")
        template, masters = make_template(root, assignment, scratch, env)
        batch = Path(scratch) / "batch"
        batch.mkdir(mode=0o711)
        with concurrent.futures.ProcessPoolExecutor(max_workers=settings.workers) as pool:
            futures = {pool.submit(grade_one, root, assignment, s, f, template, masters, batch, settings,
                                   FIRST_UID + index % 1000): s
                       for index, (s, f) in enumerate(todo)}
            for future in concurrent.futures.as_completed(futures):
                student = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # the grader's own failure on one submission
                    result = {"student": student, "assignment": assignment, "status": "not graded",
                              "reason": f"grader error: {type(exc).__name__}: {exc}", "score": 0.0,
                              "max_score": 0.0, "cells": {}, "flags": [], "isolation": {}, "notebooks": {},
                              "digest": digest(dict(todo)[student])}
                store(root, book, result, masters)
                done.append(result)
                line = f"{assignment} {student}: {result['status']}, {result['score']:g}/{result['max_score']:g}"
                log(line + (f" ({result['reason']})" if result["reason"] else "")
                    + (f" flags: {', '.join(result['flags'])}" if result["flags"] else ""))
    return done


# -- export ----------------------------------------------------------------------------

LONG = ["assignment", "student", "last_name", "first_name", "email", "status", "score", "max_score",
        "timestamp", "duedate", "late", "hours_late", "reason", "flags", "graded_at"]
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
            body.append([name, s, "", "", "", *(score(s, a) for a in assignments)])
        return header, body
    # Moodle's CSV grade import (Grades > Import > CSV file): identify users by "Email address" or
    # "ID number", map each "Assignment: ..." column to a grade item; blank cells import nothing.
    header = ["First name", "Surname", "ID number", "Email address", *(f"Assignment: {a}" for a in assignments)]
    body = [[r["first_name"], r["last_name"], s, r["email"], *(score(s, a) for a in assignments)]
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
            writer = csv.DictWriter(f, fieldnames=LONG[:8] + cell_columns + LONG[8:], restval="")
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
    a.add_argument("--workers", type=int, default=Settings.workers)
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
                        limits=sandbox.Limits(memory=args.memory_mb * 1024**2), workers=args.workers)
    results = autograde(args.root, args.assignment, args.student, args.force, args.db, settings)
    return 0 if all(r["status"] == "graded" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
