"""The scalar models of notebook 02: their gradients agree with finite differences of their forwards."""

import numpy as np
import pytest

from backproplab import numeric, scalar_net

SEEDS = range(25)


def _random_params(rng):
    return dict(zip(scalar_net.PARAMS, (float(v) for v in rng.normal(0.0, 1.0, 4))))


def test_sigmoid_prime_matches_central_differences():
    x = np.linspace(-6, 6, 25)
    numerical = np.array([numeric.central_difference(scalar_net.sigmoid, t) for t in x])
    assert np.max(numeric.error_score(scalar_net.sigmoid_prime(x), numerical)) <= 1


def test_sigmoid_prime_is_positive_symmetric_and_largest_at_zero():
    x = np.linspace(-8, 8, 33)
    d = scalar_net.sigmoid_prime(x)
    assert np.all(d > 0)
    assert np.allclose(d, d[::-1])
    assert np.argmax(d) == 16 and d[16] == 0.25


def test_sigmoid_is_stable_at_large_inputs():
    with np.errstate(all="raise", under="ignore"):
        s = scalar_net.sigmoid(np.array([-800.0, 800.0]))
    assert s.tolist() == [0.0, 1.0]


def test_step_is_flat_on_both_sides_of_zero():
    x = np.array([-3.0, -1e-9, 0.0, 1e-9, 3.0])
    assert scalar_net.step(x).tolist() == [0.0, 0.0, 1.0, 1.0, 1.0]
    for t in (-2.0, -0.5, 0.5, 2.0):
        assert numeric.central_difference(scalar_net.step, t) == 0.0


@pytest.mark.parametrize("seed", SEEDS)
def test_line_gradients_match_central_differences(seed):
    rng = np.random.default_rng(seed)
    n = 1 + seed % 6
    w, b = rng.normal(0, 2, 2)
    x, y = rng.normal(0, 3, n), rng.normal(0, 3, n)
    analytic = np.array(scalar_net.line_gradients(w, b, x, y))
    numerical, noise = numeric.numerical_gradient(
        lambda v: scalar_net.line_cost(v[0], v[1], x, y), np.array([w, b]), with_noise=True)
    assert np.max(numeric.error_score(analytic, numerical, noise)) <= 1


def test_line_cost_is_the_mean_of_the_losses():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=7), rng.normal(size=7)
    losses = [scalar_net.line_cost(0.3, -1.0, xi, yi) for xi, yi in zip(x, y)]
    assert scalar_net.line_cost(0.3, -1.0, x, y) == pytest.approx(np.mean(losses), rel=1e-14)


def test_line_cost_is_zero_on_a_perfect_fit_and_its_gradient_vanishes():
    x = np.array([1.0, 2.0, 5.0])
    y = 2.0 * x - 1.0
    assert scalar_net.line_cost(2.0, -1.0, x, y) == 0.0
    assert scalar_net.line_gradients(2.0, -1.0, x, y) == (0.0, 0.0)


def test_line_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same length"):
        scalar_net.line_cost(1.0, 0.0, np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="same length"):
        scalar_net.line_gradients(1.0, 0.0, np.ones((2, 2)), np.ones((2, 2)))


@pytest.mark.parametrize("seed", SEEDS)
def test_two_layer_gradients_match_central_differences(seed):
    rng = np.random.default_rng(seed)
    params = _random_params(rng)
    x, y = float(rng.normal()), float(rng.uniform())
    analytic = scalar_net.two_layer_gradients(params, x, y)
    names = list(scalar_net.PARAMS)
    numerical, noise = numeric.numerical_gradient(
        lambda v: scalar_net.two_layer_loss(dict(zip(names, v)), x, y),
        np.array([params[n] for n in names]), with_noise=True)
    got = np.array([analytic[n] for n in names])
    assert np.max(numeric.error_score(got, numerical, noise)) <= 1


def test_two_layer_forward_follows_the_chain():
    params = {"w1": 2.0, "b1": -1.0, "w2": -0.5, "b2": 0.25}
    f = scalar_net.two_layer_forward(params, 1.5)
    assert f["z1"] == 2.0
    assert f["o1"] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert f["z2"] == pytest.approx(-0.5 * f["o1"] + 0.25)
    assert f["o2"] == pytest.approx(1 / (1 + np.exp(-f["z2"])))


def test_two_layer_gradients_vanish_when_the_output_is_on_target():
    params = {"w1": 0.4, "b1": 0.1, "w2": 1.3, "b2": -0.2}
    y = scalar_net.two_layer_forward(params, 0.7)["o2"]
    assert all(g == 0.0 for g in scalar_net.two_layer_gradients(params, 0.7, y).values())


def test_two_layer_names_missing_parameters():
    with pytest.raises(KeyError, match="b2"):
        scalar_net.two_layer_forward({"w1": 1.0, "b1": 0.0, "w2": 1.0}, 0.5)


def test_sigmoid_matches_scipy_expit_and_log_expit_from_minus_700_to_700():
    from test_functions import SIGMOID_GRID, assert_sigmoid_accurate

    with np.errstate(all="raise"):
        s = scalar_net.sigmoid(SIGMOID_GRID)
        numbers = [scalar_net.sigmoid(float(x)) for x in SIGMOID_GRID[::11]]
    assert_sigmoid_accurate(s, SIGMOID_GRID)
    assert_sigmoid_accurate(numbers, SIGMOID_GRID[::11])
