"""Run a command with limits and as much isolation as this machine allows.

``python -m autograder.sandbox SPEC_JSON -- command ...`` applies, in order,

1. a new session (the grader kills the whole process group at the end);
2. resource limits: address space, CPU seconds, file size, processes,
   no core files (set here, inherited by everything the command starts);
3. bubblewrap (``bwrap``, Debian's ``bubblewrap``, the sandbox Flatpak relies
   on): new namespaces (``--unshare-all``: network, mounts, PIDs, IPC, UTS,
   and the user namespace when the grader is not root), ``--die-with-parent``,
   ``--new-session``, and a file system of its own that holds only the
   system's folders and the paths in ``keep`` (the Python environment, the
   course's packages), bound read-only, the ``writable`` folders, bound
   read-write, and an empty /tmp: everything else, the folders named in
   ``hide`` among them, does not exist for the command. The network is a
   loopback of its own; when the command ends, every process it left behind
   dies with its PID namespace;
4. when started as root, an unprivileged user (``nobody`` by default; the
   grader gives each concurrent submission a user of its own, since
   RLIMIT_NPROC counts the processes of a user, and does not bind root),
   taken inside the sandbox with ``setpriv``, without new privileges;
5. death with its starter: when the process that started the sandbox dies
   (a grading worker killed midway), everything in the sandbox dies too.
   bwrap dies with its parent (``--die-with-parent``, a parent-death
   signal); PID 1 of the sandbox's PID namespace is a few lines of Python
   (:data:`REAPER`) that run as the user bwrap started, so that the same
   signal reaches them when bwrap dies (the kernel would not deliver it to a
   command already switched to another user), start the command, wait for it
   (its CPU time reaches the grader) and exit with its status; when PID 1
   exits, the kernel kills every process left in the namespace. A pipe
   whose write end only the starter keeps (``lifeline``) covers the moment
   before the signals are set: at its end of file, the launcher and PID 1
   stop.

It writes what it achieved to ``report`` (JSON) and then replaces itself with
bwrap and the command. Where bwrap is missing or cannot run (no user
namespaces, as in many Kubernetes pods), or ``namespaces`` is False, what
could not be had is recorded, warned about on stderr, and the command runs
with the limits and the parent-death signal only (whatever the command
starts in a session of its own is not covered there).
:func:`isolation` tells a grading worker in advance whether it can isolate.
"""

import ctypes
import functools
import json
import os
import resource
import select
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

NOBODY = 65534
SYSTEM = ["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]  # read-only in the sandbox


@dataclass
class Limits:
    """What one submission may use. Sizes in bytes, times in seconds."""

    memory: int = 4 * 1024**3
    cpu_seconds: int = 600
    file_size: int = 64 * 1024**2
    processes: int = 256


@dataclass
class Spec:
    """Everything the launcher needs, passed as one JSON argument."""

    limits: Limits = field(default_factory=Limits)
    report: str = ""
    hide: list = field(default_factory=list)  # folders the command must not see (recorded; nothing unlisted is bound)
    keep: list = field(default_factory=list)  # paths bound read-only (the environment, the packages)
    writable: list = field(default_factory=list)  # folders bound read-write, owned by the unprivileged user
    drop_to_nobody: bool = True
    uid: int = NOBODY  # the unprivileged user (one per concurrent submission: RLIMIT_NPROC counts per user)
    namespaces: bool = True  # False: limits only (what a machine without bwrap gets)
    bwrap: str = ""  # the bwrap executable; "" looks it up on PATH
    lifeline: list = field(default_factory=list)  # [read, write] of a pipe whose write end the caller keeps open


def command(spec, argv):
    """The argv that runs ``argv`` inside the sandbox described by ``spec``."""
    # run as a file, in isolated mode: the launcher needs the standard library only, not the package's imports
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), json.dumps(asdict(spec)), "--", *argv]


