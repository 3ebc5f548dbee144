"""Submissions that come by hand: a folder of downloaded notebooks, and zip_collect's late files.

``python3 run.py grade import ASSIGNMENT FOLDER`` places ``FOLDER/STUDENT.ipynb``
(one notebook per student id) where nbgrader expects it,
``submitted/STUDENT/ASSIGNMENT/NOTEBOOK.ipynb``, with a ``timestamp.txt``
from the file's modification time (the submission time the export compares
with the due date).

:class:`LmsCollector` is the file collector of ``nbgrader zip_collect``
(nbgrader_config.py): nbgrader's own, plus a warning for each file the
platform marked late (Canvas's ``_LATE_``), which nbgrader would otherwise
collect without a word.
"""

import datetime
import re
import shutil
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin

STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$")


class LmsCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector that reports the files a learning platform marked late."""

    def collect(self, submitted_file):
        info = super().collect(submitted_file)
        if info and "_LATE_" in Path(submitted_file).name:
            self.log.warning("Late submission (the platform marked it _LATE_) of student %s: %s",
                             info.get("student_id"), Path(submitted_file).name)
        return info


def _notebook_names(root, assignment):
    folder = Path(root) / "source" / assignment
    if not folder.is_dir():
        known = ", ".join(sorted(p.name for p in (Path(root) / "source").iterdir() if p.is_dir()))
        raise ValueError(f"no assignment {assignment!r} in source/ (there are: {known})")
    return sorted(p.name for p in folder.glob("*.ipynb"))


def import_folder(root, assignment, folder, force=False, log=print):
    """Place ``folder/STUDENT.ipynb`` as each student's submission; returns {student: what happened}.

    A student whose submission is already there with other content is left
    alone (``skipped``) unless ``force``. Files that are not ``STUDENT.ipynb``
    with a usable id are reported and skipped; nothing is read as a notebook
    here (grading says what is wrong with one).
    """
    names = _notebook_names(root, assignment)
    if len(names) != 1:
        raise ValueError(f"{assignment} has {len(names)} notebooks ({', '.join(names)}); "
                         "import takes assignments of one notebook")
    (name,) = names
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder} is not a folder (expected a folder of STUDENT.ipynb files)")
    done = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".ipynb" or not path.is_file():
            log(f"skipped {path.name}: not a notebook (expected STUDENT.ipynb)")
            continue
        student = path.stem
        if not STUDENT_ID.match(student):
            log(f"skipped {path.name}: {student!r} is not a student id (letters, digits, _ . @ + -)")
            continue
        target = Path(root) / "submitted" / student / assignment
        data = path.read_bytes()
        if (target / name).is_file() and (target / name).read_bytes() == data:
            done[student] = "unchanged"
            continue
        if target.exists() and not force:
            done[student] = "skipped"
            log(f"skipped {path.name}: submitted/{student}/{assignment} holds another submission (--force replaces it)")
            continue
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        (target / name).write_bytes(data)
        when = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.timezone.utc)
        (target / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"), encoding="utf-8")
        done[student] = "imported"
    counts = {what: sum(1 for v in done.values() if v == what) for what in ("imported", "unchanged", "skipped")}
    log(f"{assignment}: " + ", ".join(f"{n} {what}" for what, n in counts.items()) + f" (as submitted/STUDENT/{assignment}/{name})")
    return done
