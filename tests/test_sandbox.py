"""The sandbox: no network, the course hidden, limits that bind, and a loud fallback without namespaces."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

import harness
from autograder import sandbox

PROBE = textwrap.dedent("""
    import json, os, resource, socket, sys
    try:
        listed = sorted(os.listdir(sys.argv[1]))
    except OSError:
        listed = []
    out = {"uid": os.geteuid(), "hidden": listed,
           "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
           "as": resource.getrlimit(resource.RLIMIT_AS)[0]}
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=3).close()
        out["network"] = "reachable"
    except OSError:
        out["network"] = "unreachable"
    try:
        open(os.path.join(sys.argv[1], "secret.txt")).read()
        out["secret"] = "read"
    except OSError:
        out["secret"] = "hidden"
    print(json.dumps(out))
""")


def _run(tmp_path, **spec_fields):
    secret = tmp_path / "course"
    secret.mkdir()
    (secret / "secret.txt").write_text("answers")
    work = tmp_path / "work"
    work.mkdir()
    (work / "probe.py").write_text(PROBE)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    report = tmp_path / "report.json"
    spec = sandbox.Spec(report=str(report), hide=[str(secret)], keep=[sys.prefix, sys.base_prefix, str(work)],
                        writable=[str(work)], limits=sandbox.Limits(processes=64), **spec_fields)
    done = subprocess.run(sandbox.command(spec, [sys.executable, str(work / "probe.py"), str(secret),
                                                 str(listener.getsockname()[1])]),
                          capture_output=True, text=True, start_new_session=True, timeout=60)
    listener.close()
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), json.loads(report.read_text()), done.stderr


def test_inside_the_sandbox_the_course_and_the_network_are_out_of_reach(tmp_path):
    seen, report, _ = _run(tmp_path)
    if not report["namespaces"]:
        pytest.skip(f"no namespaces on this machine: {report['warnings']}")
    assert seen["network"] == "unreachable" and seen["secret"] == "hidden" and seen["hidden"] == []
    assert report["network"].startswith("none")
    if os.geteuid() == 0:
        assert seen["uid"] == sandbox.NOBODY and report["user"] == sandbox.NOBODY
        assert seen["nproc"] == 64
    assert seen["as"] == sandbox.Limits().memory


def test_without_namespaces_grading_still_runs_and_says_so(tmp_path):
    seen, report, stderr = _run(tmp_path, namespaces=False)
    assert report["namespaces"] is None and report["warnings"]
    assert "WARNING (sandbox)" in stderr
    assert seen["network"] == "reachable" and seen["secret"] == "read"
    assert seen["as"] == sandbox.Limits().memory


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping to an unprivileged user needs root")
def test_the_process_limit_binds_even_when_the_grader_is_root(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    code = ("import os\nmade = 0\nkids = []\nfor _ in range(100):\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        import time; time.sleep(2); os._exit(0)\n"
            "    kids.append(pid)\nprint(len(kids))\nfor pid in kids:\n    os.waitpid(pid, 0)\n")
    spec = sandbox.Spec(keep=[sys.prefix, sys.base_prefix], writable=[str(work)],
                        limits=sandbox.Limits(processes=20), uid=61999)
    done = subprocess.run(sandbox.command(spec, [sys.executable, "-c", code]), capture_output=True, text=True,
                          start_new_session=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 5 < int(done.stdout) < 20


def test_processes_left_behind_die_with_the_command(tmp_path):
    marker = tmp_path / "w"
    marker.mkdir()
    code = ("import os, subprocess, sys\n"
            "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'], start_new_session=True)\n"
            "print(p.pid)\n")
    spec = sandbox.Spec(keep=[sys.prefix, sys.base_prefix], writable=[str(marker)])
    report = tmp_path / "r.json"
    spec.report = str(report)
    done = subprocess.run(sandbox.command(spec, [sys.executable, "-c", code]), capture_output=True, text=True,
                          start_new_session=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if not json.loads(report.read_text())["namespaces"]:
        pytest.skip("no PID namespace on this machine")
    survivors = subprocess.run(["pgrep", "-f", "time.sleep\\(30\\)"], capture_output=True, text=True).stdout
    assert survivors.strip() == "", "a process escaped the sandbox"


WALK = textwrap.dedent("""
    import json, os, sys
    skip = {"/proc", "/sys", "/dev", "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
            sys.prefix, sys.base_prefix, sys.argv[1]}
    seen = []
    for top, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
        seen += [os.path.join(top, name) for name in files]
    print(json.dumps(seen))
