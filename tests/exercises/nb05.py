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


def _softmax_row_mean(z):
    e = np.exp(z - z.mean(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_in_place(z):
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def _softmax_float32(z):
    return _softmax(z.astype(np.float32))


def _softmax_float32_back(z):
    return _softmax(z.astype(np.float32)).astype(np.float64)


def _softmax_scipy(z):
    import scipy.special

    return scipy.special.softmax(z, axis=1)


def _softmax_max_over_axis_none_each_row(z):
    # the maximum of each row, taken in a loop, then the exponentials of the whole batch
    m = np.array([[row.max()] for row in z])
    e = np.exp(z - m)
    return e / e.sum(axis=1, keepdims=True)


def _softmax_where_max(z):
    # another stable form: divide by exp of the maximum through log-sum-exp per row
    out = np.empty_like(z)
    for n in range(z.shape[0]):
        m = np.max(z[n])
        out[n] = np.exp(z[n] - m - np.log(np.sum(np.exp(z[n] - m))))
    return out


SOFTMAX = Exercise(
    ASSIGNMENT, "softmax_test", "softmax",
    wrong={
        "no max subtracted (overflows)": (_softmax_naive, "exp(z) without subtracting anything"),
        "the batch's maximum": (_softmax_global_max, "one maximum for the whole batch"),
        "the row's mean": (_softmax_row_mean, "each row's mean was subtracted"),
        "the row's minimum": (_softmax_minus_min, "each row's minimum was subtracted"),
        "changes z in place": (_softmax_in_place, "changed the caller's z in place"),
        "float32": (_softmax_float32, "computes in float32"),
        "float32, cast back": (_softmax_float32_back, "computes in float32"),
        "sums down the columns": (_softmax_wrong_axis, "normalised over the wrong axis"),
        "max down the columns": (_softmax_column_max, "maximum was taken down the columns"),
        "sum without keepdims": (_softmax_no_keepdims, "without keepdims=True"),
        "divides by the whole batch": (_softmax_whole_batch, "sum over the whole batch"),
        "normalises z without exp": (_softmax_no_exp, "without exp"),
        "not normalised": (_softmax_unnormalised, "was not divided by the row's sum"),
        "scipy's softmax": (_softmax_scipy, "calls special.softmax"),
        "returns a list": (lambda z: _softmax(z).tolist(), "should return a numpy array"),
    },
    right={
        "row max, vectorised": _softmax,
        "loops over rows": _softmax_loop,
        "via logsumexp": _softmax_logsumexp,
        "row max in a loop": _softmax_max_over_axis_none_each_row,
        "log-sum-exp per row": _softmax_where_max,
    },
)


def _p(z):
    e = np.exp(z - z.max())
    return e / e.sum()


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


def _ce_eps(p, y):
    n = len(y)
    rows = np.arange(n)
    dp = np.zeros_like(p)
    dp[rows, y] = -1.0 / (n * (p[rows, y] + 1e-12))
    return float(-np.mean(np.log(p[rows, y] + 1e-12))), dp


def _ce_clip(p, y):
    q = np.clip(p, 1e-10, 1.0)
    return _ce(q, y)


def _ce_float32(p, y):
    return _ce(p.astype(np.float32), y)


def _ce_in_place(p, y):
    n = len(y)
    rows = np.arange(n)
    loss = float(-np.mean(np.log(p[rows, y])))
    picked = p[rows, y]
    p[...] = 0.0
    p[rows, y] = -1.0 / (n * picked)
    return loss, p


CROSS_ENTROPY = Exercise(
    ASSIGNMENT, "cross_entropy_test", "cross_entropy",
    wrong={
        "sums instead of mean": (_ce_sum, "missing 1/N"),
        "missing minus": (_ce_no_minus, "the sign is flipped"),
        "-ln p of every class": (_ce_all_classes, "summed over every class"),
        "p[:, y] indexing": (_ce_columns_y, "(N, N) block"),
        "mean over N*C entries": (_ce_mean_over_all, "1/C"),
        "dp without 1/N": (_ce_dp_no_mean, "missing 1/N"),
        "dp flipped sign": (_ce_dp_sign, "the sign is flipped"),
        "dp is the fused gradient": (_ce_dp_fused, "gradient with respect to the logits z"),
        "dp -1/(N p) everywhere": (_ce_dp_everywhere, "was put in every entry"),
        "dp uses the first label": (_ce_dp_first_label, "-> dp does not match"),
        "ln(p + eps)": (_ce_eps, "ln(p + eps)"),
        "p clipped at eps": (_ce_clip, "ln(p + eps) (or p clipped at eps)"),
        "float32": (_ce_float32, "computes in float32"),
        "writes dp into p": (_ce_in_place, "changed the caller's p in place"),
        "returns L only": (lambda p, y: _ce(p, y)[0], "should return a pair (L, dp)"),
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


def _last_via_module(a, W, b, y):
    # the student's loss module (here a stand-in with its contract), as the notebook's answer does
    loss = SoftmaxCrossEntropy()
    loss.forward(a @ W + b, y)
    dz = loss.backward()
    return a.T @ dz, dz.sum(axis=0)


def _last_float32(a, W, b, y):
    dW, db = _last(a.astype(np.float32), W.astype(np.float32), b.astype(np.float32), y)
    return dW.astype(np.float32), db.astype(np.float32)


def _last_no_keepdims(a, W, b, y):
    z = a @ W + b
    e = np.exp(z - z.max(axis=1))
    return _last(a, W, b, y) if e is None else (a.T @ e, e.sum(axis=0))


LAST_LAYER = Exercise(
    ASSIGNMENT, "last_layer_gradients_test", "last_layer_gradients",
    wrong={
        "dW transposed": (_last_transposed, "the transpose of the expected shape"),
        "weight as the factor": (_last_weight_factor, "the weights were used as the factor"),
        "no 1/N": (_last_no_mean, "missing 1/N"),
        "flipped sign": (_last_sign, "the sign is flipped"),
        "db not summed over rows": (_last_db_rows, "db"),
        "db mean instead of sum": (_last_db_mean, "an extra division by N"),
        "p only": (_last_p_only, "one-hot labels were not subtracted"),
        "logits without softmax": (_last_no_softmax, "the logits z were used"),
        "db summed over classes": (_last_db_wrong_axis, "db"),
        "diagonal of the Jacobian only": (_last_diagonal_jacobian, "only the diagonal of the softmax Jacobian"),
        "library modules": (_last_modules, "calls SoftmaxCrossEntropy"),
        "float32": (_last_float32, "computes in float32"),
        "max without keepdims": (_last_no_keepdims, "without keepdims=True"),
    },
    right={
        "a^T dz": _last,
        "loop of outer products": _last_loops,
        "the loss module": _last_via_module,
    },
)


# -- SoftmaxCrossEntropy.forward(z, y) -> L, keeps self.p, self.y ---------------------------

def _log_softmax(z):
    m = z.max(axis=1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))


def _forward(self, z, y):
    log_p = _log_softmax(z)
    self.p, self.y = np.exp(log_p), y
    return float(-log_p[np.arange(len(y)), y].mean())


def _backward(self, dout=1.0):
    dz = self.p.copy()
    dz[np.arange(len(self.y)), self.y] -= 1.0
    return dout * dz / len(self.y)


def _module(forward=_forward, backward=_backward):
    class Module:
        def __init__(self):
            self.p = None
            self.y = None

    Module.__name__ = "SoftmaxCrossEntropy"
    Module.forward, Module.backward = forward, backward
    return Module


SoftmaxCrossEntropy = _module()
softmax = _softmax  # the name the student's methods call: the check swaps in the course's


def _forward_loop(self, z, y):
    n = z.shape[0]
    self.p, self.y = np.empty_like(z), y
    total = 0.0
    for k in range(n):
        m = max(z[k])
        s = sum(np.exp(v - m) for v in z[k])
        self.p[k] = np.exp(z[k] - m) / s
        total += -(z[k, y[k]] - m - np.log(s))
    return total / n


def _forward_via_softmax(self, z, y):
    # the student's softmax for p, the logits for ln p
    self.p, self.y = softmax(z), y
    m = z.max(axis=1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(y)), y]))


