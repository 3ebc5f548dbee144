"""One gradebook: the one nbgrader_config.py names, for grading and export, on SQLite and on PostgreSQL.

A course as a fresh clone has it (source/, course/, no gradebook), whose
nbgrader_config.py names the gradebook. Grading registers the assignment
there; a submission the gradebook lacks is graded again without --force; a
--force regrade keeps the manual grade and the comment given in the
formgrader; ``--db`` overrides the configured gradebook.
"""

import os
import shutil

import pytest

import harness
from autograder import grade

pytestmark = pytest.mark.slow
ASSIGNMENT = "01-gradient-intuition"
QUIET = dict(log=lambda *_: None)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'elsewhere.db'}"
    return request.getfixturevalue("postgres_server").database()


def _clone(path, db_url):
    """A course directory as a clone has it, its nbgrader_config.py naming ``db_url``."""
    path.mkdir()
    config = (harness.ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    (path / "nbgrader_config.py").write_text(config + f"\nc.CourseDirectory.db_url = {db_url!r}\n",
                                            encoding="utf-8")
    shutil.copytree(harness.SOURCE / ASSIGNMENT, path / "source" / ASSIGNMENT)
    shutil.copytree(harness.COURSE / ASSIGNMENT, path / "course" / ASSIGNMENT)
    return path


def test_grading_and_export_use_the_configured_gradebook_and_keep_manual_grades(tmp_path, db_url):
    from nbgrader.api import Gradebook

    course = _clone(tmp_path / "course", db_url)
    (release,) = harness.notebooks(course / "course" / ASSIGNMENT)
    harness.submit(course, "ana", ASSIGNMENT, harness.master(ASSIGNMENT))
    harness.submit(course, "bruno", ASSIGNMENT, release)

    first = {r["student"]: r for r in grade.autograde(course, ASSIGNMENT, settings=grade.Settings(workers=2),
                                                          **QUIET)}
    assert sorted(first) == ["ana", "bruno"]
    assert not (course / "gradebook.db").exists(), "the configured gradebook, not nbgrader's default"
    with Gradebook(db_url, course_id="backprop") as gb:
        assert {s.student.id: s.score for s in gb.assignment_submissions(ASSIGNMENT)} == {
            "ana": first["ana"]["max_score"], "bruno": 0.0}
        # What the formgrader does: a manual grade on a test cell, a comment on an answer.
        gb.find_grade("gradient_descent_test", "gradient_intuition", ASSIGNMENT, "ana").manual_score = 1.0
        gb.find_comment("central_difference", "gradient_intuition", ASSIGNMENT, "ana").manual_comment = "Neat."
        gb.db.commit()
        manual_total = gb.find_submission(ASSIGNMENT, "ana").score
        assert manual_total == first["ana"]["max_score"] - 2
        gb.remove_submission(ASSIGNMENT, "bruno")  # a gradebook restored from before bruno was graded

    again = grade.autograde(course, ASSIGNMENT, **QUIET)
    assert [r["student"] for r in again] == ["bruno"], "a submission missing from the gradebook is graded"
    assert grade.autograde(course, ASSIGNMENT, **QUIET) == []

    regraded = grade.autograde(course, ASSIGNMENT, pattern="ana", force=True, **QUIET)
    assert [r["student"] for r in regraded] == ["ana"]
    with Gradebook(db_url, course_id="backprop") as gb:
        mark = gb.find_grade("gradient_descent_test", "gradient_intuition", ASSIGNMENT, "ana")
        assert (mark.manual_score, mark.auto_score) == (1.0, 3.0)
        assert gb.find_comment("central_difference", "gradient_intuition", ASSIGNMENT, "ana").manual_comment == "Neat."
        assert gb.find_submission(ASSIGNMENT, "ana").score == manual_total
        assert {s.student.id for s in gb.assignment_submissions(ASSIGNMENT)} == {"ana", "bruno"}

    rows = {r["student"]: r for r in grade.export(course, tmp_path / "grades.csv")}
    assert rows["ana"]["score"] == f"{manual_total:g}" and rows["bruno"]["score"] == "0"

    other = f"sqlite:///{tmp_path / 'other.db'}"
    grade.register(course, ASSIGNMENT, grade.gradebook(course, other), **QUIET)
    assert grade.main(["export", "--root", str(course), "--db", other, "--out", str(tmp_path / "o.csv")]) == 0
    assert (tmp_path / "o.csv").read_text(encoding="utf-8").count("\n") == 1, "--db: no student there"


def test_the_gradebook_comes_from_the_configuration_and_db_overrides_it(tmp_path):
    course = _clone(tmp_path / "course", "sqlite:////srv/grades/backprop.db")
    assert grade.gradebook(course).url == "sqlite:////srv/grades/backprop.db?timeout=60"
    assert grade.gradebook(course).course_id == "backprop"
    assert grade.gradebook(course, "postgresql+psycopg://db/x").url == "postgresql+psycopg://db/x"
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy2(harness.ROOT / "nbgrader_config.py", plain)
    assert grade.gradebook(plain).url == f"sqlite:///{plain.resolve() / 'gradebook.db'}?timeout=60"


def test_a_new_gradebook_is_stamped_without_an_alembic_process(tmp_path, monkeypatch):
    """nbgrader asks a new `alembic heads` process for the stamp of a gradebook it makes (about 3 s of CPU):
    here an `alembic` that fails comes first on every PATH, the grader's and nbgrader's."""
    import sqlite3

    from autograder import build

    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "alembic").write_text("#!/bin/sh\necho 'alembic was run' >&2\nexit 1\n")
    (fake / "alembic").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    real_env = build.isolated_env
    monkeypatch.setattr(build, "isolated_env", lambda scratch: {
        **real_env(scratch), "PATH": f"{fake}{os.pathsep}{real_env(scratch)['PATH']}"})
    course = _clone(tmp_path / "course", f"sqlite:///{tmp_path / 'new.db'}")
    assert grade.register(course, ASSIGNMENT, grade.gradebook(course), **QUIET) == ""
    with sqlite3.connect(tmp_path / "new.db") as db:
        assert db.execute("select version_num from alembic_version").fetchall() == [(grade.alembic_head(),)]
        assert db.execute("select name from assignment").fetchall() == [(ASSIGNMENT,)]


def test_registering_leaves_course_alone_and_says_when_it_is_stale(tmp_path):
    course = _clone(tmp_path / "course", f"sqlite:///{tmp_path / 'g.db'}")
    before = {p: p.read_bytes() for p in (course / "course").rglob("*") if p.is_file()}
    said = []
    assert grade.register(course, ASSIGNMENT, grade.gradebook(course), log=said.append) == ""
    assert said == [f"{ASSIGNMENT}: in the gradebook (15 points)"]
    assert {p: p.read_bytes() for p in (course / "course").rglob("*") if p.is_file()} == before
    (release,) = harness.notebooks(course / "course" / ASSIGNMENT)
    release.write_text(release.read_text(encoding="utf-8").replace("gradient", "Gradient", 1), encoding="utf-8")
    note = grade.register(course, ASSIGNMENT, grade.gradebook(course), **QUIET)
    assert "differs from what source/ releases" in note and release.name in note
    with pytest.raises(ValueError, match="no assignment 'nope' in source/"):
        grade.register(course, "nope", grade.gradebook(course), **QUIET)
