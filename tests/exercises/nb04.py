"""Notebook 04, modular layers: wrong and right implementations of its exercises.

The layer classes come from tests/layer_mutants.py (shared with notebooks 05
to 07); the classes written here follow the notebook's own contract (a
subclass of ``Module`` that caches in ``self.cache``), and the stacks and
optimizers are built on the notebook's given constructors. Each wrong
implementation comes with words its failure message must contain.
"""

import numpy as np

import layer_mutants as M
from backproplab.layers import Module
from backproplab.messages import text

from . import Exercise

ASSIGNMENT = "04-modular-layers"


# -- the notebook's Linear: given __init__, the student's methods --------------------------------

class NotebookLinear(Module):
    def __init__(self, d_in, d_out, rng=None):
        super().__init__()
        rng = np.random.default_rng(rng)
        self.params = {"W": rng.normal(0.0, 1.0 / np.sqrt(d_in), (d_in, d_out)), "b": np.zeros(d_out)}
        self.grads = {"W": np.zeros((d_in, d_out)), "b": np.zeros(d_out)}

    def forward(self, z):
        self.cache = z.copy()
        return z @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        z = self.cache
        self.grads["W"][...] = z.T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class CacheNotCopied(NotebookLinear):
    def forward(self, z):
        self.cache = z
        return z @ self.params["W"] + self.params["b"]


class CacheForgotten(NotebookLinear):
    def forward(self, z):
        return z @ self.params["W"] + self.params["b"]


class ForwardNotWritten(NotebookLinear):
    # the release's forward: backward is still graded, on the cache the contract describes
    def forward(self, z):
        raise NotImplementedError()


class ForwardUnpacked(NotebookLinear):
    def forward(self, z):
        W, b = self.params["W"], self.params["b"]
        self.cache = np.array(z)
        return np.einsum("nd,dm->nm", z, W) + b


class RebindsW(NotebookLinear):
    def backward(self, dout):
        z = self.cache
        self.grads["W"] = z.T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class RebindsB(NotebookLinear):
    def backward(self, dout):
        z = self.cache
        self.grads["W"][...] = z.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class BiasForgotten(NotebookLinear):
    # db never written: it stays at zero
    def backward(self, dout):
        self.grads["W"][...] = self.cache.T @ dout
        return dout @ self.params["W"].T


class DwTransposedInPlace(NotebookLinear):
    def backward(self, dout):
        self.grads["W"][...] = dout.T @ self.cache
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class DbWrongAxisInPlace(NotebookLinear):
    def backward(self, dout):
        self.grads["W"][...] = self.cache.T @ dout
        self.grads["b"][...] = dout.sum(axis=1)
        return dout @ self.params["W"].T


class BackwardOnForwardNotWritten(ForwardNotWritten):
    # right backward, forward left to write: the backward test passes on its own
    pass


class BackwardDelegated(NotebookLinear):
    def backward(self, dout):
        from backproplab import numeric
        W, b = self.params["W"], self.params["b"]
        self.grads["W"][...] = numeric.numerical_vjp(lambda w: self.cache @ w + b, W, dout)
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ W.T


class ForwardDelegated(NotebookLinear):
    def forward(self, z):
        from backproplab import layers
        return layers.Linear.forward(self, z)


class BackwardCopyto(NotebookLinear):
    def backward(self, dout):
        np.copyto(self.grads["W"], self.cache.T @ dout)
        np.copyto(self.grads["b"], dout.sum(axis=0))
        return dout @ self.params["W"].T


# -- Linear forward ----------------------------------------------------------------------------

class LinearBiasSubtracted(M.Linear):
    def forward(self, x):
        self.x = x
        return x @ self.params["W"] - self.params["b"]


class LinearWTransposedInForward(M.Linear):
    def forward(self, x):
        self.x = x
        return x @ self.params["W"].T + self.params["b"]


class LinearOutputTransposed(M.Linear):
    # W^T x^T, the column convention of the notes, left as (M, N)
    def forward(self, x):
        self.x = x
        return self.params["W"].T @ x.T + self.params["b"][:, None]


class LinearForwardFloat32(M.Linear):
    def forward(self, x):
        self.x = x
        return (x @ self.params["W"] + self.params["b"]).astype(np.float32)


class LinearReLUInside(M.Linear):
    # an activation slipped into the linear layer
    def forward(self, x):
        self.x = x
        return np.maximum(x @ self.params["W"] + self.params["b"], 0.0)