def _forward_logsumexp(self, z, y):
    from numpy import logaddexp

    lse = logaddexp.reduce(z, axis=1)
    self.p, self.y = np.exp(z - lse[:, None]), y
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def _forward_log_of_softmax(self, z, y):
    self.p, self.y = softmax(z), y
    return float(-np.mean(np.log(self.p[np.arange(len(y)), y])))


def _forward_log_eps(self, z, y):
    self.p, self.y = softmax(z), y
    return float(-np.mean(np.log(self.p[np.arange(len(y)), y] + 1e-12)))


def _forward_sum(self, z, y):
    return _forward(self, z, y) * len(y)


def _forward_no_minus(self, z, y):
    return -_forward(self, z, y)


def _forward_every_class(self, z, y):
    _forward(self, z, y)
    return float(-np.mean(_log_softmax(z)))


def _forward_no_cache(self, z, y):
    log_p = _log_softmax(z)
    return float(-log_p[np.arange(len(y)), y].mean())


def _forward_cache_logits(self, z, y):
    _forward(self, z, y)
    self.p = z.copy()
    return float(-_log_softmax(z)[np.arange(len(y)), y].mean())


def _forward_in_place(self, z, y):
    z -= z.max(axis=1, keepdims=True)
    return _forward(self, z, y)


