"""Gradient descent (backproplab.descent) and the checks of notebook 01's gradient exercises."""

import numpy as np
import pytest

from autograder import check_gradient_descent, check_numerical_gradient
from backproplab import descent, functions
from exercises.nb01 import GRADIENT_DESCENT, NUMERICAL_GRADIENT, _ng_forward


def bowl_grad(x):
    return np.array([1.0, 10.0]) * x  # f = (x1^2 + 10 x2^2) / 2


# -- the reference loop -------------------------------------------------------------------

def test_path_starts_at_x0_and_has_one_row_per_step():
    path = descent.gradient_descent(bowl_grad, [1.0, 1.0], 0.05, 7)
    assert path.shape == (8, 2)
    assert np.array_equal(path[0], [1.0, 1.0])


def test_each_row_is_one_step_against_the_gradient():
    path = descent.gradient_descent(bowl_grad, [1.5, -0.5], 0.07, 5)
    for a, b in zip(path[:-1], path[1:]):
        assert np.allclose(b, a - 0.07 * bowl_grad(a), rtol=0, atol=1e-15)


def test_a_quadratic_contracts_by_one_minus_rate_times_curvature():
    # on f = c x^2 / 2 each step multiplies x by (1 - rate * c): a property, not a memorised number
    for rate, c in [(0.1, 1.0), (0.05, 10.0), (0.3, 3.0)]:
        path = descent.gradient_descent(lambda x: c * x, 2.0, rate, 6)
        assert np.allclose(path[:, 0], 2.0 * (1 - rate * c) ** np.arange(7))


def test_descent_lowers_a_smooth_function_with_a_small_step():
    f = functions.TO_SCALAR["rosenbrock"]
    x0 = f.sample(np.random.default_rng(3), 4)
    path = descent.gradient_descent(f.gradient, x0, 2e-4, 50)
    values = [f.forward(x) for x in path]
    assert all(b <= a for a, b in zip(values, values[1:]))


def test_a_step_beyond_two_over_the_curvature_diverges():
    path = descent.gradient_descent(lambda x: 2 * x, 1.0, 1.1, 10)  # factor 1 - 2.2 = -1.2
    assert np.all(np.abs(path[1:, 0]) > np.abs(path[:-1, 0]))


def test_x0_is_not_changed():
    x0 = np.array([1.0, 2.0])
    descent.gradient_descent(bowl_grad, x0, 0.1, 3)
    assert np.array_equal(x0, [1.0, 2.0])


def test_tol_stops_where_the_gradient_is_small_and_converged_finds_it():
    path = descent.gradient_descent(bowl_grad, [1.0, 1.0], 0.05, 1000, tol=1e-6)
    assert len(path) < 1001
    assert np.linalg.norm(bowl_grad(path[-1])) <= 1e-6
    assert descent.converged(path, bowl_grad, 1e-6) == len(path) - 1
    assert descent.converged(path[:3], bowl_grad, 1e-6) is None


def test_zero_steps_give_x0_alone():
    assert descent.gradient_descent(bowl_grad, [3.0, 4.0], 0.1, 0).tolist() == [[3.0, 4.0]]


@pytest.mark.parametrize("args,match", [
    ((None, [1.0], 0.1, 3), "grad must be a function"),
    ((bowl_grad, [1.0, np.nan], 0.1, 3), "x0 must be"),
    ((bowl_grad, [1.0, 1.0], -0.1, 3), "learning_rate"),
    ((bowl_grad, [1.0, 1.0], 0.1, 2.5), "steps"),
    ((bowl_grad, [1.0, 1.0], 0.1, -1), "steps"),
    ((lambda x: np.ones(3), [1.0, 1.0], 0.1, 2), r"shape \(2,\)"),
])
def test_bad_input_says_what_was_expected(args, match):
    with pytest.raises((TypeError, ValueError), match=match):
        descent.gradient_descent(*args)


# -- the checks: right answers pass over many seeds, twins fail ---------------------------

# the right and wrong answers are the exercise catalogue's, not copies of them
numerical_gradient = NUMERICAL_GRADIENT.right["loop over copies"]
gradient_descent = GRADIENT_DESCENT.right["list of points"]


@pytest.mark.parametrize("n", [2, 3, 5, 7])
def test_check_numerical_gradient_passes_every_right_answer_on_many_seeds(n, capsys):
    for right in NUMERICAL_GRADIENT.right.values():
        for seed in range(40):
            check_numerical_gradient(right, seed=seed, n=n, count=8)
    assert capsys.readouterr().out.count("OK ") == 40 * len(NUMERICAL_GRADIENT.right)


def test_check_numerical_gradient_rejects_a_forward_difference_naming_it():
    with pytest.raises(AssertionError, match="forward difference"):
        check_numerical_gradient(_ng_forward, seed=1)


def test_check_numerical_gradient_rejects_a_changed_x():
    def shifts(f, x, h=1e-5):
        grad = numerical_gradient(f, x, h)
        x[-1] += h
        return grad

    with pytest.raises(AssertionError, match="changed its input x"):
        check_numerical_gradient(shifts, seed=1)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_check_gradient_descent_passes_every_right_answer_on_many_seeds(n, capsys):
    for right in GRADIENT_DESCENT.right.values():
        for seed in range(40):
            check_gradient_descent(right, seed=seed, n=n, count=6)
    assert capsys.readouterr().out.count("OK ") == 40 * len(GRADIENT_DESCENT.right)


def test_check_gradient_descent_cases_stay_bounded():
    from autograder.contract import REGISTRY

    check = REGISTRY["gradient_descent"]
    for seed in range(100):
        for case in check.cases({"seed": seed, "count": 6, "n": 6}):
            g = functions.TO_SCALAR[case.data["function"]].gradient
            path = descent.gradient_descent(g, case.data["x0"], case.data["learning_rate"], case.data["steps"])
            assert np.all(np.abs(path) < 10)


def test_check_gradient_descent_names_ascent():
    with pytest.raises(AssertionError, match="climbs"):
        check_gradient_descent(lambda g, x0, lr, k: gradient_descent(lambda x: -g(x), x0, lr, k), seed=1)


def test_check_gradient_descent_rejects_a_changed_x0():
    def in_place(grad, x0, learning_rate, steps):
        path = [x0.copy()]
        for _ in range(steps):
            x0 -= learning_rate * grad(x0)
            path.append(x0.copy())
        return np.array(path)

    with pytest.raises(AssertionError, match="changed its input x0"):
        check_gradient_descent(in_place, seed=1)


def test_check_gradient_descent_says_when_x0_is_missing():
    with pytest.raises(AssertionError, match="starts with x0"):
        check_gradient_descent(lambda g, x0, lr, k: gradient_descent(g, x0, lr, k)[1:], seed=1)


def test_check_numerical_gradient_accepts_a_restore_by_arithmetic():
    # x[i] += h, x[i] -= 2h, x[i] += h may leave rounding in x: that is not a changed input
    def arithmetic(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in range(x.size):
            x[i] += h
            fp = f(x)
            x[i] -= 2 * h
            fm = f(x)
            x[i] += h
            grad[i] = (fp - fm) / (2 * h)
        return grad

    for seed in range(20):
        check_numerical_gradient(arithmetic, seed=seed, n=5, count=8)