class LinearBiasSummed(M.Linear):
    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"].sum()


class LinearBiasAsColumn(M.Linear):
    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"][:, None]


class LinearForwardList(M.Linear):
    def forward(self, x):
        self.x = x
        return (x @ self.params["W"] + self.params["b"]).tolist()


class LinearWFirst(M.Linear):
    def forward(self, x):
        self.x = x
        return (self.params["W"] @ x.T).T + self.params["b"]


class LinearElementwise(M.Linear):
    # * instead of @: fails by broadcasting
    def forward(self, x):
        self.x = x
        return x * self.params["W"] + self.params["b"]


LINEAR_FORWARD = Exercise(
    ASSIGNMENT, "linear_forward_test", "Linear",
    wrong={
        "no bias": (M.LinearNoBias, "bias b is not added"),
        "W stored as (d_out, d_in)": (M.LinearTransposedParams, "self.params['W'] should have shape (5, 3)"),
        "no params dict": (M.LinearAttributes, "self.params"),
        "bias subtracted": (LinearBiasSubtracted, "bias is subtracted"),
        "x W^T": (LinearWTransposedInForward, "Which product of z and W has that shape"),
        "W^T x^T, output (M, N)": (LinearOutputTransposed, "transpose"),
        "float32 output": (LinearForwardFloat32, "float64"),
        "ReLU inside the linear layer": (LinearReLUInside, "entries are wrong"),
        "bias summed": (LinearBiasSummed, "entries are wrong"),
        "bias as a column": (LinearBiasAsColumn, "could not be broadcast"),
        "returns a list": (LinearForwardList, "should be a numpy array"),
        "x * W elementwise": (LinearElementwise, "raised ValueError"),
        "W x^T": (LinearWFirst, "Which product of z and W has that shape"),
        "cache is the caller's z": (CacheNotCopied, "not a copy"),
        "nothing cached": (CacheForgotten, "left self.cache empty"),
        "calls the library's Linear": (ForwardDelegated, "calls Linear.forward"),
    },
    right={
        "the notebook's": NotebookLinear,
        "einsum, np.array copy": ForwardUnpacked,
        **dict(M.RIGHT["linear"]),
    },
)

LINEAR_BACKWARD = Exercise(
    ASSIGNMENT, "linear_backward_test", "Linear",
    wrong={
        "rebinds grads['W']": (RebindsW, "rebinds self.grads['W']"),
        "rebinds grads['b']": (RebindsB, "rebinds self.grads['b']"),
        "rebinds both (textbook numbers)": (M.LinearRebindsGrads, "rebinds self.grads['W']"),
        "forgotten bias gradient": (BiasForgotten, "db was never written"),
        "dW transposed, written in place": (DwTransposedInPlace, "dW = x^T dout"),
        "db over the wrong axis, in place": (DbWrongAxisInPlace, "axis 0"),
        "dz = dout W (no transpose)": (M.LinearDzNoTranspose, "dout times W transposed, dout @ W.T"),
        "dW = dout^T x (transposed)": (M.LinearDwTransposed, "dW = x^T dout"),
        "dW divided by N": (M.LinearDwMean, "1/N"),
        "db is a mean": (M.LinearDbMean, "1/N"),
        "db not summed": (M.LinearDbNotSummed, "db must add the rows"),
        "db is the first row": (M.LinearDbFirstRow, "first row of dout"),
        "dz sign flipped": (M.LinearSign, "sign"),
        "dW times 2": (M.LinearFactorTwo, "factor of two"),
        "ignores dout": (M.LinearIgnoresDout, "dout was ignored"),
        "grads accumulate (+=)": (M.LinearAccumulates, "not add to them"),
        "updates W inside backward": (M.LinearUpdatesWeights, "changed its input W"),
        "dW in float32": (M.LinearFloat32, "float64"),
        "finite differences": (M.LinearNumerical, "numerical approximation"),
        "calls numeric.numerical_vjp": (BackwardDelegated, "calls numeric.numerical_vjp"),
    },
    right={
        "the notebook's": NotebookLinear,
        "np.copyto": BackwardCopyto,
        "forward not written yet": BackwardOnForwardNotWritten,
        "loops": M.LinearLoops,
        "einsum": M.LinearEinsum,
        "transposed back": M.LinearTransposedBack,
    },
)

# -- activations: one cell and one test cell each ---------------------------------------------

