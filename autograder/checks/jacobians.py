"""Checks of the exercises of notebook 06, Jacobians.

Entries of every array are numbered row by row (C order), as ``np.ravel`` does.

- ``check_numerical_jacobian(numerical_jacobian, n=4)``: the student's
  ``numerical_jacobian(f, x, h)`` must equal the library's central-difference
  Jacobian at the same h, shape (f(x).size, x.size), and leave x unchanged.
  The functions are those of :data:`backproplab.functions.TO_VECTOR` on x
  (n,) ("pairs" has 2n - 1 outputs, so a transpose cannot pass by shape) and
  tanh(X A) on a matrix X (2, n); large steps tell a one-sided difference or an
  ignored h apart.
- ``check_linear_jacobians(linear_jacobians, n=3, d=4, m=2)``: the pair
  (d a/dx (N M, N D), d a/dW (N M, D M)) of a = x W + b, against central
  differences of a reference forward, and exact (not numerical).
- ``check_softmax_batch_jacobian(softmax_batch_jacobian, n=3, c=4)``: d p/dz
  (N C, N C) of p = softmax(z) row by row: one block diag(p) - p p^T per row;
  one case has logits near LARGE, where a softmax without the max shift gives NaN.
- ``check_dense_vjp(dense_vjp, n=4, d=5, m=3, big=[24, 30, 20])``: (dx, dW, db)
  = dout J for out = sigmoid(x W + b), against central differences with a
  random dout; on a batch of size ``big`` = [N, D, M] by value and by the
  peak memory of the call, which must stay below :data:`MEMORY_ARRAYS` times
  the bytes of the inputs: forming a Jacobian (or the diagonal matrix of the
  sigmoid's slopes) takes far more.
- ``check_softmax_vjp(softmax_vjp, n=4, c=3, big=[40, 24])``: dz = dout d p/dz
  row by row, (N, C), also near LARGE, and its peak memory on a batch of size ``big``.
- ``check_network_jacobian(network_jacobian, n=3, widths=[3, 4, 2],
  hidden="sigmoid", top="softmax")``: (J, [(J_W, J_b) per Linear]) of a list
  of library modules Linear(w0, w1), hidden, Linear(w1, w2), ..., top, for
  the output z_K with respect to x and to each Linear's W and b. With a
  softmax on top, the last case raises the last Linear's bias by LARGE.
- ``check_network_vjp(network_vjp, ..., big=[128, 6])``: (deltas, [(dW, db)
  per Linear]) with deltas[k] = dc/dz_k for a random dout = dc/dz_K, and the
  peak memory on a network of width big[1] and a batch of big[0] (a tall
  batch: a Jacobian grows as (N width)^2, the limit as N width + width^2).
- ``check_network_jvp(network_jvp, ..., big=[128, 6])``: J u in z_K's shape
  for a random u, and the peak memory as above.

Every answer is judged against references the student cannot change; an
answer computed with finite differences where the exercise wants the exact
derivative is rejected, float32 arithmetic is named, and an answer that calls
what the exercise asks for (``delegation``, or a module's ``backward`` in the
network checks) earns nothing.
"""

import numpy as np

from backproplab import cost, functions, jacobians, numeric
from backproplab.layers import Linear, ReLU, Sigmoid, Softmax, Tanh, softmax
from backproplab.messages import text

from .. import delegation as _delegation
from ..contract import Case, Check, Reject, describe, register, reject_unless_array
from ..diagnose import compare, reject_if_numerical
from .gradients import unchanged

FUNCTIONS = ("pairs", "tanh", "matrix", "softmax")  # softmax ignores a common shift: not first at seed 1
STEPS = (1e-1, 1e-2, 1e-3)
MEMORY_ARRAYS = 32  # the peak allowed: this many arrays the size of the inputs together
LARGE = 800.0  # logits this large overflow exp (exp(800) is inf): a softmax without the max shift gives NaN

# What already computes a derivative numerically, or a Jacobian or a VJP of the course's layers.
DIFFERENTIATORS = (
    "backproplab.numeric.central_difference",
    "backproplab.numeric.forward_difference",
    "backproplab.numeric.numerical_gradient",
    "backproplab.numeric.numerical_jacobian",
    "backproplab.numeric.numerical_vjp",
    "backproplab.numeric.numerical_directional",
    "scipy.differentiate.derivative",
    "scipy.differentiate.jacobian",
    "scipy.optimize.approx_fprime",
    "numpy.gradient",
)
JACOBIANS = tuple(f"backproplab.jacobians.{name}" for name in (
    "linear_jacobian_input", "linear_jacobian_weights", "linear_jacobian_bias", "elementwise_jacobian",
    "sigmoid_slope", "sigmoid_jacobian", "softmax_jacobian", "dense_jacobians", "vjp_materialised", "dense_vjp"))
# The library's backward passes: trapped while a network check calls the student's function
# (the student's cell names the module classes, so they cannot be listed for the source scan).
BACKWARDS = tuple(f"backproplab.layers.{name}.backward" for name in (
    "Linear", "Sigmoid", "Tanh", "ReLU", "Softmax", "Sequential"))
ALL = DIFFERENTIATORS + JACOBIANS


# -- helpers ------------------------------------------------------------------------------------------

def _tuple(value, count, what, names):
    """``value`` as a tuple of ``count`` items, or Reject naming what should come back."""
    if not isinstance(value, tuple) or len(value) != count:
        raise Reject(text("check.jac_expected_tuple", what=what, count=count, names=names, got=describe(value)))
    return value


def _items(value, count, what, name):
    """``value`` (a list or tuple, decoded as a tuple) of ``count`` items, or Reject."""
    if not isinstance(value, tuple) or len(value) != count:
        raise Reject(text("check.jac_expected_list", what=what, name=name, count=count, got=describe(value)))
    return value


def _unsaturated(rng, shape):
    return np.clip(rng.normal(0.0, 1.0, size=shape), -3.0, 3.0)


