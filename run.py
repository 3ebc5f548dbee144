"""Entry point of the course: `python3 run.py lab` or `python3 run.py test`.

Standard library only, so that it runs from a fresh clone with nothing but
Python 3.11, 3.12 or 3.13 (on Windows: `py -3.13 run.py lab`). It keeps a
virtual environment in .venv/ made with the Python that runs it (made anew
when that Python's version changes), installs the pinned packages of
pyproject.toml into it when they changed, and runs JupyterLab, pytest or the
build from there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, NamedTuple

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
COURSE = ROOT / "course"
WORK = ROOT / "work"
PROFILES = ROOT / "jupyter"  # Jupyter configuration folders: student/, instructor/ and hub*/, data folder data/
HUB = PROFILES / "hub"  # the JupyterHub configuration and its proxy's package.json
HUB_PROXY = VENV / "hub-proxy"  # configurable-http-proxy, installed there by `npm ci`
HUB_STATE = ROOT / ".hub"  # the hub's database, cookie secret and pid files (root only)
EXCHANGE = "/srv/nbgrader/exchange"  # nbgrader's default exchange
STAMP = VENV / "backproplab-install.json"
LOG = VENV / "backproplab-install.log"
PIP = "pip==25.3"
PYTHONS = ((3, 11), (3, 12), (3, 13))  # keep equal to requires-python in pyproject.toml
NOTEBOOK_01 = "01-gradient-intuition/gradient_intuition.ipynb"
SYNC_RECORD = ".course-release.json"  # in work/: hash of each file as released
SKIP = {"__pycache__", ".ipynb_checkpoints"}
PACKAGES = ("backproplab", "autograder")  # the course's own packages, in the checkout
# pyproject.toml's test extra holds the packages of these extras too (tests/test_environment.py checks it)
EXTRAS_WITHIN = {"test": ("hub", "postgres")}


def say(message: str) -> None:
    print("[run.py] " + message, flush=True)


# -- Python version ----------------------------------------------------------

def python_version_problem(version_info, executable: str) -> str | None:
    """Return why this interpreter cannot be used, or None if it is one of PYTHONS."""
    if tuple(version_info[:2]) in PYTHONS:
        return None
    came = ".".join(str(part) for part in version_info[:3])
    names = ["%d.%d" % v for v in PYTHONS]
    newest = names[-1]
    return (
        "run.py needs Python %s or %s; it was started with Python %s (%s).\n"
        "Install Python %s (from https://www.python.org/downloads/, with "
        "`brew install python@%s` on macOS, or with your Linux package manager or pyenv),\n"
        "then run `python%s run.py ...` (Linux, macOS) or `py -%s run.py ...` (Windows)."
        % (", ".join(names[:-1]), newest, came, executable, newest, newest, newest, newest)
    )


# -- the virtual environment -------------------------------------------------

def venv_python() -> Path:
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def venv_environ() -> dict:
    """os.environ with the venv's bin/ (Scripts\\ on Windows) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(venv_python().parent) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(VENV)
    env.pop("PYTHONHOME", None)
    return env


def venv_python_version() -> tuple | None:
    """(major, minor) of the Python that made .venv/, from its pyvenv.cfg; None if unknown."""
    try:
        lines = (VENV / "pyvenv.cfg").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            parts = value.strip().split(".")
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                return int(parts[0]), int(parts[1])
    return None


