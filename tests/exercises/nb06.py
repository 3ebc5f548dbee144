"""Notebook 06, Jacobians: wrong and right implementations of its exercises.

Entries are numbered row by row (C order) throughout. The network exercises
receive a list of the library's modules (Linear, Sigmoid, Tanh, ReLU, Softmax).
"""

import numpy as np

from backproplab import jacobians, numeric
from backproplab.functions import sigmoid
from backproplab.layers import Linear, ReLU, Sigmoid, Softmax, Tanh, softmax

from . import Exercise

ASSIGNMENT = "06-jacobians"
H = 1e-6  # the step of the finite-difference mutants


def _naive_softmax(z):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)  # no max shift: overflows on large logits
        return e / e.sum(axis=-1, keepdims=True)


# -- numerical Jacobian of f: array -> array -----------------------------------------------------------

def _nj_copies(f, x, h=1e-5):
    x = np.asarray(x, dtype=np.float64)
    J = np.zeros((np.size(f(x.copy())), x.size))
    for j in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.flat[j] += h
        xm.flat[j] -= h
        J[:, j] = (np.ravel(f(xp)) - np.ravel(f(xm))) / (2 * h)
    return J


def _nj_ndindex(f, x, h=1e-5):
    columns = []
    for index in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[index] = h
        columns.append(np.ravel(f(x + e) - f(x - e)) / (2 * h))
    return np.array(columns).T


def _nj_restore(f, x, h=1e-5):
    # changes x in place, then puts the old value back
    flat = x.reshape(-1)  # a view of x
    J = np.zeros((np.size(f(x)), x.size))
    for j in range(x.size):
        old = flat[j]
        flat[j] = old + h
        fp = np.ravel(f(x))
        flat[j] = old - h
        fm = np.ravel(f(x))
        flat[j] = old
        J[:, j] = (fp - fm) / (2 * h)
    return J


def _nj_forward(f, x, h=1e-5):
    f0 = np.ravel(f(x))
    J = np.zeros((f0.size, x.size))
    for j in range(x.size):
        xp = x.copy()
        xp.flat[j] += h
        J[:, j] = (np.ravel(f(xp)) - f0) / h
    return J


def _nj_no_restore(f, x, h=1e-5):
    J = np.zeros((np.size(f(x)), x.size))
    for j in range(x.size):
        x.flat[j] += h
        fp = np.ravel(f(x))
        x.flat[j] -= 2 * h
        J[:, j] = (fp - np.ravel(f(x))) / (2 * h)
    return J


def _nj_aliased(f, x, h=1e-5):
    J = np.zeros((np.size(f(x)), x.size))
    for j in range(x.size):
        xp = xm = x.copy()  # one array, two names
        xp.flat[j] += h
        xm.flat[j] -= h
        J[:, j] = (np.ravel(f(xp)) - np.ravel(f(xm))) / (2 * h)
    return J


def _nj_aliased_no_copy(f, x, h=1e-5):
    J = np.zeros((np.size(f(x)), x.size))
    for j in range(x.size):
        xp = x
        xp.flat[j] += h
        fp = np.ravel(f(xp))
        xm = x
        xm.flat[j] -= h
        J[:, j] = (fp - np.ravel(f(xm))) / (2 * h)
    return J


def _nj_first_column(f, x, h=1e-5):
    J = np.zeros((np.size(f(x)), x.size))
    J[:, 0] = _nj_copies(f, x, h)[:, 0]
    return J


def _nj_all_at_once(f, x, h=1e-5):
    column = np.ravel(f(x + h) - f(x - h)) / (2 * h)
    return np.tile(column[:, None], x.size)


def _nj_column_major(f, x, h=1e-5):
    J = np.zeros((np.size(f(x)), x.size))
    for j, index in enumerate(zip(*np.unravel_index(np.arange(x.size), x.shape, order="F"))):
        xp, xm = x.copy(), x.copy()
        xp[index] += h
        xm[index] -= h
        J[:, j] = np.ravel(f(xp) - f(xm), order="F") / (2 * h)
    return J


def _nj_float32(f, x, h=1e-5):
    return _nj_copies(lambda v: np.asarray(f(v), dtype=np.float32), x.astype(np.float32), np.float32(h)).astype(np.float32)


NUMERICAL_JACOBIAN = Exercise(
    ASSIGNMENT, "numerical_jacobian_test", "numerical_jacobian",
    wrong={
        "rows per input: (n, m), the transpose": (lambda f, x, h=1e-5: _nj_copies(f, x, h).T, "transpose"),
        "forward difference": (_nj_forward, "forward difference"),
        "fixed step, h ignored": (lambda f, x, h=1e-5: _nj_copies(f, x, 1e-5), "was ignored"),
        "perturbs x in place without restoring": (_nj_no_restore, "changed its input x"),
        "xp = xm = x.copy(): one array": (_nj_aliased, "xp = xm = x"),
        "xp = x, then xm = x: no copies": (_nj_aliased_no_copy, "xp = x (no copy)"),
        "only the first column": (_nj_first_column, "only the first column"),
        "every coordinate at once": (_nj_all_at_once, "moved at once"),
        "divides by h": (lambda f, x, h=1e-5: 2 * _nj_copies(f, x, h), "factor of two"),
        "numbered column by column": (_nj_column_major, "column by column"),
        "float32 arithmetic": (_nj_float32, "float32"),
        "the library's numerical_jacobian": (lambda f, x, h=1e-5: numeric.numerical_jacobian(f, x, h),
                                             "already does"),
    },
    right={
        "copies and flat indices": _nj_copies,
        "np.ndindex and a unit array": _nj_ndindex,
        "in place through a view, old value put back": _nj_restore,
    },
)


