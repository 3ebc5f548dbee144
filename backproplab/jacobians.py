"""Jacobians of layers written out as matrices, and the products that never form them.

Convention (LeCun's notes, NYU Deep Learning, week 2): for a map out = f(z),
the Jacobian holds J[i, j] = d out_i / d z_j, one row per output entry and one
column per input entry. Batches (N, D) are flattened row by row (C order), as
:func:`backproplab.numeric.numerical_jacobian` does, so a Jacobian of an
(N, M) output with respect to an (N, D) input is (N M, N D). The gradient of a
scalar c is then a row: dc/dz = dc/dout J, shapes [1 x N D] = [1 x N M][N M x N D].

A Linear layer out = z W + b (z: (N, D), W: (D, M), b: (M,)) has three Jacobians:

    d out / d z = kron(I_N, W^T)           (N M, N D)  block diagonal: rows do not mix
    d out / d W = kron(z, I_M)             (N M, D M)  d out[n, i] / d W[j, k] = z[n, j] [i == k]
    d out / d b = kron(1_N, I_M)           (N M, M)

An elementwise map out = h(z) has the diagonal Jacobian diag(h'(z)); softmax
of one row p = softmax(z) has diag(p) - p p^T. Multiplying a row vector by
these matrices (a vector-Jacobian product, VJP) collapses to the backward
formulas dz = dout W^T, dW = z^T dout, db = sum of dout's rows, dz = dout * h'(z):
:func:`dense_vjp` computes them without forming any Jacobian.
"""

import numpy as np

from backproplab.functions import sigmoid
from backproplab.layers import softmax
from backproplab.messages import text


def _array(a, name, ndim):
    """a as a float64 array with ``ndim`` dimensions, or a clear error."""
    if isinstance(a, (list, tuple)):
        a = np.asarray(a)
    if not isinstance(a, np.ndarray):
        raise TypeError(text("jacobians.not_array", name=name, got=type(a).__name__))
    if a.dtype.kind not in "iuf":
        raise TypeError(text("jacobians.not_real", name=name, got=a.dtype))
    if a.ndim != ndim:
        raise ValueError(text("jacobians.wrong_ndim", name=name, ndim=ndim, got=a.shape))
    if not np.isfinite(a).all():
        raise ValueError(text("jacobians.not_finite", name=name))
    return a.astype(np.float64)


def _count(k, name):
    """k as a positive int, or a clear error."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(text("jacobians.bad_count", name=name, got=repr(k)))
    return int(k)


def _match(expected, got, name):
    if tuple(expected) != tuple(got):
        raise ValueError(text("jacobians.wrong_shape", name=name, expected=tuple(expected), got=tuple(got)))


# -- Jacobians of a Linear layer out = z W + b ---------------------------------------------

def linear_jacobian_input(W, n=1):
    """d out / d z = kron(I_n, W^T): (n M, n D) for W: (D, M) and a batch of n rows.

    Entry [(r, i), (s, j)] = W[j, i] if r == s else 0: output row r depends on input row r only.
    """
    W = _array(W, "W", 2)
    return np.kron(np.eye(_count(n, "n")), W.T)


def linear_jacobian_weights(z, m):
    """d out / d W = kron(z, I_m): (N m, D m) for z: (N, D), W: (D, m) flattened row by row.

    Entry [(r, i), (j, k)] = z[r, j] if i == k else 0: weight W[j, k] feeds output column k only.
    """
    z = _array(z, "z", 2)
    return np.kron(z, np.eye(_count(m, "m")))


def linear_jacobian_bias(n, m):
    """d out / d b = kron(1_n, I_m): (n m, m), the identity stacked once per row of the batch."""
    return np.kron(np.ones((_count(n, "n"), 1)), np.eye(_count(m, "m")))


# -- elementwise maps and softmax ------------------------------------------------------------

def elementwise_jacobian(slope):
    """diag(slope.ravel()): the Jacobian of out = h(z) applied entry by entry, slope = h'(z) of z's shape.

    Square (z.size, z.size); zero off the diagonal, because out_i depends on z_i only.
    """
    slope = np.asarray(slope, dtype=np.float64)
    return np.diag(slope.ravel())


def sigmoid_slope(z):
    """s'(z) = s(z) (1 - s(z)), entry by entry; at most 1/4, reached at z = 0."""
    s = sigmoid(np.asarray(z, dtype=np.float64))
    return s * (1.0 - s)


def sigmoid_jacobian(z):
    """diag(s'(z)) of z (any shape), flattened row by row: (z.size, z.size)."""
    return elementwise_jacobian(sigmoid_slope(z))


def softmax_jacobian(z):
    """d p / d z = diag(p) - p p^T for one row z: (C,), p = softmax(z); (C, C), each row sums to 0."""
    p = softmax(_array(z, "z", 1))
    return np.diag(p) - np.outer(p, p)


# -- a dense layer out = sigmoid(z W + b): materialised Jacobians vs the VJP -----------------

def dense_forward(z, W, b):
    """out = sigmoid(z W + b); z: (N, D), W: (D, M), b: (M,) -> out: (N, M)."""
    z, W, b = _array(z, "z", 2), _array(W, "W", 2), _array(b, "b", 1)
    _match((z.shape[1], b.size), W.shape, "W")
    return sigmoid(z @ W + b)


def dense_jacobians(z, W, b):
    """(J_z, J_W, J_b), each formed as a matrix: diag(s'(a)) times the Linear layer's Jacobian.

    a = z W + b: (N, M). J_z: (N M, N D), J_W: (N M, D M), J_b: (N M, M). Multiplying by the
    diagonal is done as a row scaling (same numbers, no (N M)^2 matrix), but every Jacobian
    is still stored in full: its memory grows like N^2 M D, N M^2 D and N M^2.
    """
    z, W, b = _array(z, "z", 2), _array(W, "W", 2), _array(b, "b", 1)
    _match((z.shape[1], b.size), W.shape, "W")
    n, m = z.shape[0], W.shape[1]
    slope = sigmoid_slope(z @ W + b).reshape(-1, 1)
    return (slope * linear_jacobian_input(W, n), slope * linear_jacobian_weights(z, m),
            slope * linear_jacobian_bias(n, m))


def vjp_materialised(dout, z, W, b):
    """(dz, dW, db) as dout (flattened) times each matrix of :func:`dense_jacobians`, reshaped."""
    Jz, JW, Jb = dense_jacobians(z, W, b)
    dout = _array(dout, "dout", 2)
    _match((z.shape[0], W.shape[1]), dout.shape, "dout")
    row = dout.ravel()
    return (row @ Jz).reshape(np.shape(z)), (row @ JW).reshape(np.shape(W)), row @ Jb


def dense_vjp(dout, z, W, b):
    """(dz, dW, db) = dout J for out = sigmoid(z W + b), without forming a Jacobian.

    dout: (N, M). g = dout * s'(z W + b) is dout times the diagonal Jacobian (entry by entry);
    then dz = g W^T (N, D), dW = z^T g (D, M), db = g summed over rows (M,).
    Memory: a few arrays of size N M, N D and D M.
    """
    z, W, b = _array(z, "z", 2), _array(W, "W", 2), _array(b, "b", 1)
    _match((z.shape[1], b.size), W.shape, "W")
    dout = _array(dout, "dout", 2)
    _match((z.shape[0], W.shape[1]), dout.shape, "dout")
    g = dout * sigmoid_slope(z @ W + b)
    return g @ W.T, z.T @ g, g.sum(axis=0)
