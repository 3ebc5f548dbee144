"""nbgrader settings of a student's JupyterLab on the course's hub (jupyter/hub/jupyterhub_config.py).

The Assignments tab fetches into ~/ASSIGNMENT/ and submits from there to the
exchange, as the student's own Linux user.
"""

import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "backprop"  # as in the course's nbgrader_config.py
c.Exchange.root = os.environ.get("BACKPROPLAB_EXCHANGE") or "/srv/nbgrader/exchange"
# Submitting an assignment that was never fetched says so, and what to do.
c.ExchangeFactory.submit = "autograder.exchange.ExchangeSubmit"
# Fetching again (after an updated release, or to get back a deleted file) adds the files that are
# missing and keeps every file the student has; nbgrader alone refuses ("You already have a copy").
c.ExchangeFetchAssignment.replace_missing_files = True
