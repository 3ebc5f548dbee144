"""Notebook 06, Jacobians: wrong and right implementations of its exercises."""

import numpy as np

from backproplab import numeric
from backproplab.functions import sigmoid

from . import Exercise


# -- numerical Jacobian of f: R^n -> R^m -----------------------------------------------------------

def _nj_copies(f, x, h=1e-5):
    columns = []
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        columns.append((f(xp) - f(xm)) / (2 * h))
    return np.array(columns).T


def _nj_eye(f, x, h=1e-5):
    E = h * np.eye(x.size)
    return np.column_stack([(f(x + e) - f(x - e)) / (2 * h) for e in E])


def _nj_restore(f, x, h=1e-5):
    # change x in place, then put the old value back
    J = np.zeros((np.size(f(x)), x.size))
    for i in range(x.size):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        J[:, i] = (fp - fm) / (2 * h)
    return J


def _nj_forward(f, x, h=1e-5):
    f0 = f(x)
    columns = []
    for i in range(x.size):
        xp = x.copy()
        xp[i] += h
        columns.append((f(xp) - f0) / h)
    return np.array(columns).T


def _nj_no_restore(f, x, h=1e-5):
    columns = []
    for i in range(x.size):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        fm = f(x)
        columns.append((fp - fm) / (2 * h))
    return np.array(columns).T


def _nj_first_column(f, x, h=1e-5):
    J = np.zeros((np.size(f(x)), x.size))
    J[:, 0] = _nj_copies(f, x, h)[:, 0]
    return J


def _nj_all_at_once(f, x, h=1e-5):
    column = (f(x + h) - f(x - h)) / (2 * h)
    return np.tile(column[:, None], x.size)


NUMERICAL_JACOBIAN = Exercise(
    "06-jacobians", "numerical_jacobian_test", "numerical_jacobian",
    wrong={
        "rows per input: (n, m), the transpose": lambda f, x, h=1e-5: _nj_copies(f, x, h).T,
        "forward difference": _nj_forward,
        "fixed step, h ignored": lambda f, x, h=1e-5: _nj_copies(f, x, 1e-5),
        "perturbs x in place without restoring": _nj_no_restore,
        "only the first column": _nj_first_column,
        "every coordinate at once": _nj_all_at_once,
        "divides by h": lambda f, x, h=1e-5: 2 * _nj_copies(f, x, h),
        "returns a list of columns": lambda f, x, h=1e-5: list(_nj_copies(f, x, h).T),
        "flipped sign": lambda f, x, h=1e-5: -_nj_copies(f, x, h),
    },
    right={
        "loop over copies, columns stacked": _nj_copies,
        "rows of h * eye": _nj_eye,
        "in place, old value put back": _nj_restore,
    },
)


# -- the two Jacobians of a Linear layer --------------------------------------------------------------

def _lj_kron(x, W):
    n, m = x.shape[0], W.shape[1]
    return np.kron(np.eye(n), W.T), np.kron(x, np.eye(m))


def _lj_loops(x, W):
    n, d = x.shape
    m = W.shape[1]
    Jx = np.zeros((n * m, n * d))
    JW = np.zeros((n * m, d * m))
    for r in range(n):
        for i in range(m):
            for j in range(d):
                Jx[r * m + i, r * d + j] = W[j, i]
                JW[r * m + i, j * m + i] = x[r, j]
    return Jx, JW


def _lj_einsum(x, W):
    n, d = x.shape
    m = W.shape[1]
    Jx = np.einsum("rs,ji->risj", np.eye(n), W).reshape(n * m, n * d)
    JW = np.einsum("rj,ik->rijk", x, np.eye(m)).reshape(n * m, d * m)
    return Jx, JW


def _lj_numerical(x, W):
    b = np.zeros(W.shape[1])
    return (numeric.numerical_jacobian(lambda v: v @ W + b, x),
            numeric.numerical_jacobian(lambda v: x @ v + b, W))