def _logits(rng, shape):
    return np.clip(rng.normal(0.0, 1.5, size=shape), -4.0, 4.0)


def _in_float32(got):
    """True when every entry of ``got`` is a float32 number (and not all are 0): computed in float32."""
    g = np.asarray(got, dtype=np.float64)
    return bool(np.any(g != 0) and np.array_equal(g.astype(np.float32).astype(np.float64), g))


def _float32_explains(got, expected, exact=None):
    """True when ``got`` holds float32 numbers within float32's reach of the reference (and it does not)."""
    reference = expected if exact is None else exact
    scale = np.max(np.abs(expected), initial=0.0)
    return (_in_float32(got) and not _in_float32(reference)
            and bool(np.max(np.abs(np.asarray(got) - expected), initial=0.0) <= 1e-3 * scale))


def _reject_overflow(value, what):
    """A named rejection of NaN or infinite entries, on a case of large logits: exp overflowed."""
    try:
        got = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return
    if got.size and not np.all(np.isfinite(got)):
        raise Reject(text("check.softmax_overflow", what=what))


def _array(value, shape, what):
    """reject_unless_array, and a named rejection of float32 (or float16) results."""
    dtype = str(getattr(value, "original_dtype", getattr(value, "dtype", "")))
    got = reject_unless_array(value, shape, what)
    if dtype in ("float32", "float16"):
        raise Reject(text("check.jac_single_precision", what=what, dtype=dtype))
    return got


def _judge(got, expected, noise, *, what, exact=None, mistakes=None, factors=None):
    """compare (and, with ``exact``, reject_if_numerical), naming float32 arithmetic where it explains a failure."""
    float32 = _float32_explains(got, expected, exact)
    try:
        score = compare(got, expected, noise, what=what, mistakes=mistakes, factors=factors)
        if exact is not None:
            reject_if_numerical(got, exact, noise, what=what)
    except Reject:
        if float32:
            raise Reject(text("check.jac_single_precision", what=what, dtype="float32")) from None
        raise
    return score


def _order(shape, order):
    """The C-order indices of an array of ``shape`` listed in ``order`` ("F": column by column)."""
    return np.arange(int(np.prod(shape))).reshape(shape).ravel(order=order)


# -- the numerical Jacobian ---------------------------------------------------------------------------

def _matrix_function(A):
    return lambda X: np.tanh(X @ A)


