"""What a computation costs: the peak memory it allocates and the time it takes.

``peak_memory(fn, *args)`` runs fn once under :mod:`tracemalloc` (which numpy
reports its arrays to) and returns (result, bytes): the largest amount of
memory that was allocated during the call on top of what was there before.
``seconds(fn, *args)`` is the best of a few timings with ``time.perf_counter``.
Both vary a little from run to run and machine to machine: compare sizes and
ratios, not exact values.
"""

import time
import tracemalloc


def peak_memory(fn, *args):
    """(fn(*args), peak bytes allocated during the call above the memory in use before it).

    Works whether or not tracemalloc is already tracing (it then keeps tracing).
    """
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn(*args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if started:
            tracemalloc.stop()
    return result, max(0, peak - before)


def seconds(fn, *args, repeat=5):
    """The shortest of ``repeat`` wall-clock timings of fn(*args), in seconds (the least disturbed run)."""
    best = float("inf")
    for _ in range(max(1, int(repeat))):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best
