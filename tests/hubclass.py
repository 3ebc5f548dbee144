"""A class on the course's JupyterHub, on this machine: for tests/test_hub.py and bench/hub_class.py.

:class:`HubClass` makes what a class on one machine has: Linux users (an
instructor and students) in the two Unix groups the hub admits, passwords for
PAM, the instructor's course directory (in their home, owned by them), and an
exchange folder; then it starts the hub with the course's own command,
``python3 run.py hub``, on free ports of 127.0.0.1, with an API token for
scripts. It talks to the hub as the class would:

- the hub's REST API: users, a token per user, starting each user's server;
- each user's JupyterLab through the hub's proxy, with that user's token: the
  contents API (open and save a notebook) and nbgrader's assignment list API
  (``/assignments``, ``/assignments/fetch``, ``submit``, ``fetch_feedback``);
- the instructor's commands (nbgrader's, ``run.py grade``), run as the
  instructor's Linux user in their course directory.

:meth:`HubClass.stop` stops the hub (which stops every server it started and
its proxy) and returns the processes of the class's users still alive;
:meth:`HubClass.remove` deletes the users, groups and folders. Linux only, as root.
"""

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COURSE_ID = "backprop"
URLS = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, never a proxy


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_prefix():
    """A prefix for this run's user and group names: tests of other runs may share the machine."""
    return "bp" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(5)) + "-"


def processes_of(uids):
    """{pid: (uid, command line)} of the live processes owned by any of ``uids``.

    A zombie is not live: it has exited and holds nothing but its pid until its parent (or, for an
    orphan, the machine's init, which need not reap at once) collects its status.
    """
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in Path(f"/proc/{entry}/status").read_text().splitlines()
                          if ":" in line)
            uid = int(status["Uid"].split()[0])
            if uid in uids and status["State"].split()[0] not in ("Z", "X"):
                found[int(entry)] = (uid, Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, KeyError, IndexError, ValueError):
            continue
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class HubError(RuntimeError):
    pass