# -- the two Jacobians of a Linear layer -----------------------------------------------------------------

def _lj_kron(x, W):
    n, m = x.shape[0], W.shape[1]
    return np.kron(np.eye(n), W.T), np.kron(x, np.eye(m))


def _lj_loops(x, W):
    n, d = x.shape
    m = W.shape[1]
    J_x, J_W = np.zeros((n * m, n * d)), np.zeros((n * m, d * m))
    for r in range(n):
        for i in range(m):
            for j in range(d):
                J_x[r * m + i, r * d + j] = W[j, i]
                J_W[r * m + i, j * m + i] = x[r, j]
    return J_x, J_W


def _lj_einsum(x, W):
    n, d = x.shape
    m = W.shape[1]
    J_x = np.einsum("rs,ji->risj", np.eye(n), W).reshape(n * m, n * d)
    J_W = np.einsum("rj,ik->rijk", x, np.eye(m)).reshape(n * m, d * m)
    return J_x, J_W


def _lj_differences(x, W):
    def jac(f, v):
        cols = []
        for j in range(v.size):
            e = np.zeros(v.size)
            e[j] = H
            cols.append((f(v + e.reshape(v.shape)) - f(v - e.reshape(v.shape))).ravel() / (2 * H))
        return np.array(cols).T
    return jac(lambda v: v @ W, x), jac(lambda v: x @ v, W)


def _lj_w_column_major(x, W):
    n, d = x.shape
    m = W.shape[1]
    J_x, J_W = _lj_loops(x, W)
    J_W = np.zeros((n * m, d * m))
    for r in range(n):
        for i in range(m):
            for j in range(d):
                J_W[r * m + i, i * d + j] = x[r, j]  # W numbered column by column
    return J_x, J_W


def _lj_float32_cast_back(x, W):
    J_x, J_W = _lj_kron(x.astype(np.float32), W.astype(np.float32))
    return J_x.astype(np.float64), J_W.astype(np.float64)


LINEAR_JACOBIANS = Exercise(
    ASSIGNMENT, "linear_jacobians_test", "linear_jacobians",
    wrong={
        "W instead of W^T in the blocks": (lambda x, W: (np.kron(np.eye(x.shape[0]), W), _lj_kron(x, W)[1]),
                                           "transpose"),
        "W reshaped, not transposed": (lambda x, W: (np.kron(np.eye(x.shape[0]), W.reshape(W.shape[1], W.shape[0])),
                                                      _lj_kron(x, W)[1]), "reshape"),
        "W^T tiled in every block": (lambda x, W: (np.tile(W.T, (x.shape[0], x.shape[0])), _lj_kron(x, W)[1]),
                                     "repeated in every block"),
        "s and x numbered column by column": (lambda x, W: (np.kron(W.T, np.eye(x.shape[0])), _lj_kron(x, W)[1]),
                                              "numbered column by column"),
        "W numbered column by column": (_lj_w_column_major, "entries of W were numbered column by column"),
        "first row of x for every sample": (lambda x, W: (
            _lj_kron(x, W)[0], np.kron(np.tile(x[:1], (x.shape[0], 1)), np.eye(W.shape[1]))), "first row of x"),
        "finite differences instead of the formula": (_lj_differences, "numerical approximation"),
        "float32 arithmetic": (lambda x, W: _lj_kron(x.astype(np.float32), W.astype(np.float32)), "float32"),
        "float32 arithmetic, cast back to float64": (_lj_float32_cast_back, "float32"),
        "only d a/dx": (lambda x, W: _lj_kron(x, W)[0], "as a tuple"),
        "the library's Jacobians": (lambda x, W: (jacobians.linear_jacobian_input(W, x.shape[0]),
                                                  jacobians.linear_jacobian_weights(x, W.shape[1])), "already does"),
    },
    right={
        "loops over entries": _lj_loops,
        "Kronecker products": _lj_kron,
        "einsum with an identity": _lj_einsum,
        "a list instead of a tuple": lambda x, W: list(_lj_kron(x, W)),
    },
)


# -- the Jacobian of softmax over a batch ---------------------------------------------------------------

def _sbj_blocks(z):
    n, c = z.shape
    p = softmax(z)
    J = np.zeros((n * c, n * c))
    for r in range(n):
        J[r * c:(r + 1) * c, r * c:(r + 1) * c] = np.diag(p[r]) - np.outer(p[r], p[r])
    return J


def _sbj_masked(z):
    n, c = z.shape
    flat = softmax(z).ravel()
    return np.kron(np.eye(n), np.ones((c, c))) * (np.diag(flat) - np.outer(flat, flat))


def _sbj_entries(z):
    n, c = z.shape
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    J = np.zeros((n * c, n * c))
    for r in range(n):
        for j in range(c):
            for i in range(c):
                J[r * c + j, r * c + i] = p[r, j] * ((1.0 if i == j else 0.0) - p[r, i])
    return J