LINEAR_JACOBIANS = Exercise(
    "06-jacobians", "linear_jacobians_test", "linear_jacobians",
    wrong={
        "W instead of W^T": lambda x, W: (np.kron(np.eye(x.shape[0]), W), _lj_kron(x, W)[1]),
        "one sample only, no batch": lambda x, W: (W.T, _lj_kron(x, W)[1]),
        "W^T tiled in every block": lambda x, W: (np.tile(W.T, (x.shape[0], x.shape[0])), _lj_kron(x, W)[1]),
        "Kronecker order swapped in d out/dx": lambda x, W: (np.kron(W.T, np.eye(x.shape[0])), _lj_kron(x, W)[1]),
        "Kronecker order swapped in d out/dW": lambda x, W: (_lj_kron(x, W)[0], np.kron(np.eye(W.shape[1]), x)),
        "x^T in d out/dW": lambda x, W: (_lj_kron(x, W)[0], np.kron(x.T, np.eye(W.shape[1]))),
        "first row of x for every sample": lambda x, W: (
            _lj_kron(x, W)[0], np.kron(np.tile(x[:1], (x.shape[0], 1)), np.eye(W.shape[1]))),
        "finite differences instead of the formula": _lj_numerical,
        "only d out/dx": lambda x, W: _lj_kron(x, W)[0],
        "(d out/dW, d out/dx) in the wrong order": lambda x, W: _lj_kron(x, W)[::-1],
    },
    right={
        "Kronecker products": _lj_kron,
        "loops over entries": _lj_loops,
        "einsum with an identity": _lj_einsum,
        "a list instead of a tuple": lambda x, W: list(_lj_kron(x, W)),
    },
)


# -- the Jacobian of the sigmoid ------------------------------------------------------------------------

def _slope(z):
    s = sigmoid(z)
    return s * (1 - s)


def _sj_loops(z):
    flat = z.ravel()
    J = np.zeros((flat.size, flat.size))
    for i, v in enumerate(flat):
        s = 1 / (1 + np.exp(-v))
        J[i, i] = s * (1 - s)
    return J


SIGMOID_JACOBIAN = Exercise(
    "06-jacobians", "sigmoid_jacobian_test", "sigmoid_jacobian",
    wrong={
        "the slopes as a vector": lambda z: _slope(z).ravel(),
        "the slopes in z's shape": _slope,
        "np.diag of a 2-D array (its diagonal)": lambda z: np.diag(_slope(z)),
        "s instead of s'": lambda z: np.diag(sigmoid(z).ravel()),
        "z (1 - z)": lambda z: np.diag((z * (1 - z)).ravel()),
        "slope at the output, s'(s(z))": lambda z: np.diag(_slope(sigmoid(z)).ravel()),
        "flattened column by column": lambda z: np.diag(_slope(z).ravel(order="F")),
        "every entry filled": lambda z: np.outer(_slope(z).ravel(), np.ones(z.size)),
        "finite differences instead of the formula": lambda z: numeric.numerical_jacobian(sigmoid, z),
    },
    right={
        "diag of s (1 - s)": lambda z: np.diag(_slope(z).ravel()),
        "exp form, loop over the diagonal": _sj_loops,
        "identity scaled row by row": lambda z: np.eye(z.size) * (np.exp(-z) / (1 + np.exp(-z)) ** 2).reshape(-1, 1),
    },
)


# -- a vector-Jacobian product without the Jacobian --------------------------------------------------------

def _vjp(dout, x, W, b):
    s = sigmoid(x @ W + b)
    g = dout * s * (1 - s)
    return g @ W.T, x.T @ g, g.sum(axis=0)


def _vjp_rows(dout, x, W, b):
    dx, dW, db = np.zeros_like(x), np.zeros_like(W), np.zeros_like(b)
    for r in range(x.shape[0]):
        s = sigmoid(x[r] @ W + b)
        g = dout[r] * s * (1 - s)
        dx[r] = W @ g
        dW += np.outer(x[r], g)
        db += g
    return dx, dW, db


