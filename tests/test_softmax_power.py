"""The power of notebook 05's checks over many seeds and sizes.

Every correct alternative of tests/exercises/nb05.py passes its check on 200
seeds, each with other sizes; every wrong implementation fails on each of the
first 100 (a mistake must not slip through on a lucky draw of logits or labels).
"""

import warnings

import numpy as np
import pytest

import autograder
from exercises.nb05 import EXERCISES

SEEDS = range(200)
WRONG_SEEDS = range(100)

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
    failures = [(name, seed) for seed in SEEDS for name, right in exercise.right.items()
                if not _passes(exercise, right, _params(CHECKS[exercise.test_cell], seed))]
    capsys.readouterr()
    assert not failures, failures[:10]


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.name for e in EXERCISES])
def test_wrong_implementations_fail_on_every_seed(exercise, capsys):
    survivors = [(name, seed) for seed in WRONG_SEEDS for name in exercise.wrong
                 if _passes(exercise, exercise.mistake(name)[0], _params(CHECKS[exercise.test_cell], seed))]
    capsys.readouterr()
    assert not survivors, survivors[:10]