def _sbj_with(block):
    def softmax_batch_jacobian(z):
        n, c = z.shape
        p = softmax(z)
        J = np.zeros((n * c, n * c))
        for r in range(n):
            J[r * c:(r + 1) * c, r * c:(r + 1) * c] = block(p[r], z[r])
        return J
    return softmax_batch_jacobian


def _sbj_differences(z):
    flat = z.ravel()
    cols = []
    for j in range(flat.size):
        e = np.zeros(flat.size)
        e[j] = H
        cols.append((softmax((flat + e).reshape(z.shape)) - softmax((flat - e).reshape(z.shape))).ravel() / (2 * H))
    return np.array(cols).T


def _sbj_column_major(z):
    J = _sbj_blocks(z)
    order = np.arange(z.size).reshape(z.shape).ravel(order="F")
    return J[np.ix_(order, order)]


SOFTMAX_BATCH_JACOBIAN = Exercise(
    ASSIGNMENT, "softmax_batch_jacobian_test", "softmax_batch_jacobian",
    wrong={
        "diagonal only": (_sbj_with(lambda p, z: np.diag(p * (1 - p))), "only the diagonal"),
        "rows of the batch mixed": (lambda z: np.diag(softmax(z).ravel()) - np.outer(softmax(z), softmax(z)),
                                    "rows of the batch were mixed"),
        "no delta: -p p^T": (_sbj_with(lambda p, z: -np.outer(p, p)), "-p_j p_i"),
        "diag(p) + p p^T": (_sbj_with(lambda p, z: np.diag(p) + np.outer(p, p)), "the sign of p p^T"),
        "naive softmax, no max shift": (_sbj_with(lambda p, z: np.diag(_naive_softmax(z)) - np.outer(
            _naive_softmax(z), _naive_softmax(z))), "exp overflowed"),
        "the same index twice": (_sbj_with(lambda p, z: p[:, None] * (np.eye(p.size) - p[:, None])),
                                 "the same index twice"),
        "the formula on the logits": (_sbj_with(lambda p, z: np.diag(z) - np.outer(z, z)), "logits"),
        "softmax over the whole batch": (lambda z: _whole_batch(z), "whole batch"),
        "numbered column by column": (_sbj_column_major, "column by column"),
        "one block only": (lambda z: _sbj_blocks(z[:1]), "shape"),
        "finite differences instead of the formula": (_sbj_differences, "numerical approximation"),
        "float32 arithmetic": (lambda z: _sbj_blocks(z).astype(np.float32), "float32"),
        "the library's softmax_jacobian": (lambda z: _blocks_of([jacobians.softmax_jacobian(row) for row in z]),
                                           "already does"),
    },
    right={
        "blocks in a loop": _sbj_blocks,
        "full formula masked to the blocks": _sbj_masked,
        "entry by entry, own softmax": _sbj_entries,
    },
)


def _blocks_of(blocks):
    size = sum(len(b) for b in blocks)
    out, at = np.zeros((size, size)), 0
    for b in blocks:
        out[at:at + len(b), at:at + len(b)] = b
        at += len(b)
    return out


def _whole_batch(z):
    n, c = z.shape
    e = np.exp(z - z.max())
    p = (e / e.sum()).reshape(n, c)
    return _blocks_of([np.diag(row) - np.outer(row, row) for row in p])


# -- the VJP of a dense layer ---------------------------------------------------------------------------

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
    row = dout.ravel() @ np.diag((s * (1 - s)).ravel())
    return ((row @ np.kron(np.eye(n), W.T)).reshape(x.shape), (row @ np.kron(x, np.eye(m))).reshape(W.shape),
            row @ np.kron(np.ones((n, 1)), np.eye(m)))


def _vjp_in_place(dout, x, W, b):
    s = sigmoid(x @ W + b)
    dout *= s * (1 - s)  # changes the caller's upstream gradient
    return dout @ W.T, x.T @ dout, dout.sum(axis=0)


def _vjp_with(slope):
    def dense_vjp(dout, x, W, b):
        g = dout * slope(x @ W + b)
        return g @ W.T, x.T @ g, g.sum(axis=0)
    return dense_vjp


def _vjp_library_layers(dout, x, W, b):
    linear, act = Linear(*W.shape), Sigmoid()
    linear.params["W"][...] = W
    linear.params["b"][...] = b
    act.forward(linear.forward(x))
    dx = linear.backward(act.backward(dout))
    return dx, linear.grads["W"].copy(), linear.grads["b"].copy()


