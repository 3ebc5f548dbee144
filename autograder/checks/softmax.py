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

- ``check_softmax_ce_forward(SoftmaxCrossEntropy)`` and
  ``check_softmax_ce_backward(SoftmaxCrossEntropy)``: the two methods of the
  student's fused loss module, each graded alone (backward from a cache the
  check fills: ``self.p`` and ``self.y``);
- ``check_hand_step(hand_step)``: one gradient-descent step, by hand, on the
  sigmoid network Linear-Sigmoid-Linear-Sigmoid-Linear under that loss.

Where a student's answer calls their own ``softmax``, ``cross_entropy`` or
``SoftmaxCrossEntropy`` (earlier exercises), the check runs it with the
course's reference under those names, and a failure says so: one wrong early
exercise never fails a later one. Every check names float32 arithmetic, and
the checks on logits use rows far apart (one row +800, the next -800) and
rows whose own logits spread over 1600, so that a shift by the batch's
maximum, the row's mean or its minimum fails with its name.

Gradients are compared with central differences of reference forwards (the
library's softmax and cross-entropy, never the student's), with the error
score of CHECKS.md. Logits are N(0, 1.5^2) clipped to +-4, so no probability
is tiny; N > 1 and C != N, so a wrong axis cannot pass by shape; labels take
at least two values, so a row that uses another row's label is wrong.
"""

import contextlib
import re
import types

import numpy as np

from backproplab import layers as library_layers
from backproplab import numeric
from backproplab.jacobians import softmax_jacobian
from backproplab.layers import one_hot, softmax
from backproplab.messages import text

from .. import evidence
from ..contract import Case, Check, Reject, describe, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare, passes, reject_if_numerical
from .finite_differences import DIFFERENTIATORS

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


# What already does these exercises' work (see autograder.delegation).
SOFTMAX_DELEGATION = ("backproplab.layers.softmax", "backproplab.layers.Softmax.forward",
                      "backproplab.layers.SoftmaxCrossEntropy.forward", "scipy.special.softmax",
                      "scipy.special.log_softmax", "scipy.special.logsumexp")
LOSS_DELEGATION = ("backproplab.layers.SoftmaxCrossEntropy.forward", "backproplab.layers.SoftmaxCrossEntropy.backward")
BACKWARD_DELEGATION = ("backproplab.layers.SoftmaxCrossEntropy.backward", "backproplab.layers.Softmax.backward",
                       "backproplab.layers.Linear.backward", "backproplab.layers.Sigmoid.backward",
                       "backproplab.layers.Sequential.backward", "backproplab.layers.SGD.step")
EPSILONS = tuple(10.0 ** -k for k in range(3, 17))  # the eps students add inside a log


def _reference_softmax(z):
    """The course's softmax, row by row (a private copy: the library's is trapped while students run)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _reference_cross_entropy(p, y):
    """(L, dL/dp) of the mean cross-entropy of probabilities p (N, C) with labels y."""
    p = np.asarray(p, dtype=np.float64)
    n = len(y)
    rows = np.arange(n)
    dp = np.zeros_like(p)
    dp[rows, y] = -1.0 / (n * p[rows, y])
    return float(-np.mean(np.log(p[rows, y]))), dp


class _ReferenceLoss:
    """The fused loss module with the contract of the notebook's SoftmaxCrossEntropy."""

    def __init__(self):
        self.p = None
        self.y = None

    def forward(self, z, y):
        log_p = _log_softmax(np.asarray(z, dtype=np.float64))
        self.p, self.y = np.exp(log_p), np.asarray(y)
        return float(-log_p[np.arange(len(y)), y].mean())

    def backward(self, dout=1.0):
        dz = self.p.copy()
        dz[np.arange(len(self.y)), self.y] -= 1.0
        return dout * dz / len(self.y)


STAND_INS = {"softmax": _reference_softmax, "cross_entropy": _reference_cross_entropy,
             "SoftmaxCrossEntropy": _ReferenceLoss}


@contextlib.contextmanager
def _earlier_exercises_replaced(*functions, names=tuple(STAND_INS)):
    """Within the block, ``names`` in the globals of ``functions`` (the student's) are the course's references.

    An answer that calls the student's own softmax (an earlier exercise) is
    then graded on its own lines only.
    """
    saved = []
    for function in functions:
        namespace = getattr(function, "__globals__", None)
        if not isinstance(namespace, dict):
            continue
        for name in names:
            if name in namespace and callable(namespace[name]) and not any(
                    n is namespace and m == name for n, m, _ in saved):
                saved.append((namespace, name, namespace[name]))
                namespace[name] = STAND_INS[name]
    try:
        yield
    finally:
        for namespace, name, previous in reversed(saved):
            namespace[name] = previous


