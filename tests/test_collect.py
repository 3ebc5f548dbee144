"""Collecting from a learning platform: Canvas and Moodle download names, and a real zip_collect."""

import os
import runpy
import shutil
import subprocess
import sys
import zipfile

import pytest
from traitlets.config import Config

import harness

PATTERNS = runpy.run_path(str(harness.ROOT / "nbgrader_config.py"),
                          init_globals={"get_config": Config})["LMS_FILE_PATTERNS"]

NAMES = [
    ("canvas", "/d/souzaana_4711_990_gradient_intuition.ipynb", "4711", "gradient_intuition"),
    ("canvas", "/d/souzaana_LATE_4711_990_gradient_intuition.ipynb", "4711", "gradient_intuition"),
    ("canvas", "/d/souzaana_4711_991_gradient_intuition-1.ipynb", "4711", "gradient_intuition"),
    ("moodle", "/d/Ana Souza_123456_assignsubmission_file_/gradient_intuition.ipynb", "123456", "gradient_intuition"),
    ("moodle", "/d/Ana Souza_123456_assignsubmission_file_gradient_intuition.ipynb", "123456", "gradient_intuition"),
]


@pytest.mark.parametrize("lms,path,student,file_id", NAMES)
def test_download_names_give_student_and_notebook(lms, path, student, file_id):
    import re

    match = re.match(PATTERNS[lms], path)
    assert match, path
    assert match.group("student_id") == student and match.group("file_id") == file_id


@pytest.mark.parametrize("lms", sorted(PATTERNS))
def test_other_files_are_not_taken_for_submissions(lms):
    import re

    for path in ["/d/gradient_intuition.ipynb", "/d/readme.txt", "/d/notes_gradient_intuition.ipynb"]:
        assert not re.match(PATTERNS[lms], path), path


@pytest.mark.slow
@pytest.mark.parametrize("lms,inner", [("canvas", "souzaana_4711_990_gradient_intuition.ipynb"),
                                       ("moodle", "Ana Souza_123456_assignsubmission_file_/gradient_intuition.ipynb")])
def test_zip_collect_places_the_submission(tmp_path, lms, inner):
    assignment = "01-gradient-intuition"
    course = harness.make_course_dir(tmp_path / "course", only=[assignment])
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        z.write(harness.master(assignment), inner)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
                           f"--CourseDirectory.root={course}"], cwd=course, capture_output=True, text=True,
                          env={**os.environ, "BACKPROPLAB_LMS": lms})
    assert done.returncode == 0, done.stderr[-2000:]
    student = "4711" if lms == "canvas" else "123456"
    placed = course / "submitted" / student / assignment / "gradient_intuition.ipynb"
    assert placed.is_file(), done.stderr[-2000:]
    assert placed.read_bytes() == harness.master(assignment).read_bytes()


@pytest.mark.slow
def test_zip_collect_reports_a_file_canvas_marked_late(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy2(harness.ROOT / "nbgrader_config.py", course)
    assignment = "01-gradient-intuition"
    shutil.copytree(harness.COURSE / assignment, course / "course" / assignment)
    archive = course / "downloaded" / assignment / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "submissions.zip", "w") as z:
        z.write(harness.master(assignment), "souzaana_LATE_4711_990_gradient_intuition.ipynb")
        z.write(harness.master(assignment), "limacarla_4712_991_gradient_intuition.ipynb")
    done = subprocess.run([sys.executable, "-m", "nbgrader", "zip_collect", assignment, "--force",
                           f"--CourseDirectory.root={course}"], cwd=course, capture_output=True, text=True,
                          env={**os.environ, "BACKPROPLAB_LMS": "canvas"})
    assert done.returncode == 0, done.stderr[-2000:]
    late = [line for line in done.stderr.splitlines() if "Late submission" in line]
    assert len(late) == 1 and "4711" in late[0] and "_LATE_" in late[0], done.stderr[-2000:]
    for student in ("4711", "4712"):
        assert (course / "submitted" / student / assignment / "gradient_intuition.ipynb").is_file()


def test_import_places_one_notebook_per_student_with_its_time(tmp_path):
    from autograder.collect import import_folder

    assignment = "01-gradient-intuition"
    course = tmp_path / "course"
    shutil.copytree(harness.SOURCE / assignment, course / "source" / assignment)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    master = harness.master(assignment).read_bytes()
    (downloads / "4711.ipynb").write_bytes(master)
    (downloads / "ana.souza@uni.example.ipynb").write_bytes(b"not even JSON")
    (downloads / "notes.txt").write_text("x")
    (downloads / "bad id.ipynb").write_text("{}")
    os.utime(downloads / "4711.ipynb", (1795424400, 1795424400))  # 2026-11-23 09:00:00 UTC
    said = []
    done = import_folder(course, assignment, downloads, log=said.append)
    assert done == {"4711": "imported", "ana.souza@uni.example": "imported"}
    target = course / "submitted" / "4711" / assignment
    assert (target / "gradient_intuition.ipynb").read_bytes() == master
    assert (target / "timestamp.txt").read_text() == "2026-11-23 09:00:00.000000 UTC"
    assert any("notes.txt" in line and "not a notebook" in line for line in said)
    assert any("bad id.ipynb" in line and "not a student id" in line for line in said)
    assert said[-1].startswith(f"{assignment}: 2 imported, 0 unchanged, 0 skipped")

    (downloads / "4711.ipynb").write_text("{}")
    assert import_folder(course, assignment, downloads, log=said.append)["4711"] == "skipped"
    assert (target / "gradient_intuition.ipynb").read_bytes() == master, "nothing replaced without --force"
    assert import_folder(course, assignment, downloads, force=True, log=said.append)["4711"] == "imported"
    assert (target / "gradient_intuition.ipynb").read_text() == "{}"
    with pytest.raises(ValueError, match="no assignment 'nope' in source/"):
        import_folder(course, "nope", downloads)