class HubClass:
    """An instructor and ``students`` (short names) on a hub of their own; see the module's docstring."""

    def __init__(self, students, instructor="teacher", assignment="01-gradient-intuition", log=print):
        if not sys.platform.startswith("linux") or os.geteuid() != 0:
            raise HubError("a class on the hub needs Linux and root (it creates users and starts the hub)")
        self.prefix = unique_prefix()
        self.students = {name: self.prefix + name for name in students}
        self.instructor = self.prefix + instructor
        self.assignment = assignment
        self.log = log
        self.groups = {"students": self.prefix + "students", "instructors": self.prefix + "instructors"}
        self.passwords = {}
        self.tokens = {}
        self.created_users, self.created_groups = [], []
        self.scratch = Path(tempfile.mkdtemp(prefix="backproplab-hub-"))  # root's: state, logs
        os.chmod(self.scratch, 0o700)
        self.shared = Path(tempfile.mkdtemp(prefix="backproplab-hub-shared-"))  # the exchange's parent
        os.chmod(self.shared, 0o755)
        self.exchange = self.shared / "exchange"
        self.state = self.scratch / "state"
        self.hub_log = self.scratch / "hub.log"
        self.admin_token = secrets.token_hex(24)
        self.process = None
        self.url = None
        self.opened_folders = {}  # folders made enterable for the users: {path: old mode}

    # -- users ---------------------------------------------------------------------

    def _run(self, *command):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise HubError(f"`{' '.join(command)}` failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def create_users(self):
        for group in self.groups.values():
            self._run("groupadd", group)
            self.created_groups.append(group)
        everyone = [(self.instructor, self.groups["instructors"])] + [
            (user, self.groups["students"]) for user in self.students.values()]
        for user, group in everyone:
            self._run("useradd", "--create-home", "--shell", "/bin/bash", "--groups", group, user)
            self.created_users.append(user)
            os.chmod(pwd.getpwnam(user).pw_dir, 0o700)
            self.passwords[user] = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input="".join(f"{u}:{p}\n" for u, p in self.passwords.items()),
                       text=True, check=True, capture_output=True)

    def uids(self):
        return {pwd.getpwnam(user).pw_uid for user in self.created_users}

    def open_checkout(self):
        """Let the users enter the folders above the checkout and its Python; undone by remove().

        Their servers and the instructor's commands run from the checkout's
        .venv, whose interpreter may live in a folder only root enters (a
        pyenv Python under /root, as on this project's machines). Only the
        right to pass through (o+x) is added, never to list or read.
        """
        interpreter = Path(os.path.realpath(sys.executable))
        for start in (ROOT, interpreter.parent, Path(sys.base_prefix)):
            for folder in [start, *start.parents]:
                mode = os.stat(folder).st_mode
                if not mode & 0o001 and folder not in self.opened_folders:
                    self.opened_folders[folder] = mode & 0o7777
                    os.chmod(folder, (mode & 0o7777) | 0o001)

    # -- the instructor's course directory and commands ---------------------------------

    @property
    def home(self):
        return self.home_of(self.instructor)

    @staticmethod
    def home_of(user):
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course(self):
        return self.home / "backproplab"

    def make_course_dir(self):
        """The instructor's course directory: the course's config, the assignment's master and release."""
        course = self.course
        course.mkdir()
        shutil.copy2(ROOT / "nbgrader_config.py", course)
        for folder in ("source", "course"):
            shutil.copytree(ROOT / folder / self.assignment, course / folder / self.assignment)
        self.chown_to_instructor(course)
        return course

    def chown_to_instructor(self, path):
        entry = pwd.getpwnam(self.instructor)
        for folder, dirs, files in os.walk(path):
            for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                os.chown(name, entry.pw_uid, entry.pw_gid)

    def instructor_env(self):
        """The environment of the instructor's terminal in their JupyterLab on the hub."""
        env = {"HOME": str(self.home), "USER": self.instructor, "LOGNAME": self.instructor,
               "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
               "LANG": "C.UTF-8", "BACKPROPLAB_EXCHANGE": str(self.exchange),
               "BACKPROPLAB_COURSE_DIR": str(self.course),
               "JUPYTER_CONFIG_PATH": os.pathsep.join([str(ROOT / "jupyter" / "hub-instructor"),
                                                       str(ROOT / "jupyter" / "instructor")]),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        return env

    def as_instructor(self, *command, check=True, timeout=900):
        """Run ``command`` as the instructor's Linux user in their course directory."""
        entry = pwd.getpwnam(self.instructor)
        done = subprocess.run(list(command), cwd=self.course, env=self.instructor_env(), user=entry.pw_uid,
                              group=entry.pw_gid, extra_groups=[], capture_output=True, text=True,
                              timeout=timeout)
        if check and done.returncode != 0:
            raise HubError(f"`{' '.join(map(str, command))}` as {self.instructor} failed "
                           f"({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def nbgrader(self, *args, check=True):
        return self.as_instructor(str(Path(sys.executable).parent / "nbgrader"), *args, check=check)

    def run_py(self, *args, check=True):
        """``python3 run.py ARGS --root COURSE`` (the course's own command) as the instructor."""
        return self.as_instructor(sys.executable, str(ROOT / "run.py"), *args, "--root", str(self.course),
                                  check=check)

    # -- the hub ---------------------------------------------------------------------

    def start(self, timeout=120):
        """``python3 run.py hub`` on free ports, with this class's groups, exchange and API token."""
        port, hub_port, api_port = free_port(), free_port(), free_port()
        env = dict(os.environ, BACKPROPLAB_HUB_STATE=str(self.state), BACKPROPLAB_EXCHANGE=str(self.exchange),
                   BACKPROPLAB_STUDENTS=self.groups["students"], BACKPROPLAB_INSTRUCTORS=self.groups["instructors"],
                   BACKPROPLAB_COURSE_DIR=str(self.course), BACKPROPLAB_HUB_API_TOKEN=self.admin_token,
                   PYTHONUNBUFFERED="1")
        command = [sys.executable, str(ROOT / "run.py"), "hub", f"--port={port}",
                   f"--JupyterHub.hub_port={hub_port}",
                   f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}"]
        with open(self.hub_log, "w") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise HubError(f"the hub exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                self.api("GET", "/hub/api/")
                return self.url
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise HubError(f"no answer from the hub in {timeout} s:\n{self.log_tail()}")
                time.sleep(0.3)

    def log_tail(self, chars=6000):
        try:
            return self.hub_log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def request(self, method, path, token, body=None, form=None, timeout=300):
        """(status, parsed JSON or text) of an HTTP request to the hub's public URL with ``token``."""
        headers = {"Authorization": f"token {token}"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with URLS.open(request, timeout=timeout) as response:
            text = response.read().decode("utf-8", "replace")
            try:
                return response.status, json.loads(text) if text else None
            except ValueError:
                return response.status, text

    def api(self, method, path, body=None, token=None):
        return self.request(method, path, token or self.admin_token, body=body)[1]

    def add_user(self, user):
        """The hub user ``user`` (a Linux user of this class) and a token of their own."""
        try:
            self.api("POST", f"/hub/api/users/{user}")
        except urllib.error.HTTPError as error:
            if error.code != 409:  # 409: exists already
                raise
        token = self.api("POST", f"/hub/api/users/{user}/tokens", {"expires_in": 7200, "note": "class rehearsal"})
        self.tokens[user] = token["token"]
        return self.tokens[user]

    def spawn(self, user, timeout=180):
        """Start ``user``'s JupyterLab through the hub with the user's own token; wait until it serves."""
        token = self.tokens.get(user) or self.add_user(user)
        try:
            self.request("POST", f"/hub/api/users/{user}/server", token)
        except urllib.error.HTTPError as error:
            if error.code != 400:  # 400: already running
                raise
        deadline = time.monotonic() + timeout
        while True:
            model = self.api("GET", f"/hub/api/users/{user}", token=token)
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return server
            if time.monotonic() > deadline:
                raise HubError(f"{user}'s server did not start in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def server(self, user, method, path, body=None, form=None):
        """A request to ``user``'s own JupyterLab (``/user/USER/PATH``) with the user's token."""
        return self.request(method, f"/user/{user}/{path.lstrip('/')}", self.tokens[user], body=body, form=form)[1]

    # -- the student's side: the contents API and nbgrader's assignment list ------------------

    def assignments(self, user):
        reply = self.server(user, "GET", f"assignments?course_id={COURSE_ID}")
        if not reply["success"]:
            raise HubError(f"{user}: listing the assignments failed: {reply['value']}")
        return reply["value"]

    def action(self, user, action, assignment=None):
        """POST assignments/ACTION (fetch, submit, fetch_feedback); returns nbgrader's reply."""
        return self.server(user, "POST", f"assignments/{action}",
                           form={"course_id": COURSE_ID, "assignment_id": assignment or self.assignment})

    def notebook_path(self, notebook="gradient_intuition.ipynb"):
        return f"{self.assignment}/{notebook}"

    def read_notebook(self, user, path=None):
        return self.server(user, "GET", f"api/contents/{path or self.notebook_path()}?content=1")["content"]

    def save_notebook(self, user, nb, path=None):
        self.server(user, "PUT", f"api/contents/{path or self.notebook_path()}",
                    body={"type": "notebook", "format": "json", "content": nb})

    # -- the end ---------------------------------------------------------------------------

    def stop(self, timeout=90):
        """Stop the hub (SIGTERM to run.py, which hands it on); return the class's processes still alive."""
        proxy_pid = self.proxy_pid()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        leftovers = self.lingering() if self.created_users else {}
        if self.process is not None and self.process.poll() is None:
            leftovers[self.process.pid] = (0, "python3 run.py hub (did not exit)")
        if proxy_pid and alive(proxy_pid):
            leftovers[proxy_pid] = (0, "configurable-http-proxy (still running)")
        return leftovers

    def lingering(self, grace=10):
        """The class's processes still alive ``grace`` seconds after the hub has gone, or none earlier.

        A process that the hub's stop has signalled may still be exiting when the hub is gone (its command
        line already empty): it is not left behind unless it outlives the grace.
        """
        deadline = time.monotonic() + grace
        while (found := processes_of(self.uids())) and time.monotonic() < deadline:
            time.sleep(0.25)
        return found

    def proxy_pid(self):
        try:
            return int((self.state / "proxy.pid").read_text())
        except (OSError, ValueError):
            return None

    def remove(self):
        """Kill whatever of the class is left (by pid), delete its users, groups and folders."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        proxy_pid = self.proxy_pid()
        if proxy_pid and alive(proxy_pid):
            os.kill(proxy_pid, signal.SIGKILL)
        for _ in range(3):
            leftovers = processes_of(self.uids()) if self.created_users else {}
            for pid in leftovers:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not leftovers:
                break
            time.sleep(0.5)
        for user in self.created_users:
            subprocess.run(["userdel", "--remove", user], capture_output=True)
        for group in self.created_groups:
            subprocess.run(["groupdel", group], capture_output=True)
        self.created_users, self.created_groups = [], []
        for folder, mode in self.opened_folders.items():
            os.chmod(folder, mode)
        self.opened_folders = {}
        shutil.rmtree(self.scratch, ignore_errors=True)
        shutil.rmtree(self.shared, ignore_errors=True)


# -- the answer key: what a student fills in, and what it earns ------------------------------

def answer_key(assignment):
    """The master's graded exercises in notebook order.

    A list of ("solution", grade_id, code without the BEGIN/END SOLUTION lines)
    and ("test", grade_id, points) entries, from source/ASSIGNMENT's master.
    """
    import harness

    key = []
    for cell in harness.load(harness.master(assignment))["cells"]:
        meta = harness.nbgrader_meta(cell)
        if cell["cell_type"] != "code":
            continue
        if meta.get("solution"):
            lines = [line for line in harness.source_text(cell).splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line]
            key.append(("solution", meta["grade_id"], "\n".join(lines)))
        elif meta.get("grade"):
            key.append(("test", meta["grade_id"], float(meta["points"])))
    return key


def tested_by(key):
    """{test grade_id: the solution cell right above it}: the exercise a test cell checks."""
    found, last = {}, None
    for kind, grade_id, _ in key:
        if kind == "solution":
            last = grade_id
        else:
            found[grade_id] = last
    return found


def expected_score(key, filled):
    """The points a notebook earns with the solution cells ``filled`` answered and the others as released."""
    exercise = tested_by(key)
    return sum(points for kind, grade_id, points in key if kind == "test" and exercise[grade_id] in filled)


def first_half(key):
    """The solution cells before the exercise of the middle test cell: about half of the points."""
    tests = [grade_id for kind, grade_id, _ in key if kind == "test"]
    stop = tested_by(key)[tests[len(tests) // 2]]
    solutions = [grade_id for kind, grade_id, _ in key if kind == "solution"]
    return set(solutions[:solutions.index(stop)])


def fill(nb, key, which):
    """``nb`` with the solution cells named in ``which`` replaced by the answer key's code."""
    answers = {grade_id: text for kind, grade_id, text in key if kind == "solution" and grade_id in which}
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return nb