def _referenced(function, names):
    """The ``names`` the student's ``function`` refers to, directly or through their own helper functions."""
    namespace = getattr(function, "__globals__", None)
    if not isinstance(namespace, dict):
        return []
    found, seen, todo = set(), set(), [getattr(function, "__code__", None)]
    while todo:
        code = todo.pop()
        if not isinstance(code, types.CodeType) or code in seen or len(seen) > 200:
            continue
        seen.add(code)
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                todo.append(const)
        for name in code.co_names:
            if name in names:
                found.add(name)
            helper = namespace.get(name)
            if isinstance(helper, types.FunctionType) and helper.__globals__ is namespace:
                todo.append(helper.__code__)
    return [name for name in names if name in found]


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _float32(got, expected):
    """True when got holds float32 arithmetic's answer: its dtype, or every entry a float32 number, near expected."""
    got_items = got if isinstance(got, tuple) else (got,)
    expected_items = expected if isinstance(expected, tuple) else (expected,)
    marked = any(getattr(g, "original_dtype", "") in ("float32", "float16") for g in got_items)
    representable, fraction = True, False
    for g, e in zip(got_items, expected_items):
        g = np.asarray(g, dtype=np.float64)
        e = np.asarray(e, dtype=np.float64)
        if g.shape != e.shape or not np.all(np.isfinite(g)):
            return False
        if np.any(np.abs(g - e) > 1e-5 * np.abs(e) + 1e-7 * np.max(np.abs(e), initial=0.0)):
            return False
        if not np.array_equal(g.astype(np.float32).astype(np.float64), g):
            representable = False
        fraction = fraction or bool(np.any(g * 4096 != np.round(g * 4096)))
    return marked or (representable and fraction)


def _reject_float32(got, expected, what):
    if _float32(got, expected):
        raise Reject(text("check.single_precision", what=what))


def _reject_if_changed(after, before, what, name):
    """Reject unless the recorded array ``after`` still equals the caller's ``before``."""
    if not (isinstance(after, np.ndarray) and after.shape == before.shape and np.array_equal(after, before)):
        raise Reject(text("check.changed_caller_input", what=what, name=name))


def _unpack(value, count, what):
    if not (isinstance(value, tuple) and len(value) == count):
        raise Reject(text("check.malformed", why=f"expected {count} results"))
    return value


# numpy's words when an (N,) row statistic meets an (N, C) array: "shapes (4,3) (4,)", in either order
KEEPDIMS = re.compile(r"broadcast.*(\((\d+),\d+\)\s*\(\2,\)|\((\d+),\)\s*\(\3,\d+\))")


class _Named(Check):
    """A check of notebook 05: a dropped keepdims and the references it swapped in are named in its failures."""

    replaced = ()  # names of earlier exercises the check swaps for the course's references
    method = None  # the method of a student's class the check swaps them in for (None: the student's function)

    def collect(self, student, params):
        records, first_error = super().collect(student, params)
        function = getattr(student, self.method, None) if self.method else student
        calls = _referenced(function, self.replaced)
        if calls:  # the note on the references swapped in travels with the evidence, for the grader too
            for record in records:
                record["calls"] = calls
        return records, first_error

    def _judge_record(self, case, record, params):
        try:
            value = evidence.decode(record)
        except evidence.MalformedEvidence:
            value = None
        if isinstance(value, evidence.Raised) and value.type == "ValueError" and KEEPDIMS.search(value.message):
            raise Reject(text("check.softmax_keepdims", what=self.what, message=value.message))
        try:
            return super()._judge_record(case, record, params)
        except Reject as why:
            calls = record.get("calls") if isinstance(record, dict) else None
            if not (self.replaced and isinstance(calls, list) and calls):
                raise
            names = ", ".join(str(name) for name in calls if name in self.replaced)
            raise Reject(f"{why}\n" + text("check.earlier_replaced", names=names)) from None


def _shift_mistakes(z):
    """{mistake key: the softmax that shift gives}, NaN where it overflows or gives 0/0."""
    with np.errstate(all="ignore"):
        def shifted(c):
            e = np.exp(z - c)
            return e / e.sum(axis=1, keepdims=True)

        # the cases come in an order where no shift at all fails first (on a batch at +-800), so the
        # shifts that fail only on rows far apart are tried before it
        return {"softmax_global_max": shifted(z.max()), "softmax_row_mean": shifted(z.mean(axis=1, keepdims=True)),
                "softmax_row_min": shifted(z.min(axis=1, keepdims=True)), "softmax_global_mean": shifted(z.mean()),
                "softmax_naive": shifted(0.0)}


def _reject_nonfinite(got, z, what):
    """A result with NaN or inf entries: name the shift that gives exactly those, or say what overflow is."""
    if not (isinstance(got, np.ndarray) and got.shape == z.shape) or np.all(np.isfinite(got)):
        return
    bad = ~np.isfinite(got)
    for key, predicted in _shift_mistakes(z).items():
        ok = np.isfinite(predicted)
        if np.array_equal(bad, ~ok) and np.allclose(got[ok], predicted[ok], rtol=1e-6, atol=1e-12):
            raise Reject(text("mistake." + key))
    raise Reject(text("check.softmax_overflow", what=what))