class NotebookSigmoid(Module):
    def forward(self, z):
        e = np.exp(-np.abs(z))
        out = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        self.cache = out
        return out

    def backward(self, dout):
        return dout * self.cache * (1.0 - self.cache)


class SigmoidCachesInputNoCopy(Module):
    def forward(self, z):
        self.cache = z
        return NotebookSigmoid().forward(z)

    def backward(self, dout):
        s = NotebookSigmoid().forward(self.cache)
        return dout * s * (1 - s)


class SigmoidForwardMissing(NotebookSigmoid):
    def forward(self, z):
        raise NotImplementedError()


class NaiveSigmoid(NotebookSigmoid):
    def forward(self, z):
        self.cache = 1.0 / (1.0 + np.exp(-z))
        return self.cache


class WhereSigmoid(NotebookSigmoid):
    # both branches are computed for every entry: exp overflows in the one not taken
    def forward(self, z):
        self.cache = np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))
        return self.cache


class ClippedSigmoid(NotebookSigmoid):
    def forward(self, z):
        self.cache = 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))
        return self.cache


SIGMOID = Exercise(
    ASSIGNMENT, "sigmoid_test", "Sigmoid",
    wrong={
        "sigma' = sigma": (M.SigmoidPrimeIsSigma, "s'(z) was taken as s(z)"),
        "s(1 - s) on the input": (M.SigmoidFormulaOnInput, "computed with the input z"),
        "ignores dout": (M.SigmoidIgnoresDout, "dout was ignored"),
        "sigmoid applied twice": (M.SigmoidTwice, "sigmoid was applied twice"),
        "sign flipped": (M.SigmoidSign, "sign"),
        "s(1 + s)": (M.SigmoidOnePlus, "s (1 + s); the derivative is s (1 - s)"),
        "naive 1 / (1 + exp(-z))": (NaiveSigmoid, "exp(-|z|), which never overflows"),
        "np.where of two naive branches": (WhereSigmoid, "np.where computes both of its branches"),
        "1 - s only": (M.SigmoidOneMinusOnly, "entries are wrong"),
        "changes its cache in backward": (M.SigmoidInPlaceCache, "twice with the same dout"),
        "overwrites the input in forward": (M.SigmoidInPlaceForward, "changed its input x"),
        "finite differences": (M.SigmoidNumerical, "numerical approximation"),
        "caches the caller's z": (SigmoidCachesInputNoCopy, "not a copy"),
        "forward not written": (SigmoidForwardMissing, "NotImplementedError"),
    },
    right={"the notebook's": NotebookSigmoid, "exp clipped to +-500": ClippedSigmoid, **dict(M.RIGHT["sigmoid"])},
)


class NotebookTanh(Module):
    def forward(self, z):
        self.cache = np.tanh(z)
        return self.cache

    def backward(self, dout):
        return dout * (1.0 - self.cache**2)


class TanhOnCachedInput(Module):
    # caches a copy of the input, then writes the derivative with the output's formula on it
    def forward(self, z):
        self.cache = z.copy()
        return np.tanh(z)

    def backward(self, dout):
        return dout * (1 - self.cache**2)


class TanhTwice(NotebookTanh):
    def backward(self, dout):
        return dout * (1.0 - np.tanh(self.cache) ** 2)


class TanhCoshOfOutput(NotebookTanh):
    def backward(self, dout):
        return dout / np.cosh(self.cache) ** 2


TANH = Exercise(
    ASSIGNMENT, "tanh_test", "Tanh",
    wrong={
        "1 - tanh": (M.TanhNotSquared, "1 - tanh(z) instead of 1 - tanh(z)**2"),
        "1 - z^2 on the input": (M.TanhFormulaOnInput, "1 - z**2 uses the input"),
        "1 - a^2 on a cached input": (TanhOnCachedInput, "1 - z**2 uses the input"),
        "ignores dout": (M.TanhIgnoresDout, "dout was ignored"),
        "tanh' = tanh": (M.TanhPrimeIsTanh, "tanh'(z) was taken as tanh(z)"),
        "sign flipped": (M.TanhSign, "sign"),
        "1 + tanh^2": (M.TanhPlus, "1 + t**2; the derivative is 1 - t**2"),
        "1 - tanh(out)**2, tanh twice": (TanhTwice, "tanh was applied twice"),
        "1 / cosh(out)**2": (TanhCoshOfOutput, "tanh was applied twice"),
        "(1 - tanh)^2": (M.TanhSquaredWrong, "entries are wrong"),
        "factor two": (M.TanhFactorTwo, "factor of two"),
        "changes its cache in backward": (M.TanhInPlaceCache, "twice with the same dout"),
    },
    right={"the notebook's": NotebookTanh, **dict(M.RIGHT["tanh"])},
)


