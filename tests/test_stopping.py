"""Stopping stops: SIGTERM or SIGHUP to `run.py lab` or `run.py instructor` ends its JupyterLab.

run.py is started as a user starts it, in its own session on a free port of
127.0.0.1, with a kernel running in JupyterLab; the signal goes to run.py
alone (not to its process group), as a service manager or a closed ssh
connection sends it. Afterwards run.py has exited, the port is closed, and
the server and its kernel are gone. The processes are found from what
Jupyter itself records: the server's pid in its runtime file, the kernel's
by its connection file on its command line.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_browser import ROOT, jupyter_environ, skip_or_fail
from test_environment import run

URLS = urllib.request.build_opener(urllib.request.ProxyHandler({}))
TOKEN = "stopping-test-token"

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX signals")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pid):
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_for(condition, timeout, what, log):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s; run.py's output:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


def kernel_pid(kernel_id):
    """The pid of the process whose command line names the kernel's connection file."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"kernel-{kernel_id}.json" in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    return int(entry.name)
            except OSError:
                continue
    return None


def server_file(runtime):
    """The server's jpserver-*.json once written whole (it is created empty, then filled), else None."""
    for path in runtime.glob("jpserver-*.json"):
        try:
            return json.loads(path.read_text())
        except ValueError:
            return None
    return None


@pytest.mark.parametrize("command, sent", [
    ("lab", signal.SIGTERM),
    ("lab", signal.SIGHUP),
    ("instructor", signal.SIGTERM),
], ids=["lab-SIGTERM", "lab-SIGHUP", "instructor-SIGTERM"])
def test_a_signal_to_run_py_ends_its_jupyterlab_and_kernels(tmp_path, command, sent):
    if run.read_stamp().get("hash") != run.install_hash():
        skip_or_fail("the environment in .venv/ is not current; `python3 run.py env` updates it")
    had_work = (ROOT / "work").exists()
    env = jupyter_environ(tmp_path)
    runtime = Path(env["JUPYTER_RUNTIME_DIR"])
    port, log = free_port(), tmp_path / "run-py.log"
    argv = [sys.executable, str(ROOT / "run.py"), command, "--no-browser", f"--port={port}",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", "--ServerApp.port_retries=0"]
    with open(log, "w") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = kernel = None
    try:
        wait_for(lambda: server_file(runtime) or process.poll() is not None,
                 120, "JupyterLab wrote no server file", log)
        assert process.poll() is None, log.read_text()
        info = server_file(runtime)
        server = info["pid"]
        assert server != process.pid and info["port"] == port
        wait_for(lambda: port_open(port), 60, "the port did not open", log)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/kernels?token={TOKEN}", method="POST",
                                         data=b"{}", headers={"Content-Type": "application/json"})
        with URLS.open(request, timeout=60) as response:
            kernel_id = json.loads(response.read())["id"]
        wait_for(lambda: kernel_pid(kernel_id), 60, "no kernel process", log)
        kernel = kernel_pid(kernel_id)

        os.kill(process.pid, sent)  # run.py alone, not its process group

        status = process.wait(timeout=90)
        assert status == 128 + sent, f"run.py exited with {status}:\n{log.read_text()[-4000:]}"
        assert not port_open(port), "JupyterLab still serves on its port after run.py ended"
        wait_for(lambda: not alive(server), 10, "the JupyterLab process is still running", log)
        wait_for(lambda: not alive(kernel), 10, "its kernel is still running", log)
        assert f"{sent.name} received" in log.read_text()
    finally:
        for pid in (process.pid, server, kernel):  # only what this test started
            if pid and alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)
        if command == "lab" and not had_work:
            shutil.rmtree(ROOT / "work", ignore_errors=True)
