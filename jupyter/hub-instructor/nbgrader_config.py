"""nbgrader settings of an instructor's JupyterLab on the course's hub (jupyter/hub/jupyterhub_config.py).

The instructor's course directory is a clone of the repository that the
instructor owns (BACKPROPLAB_COURSE_DIR, default ~/backproplab); nbgrader also
reads that clone's own nbgrader_config.py. The formgrader, `nbgrader
release_assignment`, `collect` and `release_feedback` and `run.py grade` work
there, as the instructor's Linux user.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.root = os.path.expanduser(os.environ.get("BACKPROPLAB_COURSE_DIR") or "~/backproplab")
c.CourseDirectory.course_id = "backprop"  # as in the course's nbgrader_config.py
c.Exchange.root = os.environ.get("BACKPROPLAB_EXCHANGE") or "/srv/nbgrader/exchange"
c.ExchangeFactory.submit = "autograder.exchange.ExchangeSubmit"
# Fetching again (after an updated release, or to get back a deleted file) adds the files that are
# missing and keeps every file the student has; nbgrader alone refuses ("You already have a copy").
c.ExchangeFetchAssignment.replace_missing_files = True
