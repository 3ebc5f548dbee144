"""Checks of notebook 05, softmax and cross-entropy.

- ``check_softmax(softmax, n=4, c=3)``: p = softmax(z) row by row, z (N, C);
  two cases add +-800 to every logit, where exp overflows (or gives 0/0)
  unless each row's maximum is subtracted first;
- ``check_softmax_jacobian(softmax_jacobian, c=4)``: J (C, C) of one row of
  logits z (C,), J[j, i] = dp_j/dz_i = p_j (delta_ji - p_i);
- ``check_cross_entropy(cross_entropy, n=4, c=3)``: the pair (L, dp) for
  probabilities p (N, C) and labels y (N,): L = mean over rows of
  -ln p[n, y_n] and dp = dL/dp;
- ``check_softmax_ce_gradient(softmax_ce_gradient, n=4, c=3)``: dz = dL/dz
  (N, C) of L = mean cross-entropy of softmax(z), the fused (p - onehot) / N;
- ``check_last_layer_gradients(last_layer_gradients, n=4, d=5, m=3)``: the pair
  (dW, db) of the last layer z = a W + b under that loss, a (N, D) the previous
  layer's activations: dW = a^T (p - onehot) / N (D, M), db = sum over rows (M,).

Gradients are compared with central differences of reference forwards (the
library's softmax and cross-entropy, never the student's), with the error
score of CHECKS.md. Logits are N(0, 1.5^2) clipped to +-4, so no probability
is tiny; N > 1 and C != N, so a wrong axis cannot pass by shape; labels take
at least two values, so a row that uses another row's label is wrong.
"""

import numpy as np

from backproplab import numeric
from backproplab.jacobians import softmax_jacobian
from backproplab.layers import one_hot, softmax
from backproplab.messages import text

from ..contract import Case, Check, Reject, describe, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare, reject_if_numerical

OFFSET = 800.0  # exp(800) overflows float64 and exp(-800) underflows to 0


def _logits(rng, shape):
    return np.clip(rng.normal(0.0, 1.5, shape), -4.0, 4.0)


def _labels(rng, n, c):
    """n labels in [0, c), at least two distinct values."""
    while True:
        y = rng.integers(0, c, n)
        if n < 2 or len(set(y.tolist())) > 1:
            return y


def _check_sizes(params):
    n, c = int(params.get("n", 2)), int(params["c"])
    if n < 2 or c < 2 or ("n" in params and n == c):
        raise ValueError(f"softmax checks need n >= 2, c >= 2 and n != c; got n = {n}, c = {c}")
    return n, c


def _with_row_hint(exc, got, target):
    """Re-raise a Reject from compare, with a hint when the rows of got do not sum to target (1 or 0)."""
    sums = got.sum(axis=-1)
    message = str(exc)
    if np.max(np.abs(sums - target)) > 1e-6 * max(1.0, float(np.max(np.abs(got)))):
        if target == 1.0:
            message += "\n" + text("check.softmax_rows_not_one", low=float(sums.min()), high=float(sums.max()))
        else:
            message += "\n" + text("check.softmax_rows_not_zero", worst=float(np.max(np.abs(sums))))
    raise Reject(message) from None


def cross_entropy_of_probabilities(p, y):
    """Reference L(p) = mean over rows of -ln p[n, y_n]; p: (N, C), y: (N,)."""
    p = np.asarray(p, dtype=np.float64)
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))


def mean_cross_entropy(z, y):
    """Reference L(z) = mean over rows of -ln softmax(z)[n, y_n]; z: (N, C) logits, y: (N,)."""
    return float(-np.mean(np.log(softmax(z)[np.arange(len(y)), y])))


