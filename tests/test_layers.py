"""backproplab.layers: every backward against finite differences of its own forward.

The numbers come from backproplab.numeric (the one finite-difference engine),
with a random upstream gradient and non-square sizes, so that a transposed or
summed-over-the-wrong-axis gradient cannot pass by accident.
"""

import copy
import re
import warnings

import numpy as np
import pytest

from backproplab import layers
from backproplab.layers import (MSE, SGD, Linear, Module, ReLU, Sequential, Sigmoid, Softmax,
                                SoftmaxCrossEntropy, Tanh, accuracy, one_hot, softmax)
from backproplab.numeric import error_score, numerical_gradient, numerical_vjp

N, D, M = 4, 5, 3  # batch, input width, output width: all different


def away_from_zero(rng, shape, low=0.1):
    """Random entries with |x| >= low, so ReLU's kink is never within a finite-difference step."""
    x = rng.normal(0.0, 1.0, shape)
    return np.sign(x) * (low + np.abs(x))


def assert_matches(analytic, numeric, noise):
    assert analytic.shape == numeric.shape
    score = error_score(analytic, numeric, noise)
    assert score.max() <= 1, f"error score {score.max():.3g}"


def with_param(module, name, value):
    """A copy of module whose parameter `name` is `value` (the original keeps its cache and grads)."""
    twin = copy.deepcopy(module)
    twin.params[name] = value
    return twin


def check_module(module, x, rng):
    """backward's dz and every parameter gradient against numerical_vjp of forward, dout random."""
    out = module.forward(x)
    dout = rng.normal(0.0, 1.0, out.shape)
    dz = module.backward(dout)
    numeric, noise = numerical_vjp(lambda v: copy.deepcopy(module).forward(v), x, dout, with_noise=True)
    assert_matches(dz, numeric, noise)
    for name, value in module.params.items():
        numeric, noise = numerical_vjp(lambda p: with_param(module, name, p).forward(x), value, dout,
                                       with_noise=True)
        assert_matches(module.grads[name], numeric, noise)
    return dz


# -- backward against finite differences -----------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_backward_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    layer = Linear(D, M, rng)
    layer.params["b"][...] = rng.normal(0.0, 1.0, M)  # a non-zero bias, so b enters the forward
    check_module(layer, rng.normal(0.0, 1.0, (N, D)), rng)


@pytest.mark.parametrize("cls", [Sigmoid, Tanh, ReLU, Softmax])
@pytest.mark.parametrize("seed", [0, 1])
def test_activation_backward_matches_finite_differences(cls, seed):
    rng = np.random.default_rng(seed)
    x = 2.0 * away_from_zero(rng, (N, M))
    dz = check_module(cls(), x, rng)
    assert dz.shape == x.shape


def test_relu_passes_the_gradient_only_where_the_input_was_positive():
    relu = ReLU()
    x = np.array([[-2.0, 0.0, 3.0]])
    relu.forward(x)
    assert relu.backward(np.array([[5.0, 5.0, 5.0]])).tolist() == [[0.0, 0.0, 5.0]]


def test_softmax_backward_is_orthogonal_to_ones():
    # p sums to 1 in every row, so a constant added to a row's logits changes nothing: dz rows sum to 0
    rng = np.random.default_rng(3)
    sm = Softmax()
    sm.forward(rng.normal(0.0, 1.0, (N, M)))
    assert np.allclose(sm.backward(rng.normal(0.0, 1.0, (N, M))).sum(axis=1), 0.0, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1])
def test_mse_backward_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    z, y = rng.normal(0.0, 1.0, (N, M)), rng.normal(0.0, 1.0, (N, M))
    loss = MSE()
    value = loss.forward(z, y)
    assert isinstance(value, float) and np.isclose(value, np.mean((z - y) ** 2))
    numeric, noise = numerical_gradient(lambda v: MSE().forward(v, y), z, with_noise=True)
    assert_matches(loss.backward(), numeric, noise)
    assert np.allclose(loss.backward(0.7), 0.7 * loss.backward())


