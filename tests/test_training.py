"""backproplab.training, planted, symmetry and trainplots: the training loop and the tools of notebook 07.

Properties, not memorised numbers: a step moves the parameters by -lr times
the library's gradient, an epoch visits every sample once, the same seed gives
the same run, permuting hidden units keeps the function, and the planted
network's backward disagrees with finite differences exactly where it should.
"""

import copy
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab import symmetry, trainplots, training  # noqa: E402
from backproplab.layers import MSE, Linear, Sigmoid, SoftmaxCrossEntropy, Tanh  # noqa: E402
from backproplab.messages import text  # noqa: E402
from backproplab.numeric import error_score, numerical_vjp  # noqa: E402
from backproplab.planted import BuggyNet  # noqa: E402


def _gradient(model, loss, X, y):
    loss.forward(model.forward(X), y)
    model.backward(loss.backward(1.0))
    return np.concatenate([g.ravel() for _, g in model.parameters()])


# -- batches -------------------------------------------------------------------------------

@pytest.mark.parametrize("n,batch_size", [(10, 3), (12, 4), (7, 1), (5, 5), (5, 9)])
def test_batches_partition_range_n(n, batch_size):
    parts = training.batches(n, batch_size, np.random.default_rng(0))
    assert sorted(np.concatenate(parts).tolist()) == list(range(n))
    assert all(len(p) <= batch_size for p in parts)
    assert len(parts) == -(-n // batch_size)


def test_full_batch_is_one_batch_in_order():
    (part,) = training.batches(6, None, np.random.default_rng(0))
    assert part.tolist() == list(range(6))


def test_batches_rejects_a_zero_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        training.batches(6, 0, np.random.default_rng(0))


# -- train -------------------------------------------------------------------------------------

def test_one_full_batch_epoch_is_one_gradient_step():
    X, y = training.blobs(seed=1, n=20)
    model = training.mlp([2, 5, 3], Tanh, seed=2)
    before = training.flat_parameters(model)
    gradient = _gradient(copy.deepcopy(model), SoftmaxCrossEntropy(), X, y)
    training.train(model, SoftmaxCrossEntropy(), X, y, lr=0.3, epochs=1, progress=False)
    assert np.allclose(training.flat_parameters(model), before - 0.3 * gradient, rtol=0, atol=1e-14)


def test_every_sgd_step_uses_one_sample_and_the_trace_records_it():
    X, y = training.blobs(seed=3, n=9)
    model = training.mlp([2, 4, 3], Sigmoid, seed=0)
    h = training.train(model, SoftmaxCrossEntropy(), X, y, lr=0.2, epochs=2, batch_size=1, seed=5,
                       trace=True, progress=False)
    assert h.params.shape == (2 * 9 + 1, training.flat_parameters(model).size)
    assert h.step_loss.shape == (18,)
    # each step is a gradient step on one of the samples
    probe = training.mlp([2, 4, 3], Sigmoid, seed=0)
    for k in range(18):
        theta, nxt = h.params[k], h.params[k + 1]
        candidates = []
        for p in range(9):
            _load(probe, theta)
            candidates.append(theta - 0.2 * _gradient(probe, SoftmaxCrossEntropy(), X[p:p + 1], y[p:p + 1]))
        assert min(np.abs(c - nxt).max() for c in candidates) < 1e-13


def _load(model, theta):
    start = 0
    for param, _ in model.parameters():
        param[...] = theta[start:start + param.size].reshape(param.shape)
        start += param.size


def test_history_has_one_row_per_epoch_plus_the_start():
    X, y = training.blobs(seed=0, n=15)
    h = training.train(training.mlp([2, 4, 3], Tanh), SoftmaxCrossEntropy(), X, y, lr=0.5, epochs=4,
                       batch_size=4, X_test=X[:5], y_test=y[:5], progress=False)
    for column in (h.epoch, h.cost, h.accuracy, h.test_cost, h.test_accuracy, h.evaluations):
        assert column.shape == (5,)
    assert h.epoch.tolist() == [0, 1, 2, 3, 4]
    assert h.evaluations.tolist() == [0, 15, 30, 45, 60]
    assert h.step_loss.shape == (4 * 4,)


def test_the_history_cost_is_the_cost_of_the_model_it_leaves():
    X, y = training.blobs(seed=0, n=15)
    model = training.mlp([2, 4, 3], Tanh)
    h = training.train(model, SoftmaxCrossEntropy(), X, y, lr=0.5, epochs=3, batch_size=4, progress=False)
    assert h.cost[-1] == training.cost(model, SoftmaxCrossEntropy(), X, y)


def test_the_same_seed_gives_the_same_run_and_another_seed_another_order():
    X, y = training.blobs(seed=0, n=24)

    def run(seed):
        model = training.mlp([2, 4, 3], Tanh, seed=0)
        training.train(model, SoftmaxCrossEntropy(), X, y, lr=0.5, epochs=3, batch_size=5, seed=seed,
                       progress=False)
        return training.flat_parameters(model)

    assert np.array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


def test_the_test_set_is_never_trained_on():
    X, y = training.blobs(seed=0, n=24)
    a, b = training.mlp([2, 4, 3], Tanh), training.mlp([2, 4, 3], Tanh)
    training.train(a, SoftmaxCrossEntropy(), X, y, lr=0.5, epochs=3, batch_size=5, progress=False)
    training.train(b, SoftmaxCrossEntropy(), X, y, lr=0.5, epochs=3, batch_size=5, progress=False,
                   X_test=X[:7] + 1.0, y_test=y[:7])
    assert np.array_equal(training.flat_parameters(a), training.flat_parameters(b))


def test_training_lowers_the_cost_of_a_separable_problem():
    X, y = training.blobs(seed=4, n=30)
    h = training.train(training.mlp([2, 6, 3], Tanh, seed=1), SoftmaxCrossEntropy(), X, y, lr=0.5,
                       epochs=20, batch_size=8, progress=False)
    assert h.cost[-1] < 0.5 * h.cost[0]
    assert h.accuracy[-1] > 0.9


def test_regression_has_no_accuracy():
    X = np.linspace(-1, 1, 10)[:, None]
    h = training.train(Linear(1, 1, 0), MSE(), X, 2 * X, lr=0.1, epochs=2, progress=False)
    assert np.all(np.isnan(h.accuracy))
    assert h.cost[-1] < h.cost[0]


def test_progress_is_a_tqdm_bar_with_the_cost_and_the_accuracy(capsys, monkeypatch):
    monkeypatch.delenv("BACKPROPLAB_GRADING", raising=False)
    X, y = training.blobs(seed=0, n=12)
    h = training.train(training.mlp([2, 3, 3], Tanh), SoftmaxCrossEntropy(), X, y, lr=0.1, epochs=3,
                       X_test=X[:4], y_test=y[:4])
    captured = capsys.readouterr()
    assert captured.out == ""
    last = captured.err.rstrip("\n").split("\r")[-1]  # a terminal shows the last state of the line
    assert re.match(r"^training: 100%\|.*\| 3/3 ", last), last
    assert (f"cost={h.cost[-1]:.4g}, accuracy={h.accuracy[-1]:.4g}, test accuracy={h.test_accuracy[-1]:.4g}]"
            in last), last


def test_no_progress_when_asked_or_while_grading(capsys, monkeypatch):
    X, y = training.blobs(seed=0, n=12)
    training.train(training.mlp([2, 3, 3], Tanh), SoftmaxCrossEntropy(), X, y, lr=0.1, epochs=2, progress=False)
    monkeypatch.setenv("BACKPROPLAB_GRADING", "1")
    training.train(training.mlp([2, 3, 3], Tanh), SoftmaxCrossEntropy(), X, y, lr=0.1, epochs=2)
    assert capsys.readouterr() == ("", "")


def test_bad_data_and_epochs_raise_clear_errors():
    X, y = training.blobs(seed=0, n=12)
    with pytest.raises(ValueError, match="N rows"):
        training.train(training.mlp([2, 3, 3], Tanh), SoftmaxCrossEntropy(), X, y[:5], lr=0.1, epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        training.train(training.mlp([2, 3, 3], Tanh), SoftmaxCrossEntropy(), X, y, lr=0.1, epochs=-1)


# -- blobs, mlp, confusion_matrix -----------------------------------------------------------------

def test_blobs_are_balanced_distinct_and_seeded():
    X, y = training.blobs(seed=2, n=31)
    assert X.shape == (31, 2) and X.dtype == np.float64 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [11, 10, 10]
    assert len({row.tobytes() for row in X}) == 31
    assert np.array_equal(X, training.blobs(seed=2, n=31)[0])


def test_mlp_alternates_linear_layers_and_activations():
    net = training.mlp([4, 4, 3, 3], Sigmoid, seed=0)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert net.forward(np.zeros((2, 4))).shape == (2, 3)
    with pytest.raises(ValueError, match="two sizes"):
        training.mlp([4], Tanh)


def test_confusion_matrix_counts_every_sample_once():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    m = training.confusion_matrix(y, p, 4)
    assert m.sum() == 50
    assert np.trace(m) == np.sum(y == p)
    assert m.sum(axis=1).tolist() == np.bincount(y, minlength=4).tolist()


# -- the planted network ----------------------------------------------------------------------------

def _planted_case(seed=0, n=4, d=5, h=6, m=3):
    rng = np.random.default_rng(seed)
    net = BuggyNet(d, h, m, rng=seed)
    for name in ("b1", "b2"):
        net.params[name][...] = rng.normal(0, 0.5, net.params[name].shape)
    return net, rng.normal(size=(n, d)), rng.normal(size=(n, m))


def test_planted_forward_is_the_two_layer_formula():
    net, x, _ = _planted_case()
    p = net.params
    assert np.allclose(net.forward(x), np.tanh(x @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"], rtol=0, atol=1e-14)


def test_planted_backward_is_wrong_in_every_tensor_but_each_mistake_is_local():
    net, x, dout = _planted_case()
    net.forward(x)
    dx = net.backward(dout)
    got = dict(net.grads, x=dx)
    p = dict(net.params)

    def forward(**change):
        args = {**p, "x": x, **change}
        return np.tanh(args["x"] @ args["W1"] + args["b1"]) @ args["W2"] + args["b2"]

    wrong = set()
    for name in ("x", "W1", "b1", "W2", "b2"):
        value = x if name == "x" else p[name]
        expected, noise = numerical_vjp(lambda t, name=name: forward(**{name: t}), value, dout, with_noise=True)
        if error_score(got[name], expected, noise).max() > 1:
            wrong.add(name)
        if name == "b2":  # the mean instead of the sum: off by exactly 1/N
            assert np.allclose(got[name] * len(x), expected)
    assert wrong == {"x", "W1", "b1", "W2", "b2"}


# -- symmetry -------------------------------------------------------------------------------------------

def test_permuting_hidden_units_keeps_the_function_and_changes_the_weights():
    net = training.mlp([4, 5, 3, 2], Tanh, seed=3)
    for layer in symmetry.linear_layers(net):
        layer.params["b"][...] = np.random.default_rng(1).normal(size=layer.params["b"].shape)
    x = np.random.default_rng(2).normal(size=(6, 4))
    for k, perm in [(0, [4, 2, 0, 1, 3]), (1, [2, 0, 1])]:
        copy_ = symmetry.permute_units(net, k, perm)
        assert np.allclose(copy_.forward(x), net.forward(x), rtol=0, atol=1e-13)
        assert symmetry.distance(copy_, net) > 0.1
    assert symmetry.distance(symmetry.permute_units(net, 0, range(5)), net) == 0.0


def test_closest_permutation_undoes_a_permutation():
    net = training.mlp([3, 4, 3, 2], Tanh, seed=0)
    shuffled = symmetry.permute_units(symmetry.permute_units(net, 0, [3, 1, 0, 2]), 1, [2, 0, 1])
    best, perms = symmetry.closest_permutation(net, shuffled)
    assert best < 1e-12
    again = shuffled
    for k, perm in enumerate(perms):
        again = symmetry.permute_units(again, k, perm)
    assert symmetry.distance(again, net) < 1e-12


def test_permute_units_rejects_bad_arguments():
    net = training.mlp([3, 4, 2], Tanh)
    with pytest.raises(ValueError, match="permutation"):
        symmetry.permute_units(net, 0, [0, 1, 1, 2])
    with pytest.raises(ValueError, match="hidden layer"):
        symmetry.permute_units(net, 1, [0, 1])


# -- plots ------------------------------------------------------------------------------------------------

def test_training_plots_draw_what_they_are_given():
    ax = trainplots.lines({"a": ([1, 2, 3], [3, 2, 1]), "b": ([1, 2], [1, 1])}, xlabel="plot.train_epoch",
                          ylabel="plot.train_cost", logx=True)
    assert len(ax.get_lines()) == 2 and ax.get_xscale() == "log"
    assert ax.get_xlabel() == text("plot.train_epoch")
    ax = trainplots.step_losses(np.ones(6), np.ones(4), 2)
    assert len(ax.get_lines()) == 2 and ax.get_yscale() == "log"
    ax = trainplots.confusion(np.eye(3, dtype=int) * 5, ["x", "y", "z"])
    assert len(ax.texts) == 9
    fig = trainplots.image_grid(np.zeros((3, 64)), ["1", "2", "3"], columns=2)
    assert sum(1 for a in fig.axes if a.images) == 3
    plt.close("all")

