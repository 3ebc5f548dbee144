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
    course = harness.make_course_dir(tmp_path / "course")
    assignment = "01-gradient-intuition"
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
