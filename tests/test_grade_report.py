"""What a batch reports: time-limit flags, one line per submission or a progress bar, a summary, the exit status."""

import io
import json

import nbformat
import pytest

import harness
from autograder import grade

SETTINGS = grade.Settings(cell_timeout=60, notebook_timeout=600)


def _result(student, status, reason="", flags=()):
    return {"student": student, "assignment": "a1", "status": status, "reason": reason, "score": 1.0,
            "max_score": 2.0, "flags": list(flags), "grading_seconds": 3.25}


def test_a_cell_stopped_at_its_time_limit_is_flagged_with_where_and_why():
    status = {"timed_out": [{"index": 8, "grade_id": "central_difference_test", "limit": 60, "which": "cell"},
                            {"index": 80, "grade_id": None, "limit": 60, "which": "cell"}], "stopped": None}
    flags, reasons = grade.time_limits(status, SETTINGS)
    assert flags == ["time limit: cell central_difference_test was stopped after 60 s",
                     "time limit: cell 81 was stopped after 60 s"]
    assert reasons == {"central_difference_test": "this test cell was stopped at its time limit (60 s)"}


def test_a_run_stopped_early_says_which_cells_did_not_run():
    deaf = {"timed_out": [{"index": 8, "grade_id": "central_difference_test", "limit": 60, "which": "cell"}],
            "stopped": {"index": 8, "grade_id": "central_difference_test", "why": "deaf"}}
    flags, _ = grade.time_limits(deaf, SETTINGS)
    assert "time limit: cell central_difference_test ignored the interrupt at its time limit; " \
           "the cells after it did not run" in flags
    late = {"timed_out": [], "stopped": {"index": 17, "grade_id": None, "why": "notebook"}}
    flags, reasons = grade.time_limits(late, SETTINGS)
    assert flags == ["time limit: the notebook's 600 s ran out before cell 18; it and the cells after it did not run"]
    assert reasons == {}


def test_the_summary_counts_and_names_what_was_not_graded_and_flagged():
    results = [_result("ana", "graded"), _result("bob", "not graded", "the kernel died (exit or crash)"),
               _result("eve", "graded", flags=["time limit: cell 3 was stopped after 60 s"]),
               _result("joe", "not graded", "the notebook is not valid JSON")]
    line = grade.summary("a1", results, 75)
    assert line == ("a1: 2 graded, 2 not graded: bob (the kernel died (exit or crash)); "
                    "joe (the notebook is not valid JSON); 1 flagged: eve; in 01:15")


def test_without_a_terminal_each_submission_is_one_line_with_the_count_and_the_time_left():
    lines = []
    progress = grade.Progress(3, "a1", lines.append, bar=False)
    for student in ("ana", "bob"):
        progress(grade._line(_result(student, "graded")))
    progress.close()
    assert len(lines) == 2
    assert lines[0].startswith("[1/3, ") and " left] a1 ana: graded, 1/2 [3.2 s]" in lines[0]
    assert lines[1].startswith("[2/3, ") and "about " in lines[1]


def test_on_a_terminal_a_progress_bar_shows_the_time_left():
    lines, screen = [], io.StringIO()
    progress = grade.Progress(2, "a1", lines.append, bar=True, file=screen)
    progress(grade._line(_result("ana", "graded")))
    progress(grade._line(_result("bob", "graded")))
    progress.close()
    shown = screen.getvalue()
    assert "a1: 2/2 |" in shown and " left" in shown and "elapsed" in shown
    assert lines == ["a1 ana: graded, 1/2 [3.2 s]", "a1 bob: graded, 1/2 [3.2 s]"]


def test_a_batch_that_cannot_start_exits_2_and_says_why(tmp_path, capsys):
    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text((harness.ROOT / "nbgrader_config.py").read_text())
    (course / "source" / "02-chain-rule").mkdir(parents=True)
    harness.submit(course, "ana", "01-gradient-intuition", harness.master("01-gradient-intuition"))
    # neither in the gradebook nor in source/, so it cannot be registered
    assert grade.main(["autograde", "01-gradient-intuition", "--root", str(course)]) == 2
    err = capsys.readouterr().err
    assert "no assignment '01-gradient-intuition' in source/" in err and "02-chain-rule" in err
    assert not (course / "verdicts").exists()


def test_metadata_checks_compile_the_schema_once_and_still_reject_corrupt_metadata():
    import copy

    from nbgrader.nbgraderformat import MetadataValidator, ValidationError, common

    nb = nbformat.from_dict(harness.load(harness.master("05-softmax-cross-entropy")))
    corrupt = copy.deepcopy(nb)
    graded = next(c for c in corrupt.cells if c.metadata.get("nbgrader", {}).get("grade"))
    graded.metadata.nbgrader["points"] = "lots"
    plain = common.jsonschema
    with grade._nbgrader_metadata_checks():
        MetadataValidator().validate_nb(nb)
        MetadataValidator().validate_nb(nb)
        assert len(grade._schema_once().validators) == 1
        with pytest.raises(ValidationError, match="'lots' is not of type 'number'"):
            MetadataValidator().validate_nb(corrupt)
    assert common.jsonschema is plain


def test_the_workers_gradebook_is_stamped_with_nbgraders_head_revision_without_a_process(tmp_path, monkeypatch):
    import sqlite3

    from nbgrader import api

    assert grade.alembic_head() == api.get_alembic_version()  # nbgrader's own answer, from `alembic heads`
    course = harness.make_course_dir(tmp_path / "course", only=["01-gradient-intuition"])
    book = grade.gradebook(course)
    monkeypatch.setattr("subprocess.Popen", None)  # no process may start
    data = grade.masters_gradebook(book, "01-gradient-intuition", tmp_path)
    assert api.get_alembic_version is not grade.alembic_head, "nbgrader's function is put back"
    copy = tmp_path / "copy.db"
    copy.write_bytes(data)
    with sqlite3.connect(copy) as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [(grade.alembic_head(),)]
        assert db.execute("select count(*) from grade_cells").fetchone()[0] > 0
