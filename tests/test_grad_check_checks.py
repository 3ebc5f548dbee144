"""The checks of notebook 01's gradient checking: the error score, grad_check, and two derivatives by hand."""

import numpy as np
import pytest

from autograder import check_bowl_gradient, check_error_score, check_grad_check, check_well_derivative
from autograder.checks import grad_check as module
from autograder.contract import REGISTRY
from backproplab import functions, numeric
from exercises.nb01 import BOWL_GRADIENT, ERROR_SCORE, GRAD_CHECK, WELL_DERIVATIVE

# the right and wrong answers are the exercise catalogue's, not copies of them
CHECKS = [(ERROR_SCORE, lambda f, s: check_error_score(f, seed=s, count=14)),
          (GRAD_CHECK, lambda f, s: check_grad_check(f, seed=s, n=2 + s % 5, count=12)),
          (BOWL_GRADIENT, lambda f, s: check_bowl_gradient(f, seed=s, count=8)),
          (WELL_DERIVATIVE, lambda f, s: check_well_derivative(f, seed=s, n=6, count=6))]


@pytest.mark.parametrize("exercise,run", CHECKS, ids=[e.test_cell for e, _ in CHECKS])
def test_every_right_answer_passes_on_many_seeds(exercise, run, capsys):
    for right in exercise.right.values():
        for seed in range(25):
            run(right, seed)
    assert capsys.readouterr().out.count("OK ") == 25 * len(exercise.right)


@pytest.mark.parametrize("exercise,run", CHECKS, ids=[e.test_cell for e, _ in CHECKS])
def test_every_wrong_answer_fails_on_many_seeds(exercise, run):
    for name in exercise.wrong:
        implementation, _ = exercise.mistake(name)
        for seed in range(10):
            with pytest.raises(AssertionError):
                run(implementation, seed)


def test_the_notebooks_score_is_the_librarys_without_its_rounding_allowance():
    rng = np.random.default_rng(0)
    for _ in range(100):
        a, n = rng.normal(size=5), rng.normal(size=5)
        assert np.allclose(module.score(a, n), numeric.error_score(a, n), rtol=1e-14, atol=0)


def test_grad_check_agrees_with_the_librarys_within_its_tolerance_on_wrong_gradients():
    # the tolerance covers the library's extra allowance for the rounding of f: measured under 2%
    check = REGISTRY["grad_check"]
    for seed in range(40):
        for case in check.cases({"seed": seed, "count": 12, "n": 2 + seed % 5}):
            if case.data["variant"] in ("exact", "near_zero"):
                continue
            f, grad = check._pair(case)
            x = case.data["x"]
            ours = float(np.max(module.score(grad(x), module._central(f, x, 1e-5))))
            theirs = numeric.grad_check(f, grad, x)
            assert abs(ours - theirs) <= 0.2 * module.GRAD_CHECK_TOLERANCE * theirs


def test_the_checks_copy_of_the_librarys_grad_check_is_exact():
    check = REGISTRY["grad_check"]
    for seed in range(10):
        for case in check.cases({"seed": seed, "count": 12, "n": 2 + seed % 5}):
            f, grad = check._pair(case)
            assert module._library_grad_check(f, grad, case.data["x"]) == numeric.grad_check(f, grad, case.data["x"])


def test_grad_check_cases_hold_true_zeros_and_a_live_rosenbrock():
    check = REGISTRY["grad_check"]
    near = [c for c in check.cases({"seed": 3, "count": 12, "n": 4}) if c.data["variant"] == "near_zero"]
    assert near and all(np.any(c.data["x"] == 0.0) for c in near)
    for case in check.cases({"seed": 5, "count": 12, "n": 1}):
        if case.data["variant"] == "near_zero":
            continue
        gradient = functions.TO_SCALAR[case.data["function"]].gradient(case.data["x"])
        assert np.any(gradient != 0), case.label


def test_a_grad_check_on_the_mean_is_named():
    with pytest.raises(AssertionError, match="the mean of the scores"):
        check_grad_check(GRAD_CHECK.wrong["mean instead of max"][0], seed=1)


def test_a_finite_difference_is_not_taken_for_a_derivative():
    with pytest.raises(AssertionError, match="numerical approximation"):
        check_bowl_gradient(lambda x: module._central(module._bowl, x, 1e-6), seed=4)
    with pytest.raises(AssertionError, match="numerical approximation"):
        check_well_derivative(lambda x: (module._well(x + 1e-6) - module._well(x - 1e-6)) / 2e-6, seed=4)