class NotebookReLU(Module):
    def forward(self, z):
        self.cache = z.copy()
        return np.maximum(z, 0.0)

    def backward(self, dout):
        return dout * (self.cache > 0)


class ReLUCacheNotCopied(NotebookReLU):
    def forward(self, z):
        self.cache = z
        return np.maximum(z, 0.0)


RELU = Exercise(
    ASSIGNMENT, "relu_test", "ReLU",
    wrong={
        "mask out >= 0 (passes everything)": (M.ReLUPassesEverything, "passes everywhere"),
        "inverted mask": (M.ReLUInvertedMask, "mask is inverted"),
        "dout * relu(z)": (M.ReLUTimesOutput, "multiplied by relu(z)"),
        "ignores dout": (M.ReLUIgnoresDout, "dout was ignored"),
        "max(dout, 0)": (M.ReLUMaskOnDout, "entries are wrong"),
        "sign flipped": (M.ReLUSign, "sign"),
        "zeroes dout in place": (M.ReLUInPlaceDout, "changed its input dout"),
        "zeroes z in place in forward": (M.ReLUInPlaceForward, "changed its input x"),
        "integer result": (M.ReLUIntMask, "float64"),
        "caches the caller's z": (ReLUCacheNotCopied, "not a copy"),
    },
    right={"the notebook's": NotebookReLU, **dict(M.RIGHT["relu"])},
)


# -- MSE ---------------------------------------------------------------------------------------

class MSEMeanOverColumns(M.MSE):
    def backward(self, dout=1.0):
        return dout * 2 * (self.z - self.y) / self.z.shape[1]


class MSEScalarGradient(M.MSE):
    # the mean taken one step too far: one number for every entry
    def backward(self, dout=1.0):
        return dout * 2 * np.mean(self.z - self.y) * np.ones_like(self.z)


class MSEDoutAdded(M.MSE):
    def backward(self, dout=1.0):
        return dout + 2 * (self.z - self.y) / self.z.size


class NotebookMSE(Module):
    def forward(self, z, y):
        self.cache = (z.copy(), y.copy())
        return float(np.mean((z - y) ** 2))

    def backward(self, dout=1.0):
        z, y = self.cache
        return dout * 2.0 * (z - y) / z.size


MSE = Exercise(
    ASSIGNMENT, "mse_loss_test", "MSE",
    wrong={
        "Facure's z - y": (M.MSEFacure, "drops the 2 / (N M)"),
        "dout * (z - y)": (M.MSEFacureTimesDout, "the simplified gradient"),
        "dropped the 2": (M.MSEDroppedTwo, "the 2 of d(r**2)/dr = 2r was dropped"),
        "ignores dout": (M.MSEIgnoresDout, "dout was ignored"),
        "divided by N only": (M.MSEMeanOverRows, "divided by N only"),
        "sum instead of mean": (M.MSESum, "forward(z, y)"),
        "sign flipped": (M.MSESign, "sign"),
        "/ n * m precedence": (M.MSEPrecedence, "times the expected ones"),
        "finite differences": (M.MSENumerical, "numerical approximation"),
        "divided by M only": (MSEMeanOverColumns, "1/N"),
        "one number for every entry": (MSEScalarGradient, "entries are wrong"),
        "dout added, not multiplied": (MSEDoutAdded, "entries are wrong"),
        "forward: sum": (M.MSEForwardSum, "forward(z, y)"),
        "forward: root": (M.MSEForwardRoot, "square root"),
    },
    right={"the notebook's": NotebookMSE, **dict(M.RIGHT["mse"])},
)


# -- Sequential: the given class, the student's forward and backward -----------------------------

class NotebookSequential(Module):
    def __init__(self, *modules):
        super().__init__()
        for i, module in enumerate(modules):
            for j in range(i):
                if modules[j] is module:
                    raise ValueError(text("layers.module_reused", module=repr(module), first=j, second=i))
        self.layers = list(modules)
        for i, layer in enumerate(self.layers):
            for name in layer.params:
                self.params[f"layers[{i}].{name}"] = layer.params[name]
                self.grads[f"layers[{i}].{name}"] = layer.grads[name]

    def forward(self, z):
        for layer in self.layers:
            z = layer.forward(z)
        return z

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout


def _with_forward(function):
    return type("Sequential", (NotebookSequential,), {"forward": lambda self, z: function(self.layers, z)})


def _with_backward(function):
    return type("Sequential", (NotebookSequential,), {"backward": lambda self, dout: function(self.layers, dout)})


def _fw_loop(layers, z):
    for layer in layers:
        z = layer.forward(z)
    return z


def _fw_index(layers, z):
    out = z
    for i in range(len(layers)):
        out = layers[i].forward(out)
    return out


def _fw_call(layers, z):
    for layer in layers:
        z = layer(z)  # Module.__call__ is forward
    return z


def _fw_recursive(layers, z):
    return _fw_recursive(layers[1:], layers[0].forward(z)) if layers else z


def _fw_reversed(layers, z):
    for layer in reversed(layers):
        z = layer.forward(z)
    return z


def _fw_returns_input(layers, z):
    out = z
    for layer in layers:
        out = layer.forward(out)
    return z


def _fw_not_chained(layers, z):
    for layer in layers:
        out = layer.forward(z)
    return out


def _fw_skips_last(layers, z):
    for layer in layers[:-1]:
        z = layer.forward(z)
    return z


def _fw_skips_first(layers, z):
    for layer in layers[1:]:
        z = layer.forward(z)
    return z


def _fw_all_outputs(layers, z):
    outs = []
    for layer in layers:
        z = layer.forward(z)
        outs.append(z)
    return outs


def _fw_first_only(layers, z):
    for layer in layers:
        return layer.forward(z)


def _fw_in_place(layers, z):
    out = _fw_loop(layers, z)
    z *= 0.0  # clears the caller's array
    return out


def _fw_delegated(layers, z):
    from backproplab import layers as library
    return library.Sequential.forward(type("S", (), {"layers": layers})(), z)


SEQUENTIAL_FORWARD = Exercise(
    ASSIGNMENT, "sequential_forward_test", "Sequential",
    wrong={
        "reversed order": (_with_forward(_fw_reversed), "raised ValueError"),
        "returns its input": (_with_forward(_fw_returns_input), "returned an array of shape"),
        "each module on the input": (_with_forward(_fw_not_chained), "raised ValueError"),
        "skips the last module": (_with_forward(_fw_skips_last), "last module was skipped"),
        "skips the first module": (_with_forward(_fw_skips_first), "must have shape (N, 6)"),
        "returns every output": (_with_forward(_fw_all_outputs), "should return one array"),
        "returns after the first module": (_with_forward(_fw_first_only), "returned an array of shape"),
        "clears the caller's z": (_with_forward(_fw_in_place), "changed its input z"),
        "calls the library's Sequential": (_with_forward(_fw_delegated), "Sequential.forward, which already does"),
    },
    right={
        "loop": _with_forward(_fw_loop),
        "index loop": _with_forward(_fw_index),
        "calls the modules": _with_forward(_fw_call),
        "recursive": _with_forward(_fw_recursive),
    },
)


def _loop(layers, dout):
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return dout


def _loop_index(layers, dout):
    for i in range(len(layers) - 1, -1, -1):
        dout = layers[i].backward(dout)
    return dout


def _loop_slice(layers, dout):
    delta = dout
    for layer in layers[::-1]:
        delta = layer.backward(delta)
    return delta


def _recursive(layers, dout):
    if not layers:
        return dout
    return _recursive(layers[:-1], layers[-1].backward(dout))


def _forward_order(layers, dout):
    for layer in layers:
        dout = layer.backward(dout)
    return dout


def _not_passed_on(layers, dout):
    for layer in reversed(layers):
        delta = layer.backward(dout)
    return delta


def _not_chained(layers, dout):
    delta = dout
    for layer in reversed(layers):
        layer.backward(delta)
    return delta


def _returns_upstream(layers, dout):
    delta = dout
    for layer in reversed(layers):
        delta = layer.backward(delta)
    return dout


def _returns_first_delta(layers, dout):
    deltas = []
    for layer in reversed(layers):
        dout = layer.backward(dout)
        deltas.append(dout)
    return deltas[0]


def _stops_early(layers, dout):
    for layer in reversed(layers[1:]):
        dout = layer.backward(dout)
    return dout


def _skips_last(layers, dout):
    for layer in reversed(layers[:-1]):
        dout = layer.backward(dout)
    return dout