# -- the steps -------------------------------------------------------------------

def outermost(folders):
    """The folders not inside another one of them."""
    folders = sorted(set(folders))
    return [f for f in folders if not any(f != o and f.startswith(o.rstrip(os.sep) + os.sep) for o in folders)]


def bwrap_argv(spec, as_root, cwd):
    """bwrap's arguments up to (not including) the command, or None without bwrap."""
    bwrap = spec.bwrap or shutil.which("bwrap")
    if not bwrap:
        return None
    if as_root:  # no user namespace: the uid is switched inside (setpriv), so that RLIMIT_NPROC binds
        unshare = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        unshare = ["--unshare-all"]
    # --as-pid-1: no reaper of its own, so that bwrap waits for the command and its CPU time counts for its
    # parent; when the command ends, the kernel kills whatever is left in its PID namespace all the same
    argv = [bwrap, *unshare, "--as-pid-1", "--die-with-parent", "--new-session"]
    for path in SYSTEM:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    writable = [os.path.realpath(p) for p in spec.writable]
    # the Python environment is always there: the sandbox's PID 1 (REAPER) runs on it
    keep = [p for p in dict.fromkeys(os.path.realpath(p) for p in [*spec.keep, sys.prefix, sys.base_prefix])
            if p not in writable]
    binds = [(p, "--ro-bind-try") for p in keep] + [(p, "--bind") for p in writable]
    # The folders above the binds are made open (bwrap would copy their modes: /root or pytest's 0700 folders)
    above = {str(parent) for path, _ in binds for parent in Path(path).parents if str(parent) != "/"}
    for folder in sorted(above - {p for p, _ in binds}, key=lambda p: (p.count(os.sep), p)):
        if not any(os.path.commonpath([folder, s]) == s for s in SYSTEM):
            argv += ["--perms", "0755", "--dir", folder]
    for path, how in sorted(binds, key=lambda b: (b[0].count(os.sep), b[0])):  # parents before children
        argv += [how, path, path]
    inside = [p for p, _ in binds if os.path.commonpath([p, cwd]) == p]
    argv += ["--chdir", cwd if inside else "/tmp"]
    return argv


def _as_user(uid):
    """setpriv's arguments that take ``uid`` with no supplementary groups and no way back."""
    return [shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
            "--clear-groups", "--no-new-privs", "--bounding-set=-all", "--"]


# PID 1 of the sandbox: SIGKILL when bwrap dies (prctl PR_SET_PDEATHSIG), the command started and waited
# for (orphans reaped meanwhile), its exit status passed on; leaving kills what is left in the namespace.
# argv[1:3]: the spec's lifeline (-1 -1 without one), whose write end only the grader keeps: at end of file
# the grader died before the signal was set.
REAPER = """import ctypes, os, select, sys
lifeline, other = int(sys.argv[1]), int(sys.argv[2])
if other >= 0:
    os.close(other)
ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)
if lifeline >= 0 and select.select([lifeline], [], [], 0)[0]:
    sys.exit(137)
child = os.fork()
if child == 0:
    try:
        if lifeline >= 0:
            os.close(lifeline)
        os.execvp(sys.argv[4], sys.argv[4:])
    finally:
        os._exit(127)
while True:
    try:
        pid, status = os.waitpid(-1, 0)
    except ChildProcessError:
        sys.exit(127)
    if pid == child:
        code = os.waitstatus_to_exitcode(status)
        sys.exit(code if code >= 0 else 128 - code)
"""


def _reaper(lifeline):
    """The argv of the sandbox's PID 1 (:data:`REAPER`, run by the environment's Python), before the command."""
    read, write = lifeline if lifeline else (-1, -1)
    return [sys.executable, "-I", "-S", "-c", REAPER, str(read), str(write), "--"]