DENSE_VJP = Exercise(
    ASSIGNMENT, "dense_vjp_test", "dense_vjp",
    wrong={
        "forms the Jacobians": (_vjp_materialised, "MB at its peak"),
        "forms the diagonal matrix of slopes": (
            lambda dout, x, W, b: _vjp_with(lambda a: 1.0)(
                (dout.ravel() @ np.diag((sigmoid(x @ W + b) * (1 - sigmoid(x @ W + b))).ravel())).reshape(dout.shape),
                x, W, b), "MB at its peak"),
        "missing the sigmoid's slope": (_vjp_with(lambda a: 1.0), "slope s'(a)"),
        "s instead of s'": (_vjp_with(sigmoid), "s(z) was used where"),
        "s (1 - s) written with a": (_vjp_with(lambda a: a * (1 - a)), "in place of its output"),
        "bias left out of the forward pass": (lambda dout, x, W, b: _vjp(dout, x, W, 0 * b), "bias was left out"),
        "dW transposed, g^T x": (lambda dout, x, W, b: (_vjp(dout, x, W, b)[0], _vjp(dout, x, W, b)[1].T,
                                                        _vjp(dout, x, W, b)[2]), "transpose"),
        "db averaged over rows": (lambda dout, x, W, b: (*_vjp(dout, x, W, b)[:2], _vjp(dout, x, W, b)[2] / x.shape[0]),
                                  "1/N"),
        "W instead of W^T": (lambda dout, x, W, b: (
            (dout * sigmoid(x @ W + b) * (1 - sigmoid(x @ W + b))) @ W, *_vjp(dout, x, W, b)[1:]), "raised"),
        "multiplies dout in place": (_vjp_in_place, "changed its input dout"),
        "float32 arithmetic": (lambda dout, x, W, b: tuple(a.astype(np.float32) for a in _vjp(dout, x, W, b)),
                               "float32"),
        "the library's dense_vjp": (jacobians.dense_vjp, "already does"),
        "the library's layers' backward": (_vjp_library_layers, "already does"),
        "returns only dx": (lambda dout, x, W, b: _vjp(dout, x, W, b)[0], "as a tuple"),
    },
    right={
        "vectorised": _vjp,
        "row by row, outer products": _vjp_rows,
        "einsum, exp form of the slope": _vjp_einsum,
    },
)


# -- the VJP of softmax -------------------------------------------------------------------------------------

def _svjp(dout, z):
    p = softmax(z)
    return p * (dout - np.sum(dout * p, axis=1, keepdims=True))


def _svjp_rows(dout, z):
    dz = np.zeros_like(z)
    for r in range(z.shape[0]):
        e = np.exp(z[r] - z[r].max())
        p = e / e.sum()
        dz[r] = p * (dout[r] - dout[r] @ p)
    return dz


def _svjp_einsum(dout, z):
    p = softmax(z)
    return p * dout - p * np.einsum("nc,nc->n", dout, p)[:, None]


def _svjp_in_place(dout, z):
    p = softmax(z)
    dout -= np.sum(dout * p, axis=1, keepdims=True)
    return p * dout


def _svjp_library(dout, z):
    layer = Softmax()
    layer.forward(z)
    return layer.backward(dout)


SOFTMAX_VJP = Exercise(
    ASSIGNMENT, "softmax_vjp_test", "softmax_vjp",
    wrong={
        "diagonal of the Jacobian only": (lambda dout, z: dout * softmax(z) * (1 - softmax(z)), "only the diagonal"),
        "p * dout, the sum forgotten": (lambda dout, z: softmax(z) * dout, "p * dout"),
        "sum down the columns": (lambda dout, z: softmax(z) * (dout - np.sum(dout * softmax(z), axis=0)), "axis=0"),
        "the formula on the logits": (lambda dout, z: z * (dout - np.sum(dout * z, axis=1, keepdims=True)), "logits"),
        "flipped sign": (lambda dout, z: -_svjp(dout, z), "sign is flipped"),
        "plus the weighted sum": (lambda dout, z: softmax(z) * (dout + np.sum(dout * softmax(z), axis=1, keepdims=True)),
                                  "sign of the weighted sum"),
        "sum without axis": (lambda dout, z: softmax(z) * (dout - np.sum(dout * softmax(z))), "np.sum without axis"),
        "naive softmax, no max shift": (lambda dout, z: _naive_softmax(z) * (
            dout - np.sum(dout * _naive_softmax(z), axis=1, keepdims=True)), "exp overflowed"),
        "dout ignored (ones)": (lambda dout, z: _svjp(np.ones_like(dout), z), "dout = all ones"),
        "forms the Jacobian": (lambda dout, z: (dout.ravel() @ _sbj_blocks(z)).reshape(z.shape), "MB at its peak"),
        "changes dout in place": (_svjp_in_place, "changed its input dout"),
        "float32 arithmetic": (lambda dout, z: _svjp(dout, z).astype(np.float32), "float32"),
        "the library's Softmax.backward": (_svjp_library, "already does"),
    },
    right={
        "vectorised, keepdims": _svjp,
        "row by row": _svjp_rows,
        "einsum": _svjp_einsum,
    },
)


# -- a network: the product of Jacobians --------------------------------------------------------------------

def _forward(network, x):
    states = [x]
    for module in network:
        states.append(module.forward(states[-1]))
    return states


def _local(module, z_in, z_out, slope_at="input", softmax_diagonal=False, s_only=False, naive_softmax=False,
           formula_at_input=False):
    if isinstance(module, Softmax):
        if softmax_diagonal:
            return np.diag((z_out * (1 - z_out)).ravel())
        if naive_softmax:
            return _blocks_of([np.diag(r) - np.outer(r, r) for r in _naive_softmax(z_in)])
        return _sbj_blocks(z_in)
    if isinstance(module, ReLU):
        return np.diag((z_in > 0).ravel().astype(float))
    if formula_at_input:  # s (1 - s) or 1 - t^2 written with the input a
        return np.diag((z_in * (1 - z_in) if isinstance(module, Sigmoid) else 1 - z_in ** 2).ravel())
    at = z_out if slope_at == "output" else z_in
    if isinstance(module, Sigmoid):
        s = sigmoid(at)
        return np.diag((s if s_only else s * (1 - s)).ravel())
    t = np.tanh(at)
    return np.diag((t if s_only else 1 - t ** 2).ravel())


