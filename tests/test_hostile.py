"""Grading holds up: hostile and broken submissions get their intended outcome, the batch always finishes.

The corpus and its table of intended outcomes are in tests/hostile.py.
"""

import json
import socket
import sqlite3

import pytest

import harness
import hostile
from autograder import grade

pytestmark = pytest.mark.slow
# Cell limit: 300 forks of a kernel take 10 s on a busy 2-core machine (load 8), more with two at once. A
# notebook out of time runs once: the runs again (Settings.retries) are tested in test_dask_grading.py.
SETTINGS = grade.Settings(cell_timeout=40, notebook_timeout=240, workers=2, retries=0)
# The cases that loop until a limit stops them are graded first, in a batch of their own with a shorter cell
# limit (they burn a core until it): the honest cells of notebook 01 take at most a few seconds even on a busy
# machine, and the notebook's limit lets the infinite loop's four test cells each reach the cell limit.
LOOP_SETTINGS = grade.Settings(cell_timeout=15, notebook_timeout=150, workers=2, retries=0)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    harness.require_binary("bwrap", "bubblewrap")  # the sandbox (Debian's bubblewrap)
    course = harness.make_course_dir(tmp_path_factory.mktemp("hostile") / "course", only=[hostile.ASSIGNMENT])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    context = {"root": str(course), "port": listener.getsockname()[1]}
    master = harness.master(hostile.ASSIGNMENT)
    results = []
    for loops, settings in ((True, LOOP_SETTINGS), (False, SETTINGS)):
        for case in (c for c in hostile.CASES if c.loops == loops):
            folder = course / "submitted" / case.student / hostile.ASSIGNMENT
            folder.mkdir(parents=True)
            made = case.make(harness.load(master), context)
            if made is None:
                continue
            if not isinstance(made, bytes) and case.student != "honest":  # one full run; the others draw no figures
                made = hostile.quick(made)
            data = made if isinstance(made, bytes) else json.dumps(made, indent=1).encode()
            (folder / (case.file_name or master.name)).write_bytes(data)
        results += grade.autograde(course, hostile.ASSIGNMENT, settings=settings, log=lambda *_: None)
    listener.close()
    records = {r["student"]: r for r in results}
    return course, records


@pytest.mark.parametrize("case", hostile.CASES, ids=[c.student for c in hostile.CASES])
def test_each_submission_gets_its_intended_outcome(batch, case):
    course, records = batch
    record = records[case.student]
    assert record["status"] == case.status, (record["reason"], record.get("log", "")[-1500:])
    for grade_id, cell in record["cells"].items():
        assert cell["passed"] == case.earns(grade_id), (grade_id, cell["reasons"])
    if case.status == "graded":
        assert record["cells"] and record["score"] == sum(c["points"] for c in record["cells"].values())
    else:
        assert record["score"] == 0
    if case.status == "not graded":
        assert record["reason"], "a submission that could not be graded says why"
    assert case.reason.lower() in record["reason"].lower(), record["reason"]
    for flag in case.flags:
        assert any(flag in given for given in record["flags"]), (flag, record["flags"])
    if case.why is not None:
        reasons = record["cells"]["central_difference_test"]["reasons"]
        assert any(case.why in reason for reason in reasons), reasons
    if case.output is not None:
        graded = harness.autograded(course, case.student, hostile.ASSIGNMENT)
        text = json.dumps(graded)
        assert case.output in text, f"expected {case.output!r} in the graded notebook"


def test_every_student_is_recorded_once_and_exported(batch, tmp_path):
    course, records = batch
    assert sorted(records) == sorted(c.student for c in hostile.CASES)
    rows = grade.export(course, tmp_path / "grades.csv", assignments=[hostile.ASSIGNMENT])
    assert sorted(r["student"] for r in rows) == sorted(records)
    by_student = {r["student"]: r for r in rows}
    assert by_student["wrong"]["status"] == "graded"
    assert float(by_student["wrong"]["score"]) == records["wrong"]["score"] < records["wrong"]["max_score"]
    assert by_student["broken_json"]["status"] == "not graded" and by_student["broken_json"]["reason"]
    for student, record in records.items():  # the grading time of each submission, in its record and its row
        assert float(by_student[student]["grading_seconds"]) == record["grading_seconds"] >= 0, student
        assert record["status"] != "graded" or record["grading_seconds"] > 1, student  # a kernel ran


def test_the_gradebook_stays_consistent(batch):
    course, records = batch
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    scores = harness.scores(course, hostile.ASSIGNMENT)
    for student, record in records.items():
        assert scores[student][0] == record["score"], student


def test_the_isolation_is_recorded(batch):
    _, records = batch
    for record in records.values():
        isolation = record["isolation"]
        assert isolation, record["student"]
        if "sandbox" in isolation:
            assert record["status"] == "not graded"
        elif isolation.get("namespaces"):
            assert isolation["network"].startswith("none")
        else:
            assert "graded without full isolation" in record["flags"]


def test_a_second_run_grades_nothing_again(batch):
    course, records = batch
    assert grade.autograde(course, hostile.ASSIGNMENT, settings=SETTINGS, log=lambda *_: None) == []


def test_feedback_shows_the_score_and_no_hidden_test(batch):
    course, records = batch
    done = harness.nbgrader(["generate_feedback", hostile.ASSIGNMENT, "--student", "wrong", "--force"], course)
    (page,) = (course / "feedback" / "wrong" / hostile.ASSIGNMENT).glob("*.html")
    html = page.read_text(encoding="utf-8")
    master = harness.load(harness.master(hostile.ASSIGNMENT))
    from autograder.feedback import hidden_lines

    hidden = [line for source in harness.graded_test_cells(master).values() for line in hidden_lines(source)]
    assert hidden, "the master has hidden tests"
    import html as html_module

    text = html_module.unescape(html)
    for line in hidden:
        assert line not in text, f"feedback quotes a hidden test: {line}"
    assert f"{records['wrong']['score']:g} / {records['wrong']['max_score']:g}" in text.replace(".0 /", " /"), done.stderr[-500:]


def test_a_finite_difference_backward_is_graded_zero_for_that_exercise_only(tmp_path):
    course = harness.make_course_dir(tmp_path / "course", only=[hostile.ASSIGNMENT_03])
    master = harness.master(hostile.ASSIGNMENT_03)
    harness.submit(course, "honest", hostile.ASSIGNMENT_03, master)
    harness.submit(course, "fd_backward", hostile.ASSIGNMENT_03, master, edit=lambda nb: hostile.fd_backward(nb, {}))
    slow_machine = grade.Settings(workers=2)  # the default limits: the honest network trains within them
    records = {r["student"]: r for r in grade.autograde(course, hostile.ASSIGNMENT_03, settings=slow_machine,
                                                        log=lambda *_: None)}
    assert records["honest"]["score"] == records["honest"]["max_score"] > 0
    cells = records["fd_backward"]["cells"]
    assert records["fd_backward"]["status"] == "graded"
    assert not cells["backward_test"]["passed"]
    assert "numerical approximation" in " ".join(cells["backward_test"]["reasons"])
    # the network of the notebook is trained by the student's own backward, which this one makes far too slow
    # to finish within the cell's time limit: the trained model's points go too, and nothing else
    failed = {gid for gid, c in cells.items() if not c["passed"]}
    assert failed <= {"backward_test", "trained_mlp_test"}, cells
