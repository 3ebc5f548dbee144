"""A real database: autograde and export with the gradebook on a PostgreSQL server on 127.0.0.1.

The server is Debian's PostgreSQL (the ``postgres_server`` fixture of
conftest.py), installed with apt-get where it is missing (under CI=true this
test must run; elsewhere it is skipped with the reason).
"""

import csv
import shutil

import pytest

import harness
from autograder import grade

pytestmark = pytest.mark.slow
ASSIGNMENT = "01-gradient-intuition"


@pytest.fixture
def postgres(postgres_server):
    return postgres_server.database()


def test_autograde_and_export_with_a_postgresql_gradebook(postgres, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(harness.ROOT / "nbgrader_config.py", course)
    shutil.copytree(harness.SOURCE, course / "source")
    db = [f"--CourseDirectory.db_url={postgres}"]
    harness.nbgrader(["generate_assignment", ASSIGNMENT, "--force", *db], course)
    harness.submit(course, "ana", ASSIGNMENT, harness.master(ASSIGNMENT))
    (release,) = harness.notebooks(course / "course" / ASSIGNMENT)
    harness.submit(course, "bruno", ASSIGNMENT, release)

    results = {r["student"]: r for r in grade.autograde(course, ASSIGNMENT, db_url=postgres, log=lambda *_: None)}
    assert results["ana"]["score"] == results["ana"]["max_score"] > 0
    assert results["bruno"]["status"] == "graded" and results["bruno"]["score"] == 0

    from nbgrader.api import Gradebook

    with Gradebook(postgres) as gb:
        scores = {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)}
    assert scores == {"ana": results["ana"]["score"], "bruno": 0.0}
    assert not (course / "gradebook.db").exists(), "nothing went to a SQLite file"

    harness.nbgrader(["export", "--to", str(tmp_path / "nbgrader.csv"), *db], course)
    with open(tmp_path / "nbgrader.csv") as f:
        exported = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f)}
    assert exported == scores
    rows = grade.export(course, tmp_path / "grades.csv", db_url=postgres)
    assert {r["student"]: float(r["score"]) for r in rows} == scores
