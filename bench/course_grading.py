"""Benchmark: autograding the whole course per student against executing its notebooks bare.

    .venv/bin/python bench/course_grading.py [--students 9] [--rounds 3] [--only 01-gradient-intuition ...]

For every assignment in source/ (or the ones named with --only):

- bare: the master notebook executed top to bottom with nbclient in a fresh
  kernel, as a student's "Run all" does;
- graded: --students copies of the master submitted and graded with the
  course's pipeline, ``autograder.grade.autograde`` with one worker
  (nbgrader's sanitizing, the notebook run by nbclient in the bubblewrap
  sandbox in grading mode, the verdicts recomputed from the evidence, the
  gradebook written); the batch's time divided by the
  number of students. Every copy must score full marks.

A batch pays once for its setup (the local Dask cluster, the worker's
imports, the assignment's cells): the default batch is a class of nine, and
``--students 2`` shows a small batch, where that setup weighs most.

A round is one bare run followed by one graded batch; the rounds alternate
so that both see the same load, and the medians are printed, with each
round's CPU ratio (how far one run of this machine is from the next). A
bare run and a graded batch of one come first, unmeasured: the first of each
pays for its process's imports (for the grader: Dask and Alembic). Times are
wall-clock and CPU (user + system, this process and its children: robust
when other work shares the machine). Both runs get one BLAS thread (the
grader's setting). The script prints a line per assignment and the sums over
the course, with the ratios graded / bare: the cost of grading a student on
top of running their notebooks.
Not run by the test suite.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

from machine import machine  # bench/machine.py
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import harness  # noqa: E402
from autograder import grade  # noqa: E402
from autograder.build import isolated_env  # noqa: E402

ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Clock:
    """Wall-clock and CPU seconds (this process and its finished children) of a block."""

    def __enter__(self):
        self.start = self._now()
        return self

    def __exit__(self, *exc):
        end = self._now()
        self.wall, self.cpu = end[0] - self.start[0], end[1] - self.start[1]

    @staticmethod
    def _now():
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        return time.perf_counter(), cpu


def bare_run(assignment, scratch, timeout=120):
    """(wall, CPU) seconds to execute the master of ``assignment`` with nbclient, in a copy of its folder."""
    import nbformat
    from nbclient import NotebookClient

    folder = Path(tempfile.mkdtemp(prefix="bare-", dir=scratch))
    shutil.copytree(ROOT / "source" / assignment, folder, dirs_exist_ok=True)
    (path,) = harness.notebooks(folder)
    nb = nbformat.read(path, as_version=4)
    with Clock() as clock:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    shutil.rmtree(folder, ignore_errors=True)
    return clock.wall, clock.cpu


def graded_run(assignment, students, course):
    """(wall, CPU) seconds per student, and "" if all scored full marks (else what they scored)."""
    for i in range(students):
        harness.submit(course, f"s{i:03d}", assignment, harness.master(assignment))
    with Clock() as clock:
        results = grade.autograde(course, assignment, force=True, settings=grade.Settings(workers=1),
                                  log=lambda *_: None)
    short = [f"{r['score']:g}/{r['max_score']:g}" + (f" ({r['status']}: {r['reason']})" if r["reason"] else "")
             + "".join(f", {cell} failed" for cell, c in r["cells"].items() if c.get("points", 0) < c.get("max", 0))
             for r in results if not (r["status"] == "graded" and r["score"] == r["max_score"] > 0)]
    if len(results) != students:
        short.append(f"{len(results)} of {students} graded")
    return clock.wall / students, clock.cpu / students, "; ".join(short)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=9, help="submissions per graded batch (default 9)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per notebook, each a bare run and a graded batch; medians (default 3)")
    parser.add_argument("--only", nargs="*", help="assignments to measure (default: every one in source/)")
    args = parser.parse_args(argv)
    names = args.only or harness.assignments()
    unknown = sorted(set(names) - set(harness.assignments()))
    if unknown:
        parser.error(f"not in source/: {', '.join(unknown)}")

    rows = []
    with tempfile.TemporaryDirectory(prefix="backproplab-bench-") as scratch:
        os.chmod(scratch, 0o711)
        (Path(scratch) / "state").mkdir()  # the bare kernels' IPython and Jupyter folders go in here
        env = isolated_env(Path(scratch) / "state")
        env.update(ONE_THREAD)
        os.environ.clear()
        os.environ.update(env)
        course = Path(scratch) / "course"
        course.mkdir()
        shutil.copy2(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "source", course / "source", ignore=lambda d, files: [
            f for f in files if Path(d) == ROOT / "source" and f not in names])
        bare_run(names[0], scratch)  # warm-up: first kernel start, imports, caches
        for name in names:
            harness.nbgrader(["generate_assignment", name, "--force"], course)
            if name == names[0]:  # warm-up: the grader's first batch imports Dask, Alembic and the rest once
                graded_run(name, 1, course)
            bare, graded, short = [], [], ""
            for _ in range(args.rounds):  # alternating, so that both see the same load
                bare.append(bare_run(name, scratch))
                *per_student, missed = graded_run(name, args.students, course)
                graded.append(per_student)
                short = short or missed
            row = (name, *(statistics.median(t[i] for t in bare) for i in (0, 1)),
                   *(statistics.median(t[i] for t in graded) for i in (0, 1)), not short)
            rows.append(row)
            spread = " ".join(f"{g[1] / b[1]:.2f}x" for b, g in zip(bare, graded))
            print(f"{name:28} bare {row[1]:6.1f} s ({row[2]:5.1f} s CPU)   graded {row[3]:6.1f} s "
                  f"({row[4]:5.1f} s CPU) per student   {row[3] / row[1]:5.2f}x ({row[4] / row[2]:.2f}x CPU)"
                  f"   rounds: {spread} CPU" + (f"   NOT FULL MARKS: {short}" if short else ""), flush=True)

    bare_wall, bare_cpu, graded_wall, graded_cpu = (sum(r[i] for r in rows) for i in (1, 2, 3, 4))
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print(f"{len(rows)} notebooks, medians of {args.rounds} rounds; bare: nbclient; graded: "
          f"autograder.grade.autograde, 1 worker, batches of {args.students} students; 1 BLAS thread")
    print(f"whole course, per student: bare {bare_wall:.1f} s ({bare_cpu:.1f} s CPU), "
          f"graded {graded_wall:.1f} s ({graded_cpu:.1f} s CPU)")
    print(f"graded / bare: {graded_wall / bare_wall:.2f}x wall-clock, {graded_cpu / bare_cpu:.2f}x CPU")
    if not all(r[5] for r in rows):
        print("warning: some submissions did not score full marks: "
              + ", ".join(r[0] for r in rows if not r[5]))
    return 0 if all(r[5] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
