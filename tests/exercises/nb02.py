"""Notebook 02, chain rule: wrong and right implementations of its exercises."""

import math

import numpy as np
import scipy.special

from backproplab import scalar_net

from . import Exercise

ASSIGNMENT = "02-chain-rule"


# -- sigmoid and its derivative ------------------------------------------------------------
# The test cell checks both functions; an implementation is a pair (sigmoid, sigmoid_prime).

def _sigmoid_tanh(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sigmoid_split(x):
    e = np.exp(-np.abs(x))  # never overflows
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _prime(sigmoid):
    return lambda x: sigmoid(x) * (1.0 - sigmoid(x))


def _sigmoid_loops(x):
    x = np.asarray(x, dtype=float)  # a number becomes a 0-d array, and comes back as one
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        t = float(x[i])
        out[i] = 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))
    return out


SIGMOID = Exercise(
    ASSIGNMENT, "sigmoid_test", "sigmoid",
    namespace=lambda pair: {"sigmoid": pair[0], "sigmoid_prime": pair[1]},
    wrong={
        "naive formula overflows at -800": (lambda x: 1.0 / (1.0 + np.exp(-x)), _prime(_sigmoid_tanh)),
        "exp(x) / (1 + exp(x)) gives nan at 800": (lambda x: np.exp(x) / (1.0 + np.exp(x)), _prime(_sigmoid_tanh)),
        "where() evaluates the overflowing branch": (
            lambda x: np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x))),
            _prime(_sigmoid_tanh)),
        "exp(x) instead of exp(-x)": (lambda x: _sigmoid_tanh(-x), _prime(_sigmoid_tanh)),
        "tanh(x / 2) without the shift": (lambda x: np.tanh(0.5 * x), _prime(_sigmoid_tanh)),
        "forgot the half inside tanh": (lambda x: 0.5 * (1.0 + np.tanh(x)), _prime(_sigmoid_tanh)),
        "clipped input changes values": (lambda x: _sigmoid_tanh(np.clip(x, -5, 5)), _prime(_sigmoid_tanh)),
        "math.exp on arrays": (lambda x: 1.0 / (1.0 + math.exp(-x)), _prime(_sigmoid_tanh)),
        "a list for a number": (lambda x: _sigmoid_tanh(x) if np.ndim(x) else [_sigmoid_tanh(x)],
                                _prime(_sigmoid_tanh)),
        "derivative is the sigmoid itself": (_sigmoid_tanh, _sigmoid_tanh),
        "derivative s (1 + s)": (_sigmoid_tanh, lambda x: _sigmoid_tanh(x) * (1 + _sigmoid_tanh(x))),
        "derivative 1 - s^2 (the tanh rule)": (_sigmoid_tanh, lambda x: 1 - _sigmoid_tanh(x) ** 2),
        "derivative s(1 - s) applied to x": (_sigmoid_tanh, lambda x: x * (1 - x)),
        "derivative missing the square": (_sigmoid_tanh, lambda x: np.exp(-x) / (1 + np.exp(-x))),
    },
    right={
        "tanh identity": (_sigmoid_tanh, _prime(_sigmoid_tanh)),
        "exp(-|x|) on each side of 0": (_sigmoid_split, _prime(_sigmoid_split)),
        "scipy expit": (scipy.special.expit, lambda x: scipy.special.expit(x) * scipy.special.expit(-x)),
        "loops over the entries": (_sigmoid_loops, lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
        "log-sum-exp form": (lambda x: np.exp(-np.logaddexp(0.0, -x)), _prime(_sigmoid_split)),
    },
)


# -- dL/dw and dL/db of the line --------------------------------------------------------------

def _line(w, b, x, y):
    error = w * x + b - y
    return np.mean(error * x), np.mean(error)


def _line_loops(w, b, x, y):
    dw = db = 0.0
    for xi, yi in zip(x, y):
        y_hat = w * xi + b
        dw += (y_hat - yi) * xi
        db += y_hat - yi
    return dw / len(x), db / len(x)