class Softmax(Check):
    """softmax(z) returns p (N, C), p[n] = exp(z[n]) / sum_j exp(z[n, j]), without overflow."""

    name = "softmax"
    what = "softmax(z)"
    defaults = {"seed": 0, "n": 4, "c": 3}

    def cases(self, params):
        n, c = _check_sizes(params)
        rng = np.random.default_rng(params["seed"])
        cases = []
        for index, offset in enumerate((0.0, 0.0, OFFSET, -OFFSET)):
            z = _logits(rng, (n, c)) + offset
            label = (text("check.case_logits_offset", shape=(n, c), offset=offset) if offset
                     else text("check.case_logits", shape=(n, c), index=index))
            cases.append(Case(label, {"z": z, "offset": offset}))
        return cases

    def call(self, student, case):
        return student(case.data["z"].copy())

    def judge(self, case, value, params):
        z = case.data["z"]
        if case.data["offset"] and isinstance(value, np.ndarray) and value.shape == z.shape \
                and not np.all(np.isfinite(value)):
            raise Reject(text("check.softmax_overflow", what=self.what))
        got = reject_unless_array(value, z.shape, self.what)
        expected = softmax(z)
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        mistakes = {
            "softmax_wrong_axis": e / e.sum(axis=0, keepdims=True),
            "softmax_column_max": np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=1, keepdims=True),
            "softmax_whole_batch": np.exp(z - z.max()) / np.exp(z - z.max()).sum(),
            "softmax_no_exp": z / z.sum(axis=1, keepdims=True),
            "softmax_not_normalised": e,
        }
        try:
            return compare(got, expected, 0.0, what=self.what, mistakes=mistakes)
        except Reject as exc:
            _with_row_hint(exc, got, 1.0)


class SoftmaxJacobian(Check):
    """softmax_jacobian(z) returns J (C, C) for one row z (C,): J[j, i] = dp_j/dz_i = p_j (delta_ji - p_i)."""

    name = "softmax_jacobian"
    what = "softmax_jacobian(z)"
    defaults = {"seed": 0, "c": 4, "count": 3}

    def cases(self, params):
        _, c = _check_sizes(params)
        if c < 3:
            raise ValueError(f"softmax_jacobian needs c >= 3; got c = {c}")
        rng = np.random.default_rng(params["seed"])
        cases = []
        while len(cases) < params["count"]:
            z = _logits(rng, c)
            # distinct logits (so distinct probabilities, by 5% at least), so that a formula
            # with i and j swapped in one factor only (not symmetric) cannot pass
            if np.min(np.diff(np.sort(z))) < 0.05:
                continue
            cases.append(Case(text("check.case_logits_row", c=c, index=len(cases)), {"z": z}))
        return cases

    def call(self, student, case):
        return student(case.data["z"].copy())

    def judge(self, case, value, params):
        z = case.data["z"]
        c = z.size
        got = reject_unless_array(value, (c, c), self.what)
        jac, noise = numeric.numerical_jacobian(softmax, z, with_noise=True)
        p = softmax(z)
        exact = softmax_jacobian(z)
        mistakes = {
            "diagonal_only": np.diag(p * (1 - p)),
            "jacobian_one_formula": np.tile(p * (1 - p), (c, 1)),
            "jacobian_no_delta": -np.outer(p, p),
            "jacobian_delta_as_one": np.outer(p, 1 - p),
            "jacobian_of_logits": np.diag(z) - np.outer(z, z),
            "jacobian_same_index": p[:, None] * (np.eye(c) - p[:, None]),
        }
        try:
            score = compare(got, jac, noise, what=self.what, mistakes=mistakes)
        except Reject as exc:
            _with_row_hint(exc, got, 0.0)
        reject_if_numerical(got, exact, noise, what=self.what)
        return score


