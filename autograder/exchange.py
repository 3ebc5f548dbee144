"""nbgrader's file-system exchange, with a clear message for a submission that was never fetched.

Set in the hub profiles (jupyter/hub-student/nbgrader_config.py):
``c.ExchangeFactory.submit = "autograder.exchange.ExchangeSubmit"``.
"""

import os

from nbgrader.exchange.default import ExchangeSubmit as _ExchangeSubmit


class ExchangeSubmit(_ExchangeSubmit):
    """nbgrader's submit; without a fetched copy it tells the student to fetch first.

    nbgrader alone answers "Assignment not found at: /home/ana/01-..." (in the
    Assignments tab, at the end of a traceback).
    """

    def init_src(self):
        assignment = self.coursedir.assignment_id
        folder = os.path.abspath(os.path.join(self.assignment_dir, self.coursedir.course_id, assignment)
                                 if self.path_includes_course else os.path.join(self.assignment_dir, assignment))
        if not os.path.isdir(folder):
            self.fail(f"You have not fetched {assignment}, so there is nothing to submit: {folder} does not "
                      f"exist. Fetch it first (Assignments tab, Released assignments, Fetch; or "
                      f"`nbgrader fetch_assignment {assignment}`), work on the notebooks in that folder, "
                      f"then submit.")
        super().init_src()
