"""Benchmark: grading a batch in parallel against one worker, printed as a ratio.

    python3 run.py env && .venv/bin/python bench/grading.py [--students 40] [--workers 2]

Makes a temporary course directory with N copies of notebook 01's master as
submissions, grades them with one worker and then with --workers, and prints
the wall-clock times and the speed-up. Not run by the test suite.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import harness  # noqa: E402
from autograder import grade  # noqa: E402

ASSIGNMENT = "01-gradient-intuition"


def timed_batch(students, workers, scratch):
    course = harness.make_course_dir(Path(scratch) / f"course-{workers}")
    for i in range(students):
        harness.submit(course, f"s{i:03d}", ASSIGNMENT, harness.master(ASSIGNMENT))
    start = time.perf_counter()
    results = grade.autograde(course, ASSIGNMENT, settings=grade.Settings(workers=workers), log=lambda *_: None)
    elapsed = time.perf_counter() - start
    assert len(results) == students and all(r["status"] == "graded" for r in results)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            os.environ[name] = str(Path(scratch) / name.lower())
        one = timed_batch(args.students, 1, scratch)
        many = timed_batch(args.students, args.workers, scratch)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.students} submissions of {ASSIGNMENT}")
    print(f"1 worker:  {one:7.1f} s  ({one / args.students:.2f} s per submission)")
    print(f"{args.workers} workers: {many:7.1f} s  ({many / args.students:.2f} s per submission)")
    print(f"speed-up: {one / many:.2f}x")


if __name__ == "__main__":
    main()