def _vjp_einsum(dout, x, W, b):
    a = np.einsum("nd,dm->nm", x, W) + b
    g = dout * np.exp(-a) / (1 + np.exp(-a)) ** 2
    return np.einsum("nm,dm->nd", g, W), np.einsum("nd,nm->dm", x, g), np.einsum("nm->m", g)


def _vjp_materialised(dout, x, W, b):
    s = sigmoid(x @ W + b)
    n, m = dout.shape
    D = np.diag((s * (1 - s)).ravel())
    row = dout.ravel() @ D
    Jx = np.kron(np.eye(n), W.T)
    JW = np.kron(x, np.eye(m))
    Jb = np.kron(np.ones((n, 1)), np.eye(m))
    return (row @ Jx).reshape(x.shape), (row @ JW).reshape(W.shape), row @ Jb


def _vjp_diagonal_matrix(dout, x, W, b):
    s = sigmoid(x @ W + b)
    g = (dout.ravel() @ np.diag((s * (1 - s)).ravel())).reshape(dout.shape)
    return g @ W.T, x.T @ g, g.sum(axis=0)


def _vjp_in_place(dout, x, W, b):
    s = sigmoid(x @ W + b)
    dout *= s * (1 - s)  # changes the caller's upstream gradient
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def _vjp_numerical(dout, x, W, b):
    def out(x_, W_, b_):
        return sigmoid(x_ @ W_ + b_)
    return (numeric.numerical_vjp(lambda v: out(v, W, b), x, dout),
            numeric.numerical_vjp(lambda v: out(x, v, b), W, dout),
            numeric.numerical_vjp(lambda v: out(x, W, v), b, dout))


def _vjp_with_g(g, x, W):
    return g @ W.T, x.T @ g, g.sum(axis=0)


def _vjp_with(change):
    def vjp(dout, x, W, b):
        s = sigmoid(x @ W + b)
        return change(dout, x, W, b, s)
    return vjp


DENSE_VJP = Exercise(
    "06-jacobians", "dense_vjp_test", "dense_vjp",
    wrong={
        "forms the Jacobians": _vjp_materialised,
        "forms the diagonal matrix of slopes": _vjp_diagonal_matrix,
        "missing the sigmoid's slope": _vjp_with(lambda dout, x, W, b, s: (dout @ W.T, x.T @ dout, dout.sum(axis=0))),
        "s instead of s'": _vjp_with(lambda dout, x, W, b, s: ((dout * s) @ W.T, x.T @ (dout * s), (dout * s).sum(0))),
        "slope at the output, s'(s)": _vjp_with(lambda dout, x, W, b, s: _vjp_with_g(dout * sigmoid(s) * (1 - sigmoid(s)), x, W)),
        "W instead of W^T": _vjp_with(lambda dout, x, W, b, s: ((dout * s * (1 - s)) @ W, x.T @ (dout * s * (1 - s)),
                                                                 (dout * s * (1 - s)).sum(0))),
        "dW transposed, g^T x": lambda dout, x, W, b: (_vjp(dout, x, W, b)[0], _vjp(dout, x, W, b)[1].T, _vjp(dout, x, W, b)[2]),
        "db not summed over rows": lambda dout, x, W, b: (*_vjp(dout, x, W, b)[:2], dout * sigmoid(x @ W + b) * (1 - sigmoid(x @ W + b))),
        "db averaged over rows": lambda dout, x, W, b: (*_vjp(dout, x, W, b)[:2], _vjp(dout, x, W, b)[2] / x.shape[0]),
        "dout ignored (ones)": lambda dout, x, W, b: _vjp(np.ones_like(dout), x, W, b),
        "returns only dx": lambda dout, x, W, b: _vjp(dout, x, W, b)[0],
        "finite differences instead of the formula": _vjp_numerical,
        "multiplies dout in place": _vjp_in_place,
    },
    right={
        "vectorised": _vjp,
        "row by row, outer products": _vjp_rows,
        "einsum, exp form of the slope": _vjp_einsum,
    },
)

EXERCISES = [NUMERICAL_JACOBIAN, LINEAR_JACOBIANS, SIGMOID_JACOBIAN, DENSE_VJP]