def _nj(network, x, states=None, weights_alone=False, reverse_order=False, w_column_major=False, **local):
    states = _forward(network, x) if states is None else states
    above = np.eye(states[-1].size)
    weights = []
    for k in range(len(network) - 1, -1, -1):
        module, z_in, z_out = network[k], states[k], states[k + 1]
        if isinstance(module, Linear):
            n, m = z_out.shape
            J_in, J_W = _lj_kron(z_in, module.params["W"])
            if w_column_major:
                J_W = _lj_w_column_major(z_in, module.params["W"])[1]
            J_b = np.tile(np.eye(m), (n, 1))
            weights.insert(0, (J_W, J_b) if weights_alone else (above @ J_W, above @ J_b))
        else:
            J_in = _local(module, z_in, z_out, **local)
        above = J_in @ above if reverse_order else above @ J_in
    return above, weights


def _nj_no_bias(network, x):
    states = [x]
    for module in network:
        if isinstance(module, Linear):
            states.append(states[-1] @ module.params["W"])
        else:
            states.append(module.forward(states[-1]))
    return _nj(network, x, states=states)


def _nj_multi_dot(network, x):
    states = _forward(network, x)
    locals_, weight_parts = [], []
    for k, module in enumerate(network):
        z_in, z_out = states[k], states[k + 1]
        if isinstance(module, Linear):
            J_in, J_W = _lj_loops(z_in, module.params["W"])
            weight_parts.append((k, J_W, np.kron(np.ones((z_out.shape[0], 1)), np.eye(z_out.shape[1]))))
        else:
            J_in = _local(module, z_in, z_out)
        locals_.append(J_in)

    def above(k):  # d z_K / d z_{k+1}
        product = np.eye(states[-1].size)
        for J in reversed(locals_[k + 1:]):
            product = product @ J
        return product

    J = np.eye(states[-1].size)
    for local in reversed(locals_):
        J = J @ local
    return J, [(above(k) @ J_W, above(k) @ J_b) for k, J_W, J_b in weight_parts]


def _nj_by_backward(network, x):
    states = _forward(network, x)
    rows, size = [], states[-1].size
    for i in range(size):
        delta = np.zeros(size)
        delta[i] = 1.0
        delta = delta.reshape(states[-1].shape)
        for module in reversed(network):
            delta = module.backward(delta)
        rows.append(delta.ravel())
    return np.array(rows), _nj(network, x)[1]


def _nj_by_differences(network, x):
    def run(v):
        for module in network:
            v = module.forward(v)
        return v
    J = np.array([(run(x + e.reshape(x.shape)) - run(x - e.reshape(x.shape))).ravel() / (2 * H)
                  for e in H * np.eye(x.size)]).T
    return J, _nj(network, x)[1]


NETWORK_JACOBIAN = Exercise(
    ASSIGNMENT, "network_jacobian_test", "network_jacobian",
    wrong={
        "slope taken at the output": (lambda net, x: _nj(net, x, slope_at="output"), "at the output"),
        "s instead of s'": (lambda net, x: _nj(net, x, s_only=True), "s(z) was used where"),
        "softmax treated as elementwise": (lambda net, x: _nj(net, x, softmax_diagonal=True), "treated as elementwise"),
        "bias left out of the forward pass": (_nj_no_bias, "bias was left out"),
        "weight Jacobians of the layer alone": (lambda net, x: _nj(net, x, weights_alone=True), "shape"),
        "W numbered column by column": (lambda net, x: _nj(net, x, w_column_major=True),
                                        "entries of W were numbered column by column"),
        "product taken in the wrong order": (lambda net, x: _nj(net, x, reverse_order=True), "raised"),
        "weight Jacobians in reverse order": (lambda net, x: (_nj(net, x)[0], _nj(net, x)[1][::-1]), "top Linear down"),
        "naive softmax, no max shift": (lambda net, x: _nj(net, x, naive_softmax=True), "exp overflowed"),
        "s (1 - s) written with a": (lambda net, x: _nj(net, x, formula_at_input=True), "in place of its output"),
        "rows from the library's backward": (_nj_by_backward, "already does"),
        "finite differences for J": (_nj_by_differences, "numerical approximation"),
        "only J": (lambda net, x: _nj(net, x)[0], "as a tuple"),
    },
    right={
        "product going down": lambda net, x: _nj(net, x),
        "local Jacobians first, then products": _nj_multi_dot,
        "weights as lists, not tuples": lambda net, x: (_nj(net, x)[0], [list(p) for p in _nj(net, x)[1]]),
    },
)


# -- a network: the chain of VJPs ---------------------------------------------------------------------------

