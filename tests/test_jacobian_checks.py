"""The checks of notebook 06 accept right answers over many seeds and name the likely mistake of wrong ones."""

import numpy as np
import pytest

from autograder import check_dense_vjp, check_linear_jacobians, check_numerical_jacobian, check_sigmoid_jacobian
from autograder.checks.jacobians import memory_limit
from backproplab import jacobians
from exercises import nb06

SEEDS = range(30)


# -- right answers pass -----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_right_numerical_jacobians_pass(seed):
    for fn in nb06.NUMERICAL_JACOBIAN.right.values():
        check_numerical_jacobian(fn, seed=seed, n=3 + seed % 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_linear_jacobians_pass(seed):
    for fn in nb06.LINEAR_JACOBIANS.right.values():
        check_linear_jacobians(fn, seed=seed, n=1 + seed % 4, d=2 + seed % 3, m=1 + seed % 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_sigmoid_jacobians_pass(seed):
    for fn in nb06.SIGMOID_JACOBIAN.right.values():
        check_sigmoid_jacobian(fn, seed=seed, n=1 + seed % 4, m=2 + seed % 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_dense_vjps_pass(seed):
    for fn in nb06.DENSE_VJP.right.values():
        check_dense_vjp(fn, seed=seed, n=2 + seed % 4, d=3 + seed % 3, m=1 + seed % 5)
    check_dense_vjp(jacobians.dense_vjp, seed=seed)


# -- twins that must fail, with their diagnosis --------------------------------------------------------

WRONG = [
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN, "rows per input: (n, m), the transpose", "transpose"),
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN, "forward difference", "forward difference"),
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN, "fixed step, h ignored", "was ignored"),
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN, "perturbs x in place without restoring", "changed"),
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN, "only the first column", "only the first column"),
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN, "every coordinate at once", "moved at once"),
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN, "divides by h", "factor of two"),
    (check_linear_jacobians, nb06.LINEAR_JACOBIANS, "W instead of W^T", "transpose"),
    (check_linear_jacobians, nb06.LINEAR_JACOBIANS, "W^T tiled in every block", "repeated in every block"),
    (check_linear_jacobians, nb06.LINEAR_JACOBIANS, "Kronecker order swapped in d out/dx", "Kronecker"),
    (check_linear_jacobians, nb06.LINEAR_JACOBIANS, "Kronecker order swapped in d out/dW", "Kronecker"),
    (check_linear_jacobians, nb06.LINEAR_JACOBIANS, "first row of x for every sample", "first row of x"),
    (check_linear_jacobians, nb06.LINEAR_JACOBIANS, "finite differences instead of the formula", "numerical approximation"),
    (check_linear_jacobians, nb06.LINEAR_JACOBIANS, "only d out/dx", "as a tuple"),
    (check_sigmoid_jacobian, nb06.SIGMOID_JACOBIAN, "the slopes as a vector", "shape"),
    (check_sigmoid_jacobian, nb06.SIGMOID_JACOBIAN, "s instead of s'", "derivative s'(z)"),
    (check_sigmoid_jacobian, nb06.SIGMOID_JACOBIAN, "z (1 - z)", "z (1 - z)"),
    (check_sigmoid_jacobian, nb06.SIGMOID_JACOBIAN, "slope at the output, s'(s(z))", "at the output"),
    (check_sigmoid_jacobian, nb06.SIGMOID_JACOBIAN, "flattened column by column", "column by column"),
    (check_sigmoid_jacobian, nb06.SIGMOID_JACOBIAN, "finite differences instead of the formula", "numerical approximation"),
    (check_dense_vjp, nb06.DENSE_VJP, "forms the Jacobians", "MB at its peak"),
    (check_dense_vjp, nb06.DENSE_VJP, "forms the diagonal matrix of slopes", "MB at its peak"),
    (check_dense_vjp, nb06.DENSE_VJP, "missing the sigmoid's slope", "slope s'(a)"),
    (check_dense_vjp, nb06.DENSE_VJP, "s instead of s'", "derivative s'(z)"),
    (check_dense_vjp, nb06.DENSE_VJP, "dW transposed, g^T x", "transpose"),
    (check_dense_vjp, nb06.DENSE_VJP, "db averaged over rows", "1/N"),
    (check_dense_vjp, nb06.DENSE_VJP, "W instead of W^T", "raised"),
    (check_dense_vjp, nb06.DENSE_VJP, "finite differences instead of the formula", "numerical approximation"),
    (check_dense_vjp, nb06.DENSE_VJP, "multiplies dout in place", "changed its input dout"),
]


@pytest.mark.parametrize("seed", [0, 3, 17])
@pytest.mark.parametrize("check,exercise,mistake,diagnosis", WRONG, ids=[w[2] for w in WRONG])
def test_wrong_answers_fail_with_their_diagnosis(check, exercise, mistake, diagnosis, seed):
    with pytest.raises(AssertionError) as info:
        check(exercise.wrong[mistake], seed=seed)
    assert diagnosis in str(info.value), str(info.value)


def test_a_numerical_jacobian_that_changes_x_is_named():
    with pytest.raises(AssertionError, match="changed its input x"):
        check_numerical_jacobian(nb06.NUMERICAL_JACOBIAN.wrong["perturbs x in place without restoring"], seed=1)


def test_the_memory_limit_lies_between_an_honest_vjp_and_the_diagonal_of_slopes():
    for n, d, m in ([24, 30, 20], [32, 20, 28], [20, 36, 24]):
        honest = 8 * (n * d + d * m + 2 * n * m + m)        # the inputs' bytes and a few more
        diagonal = 8 * (n * m) ** 2                         # diag(s') alone, (N M, N M)
        assert 8 * honest < memory_limit(n, d, m) < diagonal / 3


def test_a_vjp_checked_with_dout_of_ones_would_miss_an_ignored_dout_but_this_check_does_not():
    with pytest.raises(AssertionError):
        check_dense_vjp(nb06.DENSE_VJP.wrong["dout ignored (ones)"], seed=5)
