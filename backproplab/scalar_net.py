"""Scalar models and their chain-rule gradients (notebook 02).

Two tiny models, each written as a chain of named steps so that every factor
of the chain rule has a name:

- the line  y_hat = w x + b  with the squared loss L = (y_hat - y)^2 / 2 per
  sample and the cost C = (1/N) sum_i L_i over a batch;
- the two-layer scalar network

      z1 = w1 x + b1,  o1 = s(z1),  z2 = w2 o1 + b2,  o2 = s(z2),  L = (o2 - y)^2 / 2,

  with s the sigmoid, whose gradients are products of local derivatives taken
  from the loss back to the parameter (hence "backpropagation").
"""

import numpy as np

from backproplab.functions import sigmoid
from backproplab.messages import text

PARAMS = ("w1", "b1", "w2", "b2")

__all__ = ["sigmoid", "sigmoid_prime", "step", "line_cost", "line_gradients",
           "two_layer_forward", "two_layer_loss", "two_layer_gradients", "PARAMS"]


def sigmoid_prime(x):
    """The sigmoid's derivative s'(x), elementwise; x: number or array (...) -> same shape.

    The grader's reference for notebook 02, where the student derives it.
    """
    s = sigmoid(np.asarray(x, dtype=np.float64))
    return s * (1.0 - s)


def step(x):
    """The Heaviside step H(x) = 1 if x >= 0 else 0, elementwise: flat on both sides of 0."""
    return np.where(np.asarray(x, dtype=np.float64) >= 0, 1.0, 0.0)


# -- the line y_hat = w x + b ---------------------------------------------------------

def _batch(x, y):
    """x, y as float64 arrays of one shape (N,); a number counts as N = 1."""
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y, dtype=np.float64))
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(text("scalar_net.batch_shapes", x=x.shape, y=y.shape))
    return x, y


def line_cost(w, b, x, y):
    """C(w, b) = (1/N) sum_i (w x_i + b - y_i)^2 / 2, a number.

    w, b: numbers; x, y: (N,) (numbers count as N = 1, where C is the loss L).
    """
    x, y = _batch(x, y)
    return float(np.mean((w * x + b - y) ** 2) / 2.0)


def line_gradients(w, b, x, y):
    """(dw, db) = dC/dw, dC/db of :func:`line_cost`, two numbers.

    w, b: numbers; x, y: (N,). The grader's reference for notebook 02, where
    the student derives them by the chain rule through y_hat.
    """
    x, y = _batch(x, y)
    error = w * x + b - y
    return float(np.mean(error * x)), float(np.mean(error))


# -- the two-layer scalar network ----------------------------------------------------

def _params(params):
    missing = [name for name in PARAMS if name not in params]
    if missing:
        raise KeyError(text("scalar_net.missing_params", missing=", ".join(missing),
                            expected=", ".join(PARAMS)))
    return {name: float(params[name]) for name in PARAMS}


def two_layer_forward(params, x):
    """The forward pass {"z1", "o1", "z2", "o2"} for a number x.

    params: {"w1", "b1", "w2", "b2"} (numbers). z1 = w1 x + b1, o1 = s(z1),
    z2 = w2 o1 + b2, o2 = s(z2).
    """
    p = _params(params)
    z1 = p["w1"] * float(x) + p["b1"]
    o1 = float(sigmoid(z1))
    z2 = p["w2"] * o1 + p["b2"]
    o2 = float(sigmoid(z2))
    return {"z1": z1, "o1": o1, "z2": z2, "o2": o2}


def two_layer_loss(params, x, y):
    """L = (o2 - y)^2 / 2 for numbers x, y."""
    return (two_layer_forward(params, x)["o2"] - float(y)) ** 2 / 2.0


def two_layer_gradients(params, x, y):
    """{"w1", "b1", "w2", "b2"}: dL/d(each parameter) of :func:`two_layer_loss`, numbers.

    params: {"w1", "b1", "w2", "b2"}; x, y: numbers. The grader's reference for
    notebook 02, where the student derives them from the output back to the input.
    """
    f = two_layer_forward(params, x)
    w2 = _params(params)["w2"]
    dz2 = (f["o2"] - float(y)) * f["o2"] * (1.0 - f["o2"])
    dz1 = dz2 * w2 * f["o1"] * (1.0 - f["o1"])
    return {"w1": dz1 * float(x), "b1": dz1, "w2": dz2 * f["o1"], "b2": dz2}