def _forward_float32(self, z, y):
    return _forward(self, z.astype(np.float32), y)


def _forward_no_keepdims(self, z, y):
    shifted = z - z.max(axis=1)
    return _forward(self, shifted, y)


def _forward_scipy(self, z, y):
    from scipy.special import log_softmax

    log_p = log_softmax(z, axis=1)
    self.p, self.y = np.exp(log_p), y
    return float(-log_p[np.arange(len(y)), y].mean())


def _forward_global_max(self, z, y):
    shifted = z - z.max()
    e = np.exp(shifted)
    self.p, self.y = e / e.sum(axis=1, keepdims=True), y
    return float(-np.mean(np.log(self.p[np.arange(len(y)), y])))


def _forward_log_sum_unshifted(self, z, y):
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    self.p, self.y = np.exp(log_p), y
    return float(-log_p[np.arange(len(y)), y].mean())


SCE_FORWARD = Exercise(
    ASSIGNMENT, "sce_forward_test", "SoftmaxCrossEntropy",
    wrong={
        "ln of a softmax that underflows": (_forward_log_of_softmax, "ln was taken of a probability that rounded to 0"),
        "ln(p + eps)": (_forward_log_eps, "ln(p + eps)"),
        "log-sum-exp without the shift": (_forward_log_sum_unshifted, "without subtracting the row's maximum m"),
        "sum instead of mean": (_forward_sum, "missing 1/N"),
        "no minus": (_forward_no_minus, "the sign is flipped"),
        "every class": (_forward_every_class, "every class"),
        "no cache": (_forward_no_cache, "must keep self.p"),
        "caches the logits": (_forward_cache_logits, "-> self.p does not match"),
        "changes z in place": (_forward_in_place, "changed the caller's z in place"),
        "float32": (_forward_float32, "computes in float32"),
        "max without keepdims": (_forward_no_keepdims, "without keepdims=True"),
        "scipy's log_softmax": (_forward_scipy, "calls special.log_softmax"),
        "the batch's maximum": (_forward_global_max, "one maximum for the whole batch"),
    },
    right={
        "log-sum-exp": _forward,
        "loop over rows": _forward_loop,
        "softmax for p, logits for ln p": _forward_via_softmax,
        "logaddexp": _forward_logsumexp,
    },
    namespace=lambda forward: {"SoftmaxCrossEntropy": _module(forward=forward)},
)


# -- SoftmaxCrossEntropy.backward(dout) -> dL/dz ---------------------------------------------

def _backward_onehot(self, dout=1.0):
    n, c = self.p.shape
    return dout * (self.p - np.eye(c)[self.y]) / n


def _backward_loop(self, dout=1.0):
    n = len(self.y)
    dz = np.array(self.p, dtype=float)
    for k in range(n):
        dz[k, self.y[k]] = dz[k, self.y[k]] - 1.0
    return dz * (dout / n)


