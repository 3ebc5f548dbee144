"""Linear regression by gradient descent, and the synthetic data it is fitted to."""

import numpy as np
import pytest

from backproplab import datasets, numeric, regression


def _problem(seed, n=12, d=3):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(0.5, 2.0, (n, d - 1))])
    y = X @ rng.normal(0, 2, d) + rng.normal(0, 1, n)
    return X, y, rng.normal(0, 1, d)


@pytest.mark.parametrize("seed", range(10))
def test_cost_gradient_matches_central_differences(seed):
    X, y, w = _problem(seed)
    numerical, noise = numeric.numerical_gradient(lambda v: regression.cost(X, y, v), w, with_noise=True)
    assert np.max(numeric.error_score(regression.cost_gradient(X, y, w), numerical, noise)) <= 1


def test_cost_is_half_the_mean_squared_error():
    X, y, w = _problem(1)
    assert regression.cost(X, y, w) == pytest.approx(np.mean((X @ w - y) ** 2) / 2, rel=1e-14)


def test_descent_takes_the_steps_it_is_asked_for():
    X, y, w0 = _problem(2)
    lr = 0.5 * regression.stability_limit(X)
    w, costs = regression.linear_regression_gd(X, y, w0, lr, 3)
    expected = w0.copy()
    for _ in range(3):
        expected = expected - lr * regression.cost_gradient(X, y, expected)
    assert np.allclose(w, expected, rtol=1e-13, atol=0)
    assert costs.shape == (4,) and costs[0] == regression.cost(X, y, w0)
    assert np.all(np.diff(costs) < 0)


def test_descent_with_zero_steps_returns_a_copy_of_w0():
    X, y, w0 = _problem(3)
    before = w0.copy()
    w, costs = regression.linear_regression_gd(X, y, w0, 0.01, 0)
    assert np.array_equal(w, w0) and w is not w0 and costs.shape == (1,)
    regression.linear_regression_gd(X, y, w0, 0.01, 5)
    assert np.array_equal(w0, before)


def test_descent_can_return_the_path_of_the_weights():
    X, y, w0 = _problem(5)
    lr = 0.5 * regression.stability_limit(X)
    w, costs, path = regression.linear_regression_gd(X, y, w0, lr, 4, return_path=True)
    assert path.shape == (5, w0.size)
    assert np.array_equal(path[0], w0) and np.array_equal(path[-1], w)
    assert np.array_equal(costs, [regression.cost(X, y, p) for p in path])
    w_plain, costs_plain = regression.linear_regression_gd(X, y, w0, lr, 4)
    assert np.array_equal(w_plain, w) and np.array_equal(costs_plain, costs)


def test_descent_converges_to_least_squares_below_the_stability_limit_and_diverges_above():
    X, y, w0 = _problem(4)
    limit = regression.stability_limit(X)
    w_ls = regression.least_squares(X, y)
    w, _ = regression.linear_regression_gd(X, y, w0, 0.9 * limit, 3000)
    assert np.allclose(w, w_ls, atol=1e-8)
    assert np.allclose(regression.cost_gradient(X, y, w_ls), 0, atol=1e-10)
    _, costs = regression.linear_regression_gd(X, y, w0, 1.05 * limit, 300)
    assert costs[-1] > 1e3 * costs[0]


def test_design_matrix_puts_the_ones_first():
    X = regression.design_matrix(np.array([2.0, -1.0, 4.0]))
    assert X.tolist() == [[1.0, 2.0], [1.0, -1.0], [1.0, 4.0]]


def test_bad_input_says_what_was_expected():
    X, y, w0 = _problem(5)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        regression.cost(X, y[:-1], w0)
    with pytest.raises(ValueError, match="one per column"):
        regression.cost(X, y, w0[:-1])
    with pytest.raises(ValueError, match="lr"):
        regression.linear_regression_gd(X, y, w0, -0.1, 3)
    with pytest.raises(ValueError, match="steps"):
        regression.linear_regression_gd(X, y, w0, 0.1, 2.5)


def test_synthetic_regression_follows_the_recipe():
    x, y, rng = datasets.synthetic_regression(seed=0)
    assert x.shape == y.shape == (100,) and x[0] == -10 and x[-1] == 10
    fit = regression.least_squares(regression.design_matrix(x), y)
    assert abs(fit[0] - 5) < 1 and abs(fit[1] - 3) < 0.1  # intercept 5, slope 3, noise sd 3
    np.random.seed(0)  # the original recipe draws from the global generator
    np.random.normal(0, 3, 100)
    assert np.array_equal(rng.normal(0, 1, 2), np.random.normal(0, 1, (2, 1)).ravel())


def test_seed_000_weights_are_reproduced():
    # Facure (2017): 100 steps at 0.05 give [5.15990836, 2.95540097]; least squares [5.17942405, 2.95540097]
    x, y, rng = datasets.synthetic_regression(seed=0)
    X = regression.design_matrix(x)
    w, _ = regression.linear_regression_gd(X, y, rng.normal(0, 1, 2), 0.05, 100)
    assert np.round(w, 8).tolist() == [5.15990836, 2.95540097]
    assert np.round(regression.least_squares(X, y), 8).tolist() == [5.17942405, 2.95540097]
    assert regression.stability_limit(X) == pytest.approx(0.0588, abs=1e-4)