LOSS_GRADIENTS = Exercise(
    ASSIGNMENT, "loss_gradients_test", "loss_gradients",
    wrong={
        "inside-out sign (y - y_hat)": lambda w, b, x, y: tuple(-g for g in _line(w, b, x, y)),
        "dw missing the factor x": lambda w, b, x, y: (_line(w, b, x, y)[1], _line(w, b, x, y)[1]),
        "factor 2 (forgot the 1/2)": lambda w, b, x, y: tuple(2 * g for g in _line(w, b, x, y)),
        "sum instead of mean": lambda w, b, x, y: tuple(len(x) * g for g in _line(w, b, x, y)),
        "dw and db swapped": lambda w, b, x, y: _line(w, b, x, y)[::-1],
        "only db flipped": lambda w, b, x, y: (_line(w, b, x, y)[0], -_line(w, b, x, y)[1]),
        "x squared in dw": lambda w, b, x, y: (np.mean((w * x + b - y) * x * x), _line(w, b, x, y)[1]),
        "mean of the error times the mean of x": lambda w, b, x, y: (np.mean(w * x + b - y) * np.mean(x),
                                                                     _line(w, b, x, y)[1]),
        "returns the per-sample gradients": lambda w, b, x, y: ((w * x + b - y) * x, w * x + b - y),
        "returns only dw": lambda w, b, x, y: _line(w, b, x, y)[0],
    },
    right={
        "vectorised mean": _line,
        "loop over the samples": _line_loops,
        "dot products": lambda w, b, x, y: ((w * x + b - y) @ x / x.size, np.sum(w * x + b - y) / x.size),
        "a list of numpy floats": lambda w, b, x, y: list(_line(w, b, x, y)),
        "a 1-D array of size 2": lambda w, b, x, y: np.array(_line(w, b, x, y)),
    },
)


# -- dL/dw1 through two layers ------------------------------------------------------------------

def _forward(p, x):
    z1 = p["w1"] * x + p["b1"]
    o1 = scalar_net.sigmoid(z1)
    z2 = p["w2"] * o1 + p["b2"]
    o2 = scalar_net.sigmoid(z2)
    return z1, o1, z2, o2


def _dw1(upstream=True, out_slope=True, hidden_slope=True, w2=True, slope=None, last=None):
    def dL_dw1(p, x, y):
        z1, o1, z2, o2 = _forward(p, x)
        s = slope or (lambda z, o: o * (1 - o))
        value = (o2 - y) if upstream else 1.0
        value *= s(z2, o2) if out_slope else 1.0
        value *= p["w2"] if w2 else 1.0
        value *= s(z1, o1) if hidden_slope else 1.0
        return float(value * (last(x, o1) if last else x))
    return dL_dw1


def _dw1_backward(p, x, y):
    # the library's backward pass: every parameter at once
    return scalar_net.two_layer_gradients(p, x, y)["w1"]


def _dw1_exp_form(p, x, y):
    z1, o1, z2, o2 = _forward(p, x)
    slope = lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2  # noqa: E731
    return float((o2 - y) * slope(z2) * p["w2"] * slope(z1) * x)


DL_DW1 = Exercise(
    ASSIGNMENT, "dl_dw1_test", "dL_dw1",
    wrong={
        "missing s'(z2)": _dw1(out_slope=False),
        "missing s'(z1)": _dw1(hidden_slope=False),
        "missing both sigmoid slopes": _dw1(out_slope=False, hidden_slope=False),
        "s' replaced by s": _dw1(slope=lambda z, o: o),
        "missing w2": _dw1(w2=False),
        "missing upstream (o2 - y)": _dw1(upstream=False),
        "s'(z) computed as z (1 - z)": _dw1(slope=lambda z, o: z * (1 - z)),
        "s' taken at the activation, s'(o)": _dw1(slope=lambda z, o: scalar_net.sigmoid_prime(o)),
        "o1 instead of x (that is dL/dw2's pattern)": _dw1(last=lambda x, o1: o1),
        "inside-out upstream (y - o2)": lambda p, x, y: -_dw1()(p, x, y),
        "upstream 2 (o2 - y)": lambda p, x, y: 2 * _dw1()(p, x, y),
        "dL/db1 instead of dL/dw1": _dw1(last=lambda x, o1: 1.0),
    },
    right={
        "product of the five factors": _dw1(),
        "library backward pass": _dw1_backward,
        "s' written with exp": _dw1_exp_form,
    },
)


