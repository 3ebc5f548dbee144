"""The hub class's own bookkeeping: what counts as a process left behind when the hub has stopped."""

import os
import subprocess
import sys
import threading
import time

import pytest

import hubclass

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


class Owner:
    """What HubClass.lingering needs of a class: the uids of its users (here, this test's own)."""

    def uids(self):
        return {os.getuid()}


def zombie():
    """A child that has exited and that nobody has reaped yet: its pid, to be reaped by the caller."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    deadline = time.monotonic() + 10
    while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    return pid


def test_a_zombie_is_not_running_and_a_sleeping_process_is():
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = zombie()
    try:
        found = hubclass.processes_of({os.getuid()})
        assert sleeper.pid in found and "time.sleep(60)" in found[sleeper.pid][1]
        assert dead not in found
        assert os.getpid() in found
        assert sleeper.pid not in hubclass.processes_of({os.getuid() + 1})
    finally:
        sleeper.kill()
        sleeper.wait()
        os.waitpid(dead, 0)


def test_a_process_that_exits_within_the_grace_is_not_left_behind_and_one_that_outlives_it_is():
    exiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.5)"])
    reaper = threading.Thread(target=exiting.wait)  # reaped as it exits: gone, not a zombie
    reaper.start()
    started = time.monotonic()
    # this test's own process belongs to the uid too: it outlives any grace
    left = hubclass.HubClass.lingering(Owner(), grace=6)
    waited = time.monotonic() - started
    reaper.join()
    assert os.getpid() in left and exiting.pid not in left
    assert waited >= 6
    lasting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert lasting.pid in hubclass.HubClass.lingering(Owner(), grace=0.5)
    finally:
        lasting.kill()
        lasting.wait()
