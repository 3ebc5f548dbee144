"""Benchmark: a class of N students on the course's JupyterHub, all at once, through the REST path.

    sudo .venv/bin/python bench/hub_class.py [--students 30] [--workers 2]

As root on Linux (it creates N + 1 Linux users, removed at the end). Starts
the hub with `python3 run.py hub` on free ports of 127.0.0.1 (tests/hubclass.py),
releases notebook 01 as the instructor, then for all N students at once:
starts their JupyterLab through the hub's API, fetches (nbgrader's assignment
list API), fills in the answer key (contents API) and submits. The instructor
then collects (`nbgrader collect`) and grades (`run.py grade autograde`).
Prints the time of each step (the median, 90th percentile and slowest
request of the N concurrent ones, and the wall-clock of the whole wave), the
collect and grade times, and the peak memory of the class: the hub, its
proxy, every user's server and the grading, sampled every 0.2 s. Not run by
the test suite (tests/test_bench.py runs it with one student).
"""

import argparse
import os
import platform
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import hubclass  # noqa: E402

ASSIGNMENT = "01-gradient-intuition"


def rss_kib(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(root_pid):
    """root_pid and every process below it (by parent pid, from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


class MemorySampler(threading.Thread):
    """The peak of the summed RSS of the hub's process tree and of every process of the class's users."""

    def __init__(self, hub, interval=0.2):
        super().__init__(daemon=True)
        self.hub, self.interval = hub, interval
        self.peak = self.now = 0
        self.stopped = threading.Event()

    def sample(self):
        pids = set(hubclass.processes_of(self.hub.uids()))
        if self.hub.process is not None:
            pids |= set(descendants(self.hub.process.pid))
        proxy = self.hub.proxy_pid()
        if proxy:
            pids.add(proxy)
        return sum(rss_kib(pid) for pid in pids)

    def run(self):
        while not self.stopped.is_set():
            self.now = self.sample()
            self.peak = max(self.peak, self.now)
            time.sleep(self.interval)

    def reset(self):
        self.peak = self.now = self.sample()

    def stop(self):
        self.stopped.set()
        self.join()


def wave(label, function, users, width):
    """Run ``function(user)`` for every user at once; print and return the times."""
    times = {}

    def timed(user):
        started = time.perf_counter()
        function(user)
        times[user] = time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(len(users)) as pool:
        list(pool.map(timed, users))
    whole = time.perf_counter() - started
    ordered = sorted(times.values())
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    print(f"{label:<{width}} median {statistics.median(ordered):6.2f} s, 90% {p90:6.2f} s, "
          f"slowest {ordered[-1]:6.2f} s; all {len(users)} at once: {whole:6.1f} s", flush=True)
    return times, whole


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="grading workers")
    args = parser.parse_args()
    names = [f"s{i:03d}" for i in range(args.students)]
    hub = hubclass.HubClass(names)
    key = hubclass.answer_key(ASSIGNMENT)
    everything = {grade_id for kind, grade_id, _ in key if kind == "solution"}
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    print(f"a class of {args.students} students and one instructor on the hub, notebook {ASSIGNMENT}", flush=True)
    sampler = None
    try:
        hub.create_users()
        hub.open_checkout()
        hub.make_course_dir()
        started = time.perf_counter()
        hub.start()
        print(f"{'hub up (run.py hub)':<22} {time.perf_counter() - started:6.1f} s", flush=True)
        sampler = MemorySampler(hub)
        sampler.start()
        hub.run_py("grade", "register", ASSIGNMENT)
        hub.nbgrader("release_assignment", ASSIGNMENT)
        students = list(hub.students.values())
        for user in students:
            hub.add_user(user)
        width = 22
        wave("server start", hub.spawn, students, width)
        idle = sampler.sample()
        per_student = {}
        for pid, (uid, _) in hubclass.processes_of(hub.uids()).items():
            per_student[uid] = per_student.get(uid, 0) + rss_kib(pid)
        import pwd

        student_uids = {pwd.getpwnam(user).pw_uid for user in students}
        servers = sorted(v for uid, v in per_student.items() if uid in student_uids)
        print(f"{'memory, servers idle':<{width}} {idle / 1024:7.0f} MiB in all; one student's server "
              f"{statistics.median(servers) / 1024:.0f} MiB (median), the hub and its proxy "
              f"{(idle - sum(per_student.values())) / 1024:.0f} MiB", flush=True)

        def fetch(user):
            reply = hub.action(user, "fetch")
            assert reply["success"] and (hub.home_of(user) / ASSIGNMENT).is_dir(), reply

        def work(user):
            hub.save_notebook(user, hubclass.fill(hub.read_notebook(user), key, everything))

        def submit(user):
            reply = hub.action(user, "submit")
            assert reply["success"], reply

        wave("fetch", fetch, students, width)
        wave("save the answers", work, students, width)
        wave("submit", submit, students, width)
        peak_class = sampler.peak

        sampler.reset()
        started = time.perf_counter()
        hub.nbgrader("collect", ASSIGNMENT)
        collect = time.perf_counter() - started
        print(f"{'collect':<{width}} {collect:6.1f} s ({args.students} submissions)", flush=True)
        started = time.perf_counter()
        done = hub.run_py("grade", "autograde", ASSIGNMENT, "--workers", str(args.workers), check=False)
        grade = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"grading failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        print(f"{'grade':<{width}} {grade:6.1f} s ({grade / args.students:.2f} s per submission, "
              f"{args.workers} workers)", flush=True)
        peak_grading = sampler.peak
        print(f"{'peak memory':<{width}} {peak_class / 1024:7.0f} MiB while the class worked, "
              f"{peak_grading / 1024:7.0f} MiB while grading (servers still running)", flush=True)
    finally:
        if sampler is not None:
            sampler.stop()
        leftovers = hub.stop()
        hub.remove()
        if leftovers:
            print(f"still running after the hub stopped (killed now): {leftovers}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