class CrossEntropy(Check):
    """cross_entropy(p, y) returns (L, dp): L = mean_n -ln p[n, y_n] and dp = dL/dp (N, C)."""

    name = "cross_entropy"
    what = "cross_entropy(p, y)"
    defaults = {"seed": 0, "n": 4, "c": 3, "count": 3}

    def cases(self, params):
        n, c = _check_sizes(params)
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            p = softmax(_logits(rng, (n, c)))
            y = _labels(rng, n, c)
            label = text("check.case_probabilities", shape=(n, c), labels=y.tolist())
            cases.append(Case(label, {"p": p, "y": y}))
        return cases

    def call(self, student, case):
        return student(case.data["p"].copy(), case.data["y"].copy())

    def judge(self, case, value, params):
        p, y = case.data["p"], case.data["y"]
        n, c = p.shape
        if not isinstance(value, tuple) or len(value) != 2:
            raise Reject(text("check.expected_loss_pair", what=self.what, shape=p.shape, got=describe(value)))
        loss = reject_unless_finite_number(value[0], self.what + " -> L")
        dp = reject_unless_array(value[1], p.shape, self.what + " -> dp")
        rows = np.arange(n)
        onehot = one_hot(y, c)
        expected = cross_entropy_of_probabilities(p, y)
        score = compare(loss, expected, 0.0, what=self.what + " -> L", factors={"N": n, "C": c},
                        mistakes={"ce_all_classes": float(-np.mean(np.log(p).sum(axis=1))),
                                  "ce_one_minus": float(-np.mean(np.log(1 - p[rows, y]))),
                                  "ce_columns_y": float(-np.mean(np.log(p[:, y])))})
        # steps relative to p: the curvature of -ln p grows like 1/p^3
        grad, noise = numeric.numerical_gradient(lambda q: cross_entropy_of_probabilities(q, y), p,
                                                 h=1e-5 * p, with_noise=True)
        mistakes = {
            "ce_fused_here": (p - onehot) / n,
            "ce_no_onehot": -1.0 / (n * p),
        }
        score = max(score, compare(dp, grad, noise, what=self.what + " -> dp", mistakes=mistakes,
                                   factors={"N": n, "C": c}))
        reject_if_numerical(dp, -onehot / (n * p), noise, what=self.what + " -> dp")
        return score


class SoftmaxCEGradient(Check):
    """softmax_ce_gradient(z, y) returns dz = dL/dz (N, C) of L = mean_n -ln softmax(z)[n, y_n]."""

    name = "softmax_ce_gradient"
    what = "softmax_ce_gradient(z, y)"
    defaults = {"seed": 0, "n": 4, "c": 3, "count": 3}

    def cases(self, params):
        n, c = _check_sizes(params)
        rng = np.random.default_rng(params["seed"])
        cases = []
        for index in range(params["count"] + 1):
            z, y = _logits(rng, (n, c)), _labels(rng, n, c)
            offset = OFFSET if index == params["count"] else 0.0
            label = (text("check.case_logits_labels_offset", shape=(n, c), offset=offset, labels=y.tolist())
                     if offset else text("check.case_logits_labels", shape=(n, c), labels=y.tolist()))
            cases.append(Case(label, {"z": z, "y": y, "offset": offset}))
        return cases

    def call(self, student, case):
        return student(case.data["z"] + case.data["offset"], case.data["y"].copy())

    def judge(self, case, value, params):
        z, y = case.data["z"], case.data["y"]
        n, c = z.shape
        if case.data["offset"] and isinstance(value, np.ndarray) and value.shape == z.shape \
                and not np.all(np.isfinite(value)):
            raise Reject(text("check.softmax_overflow", what=self.what))
        got = reject_unless_array(value, z.shape, self.what)
        # the gradient does not change when a constant is added to every logit,
        # so the reference differentiates the unshifted logits
        grad, noise = numeric.numerical_gradient(lambda v: mean_cross_entropy(v, y), z, with_noise=True)
        p, onehot = softmax(z), one_hot(y, c)
        columns = p.copy()
        columns[:, y] -= 1.0                             # p[:, y] -= 1: whole columns
        mistakes = {
            "fused_p_only": p / n,
            "fused_minus_one_everywhere": (p - 1) / n,
            "fused_columns": columns / n,
            "fused_by_c": (p - onehot) / c,
            "fused_wrong_axis": (softmax(z.T).T - onehot) / n,
            "fused_diagonal_jacobian": -(1 - p) * onehot / n,
        }
        try:
            score = compare(got, grad, noise, what=self.what, mistakes=mistakes, factors={"N": n, "C": c})
        except Reject as exc:
            _with_row_hint(exc, got, 0.0)
        reject_if_numerical(got, (p - onehot) / n, noise, what=self.what)
        return score