def install_hash() -> str:
    """What the installed environment depends on: pyproject.toml, pip, Python, packages."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes())
    digest.update(("%s %d.%d" % (PIP, *sys.version_info[:2])).encode())
    # An editable install maps the top-level packages that existed when it ran.
    digest.update(" ".join(sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))).encode())
    return digest.hexdigest()


def read_stamp() -> dict:
    """What the last successful install was: {"hash": ..., "extras": [...]}."""
    try:
        return json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def pip(args: List[str], log) -> None:
    cmd = [str(venv_python()), "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    result = subprocess.run(cmd, cwd=ROOT, env=venv_environ(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    log.write("$ " + " ".join(cmd) + "\n" + result.stdout + "\n")
    if result.returncode != 0:
        tail = result.stdout.strip().splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        sys.exit("[run.py] pip failed (exit %d): %s\nFull log: %s"
                 % (result.returncode, " ".join(args), LOG))


def compile_environment(log) -> None:
    """Byte-compile the environment's packages on every core: pip compiles an install file by file on one
    (about a minute of the install here), so it installs with --no-compile and this follows. As with pip,
    a file that does not compile (a package's test data) is only logged."""
    where = subprocess.run([str(venv_python()), "-c", "import sysconfig; p = sysconfig.get_paths(); "
                            "print(p['purelib']); print(p['platlib'])"],
                           stdout=subprocess.PIPE, text=True, check=True).stdout.split("\n")
    cmd = [str(venv_python()), "-m", "compileall", "-q", "-j", "0", *sorted({w for w in where if w})]
    result = subprocess.run(cmd, cwd=ROOT, env=venv_environ(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    log.write("$ " + " ".join(cmd) + "\n" + result.stdout + "\n")


def compile_checkout() -> None:
    """Byte-compile the course's own packages where they are (backproplab/, autograder/), and again what
    changed since: a graded kernel runs as another user, with PYTHONDONTWRITEBYTECODE, and cannot write
    their bytecode, so it compiled every one of them it imports at each start (0.08 to 0.13 s of CPU for
    notebooks 01, 03 and 05). A checkout this user cannot write is left as it is."""
    subprocess.run([str(venv_python()), "-m", "compileall", "-q", *PACKAGES], cwd=ROOT, env=venv_environ(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ensure_environment(extras: List[str] = ()) -> Path:
    """Create .venv/ if needed and install the project when pyproject.toml changed."""
    problem = python_version_problem(sys.version_info, sys.executable)
    if problem:
        sys.exit(problem)
    made_with, running = venv_python_version(), tuple(sys.version_info[:2])
    if venv_python().exists() and made_with not in (None, running):
        say("the environment in %s was made with Python %d.%d; making it anew with Python %d.%d"
            % (VENV, *made_with, *running))
        STAMP.unlink(missing_ok=True)
        shutil.rmtree(VENV)
    if not venv_python().exists():
        say("creating the environment in %s" % VENV)
        result = subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace")
        if result.returncode != 0:
            print(result.stdout, file=sys.stderr)
            sys.exit("[run.py] could not create the environment (on Debian/Ubuntu: "
                     "`apt install python3-venv`, or python3.%d-venv)" % sys.version_info[1])
    stamp = read_stamp()
    installed = set(stamp.get("extras", []))
    covered = installed.union(*(EXTRAS_WITHIN.get(extra, ()) for extra in installed))
    if stamp.get("hash") == install_hash() and set(extras) <= covered:
        compile_checkout()
        return VENV
    extras = sorted(set(extras) | installed)  # keep the extras installed before
    target = ".[%s]" % ",".join(extras) if extras else "."
    say("installing %s (about a minute the first time)" % (
        "the course and its test tools" if extras else "the course"))
    STAMP.unlink(missing_ok=True)
    with open(LOG, "w", encoding="utf-8") as log:
        pip(["install", PIP], log)
        pip(["install", "--no-compile", "-e", target], log)
        compile_environment(log)
    compile_checkout()
    STAMP.write_text(json.dumps({"hash": install_hash(), "extras": extras}), encoding="utf-8")
    say("environment ready")
    return VENV


def lab_environ(profile: str) -> dict:
    """venv_environ() with the profile jupyter/<profile> in force and BLAS on one thread.

    JUPYTER_CONFIG_PATH outranks every other configuration folder, the
    environment's too, where nbgrader turns all its extensions on. JUPYTER_PATH
    puts the course's kernelspec (jupyter/data/kernels/python3) before any
    other "python3": the environment's Python, drawing figures inline even when
    the shell sets MPLBACKEND (to a headless server's Agg, say).
    """
    env = venv_environ()
    paths = [str(PROFILES / profile), env.get("JUPYTER_CONFIG_PATH", "")]
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in paths if p)
    paths = [str(PROFILES / "data"), env.get("JUPYTER_PATH", "")]
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


STOP_SIGNALS = [getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)]
STOP_GRACE = 30.0  # seconds a child has to end after SIGTERM before it is killed


def run_child(cmd: List[str], env: dict | None = None) -> int:
    """Run cmd with the venv on PATH until it ends; return its exit status.

    Ctrl-C goes to the child (it is in the terminal's process group), which
    decides. SIGTERM or SIGHUP to run.py becomes SIGTERM to the child, which
    is how JupyterLab shuts down cleanly, its kernels with it (SIGHUP would
    end it at once and leave its kernels); a child still running STOP_GRACE
    seconds later is killed. run.py then exits with 128 + the signal's number.
    """
    child = subprocess.Popen(cmd, cwd=ROOT, env=env or venv_environ())
    received: List[int] = []

    def stop(signum, frame):
        if not received:
            say("%s received: stopping %s" % (signal.Signals(signum).name, Path(cmd[0]).name))
        received.append(signum)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        deadline = None
        while True:
            try:
                status = child.wait(timeout=0.5)
                break
            except KeyboardInterrupt:
                continue
            except subprocess.TimeoutExpired:
                if received and deadline is None:
                    deadline = time.monotonic() + STOP_GRACE
                if deadline is not None and time.monotonic() > deadline:
                    child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 + received[0] if received else status


# -- the student's work folder -----------------------------------------------

class SyncResult(NamedTuple):
    added: List[str]  # copied from course/ into work/ (paths relative to both)
    kept: List[str]   # released anew in course/; the student's copy in work/ was kept


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sync_work(course_dir: Path, work_dir: Path) -> SyncResult:
    """Copy into work_dir every file of course_dir that it lacks; never overwrite.

    work_dir/.course-release.json records the hash of each file as it was
    released when copied, so that a later change in course_dir is told apart
    from the student's own edits.
    """
    course_dir, work_dir = Path(course_dir), Path(work_dir)
    record_path = work_dir / SYNC_RECORD
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    old_record = dict(record)
    added, kept = [], []
    for src in sorted(course_dir.rglob("*")):
        rel = src.relative_to(course_dir)
        if not src.is_file() or any(p in SKIP or p.startswith(".") for p in rel.parts):
            continue
        key, dst, released = rel.as_posix(), work_dir / rel, _sha256(src)
        if not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            record[key] = released
            added.append(key)
        elif record.get(key) != released:
            if _sha256(dst) == released:
                record[key] = released
            else:
                kept.append(key)
                record.setdefault(key, released)  # without a record: report once
    if record != old_record:
        work_dir.mkdir(parents=True, exist_ok=True)
        record_path.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
    return SyncResult(added, kept)


def report_sync(result: SyncResult) -> None:
    for key in result.added:
        say("added work/%s" % key)
    for key in result.kept:
        say("course/%s has a new release; your copy work/%s was kept.\n"
            "         To start from the new release, rename or delete your copy "
            "and run this command again." % (key, key))


# -- JupyterHub ----------------------------------------------------------------

def install_hub_proxy() -> Path:
    """configurable-http-proxy, pinned in jupyter/hub/package-lock.json, installed with `npm ci`.

    It goes to .venv/hub-proxy/ and is installed again only when the lock file changed.
    Returns the path of its executable.
    """
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        sys.exit("[run.py] the hub's proxy (configurable-http-proxy) needs Node.js and npm: install them "
                 "(Debian/Ubuntu: `apt-get install nodejs npm`) and run this command again")
    lock = (HUB / "package-lock.json").read_bytes()
    stamp = HUB_PROXY / "installed-lock.sha256"
    binary = HUB_PROXY / "node_modules" / ".bin" / "configurable-http-proxy"
    digest = hashlib.sha256(lock).hexdigest()
    if binary.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == digest:
        return binary
    say("installing configurable-http-proxy with npm ci into %s" % HUB_PROXY)
    HUB_PROXY.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HUB / name, HUB_PROXY / name)
    done = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=HUB_PROXY,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    if done.returncode != 0 or not binary.exists():
        print(done.stdout[-3000:], file=sys.stderr)
        sys.exit("[run.py] `npm ci` of configurable-http-proxy failed (exit %d) in %s"
                 % (done.returncode, HUB_PROXY))
    stamp.write_text(digest, encoding="utf-8")
    return binary


def unreachable_for_others(path: Path) -> List[str]:
    """The folders above ``path`` (itself included) that other users cannot enter."""
    return [str(folder) for folder in [path, *path.parents] if not os.stat(folder).st_mode & 0o001]


def prepare_exchange(folder: Path) -> None:
    """The exchange folder as nbgrader documents it: writable by everyone (plus the sticky bit).

    nbgrader's release_assignment checks for mode 777 and then makes, as the
    instructor, backprop/outbound (755) and backprop/inbound (2733: students
    write, cannot list). The sticky bit, which nbgrader's check ignores, keeps
    a student from renaming or removing the instructor's course folder.
    """
    if not folder.exists():
        say("creating the exchange %s (mode 1777)" % folder)
        folder.mkdir(parents=True)
        os.chmod(folder, 0o1777)
    elif os.stat(folder).st_mode & 0o777 != 0o777:
        sys.exit("[run.py] the exchange %s must be writable by everyone (nbgrader's rule): "
                 "`chmod 1777 %s`" % (folder, folder))


def missing_groups(env: dict) -> List[tuple]:
    """(role, group) of the hub's two Unix groups that do not exist here."""
    import grp

    missing = []
    for role, variable, default in (("a student", "BACKPROPLAB_STUDENTS", "backprop-students"),
                                    ("an instructor", "BACKPROPLAB_INSTRUCTORS", "backprop-instructors")):
        name = env.get(variable) or default  # as jupyter/hub/jupyterhub_config.py reads them
        try:
            grp.getgrnam(name)
        except KeyError:
            missing.append((role, name))
    return missing


def hub_environ(proxy: Path) -> dict:
    env = venv_environ()
    env["BACKPROPLAB_HUB_PROXY"] = str(proxy)
    env.setdefault("BACKPROPLAB_HUB_STATE", str(HUB_STATE))
    env.setdefault("BACKPROPLAB_EXCHANGE", EXCHANGE)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


# -- the commands --------------------------------------------------------------

def cmd_lab(args: List[str]) -> int:
    ensure_environment()
    report_sync(sync_work(COURSE, WORK))
    cmd = [str(venv_python()), "-m", "jupyterlab", "--ServerApp.root_dir=%s" % WORK]
    if (WORK / NOTEBOOK_01).exists():
        cmd.append("--LabApp.default_url=/lab/tree/%s" % NOTEBOOK_01)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    say("starting JupyterLab in %s (stop it with Ctrl-C)" % WORK)
    return run_child(cmd + args, lab_environ("student"))


def cmd_instructor(args: List[str]) -> int:
    ensure_environment()
    cmd = [str(venv_python()), "-m", "jupyterlab", "--ServerApp.root_dir=%s" % ROOT]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    say("starting JupyterLab with the formgrader in %s (stop it with Ctrl-C)" % ROOT)
    return run_child(cmd + args, lab_environ("instructor"))


def cmd_hub(args: List[str]) -> int:
    if os.name == "nt" or not hasattr(os, "geteuid"):
        sys.exit("[run.py] the hub runs on Linux (its users are the machine's accounts)")
    if os.geteuid() != 0:
        sys.exit("[run.py] the hub starts each user's JupyterLab as that Linux user and checks "
                 "passwords with PAM, which needs root: `sudo python3 run.py hub`")
    ensure_environment(["hub"])
    proxy = install_hub_proxy()
    env = hub_environ(proxy)
    interpreter = Path(os.path.realpath(venv_python()))  # a venv's python is a link to its base Python
    blocked = sorted(set(unreachable_for_others(VENV) + unreachable_for_others(interpreter.parent)))
    if blocked:
        sys.exit("[run.py] the users' servers run from %s (Python %s), but other users cannot enter "
                 "%s: `chmod o+x` them, or put the checkout and Python where everyone can read them "
                 "(e.g. /opt, /usr/local)" % (VENV, interpreter, ", ".join(blocked)))
    prepare_exchange(Path(env["BACKPROPLAB_EXCHANGE"]))
    for role, name in missing_groups(env):
        say("no Unix group %s: nobody can log in as %s until `groupadd %s` and `usermod -aG %s USER`"
            % (name, role, name, name))
    state = Path(env["BACKPROPLAB_HUB_STATE"])
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    cmd = [str(venv_python()), "-m", "jupyterhub", "-f", str(HUB / "jupyterhub_config.py"), *args]
    say("starting JupyterHub on 127.0.0.1 (stop it with Ctrl-C; it stops every server it started)")
    say("exchange %s, state %s" % (env["BACKPROPLAB_EXCHANGE"], state))
    child = subprocess.Popen(cmd, cwd=state, env=env)
    # SIGTERM (systemd, a test) reaches the hub, which then stops its servers and proxy
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            continue


def cmd_test(args: List[str]) -> int:
    ensure_environment(["test"])
    return run_child([str(venv_python()), "-m", "pytest", *args])


def cmd_build(args: List[str]) -> int:
    ensure_environment()
    return run_child([str(venv_python()), "-m", "autograder.build", *args])


def cmd_grade(args: List[str]) -> int:
    ensure_environment()
    return run_child([str(venv_python()), "-m", "autograder.grade", *args])


def cmd_env(args: List[str]) -> int:
    print(ensure_environment())
    return 0


COMMANDS = {
    "lab": (cmd_lab, "create the environment, update work/ from course/ and open JupyterLab "
                     "at notebook 01 (further arguments go to jupyter lab)"),
    "instructor": (cmd_instructor, "open JupyterLab at the repository root with nbgrader's "
                                   "formgrader (further arguments go to jupyter lab)"),
    "hub": (cmd_hub, "as root: start JupyterHub on 127.0.0.1 for a class of local users, with "
                     "nbgrader's exchange (docs/hub.md; further arguments go to jupyterhub)"),
    "test": (cmd_test, "create the environment with the test tools and run pytest "
                       "(further arguments go to pytest)"),
    "build": (cmd_build, "regenerate course/ and solutions/ from source/ "
                         "(further arguments go to autograder.build)"),
    "grade": (cmd_grade, "grade a class: `grade register|import|autograde|feedback ASSIGNMENT`, "
                         "`grade export` (further arguments go to autograder.grade)"),
    "env": (cmd_env, "only create or update the environment in .venv/ and print its path"),
}


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="run.py", description="The backpropagation course: environment, lab, tests, build.",
        epilog="Everything after the command is passed on unchanged, "
               "e.g. `python3 run.py test -x -k numeric`.")
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    # Only the command is parsed here, so that -h and options after it reach the tool.
    command = parser.parse_args(argv[:1]).command
    return COMMANDS[command][0](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
