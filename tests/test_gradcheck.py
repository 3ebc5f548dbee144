"""gradcheck, the student's tool: a backward consistent with its own forward passes, a planted bug is found."""

import numpy as np
import pytest

import layer_mutants as M
from backproplab import layers, messages
from backproplab.gradcheck import Report, gradcheck

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 5))


def quiet(*args, **kwargs):
    return gradcheck(*args, verbose=False, **kwargs)


def test_the_reference_layers_pass_and_report_one_row_per_tensor():
    report = quiet(layers.Linear(5, 3, rng=0), X)
    assert report.passed
    assert [row.name for row in report.rows] == ["dz", "W", "b"]
    assert [row.shape for row in report.rows] == [(4, 5), (5, 3), (3,)]
    assert all(0 <= row.score <= 1e-2 for row in report.rows)
    for module in (layers.Sigmoid(), layers.Tanh(), layers.Softmax()):
        assert quiet(module, X).passed
    assert quiet(layers.ReLU(), np.where(X > 0, X + 0.1, X - 0.1)).passed


def test_losses_are_checked_with_their_targets():
    y = RNG.normal(size=(4, 5))
    assert quiet(layers.MSE(), X, y).passed
    labels = np.array([0, 4, 2, 2])
    report = quiet(layers.SoftmaxCrossEntropy(), X, labels)
    assert report.passed and [row.name for row in report.rows] == ["dz"]


@pytest.mark.parametrize("kind", ["linear", "sigmoid", "tanh", "relu", "softmax"])
def test_right_student_layers_pass(kind):
    x = np.where(X > 0, X + 0.1, X - 0.1)
    for cls in M.RIGHT[kind].values():
        module = cls(5, 3) if kind == "linear" else cls()
        assert quiet(module, x, seed=3).passed, cls.__name__


VALUE_BUGS = [(kind, name) for kind in ("linear", "sigmoid", "tanh", "relu", "softmax")
              for name, cls in M.WRONG_BACKWARD[kind].items()
              if not any(w in name for w in ("accumulate", "in place", "cache", "updates W", "float32",
                                              "stored as", "params dict", "integer", "forward caches",
                                              "overwrites", "finite differences", "rebinds"))]


@pytest.mark.parametrize("kind,name", VALUE_BUGS, ids=[f"{k}-{n}" for k, n in VALUE_BUGS])
def test_a_planted_backward_bug_is_found_in_the_right_tensor(kind, name):
    cls = M.WRONG_BACKWARD[kind][name]
    x = np.where(X > 0, X + 0.1, X - 0.1)
    try:
        report = quiet(cls(5, 3) if kind == "linear" else cls(), x, seed=1)
    except ValueError:
        assert "no transpose" in name  # dout @ W does not even run: numpy says so
        return
    assert not report.passed
    bad = {row.name for row in report.rows if row.verdict != "ok"}
    if name.startswith("dW"):
        assert bad == {"W"}, report
    elif name.startswith("db"):
        assert bad == {"b"}, report
    else:
        assert "dz" in bad or bad & {"W", "b"}, report


@pytest.mark.parametrize("kind", ["mse", "softmax_cross_entropy"])
def test_planted_loss_bugs_are_found(kind):
    y = RNG.normal(size=(4, 5)) if kind == "mse" else np.array([0, 4, 2, 2])
    for name, cls in M.WRONG_BACKWARD[kind].items():
        if "cache" in name or "finite differences" in name:
            continue  # consistent with its own forward: only the autograder's checks refuse these
        assert not quiet(cls(), X, y).passed, name


