"""Benchmark: a batch graded on Dask with 1 and N local workers, and on a scheduler with separate workers.

    python3 run.py env && .venv/bin/python bench/grading.py [--students 20] [--workers 2] [--rounds 1]

Makes a course directory with N copies of notebook 01's master as
submissions and grades them, each time from scratch, three ways:

- ``1 local worker``: the default local cluster with one worker process;
- ``N local workers``: the default local cluster, one single-threaded
  worker process per core (``--workers``);
- ``scheduler + N workers``: a ``dask scheduler`` and ``--workers``
  ``dask worker --nthreads 1`` processes started separately on 127.0.0.1,
  each in its own working folder, graded with ``--scheduler`` (how a
  cluster is used; here all on this machine).

Prints the wall-clock time of each (the median over ``--rounds``, which
alternate the order), the speed-ups over one worker, and the submissions
per hour per core. Every submission must score full marks. Not run by the
test suite beyond a tiny size.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import harness  # noqa: E402
from autograder import grade  # noqa: E402
from machine import machine  # noqa: E402

ASSIGNMENT = "01-gradient-intuition"


class Scheduler:
    """A ``dask scheduler`` and ``workers`` single-threaded ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, workers, scratch):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        self.processes = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host",
                                            "127.0.0.1", "--port", str(port), "--no-dashboard"],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        for i in range(workers):
            folder = Path(tempfile.mkdtemp(prefix=f"worker{i}-", dir=scratch))
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                 "--host", "127.0.0.1", "--no-dashboard", "--local-directory", str(folder)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(self.address, timeout="60s") as client:
            client.wait_for_workers(workers, timeout=120)

    def stop(self):
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def timed_batch(template, scratch, name, settings):
    course = Path(scratch) / name
    shutil.copytree(template, course)
    start = time.perf_counter()
    results = grade.autograde(course, ASSIGNMENT, settings=settings, log=lambda *_: None)
    elapsed = time.perf_counter() - start
    bad = [r["student"] for r in results if not (r["status"] == "graded" and r["score"] == r["max_score"] > 0)]
    assert not bad and len(results) == len(list((course / "submitted").iterdir())), bad
    shutil.rmtree(course, ignore_errors=True)
    return elapsed


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    with tempfile.TemporaryDirectory(prefix="backproplab-bench-") as scratch:
        os.chmod(scratch, 0o711)
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            os.environ[name] = str(Path(scratch) / name.lower())
        template = harness.make_course_dir(Path(scratch) / "template", only=[ASSIGNMENT])
        for i in range(args.students):
            harness.submit(template, f"s{i:03d}", ASSIGNMENT, harness.master(ASSIGNMENT))
        n = args.workers
        modes = {"1 local worker": lambda: grade.Settings(workers=1),
                 f"{n} local workers": lambda: grade.Settings(workers=n),
                 f"scheduler + {n} workers": None}
        times = {mode: [] for mode in modes}
        for r in range(args.rounds):
            for mode in (list(modes) if r % 2 == 0 else list(reversed(modes))):
                if modes[mode] is None:
                    cluster = Scheduler(n, scratch)
                    try:
                        times[mode].append(timed_batch(template, scratch, f"r{r}-remote",
                                                       grade.Settings(scheduler=cluster.address)))
                    finally:
                        cluster.stop()
                else:
                    times[mode].append(timed_batch(template, scratch, f"r{r}-{mode[0]}", modes[mode]()))
                print(f"round {r + 1}, {mode}: {times[mode][-1]:.1f} s (load average {os.getloadavg()[0]:.1f})",
                      flush=True)
    med = {mode: statistics.median(t) for mode, t in times.items()}
    one = med["1 local worker"]
    print(f"machine: {machine()}")
    print(f"{args.students} submissions of {ASSIGNMENT}, medians of {args.rounds} round(s)")
    for mode, seconds in med.items():
        print(f"{mode + ':':26} {seconds:7.1f} s  ({seconds / args.students:.2f} s per submission)")
    print(f"speed-up, {n} local workers: {one / med[f'{n} local workers']:.2f}x")
    print(f"speed-up, scheduler + {n} workers: {one / med[f'scheduler + {n} workers']:.2f}x")
    print(f"submissions per hour per core: {3600 * args.students / one:.0f} (1 worker), "
          f"{3600 * args.students / med[f'{n} local workers'] / n:.0f} ({n} local workers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
