"""Benchmark: the cost of checking a large Linear layer, random directions against entry by entry.

    .venv/bin/python bench/check_cost.py [--n 4] [--d 784] [--m 256] [--repeats 5]

``check_layer(Linear, kind="linear", n=4, d=784, m=256)`` (the library's
correct Linear as the student's class) judges dz, dW and db against central
differences of the reference forward. Tensors of more than
``ELEMENTWISE_LIMIT`` entries (2000) are checked along a few random unit
directions (2 forward calls per direction); smaller ones entry by entry
(2 calls per entry). The script times the check as a test cell runs it, then
the same check with the limit raised above every tensor, so that each
tensor is checked entry by entry, and prints the wall-clock and CPU times,
the forward calls made by the finite differences, and their ratios. The
elementwise run takes a minute or more at the default sizes; it is timed
once. BLAS gets one thread, as in grading (the script sets the thread
variables and runs itself again before numpy loads). Not run by the test suite.
"""

import argparse
import contextlib
import io
import os
import statistics
import sys
import time

from machine import machine  # bench/machine.py
from pathlib import Path

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_one_thread():
    """Run this script again with one BLAS thread (the grader's setting), unless it has it already."""
    if all(os.environ.get(name) == "1" for name in THREAD_VARIABLES):
        return
    env = {**os.environ, **{name: "1" for name in THREAD_VARIABLES}}
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


if __name__ == "__main__":
    pin_one_thread()  # before numpy loads

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder import check_layer  # noqa: E402
from autograder.checks import layers as layer_checks  # noqa: E402
from backproplab import layers, numeric  # noqa: E402


@contextlib.contextmanager
def counting_forward_calls():
    """Count every call of f that backproplab.numeric's difference functions make."""
    calls = [0]
    saved = {}

    def wrap(name):
        original = getattr(numeric, name)

        def counted(f, *args, **kwargs):
            def f_counted(x):
                calls[0] += 1
                return f(x)
            return original(f_counted, *args, **kwargs)

        saved[name] = original
        setattr(numeric, name, counted)

    for name in ("numerical_vjp", "numerical_gradient", "numerical_jacobian", "numerical_directional"):
        wrap(name)
    try:
        yield calls
    finally:
        for name, original in saved.items():
            setattr(numeric, name, original)


@contextlib.contextmanager
def elementwise_limit(limit):
    saved = layer_checks.ELEMENTWISE_LIMIT
    layer_checks.ELEMENTWISE_LIMIT = limit
    try:
        yield
    finally:
        layer_checks.ELEMENTWISE_LIMIT = saved


def one_check(params):
    """(wall seconds, CPU seconds, forward calls) of one check_layer call on the reference Linear.

    The check must pass (it raises AssertionError otherwise).
    """
    out = io.StringIO()
    saved = layer_checks.LayerBackward.delegation
    layer_checks.LayerBackward.delegation = ()  # the library's Linear stands in for a student's here
    try:
        with counting_forward_calls() as calls, contextlib.redirect_stdout(out):
            wall, cpu = time.perf_counter(), time.process_time()
            check_layer(layers.Linear, kind="linear", **params)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        layer_checks.LayerBackward.delegation = saved
    return wall, cpu, calls[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4)
    parser.add_argument("--d", type=int, default=784)
    parser.add_argument("--m", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5, help="runs of the random-direction check (median)")
    args = parser.parse_args(argv)
    params = {"seed": args.seed, "n": args.n, "d": args.d, "m": args.m}
    sizes = {"dz": args.n * args.d, "dW": args.d * args.m, "db": args.m}
    limit = layer_checks.ELEMENTWISE_LIMIT

    one_check(params)  # warm-up
    runs = [one_check(params) for _ in range(args.repeats)]
    fast, fast_cpu, fast_calls = (statistics.median(r[i] for r in runs) for i in range(3))
    with elementwise_limit(max(sizes.values()) + 1):
        slow, slow_cpu, slow_calls = one_check(params)

    modes = ", ".join(f"{name} {size} entries: {'directions' if size > limit else 'entry by entry'}"
                      for name, size in sizes.items())
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print(f"check_layer(Linear, kind='linear', n={args.n}, d={args.d}, m={args.m}, seed={args.seed}); "
          f"1 BLAS thread (OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')})")
    print(f"as a test cell runs it ({layer_checks.DIRECTIONS} directions above {limit} entries; {modes})")
    print(f"random-direction mode: {1e3 * fast:10.1f} ms ({1e3 * fast_cpu:10.1f} ms CPU), "
          f"{int(fast_calls):7d} forward calls (median of {args.repeats})")
    print(f"elementwise mode:      {1e3 * slow:10.1f} ms ({1e3 * slow_cpu:10.1f} ms CPU), "
          f"{slow_calls:7d} forward calls (every tensor entry by entry)")
    print(f"elementwise / random-direction: {slow / fast:.0f}x the time ({slow_cpu / fast_cpu:.0f}x CPU), "
          f"{slow_calls / fast_calls:.0f}x the forward calls")


if __name__ == "__main__":
    main()