def _reject_unshifted_log_sum(p, z):
    """p = exp(z - ln sum_j exp(z_j)) with nothing subtracted: inf - inf or ln 0 where the logits are large."""
    if not (isinstance(p, np.ndarray) and p.shape == z.shape) or np.all(np.isfinite(p)):
        return
    with np.errstate(all="ignore"):
        predicted = np.exp(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))
    ok = np.isfinite(predicted)
    if np.array_equal(~np.isfinite(p), ~ok) and np.allclose(p[ok], predicted[ok], rtol=1e-6, atol=1e-12):
        raise Reject(text("mistake.sce_log_sum_unshifted"))


def _far_apart_cases(rng, n, c):
    """Rows far apart (+800, -800, ...) and rows whose own logits spread from -800 to +800."""
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[:, None]
    apart = _logits(rng, (n, c)) + OFFSET * signs
    spread = _logits(rng, (n, c)) + np.array([rng.permutation(np.linspace(-OFFSET, OFFSET, c)) for _ in range(n)])
    return [(text("check.case_rows_apart", shape=(n, c), offset=OFFSET), apart),
            (text("check.case_rows_spread", shape=(n, c), spread=2 * OFFSET), spread)]


class Softmax(_Named):
    """softmax(z) returns p (N, C), p[n] = exp(z[n]) / sum_j exp(z[n, j]), without overflow, z unchanged."""

    name = "softmax"
    what = "softmax(z)"
    defaults = {"seed": 0, "n": 4, "c": 3}
    delegation = SOFTMAX_DELEGATION

    def cases(self, params):
        n, c = _check_sizes(params)
        rng = np.random.default_rng(params["seed"])
        cases = []
        for index, offset in enumerate((0.0, 0.0, OFFSET, -OFFSET)):
            z = _logits(rng, (n, c)) + offset
            label = (text("check.case_logits_offset", shape=(n, c), offset=offset) if offset
                     else text("check.case_logits", shape=(n, c), index=index))
            cases.append(Case(label, {"z": z, "offset": offset}))
        cases += [Case(label, {"z": z, "offset": OFFSET}) for label, z in _far_apart_cases(rng, n, c)]
        return cases

    def call(self, student, case):
        z = case.data["z"].copy()
        return _copy(student(z)), z

    def judge(self, case, value, params):
        z = case.data["z"]
        got, after = _unpack(value, 2, self.what)
        _reject_if_changed(after, z, self.what, "z")
        _reject_nonfinite(got, z, self.what)
        got = reject_unless_array(got, z.shape, self.what)
        expected = softmax(z)
        _reject_float32(got, expected, self.what)
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        with np.errstate(all="ignore"):
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


def _eps_named(loss, dp, p, y, what, atol=0.0):
    """Reject, naming it, an answer whose L or dp took ln(p + eps) or clipped p at eps.

    atol: the rounding a right answer may carry (logits near +-800 leave some); an eps whose
    effect is within it cannot be told from rounding and is not named. "Close" is
    np.allclose(answer, form, rtol=1e-14, atol): a few units in the last place, since
    eps = 1e-12 moves ln p by 1e-12 / p. dp is compared where the forms differ (the true
    classes) and must be within atol of zero elsewhere, which is the same test.
    """
    n = len(y)
    rows = np.arange(n)
    pr = np.asarray(p, dtype=np.float64)[rows, y]
    exact_loss, exact_dp = _reference_cross_entropy(p, y)
    exact_dp = exact_dp[rows, y]

    def close(a, b):  # np.isclose for two floats: equal infinities are close, nan is not
        return a == b or abs(a - b) <= atol + 1e-14 * abs(b)

    def all_close(a, b):
        with np.errstate(invalid="ignore"):
            return bool(np.all((a == b) | (np.abs(a - b) <= atol + 1e-14 * np.abs(b))))

    answer = np.asarray(loss)
    if answer.shape != () or answer.dtype.kind not in "biuf":
        return  # not a number: nothing to name here, the checks after say what came
    loss = float(answer)
    if dp is not None:
        dp = np.asarray(dp)
        if dp.shape != np.shape(p) or dp.dtype.kind not in "biuf":
            return
        elsewhere = np.ones(dp.shape, dtype=bool)
        elsewhere[rows, y] = False
        if not all_close(dp[elsewhere].astype(np.float64), 0.0):
            return  # no eps form puts anything off the true classes
        dp = dp[rows, y].astype(np.float64)
    loss_exact = close(loss, exact_loss)
    dp_exact = dp is None or all_close(dp, exact_dp)
    if loss_exact and dp_exact:
        return  # the exact answer, whatever an eps would have done

    for eps in EPSILONS:
        for form in (pr + eps, np.maximum(pr, eps)):
            if np.array_equal(form, pr):
                continue
            eps_loss = float(-np.mean(np.log(form)))
            eps_dp = None if dp is None else -1.0 / (n * form)
            if close(eps_loss, exact_loss) and (dp is None or all_close(eps_dp, exact_dp)):
                continue  # this eps changes nothing that rounding would not
            if (loss_exact or close(loss, eps_loss)) and (dp_exact or all_close(dp, eps_dp)):
                raise Reject(text("mistake.ce_log_eps", what=what))


