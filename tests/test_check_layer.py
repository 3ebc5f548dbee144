"""check_layer, check_layer_forward and check_loss accept right layers and name the wrong ones.

The wrong and right classes live in tests/layer_mutants.py (shared with the
notebooks' mutation modules). Every property check has a twin here that must
fail on it.
"""

import contextlib
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

import layer_mutants as M
from autograder import REGISTRY, check_layer, check_layer_forward, check_loss
from autograder.checks import layers as checks_layers
from autograder.contract import Inconclusive, Reject
from backproplab import layers, messages

LOSS_KINDS = ("mse", "softmax_cross_entropy")
LAYER_KINDS = ("linear", "sigmoid", "tanh", "relu", "softmax")


def outcome(cls, kind, **params):
    """None when every check of ``kind`` passes, else the first failure message."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            if kind in LOSS_KINDS:
                params.pop("d", None)
                check_loss(cls, kind=kind, **params)
            else:
                check_layer_forward(cls, kind=kind, **params)
                check_layer(cls, kind=kind, **params)
    except AssertionError as exc:
        return str(exc)
    return None


WRONG = [(kind, name) for kind in M.WRONG_BACKWARD for name in M.WRONG_BACKWARD[kind]]
WRONG += [(kind, "forward: " + name) for kind in M.WRONG_FORWARD for name in M.WRONG_FORWARD[kind]]
RIGHT = [(kind, name) for kind in M.RIGHT for name in M.RIGHT[kind]]


def wrong_class(kind, name):
    if name.startswith("forward: "):
        return M.WRONG_FORWARD[kind][name[len("forward: "):]]
    return M.WRONG_BACKWARD[kind][name]


def test_the_catalogue_has_eight_wrong_and_two_right_per_kind():
    for kind in LAYER_KINDS + LOSS_KINDS:
        assert len(M.WRONG_BACKWARD[kind]) >= 8, kind
        assert len(M.RIGHT[kind]) >= 2, kind


@pytest.mark.parametrize("kind,name", WRONG, ids=[f"{k}-{n}" for k, n in WRONG])
def test_wrong_implementation_fails_on_the_visible_call_and_other_sizes(kind, name):
    cls = wrong_class(kind, name)
    assert outcome(cls, kind, seed=0) is not None
    assert outcome(cls, kind, seed=2026, n=6, d=7, m=2) is not None
    survivors = [seed for seed in range(1, 4) if outcome(cls, kind, seed=seed) is None]
    assert not survivors, f"{kind}/{name} passed with seeds {survivors}"


@pytest.mark.slow
def test_wrong_implementations_fail_over_many_seeds_and_sizes():
    survivors = []
    for kind, name in WRONG:
        for seed in range(40):
            sizes = {"n": 2 + seed % 5, "d": 3 + seed % 4, "m": 2 + seed % 3}
            if sizes["d"] == sizes["m"] and kind == "linear":
                sizes["d"] += 1  # distinct sizes, as every test cell uses: a transpose must not fit
            if outcome(wrong_class(kind, name), kind, seed=seed, **sizes) is None:
                survivors.append((kind, name, seed, sizes))
    assert not survivors, survivors[:5]


@pytest.mark.parametrize("kind,name", RIGHT, ids=[f"{k}-{n}" for k, n in RIGHT])
def test_right_implementation_passes_on_the_visible_call(kind, name):
    assert outcome(M.RIGHT[kind][name], kind, seed=0) is None
    assert outcome(M.RIGHT[kind][name], kind, seed=2026, n=6, d=7, m=2) is None


@pytest.mark.slow
def test_right_implementations_pass_over_200_seeds():
    failures = []
    for kind, name in RIGHT:
        for seed in range(200):
            sizes = {"n": 2 + seed % 5, "d": 3 + seed % 4, "m": 2 + seed % 3}
            message = outcome(M.RIGHT[kind][name], kind, seed=seed, **sizes)
            if message is not None:
                failures.append((kind, name, seed, message))
    assert not failures, failures[:3]


@pytest.mark.parametrize("kind", LAYER_KINDS + LOSS_KINDS)
def test_the_library_reference_passes_with_a_wide_margin(kind, monkeypatch):
    # the library's modules are what a student must not call; here they are the answer under test
    monkeypatch.setattr(type(REGISTRY["layer"]), "delegation", ())
    monkeypatch.setattr(type(REGISTRY["loss"]), "delegation", ())
    cls = {"linear": layers.Linear, "sigmoid": layers.Sigmoid, "tanh": layers.Tanh, "relu": layers.ReLU,
           "softmax": layers.Softmax, "mse": layers.MSE, "softmax_cross_entropy": layers.SoftmaxCrossEntropy}[kind]
    check = REGISTRY["loss" if kind in LOSS_KINDS else "layer"]
    worst = 0.0
    for seed in range(40):
        params = check.resolve({"kind": kind, "seed": seed})
        records, error = check.collect(cls, params)
        verdict = check.verdict(params, records)
        assert verdict.passed and error is None, verdict.message
        worst = max(worst, verdict.worst_score)
    assert worst < 1e-2  # correct code stays far below the limit of 1


# -- diagnostics ----------------------------------------------------------------------------

DIAGNOSED = [
    ("linear", M.LinearDwMean, "extra division by N"),
    ("linear", M.LinearDbMean, "extra division by N"),
    ("linear", M.LinearDwTransposed, "dW = x^T dout"),
    ("linear", M.LinearDbWrongAxis, "axis 0"),
    ("linear", M.LinearDbNotSummed, "add the rows"),
    ("linear", M.LinearSign, "sign is flipped"),
    ("linear", M.LinearFactorTwo, "factor of two"),
    ("linear", M.LinearIgnoresDout, "dout was ignored"),
    ("linear", M.LinearAccumulates, "(+=)"),
    ("linear", M.LinearFloat32, "float32"),
    ("linear", M.LinearTransposedParams, "shape (5, 3)"),
    ("linear", M.LinearAttributes, "self.params"),
    ("sigmoid", M.SigmoidPrimeIsSigma, "s'(z) was taken as s(z)"),
    ("sigmoid", M.SigmoidFormulaOnInput, "with the input z"),
    ("sigmoid", M.SigmoidNumerical, "numerical approximation"),
    ("linear", M.LinearNumerical, "numerical approximation"),
    ("mse", M.MSENumerical, "numerical approximation"),
    ("tanh", M.TanhNotSquared, "1 - tanh(z) instead"),
    ("relu", M.ReLUPassesEverything, "also where z < 0"),
    ("relu", M.ReLUInvertedMask, "inverted"),
    ("relu", M.ReLUInPlaceDout, "changed its input dout"),
    ("relu", M.ReLUInPlaceForward, "changed its input x"),
    ("softmax", M.SoftmaxDiagonalOnly, "only the diagonal"),
    ("softmax", M.SoftmaxWrongAxis, "wrong axis"),
    ("softmax", M.SoftmaxIgnoresDout, "zero everywhere"),
    ("softmax", M.SoftmaxPOutsideSum, "sum to zero"),
    ("mse", M.MSEFacure, "Facure"),
    ("mse", M.MSEDroppedTwo, "The 2"),
    ("mse", M.MSESum, "1/N*M"),
    ("mse", M.MSEMeanOverRows, "divided by N only"),
    ("softmax_cross_entropy", M.CrossEntropyPOnly, "subtract 1 at the true class"),
    ("softmax_cross_entropy", M.CrossEntropyNoMean, "missing 1/N"),
    ("softmax_cross_entropy", M.CrossEntropyIgnoresDout, "dout was ignored"),
]


@pytest.mark.parametrize("kind,cls,phrase", DIAGNOSED, ids=[c.__name__ for _, c, _ in DIAGNOSED])
def test_diagnostics_name_the_mistake_and_the_seed(kind, cls, phrase):
    message = outcome(cls, kind, seed=11)
    assert message is not None
    assert phrase.lower() in message.lower(), message
    assert "seed 11" in message


def test_a_failure_names_the_tensor_and_the_worst_entries():
    message = outcome(M.LinearFactorTwo, "linear", seed=0)
    assert "grads['W']" in message
    assert re.search(r"\(\d, \d\): ", message), message  # (index: expected, got, score) rows


def test_softmax_cross_entropy_rows_that_do_not_sum_to_zero_are_pointed_out():
    message = outcome(M.CrossEntropyPOnly, "softmax_cross_entropy", seed=0)
    assert "sum to zero" in message


# -- the twins of the property checks ---------------------------------------------------------

class SigmoidMemo(M.Sigmoid):
    """Right the first time, then returns the first answer whatever dout is."""

    def backward(self, dout):
        if not hasattr(self, "memo"):
            self.memo = dout * self.s * (1 - self.s)
        return self.memo


class SigmoidClipped(M.Sigmoid):
    """Clips dout: right while |dout| is small, not linear in dout."""

    def backward(self, dout):
        return np.clip(dout, -3.0, 3.0) * self.s * (1 - self.s)


class SigmoidNaN(M.Sigmoid):
    def backward(self, dout):
        dz = dout * self.s * (1 - self.s)
        dz[0, 0] = np.nan
        return dz


class SigmoidList(M.Sigmoid):
    def backward(self, dout):
        return (dout * self.s * (1 - self.s)).tolist()


class LinearShapeSquashed(M.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.sum(axis=0, keepdims=True)
        return dx


class LinearNoGrads(M.Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        del self.grads["b"]
        return dx


PROPERTY_TWINS = [
    ("shape", "linear", LinearShapeSquashed, "keepdims"),
    ("dtype", "linear", M.LinearFloat32, "dtype float32"),
    ("dtype", "relu", M.ReLUIntMask, "dtype int64"),
    ("finite", "sigmoid", SigmoidNaN, "NaN or infinite"),
    ("array", "sigmoid", SigmoidList, "numpy array"),
    ("zero upstream", "sigmoid", SigmoidMemo, "dout = 0"),
    ("linear in dout", "sigmoid", SigmoidClipped, "linear in dout"),
    ("twice the same", "linear", M.LinearAccumulates, "twice"),
    ("twice the same", "tanh", M.TanhInPlaceCache, "twice"),
    ("x unchanged", "relu", M.ReLUInPlaceForward, "input x"),
    ("dout unchanged", "relu", M.ReLUInPlaceDout, "input dout"),
    ("params unchanged", "linear", M.LinearUpdatesWeights, "input W"),
    ("grads dict", "linear", LinearNoGrads, "self.grads"),
]


@pytest.mark.parametrize("prop,kind,cls,phrase", PROPERTY_TWINS, ids=[p for p, *_ in PROPERTY_TWINS])
def test_each_property_check_fails_its_twin(prop, kind, cls, phrase):
    params = {"seed": 0}
    with contextlib.redirect_stdout(io.StringIO()):
        with pytest.raises(AssertionError) as failure:
            check_layer(cls, kind=kind, **params)
    assert phrase in str(failure.value), str(failure.value)


def test_an_instance_instead_of_the_class_is_refused_clearly():
    with pytest.raises(AssertionError, match="your class itself"):
        check_layer(layers.Linear(5, 3), kind="linear", seed=0)  # callable, but not a class
    with pytest.raises(AssertionError, match="got a Linear"):
        check_layer(M.Linear(5, 3), kind="linear", seed=0)


def test_an_unknown_kind_is_a_clear_error():
    with pytest.raises(TypeError, match="kind='lstm'"):
        check_layer(M.Linear, kind="lstm", seed=0)


def test_inputs_are_kink_free_live_and_unsaturated_and_dout_is_random():
    check = REGISTRY["layer"]
    for seed in range(50):
        data = check.cases(check.resolve({"kind": "relu", "seed": seed}))[0].data
        assert np.abs(data["x"]).min() >= 0.1
        assert (data["x"] > 0).any() and (data["x"] < 0).any()
        data = check.cases(check.resolve({"kind": "tanh", "seed": seed}))[0].data
        assert np.abs(data["x"]).max() <= 3.0
        data = check.cases(check.resolve({"kind": "softmax", "seed": seed}))[0].data
        assert np.abs(data["x"]).max() <= 4.0
        assert not np.allclose(data["dout"], 1.0)


def test_a_step_across_a_kink_is_inconclusive_not_a_failure():
    x = np.array([[3e-6, -0.5], [0.7, -1.2]])  # x[0, 0] is closer to 0 than the step 1e-5
    dout = np.array([[1.3, -0.4], [0.2, 0.9]])
    right = checks_layers.Read(array=np.where(x > 0, dout, 0.0))
    with pytest.raises(Inconclusive):
        checks_layers._judge_tensor(right, lambda z: np.maximum(z, 0.0), x, dout, None,
                                    "backward(dout)", "dz", {}, {})
    wrong = checks_layers.Read(array=dout)
    with pytest.raises(Reject):
        checks_layers._judge_tensor(wrong, lambda z: np.maximum(z, 0.0), x, dout, None,
                                    "backward(dout)", "dz", {}, {})


# -- the recorded evidence -----------------------------------------------------------------

@pytest.mark.parametrize("kind,name", WRONG[::3] + RIGHT, ids=[f"{k}-{n}" for k, n in WRONG[::3] + RIGHT])
def test_the_grader_reaches_the_same_verdict_from_the_evidence(kind, name):
    cls = wrong_class(kind, name) if (kind, name) in WRONG else M.RIGHT[kind][name]
    check = REGISTRY["loss" if kind in LOSS_KINDS else "layer"]
    params = check.resolve({"kind": kind, "seed": 5})
    records, _ = check.collect(cls, params)
    here = check.verdict(params, records)
    there = check.verdict(json.loads(json.dumps(params)), json.loads(json.dumps(records)))
    assert (here.passed, here.message) == (there.passed, there.message)


def test_a_large_hidden_size_uses_directions_fast_and_records_little():
    check = REGISTRY["layer"]
    params = check.resolve({"kind": "linear", "seed": 3, "n": 8, "d": 784, "m": 256})
    start = time.perf_counter()
    records, error = check.collect(M.Linear, params)
    verdict = check.verdict(params, json.loads(json.dumps(records)))
    elapsed = time.perf_counter() - start
    assert verdict.passed and error is None, verdict.message
    assert elapsed < 5.0
    assert len(json.dumps(records)) < 50_000  # sketches, not 200 000 entries
    for cls, phrase in ((M.LinearDwMean, "extra division by N"), (M.LinearDbMean, "extra division by N"),
                        (M.LinearFactorTwo, "factor of two"), (M.LinearIgnoresDout, "dout was ignored"),
                        (M.LinearDwTransposed, "dW = x^T dout"), (M.LinearAccumulates, "twice")):
        records, _ = check.collect(cls, params)
        verdict = check.verdict(params, records)
        assert not verdict.passed and phrase in verdict.message, (cls.__name__, verdict.message)


def test_a_large_relu_and_softmax_use_directions_too():
    for kind, wrong in (("relu", M.ReLUPassesEverything), ("softmax", M.SoftmaxDiagonalOnly),
                        ("tanh", M.TanhNotSquared)):
        assert outcome(M.RIGHT[kind][next(iter(M.RIGHT[kind]))], kind, seed=1, n=16, d=300) is None
        assert outcome(wrong, kind, seed=1, n=16, d=300) is not None


# -- messages ---------------------------------------------------------------------------------

def test_every_message_of_these_checks_exists_in_both_languages():
    code = Path(checks_layers.__file__).read_text(encoding="utf-8")
    keys = set(re.findall(r'text\(\s*"([a-z_]+\.[a-z_0-9]+)"', code))
    keys |= {"mistake." + k for k in re.findall(r'"(layer_[a-z_0-9]+)": ', code)}
    keys.discard("mistake.layer_forward")
    assert len(keys) > 40
    for key in keys:
        assert key in messages.EN, key
        assert key in messages.PT_BR, key


def test_a_failure_reads_in_portuguese(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_LANG", "pt_BR")
    message = outcome(M.TanhNotSquared, "tanh", seed=0)
    assert "Erro provável" in message


# -- the module contract of notebook 04 ---------------------------------------------------------

class _ModuleLinear(layers.Module):
    """A student-shaped Linear: the Module base, a cache, gradients written into the arrays."""

    def __init__(self, d_in, d_out):
        super().__init__()
        self.params = {"W": np.zeros((d_in, d_out)), "b": np.zeros(d_out)}
        self.grads = {"W": np.zeros((d_in, d_out)), "b": np.zeros(d_out)}

    def forward(self, z):
        self.cache = z.copy()
        return z @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"][...] = self.cache.T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T


def test_forward_failures_name_no_upstream_gradient():
    message = outcome(M.LinearNoBias, "linear", seed=0)
    assert "bias" in message and "dout" not in message


def test_a_backward_that_rebinds_grads_is_rejected_by_name():
    class Rebinds(_ModuleLinear):
        def backward(self, dout):
            dz = super().backward(dout)
            self.grads["b"] = self.grads["b"].copy()
            return dz

    assert outcome(_ModuleLinear, "linear", seed=0) is None
    message = outcome(Rebinds, "linear", seed=0)
    assert "rebinds self.grads['b']" in message and "SGD" in message


def test_backward_is_graded_alone_when_forward_raises():
    class NoForward(_ModuleLinear):
        def forward(self, z):
            raise NotImplementedError()

    with contextlib.redirect_stdout(io.StringIO()):
        check_layer(NoForward, kind="linear", seed=0)
    with pytest.raises(AssertionError, match="NotImplementedError"):
        check_layer_forward(NoForward, kind="linear", seed=0)


def test_a_cache_that_is_the_callers_array_is_rejected():
    class Shares(_ModuleLinear):
        def forward(self, z):
            self.cache = z
            return z @ self.params["W"] + self.params["b"]

    with pytest.raises(AssertionError, match="not a copy"):
        check_layer_forward(Shares, kind="linear", seed=0)
