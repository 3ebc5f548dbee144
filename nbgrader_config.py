"""nbgrader configuration of the backpropagation course.

The repository is the course directory: instructor masters in source/, the
student release in course/, executed answer keys in solutions/ (both made by
`python3 run.py build`, never edited by hand).
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "backprop"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.solution_directory = "solutions"

# Execution: a generous per-cell limit for the answer keys and for grading;
# no timing records, so executed notebooks do not change from run to run.
c.Execute.timeout = 120
c.Execute.record_timing = False

# What a student sees in place of a solution.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Deleted test cells are put back (with their points) instead of vanishing.
c.OverwriteCells.add_missing_cells = True

# Feedback never shows hidden tests, neither in the cells nor in tracebacks.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.ScrubHiddenTests",
    "autograder.feedback.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# zip_collect: how the learning platform names downloaded submissions.
# Choose with BACKPROPLAB_LMS=canvas (default) or moodle; each pattern gives
# nbgrader the student id and the notebook's name (tests/test_collect.py).
LMS_FILE_PATTERNS = {
    # lastfirst_12345_67890_gradient_intuition.ipynb, _LATE_ when late, -1 when re-uploaded
    "canvas": r".*/(?P<last_name>[^/_]+)(?:_LATE)?_(?P<student_id>\d+)_\d+_(?P<file_id>[^/]+?)(?:-\d+)?\.ipynb$",
    # Ana Souza_123456_assignsubmission_file_/gradient_intuition.ipynb (a folder per student),
    # or the older flat form Ana Souza_123456_assignsubmission_file_gradient_intuition.ipynb
    "moodle": r".*/(?P<first_name>[^/_]+)_(?P<student_id>\d+)_assignsubmission_file_/?(?P<file_id>[^/]+?)\.ipynb$",
}
c.FileNameCollectorPlugin.named_regexp = LMS_FILE_PATTERNS[os.environ.get("BACKPROPLAB_LMS", "canvas")]
# nbgrader's collector, plus a warning for each file the platform marked late (_LATE_).
c.ZipCollectApp.collector_plugin = "autograder.collect.LmsCollector"
