"""Batches that hold up: killed midway and run again, every student is graded exactly once; regrading agrees."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import harness
from autograder import grade

pytestmark = pytest.mark.slow
ASSIGNMENT = "01-gradient-intuition"
STUDENTS = ["s1", "s2", "s3"]


def _records(course):
    folder = course / "verdicts" / ASSIGNMENT
    return {p.stem: json.loads(p.read_text()) for p in folder.glob("*.json")} if folder.is_dir() else {}


def test_a_killed_batch_resumes_and_grades_each_student_once(tmp_path):
    course = harness.make_course_dir(tmp_path / "course", only=[ASSIGNMENT])
    for student in STUDENTS:
        harness.submit(course, student, ASSIGNMENT, harness.master(ASSIGNMENT))
    child = subprocess.Popen([sys.executable, "-m", "autograder.grade", "autograde", ASSIGNMENT, "--root",
                              str(course), "--workers", "1"], cwd=course, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not _records(course) and time.time() < deadline and child.poll() is None:
        time.sleep(0.5)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    first = _records(course)
    assert 1 <= len(first) < len(STUDENTS), "the batch was to be killed midway"

    again = grade.autograde(course, ASSIGNMENT, settings=grade.Settings(workers=2), log=lambda *_: None)
    assert sorted(r["student"] for r in again) == sorted(set(STUDENTS) - set(first))
    final = _records(course)
    assert sorted(final) == STUDENTS
    for student, record in first.items():
        assert final[student]["graded_at"] == record["graded_at"], "graded twice"
    scores = harness.scores(course, ASSIGNMENT)
    assert {s: scores[s][0] for s in STUDENTS} == {s: final[s]["score"] for s in STUDENTS}
    assert all(final[s]["score"] == final[s]["max_score"] > 0 for s in STUDENTS)

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    api = NbGraderAPI(coursedir=CourseDirectory(root=str(course)))
    assert api.get_autograded_students(ASSIGNMENT) == set(STUDENTS), "the formgrader must see them as autograded"

    regraded = grade.autograde(course, ASSIGNMENT, pattern="s1", force=True, settings=grade.Settings(workers=1),
                               log=lambda *_: None)
    assert [r["student"] for r in regraded] == ["s1"]
    assert regraded[0]["cells"] == final["s1"]["cells"], "grading the same submission twice disagrees"
    assert harness.scores(course, ASSIGNMENT)["s1"][0] == final["s1"]["score"]
