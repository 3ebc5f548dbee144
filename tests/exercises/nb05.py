"""Notebook 05, softmax and cross-entropy: wrong and right implementations of its exercises."""

import numpy as np

from . import Exercise

ASSIGNMENT = "05-softmax-cross-entropy"


def _onehot(y, c):
    return np.eye(c)[y]


# -- softmax(z), z: (N, C) -------------------------------------------------------------

def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_loop(z):
    p = np.empty_like(z, dtype=float)
    for n, row in enumerate(z):
        e = [np.exp(v - max(row)) for v in row]
        total = sum(e)
        p[n] = [v / total for v in e]
    return p


def _softmax_logsumexp(z):
    m = z.max(axis=-1, keepdims=True)
    return np.exp(z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))


def _softmax_global_max(z):
    # one constant for the whole batch: still exact (shift invariance), and it does
    # not overflow on the checks' inputs, whose rows share one scale
    e = np.exp(z - z.max())
    return e / e.sum(axis=1, keepdims=True)


def _softmax_naive(z):
    with np.errstate(over="ignore", invalid="ignore"):  # it overflows: keep the test log quiet
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def _softmax_wrong_axis(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _softmax_column_max(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_no_keepdims(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1)  # broadcasts (N,) against the last axis


def _softmax_whole_batch(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _softmax_no_exp(z):
    return z / z.sum(axis=1, keepdims=True)


def _softmax_unnormalised(z):
    return np.exp(z - z.max(axis=1, keepdims=True))


def _softmax_sigmoid(z):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))


def _softmax_log(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def _softmax_minus_min(z):
    # the minimum is no help: exp(z - min) still overflows when the logits spread
    e = np.exp(z - z.min(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_clip(z):
    # clipping the logits avoids the overflow but changes the answer
    e = np.exp(np.clip(z, -50, 50))
    return e / e.sum(axis=1, keepdims=True)


SOFTMAX = Exercise(
    ASSIGNMENT, "softmax_test", "softmax",
    wrong={
        "no max subtracted (overflows)": _softmax_naive,
        "sums down the columns": _softmax_wrong_axis,
        "max down the columns": _softmax_column_max,
        "sum without keepdims": _softmax_no_keepdims,
        "divides by the whole batch": _softmax_whole_batch,
        "normalises z without exp": _softmax_no_exp,
        "not normalised": _softmax_unnormalised,
        "sigmoid instead": _softmax_sigmoid,
        "returns log-softmax": _softmax_log,
        "clips the logits": _softmax_clip,
        "returns a list": lambda z: _softmax(z).tolist(),
    },
    right={
        "row max, vectorised": _softmax,
        "loops over rows": _softmax_loop,
        "via logsumexp": _softmax_logsumexp,
        "max over the whole array": _softmax_global_max,
    },
)


# -- softmax_jacobian(z), z: (C,) -> (C, C) --------------------------------------------

def _p(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def _jac(z):
    p = _p(z)
    return np.diag(p) - np.outer(p, p)


def _jac_loops(z):
    p = _p(z)
    c = len(p)
    J = np.zeros((c, c))
    for j in range(c):
        for i in range(c):
            J[j, i] = p[j] * ((1.0 if i == j else 0.0) - p[i])
    return J


def _jac_transposed_formula(z):
    # p_i (delta_ij - p_j): the matrix is symmetric, so this is the same matrix
    p = _p(z)
    return (p[None, :] * (np.eye(len(p)) - p[:, None]))


def _jac_from_eye(z):
    p = _p(z)
    return p[:, None] * (np.eye(len(p)) - p[None, :])


def _jac_diagonal_only(z):
    p = _p(z)
    return np.diag(p * (1 - p))


def _jac_one_formula(z):
    p = _p(z)
    return np.tile(p * (1 - p), (len(p), 1))


def _jac_no_delta(z):
    p = _p(z)
    return -np.outer(p, p)


def _jac_delta_as_one(z):
    p = _p(z)
    return np.outer(p, 1 - p)


def _jac_sign(z):
    p = _p(z)
    return np.outer(p, p) - np.diag(p)


def _jac_missing_factor(z):
    # p_j delta_ji - p_i: the p_j of the second term is lost
    p = _p(z)
    return np.diag(p) - p[None, :]


def _jac_of_logits(z):
    return np.diag(z) - np.outer(z, z)


def _jac_square_p(z):
    p = _p(z)
    return np.diag(p**2) - np.outer(p, p)


def _jac_row_p(z):
    # p_j (delta_ji - p_j): the same index twice, so the result is not symmetric
    p = _p(z)
    return p[:, None] * (np.eye(len(p)) - p[:, None])


def _jac_numerical(z):
    h = 1e-5
    return np.array([(_p(z + h * e) - _p(z - h * e)) / (2 * h) for e in np.eye(len(z))]).T


SOFTMAX_JACOBIAN = Exercise(
    ASSIGNMENT, "softmax_jacobian_test", "softmax_jacobian",
    wrong={
        "diagonal only": _jac_diagonal_only,
        "p_i (1 - p_i) everywhere": _jac_one_formula,
        "no delta": _jac_no_delta,
        "delta taken as 1": _jac_delta_as_one,
        "flipped sign": _jac_sign,
        "lost p_j in the second term": _jac_missing_factor,
        "formula on the logits": _jac_of_logits,
        "p squared on the diagonal": _jac_square_p,
        "same index twice": _jac_row_p,
        "finite differences": _jac_numerical,
        "flat (C*C,)": lambda z: _jac(z).ravel(),
    },
    right={
        "diag(p) - p p^T": _jac,
        "two loops": _jac_loops,
        "p_i (delta_ij - p_j)": _jac_transposed_formula,
        "broadcast against the identity": _jac_from_eye,
    },
)


# -- cross_entropy(p, y) -> (L, dp), p: (N, C), y: (N,) --------------------------------

def _ce(p, y):
    n, c = p.shape
    rows = np.arange(n)
    dp = np.zeros_like(p)
    dp[rows, y] = -1.0 / (n * p[rows, y])
    return float(-np.mean(np.log(p[rows, y]))), dp


def _ce_onehot(p, y):
    n, c = p.shape
    t = _onehot(y, c)
    return -np.sum(t * np.log(p)) / n, -t / (n * p)


def _ce_loop(p, y):
    n = len(y)
    loss, dp = 0.0, np.zeros(p.shape)
    for k in range(n):
        loss -= np.log(p[k, y[k]]) / n
        dp[k, y[k]] = -1 / p[k, y[k]] / n
    return loss, dp


def _ce_sum(p, y):
    n, c = p.shape
    loss, dp = _ce(p, y)
    return loss * n, dp


def _ce_no_minus(p, y):
    loss, dp = _ce(p, y)
    return -loss, dp


def _ce_log10(p, y):
    n = len(y)
    rows = np.arange(n)
    loss, dp = _ce(p, y)
    return float(-np.mean(np.log10(p[rows, y]))), dp


def _ce_all_classes(p, y):
    loss, dp = _ce(p, y)
    return float(-np.mean(np.log(p).sum(axis=1))), dp


def _ce_columns_y(p, y):
    # p[:, y] is (N, N): every row's probability of every row's label
    loss, dp = _ce(p, y)
    return float(-np.mean(np.log(p[:, y]))), dp


def _ce_mean_over_all(p, y):
    n, c = p.shape
    t = _onehot(y, c)
    loss, dp = _ce(p, y)
    return float(-np.mean(t * np.log(p))), dp


def _ce_dp_no_mean(p, y):
    loss, dp = _ce(p, y)
    return loss, dp * len(y)


def _ce_dp_sign(p, y):
    loss, dp = _ce(p, y)
    return loss, -dp


def _ce_dp_fused(p, y):
    n, c = p.shape
    loss, _ = _ce(p, y)
    return loss, (p - _onehot(y, c)) / n


def _ce_dp_everywhere(p, y):
    n = len(y)
    loss, _ = _ce(p, y)
    return loss, -1.0 / (n * p)


def _ce_dp_log(p, y):
    # the derivative of ln p taken as ln p
    n, c = p.shape
    loss, _ = _ce(p, y)
    return loss, -_onehot(y, c) * np.log(p) / n


def _ce_dp_first_label(p, y):
    n, c = p.shape
    rows = np.arange(n)
    loss, _ = _ce(p, y)
    dp = np.zeros_like(p)
    dp[rows, y[0]] = -1.0 / (n * p[rows, y[0]])
    return loss, dp


def _ce_binary(p, y):
    n, c = p.shape
    t = _onehot(y, c)
    loss = float(-np.mean(np.sum(t * np.log(p) + (1 - t) * np.log(1 - p), axis=1)))
    return loss, (-t / p + (1 - t) / (1 - p)) / n


CROSS_ENTROPY = Exercise(
    ASSIGNMENT, "cross_entropy_test", "cross_entropy",
    wrong={
        "sums instead of mean": _ce_sum,
        "missing minus": _ce_no_minus,
        "log10": _ce_log10,
        "-ln p of every class": _ce_all_classes,
        "p[:, y] indexing": _ce_columns_y,
        "mean over N*C entries": _ce_mean_over_all,
        "dp without 1/N": _ce_dp_no_mean,
        "dp flipped sign": _ce_dp_sign,
        "dp is the fused gradient": _ce_dp_fused,
        "dp -1/(N p) everywhere": _ce_dp_everywhere,
        "dp uses ln p": _ce_dp_log,
        "dp uses the first label": _ce_dp_first_label,
        "binary cross-entropy": _ce_binary,
        "returns L only": lambda p, y: _ce(p, y)[0],
    },
    right={
        "fancy indexing": _ce,
        "one-hot sum": _ce_onehot,
        "loop over rows": _ce_loop,
    },
)


# -- softmax_ce_gradient(z, y) = (p - onehot) / N ---------------------------------------

def _fused(z, y):
    p = _softmax(z)
    p[np.arange(len(y)), y] -= 1
    return p / len(y)


def _fused_onehot(z, y):
    return (_softmax_logsumexp(z) - _onehot(y, z.shape[1])) / z.shape[0]


def _fused_chain(z, y):
    # -1/(N p_r) through the full Jacobian of each row: the long way round
    n, c = z.shape
    dz = np.zeros(z.shape)
    for k in range(n):
        p = _p(z[k])
        J = np.diag(p) - np.outer(p, p)
        dp = np.zeros(c)
        dp[y[k]] = -1.0 / (n * p[y[k]])
        dz[k] = dp @ J
    return dz


def _fused_no_mean(z, y):
    return _fused(z, y) * len(y)


def _fused_p_only(z, y):
    return _softmax(z) / len(y)


def _fused_reversed(z, y):
    return -_fused(z, y)


def _fused_columns(z, y):
    p = _softmax(z)
    p[:, y] -= 1
    return p / len(y)


def _fused_minus_one_everywhere(z, y):
    return (_softmax(z) - 1) / len(y)


def _fused_wrong_axis(z, y):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    p = e / e.sum(axis=0, keepdims=True)
    return (p - _onehot(y, z.shape[1])) / len(y)


def _fused_diagonal_jacobian(z, y):
    p = _softmax(z)
    t = _onehot(y, z.shape[1])
    return -t * (1 - p) / len(y)


def _fused_by_c(z, y):
    return (_softmax(z) - _onehot(y, z.shape[1])) / z.shape[1]


def _fused_naive(z, y):
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
    return (p - _onehot(y, z.shape[1])) / len(y)


def _fused_first_label(z, y):
    p = _softmax(z)
    p[:, y[0]] -= 1
    return p / len(y)


def _fused_dp_only(z, y):
    # stops at dL/dp: the softmax's Jacobian is missing
    p = _softmax(z)
    t = _onehot(y, z.shape[1])
    return -t / (len(y) * p)


FUSED_GRADIENT = Exercise(
    ASSIGNMENT, "softmax_ce_gradient_test", "softmax_ce_gradient",
    wrong={
        "no 1/N": _fused_no_mean,
        "p only": _fused_p_only,
        "onehot - p": _fused_reversed,
        "p[:, y] -= 1": _fused_columns,
        "1 subtracted everywhere": _fused_minus_one_everywhere,
        "softmax down the columns": _fused_wrong_axis,
        "diagonal of the Jacobian only": _fused_diagonal_jacobian,
        "divides by C": _fused_by_c,
        "naive softmax (overflows)": _fused_naive,
        "first label for every row": _fused_first_label,
        "stops at dL/dp": _fused_dp_only,
    },
    right={
        "subtract 1 in place": _fused,
        "one-hot matrix": _fused_onehot,
        "Jacobian per row": _fused_chain,
    },
)


# -- last_layer_gradients(a, W, b, y) -> (dW, db), z = a W + b ---------------------------

def _dz(a, W, b, y):
    return _fused(a @ W + b, y)


def _last(a, W, b, y):
    dz = _dz(a, W, b, y)
    return a.T @ dz, dz.sum(axis=0)


def _last_loops(a, W, b, y):
    n = len(y)
    dW, db = np.zeros(W.shape), np.zeros(b.shape)
    for k in range(n):
        p = _p(a[k] @ W + b)
        p[y[k]] -= 1
        dW += np.outer(a[k], p) / n
        db += p / n
    return dW, db


def _last_modules(a, W, b, y):
    from backproplab.layers import Linear, SoftmaxCrossEntropy

    fc = Linear(*W.shape)
    fc.params["W"][...] = W
    fc.params["b"][...] = b
    loss = SoftmaxCrossEntropy()
    loss.forward(fc.forward(a), y)
    fc.backward(loss.backward())
    return fc.grads["W"].copy(), fc.grads["b"].copy()


def _last_transposed(a, W, b, y):
    dz = _dz(a, W, b, y)
    return dz.T @ a, dz.sum(axis=0)


def _last_weight_factor(a, W, b, y):
    # the slides' last formula: (p_real - 1) times a weight
    dz = _dz(a, W, b, y)
    return W * dz.sum(axis=0), dz.sum(axis=0)


def _last_no_mean(a, W, b, y):
    dz = _dz(a, W, b, y) * len(y)
    return a.T @ dz, dz.sum(axis=0)


def _last_sign(a, W, b, y):
    dz = -_dz(a, W, b, y)
    return a.T @ dz, dz.sum(axis=0)


def _last_db_rows(a, W, b, y):
    dz = _dz(a, W, b, y)
    return a.T @ dz, dz


def _last_db_mean(a, W, b, y):
    dz = _dz(a, W, b, y)
    return a.T @ dz, dz.mean(axis=0)


def _last_p_only(a, W, b, y):
    dz = _softmax(a @ W + b) / len(y)
    return a.T @ dz, dz.sum(axis=0)


def _last_no_softmax(a, W, b, y):
    dz = (a @ W + b - _onehot(y, W.shape[1])) / len(y)
    return a.T @ dz, dz.sum(axis=0)


def _last_output_as_factor(a, W, b, y):
    z = a @ W + b
    dz = _dz(a, W, b, y)
    return z.T @ dz, dz.sum(axis=0)


def _last_db_wrong_axis(a, W, b, y):
    dz = _dz(a, W, b, y)
    return a.T @ dz, dz.sum(axis=1)


def _last_diagonal_jacobian(a, W, b, y):
    p = _softmax(a @ W + b)
    dz = -_onehot(y, W.shape[1]) * (1 - p) / len(y)
    return a.T @ dz, dz.sum(axis=0)


def _last_one_sample(a, W, b, y):
    # only the first sample's outer product
    dz = _dz(a, W, b, y)
    return np.outer(a[0], dz[0]), dz[0]


LAST_LAYER = Exercise(
    ASSIGNMENT, "last_layer_gradients_test", "last_layer_gradients",
    wrong={
        "dW transposed": _last_transposed,
        "weight as the factor (slides' erratum)": _last_weight_factor,
        "no 1/N": _last_no_mean,
        "flipped sign": _last_sign,
        "db not summed over rows": _last_db_rows,
        "db mean instead of sum": _last_db_mean,
        "p only": _last_p_only,
        "logits without softmax": _last_no_softmax,
        "output z as the factor": _last_output_as_factor,
        "db summed over classes": _last_db_wrong_axis,
        "diagonal of the Jacobian only": _last_diagonal_jacobian,
        "first sample only": _last_one_sample,
    },
    right={
        "a^T dz": _last,
        "loop of outer products": _last_loops,
        "library modules": _last_modules,
    },
)

EXERCISES = [SOFTMAX, SOFTMAX_JACOBIAN, CROSS_ENTROPY, FUSED_GRADIENT, LAST_LAYER]
