"""JupyterHub for a class of the course on one machine: `sudo python3 run.py hub`.

- The hub listens on 127.0.0.1 only (port 8000; `run.py hub --port N` changes
  it). Put a TLS proxy (nginx, Caddy) in front of it to open it to a class.
- People log in with their own Linux account and password (PAM). Only
  members of two Unix groups may log in: BACKPROPLAB_STUDENTS (default
  ``backprop-students``) and BACKPROPLAB_INSTRUCTORS (default
  ``backprop-instructors``).
- Each user's JupyterLab runs as that Linux user (LocalProcessSpawner), from
  the course's environment (this checkout's .venv), in their home folder.
  nbgrader's exchange knows a student by that user name.
- Students get the profile jupyter/hub-student/: the Assignments tab (fetch,
  validate, submit, fetch feedback) and the Validate button, no formgrader.
- Instructors get jupyter/hub-instructor/ on top of jupyter/instructor/: the
  formgrader and nbgrader's commands on their course directory
  (BACKPROPLAB_COURSE_DIR, default ``~/backproplab``, a clone of the
  repository that the instructor owns).
- The exchange is BACKPROPLAB_EXCHANGE (default /srv/nbgrader/exchange),
  which `run.py hub` creates with the permissions nbgrader documents.

The hub's own state (its database, cookie secret, logs) is in
BACKPROPLAB_HUB_STATE (default .hub/ in the checkout, readable by root only).
docs/hub.md explains the whole class: who runs what, as which user.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository checkout the hub runs from
PROFILES = ROOT / "jupyter"
BIN = Path(sys.executable).parent  # the course's environment, in which the hub runs too
STATE = Path(os.environ.get("BACKPROPLAB_HUB_STATE") or ROOT / ".hub")
EXCHANGE = os.environ.get("BACKPROPLAB_EXCHANGE") or "/srv/nbgrader/exchange"
STUDENTS = os.environ.get("BACKPROPLAB_STUDENTS") or "backprop-students"
INSTRUCTORS = os.environ.get("BACKPROPLAB_INSTRUCTORS") or "backprop-instructors"
COURSE_DIR = os.environ.get("BACKPROPLAB_COURSE_DIR") or "~/backproplab"  # expanded in the instructor's server
PROXY = os.environ.get("BACKPROPLAB_HUB_PROXY") or "configurable-http-proxy"  # run.py installs it with npm ci

c = get_config()  # noqa: F821 (provided by JupyterHub)

# -- the hub and its proxy, on 127.0.0.1 ------------------------------------------
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = 8000
c.JupyterHub.hub_ip = "127.0.0.1"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:8001"
c.ConfigurableHTTPProxy.command = [PROXY]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "proxy.pid")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
# Stopping the hub stops every server it started, and the proxy.
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# -- who may log in: local accounts in the two groups -----------------------------------
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.allowed_groups = {STUDENTS, INSTRUCTORS}


def is_instructor(name):
    """Whether the Linux user ``name`` is in the instructors' group (primary or supplementary)."""
    import grp
    import pwd

    try:
        gid = grp.getgrnam(INSTRUCTORS).gr_gid
        return gid in os.getgrouplist(name, pwd.getpwnam(name).pw_gid)
    except KeyError:  # no such group or user
        return False


def profile(spawner):
    """JUPYTER_CONFIG_PATH of a user's server: it outranks the environment's own settings."""
    if is_instructor(spawner.user.name):
        return os.pathsep.join([str(PROFILES / "hub-instructor"), str(PROFILES / "instructor")])
    return str(PROFILES / "hub-student")


# -- each user's JupyterLab: a local process as that user --------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(BIN / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": profile,
    "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
    "BACKPROPLAB_EXCHANGE": EXCHANGE,
    "BACKPROPLAB_COURSE_DIR": COURSE_DIR,
    # one BLAS thread per kernel: a class shares the machine's cores
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
# a class logging in at once on a small machine: give each server time to start
c.Spawner.start_timeout = 180
c.Spawner.http_timeout = 180

# -- an API token for scripts (tests/test_hub.py, bench/hub_class.py), only when asked for --
if os.environ.get("BACKPROPLAB_HUB_API_TOKEN"):
    c.JupyterHub.services = [{"name": "class-admin", "api_token": os.environ["BACKPROPLAB_HUB_API_TOKEN"]}]
    c.JupyterHub.load_roles = [{"name": "admin", "services": ["class-admin"]}]