class NumericalJacobian(Check):
    """numerical_jacobian(f, x, h) returns the central-difference Jacobian (f(x).size, x.size), C order."""

    name = "numerical_jacobian"
    what = "numerical_jacobian(f, x, h)"
    defaults = {"seed": 0, "count": 4, "n": 4}
    delegation = DIFFERENTIATORS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, cases = params["n"], []
        for i in range(params["count"]):
            name = FUNCTIONS[(i + params["seed"]) % len(FUNCTIONS)]
            h = STEPS[(i + params["seed"] // len(FUNCTIONS)) % len(STEPS)]
            if name == "matrix":
                x, A = rng.uniform(-1.5, 1.5, (2, n)), rng.normal(0.0, 1.0 / np.sqrt(n), (n, 3))
                label = text("check.jac_case_matrix", index=i, n=n, h=h)
                cases.append(Case(label, {"function": name, "x": x, "A": A, "h": h}))
                continue
            function = functions.TO_VECTOR[name]
            x = function.sample(rng, n).astype(np.float64)
            label = text("check.jac_case_function", function=name, index=i, n=n, m=function.out_size(n), h=h)
            cases.append(Case(label, {"function": name, "x": x, "h": h}))
        return cases

    @staticmethod
    def _f(data):
        if data["function"] == "matrix":
            return _matrix_function(data["A"])
        return functions.TO_VECTOR[data["function"]].forward

    def call(self, student, case):
        x = case.data["x"].copy()
        jac = student(self._f(case.data), x, case.data["h"])
        return jac, x  # x as the student's function left it

    def judge(self, case, value, params):
        f, x, h = self._f(case.data), case.data["x"], case.data["h"]
        jac, x_after = _tuple(value, 2, self.what, "(J, x)")
        unchanged(x, x_after, self.what, "x", tol=1e-12)
        expected, noise = numeric.numerical_jacobian(f, x, h, with_noise=True)
        got = _array(jac, expected.shape, self.what)
        f0 = np.ravel(f(x))
        forward = np.column_stack([(np.ravel(f(x + h * e.reshape(x.shape))) - f0) / h for e in np.eye(x.size)])
        first = np.zeros_like(expected)
        first[:, 0] = expected[:, 0]
        mistakes = {
            "jac_aliased": np.zeros_like(expected),
            "jac_aliased_half": forward / 2,
            "forward_difference": forward,
            "ignored_h": numeric.numerical_jacobian(f, x),
            "jac_all_at_once": np.tile(numeric.numerical_directional(f, x, np.ones_like(x), h).ravel()[:, None], x.size),
            "jac_first_column": first,
        }
        if x.ndim == 2:
            out_shape = np.shape(f(x))
            mistakes["jac_column_major"] = expected[np.ix_(_order(out_shape, "F"), _order(x.shape, "F"))]
        return _judge(got, expected, noise, what=self.what, mistakes=mistakes)


# -- the two Jacobians of a Linear layer ------------------------------------------------------------------

class LinearJacobians(Check):
    """linear_jacobians(x, W) returns (d a/dx (N M, N D), d a/dW (N M, D M)) of a = x W + b."""

    name = "linear_jacobians"
    what = "linear_jacobians(x, W)"
    defaults = {"seed": 0, "count": 2, "n": 3, "d": 4, "m": 2}
    delegation = ALL

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, d, m = params["n"], params["d"], params["m"]
        cases = []
        for i in range(params["count"]):
            data = {"x": rng.normal(size=(n, d)), "W": rng.normal(size=(d, m)), "b": rng.normal(size=m)}
            cases.append(Case(text("check.jac_case_linear", index=i, n=n, d=d, m=m), data))
        return cases

    def call(self, student, case):
        return student(case.data["x"].copy(), case.data["W"].copy())

    def judge(self, case, value, params):
        x, W, b = case.data["x"], case.data["W"], case.data["b"]
        n, d = x.shape
        m = W.shape[1]
        jx, jw = _tuple(value, 2, self.what, "(J_x, J_W)")
        exact_w = jacobians.linear_jacobian_weights(x, m)
        worst = 0.0
        for got, wrt, exact, mistakes in [
            (jx, "x", jacobians.linear_jacobian_input(W, n),
             {"jac_tiled": np.tile(W.T, (n, n)), "jac_x_column_major": np.kron(W.T, np.eye(n)),
              "jac_x_reshaped": np.kron(np.eye(n), W.reshape(m, d))}),
            (jw, "W", exact_w,
             {"jac_w_column_major": exact_w[:, _order((d, m), "F")],
              "jac_weights_one_row": np.kron(np.tile(x[:1], (n, 1)), np.eye(m))}),
        ]:
            what = text("check.jac_part", what=self.what, part=f"d a/d{wrt}")
            arg = x if wrt == "x" else W
            forward = (lambda v: v @ W + b) if wrt == "x" else (lambda v: x @ v + b)
            expected, noise = numeric.numerical_jacobian(forward, arg, with_noise=True)
            got = _array(got, expected.shape, what)
            worst = max(worst, _judge(got, expected, noise, what=what, exact=exact, mistakes=mistakes))
        return worst


# -- the Jacobian of softmax over a batch ------------------------------------------------------------------

def _blocks(blocks):
    """The block-diagonal matrix of square blocks."""
    size = sum(len(block) for block in blocks)
    out, at = np.zeros((size, size)), 0
    for block in blocks:
        k = len(block)
        out[at:at + k, at:at + k] = block
        at += k
    return out


def softmax_batch_jacobian(z):
    """Reference: d p/dz (N C, N C) of p = softmax(z) row by row, one block per row."""
    return _blocks([jacobians.softmax_jacobian(row) for row in np.asarray(z, dtype=np.float64)])


class SoftmaxBatchJacobian(Check):
    """softmax_batch_jacobian(z) returns d p/dz (N C, N C) of p = softmax(z) row by row."""

    name = "softmax_batch_jacobian"
    what = "softmax_batch_jacobian(z)"
    defaults = {"seed": 0, "count": 2, "n": 3, "c": 4}
    delegation = ALL + ("backproplab.layers.Softmax.backward",)

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, c = params["n"], params["c"]
        cases = []
        while len(cases) < params["count"]:
            z = _logits(rng, (n, c))
            # distinct probabilities within each row, so that a formula with i and j swapped cannot pass
            if c > 1 and np.min(np.diff(np.sort(z, axis=1), axis=1)) < 0.05:
                continue
            cases.append(Case(text("check.jac_case_softmax_batch", index=len(cases), n=n, c=c), {"z": z}))
        z = _logits(rng, (n, c))
        cases.append(Case(text("check.jac_case_softmax_large", n=n, c=c, offset=LARGE), {"z": z + LARGE, "offset": LARGE}))
        return cases

    def call(self, student, case):
        return student(case.data["z"].copy())

    def judge(self, case, value, params):
        if case.data.get("offset"):
            _reject_overflow(value, self.what)
        z = case.data["z"] - case.data.get("offset", 0.0)  # the same Jacobian: softmax ignores a shift of a row
        n, c = z.shape
        expected, noise = numeric.numerical_jacobian(softmax, z, with_noise=True)
        got = _array(value, expected.shape, self.what)
        p = softmax(z)
        flat = p.ravel()
        whole = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        mistakes = {
            "diagonal_only": np.diag(flat * (1 - flat)),
            "jac_rows_mixed": np.diag(flat) - np.outer(flat, flat),
            "jac_softmax_no_delta": _blocks([-np.outer(row, row) for row in p]),
            "jac_softmax_plus": _blocks([np.diag(row) + np.outer(row, row) for row in p]),
            "jac_softmax_same_index": _blocks([row[:, None] * (np.eye(c) - row[:, None]) for row in p]),
            "jac_softmax_of_logits": _blocks([np.diag(row) - np.outer(row, row) for row in z]),
            "jac_softmax_whole_batch": _blocks([np.diag(row) - np.outer(row, row) for row in whole]),
            "jac_column_major": expected[np.ix_(_order(z.shape, "F"), _order(z.shape, "F"))],
        }
        return _judge(got, expected, noise, what=self.what, exact=softmax_batch_jacobian(z), mistakes=mistakes)


# -- vector-Jacobian products that never form the Jacobian -------------------------------------------------

def _dense_forward_of(k, x, W, b):
    """The library's sigmoid(x W + b) as a function of x (k = 0), W (k = 1) or b (k = 2) alone."""
    if k == 0:
        return lambda v: jacobians.dense_forward(v, W, b)
    if k == 1:
        return lambda v: jacobians.dense_forward(x, v, b)
    return lambda v: jacobians.dense_forward(x, W, v)


def memory_limit(n, d, m):
    """The peak bytes allowed to dense_vjp on a batch (n, d, m): MEMORY_ARRAYS times its inputs' bytes."""
    return MEMORY_ARRAYS * 8 * (n * d + d * m + m + n * m)


def _peak(student, args):
    """(result, smaller of two peaks): a one-off allocation outside the student's code is not counted."""
    peaks = []
    for _ in range(2):
        result, peak = cost.peak_memory(student, *[a.copy() for a in args])
        peaks.append(peak)
    return result, float(min(peaks))


class DenseVJP(Check):
    """dense_vjp(dout, x, W, b) returns (dx, dW, db) = dout J for out = sigmoid(x W + b), without forming J."""

    name = "dense_vjp"
    what = "dense_vjp(dout, x, W, b)"
    defaults = {"seed": 0, "count": 2, "n": 4, "d": 5, "m": 3, "big": [24, 30, 20]}
    delegation = ALL + BACKWARDS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        sizes = [(params["n"], params["d"], params["m"])] * params["count"] + [tuple(params["big"])]
        for i, (n, d, m) in enumerate(sizes):
            big = i == params["count"]
            data = {"x": _unsaturated(rng, (n, d)), "W": rng.normal(0.0, 1.0 / np.sqrt(d), (d, m)),
                    "b": _unsaturated(rng, m), "dout": rng.normal(size=(n, m)), "big": big}
            label = (text("check.jac_case_vjp_big", n=n, d=d, m=m) if big
                     else text("check.jac_case_vjp", index=i, n=n, d=d, m=m))
            cases.append(Case(label, data))
        return cases

    def call(self, student, case):
        args = [case.data[k].copy() for k in ("dout", "x", "W", "b")]
        if not case.data["big"]:
            return student(*args), args[0], args[1]  # dout and x as the student's function left them
        return _peak(student, args)

    def judge(self, case, value, params):
        dout, x, W, b = (case.data[k] for k in ("dout", "x", "W", "b"))
        n, d = x.shape
        m = W.shape[1]
        peak = None
        if case.data["big"]:
            value, peak = _tuple(value, 2, self.what, "(result, peak)")
        else:
            value, dout_after, x_after = _tuple(value, 3, self.what, "(result, dout, x)")
            unchanged(dout, dout_after, self.what, "dout")
            unchanged(x, x_after, self.what, "x")
        grads = _tuple(value, 3, self.what, "(dx, dW, db)")
        exact = jacobians.dense_vjp(dout, x, W, b)
        slope = jacobians.sigmoid_slope(x @ W + b)
        a = x @ W + b
        s = functions.sigmoid(a)
        no_bias = jacobians.dense_vjp(dout, x, W, np.zeros_like(b))
        worst = 0.0
        for k, (name, arg) in enumerate([("dx", x), ("dW", W), ("db", b)]):
            what = text("check.jac_part", what=self.what, part=name)
            got = _array(grads[k], arg.shape, what)
            if case.data["big"]:
                expected, noise = exact[k], 0.0
            else:
                expected, noise = numeric.numerical_vjp(_dense_forward_of(k, x, W, b), arg, dout, with_noise=True)
            mistakes = {"jac_missing_slope": jacobians.dense_vjp(dout / slope, x, W, b)[k],
                        "slope_is_sigmoid": jacobians.dense_vjp(dout * s / slope, x, W, b)[k],
                        "jac_slope_formula_at_input": jacobians.dense_vjp(dout * a * (1 - a) / slope, x, W, b)[k],
                        "jac_forgot_bias": no_bias[k]}
            worst = max(worst, _judge(got, expected, noise, what=what, mistakes=mistakes, factors={"N": n},
                                      exact=None if case.data["big"] else exact[k]))
        if peak is not None and peak > memory_limit(n, d, m):
            jacobian_bytes = 8 * (n * m) * (n * d + d * m + m)
            raise Reject(text("check.jac_memory", what=self.what, peak=peak / 1e6,
                              limit=memory_limit(n, d, m) / 1e6, jacobian=jacobian_bytes / 1e6))
        return worst


def softmax_vjp(dout, z):
    """Reference: dout times the Jacobian of p = softmax(z), row by row; (N, C)."""
    p = softmax(z)
    return p * (dout - np.sum(dout * p, axis=1, keepdims=True))


class SoftmaxVJP(Check):
    """softmax_vjp(dout, z) returns dz = dout d p/dz (N, C) for p = softmax(z), without forming d p/dz."""

    name = "softmax_vjp"
    what = "softmax_vjp(dout, z)"
    defaults = {"seed": 0, "count": 2, "n": 4, "c": 3, "big": [40, 24]}
    delegation = ALL + BACKWARDS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, c = params["n"], params["c"]
        sizes = [(n, c)] * (params["count"] + 1) + [tuple(params["big"])]
        cases = []
        for i, (n, c) in enumerate(sizes):
            big, large = i == params["count"] + 1, i == params["count"]
            data = {"z": _logits(rng, (n, c)), "dout": rng.normal(size=(n, c)), "big": big}
            label = text("check.jac_case_softmax_vjp", index=i, n=n, c=c)
            if big:
                label = text("check.jac_case_softmax_vjp_big", n=n, c=c)
            if large:
                data["z"] += LARGE
                data["offset"] = LARGE
                label = text("check.jac_case_softmax_vjp_large", n=n, c=c, offset=LARGE)
            cases.append(Case(label, data))
        return cases

    def call(self, student, case):
        args = [case.data["dout"].copy(), case.data["z"].copy()]
        if not case.data["big"]:
            return student(*args), args[0], args[1]
        return _peak(student, args)

    def judge(self, case, value, params):
        dout, z = case.data["dout"], case.data["z"]
        n, c = z.shape
        peak = None
        if case.data["big"]:
            value, peak = _tuple(value, 2, self.what, "(result, peak)")
            expected, noise = softmax_vjp(dout, z), 0.0
        else:
            value, dout_after, z_after = _tuple(value, 3, self.what, "(result, dout, z)")
            unchanged(dout, dout_after, self.what, "dout")
            unchanged(z, z_after, self.what, "z")
            if case.data.get("offset"):
                _reject_overflow(value, self.what)
                z = z - case.data["offset"]  # the same product: softmax ignores a shift of a row
            expected, noise = numeric.numerical_vjp(softmax, z, dout, with_noise=True)
        got = _array(value, z.shape, self.what)
        p = softmax(z)
        mistakes = {
            "jac_vjp_diagonal_only": dout * p * (1 - p),
            "jac_vjp_no_sum": p * dout,
            "jac_vjp_wrong_axis": p * (dout - np.sum(dout * p, axis=0)),
            "jac_vjp_sum_all": p * (dout - np.sum(dout * p)),
            "jac_vjp_plus": p * (dout + np.sum(dout * p, axis=1, keepdims=True)),
            "jac_vjp_of_logits": z * (dout - np.sum(dout * z, axis=1, keepdims=True)),
            "jac_ignored_dout": np.zeros_like(z),
        }
        score = _judge(got, expected, noise, what=self.what, mistakes=mistakes,
                       exact=None if case.data["big"] else softmax_vjp(dout, z))
        limit = MEMORY_ARRAYS * 8 * 2 * n * c
        if peak is not None and peak > limit:
            raise Reject(text("check.jac_memory_softmax", what=self.what, peak=peak / 1e6, limit=limit / 1e6,
                              jacobian=8 * (n * c) ** 2 / 1e6))
        return score


# -- a network: the product of Jacobians and the chain of VJPs ----------------------------------------------

ACTIVATIONS = ("sigmoid", "tanh", "relu")
TOPS = ("softmax", "none")


def _architecture(params, widths=None):
    """The kinds of the modules: Linear, hidden, Linear, ..., Linear, top."""
    widths = list(params["widths"] if widths is None else widths)
    if params["hidden"] not in ACTIVATIONS or params["top"] not in TOPS or len(widths) < 2:
        raise ValueError(f"network checks take hidden in {ACTIVATIONS}, top in {TOPS} and 2 widths or more")
    kinds = []
    for k in range(len(widths) - 1):
        kinds.append("linear")
        if k < len(widths) - 2:
            kinds.append(params["hidden"])
    if params["top"] != "none":
        kinds.append(params["top"])
    return widths, kinds


def _network_case(rng, n, widths, kinds, label, big=False):
    Ws = [rng.normal(0.0, 1.5 / np.sqrt(a), (a, b)) for a, b in zip(widths[:-1], widths[1:])]
    bs = [rng.uniform(-1.0, 1.0, b) for b in widths[1:]]
    x = _unsaturated(rng, (n, widths[0]))
    while "relu" in kinds and not _live(kinds, Ws, bs, x):
        x = _unsaturated(rng, (n, widths[0]))
    return Case(label, {"kinds": kinds, "Ws": Ws, "bs": bs, "x": x,
                        "dout": rng.normal(size=(n, widths[-1])), "big": big})


def _apply(kind, z, W=None, b=None):
    if kind == "linear":
        return z @ W + b
    if kind == "sigmoid":
        return functions.sigmoid(z)
    if kind == "tanh":
        return np.tanh(z)
    if kind == "relu":
        return np.maximum(z, 0.0)
    return softmax(z)


def _states(kinds, Ws, bs, x, start=0, wrt=None, value=None):
    """z_start, ..., z_K from z_start = x; with wrt = ("W" or "b", i), that parameter of Linear i is value."""
    states, li = [x], sum(1 for kind in kinds[:start] if kind == "linear")
    for kind in kinds[start:]:
        W = b = None
        if kind == "linear":
            W, b = Ws[li], bs[li]
            if wrt == ("W", li):
                W = value
            if wrt == ("b", li):
                b = value
            li += 1
        states.append(_apply(kind, states[-1], W, b))
    return states


def _live(kinds, Ws, bs, x):
    """Every ReLU input is at least 1e-2 away from its kink."""
    states = _states(kinds, Ws, bs, x)
    return all(np.min(np.abs(states[k])) >= 1e-2 for k, kind in enumerate(kinds) if kind == "relu")


def _local(kind, z_in, z_out, variant):
    """The Jacobian d z_out / d z_in of an activation (variant: a mistake to replay, or None)."""
    if kind == "softmax":
        if variant == "diagonal":
            return np.diag((z_out * (1 - z_out)).ravel())
        return softmax_batch_jacobian(z_in)
    if kind == "relu":
        return np.diag((z_in > 0).ravel().astype(np.float64))
    return np.diag(_slope(kind, z_in, z_out, variant).ravel())


def _slope(kind, z_in, z_out, variant):
    """The slopes of a sigmoid or tanh between z_in and z_out (variant: a mistake to replay, or None)."""
    if variant == "formula_at_input":  # s (1 - s) or 1 - t^2 written with the input a in place of s or t
        return z_in * (1 - z_in) if kind == "sigmoid" else 1 - z_in ** 2
    at = z_out if variant == "at_output" else z_in
    v = functions.sigmoid(at) if kind == "sigmoid" else np.tanh(at)
    if variant == "s":
        return v
    return v * (1 - v) if kind == "sigmoid" else 1 - v ** 2


def network_jacobian(kinds, Ws, bs, x, variant=None):
    """Reference: (J, [(J_W, J_b) per Linear]), formed with the library's Jacobians."""
    states = _states(kinds, Ws, bs if variant != "no_bias" else [0 * b for b in bs], x)
    n = x.shape[0]
    above = np.eye(states[-1].size)
    weights, li = [], len(Ws)
    for k in range(len(kinds) - 1, -1, -1):
        kind, z_in, z_out = kinds[k], states[k], states[k + 1]
        if kind == "linear":
            li -= 1
            m = Ws[li].shape[1]
            weights.insert(0, (above @ jacobians.linear_jacobian_weights(z_in, m),
                               above @ jacobians.linear_jacobian_bias(n, m)))
            local = jacobians.linear_jacobian_input(Ws[li], n)
        else:
            local = _local(kind, z_in, z_out, variant)
        above = above @ local
    return above, weights


def network_vjp(kinds, Ws, bs, x, dout, variant=None):
    """Reference: (deltas, [(dW, db) per Linear]) by one VJP per module."""
    states = _states(kinds, Ws, bs if variant != "no_bias" else [0 * b for b in bs], x)
    deltas, grads, li = [dout], [], len(Ws)
    for k in range(len(kinds) - 1, -1, -1):
        kind, z_in, z_out, delta = kinds[k], states[k], states[k + 1], deltas[0]
        if kind == "linear":
            li -= 1
            grads.insert(0, (z_in.T @ delta, delta.sum(axis=0)))
            delta = delta @ Ws[li].T
        elif kind == "softmax":
            p = z_out
            if variant == "diagonal":
                delta = p * delta * (1 - p)
            elif variant == "sum_all":
                delta = p * (delta - np.sum(delta * p))
            else:
                delta = softmax_vjp(delta, z_in)
        elif kind == "relu":
            delta = delta * (z_in > 0)
        else:
            delta = delta * _slope(kind, z_in, z_out, variant)
        deltas.insert(0, delta)
    return deltas, grads


def network_jvp(kinds, Ws, bs, x, u, variant=None):
    """Reference: J u in z_K's shape, one JVP per module going up."""
    states = _states(kinds, Ws, bs if variant != "no_bias" else [0 * b for b in bs], x)
    t, li = u, 0
    for k, kind in enumerate(kinds):
        z_in, z_out = states[k], states[k + 1]
        if kind == "linear":
            t = t @ Ws[li] + (bs[li] if variant == "tangent_bias" else 0.0)
            li += 1
        elif kind == "softmax":
            p = z_out
            if variant == "diagonal":
                t = p * t * (1 - p)
            elif variant == "sum_all":
                t = p * (t - np.sum(t * p))
            else:
                t = p * (t - np.sum(t * p, axis=1, keepdims=True))
        elif kind == "relu":
            t = t * (z_in > 0)
        else:
            t = t * _slope(kind, z_in, z_out, variant)
    return t


def _modules(data):
    """Fresh library modules holding the case's weights."""
    modules, li = [], 0
    for kind in data["kinds"]:
        if kind == "linear":
            W, b = data["Ws"][li], data["bs"][li]
            module = Linear(W.shape[0], W.shape[1], rng=0)
            module.params["W"][...] = W
            module.params["b"][...] = b
            if li == len(data["Ws"]) - 1:
                module.params["b"][...] += data.get("offset", 0.0)  # large logits: softmax ignores the shift
            li += 1
        else:
            module = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "softmax": Softmax}[kind]()
        modules.append(module)
    return modules


def _without_backward(call):
    """Run ``call()`` with the library's backward passes trapped; a call to one raises DelegationError."""
    log = []
    with _delegation.trapped(BACKWARDS, log):
        result = call()
    if log:  # even if the student's code caught the trap's exception
        raise _delegation.DelegationError(log[0])
    return result


VARIANTS = {"at_output": "slope_of_activation", "s": "slope_is_sigmoid", "diagonal": "jac_net_softmax_diagonal",
            "no_bias": "jac_forgot_bias", "formula_at_input": "jac_slope_formula_at_input"}
VJP_VARIANTS = {**VARIANTS, "sum_all": "jac_vjp_sum_all"}
JVP_VARIANTS = {**VJP_VARIANTS, "tangent_bias": "jac_jvp_bias"}


def _variants(variants, kinds):
    """The keys of the mistakes that can show on a network of these kinds."""
    softmax_only = ("diagonal", "sum_all")
    return [key for key in variants if key not in softmax_only or "softmax" in kinds]


def _reversed_weights(got, expected, what):
    """Reject, named, a list of per-Linear pairs given from the top Linear down."""
    if len(got) < 2 or not all(isinstance(pair, tuple) and len(pair) == 2 for pair in got):
        return
    shape = lambda pairs: [tuple(np.shape(a) for a in pair) for pair in pairs]  # noqa: E731
    flipped = list(got)[::-1]
    same_shapes = shape(flipped) == shape(expected)
    if same_shapes and (shape(got) != shape(expected) or all(
            np.allclose(np.asarray(a, dtype=np.float64), b, rtol=1e-6, atol=1e-9)
            for pair, exact in zip(flipped, expected) for a, b in zip(pair, exact))):
        raise Reject(text("check.jac_weights_reversed", what=what))


class _NetworkCheck(Check):
    defaults = {"seed": 0, "count": 2, "n": 3, "widths": [3, 4, 2], "hidden": "sigmoid", "top": "softmax"}
    delegation = ALL

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        widths, kinds = _architecture(params)
        cases = []
        for i in range(params["count"]):
            label = text("check.jac_case_network", index=i, n=params["n"], modules=", ".join(kinds),
                         widths=str(widths))
            large = kinds[-1] == "softmax" and i == params["count"] - 1
            if large:
                label = text("check.jac_case_network_large", index=i, n=params["n"], modules=", ".join(kinds),
                             widths=str(widths), offset=LARGE)
            cases.append(_network_case(rng, params["n"], widths, kinds, label))
            if large:
                cases[-1].data["offset"] = LARGE
        if "big" in params:
            n, width = params["big"]
            big_widths, big_kinds = _architecture(params, [width] * len(widths))
            label = text("check.jac_case_network_big", n=n, modules=", ".join(big_kinds), width=width)
            cases.append(_network_case(rng, n, big_widths, big_kinds, label, big=True))
        return cases

    @staticmethod
    def _wrt(data, which, li):
        """The output z_K as a function of x (which = "x") or of W / b of Linear li."""
        kinds, Ws, bs = data["kinds"], data["Ws"], data["bs"]
        if which == "x":
            return lambda v: _states(kinds, Ws, bs, v)[-1]
        return lambda v: _states(kinds, Ws, bs, data["x"], wrt=(which, li), value=v)[-1]


class NetworkJacobian(_NetworkCheck):
    """network_jacobian(network, x) returns (d z_K/d x, [(d z_K/d W, d z_K/d b) per Linear])."""

    name = "network_jacobian"
    what = "network_jacobian(network, x)"

    def call(self, student, case):
        network, x = _modules(case.data), case.data["x"].copy()
        return _without_backward(lambda: student(network, x))

    def judge(self, case, value, params):
        data = case.data
        kinds, Ws, bs, x = data["kinds"], data["Ws"], data["bs"], data["x"]
        J, weights = _tuple(value, 2, self.what, "(J, weight_jacobians)")
        weights = _items(weights, len(Ws), self.what, "weight_jacobians")
        exact_J, exact_weights = network_jacobian(kinds, Ws, bs, x)
        _reversed_weights(weights, exact_weights, self.what)
        replays = {key: network_jacobian(kinds, Ws, bs, x, key) for key in _variants(VARIANTS, kinds)}
        parts = [("d z_K/d x", J, x, "x", 0, exact_J, lambda r: r[0])]
        for li, pair in enumerate(weights):
            J_W, J_b = _tuple(pair, 2, self.what, "(J_W, J_b)")
            parts.append((f"d z_K/d W{li}", J_W, Ws[li], "W", li, exact_weights[li][0], lambda r, i=li: r[1][i][0]))
            parts.append((f"d z_K/d b{li}", J_b, bs[li], "b", li, exact_weights[li][1], lambda r, i=li: r[1][i][1]))
        worst = 0.0
        for part, got, arg, which, li, exact, pick in parts:
            what = text("check.jac_part", what=self.what, part=part)
            if data.get("offset"):
                _reject_overflow(got, what)
            expected, noise = numeric.numerical_jacobian(self._wrt(data, which, li), arg, with_noise=True)
            got = _array(got, expected.shape, what)
            mistakes = {VARIANTS[key]: pick(replay) for key, replay in replays.items()}
            if which == "W":
                mistakes["jac_w_column_major"] = exact[:, _order(arg.shape, "F")]
            worst = max(worst, _judge(got, expected, noise, what=what, exact=exact, mistakes=mistakes,
                                      factors={"N": x.shape[0]}))
        return worst


def network_memory_limit(data, given="dout"):
    """MEMORY_ARRAYS times the bytes of x, the given dout (or u), every W and b and every state of the forward pass."""
    states = _states(data["kinds"], data["Ws"], data["bs"], data["x"])
    entries = data[given].size + sum(W.size + b.size for W, b in zip(data["Ws"], data["bs"]))
    return MEMORY_ARRAYS * 8 * (entries + sum(s.size for s in states))


class NetworkVJP(_NetworkCheck):
    """network_vjp(network, x, dout) returns (deltas, [(dW, db) per Linear]), deltas[k] = dc/dz_k."""

    name = "network_vjp"
    what = "network_vjp(network, x, dout)"
    defaults = {**_NetworkCheck.defaults, "big": [128, 6]}

    def call(self, student, case):
        network, x, dout = _modules(case.data), case.data["x"].copy(), case.data["dout"].copy()
        if not case.data["big"]:
            return _without_backward(lambda: student(network, x, dout)), dout
        runs = [_without_backward(lambda: cost.peak_memory(student, _modules(case.data), x.copy(), dout.copy()))
                for _ in range(2)]  # the smaller peak: a one-off allocation outside the student's code is not counted
        return runs[0][0], float(min(peak for _, peak in runs))

    def judge(self, case, value, params):
        data = case.data
        kinds, Ws, bs, x, dout = data["kinds"], data["Ws"], data["bs"], data["x"], data["dout"]
        big = data["big"]
        if big:
            value, peak = _tuple(value, 2, self.what, "(result, peak)")
        else:
            value, dout_after = _tuple(value, 2, self.what, "(result, dout)")
            unchanged(dout, dout_after, self.what, "dout")
        deltas, grads = _tuple(value, 2, self.what, "(deltas, weight_grads)")
        deltas = _items(deltas, len(kinds) + 1, self.what, "deltas")
        grads = _items(grads, len(Ws), self.what, "weight_grads")
        states = _states(kinds, Ws, bs, x)
        if (len(kinds) > 1 and isinstance(deltas[0], np.ndarray) and deltas[0].shape == dout.shape
                and dout.shape != x.shape):
            raise Reject(text("check.jac_deltas_reversed", what=self.what))
        exact_deltas, exact_grads = network_vjp(kinds, Ws, bs, x, dout)
        _reversed_weights(grads, exact_grads, self.what)
        replays = {key: network_vjp(kinds, Ws, bs, x, dout, key) for key in _variants(VJP_VARIANTS, kinds)}
        replays["ones"] = network_vjp(kinds, Ws, bs, x, np.ones_like(dout))
        parts = []
        for k, got in enumerate(deltas):
            parts.append((f"deltas[{k}]", got, states[k], ("z", k), exact_deltas[k], lambda r, k=k: r[0][k]))
        for li, pair in enumerate(grads):
            dW, db = _tuple(pair, 2, self.what, "(dW, db)")
            parts.append((f"dW{li}", dW, Ws[li], ("W", li), exact_grads[li][0], lambda r, i=li: r[1][i][0]))
            parts.append((f"db{li}", db, bs[li], ("b", li), exact_grads[li][1], lambda r, i=li: r[1][i][1]))
        worst = 0.0
        for part, got, arg, (which, index), exact, pick in parts:
            what = text("check.jac_part", what=self.what, part=part)
            if data.get("offset"):
                _reject_overflow(got, what)
            got = _array(got, np.shape(arg), what)
            if big:
                expected, noise = exact, 0.0
            else:
                if which == "z":
                    tail = lambda v, k=index: _states(kinds, Ws, bs, v, start=k)[-1]  # noqa: E731
                else:
                    tail = self._wrt(data, which, index)
                expected, noise = numeric.numerical_vjp(tail, arg, dout, with_noise=True)
            mistakes = {("jac_ignored_dout" if key == "ones" else VJP_VARIANTS[key]): pick(replay)
                        for key, replay in replays.items()}
            worst = max(worst, _judge(got, expected, noise, what=what, mistakes=mistakes, factors={"N": x.shape[0]},
                                      exact=None if big else exact))
        if big:
            limit = network_memory_limit(data)
            if peak > limit:
                jacobian = 8 * states[-1].size * max(s.size for s in states)
                raise Reject(text("check.jac_memory_network", what=self.what, peak=peak / 1e6,
                                  limit=limit / 1e6, jacobian=jacobian / 1e6))
        return worst


check_numerical_jacobian = register(NumericalJacobian)
check_linear_jacobians = register(LinearJacobians)
check_softmax_batch_jacobian = register(SoftmaxBatchJacobian)
check_dense_vjp = register(DenseVJP)
check_softmax_vjp = register(SoftmaxVJP)
check_network_jacobian = register(NetworkJacobian)
check_network_vjp = register(NetworkVJP)


class NetworkJVP(_NetworkCheck):
    """network_jvp(network, x, u) returns J u, the change of z_K along the direction u of x, in z_K's shape."""

    name = "network_jvp"
    what = "network_jvp(network, x, u)"
    defaults = {**_NetworkCheck.defaults, "big": [128, 6]}

    def cases(self, params):
        cases = super().cases(params)
        rng = np.random.default_rng([params["seed"], 1])
        for case in cases:
            case.data["u"] = rng.normal(size=case.data["x"].shape)  # a random direction of x
        return cases

    def call(self, student, case):
        network, x, u = _modules(case.data), case.data["x"].copy(), case.data["u"].copy()
        if not case.data["big"]:
            return _without_backward(lambda: student(network, x, u)), u
        runs = [_without_backward(lambda: cost.peak_memory(student, _modules(case.data), x.copy(), u.copy()))
                for _ in range(2)]  # the smaller peak: a one-off allocation outside the student's code is not counted
        return runs[0][0], float(min(peak for _, peak in runs))

    def judge(self, case, value, params):
        data = case.data
        kinds, Ws, bs, x = data["kinds"], data["Ws"], data["bs"], data["x"]
        u, big = data["u"], data["big"]
        if big:
            got, peak = _tuple(value, 2, self.what, "(Ju, peak)")
        else:
            got, u_after = _tuple(value, 2, self.what, "(Ju, u)")
            unchanged(u, u_after, self.what, "u")
        if data.get("offset"):
            _reject_overflow(got, self.what)
        exact = network_jvp(kinds, Ws, bs, x, u)
        if big:
            expected, noise = exact, 0.0
        else:
            expected, noise = numeric.numerical_directional(self._wrt(data, "x", 0), x, u, with_noise=True)
        got = _array(got, expected.shape, self.what)
        mistakes = {JVP_VARIANTS[key]: network_jvp(kinds, Ws, bs, x, u, key) for key in _variants(JVP_VARIANTS, kinds)}
        mistakes["jac_ignored_u"] = network_jvp(kinds, Ws, bs, x, np.ones_like(u))
        score = _judge(got, expected, noise, what=self.what, exact=None if big else exact, mistakes=mistakes,
                       factors={"N": x.shape[0]})
        if big:
            limit = network_memory_limit(data, "u")
            if peak > limit:
                states = _states(kinds, Ws, bs, x)
                jacobian = 8 * states[-1].size * max(s.size for s in states)
                raise Reject(text("check.jac_memory_network_jvp", what=self.what, peak=peak / 1e6,
                                  limit=limit / 1e6, jacobian=jacobian / 1e6))
        return score


# -- a Jacobian, one sweep at a time ------------------------------------------------------------------------

class _FromSweeps(Check):
    defaults = {"seed": 0, "count": 2, "x_shape": [3, 2], "out_shape": [2, 2]}
    delegation = ALL + BACKWARDS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        x_shape, out_shape = tuple(params["x_shape"]), tuple(params["out_shape"])
        size_in, size_out = int(np.prod(x_shape)), int(np.prod(out_shape))
        return [Case(text("check.jac_case_sweeps", index=i, x_shape=x_shape, out_shape=out_shape),
                     {"A": rng.normal(size=(size_out, size_in)), "x_shape": x_shape, "out_shape": out_shape})
                for i in range(params["count"])]

    def call(self, student, case):
        """The student's function gets one sweep of A: row sweeps (VJPs) for axis 0, column sweeps (JVPs) for 1."""
        A, x_shape, out_shape = case.data["A"], case.data["x_shape"], case.data["out_shape"]
        takes, gives = (out_shape, x_shape) if self.axis == 0 else (x_shape, out_shape)

        def sweep(v):
            v = np.asarray(v, dtype=np.float64)
            if v.shape != takes:
                raise ValueError(text("check.jac_sweep_shape", name=self.sweep, expected=takes, got=v.shape))
            product = v.ravel() @ A if self.axis == 0 else A @ v.ravel()
            return product.reshape(gives)

        return student(sweep, x_shape, out_shape)

    def judge(self, case, value, params):
        A, x_shape, out_shape = case.data["A"], case.data["x_shape"], case.data["out_shape"]
        got = _array(value, A.shape, self.what)
        rows_f, cols_f = _order(out_shape, "F"), _order(x_shape, "F")
        mistakes = {
            "jac_sweep_not_reset": np.cumsum(A, axis=self.axis),
            "jac_sweep_ones": np.tile(A.sum(axis=self.axis, keepdims=True), (A.shape[0], 1) if self.axis == 0
                                      else (1, A.shape[1])),
            "jac_column_major": A[np.ix_(rows_f, cols_f)],
        }
        return _judge(got, A, 0.0, what=self.what, exact=A, mistakes=mistakes)


class JacobianFromVJP(_FromSweeps):
    """jacobian_from_vjp(vjp, x_shape, out_shape) returns J (out size, x size), one VJP per row."""

    name = "jacobian_from_vjp"
    what = "jacobian_from_vjp(vjp, x_shape, out_shape)"
    axis = 0  # a sweep gives a row
    sweep = "vjp(d)"


class JacobianFromJVP(_FromSweeps):
    """jacobian_from_jvp(jvp, x_shape, out_shape) returns J (out size, x size), one JVP per column."""

    name = "jacobian_from_jvp"
    what = "jacobian_from_jvp(jvp, x_shape, out_shape)"
    axis = 1  # a sweep gives a column
    sweep = "jvp(u)"


check_network_jvp = register(NetworkJVP)
check_jacobian_from_vjp = register(JacobianFromVJP)
check_jacobian_from_jvp = register(JacobianFromJVP)