class CrossEntropy(_Named):
    """cross_entropy(p, y) returns (L, dp): L = mean_n -ln p[n, y_n] and dp = dL/dp (N, C)."""

    name = "cross_entropy"
    what = "cross_entropy(p, y)"
    defaults = {"seed": 0, "n": 4, "c": 3, "count": 3}
    delegation = LOSS_DELEGATION + DIFFERENTIATORS

    def cases(self, params):
        n, c = _check_sizes(params)
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            p = softmax(_logits(rng, (n, c)))
            y = _labels(rng, n, c)
            label = text("check.case_probabilities", shape=(n, c), labels=y.tolist())
            cases.append(Case(label, {"p": p, "y": y}))
        # one true-class probability near 1e-14, where ln(p + eps) is far from ln p
        z, y = _logits(rng, (n, c)), _labels(rng, n, c)
        z[0, y[0]] = z[0].max() - 32.0
        cases.append(Case(text("check.case_probabilities_tiny", shape=(n, c), labels=y.tolist()),
                          {"p": softmax(z), "y": y}))
        return cases

    def call(self, student, case):
        p = case.data["p"].copy()
        result = student(p, case.data["y"].copy())
        if isinstance(result, tuple):
            result = tuple(_copy(v) for v in result)
        return result, p

    def judge(self, case, value, params):
        p, y = case.data["p"], case.data["y"]
        n, c = p.shape
        value, after = _unpack(value, 2, self.what)
        _reject_if_changed(after, p, self.what, "p")
        if not isinstance(value, tuple) or len(value) != 2:
            raise Reject(text("check.expected_loss_pair", what=self.what, shape=p.shape, got=describe(value)))
        rows = np.arange(n)
        onehot = one_hot(y, c)
        expected, exact_dp = _reference_cross_entropy(p, y)
        if isinstance(value[1], np.ndarray) and value[1].shape == p.shape:
            _reject_float32(value, (expected, exact_dp), self.what)
            _eps_named(value[0], value[1], p, y, self.what)
        loss = reject_unless_finite_number(value[0], self.what + " -> L")
        dp = reject_unless_array(value[1], p.shape, self.what + " -> dp")
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
        reject_if_numerical(dp, exact_dp, noise, what=self.what + " -> dp")
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


class LastLayerGradients(_Named):
    """last_layer_gradients(a, W, b, y) returns (dW, db) of L = mean cross-entropy of softmax(a W + b)."""

    name = "last_layer_gradients"
    what = "last_layer_gradients(a, W, b, y)"
    defaults = {"seed": 0, "n": 4, "d": 5, "m": 3, "count": 2}
    delegation = BACKWARD_DELEGATION + SOFTMAX_DELEGATION
    replaced = tuple(STAND_INS)

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
        with _earlier_exercises_replaced(student):
            result = student(d["a"].copy(), d["W"].copy(), d["b"].copy(), d["y"].copy())
        return tuple(_copy(v) for v in result) if isinstance(result, tuple) else result

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
        _reject_float32((dW, db), (a.T @ dz, dz.sum(axis=0)), self.what)
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


# -- the fused loss module, method by method -------------------------------------------------