def _starts_from_ones(layers, dout):
    dout = np.ones_like(dout)
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return dout


def _skips_parameters(layers, dout):
    # passes the delta through a linear layer by hand: right dz, but W and b never get their gradients
    for layer in reversed(layers):
        if layer.params:
            dout = dout @ layer.params["W"].T
        else:
            dout = layer.backward(dout)
    return dout


def _returns_all_deltas(layers, dout):
    deltas = [dout]
    for layer in reversed(layers):
        deltas.append(layer.backward(deltas[-1]))
    return deltas


def _only_parameter_layers(layers, dout):
    # skips the activations, thinking only layers with parameters need a backward
    for layer in reversed(layers):
        if layer.params:
            dout = layer.backward(dout)
    return dout


def _bw_delegated(layers, dout):
    from backproplab import layers as library
    return library.Sequential.backward(type("S", (), {"layers": layers})(), dout)


SEQUENTIAL_BACKWARD = Exercise(
    ASSIGNMENT, "sequential_backward_test", "Sequential",
    wrong={
        "forward order": (_with_backward(_forward_order), "the modules ran in forward order"),
        "delta not passed on": (_with_backward(_not_passed_on), "received dout itself instead of the delta"),
        "delta never assigned": (_with_backward(_not_chained), "received dout itself instead of the delta"),
        "returns the upstream gradient": (_with_backward(_returns_upstream), "returned dout unchanged"),
        "returns the first delta computed": (_with_backward(_returns_first_delta), "returned the first delta computed"),
        "stops before the first module": (_with_backward(_stops_early), "stopped before the first module"),
        "skips the last module": (_with_backward(_skips_last), "or the last module skipped"),
        "starts from ones": (_with_backward(_starts_from_ones), "started from ones"),
        "skips the parameter gradients": (_with_backward(_skips_parameters), "backward was never called"),
        "returns every delta": (_with_backward(_returns_all_deltas), "tuple"),
        "skips the activations": (_with_backward(_only_parameter_layers), "entries are wrong"),
        "calls the library's Sequential": (_with_backward(_bw_delegated), "Sequential.backward, which already does"),
    },
    right={
        "reversed": _with_backward(_loop),
        "index loop": _with_backward(_loop_index),
        "slice [::-1]": _with_backward(_loop_slice),
        "recursive": _with_backward(_recursive),
    },
)


# -- SGD: the given constructor, the student's step --------------------------------------------

class NotebookSGD:
    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        self.lr = float(lr)

    def step(self):
        for param, grad in self.parameters:
            param -= self.lr * grad


def _sgd(step):
    return type("SGD", (NotebookSGD,), {"step": step})


def _rebinds(self):
    for param, grad in self.parameters:
        param = param - self.lr * grad  # noqa: F841 (a new array, bound to a local name)


def _rebinds_list(self):
    self.parameters = [(param - self.lr * grad, grad) for param, grad in self.parameters]


def _plus(self):
    for param, grad in self.parameters:
        param += self.lr * grad


def _no_lr(self):
    for param, grad in self.parameters:
        param -= grad


def _divided(self):
    for param, grad in self.parameters:
        param -= grad / self.lr


def _forgot_param(self):
    for param, grad in self.parameters:
        param[...] = -self.lr * grad


def _first_only(self):
    for param, grad in self.parameters:
        param -= self.lr * grad
        return


def _last_only(self):
    for param, grad in self.parameters:
        pass
    param -= self.lr * grad


def _zeroes_grads(self):
    for param, grad in self.parameters:
        param -= self.lr * grad
        grad[...] = 0.0


def _swapped(self):
    for param, grad in self.parameters:
        grad -= self.lr * param


def _stale(self):
    if not hasattr(self, "first"):
        self.first = [grad.copy() for _, grad in self.parameters]
    for (param, _), grad in zip(self.parameters, self.first):
        param -= self.lr * grad


def _delegated(self):
    from backproplab import layers as library
    library.SGD.step(self)


def _in_place_copy(self):
    for param, grad in self.parameters:
        param[...] = param - self.lr * grad


def _subtract_out(self):
    for param, grad in self.parameters:
        np.subtract(param, self.lr * grad, out=param)


def _index_loop(self):
    for i in range(len(self.parameters)):
        self.parameters[i][0][...] -= self.lr * self.parameters[i][1]


