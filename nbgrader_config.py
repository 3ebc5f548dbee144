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

# Feedback never shows hidden tests.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
