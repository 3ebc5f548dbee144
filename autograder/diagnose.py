"""Compare a student's numbers with the reference and say what is likely wrong.

:func:`compare` is the one verdict of every check: the per-entry error score
of :func:`backproplab.numeric.error_score` (CHECKS.md), passing when its
maximum is at most 1. When it fails, the message names the likely mistake
where it recognises one: a mistake the check predicted (``mistakes``), a
scalar multiple (a flipped sign, a factor of two, a missing or extra 1/N),
a transpose; then where the entries are wrong.
"""

import numpy as np

from backproplab.gradcheck import name_multiple as scalar_multiple
from backproplab.messages import text
from backproplab.numeric import error_score

from .contract import Reject

WORST_SHOWN = 5


def passes(got, expected, noise=0.0):
    """True when every entry of ``got`` is within the error score of ``expected``."""
    return bool(np.max(error_score(got, expected, noise)) <= 1.0)


def compare(got, expected, noise=0.0, *, what, mistakes=None, factors=None):
    """The largest error score of ``got`` against ``expected``; :class:`Reject` above 1.

    got, expected, noise: numbers or arrays of one shape.
    mistakes: {message key under "mistake.": what that mistake would give}, or a function of no
        arguments that returns it, called only when ``got`` fails (for mistakes costly to replay).
    factors: {name: value} of sizes a missing mean could divide by, e.g. {"N": 4}.
    """
    got = np.asarray(got, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scores = error_score(got, expected, noise)
    worst = float(np.max(scores))
    if worst <= 1.0:
        return worst
    lines = [text("check.mismatch", what=what, score=worst)]
    hint = recognise(got, expected, noise, (mistakes() if callable(mistakes) else mistakes) or {}, factors or {})
    if hint:
        lines.append(hint)
    lines.append(where(got, expected, scores))
    raise Reject("\n".join(lines))


def reject_if_numerical(got, exact, noise, *, what):
    """:class:`Reject` when ``got`` matches finite differences but not the exact derivative.

    An analytic answer differs from the exact reference by rounding only (a
    few units in the last place of the values involved); a finite-difference
    answer differs by at least its own rounding noise ``noise`` (eps |f| / h).
    Passing requires |got - exact| <= 1e-12 max|exact| + 1e-2 noise, far below
    finite-difference accuracy (measured in tests/test_checks.py).
    """
    got = np.asarray(got, dtype=np.float64)
    exact = np.asarray(exact, dtype=np.float64)
    tolerance = 1e-12 * np.max(np.abs(exact), initial=0.0) + 1e-2 * np.asarray(noise) + 1e-300
    if np.any(np.abs(got - exact) > tolerance):
        raise Reject(text("check.numerical_not_analytic", what=what))


def recognise(got, expected, noise, mistakes, factors):
    """A sentence naming the likely mistake, or "" when none is recognised."""
    for key, predicted in mistakes.items():
        predicted = np.asarray(predicted, dtype=np.float64)
        if predicted.shape == got.shape and np.all(np.isfinite(predicted)) and passes(got, predicted, noise):
            return text("mistake." + key)
    flat_e, flat_g = expected.ravel(), got.ravel()
    norm = float(flat_e @ flat_e)
    if norm > 0:
        c = float(flat_g @ flat_e) / norm
        if c != 0 and passes(got, c * expected, noise):
            hint = scalar_multiple(c, factors)
            # one number is always some multiple of another: say so only for a factor that names a mistake
            if got.size > 1 or hint != text("mistake.multiple", factor=c):
                return hint
    if got.ndim == 2 and got.shape[0] == got.shape[1] and passes(got, expected.T, noise):
        return text("mistake.transposed")
    return ""



def where(got, expected, scores):
    """Which entries are wrong: how many, and the worst few as (index, expected, got)."""
    wrong = scores > 1.0
    if got.ndim == 0:
        return text("check.entry_scalar", expected=float(expected), got=float(got))
    order = np.argsort(scores, axis=None)[::-1][: min(WORST_SHOWN, int(wrong.sum()))]
    rows = []
    for flat in order:
        index = np.unravel_index(flat, got.shape)
        index = tuple(int(i) for i in index)
        rows.append(text("check.entry_row", index=index if len(index) > 1 else index[0],
                         expected=float(expected[index]), got=float(got[index]),
                         score=float(scores[index])))
    head = text("check.entries_wrong", wrong=int(wrong.sum()), total=got.size)
    return "\n".join([head] + rows)