class SoftmaxCEForward(_Named):
    """SoftmaxCrossEntropy().forward(z, y): L = mean_n -ln softmax(z)[n, y_n], finite; keeps self.p and self.y."""

    name = "softmax_ce_forward"
    what = "SoftmaxCrossEntropy.forward(z, y)"
    defaults = {"seed": 0, "n": 4, "c": 3, "count": 2}
    delegation = SOFTMAX_DELEGATION
    replaced = ("softmax",)
    method = "forward"

    def cases(self, params):
        n, c = _check_sizes(params)
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            z, y = _logits(rng, (n, c)), _labels(rng, n, c)
            cases.append(Case(text("check.case_logits_labels", shape=(n, c), labels=y.tolist()), {"z": z, "y": y}))
        for label, z in _far_apart_cases(rng, n, c):
            y = _labels(rng, n, c)
            cases.append(Case(f"{label}, y = {y.tolist()}", {"z": z, "y": y}))
        # the true class of row 0 sits 800 below its row's maximum: p underflows to 0, L does not
        z, y = _logits(rng, (n, c)), _labels(rng, n, c)
        z[0, y[0]] = z[0].max() - OFFSET
        cases.append(Case(text("check.case_true_class_far_below", shape=(n, c), labels=y.tolist(), offset=OFFSET),
                          {"z": z, "y": y}))
        return cases

    def call(self, student, case):
        z, y = case.data["z"].copy(), case.data["y"].copy()
        obj = student()
        with _earlier_exercises_replaced(getattr(student, "forward", None), names=self.replaced):
            loss = obj.forward(z, y)
        if isinstance(loss, np.ndarray) and loss.size == 1:
            loss = loss.reshape(())
        p, kept_y = getattr(obj, "p", None), getattr(obj, "y", None)
        kept_y = np.asarray(kept_y, dtype=np.float64) if isinstance(kept_y, np.ndarray) else kept_y
        return _copy(loss), _copy(p), _copy(kept_y), z

    def judge(self, case, value, params):
        z, y = case.data["z"], case.data["y"]
        n, c = z.shape
        loss, p, kept_y, after = _unpack(value, 4, self.what)
        _reject_if_changed(after, z, self.what, "z")
        log_p = _log_softmax(z)
        expected = float(-log_p[np.arange(n), y].mean())
        expected_p = np.exp(log_p)
        _reject_unshifted_log_sum(p, z)
        _reject_nonfinite(p, z, self.what + " -> self.p")  # a shift that overflows shows first in p
        if isinstance(loss, float) and isinstance(p, np.ndarray) and p.shape == z.shape:
            _reject_float32((loss, p), (expected, expected_p), self.what)
        if isinstance(loss, float) and np.isinf(loss) and np.any(expected_p[np.arange(n), y] == 0.0):
            raise Reject(text("mistake.ce_log_underflow"))
        if isinstance(loss, float) and np.isfinite(loss):
            _eps_named(loss, None, expected_p, y, self.what, atol=8 * numeric.EPS * (1 + np.max(np.abs(z))))
        loss = reject_unless_finite_number(loss, self.what + " -> L")
        picked = expected_p[np.arange(n), y]
        with np.errstate(all="ignore"):
            mistakes = {"layer_ce_log10": float(-np.mean(log_p[np.arange(n), y]) / np.log(10)),
                        "layer_ce_all_classes": float(-np.mean(log_p)),
                        "ce_all_classes": float(-np.mean(log_p.sum(axis=1))),
                        "ce_one_minus": float(-np.mean(np.log1p(-picked)))}
        score = compare(loss, expected, numeric.EPS * 8 * (1 + abs(expected)), what=self.what + " -> L",
                        mistakes=mistakes, factors={"N": n, "C": c})
        if not isinstance(p, np.ndarray):
            raise Reject(text("check.sce_no_cache", what=self.what, name="self.p", shape=(n, c)))
        p = reject_unless_array(p, z.shape, self.what + " -> self.p")
        score = max(score, compare(p, expected_p, 0.0, what=self.what + " -> self.p"))
        if not (isinstance(kept_y, np.ndarray) and kept_y.shape == y.shape and np.array_equal(kept_y, y)):
            raise Reject(text("check.sce_no_cache", what=self.what, name="self.y", shape=y.shape))
        return score


class SoftmaxCEBackward(_Named):
    """SoftmaxCrossEntropy.backward(dout): dL/dz times dout, from the cache self.p, self.y; the cache unchanged."""

    name = "softmax_ce_backward"
    what = "SoftmaxCrossEntropy.backward(dout)"
    defaults = {"seed": 0, "n": 4, "c": 3, "count": 3}
    delegation = BACKWARD_DELEGATION + DIFFERENTIATORS
    replaced = tuple(STAND_INS)
    method = "backward"

    def cases(self, params):
        n, c = _check_sizes(params)
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            z, y = _logits(rng, (n, c)), _labels(rng, n, c)
            dout = float(rng.uniform(1.3, 1.9))
            label = text("check.case_sce_backward", shape=(n, c), labels=y.tolist(), dout=dout)
            cases.append(Case(label, {"z": z, "y": y, "dout": dout}))
        return cases

    def call(self, student, case):
        z, y, dout = case.data["z"], case.data["y"], case.data["dout"]
        obj = student()
        p = softmax(z)
        obj.p, obj.y = p, y.copy()
        with _earlier_exercises_replaced(getattr(student, "backward", None)):
            first = _copy(obj.backward(dout))
            second = _copy(obj.backward())
        return first, second, p

    def judge(self, case, value, params):
        z, y, dout = case.data["z"], case.data["y"], case.data["dout"]
        n, c = z.shape
        first, second, p_after = _unpack(value, 3, self.what)
        p, onehot = softmax(z), one_hot(y, c)
        exact = dout * (p - onehot) / n
        if isinstance(first, np.ndarray) and first.shape == z.shape:
            _reject_float32(first, exact, self.what)
        dz = reject_unless_array(first, z.shape, self.what + " -> dz")
        grad, noise = numeric.numerical_vjp(lambda v: np.array([mean_cross_entropy(v, y)]), z, np.array([dout]),
                                            with_noise=True)
        columns = p.copy()
        columns[:, y] -= 1.0
        mistakes = {
            "layer_ce_ignored_upstream": (p - onehot) / n,
            "fused_p_only": dout * p / n,
            "fused_minus_one_everywhere": dout * (p - 1) / n,
            "fused_columns": dout * columns / n,
            "layer_ce_onehot_only": -dout * onehot / n,
            "sce_backward_is_dp": -dout * onehot / (n * p),
            "fused_by_c": dout * (p - onehot) / c,
        }
        try:
            score = compare(dz, grad, noise, what=self.what + " -> dz", mistakes=mistakes, factors={"N": n, "C": c})
        except Reject as exc:
            _with_row_hint(exc, dz, 0.0)
        reject_if_numerical(dz, exact, noise, what=self.what + " -> dz")
        if not (isinstance(p_after, np.ndarray) and np.array_equal(p_after, p)):
            raise Reject(text("check.sce_cache_changed", what=self.what))
        again = reject_unless_array(second, z.shape, self.what + " -> backward()")
        compare(again, (p - onehot) / n, noise / dout, what=self.what + " -> backward()",
                mistakes={"sce_default_dout": exact})
        return score