def _nv(network, x, dout, slope_at="input", s_only=False, softmax_diagonal=False, states=None, reverse=False,
        transpose_dW=False, drop_top=False, naive_softmax=False, formula_at_input=False, mean=False,
        reverse_grads=False):
    states = _forward(network, x) if states is None else states
    deltas, grads = [dout], []
    for k in range(len(network) - 1, -1, -1):
        module, z_in, z_out, delta = network[k], states[k], states[k + 1], deltas[0]
        if isinstance(module, Linear):
            dW = delta.T @ z_in if transpose_dW else z_in.T @ delta
            pair = (dW / len(x), delta.sum(axis=0) / len(x)) if mean else (dW, delta.sum(axis=0))
            if reverse_grads:
                grads.append(pair)  # going down: the top Linear first
            else:
                grads.insert(0, pair)
            delta = delta @ module.params["W"].T
        elif isinstance(module, Softmax):
            if naive_softmax:
                p = _naive_softmax(z_in)
                delta = p * (delta - np.sum(delta * p, axis=1, keepdims=True))
            else:
                delta = delta * z_out * (1 - z_out) if softmax_diagonal else _svjp(delta, z_in)
        elif isinstance(module, ReLU):
            delta = delta * (z_in > 0)
        elif formula_at_input:
            delta = delta * (z_in * (1 - z_in) if isinstance(module, Sigmoid) else 1 - z_in ** 2)
        else:
            at = z_out if slope_at == "output" else z_in
            f = sigmoid if isinstance(module, Sigmoid) else np.tanh
            v = f(at)
            delta = delta * (v if s_only else (v * (1 - v) if isinstance(module, Sigmoid) else 1 - v ** 2))
        deltas.insert(0, delta)
    if drop_top:
        deltas = deltas[:-1]
    return (deltas[::-1] if reverse else deltas), grads


def _nv_recursive(network, x, dout):
    if not network:
        return [dout], []
    module, rest = network[0], network[1:]
    z_out = module.forward(x)
    deltas, grads = _nv_recursive(rest, z_out, dout)
    delta = deltas[0]
    if isinstance(module, Linear):
        grads = [(x.T @ delta, delta.sum(axis=0))] + grads
        delta = delta @ module.params["W"].T
    elif isinstance(module, Softmax):
        delta = _svjp_rows(delta, x)
    elif isinstance(module, ReLU):
        delta = np.where(x > 0, delta, 0.0)
    elif isinstance(module, Sigmoid):
        delta = delta * z_out * (1 - z_out)
    else:
        delta = delta * (1 - z_out ** 2)
    return [delta] + deltas, grads


def _nv_no_bias(network, x, dout):
    states = [x]
    for module in network:
        states.append(states[-1] @ module.params["W"] if isinstance(module, Linear) else module.forward(states[-1]))
    return _nv(network, x, dout, states=states)


def _nv_by_backward(network, x, dout):
    states = _forward(network, x)
    deltas = [dout]
    for module in reversed(network):
        deltas.insert(0, module.backward(deltas[0]))
    grads = [(m.grads["W"].copy(), m.grads["b"].copy()) for m in network if isinstance(m, Linear)]
    del states
    return deltas, grads


def _nv_in_place(network, x, dout):
    deltas, grads = _nv(network, x, dout.copy())
    dout *= 0.5  # changes the caller's array
    return deltas, grads


def _nv_by_jacobian(network, x, dout):
    J, weights = _nj(network, x)
    row = dout.ravel()
    states = _forward(network, x)
    deltas, _ = _nv(network, x, dout)
    grads = [((row @ J_W).reshape(m.params["W"].shape), row @ J_b)
             for m, (J_W, J_b) in zip([m for m in network if isinstance(m, Linear)], weights)]
    deltas[0] = (row @ J).reshape(states[0].shape)
    return deltas, grads


NETWORK_VJP = Exercise(
    ASSIGNMENT, "network_vjp_test", "network_vjp",
    wrong={
        "slope taken at the output": (lambda net, x, dout: _nv(net, x, dout, slope_at="output"), "at the output"),
        "s instead of s'": (lambda net, x, dout: _nv(net, x, dout, s_only=True), "s(z) was used where"),
        "softmax treated as elementwise": (lambda net, x, dout: _nv(net, x, dout, softmax_diagonal=True),
                                           "treated as elementwise"),
        "bias left out of the forward pass": (_nv_no_bias, "bias was left out"),
        "dout ignored (ones)": (lambda net, x, dout: _nv(net, x, np.ones_like(dout)), "dout = all ones"),
        "deltas listed from the top": (lambda net, x, dout: _nv(net, x, dout, reverse=True),
                                       "deltas runs from the input up"),
        "dout missing from deltas": (lambda net, x, dout: _nv(net, x, dout, drop_top=True), "as a list of"),
        "dW transposed, delta^T z": (lambda net, x, dout: _nv(net, x, dout, transpose_dW=True), "transpose"),
        "changes dout in place": (_nv_in_place, "changed its input dout"),
        "naive softmax, no max shift": (lambda net, x, dout: _nv(net, x, dout, naive_softmax=True), "exp overflowed"),
        "s (1 - s) written with a": (lambda net, x, dout: _nv(net, x, dout, formula_at_input=True),
                                     "in place of its output"),
        "dW and db divided by N": (lambda net, x, dout: _nv(net, x, dout, mean=True), "extra division by N"),
        "weight gradients from the top down": (lambda net, x, dout: _nv(net, x, dout, reverse_grads=True),
                                               "top Linear down"),
        "the modules' backward": (_nv_by_backward, "already does"),
        "forms the Jacobians": (_nv_by_jacobian, "MB at its peak"),
    },
    right={
        "one VJP per module, going down": lambda net, x, dout: _nv(net, x, dout),
        "recursion over the list": _nv_recursive,
        "tuples instead of lists": lambda net, x, dout: tuple(tuple(part) for part in _nv(net, x, dout)),
    },
)