SGD_STEP = Exercise(
    ASSIGNMENT, "sgd_step_test", "SGD",
    wrong={
        "param = param - lr * grad": (_sgd(_rebinds), "did not move"),
        "new list of pairs": (_sgd(_rebinds_list), "did not move"),
        "plus instead of minus": (_sgd(_plus), "sign"),
        "no learning rate": (_sgd(_no_lr), "learning rate is missing"),
        "divided by lr": (_sgd(_divided), "divided by the learning rate"),
        "param replaced by -lr * grad": (_sgd(_forgot_param), "must move from where it is"),
        "return inside the loop": (_sgd(_first_only), "only the first"),
        "update outside the loop": (_sgd(_last_only), "only the last"),
        "zeroes the gradients": (_sgd(_zeroes_grads), "changed gradient 0"),
        "steps the gradients": (_sgd(_swapped), "changed gradient 0"),
        "first gradients kept": (_sgd(_stale), "used the first gradients again"),
        "calls the library's SGD": (_sgd(_delegated), "SGD.step, which already does"),
    },
    right={
        "-=": NotebookSGD,
        "param[...] = param - lr * grad": _sgd(_in_place_copy),
        "np.subtract(out=)": _sgd(_subtract_out),
        "index loop": _sgd(_index_loop),
    },
)


# -- numerical_grads: central differences of f = sum(forward(z) * dout) -------------------------

def _numgrad(difference="central", step=None, restore="old", params=True, use_dout=True):
    """numerical_grads with one deliberate change (or none, with the defaults)."""
    def numerical_grads(module, z, dout, h=1e-5):
        hh = h if step is None else step

        def f():
            out = module.forward(z)
            return np.sum(out * dout) if use_dout else np.sum(out)

        grads = {}
        tensors = [("z", z)] + (list(module.params.items()) if params else [])
        for name, array in tensors:
            grad = np.zeros_like(array)
            for i in np.ndindex(array.shape):
                old = array[i]
                f0 = f()
                array[i] = old + hh
                f_plus = f()
                array[i] = old - hh if restore != "arithmetic" else array[i] - 2 * hh
                f_minus = f()
                if restore == "old":
                    array[i] = old
                elif restore == "arithmetic":
                    array[i] = array[i] + hh
                grad[i] = {"central": (f_plus - f_minus) / (2 * hh), "forward": (f_plus - f0) / hh,
                           "by h": (f_plus - f_minus) / hh, "sign": (f_minus - f_plus) / (2 * hh)}[difference]
            grads[name] = grad
        return grads
    return numerical_grads


def _numgrad_backward(module, z, dout, h=1e-5):
    module.forward(z)
    grads = {"z": module.backward(dout)}
    grads.update({name: grad.copy() for name, grad in module.grads.items()})
    return grads


def _numgrad_list(module, z, dout, h=1e-5):
    return list(_numgrad()(module, z, dout, h).values())


def _numgrad_delegated(module, z, dout, h=1e-5):
    from backproplab import numeric
    grads = {"z": numeric.numerical_vjp(lambda v: module.forward(v), z, dout, h)}
    for name, array in module.params.items():
        def f(v, array=array):
            old = array.copy()
            array[...] = v
            out = module.forward(z)
            array[...] = old
            return out
        grads[name] = numeric.numerical_vjp(f, array.copy(), dout, h)
    return grads


def _numgrad_copies(module, z, dout, h=1e-5):
    # nudges copies and rebinds them into params; the original arrays are put back at the end
    grads = {}
    for name in ["z"] + list(module.params):
        original = z if name == "z" else module.params[name]
        grad = np.zeros_like(original)
        for i in np.ndindex(original.shape):
            values = []
            for sign in (1, -1):
                nudged = original.copy()
                nudged[i] += sign * h
                if name == "z":
                    values.append(np.sum(module.forward(nudged) * dout))
                else:
                    module.params[name] = nudged
                    values.append(np.sum(module.forward(z) * dout))
                    module.params[name] = original
            grad[i] = (values[0] - values[1]) / (2 * h)
        grads[name] = grad
    return grads


def _numgrad_flat(module, z, dout, h=1e-5):
    grads = {}
    for name, array in [("z", z)] + list(module.params.items()):
        flat, grad = array.reshape(-1), np.zeros(array.size)  # a view: writing flat writes array
        for k in range(array.size):
            old = flat[k]
            flat[k] = old + h
            up = (module.forward(z) * dout).sum()
            flat[k] = old - h
            down = (module.forward(z) * dout).sum()
            flat[k] = old
            grad[k] = (up - down) / (2 * h)
        grads[name] = grad.reshape(array.shape)
    return grads