def _backward_chain(self, dout=1.0):
    # dL/dp through each row's Jacobian: the long way
    n, c = self.p.shape
    dz = np.zeros((n, c))
    for k in range(n):
        p = self.p[k]
        dp = np.zeros(c)
        dp[self.y[k]] = -dout / (n * p[self.y[k]])
        dz[k] = dp @ (np.diag(p) - np.outer(p, p))
    return dz


def _backward_in_place(self, dout=1.0):
    dz = self.p
    dz[np.arange(len(self.y)), self.y] -= 1.0
    return dout * dz / len(self.y)


def _backward_ignores_dout(self, dout=1.0):
    return _backward(self)


def _backward_p_only(self, dout=1.0):
    return dout * self.p / len(self.y)


def _backward_no_mean(self, dout=1.0):
    return _backward(self, dout) * len(self.y)


def _backward_sign(self, dout=1.0):
    return -_backward(self, dout)


def _backward_columns(self, dout=1.0):
    dz = self.p.copy()
    dz[:, self.y] -= 1.0
    return dout * dz / len(self.y)


def _backward_minus_one(self, dout=1.0):
    return dout * (self.p - 1.0) / len(self.y)


def _backward_dp(self, dout=1.0):
    n, c = self.p.shape
    return -dout * np.eye(c)[self.y] / (n * self.p)


def _backward_by_c(self, dout=1.0):
    return _backward(self, dout) * len(self.y) / self.p.shape[1]


def _backward_float32(self, dout=1.0):
    return _backward(self, dout).astype(np.float32)


def _backward_numerical(self, dout=1.0):
    # finite differences of the loss in z, from p's logarithm (the logits up to a constant)
    z = np.log(self.p)
    h = 1e-6
    grad = np.zeros_like(z)
    for index in np.ndindex(*z.shape):
        up, down = z.copy(), z.copy()
        up[index] += h
        down[index] -= h
        grad[index] = (_forward(_module()(), up, self.y) - _forward(_module()(), down, self.y)) / (2 * h)
    return dout * grad


def _backward_sticky_dout(self, dout=None):
    if dout is not None:
        self.dout = dout
    return _backward(self, getattr(self, "dout", 1.0))


SCE_BACKWARD = Exercise(
    ASSIGNMENT, "sce_backward_test", "SoftmaxCrossEntropy",
    wrong={
        "changes self.p in place": (_backward_in_place, "changed self.p in place"),
        "ignores dout": (_backward_ignores_dout, "dout was ignored"),
        "p only": (_backward_p_only, "one-hot labels were not subtracted"),
        "no 1/N": (_backward_no_mean, "missing 1/N"),
        "onehot - p": (_backward_sign, "the sign is flipped"),
        "p[:, y] -= 1": (_backward_columns, "subtract it only at"),
        "1 subtracted everywhere": (_backward_minus_one, "1 was subtracted from every entry"),
        "returns dL/dp": (_backward_dp, "this is dL/dp"),
        "divides by C": (_backward_by_c, "number of classes C"),
        "float32": (_backward_float32, "computes in float32"),
        "finite differences": (_backward_numerical, "numerical approximation"),
        "keeps the last dout": (_backward_sticky_dout, "kept the dout of the previous call"),
    },
    right={
        "subtract 1 on a copy": _backward,
        "one-hot matrix": _backward_onehot,
        "loop over rows": _backward_loop,
        "through each row's Jacobian": _backward_chain,
    },
    namespace=lambda backward: {"SoftmaxCrossEntropy": _module(backward=backward)},
)


# -- hand_step(params, x, y, lr): one descent step of Linear-Sigmoid-Linear-Sigmoid-Linear ------

def _sig(u):
    return 1.0 / (1.0 + np.exp(-u))