EXERCISES = [NUMERICAL_JACOBIAN, LINEAR_JACOBIANS, SOFTMAX_BATCH_JACOBIAN, DENSE_VJP, SOFTMAX_VJP,
             NETWORK_JACOBIAN, NETWORK_VJP]


# -- a network: the chain of JVPs ---------------------------------------------------------------------------

def _nt(network, x, u, slope_at="input", s_only=False, softmax_diagonal=False, no_bias=False, transpose_W=False,
        naive_softmax=False, formula_at_input=False, tangent_bias=False, sum_all=False):
    z, t = x, u
    for module in network:
        out = module.forward(z)
        if isinstance(module, Linear):
            W = module.params["W"]
            if no_bias:
                out = z @ W
            t = t @ (W.T if transpose_W else W)
            if tangent_bias:
                t = t + module.params["b"]
        elif isinstance(module, Softmax):
            p = _naive_softmax(z) if naive_softmax else out
            if softmax_diagonal:
                t = t * out * (1 - out)
            elif sum_all:
                t = p * (t - np.sum(t * p))
            else:
                t = p * (t - np.sum(t * p, axis=1, keepdims=True))
        elif isinstance(module, ReLU):
            t = t * (z > 0)
        elif formula_at_input:
            t = t * (z * (1 - z) if isinstance(module, Sigmoid) else 1 - z ** 2)
        else:
            at = out if slope_at == "output" else z
            v = sigmoid(at) if isinstance(module, Sigmoid) else np.tanh(at)
            t = t * (v if s_only else (v * (1 - v) if isinstance(module, Sigmoid) else 1 - v ** 2))
        z = out
    return t


def _nt_by_jacobian(network, x, u):
    J, _ = _nj(network, x)
    states = _forward(network, x)
    return (J @ u.ravel()).reshape(states[-1].shape)


def _nt_differences(network, x, u):
    def run(v):
        for module in network:
            v = module.forward(v)
        return v
    return (run(x + H * u) - run(x - H * u)) / (2 * H)


def _nt_rows(network, x, u):
    z, t = x, u
    for module in network:
        out = module.forward(z)
        if isinstance(module, Linear):
            t = np.einsum("nd,dm->nm", t, module.params["W"])
        elif isinstance(module, Softmax):
            t = np.array([p * (row - row @ p) for p, row in zip(out, t)])
        elif isinstance(module, ReLU):
            t = np.where(z > 0, t, 0.0)
        elif isinstance(module, Sigmoid):
            t = t * sigmoid(z) * (1 - sigmoid(z))
        else:
            t = t / np.cosh(z) ** 2
        z = out
    return t


def _nt_in_place(network, x, u):
    t = _nt(network, x, u.copy())
    u *= 2.0  # changes the caller's direction
    return t


def _nt_recursive(network, x, u):
    if not network:
        return u
    module = network[0]
    out = module.forward(x)
    if isinstance(module, Linear):
        t = u @ module.params["W"]
    elif isinstance(module, Softmax):
        t = _svjp(u, x)  # softmax's Jacobian is symmetric: the JVP is the VJP
    elif isinstance(module, ReLU):
        t = np.where(x > 0, u, 0.0)
    elif isinstance(module, Sigmoid):
        t = u * out * (1 - out)
    else:
        t = u * (1 - out ** 2)
    return _nt_recursive(network[1:], out, t)


NETWORK_JVP = Exercise(
    ASSIGNMENT, "network_jvp_test", "network_jvp",
    wrong={
        "slope taken at the output": (lambda net, x, u: _nt(net, x, u, slope_at="output"), "at the output"),
        "s instead of s'": (lambda net, x, u: _nt(net, x, u, s_only=True), "s(z) was used where"),
        "softmax treated as elementwise": (lambda net, x, u: _nt(net, x, u, softmax_diagonal=True),
                                           "treated as elementwise"),
        "bias left out of the forward pass": (lambda net, x, u: _nt(net, x, u, no_bias=True), "bias was left out"),
        "u ignored (ones)": (lambda net, x, u: _nt(net, x, np.ones_like(u)), "direction u passed in was ignored"),
        "W^T instead of W": (lambda net, x, u: _nt(net, x, u, transpose_W=True), "raised"),
        "changes u in place": (_nt_in_place, "changed its input u"),
        "finite differences": (_nt_differences, "numerical approximation"),
        "the backward of the modules": (lambda net, x, u: _nt(net, x, u) + 0 * _nv_by_backward(
            net, x, np.zeros_like(_forward(net, x)[-1]))[0][0].sum(), "already does"),
        "float32 arithmetic": (lambda net, x, u: _nt(net, x, u).astype(np.float32), "float32"),
        "J formed, then J u": (_nt_by_jacobian, "MB at its peak"),
        "bias added to the tangent": (lambda net, x, u: _nt(net, x, u, tangent_bias=True), "added to the tangent"),
        "naive softmax, no max shift": (lambda net, x, u: _nt(net, x, u, naive_softmax=True), "exp overflowed"),
        "softmax sum without axis": (lambda net, x, u: _nt(net, x, u, sum_all=True), "np.sum without axis"),
        "s (1 - s) written with a": (lambda net, x, u: _nt(net, x, u, formula_at_input=True), "in place of its output"),
    },
    right={
        "one product per module": lambda net, x, u: _nt(net, x, u),
        "recursion over the list": _nt_recursive,
        "slopes from the input, softmax row by row": _nt_rows,
    },
)