NUMERICAL_GRADS = Exercise(
    ASSIGNMENT, "numerical_grads_test", "numerical_grads",
    wrong={
        "one-sided (f(x + h) - f(x)) / h": (_numgrad("forward"), "one-sided difference (f(x + h) - f(x)) / h"),
        "divided by h, not 2h": (_numgrad("by h"), "factor of two"),
        "sign flipped": (_numgrad("sign"), "sign"),
        "fixed step 1e-5": (_numgrad(step=1e-5), "the step h passed in was not used"),
        "entries not put back": (_numgrad(restore="never"), "after nudging an entry, put its old value back"),
        "put back by adding h again": (_numgrad(restore="arithmetic"), "adding h and then subtracting it rounds"),
        "z only, no parameters": (_numgrad(params=False), "no gradient for the parameter 'W'"),
        "f without dout": (_numgrad(use_dout=False), "entries are wrong"),
        "the module's own backward": (_numgrad_backward, "not finite differences"),
        "returns a list": (_numgrad_list, "should return a dict"),
        "calls numeric.numerical_vjp": (_numgrad_delegated, "numerical_vjp"),
    },
    right={
        "the notebook's": _numgrad(),
        "nudged copies": _numgrad_copies,
        "flat view": _numgrad_flat,
    },
)


# -- fit: the training loop (graded with the library's SGD in place of the notebook's) -------------

SGD = NotebookSGD  # the name fit uses; the check swaps in the library's


def _fit(order="right"):
    def fit(model, loss_fn, X, Y, lr, steps):
        optimizer = SGD(model.parameters(), 0.05 if order == "fixed lr" else lr)
        costs = []
        count = steps - 1 if order == "one short" else steps
        for k in range(count):
            if order != "forward once" or k == 0:
                cost = loss_fn.forward(model.forward(X), Y)
            if order == "step first":
                optimizer.step()
            if order != "no backward":
                model.backward(np.ones_like(Y) if order == "ones" else loss_fn.backward(1.0))
            if order not in ("step first", "no step"):
                optimizer.step()
            if order == "after":
                cost = loss_fn.forward(model.forward(X), Y)
            costs.append(cost)
        if order == "extra step":
            loss_fn.forward(model.forward(X), Y)
            model.backward(loss_fn.backward(1.0))
            optimizer.step()
        return costs[-1] if order == "last only" else costs
    return fit


def _fit_by_hand(model, loss_fn, X, Y, lr, steps):
    costs = []
    for _ in range(steps):
        costs.append(loss_fn.forward(model.forward(X), Y))
        model.backward(loss_fn.backward())
        for param, grad in model.parameters():
            param -= lr * grad
    return costs


def _fit_new_optimizer(model, loss_fn, X, Y, lr, steps):
    costs = []
    step = 0
    while step < steps:
        out = model.forward(X)
        costs.append(loss_fn.forward(out, Y))
        model.backward(loss_fn.backward(1.0))
        SGD(model.parameters(), lr).step()
        step += 1
    return np.array(costs)


FIT = Exercise(
    ASSIGNMENT, "fit_test", "fit",
    wrong={
        "cost after the step": (_fit("after"), "the cost was computed after the step"),
        "step before backward": (_fit("step first"), "optimizer.step() ran before the backward"),
        "fixed learning rate": (_fit("fixed lr"), "the learning rate is fixed"),
        "forward once": (_fit("forward once"), "forward ran once, before the loop"),
        "backward from ones": (_fit("ones"), "model.backward was given ones"),
        "no step": (_fit("no step"), "left every parameter where it was"),
        "no backward": (_fit("no backward"), "left every parameter where it was"),
        "one step short": (_fit("one short"), "costs for steps ="),
        "an extra step after the loop": (_fit("extra step"), "one step too many"),
        "returns the last cost": (_fit("last only"), "should return a list of"),
    },
    right={
        "the notebook's": _fit(),
        "update by hand": _fit_by_hand,
        "new optimizer each step, while loop": _fit_new_optimizer,
    },
)

EXERCISES = [LINEAR_FORWARD, LINEAR_BACKWARD, SIGMOID, TANH, RELU, MSE, SEQUENTIAL_FORWARD, SEQUENTIAL_BACKWARD,
             SGD_STEP, NUMERICAL_GRADS, FIT]