def _hand_grads(params, x, y, *, plus=False, prime=True, prime_on_input=False, prime_no_h=False, transpose=True,
                last_only=False, weight_factor=False, first_sample=False, mean=True, fused=True):
    W1, b1, W2, b2, W3, b3 = params
    n = len(y)
    u1 = x @ W1 + b1
    h1 = _sig(u1)
    u2 = h1 @ W2 + b2
    h2 = _sig(u2)
    p = softmax(h2 @ W3 + b3)
    dz3 = p - np.eye(W3.shape[1])[y] if fused else p.copy()
    if mean:
        dz3 = dz3 / n
    d2, d1 = (h2 * (1 - h2), h1 * (1 - h1)) if prime else (1.0, 1.0)
    if prime_on_input:
        d2, d1 = u2 * (1 - u2), u1 * (1 - u1)
    if prime_no_h:
        d2, d1 = 1 - h2, 1 - h1
    dz2 = (dz3 @ (W3.T if transpose else W3)) * d2
    dz1 = (dz2 @ W2.T) * d1
    grads = [x.T @ dz1, dz1.sum(axis=0), h1.T @ dz2, dz2.sum(axis=0), h2.T @ dz3, dz3.sum(axis=0)]
    if first_sample:
        grads = [np.outer(x[0], dz1[0]), dz1[0], np.outer(h1[0], dz2[0]), dz2[0], np.outer(h2[0], dz3[0]), dz3[0]]
    if last_only:
        grads[:4] = [np.zeros_like(g) for g in grads[:4]]
    if weight_factor:
        grads[4] = W3 * dz3.sum(axis=0)
    return [-g if plus else g for g in grads]


def _hand(**how):
    def hand_step(params, x, y, lr):
        return [w - lr * g for w, g in zip(params, _hand_grads(params, x, y, **how))]
    return hand_step


def _hand_loops(params, x, y, lr):
    # sample by sample, summing the outer products
    W1, b1, W2, b2, W3, b3 = params
    grads = [np.zeros_like(w) for w in params]
    for k in range(len(y)):
        h1 = _sig(x[k] @ W1 + b1)
        h2 = _sig(h1 @ W2 + b2)
        dz3 = _p(h2 @ W3 + b3)
        dz3[y[k]] -= 1.0
        dz2 = (W3 @ dz3) * h2 * (1 - h2)
        dz1 = (W2 @ dz2) * h1 * (1 - h1)
        for g, add in zip(grads, [np.outer(x[k], dz1), dz1, np.outer(h1, dz2), dz2, np.outer(h2, dz3), dz3]):
            g += add / len(y)
    return [w - lr * g for w, g in zip(params, grads)]


def _hand_with_module(params, x, y, lr):
    W1, b1, W2, b2, W3, b3 = params
    h1 = _sig(x @ W1 + b1)
    h2 = _sig(h1 @ W2 + b2)
    loss = SoftmaxCrossEntropy()
    loss.forward(h2 @ W3 + b3, y)
    dz3 = loss.backward()
    dz2 = dz3 @ W3.T * h2 * (1 - h2)
    dz1 = dz2 @ W2.T * h1 * (1 - h1)
    grads = [x.T @ dz1, dz1.sum(axis=0), h1.T @ dz2, dz2.sum(axis=0), h2.T @ dz3, dz3.sum(axis=0)]
    return [w - lr * g for w, g in zip(params, grads)]


def _hand_in_place(params, x, y, lr):
    grads = _hand_grads(params, x, y)
    for w, g in zip(params, grads):
        w -= lr * g
    return params


def _hand_library(params, x, y, lr):
    from backproplab.layers import Linear, Sequential, Sigmoid, SGD
    from backproplab.layers import SoftmaxCrossEntropy as Loss

    net = Sequential(Linear(*params[0].shape), Sigmoid(), Linear(*params[2].shape), Sigmoid(),
                     Linear(*params[4].shape))
    for (w, _), value in zip(net.parameters(), params):
        w[...] = value
    loss = Loss()
    loss.forward(net.forward(x), y)
    net.backward(loss.backward())
    SGD(net.parameters(), lr=lr).step()
    return [w.copy() for w, _ in net.parameters()]