# -- a gradient-descent loop for linear regression ----------------------------------------------------

def _fit(X, y, w0, lr, steps):
    w = np.array(w0, dtype=float)
    for _ in range(steps):
        w = w - lr * X.T @ (X @ w - y) / len(y)
    return w


def _fit_mutant(sign=-1.0, mean=True, offset=0, first_only=False, transposed=False):
    def fit_linear(X, y, w0, lr, steps):
        w = np.array(w0, dtype=float)
        g0 = X.T @ (X @ w - y) / (len(y) if mean else 1)
        for _ in range(steps + offset):
            if transposed:
                g = X @ (X @ w - y) / len(y)
            else:
                g = g0 if first_only else X.T @ (X @ w - y) / (len(y) if mean else 1)
            w = w + sign * lr * g
        return w
    return fit_linear


def _fit_in_place(X, y, w0, lr, steps):
    w = w0  # updates the caller's array in place, and returns it
    for _ in range(steps):
        w -= lr * (X.T @ (X @ w) - X.T @ y) / X.shape[0]
    return w


def _fit_copy_in_place(X, y, w0, lr, steps):
    w = w0.astype(float)  # a copy, updated in place
    for _ in range(steps):
        w -= lr * (X.T @ (X @ w) - X.T @ y) / X.shape[0]
    return w


def _fit_per_sample_sum(X, y, w0, lr, steps):
    w = np.array(w0, dtype=float)
    for _ in range(steps):
        grad = np.zeros_like(w)
        for xi, yi in zip(X, y):
            grad += (xi @ w - yi) * xi
        w = w - lr * grad / len(y)
    return w


def _fit_column(X, y, w0, lr, steps):
    # y and w as columns, as in the tutorial's code: the sizes must be kept straight
    w = np.array(w0, dtype=float).reshape(-1, 1)
    for _ in range(steps):
        w = w - lr * X.T @ (X @ w - y.reshape(-1, 1)) / len(y)
    return w.ravel()


def _fit_column_broadcast(X, y, w0, lr, steps):
    # w as a column but y left flat: X @ w - y broadcasts to (N, N)
    w = np.array(w0, dtype=float).reshape(-1, 1)
    for _ in range(steps):
        w = w - lr * X.T @ (X @ w - y) / len(y)
    return w


FIT_LINEAR = Exercise(
    ASSIGNMENT, "fit_linear_test", "fit_linear",
    wrong={
        "+ instead of - (ascent)": _fit_mutant(sign=1.0),
        "missing 1/N": _fit_mutant(mean=False),
        "X instead of X^T in the product": _fit_mutant(transposed=True),
        "one step too many": _fit_mutant(offset=1),
        "one step too few": _fit_mutant(offset=-1),
        "gradient of step 0 only": _fit_mutant(first_only=True),
        "learning rate applied twice": lambda X, y, w0, lr, steps: _fit(X, y, w0, lr * lr, steps),
        "MSE gradient with its 2 at the same rate": lambda X, y, w0, lr, steps: _fit(X, y, w0, 2 * lr, steps),
        "w as a column against a flat y": _fit_column_broadcast,
        "returns w0": lambda X, y, w0, lr, steps: np.array(w0, dtype=float),
        "updates w0 in place": _fit_in_place,
    },
    right={
        "vectorised loop": _fit,
        "in place on a copy, expanded product": _fit_copy_in_place,
        "per-sample sum": _fit_per_sample_sum,
        "columns, as in the tutorial": _fit_column,
    },
)

EXERCISES = [SIGMOID, LOSS_GRADIENTS, DL_DW1, FIT_LINEAR]