def _die_with_parent():
    """The parent-death signal for this process (kept across exec): SIGKILL when the parent dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):  # not Linux
        pass


def _works(argv, lifeline=()):
    """Whether bwrap starts with these arguments here ('' if so, else why not)."""
    try:
        done = subprocess.run([*argv, "true"], capture_output=True, text=True, timeout=30, pass_fds=lifeline)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return "" if done.returncode == 0 else (done.stderr.strip() or f"exit status {done.returncode}")


def _limit(limits, as_nobody):
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    nproc = limits.processes
    if not as_nobody and os.geteuid() != 0:
        # RLIMIT_NPROC counts every process of this user: leave room for the ones running
        nproc += sum(1 for p in os.listdir("/proc") if p.isdigit())
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))


def _give_to(writable, uid):
    for folder in writable:
        for root, dirs, files in os.walk(folder):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(name, uid, uid, follow_symlinks=False)


def plan(spec):
    """(report, prefix): what the sandbox achieves here, and the argv to put before the command."""
    report = {"namespaces": None, "network": "shared", "hidden": [], "user": os.geteuid(),
              "limits": asdict(spec.limits), "warnings": []}
    as_root = os.geteuid() == 0
    prefix, why = [], "namespaces were not asked for"
    if spec.namespaces:
        argv = bwrap_argv(spec, as_root, os.getcwd())
        if argv is None:
            why = "bwrap is not installed (Debian: apt-get install bubblewrap)"
        else:
            argv = argv + ["--", *_reaper(spec.lifeline)]
            if as_root and spec.drop_to_nobody:
                argv = argv + _as_user(spec.uid)
            why = _works(argv, tuple(spec.lifeline))
            if not why:
                prefix = argv
    if prefix:
        report["namespaces"] = "bubblewrap"
        report["network"] = "none (own loopback only)"
        report["hidden"] = outermost(spec.hide)
        report["filesystem"] = "system folders and %s read-only, %s read-write, nothing else" % (
            ", ".join(spec.keep) or "nothing", ", ".join(spec.writable) or "nothing")
        if as_root and spec.drop_to_nobody:
            report["user"] = spec.uid
    else:
        report["warnings"].append(f"no sandbox here ({why[-300:]}): the network is reachable and "
                                  f"{', '.join(spec.hide) or 'nothing'} is readable by the submission")
    if as_root and not (prefix and spec.drop_to_nobody):
        report["warnings"].append("running as root: the process limit does not bind")
    return report, prefix


@functools.lru_cache(maxsize=None)
def isolation(bwrap=""):
    """(whether submissions started from this process get the sandbox, why not): bwrap tried once.

    A grading worker asks it before taking a submission; the answer is kept for the process.
    """
    report, _ = plan(Spec(bwrap=bwrap or shutil.which("bwrap") or ""))
    if report["namespaces"]:
        return True, ""
    return False, "; ".join(report["warnings"])


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m autograder.sandbox SPEC_JSON -- command ...")
    raw = json.loads(argv[0])
    spec = Spec(**{**raw, "limits": Limits(**raw.get("limits", {}))})
    if os.getsid(0) != os.getpid():
        os.setsid()
    report, prefix = plan(spec)
    as_nobody = report["user"] != os.geteuid()
    if as_nobody:
        _give_to(spec.writable, spec.uid)
    _limit(spec.limits, as_nobody)
    if spec.report:
        with open(spec.report, "w", encoding="utf-8") as out:
            json.dump(report, out)
    for warning in report["warnings"]:
        print(f"WARNING (sandbox): {warning}", file=sys.stderr, flush=True)
    _die_with_parent()  # kept across exec by bwrap (which sets its own) or, without it, by the command
    if spec.lifeline and select.select([spec.lifeline[0]], [], [], 0)[0]:
        sys.exit(137)  # the caller died before the signal was set
    command_argv = prefix + argv[2:]
    os.execvp(command_argv[0], command_argv)


if __name__ == "__main__":
    main(sys.argv[1:])