HAND_STEP = Exercise(
    ASSIGNMENT, "hand_step_test", "hand_step",
    wrong={
        "adds the gradient": (_hand(plus=True), "the step added the gradient"),
        "no sigmoid derivative": (_hand(prime=False), "through each sigmoid unchanged"),
        "sigmoid derivative on the input": (_hand(prime_on_input=True), "written with its input z"),
        "sigmoid derivative without h": (_hand(prime_no_h=True), "the factor h is missing"),
        "W3 not transposed": (_hand(transpose=False), "dz W3^T"),
        "last layer only": (_hand(last_only=True), "only the last layer was updated"),
        "weights as the factor": (_hand(weight_factor=True), "used the weights as the factor"),
        "first sample only": (_hand(first_sample=True), "only the first sample's gradient"),
        "no 1/N": (_hand(mean=False), "missing 1/N"),
        "p only": (_hand(fused=False), "subtract the one-hot labels"),
        "updates params in place": (_hand_in_place, "changed the caller's params (W1) in place"),
        "library modules": (_hand_library, "calls "),
    },
    right={
        "vectorised": _hand(),
        "sample by sample": _hand_loops,
        "through the loss module": _hand_with_module,
    },
)


# -- train(model, loss, epochs, lr, rng): SGD over the globals X_train, y_train, X_test, y_test ----------------

def _training(order="shuffle", step=True, record_first=True, batch="one", returns="dict", manual=False, fancy=False):
    """A training loop with the notebook's contract, or with one mistake; it reads the data from the globals."""
    def train(model, loss, epochs, lr, rng):
        from backproplab.layers import SGD

        data = globals()
        X, y, X_test, y_test = (data[k] for k in ("X_train", "y_train", "X_test", "y_test"))
        optimizer = SGD(model.parameters(), lr=lr)
        history = {"train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
        fixed = rng.permutation(len(y)) if order == "once" else None
        for epoch in range(epochs + 1):
            if epoch > 0 and batch == "all":
                loss.forward(model.forward(X), y)
                model.backward(loss.backward())
                optimizer.step()
            elif epoch > 0:
                if order == "shuffle":
                    indices = rng.permutation(len(y))
                elif order == "shuffle-in-place":
                    indices = np.arange(len(y))
                    rng.shuffle(indices)
                elif order == "once":
                    indices = fixed
                else:
                    indices = range(len(y))
                for i in indices:
                    sample = (X[[i]], y[[i]]) if fancy else (X[i:i + 1], y[i:i + 1])
                    loss.forward(model.forward(sample[0]), sample[1])
                    model.backward(loss.backward())
                    if manual:
                        for param, grad in model.parameters():
                            param -= lr * grad
                    elif step:
                        optimizer.step()
            if epoch > 0 or record_first:
                for part, X_part, y_part in (("train", X, y), ("test", X_test, y_test)):
                    scores = model.forward(X_part)
                    history[part + "_loss"].append(loss.forward(scores, y_part))
                    history[part + "_acc"].append(float(np.mean(np.argmax(scores, axis=1) == y_part)))
        if returns == "none":
            return None
        if returns == "pairs":
            return list(zip(history["train_loss"], history["train_acc"]))
        return history
    return train


def _training_library(model, loss, epochs, lr, rng):
    from backproplab import training

    X, y = globals()["X_train"], globals()["y_train"]
    result = training.train(model, loss, X, y, lr=lr, epochs=epochs, batch_size=1)
    return {"train_loss": list(result.cost), "test_loss": list(result.cost), "train_acc": list(result.cost),
            "test_acc": list(result.cost)}


TRAIN = Exercise(
    ASSIGNMENT, "train_test", "train",
    wrong={
        "no shuffle": (_training(order="none"), "the same order, 0 to N - 1, every epoch"),
        "one order for every epoch": (_training(order="once"), "one random order was drawn and reused"),
        "whole training set per step": (_training(batch="all"), "each step used the whole training set"),
        "no optimizer step": (_training(step=False), "the parameters did not move"),
        "no record before training": (_training(record_first=False), "one before training"),
        "returns nothing": (_training(returns="none"), "should return the history"),
        "returns pairs": (_training(returns="pairs"), "should return the history"),
        "the library's train": (_training_library, "calls training.train"),
    },
    right={
        "permutation, SGD": _training(),
        "shuffled index array": _training(order="shuffle-in-place"),
        "manual step, fancy indexing": _training(manual=True, fancy=True),
    },
)

EXERCISES = [SOFTMAX, CROSS_ENTROPY, SCE_FORWARD, SCE_BACKWARD, LAST_LAYER, HAND_STEP, TRAIN]
