"""Layers as modules: forward keeps what backward needs, backward sends the gradient down.

A module maps an input ``z`` to an output ``out = f(z; params)``. Training
needs three things of it (Facure, "Backpropagation Modular", 2017):

- ``forward(z)``: the output, keeping in ``self.cache`` what backward needs;
- ``backward(dout)``: given ``dout = dL/d(out)``, of the output's shape, return
  ``dz = dL/dz``, of the input's shape, and store ``dL/d(param)`` in
  ``self.grads[name]`` for every parameter (same key, same shape as in
  ``self.params``);
- ``parameters()``: the pairs ``(param, grad)`` an optimizer updates in place.

Stacked modules give the delta recursion: with ``delta_i = dL/dz_i``,
``delta_i = backward_i(delta_{i+1})``, starting from ``delta = 1`` at the loss,
since dL/dL = 1. Losses are modules too: ``forward(prediction, target)``
returns the scalar loss and ``backward(dout=1.0)`` returns dL/d(prediction).

Shapes: a batch is a 2-D array ``(N, D)``, one sample per row. Everything
is float64.

Backward writes into the arrays of ``grads`` (``grads[name][...] = ...``),
never rebinds them: an optimizer keeps the pairs ``parameters()`` returned
when it was built, and a rebound gradient would never reach it. Backward
overwrites (it does not add), so a module keeps the gradient of one use only:
``Sequential`` refuses, at construction and at forward, a module that appears
twice (use two modules, or sum the gradients yourself).

What forward caches is the module's own copy (or a new array it computed,
such as the sigmoid's output): a caller that changes its input array between
forward and backward does not change the gradients.
"""

import numpy as np

from backproplab.messages import text