def test_the_likely_mistake_is_named():
    assert "1/N" in quiet(M.LinearDwMean(5, 3), X)["W"].mistake
    assert "sign" in quiet(M.LinearSign(5, 3), X)["dz"].mistake
    assert "factor of two" in quiet(M.TanhFactorTwo(), X)["dz"].mistake
    assert "ignores dout" in quiet(M.SigmoidIgnoresDout(), X)["dz"].mistake
    assert "missing 1/N" in quiet(M.CrossEntropyNoMean(), X, np.array([0, 1, 2, 3]))["dz"].mistake
    assert "(4,) instead of (3,)" in quiet(M.LinearDbWrongAxis(5, 3), X)["b"].mistake


def test_a_missing_gradient_is_reported_not_raised():
    class NoGrads(M.Linear):
        def backward(self, dout):
            return dout @ self.params["W"].T

    class Fresh(NoGrads):
        def __init__(self, d_in, d_out):
            super().__init__(d_in, d_out)
            self.grads = {}

    report = quiet(Fresh(5, 3), X)
    assert report["W"].verdict == "missing" and report["dz"].verdict == "ok"


def test_a_network_has_every_layer_checked_and_a_buggy_layer_found():
    net = layers.Sequential(layers.Linear(5, 4, rng=1), layers.Tanh(), layers.Linear(4, 3, rng=2))
    report = quiet(net, X)
    assert report.passed
    assert [row.name for row in report.rows] == ["dz", "layers[0].W", "layers[0].b", "layers[2].W", "layers[2].b"]

    class Buggy(layers.Tanh):  # a planted bug: 1 - tanh instead of 1 - tanh^2
        def backward(self, dout):
            return dout * (1.0 - self.cache)

    net = layers.Sequential(layers.Linear(5, 4, rng=1), Buggy(), layers.Linear(4, 3, rng=2))
    report = quiet(net, X)
    bad = [row.name for row in report.rows if row.verdict != "ok"]
    assert bad == ["dz", "layers[0].W", "layers[0].b"]  # everything below the bug, nothing above


def test_large_tensors_use_directions_and_stay_fast():
    import time

    start = time.perf_counter()
    report = quiet(layers.Linear(784, 256, rng=0), RNG.normal(size=(8, 784)))
    assert report.passed and report["W"].worst is None
    assert time.perf_counter() - start < 10
    report = quiet(M.LinearDwMean(784, 256), RNG.normal(size=(8, 784)))
    assert report["W"].verdict == "wrong" and "1/N" in report["W"].mistake


def test_a_kink_is_reported_as_undecided_not_wrong():
    report = quiet(layers.ReLU(), np.array([[1e-6, -1.0, 2.0]]))
    assert report["dz"].verdict == "kink"


def test_the_module_and_the_inputs_are_left_as_found():
    layer = layers.Linear(5, 3, rng=0)
    W, b, x = layer.params["W"].copy(), layer.params["b"].copy(), X.copy()
    quiet(layer, x)
    assert np.array_equal(layer.params["W"], W) and np.array_equal(layer.params["b"], b)
    assert np.array_equal(x, X)


def test_the_default_dout_is_random_not_ones():
    report = quiet(M.ReLUIgnoresDout(), np.where(X > 0, X + 0.1, X - 0.1))
    assert not report.passed


def test_the_table_prints_and_reads(capsys):
    report = gradcheck(M.LinearDwMean(5, 3), X)
    printed = capsys.readouterr().out
    assert printed.strip() == report.table().strip() == repr(report).strip()
    assert "WRONG" in printed and "W" in printed and "1 of 3" in printed
    assert isinstance(report, Report)


def test_the_table_reads_in_portuguese(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_LANG", "pt_BR")
    table = quiet(M.LinearDwMean(5, 3), X).table()
    assert "ERRADO" in table and "formato" in table


def test_every_gradcheck_message_is_translated():
    keys = [k for k in messages.EN if k.startswith("gradcheck.")]
    assert len(keys) >= 15
    assert all(k in messages.PT_BR for k in keys)


def test_not_a_module_is_a_clear_error():
    with pytest.raises(TypeError, match="forward and backward"):
        gradcheck(np.tanh, X)