def test_mse_gradient_includes_2_over_size():
    loss = MSE()
    z = np.ones((N, M))
    loss.forward(z, np.zeros((N, M)))
    assert np.allclose(loss.backward(), 2.0 / (N * M))  # the mean over all N M entries, and the 2 of the square


@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_cross_entropy_backward_matches_finite_differences(seed):
    rng = np.random.default_rng(seed)
    z, y = rng.normal(0.0, 2.0, (N, M)), rng.integers(0, M, N)
    loss = SoftmaxCrossEntropy()
    loss.forward(z, y)
    numeric, noise = numerical_gradient(lambda v: SoftmaxCrossEntropy().forward(v, y), z, with_noise=True)
    dz = loss.backward()
    assert_matches(dz, numeric, noise)
    assert np.allclose(dz, (softmax(z) - one_hot(y, M)) / N)  # the fused gradient p - onehot, over N
    assert np.allclose(loss.backward(-1.5), -1.5 * dz)


def test_cross_entropy_is_minus_ln_of_the_true_class_probability():
    z = np.array([[0.0, -0.1, 1.2]])
    p = softmax(z)
    assert round(p[0, 1], 4) == 0.1732
    value = SoftmaxCrossEntropy().forward(z, np.array([1]))
    assert np.isclose(value, -np.log(p[0, 1]))
    assert round(value, 4) == 1.7534
    assert round(-np.log(0.1732), 4) == 1.7533  # the same loss from p rounded to 4 places


def test_cross_entropy_is_the_mean_over_rows():
    rng = np.random.default_rng(5)
    z, y = rng.normal(0.0, 1.0, (N, M)), rng.integers(0, M, N)
    rows = [SoftmaxCrossEntropy().forward(z[i:i + 1], y[i:i + 1]) for i in range(N)]
    assert np.isclose(SoftmaxCrossEntropy().forward(z, y), np.mean(rows))


# -- numerical stability ---------------------------------------------------------------