def _as_batch(x, what, columns=None):
    """x as a float64 (N, D) array, or a clear error naming the expected shape."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x, dtype=np.float64) if isinstance(x, (list, tuple)) else x
    if not isinstance(x, np.ndarray):
        raise TypeError(text("layers.not_array", what=what, got=type(x).__name__))
    expected = f"(N, {columns})" if columns is not None else "(N, D)"
    if x.ndim != 2 or (columns is not None and x.shape[1] != columns):
        raise ValueError(text("layers.wrong_shape", what=what, expected=expected, got=x.shape))
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise TypeError(text("layers.wrong_dtype", what=what, got=x.dtype))
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(text("layers.not_finite", what=what, count=int((~np.isfinite(x)).sum())))
    return x


def _like(dout, shape, what):
    """dout as a float64 array of exactly ``shape`` (the output's), or a clear error."""
    if np.isscalar(dout) and shape == ():
        return float(dout)
    dout = np.asarray(dout)
    if dout.shape != tuple(shape):
        raise ValueError(text("layers.wrong_shape", what=what, expected=tuple(shape), got=dout.shape))
    if not np.issubdtype(dout.dtype, np.number) or np.iscomplexobj(dout):
        raise TypeError(text("layers.wrong_dtype", what=what, got=dout.dtype))
    return dout.astype(np.float64, copy=False)


class Module:
    """Base class: a module with parameters ``params`` and their gradients ``grads``.

    Subclasses implement ``forward`` and ``backward``; ``params`` and
    ``grads`` are dicts with the same keys and shapes (empty when the module
    has no parameters, as activations and losses do).
    """

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.cache = None

    def __call__(self, *args):
        return self.forward(*args)

    def forward(self, z):
        raise NotImplementedError

    def backward(self, dout):
        raise NotImplementedError

    def parameters(self):
        """[(param, grad), ...]: the arrays an optimizer updates in place, with their gradients."""
        return [(self.params[name], self.grads[name]) for name in self.params]

    def _cached(self):
        if self.cache is None:
            raise RuntimeError(text("layers.backward_before_forward", module=type(self).__name__))
        return self.cache

    def __repr__(self):
        shapes = ", ".join(f"{k}: {v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


class Linear(Module):
    """out = z W + b.

    z: (N, D); W: (D, M); b: (M,); out: (N, M).
    backward: dz = dout W^T (N, D); dW = z^T dout (D, M); db = sum over rows of dout (M,).

    W starts as N(0, 1/D) (variance scaled by the fan-in, so that the output
    has about the input's scale), b as zeros; ``rng`` is a numpy Generator or
    a seed.
    """

    def __init__(self, d_in, d_out, rng=None):
        super().__init__()
        d_in, d_out = int(d_in), int(d_out)
        if d_in < 1 or d_out < 1:
            raise ValueError(text("layers.bad_size", d_in=d_in, d_out=d_out))
        rng = np.random.default_rng(rng)
        self.params = {"W": rng.normal(0.0, 1.0 / np.sqrt(d_in), (d_in, d_out)), "b": np.zeros(d_out)}
        self.grads = {"W": np.zeros((d_in, d_out)), "b": np.zeros(d_out)}

    def forward(self, z):
        W, b = self.params["W"], self.params["b"]
        z = _as_batch(z, "Linear.forward(z)", W.shape[0])
        self.cache = z.copy()
        return z @ W + b

    def backward(self, dout):
        z = self._cached()
        W = self.params["W"]
        dout = _like(dout, (z.shape[0], W.shape[1]), "Linear.backward(dout)")
        self.grads["W"][...] = z.T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ W.T


class Sigmoid(Module):
    """out = 1 / (1 + exp(-z)), elementwise; backward: dz = dout * out * (1 - out).

    z, out: any shape (the same). Computed without overflow for large |z|.
    """

    def forward(self, z):
        z = np.asarray(z, dtype=np.float64)
        e = np.exp(-np.abs(z))
        out = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        self.cache = out
        return out

    def backward(self, dout):
        out = self._cached()
        dout = _like(dout, out.shape, "Sigmoid.backward(dout)")
        return dout * out * (1.0 - out)


class Tanh(Module):
    """out = tanh(z), elementwise; backward: dz = dout * (1 - out^2). z, out: any shape."""

    def forward(self, z):
        out = np.tanh(np.asarray(z, dtype=np.float64))
        self.cache = out
        return out

    def backward(self, dout):
        out = self._cached()
        dout = _like(dout, out.shape, "Tanh.backward(dout)")
        return dout * (1.0 - out**2)


class ReLU(Module):
    """out = max(z, 0), elementwise; backward: dz = dout where z > 0, else 0.

    z, out: any shape. At z = 0 the derivative is taken as 0 (any value in
    [0, 1] is a valid subgradient; checks keep inputs away from 0).
    """

    def forward(self, z):
        z = np.array(z, dtype=np.float64)  # a copy: the caller may change its array before backward
        self.cache = z
        return np.maximum(z, 0.0)

    def backward(self, dout):
        z = self._cached()
        dout = _like(dout, z.shape, "ReLU.backward(dout)")
        return np.where(z > 0, dout, 0.0)


def softmax(z):
    """p = exp(z - max z) / sum exp(z - max z), row by row; z, p: (N, C) (or (C,)).

    Subtracting the row's maximum changes nothing mathematically and keeps
    every exponent <= 0, so nothing overflows.
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Softmax(Module):
    """p = softmax(z) row by row; z, p: (N, C).

    backward: dz_i = p_i (dout_i - sum_j dout_j p_j), the vector-Jacobian
    product with the Jacobian dp_j/dz_i = p_j (delta_ji - p_i), row by row.
    """

    def forward(self, z):
        p = softmax(_as_batch(z, "Softmax.forward(z)"))
        self.cache = p
        return p

    def backward(self, dout):
        p = self._cached()
        dout = _like(dout, p.shape, "Softmax.backward(dout)")
        return p * (dout - (dout * p).sum(axis=1, keepdims=True))


def _labels(y, n, classes, what):
    """y as an int array of n class indices in [0, classes), or a clear error."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(text("layers.wrong_shape", what=what, expected=(n,), got=y.shape))
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(text("layers.labels_not_int", what=what, got=y.dtype))
    if n and (y.min() < 0 or y.max() >= classes):
        raise ValueError(text("layers.labels_range", what=what, classes=classes, low=int(y.min()), high=int(y.max())))
    return y.astype(np.int64)


class MSE(Module):
    """L = mean over all entries of (z - y)^2; z, y: (N, M); L: a float.

    backward(dout=1.0): dz = dout * 2 (z - y) / (N M). Facure's version
    returns z - y: it drops the 2 / (N M), which the learning rate then absorbs.
    """

    def forward(self, z, y):
        z = _as_batch(z, "MSE.forward(z)")
        y = _as_batch(y, "MSE.forward(y)", z.shape[1])
        if y.shape != z.shape:
            raise ValueError(text("layers.wrong_shape", what="MSE.forward(y)", expected=z.shape, got=y.shape))
        self.cache = (z.copy(), y.copy())
        return float(np.mean((z - y) ** 2))

    def backward(self, dout=1.0):
        z, y = self._cached()
        dout = _like(dout, (), "MSE.backward(dout)")
        return dout * 2.0 * (z - y) / z.size


class SoftmaxCrossEntropy(Module):
    """L = mean over rows of -ln p[n, y_n], p = softmax(z); z: (N, C) logits, y: (N,) class indices.

    backward(dout=1.0): dz = dout * (p - onehot(y)) / N, the fused gradient:
    softmax's Jacobian and -1/p_r cancel to p - onehot. ln p is computed as
    z - logsumexp(z), which stays finite where p underflows to 0.
    """

    def forward(self, z, y):
        z = _as_batch(z, "SoftmaxCrossEntropy.forward(z)")
        y = _labels(y, z.shape[0], z.shape[1], "SoftmaxCrossEntropy.forward(y)")
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.cache = (np.exp(log_p), y.copy())
        return float(-log_p[np.arange(len(y)), y].mean())

    def backward(self, dout=1.0):
        p, y = self._cached()
        dout = _like(dout, (), "SoftmaxCrossEntropy.backward(dout)")
        dz = p.copy()
        dz[np.arange(len(y)), y] -= 1.0
        return dout * dz / len(y)


def one_hot(y, classes):
    """(N, C) float array with a 1 at column y_n of row n; y: (N,) class indices."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(text("layers.wrong_shape", what="one_hot(y)", expected="(N,)", got=y.shape))
    y = _labels(y, len(y), classes, "one_hot(y)")
    out = np.zeros((len(y), classes))
    out[np.arange(len(y)), y] = 1.0
    return out


class Sequential(Module):
    """Modules applied in order: forward left to right, backward right to left.

    forward(z) = layers[-1](...layers[0](z)); backward(dout) runs the delta
    recursion ``dout = layer.backward(dout)`` from the last layer to the first
    and returns dL/dz. parameters() lists every layer's (param, grad) pairs.

    A module may appear once only: its cache and its grads hold one use, so a
    second use would overwrite the first and its gradients would be wrong.
    Construction and forward raise a ValueError naming the repeated module.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(text("layers.not_module", index=i, got=type(layer).__name__))
        self.layers = list(layers)
        _distinct(self.layers)

    def forward(self, z):
        _distinct(self.layers)
        for layer in self.layers:
            z = layer.forward(z)
        return z

    def backward(self, dout):
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def parameters(self):
        return [pair for layer in self.layers for pair in layer.parameters()]

    def __repr__(self):
        return "Sequential(" + ", ".join(repr(layer) for layer in self.layers) + ")"


def _distinct(modules):
    """Raise a ValueError if one module object appears twice in ``modules``."""
    seen = {}
    for i, module in enumerate(modules):
        if id(module) in seen:
            raise ValueError(text("layers.module_reused", module=repr(module), first=seen[id(module)], second=i))
        seen[id(module)] = i


class SGD:
    """The optimizer: one gradient-descent step on (param, grad) pairs, param -= lr * grad, in place.

    ``SGD(model.parameters(), lr=0.1)``; call ``step()`` after each backward.
    It steps along whatever gradient backward left: the whole training set's
    in notebook 04 (full-batch gradient descent), a mini-batch's in notebook
    07. Backward overwrites the gradients, so no zeroing is needed between
    steps; it must write into the arrays SGD holds, not rebind them.
    """

    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        self.lr = float(lr)
        if not self.lr > 0:
            raise ValueError(text("layers.bad_lr", got=lr))
        for i, (param, grad) in enumerate(self.parameters):
            if param.shape != grad.shape:
                raise ValueError(text("layers.wrong_shape", what=f"grad {i}", expected=param.shape, got=grad.shape))

    def step(self):
        for param, grad in self.parameters:
            param -= self.lr * grad


def accuracy(scores, y):
    """Fraction of rows whose largest score is at the true class; scores: (N, C), y: (N,)."""
    scores = np.asarray(scores)
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(y)))