""")


def test_with_bubblewrap_the_command_sees_only_the_system_the_environment_and_its_folder(tmp_path):
    harness.require_binary("bwrap", "bubblewrap")
    course = tmp_path / "course"
    (course / "source").mkdir(parents=True)
    (course / "gradebook.db").write_text("grades")
    (course / "nbgrader_config.py").write_text("c = get_config()")
    other = tmp_path / "scratch" / "w-other"  # another submission's working copy
    other.mkdir(parents=True)
    (other / "answers.ipynb").write_text("{}")
    work = tmp_path / "scratch" / "w-mine"
    work.mkdir()
    (work / "walk.py").write_text(WALK)
    report = tmp_path / "report.json"
    spec = sandbox.Spec(report=str(report), hide=[str(course), str(tmp_path / "scratch")],
                        keep=[sys.prefix, sys.base_prefix], writable=[str(work)])
    done = subprocess.run(sandbox.command(spec, [sys.executable, str(work / "walk.py"), str(work)]), cwd=work,
                          capture_output=True, text=True, start_new_session=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text())["namespaces"] == "bubblewrap"
    assert json.loads(done.stdout) == [], "the sandbox shows files beyond the system, the environment and its folder"
    assert (course / "gradebook.db").read_text() == "grades"


def test_without_bubblewrap_the_fallback_runs_with_limits_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no bwrap on the PATH
    seen, report, stderr = _run(tmp_path)
    assert report["namespaces"] is None and "bwrap is not installed" in report["warnings"][0]
    assert "WARNING (sandbox)" in stderr and seen["secret"] == "read"
    assert seen["as"] == sandbox.Limits().memory


CALLER = textwrap.dedent("""
    import json, os, subprocess, sys, time
    from autograder import sandbox
    spec = sandbox.Spec(**json.loads(sys.argv[1]))
    lifeline = os.pipe()
    spec.lifeline = list(lifeline)
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); time.sleep(300)"
    subprocess.Popen(sandbox.command(spec, [sys.executable, "-c", code]), start_new_session=True, pass_fds=lifeline)
    os.close(lifeline[0])
    time.sleep(300)
""")


def _commands(processes):
    """The ones that are ``python -c ...`` (the command and its child; not bwrap, not the sandbox's PID 1)."""
    return [p for p in processes if _alive(p) and p.cmdline()[1:2] == ["-c"]]


def _alive(process):
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("uid", [sandbox.NOBODY, None], ids=["as-another-user", "as-the-caller"])
def test_everything_in_the_sandbox_dies_with_the_process_that_started_it(tmp_path, uid):
    """A grading worker killed with SIGKILL takes its sandboxes with it: the command and what it started."""
    import time

    import psutil

    harness.require_binary("bwrap", "bubblewrap")
    if uid is not None and os.geteuid() != 0:
        pytest.skip("another user needs root")
    work = tmp_path / "w"
    work.mkdir()
    spec = {"keep": [sys.prefix, sys.base_prefix], "writable": [str(work)], "report": str(tmp_path / "r.json"),
            "drop_to_nobody": uid is not None}
    caller = subprocess.Popen([sys.executable, "-c", CALLER, json.dumps(spec)], cwd=harness.ROOT)
    try:
        deadline, inside = time.time() + 60, []
        while time.time() < deadline and len(_commands(inside)) < 2:
            time.sleep(0.2)
            inside = [p for p in psutil.Process(caller.pid).children(recursive=True) if _alive(p)]
        assert json.loads((tmp_path / "r.json").read_text())["namespaces"] == "bubblewrap"
        assert len(_commands(inside)) == 2, "the command and its child run"
    finally:
        caller.kill()
        caller.wait()
    time.sleep(3)
    left = [p.cmdline() for p in inside if _alive(p)]
    for process in inside:  # nothing is left running by this test, whatever the outcome
        if _alive(process):
            process.kill()
    assert not left, f"still running after their starter died: {left}"


def test_a_sandbox_whose_starter_is_gone_runs_nothing(tmp_path):
    harness.require_binary("bwrap", "bubblewrap")
    work = tmp_path / "w"
    work.mkdir()
    read, write = os.pipe()
    os.close(write)  # the starter's end: closed, as if it had died before the sandbox was set up
    spec = sandbox.Spec(keep=[sys.prefix, sys.base_prefix], writable=[str(work)], lifeline=[read, read])
    try:
        done = subprocess.run(sandbox.command(spec, [sys.executable, "-c", f"open({str(work / 'ran')!r}, 'w')"]),
                              capture_output=True, text=True, timeout=60, pass_fds=[read])
    finally:
        os.close(read)
    assert done.returncode == 137, done.stderr
    assert not (work / "ran").exists()
