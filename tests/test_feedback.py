"""Feedback leaks nothing: no hidden test's output, inputs or seeds, no markers, no grader paths, no evidence."""

import json

import nbformat
from autograder import feedback
from autograder.contract import EVIDENCE_MIME
from autograder.feedback import HIDDEN_FAILED, HIDDEN_PASSED, PLACEHOLDER, ScrubHiddenTests, hidden_lines, scrub

SOURCE = """from autograder import check_x
check_x(f, seed=1)
### BEGIN HIDDEN TESTS
check_x(f, seed=2026, count=12)
### END HIDDEN TESTS
"""
GRADER = "/tmp/backproplab-grade-abc/batch/w-xyz/autograder/contract.py"


def _evidence(seed):
    return nbformat.v4.new_output("display_data", data={EVIDENCE_MIME: {"check": "x", "params": {"seed": seed},
                                                                        "records": [1.5]}, "text/plain": ""})


def _stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _error(message, traceback):
    return nbformat.v4.new_output("error", ename="AssertionError", evalue=message, traceback=traceback)


def _scrubbed(outputs, source=SOURCE):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = outputs
    cell, _ = ScrubHiddenTests().preprocess_cell(cell, {}, 0)
    return cell.outputs


def _everything(outputs):
    return json.dumps(outputs)


def test_hidden_lines_are_the_ones_between_the_markers():
    assert hidden_lines(SOURCE) == ["check_x(f, seed=2026, count=12)"]


def test_scrub_replaces_quoting_lines_and_markers_even_with_colours():
    traceback = "Cell In[4], line 4\n\x1b[0;32m----> 4\x1b[0m check_x(f, seed\x1b[39m=\x1b[39m2026, count=12)"
    assert "seed=2026" not in scrub(traceback.replace("\x1b[39m", ""), hidden_lines(SOURCE))
    assert scrub("      3 ### BEGIN HIDDEN TESTS", []) == PLACEHOLDER
    assert scrub("nothing hidden here", hidden_lines(SOURCE)) == "nothing hidden here"


def test_a_passing_hidden_test_leaves_one_line_and_the_visible_output():
    outputs = _scrubbed([_evidence(1), _stream("OK x: 3 cases agree (seed 1).\n"),
                         _evidence(2026), _stream("OK x: 12 cases agree (seed 2026).\n")])
    assert [o.get("text") for o in outputs] == ["OK x: 3 cases agree (seed 1).\n", HIDDEN_PASSED + "\n"]
    assert "2026" not in _everything(outputs) and EVIDENCE_MIME not in _everything(outputs)


def test_a_failing_hidden_test_says_so_without_its_inputs_or_seed():
    outputs = _scrubbed([
        _evidence(1), _stream("OK x: 3 cases agree (seed 1).\n"), _evidence(2026),
        _error("x is wrong on rosenbrock at the random point #0 (seed 2026).",
               ["Cell In[4], line 4", "      3 ### BEGIN HIDDEN TESTS", "----> 4 check_x(f, seed=2026, count=12)",
                f"File {GRADER}:12", "AssertionError: x is wrong on rosenbrock at the random point #0 (seed 2026)."])])
    assert outputs[0]["text"] == "OK x: 3 cases agree (seed 1).\n"
    assert outputs[-1]["output_type"] == "error" and outputs[-1]["evalue"] == HIDDEN_FAILED
    text = _everything(outputs)
    for leak in ("2026", "rosenbrock", "HIDDEN TESTS", "/tmp/", EVIDENCE_MIME):
        assert leak not in text, leak


def test_a_failing_visible_test_keeps_its_message_but_no_marker_or_path():
    outputs = _scrubbed([_evidence(1), _error("x is wrong on the case (seed 1).", [
        "----> 2 check_x(f, seed=1)", "      3 ### BEGIN HIDDEN TESTS", f"File {GRADER}:12 in run"])])
    assert len(outputs) == 1 and outputs[0]["evalue"] == "x is wrong on the case (seed 1)."
    assert outputs[0]["traceback"] == ["----> 2 check_x(f, seed=1)", PLACEHOLDER, "File contract.py:12 in run"]