check_softmax_ce_forward = register(SoftmaxCEForward)
check_softmax_ce_backward = register(SoftmaxCEBackward)


# -- one gradient-descent step by hand -----------------------------------------------------------

def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _net_loss(params, x, y):
    W1, b1, W2, b2, W3, b3 = params
    h1 = _sigmoid(x @ W1 + b1)
    h2 = _sigmoid(h1 @ W2 + b2)
    return mean_cross_entropy(h2 @ W3 + b3, y)


def _net_gradients(params, x, y, mistake=None):
    """[dW1, db1, dW2, db2, dW3, db3] of the mean cross-entropy, or what one known mistake gives."""
    W1, b1, W2, b2, W3, b3 = params
    n = len(y)
    u1 = x @ W1 + b1
    h1 = _sigmoid(u1)
    u2 = h1 @ W2 + b2
    h2 = _sigmoid(u2)
    p = _reference_softmax(h2 @ W3 + b3)
    dz3 = (p - one_hot(y, W3.shape[1])) / n
    if mistake == "hand_p_only":
        dz3 = p / n
    prime2, prime1 = h2 * (1 - h2), h1 * (1 - h1)
    if mistake == "hand_no_sigmoid_prime":
        prime2, prime1 = np.ones_like(h2), np.ones_like(h1)
    if mistake == "hand_sigmoid_prime_on_input":
        prime2, prime1 = u2 * (1 - u2), u1 * (1 - u1)
    if mistake == "hand_sigmoid_prime_no_h":
        prime2, prime1 = 1 - h2, 1 - h1
    back3 = W3 if mistake == "hand_w_not_transposed" else W3.T
    dz2 = (dz3 @ back3) * prime2
    dz1 = (dz2 @ W2.T) * prime1
    grads = [x.T @ dz1, dz1.sum(axis=0), h1.T @ dz2, dz2.sum(axis=0), h2.T @ dz3, dz3.sum(axis=0)]
    if mistake == "hand_last_layer_only":
        grads[:4] = [np.zeros_like(g) for g in grads[:4]]
    if mistake == "hand_weight_factor":
        grads[4] = W3 * dz3.sum(axis=0)
    if mistake == "hand_first_sample":
        grads = [np.outer(x[0], dz1[0]), dz1[0], np.outer(h1[0], dz2[0]), dz2[0], np.outer(h2[0], dz3[0]), dz3[0]]
    if mistake == "hand_output_as_factor":
        grads[2], grads[4] = u1.T @ dz2, u2.T @ dz3
    return grads


HAND_MISTAKES = ("hand_p_only", "hand_no_sigmoid_prime", "hand_sigmoid_prime_on_input", "hand_sigmoid_prime_no_h",
                 "hand_w_not_transposed", "hand_last_layer_only", "hand_weight_factor", "hand_first_sample",
                 "hand_output_as_factor")
PARAM_NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


