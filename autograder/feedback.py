"""Feedback that leaks nothing of the hidden tests, the grading machinery or the grader's files.

nbgrader's ClearHiddenTests removes the hidden block from a test cell's
source, but the outputs of the hidden calls stay: their messages name the
hidden inputs and seeds, a failure's traceback quotes the hidden line and the
``### BEGIN HIDDEN TESTS`` marker, and in grading mode every check leaves its
evidence (the student's results on the hidden inputs) as an output.
:class:`ScrubHiddenTests` runs first (``c.GenerateFeedback.preprocessors`` in
nbgrader_config.py) and:

- removes every evidence output;
- in a test cell with hidden tests, keeps the outputs of the visible calls
  (the student ran those already) and replaces everything the hidden calls
  printed or raised by one line: the hidden tests passed, or one of them
  failed, without its inputs; where the outputs cannot be told apart (a run
  without evidence), every output of the cell is replaced that way;
- replaces any line still quoting a hidden line or a marker;
- shortens absolute paths (the grader's working copies, its environment) to
  their file names.

:func:`not_graded_pages` writes the short feedback page of a submission that
could not be graded.
"""

import html
import json
import re
from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests as NbGraderClearHiddenTests
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List

from .contract import EVIDENCE_MIME

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
PLACEHOLDER = "[a hidden test]"
HIDDEN_PASSED = "The hidden tests of this cell passed."
HIDDEN_FAILED = ("A hidden test of this cell failed: your code passes the test above but not every case "
                 "the hidden tests try (other inputs, other sizes). Test it on cases of your own.")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ABSOLUTE_PATH = re.compile(r"(?<![\w.>/:])(?:/[\w.+@~-]+){2,}/([\w.+@~-]+)")
CHECK_CALL = re.compile(r"\bcheck_\w+\s*\(")


def hidden_lines(source):
    """The stripped, non-empty lines between the hidden-test markers."""
    lines, inside = [], False
    for line in source.splitlines():
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def visible_calls(source):
    """How many check calls a test cell makes before its hidden block."""
    return len(CHECK_CALL.findall(source.split(BEGIN)[0]))


