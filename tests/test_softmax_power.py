"""The power of notebook 05's checks over many seeds and sizes.

What it measures: for each graded exercise of notebook 05, over seeds that also
vary the check's sizes (N and C from 2 to 7, N != C; the hand step's and the
loop's layer widths, sample counts, epochs and step sizes), that

- every correct alternative of tests/exercises/nb05.py passes its check on every
  seed (no false alarm from a draw of logits, labels or sizes), and
- every wrong implementation fails on every seed of a smaller set (a mistake must
  not slip through on a lucky draw).

The cheap checks run 36 seeds for the right ones (every pair of N and C) and 12
for the wrong ones; the hand step and the training loop, whose cases run a
network, 12 and 6 seeds spread over the range so that their sizes still vary.
The whole file takes about 25 s of CPU (under three minutes on a loaded machine).
"""

import warnings

import numpy as np
import pytest

import autograder
from exercises.nb05 import EXERCISES

SLOW = ("hand_step", "sgd_training")


def _seeds(name, wrong):
    """The seeds of one check: every (N, C) pair for the cheap ones, a spread for the networks."""
    if name in SLOW:
        return range(0, 6 * 17, 17) if wrong else range(0, 12 * 17, 17)
    return range(0, 12 * 7, 7) if wrong else range(36)

pytestmark = pytest.mark.slow


CHECKS = {"softmax_test": "softmax", "cross_entropy_test": "cross_entropy", "sce_forward_test": "softmax_ce_forward",
          "sce_backward_test": "softmax_ce_backward", "last_layer_gradients_test": "last_layer_gradients",
          "hand_step_test": "hand_step", "train_test": "sgd_training"}


def _params(name, seed):
    """The check's parameters for this seed: sizes from 2 to 7, N != C."""
    n, c = 2 + seed % 6, 2 + (seed // 6) % 6
    if name == "sgd_training":
        return {"seed": seed, "n": 8 + seed % 8, "sizes": [2 + seed % 3, 2 + seed % 4, c], "epochs": 2 + seed % 2,
                "lr": 0.1 + 0.1 * (seed % 5)}
    if name == "hand_step":
        sizes = [2 + seed % 4, 2 + (seed // 4) % 4, 2 + (seed // 16) % 4, c]
        return {"seed": seed, "n": n if n != c else n + 1, "sizes": sizes, "count": 1}
    if name == "last_layer_gradients":
        d = 1 + (seed // 6) % 6
        return {"seed": seed, "n": n, "d": d if d != c else d + 1, "m": c, "count": 1}
    if c == n:
        c += 1
    if name == "softmax":
        return {"seed": seed, "n": n, "c": c}
    return {"seed": seed, "n": n, "c": c, "count": 1}  # one random case per seed (and the large logits)


def _passes(exercise, implementation, params):
    check = getattr(autograder, "check_" + CHECKS[exercise.test_cell])
    student = exercise.names(implementation)[exercise.name]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            check(student, **params)
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_right_implementations_pass_on_every_seed(exercise, capsys):
    check = CHECKS[exercise.test_cell]
    failures = [(name, seed) for seed in _seeds(check, False) for name, right in exercise.right.items()
                if not _passes(exercise, right, _params(check, seed))]
    capsys.readouterr()
    assert not failures, failures[:10]


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_wrong_implementations_fail_on_every_seed(exercise, capsys):
    check = CHECKS[exercise.test_cell]
    survivors = [(name, seed) for seed in _seeds(check, True) for name in exercise.wrong
                 if _passes(exercise, exercise.mistake(name)[0], _params(check, seed))]
    capsys.readouterr()
    assert not survivors, survivors[:10]