# -- a Jacobian, one sweep at a time ----------------------------------------------------------------------

def _from_vjp(vjp, x_shape, out_shape):
    rows = []
    for i in range(int(np.prod(out_shape))):
        d = np.zeros(out_shape)
        d.flat[i] = 1.0
        rows.append(np.ravel(vjp(d)))
    return np.array(rows)


def _from_jvp(jvp, x_shape, out_shape):
    J = np.zeros((int(np.prod(out_shape)), int(np.prod(x_shape))))
    for j in range(J.shape[1]):
        u = np.zeros(x_shape)
        u.flat[j] = 1.0
        J[:, j] = np.ravel(jvp(u))
    return J


def _from_vjp_eye(vjp, x_shape, out_shape):
    eye = np.eye(int(np.prod(out_shape)))
    return np.stack([vjp(row.reshape(out_shape)).ravel() for row in eye])


def _from_jvp_eye(jvp, x_shape, out_shape):
    eye = np.eye(int(np.prod(x_shape)))
    return np.column_stack([jvp(col.reshape(x_shape)).ravel() for col in eye])


def _from_vjp_not_reset(vjp, x_shape, out_shape):
    rows, d = [], np.zeros(out_shape)
    for i in range(d.size):
        d.flat[i] = 1.0  # the earlier 1s stay
        rows.append(np.ravel(vjp(d)))
    return np.array(rows)


def _from_jvp_not_reset(jvp, x_shape, out_shape):
    cols, u = [], np.zeros(x_shape)
    for j in range(u.size):
        u.flat[j] = 1.0
        cols.append(np.ravel(jvp(u)))
    return np.array(cols).T


def _from_vjp_column_major(vjp, x_shape, out_shape):
    rows = []
    for index in zip(*np.unravel_index(np.arange(int(np.prod(out_shape))), out_shape, order="F")):
        d = np.zeros(out_shape)
        d[index] = 1.0
        rows.append(np.ravel(vjp(d), order="F"))
    return np.array(rows)


def _from_jvp_column_major(jvp, x_shape, out_shape):
    cols = []
    for index in zip(*np.unravel_index(np.arange(int(np.prod(x_shape))), x_shape, order="F")):
        u = np.zeros(x_shape)
        u[index] = 1.0
        cols.append(np.ravel(jvp(u), order="F"))
    return np.array(cols).T


def _sweeps(names):
    return {"jacobian_from_vjp": names[0], "jacobian_from_jvp": names[1]}


JACOBIAN_FROM_SWEEPS = Exercise(
    ASSIGNMENT, "jacobian_from_sweeps_test", "jacobian_from_vjp",
    wrong={
        "VJP rows stacked as columns": ((lambda vjp, xs, os: _from_vjp(vjp, xs, os).T, _from_jvp), "transpose"),
        "JVP columns stacked as rows": ((_from_vjp, lambda jvp, xs, os: _from_jvp(jvp, xs, os).T), "transpose"),
        "VJP unit vector not reset": ((_from_vjp_not_reset, _from_jvp), "not reset"),
        "JVP unit vector not reset": ((_from_vjp, _from_jvp_not_reset), "not reset"),
        "VJP of ones every time": ((lambda vjp, xs, os: np.array([np.ravel(vjp(np.ones(os)))] * int(np.prod(os))),
                                    _from_jvp), "vector of ones"),
        "JVP of ones every time": ((_from_vjp, lambda jvp, xs, os: np.array(
            [np.ravel(jvp(np.ones(xs)))] * int(np.prod(xs))).T), "vector of ones"),
        "VJP numbered column by column": ((_from_vjp_column_major, _from_jvp), "column by column"),
        "JVP numbered column by column": ((_from_vjp, _from_jvp_column_major), "column by column"),
        "VJP given a flat row": ((lambda vjp, xs, os: np.array([np.ravel(vjp(row)) for row in np.eye(int(np.prod(os)))]),
                                  _from_jvp), "takes an array of shape"),
        "VJP result not flattened": ((lambda vjp, xs, os: np.array([vjp(np.eye(int(np.prod(os)))[i].reshape(os))
                                                                     for i in range(int(np.prod(os)))]), _from_jvp),
                                     "shape"),
    },
    right={
        "loops over unit vectors": (_from_vjp, _from_jvp),
        "rows of the identity": (_from_vjp_eye, _from_jvp_eye),
        "mixed": (_from_vjp_eye, _from_jvp),
    },
    namespace=_sweeps,
)

EXERCISES += [NETWORK_JVP, JACOBIAN_FROM_SWEEPS]
