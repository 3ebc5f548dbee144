"""Run a command with limits and as much isolation as this machine allows.

``python -m autograder.sandbox SPEC_JSON -- command ...`` applies, in order,

1. a new session (the grader kills the whole process group at the end);
2. new mount, network and PID namespaces (every process left behind dies with
   the command) (as root, or inside a user namespace
   when the kernel allows unprivileged ones): the network is reduced to a
   loopback of its own, and the folders named in ``hide`` are covered by
   empty ones, except the paths in ``keep`` (the Python installation and the
   course's packages), which are bound back in;
3. resource limits: address space, CPU seconds, file size, processes,
   no core files;
4. when started as root, an unprivileged user (``nobody`` by default; the
   grader gives each concurrent submission a user of its own, since
   RLIMIT_NPROC counts the processes of a user, and does not bind root);

writes what it achieved to ``report`` (JSON) and then replaces itself with
the command. What could not be had is recorded, warned about on stderr, and
grading goes on: a machine without namespaces (many Kubernetes pods) still
grades, with limits only.
"""

import ctypes
import fcntl
import json
import os
import resource
import socket
import struct
import sys
import tempfile
from pathlib import Path
from dataclasses import asdict, dataclass, field

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
NOBODY = 65534


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
    hide: list = field(default_factory=list)  # folders to cover with an empty one
    keep: list = field(default_factory=list)  # paths inside them to bind back
    writable: list = field(default_factory=list)  # folders the unprivileged user must own
    drop_to_nobody: bool = True
    uid: int = NOBODY  # the unprivileged user (one per concurrent submission: RLIMIT_NPROC counts per user)
    namespaces: bool = True  # False: limits only (what a machine without namespaces gets)


def command(spec, argv):
    """The argv that runs ``argv`` inside the sandbox described by ``spec``."""
    return [sys.executable, "-m", "autograder.sandbox", json.dumps(asdict(spec)), "--", *argv]


# -- the steps -------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _call(name, *args):
    if getattr(_libc, name)(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{name}: {os.strerror(errno)}")


def _enter_namespaces():
    """New mount and network namespaces; in a user namespace when not root."""
    if os.geteuid() == 0:
        _call("unshare", CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID)
        return "root"
    uid, gid = os.geteuid(), os.getegid()
    _call("unshare", CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID)
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"0 {gid} 1")
    return "user namespace"


def _become_init():
    """Fork into the new PID namespace: the child is its process 1, and when it ends
    the kernel kills every process left in the namespace. The parent waits and
    passes on the exit status."""
    child = os.fork()
    if child:
        while True:
            try:
                _, status = os.waitpid(child, 0)
                break
            except InterruptedError:
                continue
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


def _loopback_up():
    """Bring up the new namespace's own loopback (the kernel and nbgrader talk over it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))


def _mount(source, target, fstype, flags, data):
    _call("mount", source.encode() if source else None, target.encode(),
          fstype.encode() if fstype else None, flags, data.encode() if data else None)


def _hide(folders, keep):
    """Cover each folder with an empty tmpfs, then bind the ``keep`` paths inside it back."""
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    staging = tempfile.mkdtemp(prefix="sandbox-stage-")
    kept = []
    for folder in folders:
        inside = [p for p in keep if os.path.commonpath([p, folder]) == folder and p != folder]
        stages = []
        for index, path in enumerate(inside):
            stage = os.path.join(staging, f"{len(kept)}-{index}")
            if os.path.isdir(path):
                os.mkdir(stage)
            else:
                open(stage, "w").close()
            _mount(path, stage, None, MS_BIND | MS_REC, None)
            stages.append((path, stage))
        _mount("tmpfs", folder, "tmpfs", 0, "size=16m,mode=0755")
        for path, stage in stages:
            if os.path.isdir(stage):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "w").close()
            _mount(stage, path, None, MS_BIND | MS_REC, None)
            kept.append(path)
    return kept


def closed_ancestors(paths):
    """Folders above ``paths`` that an unprivileged user cannot enter (e.g. /root)."""
    found = set()
    for path in paths:
        for parent in Path(path).resolve().parents:
            if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                found.add(str(parent))
    return found


def outermost(folders):
    """The folders not inside another one of them."""
    folders = sorted(set(folders))
    return [f for f in folders if not any(f != o and f.startswith(o.rstrip(os.sep) + os.sep) for o in folders)]


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


def _drop_to_nobody(writable, uid):
    for folder in writable:
        for root, dirs, files in os.walk(folder):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.chown(name, uid, uid, follow_symlinks=False)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def apply(spec):
    """Apply ``spec`` to this process; return the report of what was achieved."""
    report = {"namespaces": None, "network": "shared", "hidden": [], "user": os.geteuid(),
              "limits": asdict(spec.limits), "warnings": []}
    if os.getsid(0) != os.getpid():
        os.setsid()
    try:
        if not spec.namespaces:
            raise OSError("namespaces were not asked for")
        report["namespaces"] = _enter_namespaces()
        _become_init()
        _loopback_up()
        report["network"] = "none (own loopback only)"
        hide = outermost(list(spec.hide) + sorted(closed_ancestors(spec.keep)))
        report["hidden"] = hide
        report["kept"] = _hide(hide, spec.keep)
    except OSError as exc:
        report["warnings"].append(f"no namespaces here ({exc}): the network is reachable and "
                                  f"{', '.join(spec.hide) or 'nothing'} is readable by the submission")
    as_nobody = spec.drop_to_nobody and os.geteuid() == 0 and report["namespaces"] == "root"
    _limit(spec.limits, as_nobody)
    if as_nobody:
        _drop_to_nobody(spec.writable, spec.uid)
        report["user"] = spec.uid
    elif os.geteuid() == 0:
        report["warnings"].append("running as root: the process limit does not bind")
    return report


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m autograder.sandbox SPEC_JSON -- command ...")
    raw = json.loads(argv[0])
    spec = Spec(**{**raw, "limits": Limits(**raw.get("limits", {}))})
    out = open(spec.report, "w", encoding="utf-8") if spec.report else None  # before any privilege is dropped
    report = apply(spec)
    if out:
        json.dump(report, out)
        out.close()
    for warning in report["warnings"]:
        print(f"WARNING (sandbox): {warning}", file=sys.stderr, flush=True)
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
