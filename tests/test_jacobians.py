"""The Jacobians of layers (backproplab.jacobians), the cost measures (backproplab.cost) and notebook 06's drawings."""

import tracemalloc

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab import cost, diagrams, jacobians, layers, numeric, plots  # noqa: E402
from backproplab.functions import sigmoid  # noqa: E402

SHAPES = [(1, 1, 1), (3, 4, 2), (2, 5, 3), (4, 2, 6)]


def _passes(analytic, f, x):
    jac, noise = numeric.numerical_jacobian(f, x, with_noise=True)
    assert analytic.shape == jac.shape
    return numeric.error_score(analytic, jac, noise).max() <= 1


# -- Linear -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,d,m", SHAPES)
def test_linear_jacobians_match_finite_differences(n, d, m):
    rng = np.random.default_rng(n * 100 + d * 10 + m)
    x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    assert _passes(jacobians.linear_jacobian_input(W, n), lambda v: v @ W + b, x)
    assert _passes(jacobians.linear_jacobian_weights(x, m), lambda v: x @ v + b, W)
    assert _passes(jacobians.linear_jacobian_bias(n, m), lambda v: x @ W + v, b)


def test_linear_input_jacobian_is_block_diagonal_with_w_transposed():
    W = np.arange(6.0).reshape(3, 2)
    J = jacobians.linear_jacobian_input(W, 4)
    assert J.shape == (8, 12)
    for r in range(4):
        for s in range(4):
            block = J[2 * r:2 * r + 2, 3 * s:3 * s + 3]
            assert np.array_equal(block, W.T if r == s else np.zeros((2, 3)))


def test_vjp_with_the_weight_jacobian_is_x_transpose_delta():
    rng = np.random.default_rng(1)
    x, delta = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    via_jacobian = (delta.ravel() @ jacobians.linear_jacobian_weights(x, 4)).reshape(3, 4)
    assert np.allclose(via_jacobian, x.T @ delta, rtol=1e-13, atol=1e-13)


def test_bias_jacobian_sums_the_rows():
    delta = np.random.default_rng(2).normal(size=(3, 4))
    assert np.allclose(delta.ravel() @ jacobians.linear_jacobian_bias(3, 4), delta.sum(axis=0))


# -- elementwise and softmax ------------------------------------------------------------------

def test_sigmoid_jacobian_is_the_diagonal_of_the_slopes():
    z = np.random.default_rng(3).normal(size=(3, 4))
    J = jacobians.sigmoid_jacobian(z)
    assert J.shape == (12, 12)
    assert np.count_nonzero(J - np.diag(np.diag(J))) == 0
    assert _passes(J, sigmoid, z)


def test_sigmoid_slope_peaks_at_a_quarter():
    a = np.linspace(-10, 10, 2001)
    slope = jacobians.sigmoid_slope(a)
    assert slope.max() == pytest.approx(0.25, abs=1e-15) and a[np.argmax(slope)] == 0.0
    assert np.all(slope > 0)


def test_elementwise_jacobian_flattens_row_by_row():
    slope = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert np.array_equal(np.diag(jacobians.elementwise_jacobian(slope)), [1.0, 2.0, 3.0, 4.0])


@pytest.mark.parametrize("seed", range(5))
def test_softmax_jacobian_matches_finite_differences_and_rows_sum_to_zero(seed):
    z = np.random.default_rng(seed).normal(0, 1.5, size=4)
    J = jacobians.softmax_jacobian(z)
    assert _passes(J, layers.softmax, z)
    assert np.allclose(J.sum(axis=1), 0, atol=1e-15)
    assert np.allclose(J, J.T)


# -- the dense layer: materialised vs VJP --------------------------------------------------------

@pytest.mark.parametrize("n,d,m", SHAPES)
def test_dense_jacobians_match_finite_differences(n, d, m):
    rng = np.random.default_rng(7 + n + d + m)
    x, W, b = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m)
    Jx, JW, Jb = jacobians.dense_jacobians(x, W, b)
    assert _passes(Jx, lambda v: jacobians.dense_forward(v, W, b), x)
    assert _passes(JW, lambda v: jacobians.dense_forward(x, v, b), W)
    assert _passes(Jb, lambda v: jacobians.dense_forward(x, W, v), b)


@pytest.mark.parametrize("n,d,m", SHAPES)
def test_dense_vjp_equals_the_materialised_product_and_finite_differences(n, d, m):
    rng = np.random.default_rng(11 + n + d + m)
    x, W, b, dout = rng.normal(size=(n, d)), rng.normal(size=(d, m)), rng.normal(size=m), rng.normal(size=(n, m))
    fast = jacobians.dense_vjp(dout, x, W, b)
    slow = jacobians.vjp_materialised(dout, x, W, b)
    for u, v, arg in zip(fast, slow, (x, W, b)):
        assert u.shape == arg.shape and np.allclose(u, v, rtol=1e-12, atol=1e-14)
    num, noise = numeric.numerical_vjp(lambda v: jacobians.dense_forward(v, W, b), x, dout, with_noise=True)
    assert numeric.error_score(fast[0], num, noise).max() <= 1


