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