class HandStep(_Named):
    """hand_step(params, x, y, lr): the six arrays after one descent step on the mean cross-entropy of the
    network Linear-Sigmoid-Linear-Sigmoid-Linear, computed by hand; params unchanged."""

    name = "hand_step"
    what = "hand_step(params, x, y, lr)"
    defaults = {"seed": 0, "n": 5, "sizes": [4, 4, 3, 3], "count": 2}
    delegation = BACKWARD_DELEGATION + SOFTMAX_DELEGATION
    replaced = tuple(STAND_INS)

    def cases(self, params):
        sizes = [int(s) for s in params["sizes"]]
        n = int(params["n"])
        if len(sizes) != 4 or min(sizes) < 2 or n < 2 or n == sizes[-1]:
            raise ValueError(f"hand_step needs 4 sizes >= 2 and n >= 2, n != C; got sizes {sizes}, n = {n}")
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            weights = []
            for d_in, d_out in zip(sizes[:-1], sizes[1:]):
                weights += [rng.normal(0.0, 1.5 / np.sqrt(d_in), (d_in, d_out)), rng.normal(0.0, 0.5, d_out)]
            x = rng.normal(0.0, 1.0, (n, sizes[0]))
            y = _labels(rng, n, sizes[-1])
            lr = float(rng.uniform(0.2, 0.6))
            label = text("check.case_hand_step", sizes="-".join(map(str, sizes)), n=n, labels=y.tolist(), lr=lr)
            cases.append(Case(label, {"params": weights, "x": x, "y": y, "lr": lr}))
        return cases

    def call(self, student, case):
        d = case.data
        params = [w.copy() for w in d["params"]]
        x, y = d["x"].copy(), d["y"].copy()
        with _earlier_exercises_replaced(student):
            new = student(params, x, y, d["lr"])
        if isinstance(new, (list, tuple)):
            new = tuple(_copy(w) for w in new)
        return new, tuple(params), x

    def judge(self, case, value, params):
        d = case.data
        before, x, y, lr = d["params"], d["x"], d["y"], d["lr"]
        new, kept, x_after = _unpack(value, 3, self.what)
        _reject_if_changed(x_after, x, self.what, "x")
        for name, w, k in zip(PARAM_NAMES, before, kept if isinstance(kept, tuple) else ()):
            _reject_if_changed(k, w, self.what, f"params ({name})")
        if not (isinstance(new, tuple) and len(new) == 6):
            raise Reject(text("check.hand_step_result", what=self.what, got=describe(new)))
        exact = _net_gradients(before, x, y)
        expected_new = [w - lr * g for w, g in zip(before, exact)]
        got_new = [reject_unless_array(w, b.shape, f"{self.what} -> {name}")
                   for name, w, b in zip(PARAM_NAMES, new, before)]
        _reject_float32(tuple(got_new), tuple(expected_new), self.what)
        predicted = {}
        for key in HAND_MISTAKES:
            try:
                predicted[key] = _net_gradients(before, x, y, key)
            except ValueError:  # a mistake that these sizes make impossible (dz W3 with W3 not square)
                pass
        score = 0.0
        for k in (4, 5, 2, 3, 0, 1):  # the last layer first: the backward pass's order
            name = PARAM_NAMES[k]
            got = (before[k] - got_new[k]) / lr  # the gradient this step used
            rounding = numeric.EPS * (np.abs(before[k]) + np.abs(got_new[k])) / lr

            def loss_of(v, k=k):
                trial = list(before)
                trial[k] = v
                return _net_loss(trial, x, y)

            grad, noise = numeric.numerical_gradient(loss_of, before[k], with_noise=True)
            mistakes = {"hand_plus": -exact[k]}
            mistakes.update({key: g[k] for key, g in predicted.items() if not np.allclose(g[k], exact[k])})
            what = text("check.hand_step_param", what=self.what, name=name)
            score = max(score, compare(got, grad, noise + rounding, what=what, mistakes=mistakes,
                                       factors={"N": len(y)}))
            # the step's own rounding, (w - lr g) - w, is no sign of finite differences: allow all of it
            reject_if_numerical(got, exact[k], noise + 100 * rounding, what=what)
        return score


check_hand_step = register(HandStep)


# -- the training loop ---------------------------------------------------------------------------

DATA_NAMES = ("X_train", "y_train", "X_test", "y_test")


@contextlib.contextmanager
def _data_replaced(function, data):
    """Within the block, the data names a student's loop reads from its globals are the check's."""
    namespace = getattr(function, "__globals__", None)
    saved = {}
    if isinstance(namespace, dict):
        for name, value in data.items():
            saved[name] = namespace.get(name, _MISSING)
            namespace[name] = value
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value


_MISSING = object()


def _small_net(sizes, seed):
    model = library_layers.Sequential(library_layers.Linear(sizes[0], sizes[1], seed), library_layers.Sigmoid(),
                                      library_layers.Linear(sizes[1], sizes[2], seed + 1))
    for param, _ in model.parameters():  # non-zero biases, so that a bias left out shows
        param += np.random.default_rng(seed + 2).normal(0.0, 0.3, param.shape)
    return model


def _reference_training(data, sizes, seed, epochs, lr, order="shuffle", record_first=True, batch="one"):
    """(final parameters, history) of the course's loop, or of one known mistake in it."""
    model, loss = _small_net(sizes, seed), _ReferenceLoss()
    X, y, X_test, y_test = (data[k] for k in DATA_NAMES)
    rng = np.random.default_rng(seed)
    history = {"train_loss": [], "test_loss": [], "train_acc": [], "test_acc": []}
    fixed = rng.permutation(len(y)) if order == "once" else None
    for epoch in range(epochs + 1):
        if epoch > 0:
            if batch == "all":
                loss.forward(model.forward(X), y)
                model.backward(loss.backward())
                for param, grad in model.parameters():
                    param -= lr * grad
            else:
                indices = {"shuffle": lambda: rng.permutation(len(y)), "none": lambda: np.arange(len(y)),
                           "once": lambda: fixed}[order]()
                for i in indices:
                    loss.forward(model.forward(X[i:i + 1]), y[i:i + 1])
                    model.backward(loss.backward())
                    for param, grad in model.parameters():
                        param -= lr * grad
        if epoch > 0 or record_first:
            for part, X_part, y_part in (("train", X, y), ("test", X_test, y_test)):
                scores = model.forward(X_part)
                history[part + "_loss"].append(loss.forward(scores, y_part))
                history[part + "_acc"].append(float(np.mean(np.argmax(scores, axis=1) == y_part)))
    return [p.copy() for p, _ in model.parameters()], history