def test_without_evidence_every_output_of_a_hidden_cell_is_replaced():
    outputs = _scrubbed([_stream("OK x (seed 1)\n"), _error("x is wrong (seed 2026)", ["boom"])])
    assert [o["output_type"] for o in outputs] == ["error"] and outputs[0]["evalue"] == HIDDEN_FAILED
    assert [o["text"] for o in _scrubbed([_stream("OK x (seed 2026)\n")])] == [HIDDEN_PASSED + "\n"]


def test_other_cells_lose_evidence_and_paths_but_keep_their_output():
    outputs = _scrubbed([_evidence(1), _stream(f"{GRADER}:3: RuntimeWarning: overflow\nhello\n")],
                        source="print('hello')")
    assert [o["text"] for o in outputs] == ["contract.py:3: RuntimeWarning: overflow\nhello\n"]
    assert feedback.short_paths("see https://example.org/a/b/c.html") == "see https://example.org/a/b/c.html"


def test_a_submission_that_could_not_be_graded_gets_a_short_page(tmp_path):
    folder = tmp_path / "verdicts" / "01-a"
    folder.mkdir(parents=True)
    (folder / "ana.json").write_text(json.dumps({"student": "ana", "status": "not graded", "max_score": 15,
                                                 "reason": "gradient_intuition.ipynb is not valid JSON <x>"}))
    (folder / "bruno.json").write_text(json.dumps({"student": "bruno", "status": "graded", "max_score": 15}))
    old = tmp_path / "feedback" / "ana" / "01-a" / "gradient_intuition.html"
    old.parent.mkdir(parents=True)
    old.write_text("feedback of an earlier grading")
    (page,) = feedback.not_graded_pages(tmp_path, "01-a")
    assert page == tmp_path / "feedback" / "ana" / "01-a" / "not-graded.html"
    text = page.read_text(encoding="utf-8")
    assert "could not be graded" in text and "is not valid JSON &lt;x&gt;" in text and "0 / 15" in text
    assert not old.exists(), "feedback of an earlier grading would contradict the page"
    assert not (tmp_path / "feedback" / "bruno").exists()


def test_the_course_configuration_scrubs_before_nbgrader_clears_hidden_tests():
    import runpy

    from traitlets.config import Config

    import harness

    config = Config()
    runpy.run_path(str(harness.ROOT / "nbgrader_config.py"), init_globals={"get_config": lambda: config})
    chain = config.GenerateFeedback.preprocessors
    assert chain.index("autograder.feedback.ScrubHiddenTests") < chain.index("autograder.feedback.ClearHiddenTests")


def test_the_exporters_configuration_is_taken_without_a_warning(caplog):
    import logging

    from nbconvert.exporters import HTMLExporter
    from nbgrader.preprocessors import ClearHiddenTests

    log = logging.getLogger("feedback-config")

    def warned(cls):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="feedback-config"):
            cls(config=HTMLExporter().default_config, log=log)
        return [r.getMessage() for r in caplog.records if "not recognized" in r.getMessage()]

    assert warned(ClearHiddenTests), "nbgrader's own preprocessor warns (what this guards against)"
    assert warned(feedback.ScrubHiddenTests) == [] and warned(feedback.ClearHiddenTests) == []


def test_the_feedback_command_writes_the_pages_of_ungraded_submissions_alone(tmp_path):
    folder = tmp_path / "verdicts" / "01-a"
    folder.mkdir(parents=True)
    (folder / "ana.json").write_text(json.dumps({"student": "ana", "status": "not graded", "max_score": 15,
                                                 "reason": "the kernel died (exit or crash)"}))
    said = []
    assert feedback.generate(tmp_path, "01-a", book=None, log=said.append) is None
    assert (tmp_path / "feedback" / "ana" / "01-a" / "not-graded.html").is_file()
    assert said == ["01-a: feedback for 0 graded submissions, 1 not-graded pages, in feedback/STUDENT/01-a/"]