def test_dense_vjp_matches_the_library_layers():
    rng = np.random.default_rng(5)
    lin, act = layers.Linear(4, 3, rng=rng), layers.Sigmoid()
    lin.params["b"][...] = rng.normal(size=3)
    x, dout = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    act.forward(lin.forward(x))
    dx = lin.backward(act.backward(dout))
    got = jacobians.dense_vjp(dout, x, lin.params["W"], lin.params["b"])
    assert np.allclose(got[0], dx) and np.allclose(got[1], lin.grads["W"]) and np.allclose(got[2], lin.grads["b"])


def test_dense_vjp_does_not_change_its_inputs():
    rng = np.random.default_rng(6)
    args = [rng.normal(size=s) for s in [(3, 2), (3, 4), (4, 2), (2,)]]
    before = [a.copy() for a in args]
    jacobians.dense_vjp(*args)
    assert all(np.array_equal(a, c) for a, c in zip(args, before))


# -- bad input ----------------------------------------------------------------------------------

def test_bad_inputs_say_what_was_expected():
    W = np.ones((3, 2))
    with pytest.raises(ValueError, match="2 dimension"):
        jacobians.linear_jacobian_input(np.ones(3), 2)
    with pytest.raises(ValueError, match="positive whole number"):
        jacobians.linear_jacobian_input(W, 0)
    with pytest.raises(ValueError, match="positive whole number"):
        jacobians.linear_jacobian_weights(np.ones((2, 3)), 2.5)
    with pytest.raises(TypeError, match="numpy array"):
        jacobians.linear_jacobian_input("W", 1)
    with pytest.raises(TypeError, match="real numbers"):
        jacobians.softmax_jacobian(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="finite"):
        jacobians.softmax_jacobian(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"shape \(3, 4\)"):
        jacobians.dense_vjp(np.ones((2, 4)), np.ones((2, 3)), W, np.ones(4))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        jacobians.dense_vjp(np.ones((2, 3)), np.ones((2, 3)), W, np.ones(2))


def test_lists_are_accepted():
    assert jacobians.linear_jacobian_input([[1.0, 2.0]], 1).shape == (2, 1)


# -- cost ------------------------------------------------------------------------------------------

def test_peak_memory_sees_a_numpy_allocation_and_returns_the_result():
    result, peak = cost.peak_memory(lambda k: np.ones(k).sum(), 125_000)  # 1 MB of float64
    assert result == 125_000.0
    assert 1_000_000 <= peak < 1_100_000
    assert not tracemalloc.is_tracing()


def test_peak_memory_keeps_tracing_when_it_was_on_and_ignores_earlier_memory():
    tracemalloc.start()
    try:
        kept = np.ones(500_000)  # 4 MB allocated before the call
        _, peak = cost.peak_memory(lambda: np.zeros(1000).sum())
        assert peak < 100_000
        assert tracemalloc.is_tracing()
        del kept
    finally:
        tracemalloc.stop()


def test_peak_memory_stops_tracing_when_the_call_raises():
    with pytest.raises(ZeroDivisionError):
        cost.peak_memory(lambda: 1 / 0)
    assert not tracemalloc.is_tracing()


def test_seconds_is_the_best_of_the_runs():
    calls = []
    assert cost.seconds(lambda: calls.append(1), repeat=4) >= 0.0
    assert len(calls) == 4


def test_forming_the_jacobians_costs_more_memory_than_the_vjp():
    rng = np.random.default_rng(0)
    args = (rng.normal(size=(8, 32)), rng.normal(size=(8, 32)), rng.normal(size=(32, 32)), rng.normal(size=32))
    _, slow = cost.peak_memory(jacobians.vjp_materialised, *args)
    _, fast = cost.peak_memory(jacobians.dense_vjp, *args)
    assert slow > 8 * (8 * 32) * (32 * 32)  # at least d out/dW, (N M, D M) float64
    assert slow > 50 * fast


# -- drawings ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stages", [1, 3, 6])
def test_stages_diagram_draws_one_module_per_stage(stages):
    ax = diagrams.stages_diagram(stages)
    modules = [t for t in ax.texts if t.get_gid() == "module"]
    states = [t for t in ax.texts if t.get_gid() == "state"]
    assert len(modules) == stages and len(states) == stages + 1
    plt.close(ax.figure)


def test_stages_diagram_refuses_a_bad_count():
    with pytest.raises(ValueError, match="1 to 6"):
        diagrams.stages_diagram(0)


def test_matrices_draws_each_matrix_with_zero_in_the_middle_of_the_scale():
    panels = {"a": np.array([[1.0, -3.0], [0.0, 2.0]]), "b": np.zeros((2, 5))}
    axes = plots.matrices(panels)
    assert [ax.get_title() for ax in axes] == ["a", "b"]
    low, high = axes[0].images[0].get_clim()
    assert low == -3.0 and high == 3.0
    assert np.array_equal(axes[0].images[0].get_array(), panels["a"])
    plt.close(axes[0].figure)
