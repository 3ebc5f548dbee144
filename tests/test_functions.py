"""The named test functions: analytic gradients agree with central differences, samplers stay in their domains."""

import numpy as np
import pytest

from backproplab import functions, numeric

WITH_GRADIENT = sorted(name for name, f in functions.TO_SCALAR.items() if f.gradient is not None)


def test_every_function_to_a_scalar_has_an_analytic_gradient():
    assert WITH_GRADIENT == sorted(functions.TO_SCALAR)


# rosenbrock has no term with one coordinate, so it starts at n = 2
SIZES = [(name, n) for name in WITH_GRADIENT for n in [1, 2, 3, 5, 7] if not (name == "rosenbrock" and n == 1)]


@pytest.mark.parametrize("name,n", SIZES)
def test_analytic_gradient_matches_central_differences(name, n):
    function = functions.TO_SCALAR[name]
    rng = np.random.default_rng(n)
    for _ in range(10):
        x = function.sample(rng, n)
        grad, noise = numeric.numerical_gradient(function.forward, x, with_noise=True)
        analytic = function.gradient(x.copy())
        assert analytic.shape == x.shape
        assert np.max(numeric.error_score(analytic, grad, noise)) <= 1.0


@pytest.mark.parametrize("name", WITH_GRADIENT)
def test_analytic_gradient_leaves_its_input_alone(name):
    function = functions.TO_SCALAR[name]
    x = function.sample(np.random.default_rng(0), 4)
    before = x.copy()
    function.gradient(x)
    assert np.array_equal(x, before)


def test_a_wrong_gradient_would_be_caught():
    # the twin: the bowl's gradient without its weights j fails the same comparison
    function = functions.TO_SCALAR["bowl"]
    x = function.sample(np.random.default_rng(1), 4)
    grad, noise = numeric.numerical_gradient(function.forward, x, with_noise=True)
    assert np.max(numeric.error_score(x, grad, noise)) > 1e3


def test_existing_entries_keep_their_behaviour():
    assert functions.TO_SCALAR["bowl"].forward(np.array([1.0, 1.0])) == 1.5
    assert functions.TO_SCALAR["bowl"].out_size(5) == 1
    assert functions.SCALAR["sin"].gradient is None
    with pytest.raises(KeyError, match="known"):
        functions.lookup(functions.TO_SCALAR, "nope")


# -- the sigmoid: accurate in relative terms in both tails ----------------------------

SIGMOID_GRID = np.union1d(np.linspace(-700.0, 700.0, 20001), np.arange(-700.0, 701.0))


def assert_sigmoid_accurate(s, x):
    """s ~ expit(x) within 1e-12 relative; log s ~ log_expit(x), relative where |log| > 1, else absolute."""
    from scipy.special import expit, log_expit

    s, x = np.asarray(s, dtype=np.float64), np.asarray(x, dtype=np.float64)
    expected, log_expected = expit(x), log_expit(x)
    assert np.all(s > 0), f"sigmoid is 0 at x = {x[s <= 0].max()}"
    assert np.max(np.abs(s - expected) / expected) <= 1e-12
    log_error = np.abs(np.log(s) - log_expected)
    big = np.abs(log_expected) > 1
    assert np.max(log_error[big] / np.abs(log_expected[big])) <= 1e-12
    assert np.max(log_error[~big]) <= 1e-12


def test_sigmoid_matches_scipy_expit_and_log_expit_on_arrays_from_minus_700_to_700():
    with np.errstate(all="raise"):
        s = functions.sigmoid(SIGMOID_GRID)
        matrix = functions.sigmoid(SIGMOID_GRID[:20000].reshape(200, 100))
    assert s.shape == SIGMOID_GRID.shape and s.dtype == np.float64
    assert_sigmoid_accurate(s, SIGMOID_GRID)
    assert np.array_equal(matrix.ravel(), s[:20000])


def test_sigmoid_of_a_number_is_a_number_and_accurate_in_both_tails():
    x = SIGMOID_GRID[::7]
    with np.errstate(all="raise"):
        numbers = [functions.sigmoid(float(t)) for t in x]
        floats = [functions.sigmoid_of_number(float(t)) for t in x]
    assert all(type(v) is np.float64 for v in numbers) and all(type(v) is float for v in floats)
    assert_sigmoid_accurate(numbers, x)
    assert_sigmoid_accurate(floats, x)
    assert functions.sigmoid(0.0) == functions.sigmoid_of_number(0.0) == 0.5