class SGDTraining(_Named):
    """train(model, loss, epochs, lr, rng): one sample per step, a new order from rng every epoch, history of epochs + 1."""

    name = "sgd_training"
    what = "train(model, loss, epochs, lr, rng)"
    defaults = {"seed": 0, "n": 12, "sizes": [4, 5, 3], "epochs": 2, "lr": 0.3}
    delegation = ("backproplab.training.train", "backproplab.training.batches")

    def cases(self, params):
        sizes, n = [int(s) for s in params["sizes"]], int(params["n"])
        if len(sizes) != 3 or min(sizes) < 2 or n < 8 or int(params["epochs"]) < 2:
            # one epoch cannot tell a fresh order per epoch from one order for all, and with few samples
            # two orders drawn in a row can coincide (1 in 4! for 4 samples, 1 in 8! for 8)
            raise ValueError(f"sgd_training needs 3 sizes >= 2, n >= 8 and epochs >= 2; got {sizes}, n = {n}, "
                             f"epochs = {params['epochs']}")
        rng = np.random.default_rng([params["seed"], 5])
        data = {"X_train": rng.normal(0.0, 1.0, (n, sizes[0])), "y_train": _labels(rng, n, sizes[-1]),
                "X_test": rng.normal(0.0, 1.0, (n // 2, sizes[0])), "y_test": _labels(rng, n // 2, sizes[-1])}
        label = text("check.case_training", sizes="-".join(map(str, sizes)), n=n, epochs=params["epochs"],
                     lr=params["lr"], seed=params["seed"])
        return [Case(label, {"data": data, "sizes": sizes, "epochs": int(params["epochs"]),
                             "lr": float(params["lr"]), "seed": int(params["seed"])})]

    def call(self, student, case):
        d = case.data
        model = _small_net(d["sizes"], d["seed"])
        data = {k: v.copy() for k, v in d["data"].items()}
        with _data_replaced(student, data):
            history = student(model, _ReferenceLoss(), d["epochs"], d["lr"], np.random.default_rng(d["seed"]))
        params = tuple(p.copy() for p, _ in model.parameters())
        if not isinstance(history, dict):
            return params, history
        lists = tuple(np.asarray(history.get(k, []), dtype=np.float64)
                      for k in ("train_loss", "test_loss", "train_acc", "test_acc"))
        return params, lists

    def judge(self, case, value, params):
        d = case.data
        got_params, lists = _unpack(value, 2, self.what)
        expected_params, history = _reference_training(d["data"], d["sizes"], d["seed"], d["epochs"], d["lr"])
        if not isinstance(lists, tuple) or len(lists) != 4:
            raise Reject(text("check.training_history", what=self.what, count=d["epochs"] + 1, got=describe(lists)))
        for key, got in zip(("train_loss", "test_loss", "train_acc", "test_acc"), lists):
            if not (isinstance(got, np.ndarray) and got.shape == (d["epochs"] + 1,)):
                raise Reject(text("check.training_history", what=self.what, count=d["epochs"] + 1,
                                  got=f"{key}: {describe(got)}"))
        variants = {"training_no_shuffle": {"order": "none"}, "training_order_once": {"order": "once"},
                    "training_full_batch": {"batch": "all"}}
        got_flat = np.concatenate([np.ravel(p) for p in got_params])
        expected_flat = np.concatenate([np.ravel(p) for p in expected_params])

        def mistakes():  # three more trainings: replayed only to name what went wrong in a failing answer
            named = {key: np.concatenate([np.ravel(p) for p in _reference_training(
                d["data"], d["sizes"], d["seed"], d["epochs"], d["lr"], **how)[0]]) for key, how in variants.items()}
            named["training_no_step"] = np.concatenate([np.ravel(p) for p, _ in
                                                        _small_net(d["sizes"], d["seed"]).parameters()])
            return named

        noise = 1e3 * numeric.EPS * (np.abs(expected_flat) + 1.0)  # the same steps in another order of sums
        score = compare(got_flat, expected_flat, noise, what=text("check.training_params", what=self.what),
                        mistakes=mistakes)
        for key, got in zip(("train_loss", "test_loss", "train_acc", "test_acc"), lists):
            expected = np.asarray(history[key])
            score = max(score, compare(got, expected, 1e3 * numeric.EPS * (np.abs(expected) + 1.0),
                                       what=f"{self.what} -> {key}"))
        return score


check_sgd_training = register(SGDTraining)
