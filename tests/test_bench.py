"""The benchmark scripts of bench/ run at tiny sizes and print their ratio lines.

The figures themselves are not tested (speed is measured by the benchmarks,
never by timed tests); these tests only keep the scripts working.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RATIO = r"(\d+(\.\d+)?)x"


def run(script, *args, timeout=600):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def ratio(output, label):
    match = re.search(re.escape(label) + r"\s+" + RATIO, output)
    assert match, f"no ratio line {label!r} in:\n{output}"
    return float(match.group(1))


TINY = ("--sizes", "20,8,3", "--batch", "4", "--rounds", "2", "--steps", "2", "--warmup", "1")


def test_library_bench_prints_its_ratios_and_agrees_with_the_hand_written_step():
    out = run("library.py", *TINY)
    assert ratio(out, "library / numpy:") > 0
    assert "threads: 1 (OMP_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, MKL_NUM_THREADS=1)" in out
    difference = float(re.search(r"largest weight difference after 3 steps (\S+)", out).group(1))
    assert difference < 1e-12  # the three implementations take the same step
    if importlib.util.find_spec("torch"):
        assert ratio(out, "library / pytorch:") > 0
    else:
        assert "library / pytorch: skipped, PyTorch is not installed" in out
        assert "pip install torch" in out


def test_library_bench_without_torch_says_it_skipped_and_pins_threads():
    out = run("library.py", *TINY, "--no-torch", "--threads", "2", "--steady-malloc")
    assert "library / pytorch: skipped (--no-torch)" in out
    assert "threads: 2 (OMP_NUM_THREADS=2" in out
    assert "MALLOC_MMAP_THRESHOLD_=" in out
    assert ratio(out, "library / numpy:") > 0


def test_check_cost_counts_two_calls_per_entry_or_direction():
    n, d, m = 4, 60, 40  # dW has 2400 entries: above the elementwise limit of 2000
    out = run("check_cost.py", "--n", str(n), "--d", str(d), "--m", str(m), "--repeats", "1")
    calls = {mode: int(re.search(mode + r" mode:\s+\S+ ms \(\s*\S+ ms CPU\),\s+(\d+) forward calls", out).group(1))
             for mode in ("random-direction", "elementwise")}
    assert calls["elementwise"] == 2 * (n * d + d * m + m)
    assert calls["random-direction"] == 2 * (n * d + 4 + m)
    assert re.search(r"elementwise / random-direction: \d+x the time \(\d+x CPU\), \d+x the forward calls", out)


@pytest.mark.slow
def test_course_grading_bench_grades_one_notebook_to_full_marks():
    out = run("course_grading.py", "--only", "01-gradient-intuition", "--students", "1", "--rounds", "1",
              timeout=1200)
    assert re.search(r"graded / bare: \d+\.\d+x wall-clock, \d+\.\d+x CPU", out), out
    assert "01-gradient-intuition" in out and "NOT FULL MARKS" not in out
    assert re.search(r"rounds: \d+\.\d+x CPU", out), out


@pytest.mark.slow
def test_hub_class_bench_runs_a_class_of_one_and_leaves_nothing_behind():
    """bench/hub_class.py with one student: every line it prints, and no user or process of it left."""
    import pwd

    from test_hub import requirements

    requirements()  # root, jupyterhub, a current environment and npm; skipped (failed under CI) without them
    before = {entry.pw_name for entry in pwd.getpwall()}
    out = run("hub_class.py", "--students", "1", "--workers", "1", timeout=1200)
    for step in ("server start", "fetch", "save the answers", "submit"):
        assert re.search(rf"^{step}\s+median\s+\d+\.\d+ s, 90%\s+\d+\.\d+ s, slowest\s+\d+\.\d+ s; all 1 at once",
                         out, re.M), out
    assert re.search(r"^collect\s+\d+\.\d+ s \(1 submissions\)", out, re.M), out
    assert re.search(r"^grade\s+\d+\.\d+ s \(\d+\.\d+ s per submission, 1 workers\)", out, re.M), out
    assert re.search(r"^peak memory\s+\d+ MiB while the class worked,\s+\d+ MiB while grading", out, re.M), out
    assert {entry.pw_name for entry in pwd.getpwall()} == before  # its users are gone