check_softmax = register(Softmax)
check_softmax_jacobian = register(SoftmaxJacobian)
check_cross_entropy = register(CrossEntropy)
check_softmax_ce_gradient = register(SoftmaxCEGradient)


class LastLayerGradients(Check):
    """last_layer_gradients(a, W, b, y) returns (dW, db) of L = mean cross-entropy of softmax(a W + b)."""

    name = "last_layer_gradients"
    what = "last_layer_gradients(a, W, b, y)"
    defaults = {"seed": 0, "n": 4, "d": 5, "m": 3, "count": 2}

    def cases(self, params):
        n, d, m = int(params["n"]), int(params["d"]), int(params["m"])
        if n < 2 or m < 2 or d < 1 or d == m:
            raise ValueError(f"last_layer_gradients needs n >= 2, m >= 2 and d != m; got n = {n}, d = {d}, m = {m}")
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            a = rng.uniform(0.05, 0.95, (n, d))          # activations of a sigmoid layer
            W = rng.normal(0.0, 1.5 / np.sqrt(d), (d, m))
            b = rng.normal(0.0, 0.5, m)
            y = _labels(rng, n, m)
            label = text("check.case_last_layer", a_shape=(n, d), w_shape=(d, m), labels=y.tolist())
            cases.append(Case(label, {"a": a, "W": W, "b": b, "y": y}))
        return cases

    def call(self, student, case):
        d = case.data
        return student(d["a"].copy(), d["W"].copy(), d["b"].copy(), d["y"].copy())

    def judge(self, case, value, params):
        a, W, b, y = (case.data[k] for k in ("a", "W", "b", "y"))
        n, m = a.shape[0], W.shape[1]
        if not isinstance(value, tuple) or len(value) != 2:
            raise Reject(text("check.expected_grad_pair", what=self.what, w_shape=W.shape, b_shape=b.shape,
                              got=describe(value)))
        dW = reject_unless_array(value[0], W.shape, self.what + " -> dW")
        db = reject_unless_array(value[1], b.shape, self.what + " -> db")
        z = a @ W + b
        p, onehot = softmax(z), one_hot(y, m)
        dz = (p - onehot) / n
        factors = {"N": n}
        grad_W, noise_W = numeric.numerical_gradient(lambda v: mean_cross_entropy(a @ v + b, y), W, with_noise=True)
        score = compare(dW, grad_W, noise_W, what=self.what + " -> dW", factors=factors, mistakes={
            "last_weight_factor": W * dz.sum(axis=0),
            "last_no_softmax": a.T @ (z - onehot) / n,
            "fused_p_only": a.T @ p / n,
            "fused_diagonal_jacobian": a.T @ (-(1 - p) * onehot) / n,
        })
        grad_b, noise_b = numeric.numerical_gradient(lambda v: mean_cross_entropy(a @ W + v, y), b, with_noise=True)
        score = max(score, compare(db, grad_b, noise_b, what=self.what + " -> db", factors=factors, mistakes={
            "last_no_softmax": (z - onehot).sum(axis=0) / n,
            "fused_p_only": p.sum(axis=0) / n,
        }))
        reject_if_numerical(dW, a.T @ dz, noise_W, what=self.what + " -> dW")
        reject_if_numerical(db, dz.sum(axis=0), noise_b, what=self.what + " -> db")
        return score


check_last_layer_gradients = register(LastLayerGradients)
