"""Forward mode with dual numbers: tangents agree with finite differences and with reverse mode."""

import numpy as np
import pytest

from backproplab import numeric
from backproplab.dual import Dual, as_dual, derivative, gradient
from backproplab.value import Value

FUNCTIONS = {
    "product and quotient": (lambda x: x * (x + 2) / (1 + x * x), lambda x: x * (x + 2) / (1 + x * x)),
    "chain": (lambda x: (x.sin() * x.cos()).exp(), lambda x: np.exp(np.sin(x) * np.cos(x))),
    "log and power": (lambda x: (x * x + 1).log() + x**3 - 2 / x, lambda x: np.log(x * x + 1) + x**3 - 2 / x),
    "tanh sigmoid relu": (lambda x: x.tanh() * x.sigmoid() + (x - 0.1).relu() - x,
                          lambda x: np.tanh(x) / (1 + np.exp(-x)) + max(x - 0.1, 0) - x),
    "reflected": (lambda x: 3 - x + 2 * x - 1 / x + (1 + x), lambda x: 3 - x + 2 * x - 1 / x + (1 + x)),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
@pytest.mark.parametrize("seed", range(6))
def test_one_sweep_gives_value_and_derivative(name, seed):
    f, reference = FUNCTIONS[name]
    x = float(np.random.default_rng(seed).uniform(0.3, 2.0))
    out = f(Dual(x, 1.0))
    assert out.value == pytest.approx(reference(x), rel=1e-12)
    num = numeric.central_difference(reference, x)
    assert np.max(numeric.error_score(out.tangent, num, 1e-10 * abs(reference(x)))) <= 1
    assert derivative(f, x) == out.tangent


def test_tangent_is_linear_in_the_seed():
    f = FUNCTIONS["chain"][0]
    assert f(Dual(0.7, -2.5)).tangent == pytest.approx(-2.5 * f(Dual(0.7, 1.0)).tangent)
    assert f(Dual(0.7, 0.0)).tangent == 0.0


def test_gradient_takes_one_sweep_per_input_and_matches_reverse_mode():
    def f(xs):
        return sum((xs[i] * xs[i + 1]).tanh() for i in range(len(xs) - 1)) + xs[0].exp()

    x = np.random.default_rng(0).uniform(-1, 1, 7)
    grad, sweeps = gradient(f, x)
    assert sweeps == 7
    leaves = [Value(v) for v in x]
    f(leaves).backward()
    assert grad == pytest.approx([leaf.grad for leaf in leaves], rel=1e-12)


def test_e_graph_forward_mode_from_b():
    a, b = Dual(2.0, 0.0), Dual(1.0, 1.0)
    c, d = a + b, b + 1
    e = c * d
    assert (c.value, d.value, e.value) == (3.0, 2.0, 6.0)
    assert (a.tangent, b.tangent, c.tangent, d.tangent, e.tangent) == (0.0, 1.0, 1.0, 1.0, 5.0)


@pytest.mark.parametrize("bad, error", [
    (lambda: Dual("1"), TypeError),
    (lambda: Dual(1.0, float("inf")), ValueError),
    (lambda: Dual(1.0) * "x", TypeError),
    (lambda: Dual(1.0) / 0.0, ZeroDivisionError),
    (lambda: Dual(-1.0).log(), ValueError),
    (lambda: Dual(-1.0) ** 0.5, ValueError),
])
def test_bad_input_raises_a_clear_error(bad, error):
    with pytest.raises(error):
        bad()


def test_numbers_become_constants():
    c = as_dual(4)
    assert (c.value, c.tangent) == (4.0, 0.0) and as_dual(c) is c


def test_results_keep_the_class_of_the_left_operand():
    class Mine(Dual):
        pass

    x = Mine(1.3, 1.0)
    for out in (x + 1, 1 + x, x - 2, 2 - x, x * 3, 3 * x, x / 2, 2 / x, -x, x**2, x.sin(), x.exp(), 1 + x * x):
        assert type(out) is Mine
    assert type(Dual(1.0) + 1) is Dual


def test_work_counts_one_forward_sweep_per_input():
    from backproplab import dual

    dual.work["sweeps"] = 0
    gradient(lambda xs: xs[0] * xs[1] + xs[2], [1.0, 2.0, 3.0])
    derivative(lambda x: x * x, 2.0)
    assert dual.work["sweeps"] == 4


def test_sigmoid_matches_scipy_expit_and_log_expit_from_minus_700_to_700():
    from test_functions import SIGMOID_GRID, assert_sigmoid_accurate

    with np.errstate(all="raise"):
        outs = [Dual(float(x), -1.5).sigmoid() for x in SIGMOID_GRID]
    values = np.array([d.value for d in outs])
    assert_sigmoid_accurate(values, SIGMOID_GRID)
    # the tangent rule s (1 - s) t
    assert np.array_equal([d.tangent for d in outs], values * (1.0 - values) * -1.5)