def scrub(text, hidden):
    """``text`` with every line that quotes a hidden line or a marker replaced by the placeholder."""
    quoted = [*hidden, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"]
    out = []
    for line in text.split("\n"):
        plain = ANSI.sub("", line)
        out.append(PLACEHOLDER if any(h in plain for h in quoted) else line)
    return "\n".join(out)


def short_paths(text):
    """``text`` with absolute paths cut to their file names."""
    return ABSOLUTE_PATH.sub(r"\1", text)


def _is_evidence(output):
    return EVIDENCE_MIME in output.get("data", {})


def _summary(failed):
    import nbformat

    if failed:
        return nbformat.v4.new_output("error", ename="AssertionError", evalue=HIDDEN_FAILED,
                                      traceback=[f"AssertionError: {HIDDEN_FAILED}"])
    return nbformat.v4.new_output("stream", name="stdout", text=HIDDEN_PASSED + "\n")


def hidden_outputs_replaced(outputs, visible):
    """The outputs of a test cell with hidden tests: the visible calls' outputs, then one summary line."""
    outputs = list(outputs)
    if not any(_is_evidence(o) for o in outputs):
        failed = any(o.get("output_type") == "error" for o in outputs)
        return [_summary(failed)]
    kept, calls, failed_hidden, hidden_ran = [], 0, False, False
    for output in outputs:
        if _is_evidence(output):
            calls += 1
            continue
        if calls <= visible:
            kept.append(output)
        else:
            hidden_ran = True
            failed_hidden |= output.get("output_type") == "error"
    if calls > visible or hidden_ran:
        kept.append(_summary(failed_hidden))
    return kept


# nbconvert's HTML exporter configures display_data_priority for every preprocessor; nbgrader's
# preprocessors have the option without declaring it configurable, so each run warned
# "Config option `display_data_priority` not recognized". Declared here, it is taken silently.
_PRIORITY = List(NbGraderPreprocessor.display_data_priority.default_value).tag(config=True)


class ScrubHiddenTests(NbGraderPreprocessor):
    """Remove the hidden tests' outputs, evidence, quotations and absolute paths from feedback."""

    display_data_priority = _PRIORITY

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        hidden = hidden_lines(cell.source)
        outputs = [o for o in cell.get("outputs", []) if not _is_evidence(o)] if not hidden else \
            hidden_outputs_replaced(cell.get("outputs", []), visible_calls(cell.source))
        for output in outputs:
            if "traceback" in output:
                output["traceback"] = [short_paths(scrub(line, hidden)) for line in output["traceback"]]
            if "evalue" in output:
                output["evalue"] = short_paths(scrub(output["evalue"], hidden))
            if "text" in output:
                text = output["text"] if isinstance(output["text"], str) else "".join(output["text"])
                output["text"] = short_paths(scrub(text, hidden))
        cell.outputs = outputs
        return cell, resources


class ClearHiddenTests(NbGraderClearHiddenTests):
    """nbgrader's ClearHiddenTests, taking the exporter's display_data_priority without a warning."""

    display_data_priority = _PRIORITY


# -- a submission that could not be graded -----------------------------------------------

PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{assignment}: not graded</title></head>
<body>
<h1>{assignment}: your submission could not be graded</h1>
<p><strong>Why:</strong> {reason}.</p>
<p>Score: 0 / {max_score}. Nothing of your notebook was judged; this is not a grade of your answers.</p>
<p>Check the file you handed in (open it in JupyterLab, run it from the top, validate it) and ask
your instructor how to hand it in again.</p>
</body>
</html>
"""


def not_graded_pages(root, assignment):
    """A feedback page for each submission of ``assignment`` recorded as not graded; returns their paths.

    The page, feedback/STUDENT/ASSIGNMENT/not-graded.html, says why; it
    replaces any feedback of an earlier grading of that submission.
    """
    written = []
    for record_file in sorted((Path(root) / "verdicts" / assignment).glob("*.json")):
        record = json.loads(record_file.read_text(encoding="utf-8"))
        target = Path(root) / "feedback" / record["student"] / assignment
        stale = target / "not-graded.html"
        if record.get("status") != "not graded":
            if stale.exists():
                stale.unlink()
            continue
        if target.is_dir():
            for old in target.glob("*.html"):
                old.unlink()
        target.mkdir(parents=True, exist_ok=True)
        reason = short_paths(str(record.get("reason") or "the grader gave no reason"))
        stale.write_text(PAGE.format(assignment=html.escape(assignment), reason=html.escape(reason),
                                     max_score=f"{record.get('max_score', 0):g}"), encoding="utf-8")
        written.append(stale)
    return written


# nbgrader's release_feedback reads these beside each page (the submission's time, and the secret with which
# the student's own copy finds the page); nbgrader's autograde carries them from submitted/ to autograded/,
# run.py grade autograde keeps only the notebooks there, so they are taken from submitted/.
RELEASE_FEEDBACK_NEEDS = ("timestamp.txt", "submission_secret.txt")


def generate(root, assignment, book, log=print):
    """nbgrader's generate_feedback for every graded submission, then the pages of the ungraded ones."""
    import shutil
    import subprocess
    import sys
    import tempfile

    from .build import isolated_env

    for old in (Path(root) / "feedback").glob(f"*/{assignment}"):  # made again below, without --force's warnings
        shutil.rmtree(old)
    done = None
    if any((Path(root) / "autograded").glob(f"*/{assignment}/*.ipynb")):
        with tempfile.TemporaryDirectory(prefix="backproplab-feedback-") as scratch:
            done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", assignment,
                                   f"--CourseDirectory.root={Path(root).resolve()}",
                                   f"--CourseDirectory.db_url={book.url}",
                                   f"--CourseDirectory.course_id={book.course_id}"],
                                  cwd=root, env=isolated_env(scratch), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader generate_feedback failed:\n{done.stderr[-4000:]}")
    pages = not_graded_pages(root, assignment)
    for folder in (Path(root) / "feedback").glob(f"*/{assignment}"):
        submitted = Path(root) / "submitted" / folder.parent.name / assignment
        for name in RELEASE_FEEDBACK_NEEDS:
            if (submitted / name).is_file() and not (folder / name).exists():
                shutil.copy2(submitted / name, folder / name)
    graded = sorted(p.parent.parent.name for p in (Path(root) / "feedback").glob(f"*/{assignment}/*.html")
                    if p.name != "not-graded.html")
    log(f"{assignment}: feedback for {len(graded)} graded submissions, "
        f"{len(pages)} not-graded pages, in feedback/STUDENT/{assignment}/")
    return done