def test_softmax_is_stable_at_large_logits():
    z = np.array([[1000.0, 1000.5, 999.0], [-1000.0, -999.0, -1001.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            p = softmax(z)
            q = Softmax().forward(z)
    assert np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1.0)
    assert np.array_equal(p, q)
    small = z - np.array([[1000.0], [-1000.0]])  # the same rows, shifted: where the naive form does not overflow
    naive = np.exp(small) / np.exp(small).sum(axis=1, keepdims=True)
    assert np.allclose(p, naive, rtol=1e-14, atol=0)
    assert np.allclose(softmax(np.array([1.0, 2.0, 3.0])), np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())


def test_cross_entropy_stays_finite_where_p_underflows():
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        value = SoftmaxCrossEntropy().forward(np.array([[1000.0, 0.0]]), np.array([1]))
    assert np.isclose(value, 1000.0)


def test_sigmoid_does_not_overflow():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            out = Sigmoid().forward(np.array([[-1000.0, 0.0, 1000.0]]))
    assert out.tolist() == [[0.0, 0.5, 1.0]]


# -- parameters, gradients and their shapes ------------------------------------------------

def test_linear_params_and_grads_have_matching_shapes():
    layer = Linear(D, M, rng=0)
    assert set(layer.params) == set(layer.grads) == {"W", "b"}
    assert layer.params["W"].shape == layer.grads["W"].shape == (D, M)
    assert layer.params["b"].shape == layer.grads["b"].shape == (M,)
    assert layer.params["W"].dtype == np.float64 and np.all(layer.params["b"] == 0)
    out = layer.forward(np.ones((N, D)))
    assert out.shape == (N, M)
    assert layer.backward(np.ones((N, M))).shape == (N, D)


def test_linear_weights_are_scaled_by_the_fan_in_and_seeded():
    W = Linear(400, 300, rng=7).params["W"]
    assert abs(W.std() * np.sqrt(400) - 1.0) < 0.02  # variance 1 / d_in
    assert np.array_equal(W, Linear(400, 300, rng=7).params["W"])
    assert not np.array_equal(W, Linear(400, 300, rng=8).params["W"])


def test_parameters_are_the_very_arrays_an_optimizer_updates():
    layer = Linear(D, M, rng=0)
    pairs = layer.parameters()
    assert len(pairs) == 2
    for (param, grad), name in zip(pairs, ["W", "b"]):
        assert param is layer.params[name] and grad is layer.grads[name]
    for cls in (Sigmoid, Tanh, ReLU, Softmax, MSE, SoftmaxCrossEntropy):
        assert cls().params == {} and cls().parameters() == []


def test_backward_overwrites_the_gradients_and_keeps_the_arrays():
    rng = np.random.default_rng(0)
    layer = Linear(D, M, rng)
    grads = dict(layer.grads)
    layer.forward(rng.normal(0.0, 1.0, (N, D)))
    dout = rng.normal(0.0, 1.0, (N, M))
    layer.backward(dout)
    first = {k: v.copy() for k, v in layer.grads.items()}
    layer.backward(dout)
    for name in first:
        assert np.array_equal(layer.grads[name], first[name])  # not doubled
        assert layer.grads[name] is grads[name]  # updated in place: parameters() pairs stay valid


# -- errors ----------------------------------------------------------------------------

def test_linear_forward_names_the_expected_and_the_received_shape():
    layer = Linear(D, M, rng=0)
    with pytest.raises(ValueError, match=r"\(N, 5\).*\(4, 3\)"):
        layer.forward(np.ones((N, 3)))
    with pytest.raises(ValueError, match=r"\(N, 5\).*\(5,\)"):
        layer.forward(np.ones(D))
    with pytest.raises(ValueError, match="NaN"):
        layer.forward(np.full((N, D), np.nan))
    with pytest.raises(TypeError, match="numpy array"):
        layer.forward("abc")
    with pytest.raises(ValueError, match="d_in = 0"):
        Linear(0, M)


@pytest.mark.parametrize("make", [lambda: Linear(D, M, rng=0), Sigmoid, Tanh, ReLU, Softmax])
def test_every_backward_rejects_an_upstream_gradient_of_the_wrong_shape(make):
    module = make()
    out = module.forward(np.random.default_rng(0).normal(0.0, 1.0, (N, D)))
    wrong = np.ones((out.shape[1], out.shape[0]))  # transposed
    expected = re.escape(str(out.shape))
    with pytest.raises(ValueError, match=rf"{expected}.*{re.escape(str(wrong.shape))}"):
        module.backward(wrong)


@pytest.mark.parametrize("make", [MSE, SoftmaxCrossEntropy])
def test_loss_backward_takes_a_number(make):
    loss = make()
    z = np.zeros((N, M))
    loss.forward(z, np.zeros((N, M)) if make is MSE else np.zeros(N, dtype=int))
    with pytest.raises(ValueError, match=r"\(\).*\(4, 3\)"):
        loss.backward(np.ones((N, M)))


def test_mse_rejects_a_target_of_another_shape():
    with pytest.raises(ValueError, match=r"\(N, 3\).*\(4, 2\)"):
        MSE().forward(np.zeros((N, M)), np.zeros((N, 2)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(5, 3\)"):
        MSE().forward(np.zeros((N, M)), np.zeros((N + 1, M)))


def test_softmax_cross_entropy_checks_the_labels():
    loss, z = SoftmaxCrossEntropy(), np.zeros((N, M))
    with pytest.raises(ValueError, match=r"\(4,\).*\(4, 3\)"):
        loss.forward(z, np.zeros((N, M), dtype=int))  # one-hot rows instead of indices
    with pytest.raises(ValueError, match=r"\(4,\).*\(3,\)"):
        loss.forward(z, np.zeros(N - 1, dtype=int))
    with pytest.raises(ValueError, match=r"0 to 3 - 1.*from 0 to 3"):
        loss.forward(z, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="-1"):
        loss.forward(z, np.array([0, -1, 2, 1]))
    with pytest.raises(TypeError, match="float64"):
        loss.forward(z, np.array([0.0, 1.0, 2.0, 1.0]))


@pytest.mark.parametrize("make", [lambda: Linear(D, M, rng=0), Sigmoid, Tanh, ReLU, Softmax, MSE,
                                  SoftmaxCrossEntropy])
def test_backward_before_forward_raises(make):
    module = make()
    with pytest.raises(RuntimeError, match=rf"{type(module).__name__}\.backward.*forward"):
        module.backward(np.ones((N, M)) if module.params or isinstance(module, (Sigmoid, Tanh, ReLU, Softmax))
                        else 1.0)


def test_sequential_takes_only_modules():
    with pytest.raises(TypeError, match="argument 1"):
        Sequential(Linear(D, M, rng=0), np.tanh)


# -- Sequential ------------------------------------------------------------------------

def make_net(seed):
    rng = np.random.default_rng(seed)
    first, last = Linear(D, 6, rng), Linear(6, M, rng)
    for layer in (first, last):
        layer.params["b"][...] = rng.normal(0.0, 0.5, layer.params["b"].shape)
    return Sequential(first, Tanh(), last, Sigmoid())


def test_sequential_backward_matches_finite_differences():
    rng = np.random.default_rng(11)
    net = make_net(11)
    x = rng.normal(0.0, 1.0, (N, D))
    out = net.forward(x)
    dout = rng.normal(0.0, 1.0, out.shape)
    dz = net.backward(dout)
    numeric, noise = numerical_vjp(lambda v: copy.deepcopy(net).forward(v), x, dout, with_noise=True)
    assert_matches(dz, numeric, noise)
    for i in (0, 2):  # the first layer's gradients need the whole chain
        for name in ("W", "b"):
            def f(p, i=i, name=name):
                twin = copy.deepcopy(net)
                twin.layers[i].params[name] = p
                return twin.forward(x)
            numeric, noise = numerical_vjp(f, net.layers[i].params[name], dout, with_noise=True)
            assert_matches(net.layers[i].grads[name], numeric, noise)


def test_sequential_is_the_composition_of_its_layers():
    rng = np.random.default_rng(12)
    net, twin = make_net(12), make_net(12)
    x = rng.normal(0.0, 1.0, (N, D))
    h = x
    for layer in twin.layers:
        h = layer.forward(h)
    assert np.array_equal(net.forward(x), h)
    dout = rng.normal(0.0, 1.0, h.shape)
    delta = dout
    for layer in reversed(twin.layers):
        delta = layer.backward(delta)
    assert np.array_equal(net.backward(dout), delta)
    assert len(net.parameters()) == 4
    for (p, g), (q, r) in zip(net.parameters(), twin.parameters()):
        assert np.array_equal(p, q) and np.array_equal(g, r)


# -- SGD and training ------------------------------------------------------------------

def test_sgd_step_is_param_minus_lr_grad_in_place():
    rng = np.random.default_rng(0)
    layer = Linear(D, M, rng)
    layer.forward(rng.normal(0.0, 1.0, (N, D)))
    layer.backward(rng.normal(0.0, 1.0, (N, M)))
    W, before, grad = layer.params["W"], layer.params["W"].copy(), layer.grads["W"].copy()
    b_before, b_grad = layer.params["b"].copy(), layer.grads["b"].copy()
    SGD(layer.parameters(), lr=0.3).step()
    assert layer.params["W"] is W  # in place: the module sees the update
    assert np.allclose(W, before - 0.3 * grad)
    assert np.allclose(layer.params["b"], b_before - 0.3 * b_grad)


@pytest.mark.parametrize("lr", [0, -0.1, float("nan")])
def test_sgd_rejects_a_learning_rate_that_is_not_positive(lr):
    with pytest.raises(ValueError, match="learning rate"):
        SGD(Linear(D, M, rng=0).parameters(), lr=lr)


def test_sgd_rejects_a_gradient_of_another_shape():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        SGD([(np.zeros((2, 3)), np.zeros((3, 2)))], lr=0.1)


def xor_data(seed, n=40):
    """Points near the four corners of [-1, 1]^2; the class is 1 where the signs differ (XOR)."""
    rng = np.random.default_rng(seed)
    corners = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    X = corners[np.arange(n) % 4] + rng.normal(0.0, 0.15, (n, 2))
    y = (np.sign(X[:, 0]) != np.sign(X[:, 1])).astype(np.int64)
    return X, y


def test_a_small_network_learns_xor():
    X, y = xor_data(0)
    rng = np.random.default_rng(1)
    net, loss = Sequential(Linear(2, 8, rng), Tanh(), Linear(8, 2, rng)), SoftmaxCrossEntropy()
    # a line cannot separate XOR: one linear layer stays near chance
    assert accuracy(Linear(2, 2, rng).forward(X), y) <= 0.75
    opt = SGD(net.parameters(), lr=0.5)
    history = []
    for _ in range(300):
        history.append(loss.forward(net.forward(X), y))
        net.backward(loss.backward())
        opt.step()
    assert history[-1] < 0.5 * history[0] and history[-1] < 0.1
    assert np.mean(np.diff(history) <= 1e-12) > 0.95  # (almost) every step goes down
    assert accuracy(net.forward(X), y) == 1.0
    X_new, y_new = xor_data(1)
    assert accuracy(net.forward(X_new), y_new) == 1.0


# -- helpers ---------------------------------------------------------------------------

def test_one_hot_and_accuracy():
    y = np.array([2, 0, 1, 2])
    Y = one_hot(y, 3)
    assert Y.shape == (4, 3) and np.array_equal(Y.argmax(axis=1), y) and np.all(Y.sum(axis=1) == 1)
    assert accuracy(Y, y) == 1.0
    assert accuracy(np.roll(Y, 1, axis=1), y) == 0.0
    with pytest.raises(ValueError, match="0 to 3 - 1"):
        one_hot(np.array([0, 3]), 3)


def test_modules_are_callable_and_describe_themselves():
    layer = Linear(D, M, rng=0)
    x = np.ones((N, D))
    assert np.array_equal(layer(x), layer.forward(x))
    assert "(5, 3)" in repr(layer) and "Sequential(Linear" in repr(Sequential(layer, ReLU()))
    assert isinstance(layer, Module) and layers.Module is Module


# -- one use per module, caches that are copies -----------------------------------------------

def test_a_module_used_twice_in_a_sequential_is_refused_with_its_positions():
    shared = Linear(3, 3, rng=0)
    with pytest.raises(ValueError, match="positions 0 and 2"):
        Sequential(shared, Tanh(), shared)
    net = Sequential(shared, Tanh())
    net.layers.append(shared)  # reused after construction: forward refuses it
    with pytest.raises(ValueError, match="appears twice"):
        net.forward(np.ones((2, 3)))


@pytest.mark.parametrize("make", [lambda: Linear(3, 2, rng=0), ReLU, Sigmoid, Tanh])
def test_changing_the_input_between_forward_and_backward_changes_nothing(make):
    rng = np.random.default_rng(3)
    x, module = rng.normal(size=(4, 3)), make()
    out = module.forward(x)
    dout = rng.normal(size=out.shape)
    before = module.backward(dout), [g.copy() for g in module.grads.values()]
    x += 10.0
    after = module.backward(dout), list(module.grads.values())
    assert np.array_equal(before[0], after[0])
    assert all(np.array_equal(a, b) for a, b in zip(before[1], after[1]))


def test_mse_keeps_copies_of_prediction_and_target():
    z, y = np.ones((2, 2)), np.zeros((2, 2))
    loss = MSE()
    loss.forward(z, y)
    z += 1.0
    y -= 1.0
    assert np.array_equal(loss.backward(1.0), np.full((2, 2), 0.5))
