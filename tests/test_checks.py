"""The generic checks (scalar, R^n -> R, R^n -> R^m) accept right answers and name wrong ones."""

import numpy as np
import pytest

from autograder import check_derivative, check_gradient, check_jacobian
from backproplab.functions import sigmoid

SEEDS = range(20)


def softmax(x):
    z = np.exp(x - x.max())
    return z / z.sum()


def softmax_jacobian(x):
    p = softmax(x)
    return np.diag(p) - np.outer(p, p)


def softmax_jacobian_loops(x):
    p = softmax(x)
    J = np.empty((p.size, p.size))
    for j in range(p.size):
        for i in range(p.size):
            J[j, i] = p[j] * ((i == j) - p[i])
    return J


def pairs_jacobian(x):
    n = x.size
    J = np.zeros((2 * n - 1, n))
    for j in range(n - 1):
        J[j, j], J[j, j + 1] = x[j + 1], x[j]
    J[n - 1:, :] = np.diag(np.cos(x))
    return J


def rosenbrock_gradient(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def logsumexp_gradient(x):
    return softmax(x)


# -- derivatives of scalar functions ----------------------------------------------------

RIGHT_DERIVATIVES = {
    "sigmoid": [lambda x: sigmoid(x) * (1 - sigmoid(x)), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2],
    "tanh": [lambda x: 1 - np.tanh(x) ** 2, lambda x: 1 / np.cosh(x) ** 2],
    "log": [lambda x: 1 / x],
    "inverse": [lambda x: -1 / x**2],
}

WRONG_DERIVATIVES = {
    ("sigmoid", "sigma' = sigma"): (lambda x: sigmoid(x), "f(x) itself"),
    ("sigmoid", "missing (1 - s)"): (lambda x: sigmoid(x) ** 2, None),
    ("tanh", "1 - tanh"): (lambda x: 1 - np.tanh(x), None),
    ("tanh", "sign"): (lambda x: np.tanh(x) ** 2 - 1, "sign is flipped"),
    ("cube", "factor 2"): (lambda x: 6 * x**2, "factor of two"),
    ("inverse", "lost the sign"): (lambda x: 1 / x**2, "sign is flipped"),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("function", sorted(RIGHT_DERIVATIVES))
def test_right_derivatives_pass(function, seed):
    for df in RIGHT_DERIVATIVES[function]:
        check_derivative(df, function=function, seed=seed)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("case", sorted(WRONG_DERIVATIVES), ids=lambda c: "-".join(c))
def test_wrong_derivatives_fail_with_their_diagnosis(case, seed):
    df, diagnosis = WRONG_DERIVATIVES[case]
    with pytest.raises(AssertionError) as info:
        check_derivative(df, function=case[0], seed=seed)
    if diagnosis:
        assert diagnosis in str(info.value)


# -- gradients of R^n -> R ------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_right_gradients_pass(seed):
    check_gradient(lambda x: np.arange(1, x.size + 1) * x, function="bowl", seed=seed, n=4)
    check_gradient(rosenbrock_gradient, function="rosenbrock", seed=seed, n=3)
    check_gradient(logsumexp_gradient, function="logsumexp", seed=seed, n=6)
    check_gradient(lambda x: x / np.linalg.norm(x), function="norm", seed=seed, n=5)


WRONG_GRADIENTS = {
    "bowl missing weights": ("bowl", lambda x: x, None),
    "bowl factor 2": ("bowl", lambda x: 2 * np.arange(1, x.size + 1) * x, "factor of two"),
    "logsumexp sum not 1": ("logsumexp", lambda x: np.exp(x), None),
    "norm divided by n": ("norm", lambda x: x / np.linalg.norm(x) / x.size, "extra division by n"),
    "norm times n": ("norm", lambda x: x.size * x / np.linalg.norm(x), "missing 1/n"),
    "rosenbrock one term": ("rosenbrock", lambda x: np.append(-2 * (1 - x[:-1]), 0.0), None),
    "wrong shape": ("bowl", lambda x: (np.arange(1, x.size + 1) * x)[:, None], "shape"),
    "a list": ("bowl", lambda x: list(np.arange(1, x.size + 1) * x), "numpy array"),
    "nan entry": ("bowl", lambda x: np.where(np.arange(x.size) == 2, np.nan, x), "NaN"),
}


@pytest.mark.parametrize("seed", SEEDS[:5])
@pytest.mark.parametrize("case", sorted(WRONG_GRADIENTS))
def test_wrong_gradients_fail_with_their_diagnosis(case, seed):
    function, grad, diagnosis = WRONG_GRADIENTS[case]
    with pytest.raises(AssertionError) as info:
        check_gradient(grad, function=function, seed=seed, n=5)
    if diagnosis:
        assert diagnosis in str(info.value)


# -- Jacobians of R^n -> R^m -------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_right_jacobians_pass(seed):
    check_jacobian(softmax_jacobian, function="softmax", seed=seed, n=5)
    check_jacobian(softmax_jacobian_loops, function="softmax", seed=seed, n=3)
    check_jacobian(pairs_jacobian, function="pairs", seed=seed, n=4)
    check_jacobian(lambda x: np.diag(1 - np.tanh(x) ** 2), function="tanh", seed=seed, n=4)


WRONG_JACOBIANS = {
    "softmax diagonal only": ("softmax", lambda x: np.diag(np.diag(softmax_jacobian(x))), "only the diagonal"),
    "softmax sign": ("softmax", lambda x: -softmax_jacobian(x), "sign is flipped"),
    "softmax p(1-p) everywhere": ("softmax", lambda x: np.outer(softmax(x), 1 - softmax(x)), None),
    "pairs transposed": ("pairs", lambda x: pairs_jacobian(x).T, "transpose"),
    "tanh 1 - tanh": ("tanh", lambda x: np.diag(1 - np.tanh(x)), None),
    "tanh vector not matrix": ("tanh", lambda x: 1 - np.tanh(x) ** 2, "shape"),
}


@pytest.mark.parametrize("seed", SEEDS[:5])
@pytest.mark.parametrize("case", sorted(WRONG_JACOBIANS))
def test_wrong_jacobians_fail_with_their_diagnosis(case, seed):
    function, jac, diagnosis = WRONG_JACOBIANS[case]
    with pytest.raises(AssertionError) as info:
        check_jacobian(jac, function=function, seed=seed, n=4)
    if diagnosis:
        assert diagnosis in str(info.value)


def test_a_transposed_square_matrix_is_named():
    # a non-symmetric square Jacobian: pairs with n = 1 is 1 x 1, so build one from the diagnosis directly
    from autograder.contract import Reject
    from autograder.diagnose import compare

    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(Reject, match="transpose"):
        compare(expected.T, expected, what="J")


# -- an answer that is really a finite difference is told apart --------------------------------

from backproplab import functions as _functions
from backproplab import numeric as _numeric


CASES_NUMERICAL = [(f, h) for f in ["rosenbrock", "logsumexp", "norm"] for h in [1e-4, 1e-5, 1e-6, 1e-7]]
# On a quadratic the central difference has no truncation error: with a large step its
# rounding can fall below what tells it apart, so only small steps are claimed there.
CASES_NUMERICAL += [("bowl", 1e-6), ("bowl", 1e-7)]


@pytest.mark.parametrize("function,step", CASES_NUMERICAL)
def test_a_finite_difference_gradient_is_rejected_as_numerical(function, step):
    f = _functions.TO_SCALAR[function].forward
    with pytest.raises(AssertionError, match="numerical approximation"):
        check_gradient(lambda x: _numeric.numerical_gradient(f, x, step), function=function, seed=3, n=4)


@pytest.mark.parametrize("seed", range(50))
def test_analytic_gradients_computed_another_way_are_not_taken_for_numerical(seed):
    check_gradient(rosenbrock_gradient, function="rosenbrock", seed=seed, n=5)
    check_gradient(lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum(), function="logsumexp", seed=seed, n=6)
    check_gradient(lambda x: x / np.sqrt(x @ x), function="norm", seed=seed, n=5)
    check_gradient(lambda x: np.array([(i + 1) * v for i, v in enumerate(x)]), function="bowl", seed=seed, n=4)
