"""Notebook 04, modular layers: wrong and right implementations of its exercises.

The layer classes come from tests/layer_mutants.py (shared with notebooks 05
to 07); the forward mistakes of Linear, a few MSE mistakes and the backward
loops are specific to this notebook.
"""

import numpy as np

import layer_mutants as M

from . import Exercise

ASSIGNMENT = "04-modular-layers"


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


class LinearElementwise(M.Linear):
    # * instead of @: fails by broadcasting
    def forward(self, x):
        self.x = x
        return x * self.params["W"] + self.params["b"]


LINEAR_FORWARD = Exercise(
    ASSIGNMENT, "linear_forward_test", "Linear",
    wrong={
        **M.WRONG_FORWARD["linear"],
        "bias subtracted": LinearBiasSubtracted,
        "x W^T": LinearWTransposedInForward,
        "W^T x^T, output (M, N)": LinearOutputTransposed,
        "float32 output": LinearForwardFloat32,
        "ReLU inside the linear layer": LinearReLUInside,
        "bias summed": LinearBiasSummed,
        "bias as a column": LinearBiasAsColumn,
        "returns a list": LinearForwardList,
        "x * W elementwise": LinearElementwise,
    },
    right=dict(M.RIGHT["linear"]),
)

LINEAR_BACKWARD = Exercise(
    ASSIGNMENT, "linear_backward_test", "Linear",
    wrong=dict(M.WRONG_BACKWARD["linear"]),
    right=dict(M.RIGHT["linear"]),
)


# -- activations: one test cell for Sigmoid, Tanh and ReLU -------------------------------------

def _activations(**classes):
    """The three classes the test cell expects: the textbook ones, except those given."""
    names = {"Sigmoid": M.Sigmoid, "Tanh": M.Tanh, "ReLU": M.ReLU}
    names.update(classes)
    return names


ACTIVATIONS = Exercise(
    ASSIGNMENT, "activations_test", "Sigmoid, Tanh, ReLU",
    wrong={
        **{f"Sigmoid: {k}": _activations(Sigmoid=v) for k, v in M.WRONG_BACKWARD["sigmoid"].items()},
        **{f"Tanh: {k}": _activations(Tanh=v) for k, v in M.WRONG_BACKWARD["tanh"].items()},
        **{f"ReLU: {k}": _activations(ReLU=v) for k, v in M.WRONG_BACKWARD["relu"].items()},
    },
    right={
        "textbook": _activations(),
        "from the input, 1/cosh^2, output mask": _activations(
            Sigmoid=M.SigmoidFromInput, Tanh=M.TanhCosh, ReLU=M.ReLUOutputMask),
        "tanh form, exp form, copy and zero": _activations(
            Sigmoid=M.SigmoidTanhForm, Tanh=M.TanhExpForm, ReLU=M.ReLUCopyAndZero),
        "exp form, z >= 0 (equivalent away from 0)": _activations(
            Sigmoid=M.SigmoidExpForm, ReLU=M.ReLUGreaterEqual),
    },
    namespace=lambda classes: dict(classes),
)


# -- MSE backward ------------------------------------------------------------------------------

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


MSE_BACKWARD = Exercise(
    ASSIGNMENT, "mse_loss_test", "MSE",
    wrong={
        **M.WRONG_BACKWARD["mse"],
        "divided by M only": MSEMeanOverColumns,
        "one number for every entry": MSEScalarGradient,
        "dout added, not multiplied": MSEDoutAdded,
    },
    right=dict(M.RIGHT["mse"]),
)


# -- the backward loop ---------------------------------------------------------------------------

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


SEQUENTIAL_BACKWARD = Exercise(
    ASSIGNMENT, "sequential_backward_test", "sequential_backward",
    wrong={
        "forward order": _forward_order,
        "delta not passed on": _not_passed_on,
        "returns the upstream gradient": _returns_upstream,
        "returns the first delta computed": _returns_first_delta,
        "stops before the first module": _stops_early,
        "skips the last module": _skips_last,
        "starts from ones": _starts_from_ones,
        "skips the parameter gradients": _skips_parameters,
        "returns every delta": _returns_all_deltas,
        "skips the activations": _only_parameter_layers,
    },
    right={
        "reversed": _loop,
        "index loop": _loop_index,
        "slice [::-1]": _loop_slice,
        "recursive": _recursive,
    },
)

EXERCISES = [LINEAR_FORWARD, LINEAR_BACKWARD, ACTIVATIONS, MSE_BACKWARD, SEQUENTIAL_BACKWARD]
