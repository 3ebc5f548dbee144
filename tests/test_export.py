"""Exports from the gradebook, against golden files: every enrolled student, manual grades, lateness, layouts.

The gradebook is made with nbgrader's API (no notebook runs): two assignments,
three students. ana submitted both, on time, and has a manual grade on one
cell and a flag; bruno submitted the first one late and it could not be
graded; carla is enrolled and submitted nothing. The golden files in
tests/golden/ are what the instructor gets, byte for byte.
"""

import datetime
import json
from pathlib import Path

import pytest

from autograder import grade

GOLDEN = Path(__file__).parent / "golden"
FIRST, SECOND = "01-first", "02-second"


@pytest.fixture
def course(tmp_path):
    return make_course(tmp_path)


def make_course(tmp_path):
    from nbgrader.api import Gradebook

    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'backprop'\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, course_id="backprop") as gb:
        gb.add_assignment(FIRST, duedate=datetime.datetime(2026, 11, 20, 12, 0))
        gb.add_notebook("first", FIRST)
        gb.add_grade_cell("t1", "first", FIRST, max_score=2, cell_type="code")
        gb.add_grade_cell("t2", "first", FIRST, max_score=3, cell_type="code")
        gb.add_solution_cell("answer", "first", FIRST)
        gb.add_assignment(SECOND)
        gb.add_notebook("second", SECOND)
        gb.add_grade_cell("u1", "second", SECOND, max_score=5, cell_type="code")
        gb.add_student("ana", first_name="Ana", last_name="Souza", email="ana@uni.example")
        gb.add_student("bruno")
        gb.add_student("carla", first_name="Carla", last_name="Lima")

        gb.add_submission(FIRST, "ana", timestamp="2026-11-20 10:00:00 UTC")
        for cell, auto in (("t1", 2.0), ("t2", 1.0)):
            gb.find_grade(cell, "first", FIRST, "ana").auto_score = auto
        gb.find_grade("t2", "first", FIRST, "ana").manual_score = 2.5  # given in the formgrader
        gb.add_submission(SECOND, "ana", timestamp="2026-11-27 09:00:00 UTC")
        gb.find_grade("u1", "second", SECOND, "ana").auto_score = 5.0
        gb.add_submission(FIRST, "bruno", timestamp="2026-11-21 13:30:00 UTC")
        for cell in ("t1", "t2"):
            gb.find_grade(cell, "first", FIRST, "bruno").auto_score = 0.0
        gb.db.commit()
    records = {
        (FIRST, "ana"): {"status": "graded", "reason": "", "flags": ["patched numpy"], "grading_seconds": 14.25,
                         "graded_at": "2026-11-22T08:00:00+00:00"},
        (FIRST, "bruno"): {"status": "not graded", "reason": "first.ipynb is not valid JSON", "flags": [],
                           "grading_seconds": 0.5, "graded_at": "2026-11-22T08:01:00+00:00"},
        (SECOND, "ana"): {"status": "graded", "reason": "", "flags": [], "graded_at": "2026-11-28T08:00:00+00:00"},
    }
    for (assignment, student), record in records.items():
        path = grade.record_path(tmp_path, assignment, student)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("layout,assignments,golden", [
    ("long", None, "long.csv"),
    ("long", [FIRST], "long-first.csv"),
    ("wide", None, "wide.csv"),
    ("canvas", None, "canvas.csv"),
    ("moodle", None, "moodle.csv"),
    ("canvas", [SECOND], "canvas-second.csv"),
])
def test_exports_match_their_golden_files(course, tmp_path, layout, assignments, golden):
    out = tmp_path / "out.csv"
    grade.export(course, out, assignments=assignments, layout=layout)
    assert out.read_text(encoding="utf-8") == (GOLDEN / golden).read_text(encoding="utf-8")


def test_the_command_line_takes_assignment_layout_and_db(course, tmp_path, capsys):
    out = tmp_path / "cli.csv"
    assert grade.main(["export", "--root", str(course), "--assignment", FIRST, "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == (GOLDEN / "long-first.csv").read_text(encoding="utf-8")
    assert grade.main(["export", "--root", str(course), "--assignment", "03-none", "--out", str(out)]) == 2
    assert "not in the gradebook: 03-none (it has: 01-first, 02-second)" in capsys.readouterr().err
    assert grade.main(["export", "--root", str(course), "--db", f"sqlite:///{tmp_path / 'empty.db'}",
                       "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").splitlines()[1:] == []


def test_lms_user_ids_of_the_roster_take_the_place_of_the_student_id_in_the_lms_layouts(course, tmp_path):
    """On a hub the student id is a user name; the roster's lms_user_id is what Canvas and Moodle match on."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="backprop") as gb:
        gb.update_or_create_student("ana", lms_user_id="4711")
    rows = {}
    for layout in ("canvas", "moodle", "long"):
        out = tmp_path / f"{layout}.csv"
        grade.export(course, out, layout=layout)
        rows[layout] = out.read_text(encoding="utf-8").splitlines()
    assert '"Souza, Ana",4711,,,,4.5,5' in rows["canvas"]
    assert "bruno,bruno,,,,0," in rows["canvas"]  # no lms_user_id: the student id, as before
    assert "Ana,Souza,4711,ana@uni.example,4.5,5" in rows["moodle"]
    assert rows["long"] == (GOLDEN / "long.csv").read_text(encoding="utf-8").splitlines()  # long: unchanged
