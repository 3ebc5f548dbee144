"""Checks of the Jacobian exercises of notebook 06.

- ``check_numerical_jacobian(numerical_jacobian, n=4)``: the student's
  ``numerical_jacobian(f, x, h)`` for f: R^n -> R^m must equal the library's
  central-difference Jacobian at the same h, shape (m, n), J[j, i] = df_j/dx_i,
  and leave x unchanged. The functions are the named ones of
  :data:`backproplab.functions.TO_VECTOR` ("pairs" has m = 2n - 1, so a
  transpose cannot pass by shape); large steps tell a one-sided difference or
  an ignored h apart.
- ``check_linear_jacobians(linear_jacobians, n=3, d=4, m=2)``: the pair
  (d out/dx (N M, N D), d out/dW (N M, D M)) of out = x W + b, against central
  differences of the library's forward, and computed exactly, not numerically.
- ``check_sigmoid_jacobian(sigmoid_jacobian, n=3, m=2)``: d s(z)/dz for
  z: (N, M), a diagonal (N M, N M) matrix, against central differences.
- ``check_dense_vjp(dense_vjp, n=4, d=5, m=3, big=[24, 30, 20])``: (dx, dW, db)
  = dout J for out = sigmoid(x W + b), against central differences (the
  vector-Jacobian products of :func:`backproplab.numeric.numerical_vjp`) with
  a random dout; and, on a batch of size ``big`` = [N, D, M], by value and by
  the peak memory of the call (:func:`backproplab.cost.peak_memory`), which
  must stay below :data:`MEMORY_ARRAYS` times the bytes of the inputs: forming
  a Jacobian (or the diagonal matrix of the sigmoid's slopes) takes far more.
  A VJP computed by finite differences is rejected as numerical, and one that
  changes dout or x in place (``dout *= ...``) is rejected too.
"""

import numpy as np

from backproplab import cost, functions, jacobians, numeric
from backproplab.messages import text

from ..contract import Case, Check, Reject, describe, register, reject_unless_array
from ..diagnose import compare, reject_if_numerical
from .gradients import unchanged

FUNCTIONS = ("pairs", "softmax", "tanh")
STEPS = (1e-1, 1e-2, 1e-3)
MEMORY_ARRAYS = 32  # the peak allowed: this many arrays the size of (x, W, b, dout) together


def _tuple(value, count, what, names):
    """``value`` as a tuple of ``count`` items, or Reject naming what should come back."""
    if not isinstance(value, tuple) or len(value) != count:
        raise Reject(text("check.jac_expected_tuple", what=what, count=count, names=names, got=describe(value)))
    return value


def _unsaturated(rng, shape):
    return np.clip(rng.normal(0.0, 1.0, size=shape), -3.0, 3.0)


# -- the numerical Jacobian ---------------------------------------------------------------------

class NumericalJacobian(Check):
    """numerical_jacobian(f, x, h) returns the central-difference Jacobian (m, n) of f: R^n -> R^m."""

    name = "numerical_jacobian"
    what = "numerical_jacobian(f, x, h)"
    defaults = {"seed": 0, "count": 3, "n": 4}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, cases = params["n"], []
        for i in range(params["count"]):
            function = functions.TO_VECTOR[FUNCTIONS[(i + params["seed"]) % len(FUNCTIONS)]]
            x = function.sample(rng, n).astype(np.float64)
            h = STEPS[(i + params["seed"] // len(FUNCTIONS)) % len(STEPS)]
            label = text("check.jac_case_function", function=function.name, index=i, n=n,
                         m=function.out_size(n), h=h)
            cases.append(Case(label, {"function": function.name, "x": x, "h": h}))
        return cases

    def call(self, student, case):
        f = functions.TO_VECTOR[case.data["function"]].forward
        x = case.data["x"].copy()
        jac = student(f, x, case.data["h"])
        return jac, x  # x as the student's function left it

    def judge(self, case, value, params):
        f = functions.TO_VECTOR[case.data["function"]].forward
        x, h = case.data["x"], case.data["h"]
        jac, x_after = _tuple(value, 2, self.what, "(J, x)")
        unchanged(x, x_after, self.what, "x", tol=1e-12)
        expected, noise = numeric.numerical_jacobian(f, x, h, with_noise=True)
        got = reject_unless_array(jac, expected.shape, self.what)
        basis = np.eye(x.size)
        forward = np.column_stack([numeric.numerical_directional(f, x + 0.5 * h * e, e, 0.5 * h) for e in basis])
        first = np.zeros_like(expected)
        first[:, 0] = expected[:, 0]
        mistakes = {
            "forward_difference": forward,
            "ignored_h": numeric.numerical_jacobian(f, x),
            "jac_all_at_once": np.tile(numeric.numerical_directional(f, x, np.ones_like(x), h)[:, None], x.size),
            "jac_first_column": first,
        }
        return compare(got, expected, noise, what=self.what, mistakes=mistakes)


# -- the two Jacobians of a Linear layer ----------------------------------------------------------

class LinearJacobians(Check):
    """linear_jacobians(x, W) returns (d out/dx (N M, N D), d out/dW (N M, D M)) of out = x W + b."""

    name = "linear_jacobians"
    what = "linear_jacobians(x, W)"
    defaults = {"seed": 0, "count": 2, "n": 3, "d": 4, "m": 2}

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
        worst = 0.0
        for got, wrt, exact, mistakes in [
            (jx, "x", jacobians.linear_jacobian_input(W, n),
             {"jac_tiled": np.tile(W.T, (n, n)), "jac_kron_swapped": np.kron(W.T, np.eye(n))}),
            (jw, "W", jacobians.linear_jacobian_weights(x, m),
             {"jac_kron_swapped": np.kron(np.eye(m), x), "jac_weights_one_row": np.kron(np.tile(x[:1], (n, 1)), np.eye(m))}),
        ]:
            what = text("check.jac_part", what=self.what, part=f"d out/d{wrt}")
            arg = x if wrt == "x" else W
            forward = (lambda v: v @ W + b) if wrt == "x" else (lambda v: x @ v + b)
            expected, noise = numeric.numerical_jacobian(forward, arg, with_noise=True)
            got = reject_unless_array(got, expected.shape, what)
            worst = max(worst, compare(got, expected, noise, what=what, mistakes=mistakes))
            reject_if_numerical(got, exact, noise, what=what)
        return worst


# -- the Jacobian of the sigmoid, elementwise -------------------------------------------------------

class SigmoidJacobian(Check):
    """sigmoid_jacobian(z) returns d s(z)/dz for z: (N, M), a diagonal (N M, N M) matrix."""

    name = "sigmoid_jacobian"
    what = "sigmoid_jacobian(z)"
    defaults = {"seed": 0, "count": 2, "n": 3, "m": 2}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, m = params["n"], params["m"]
        return [Case(text("check.jac_case_sigmoid", index=i, n=n, m=m), {"z": _unsaturated(rng, (n, m))})
                for i in range(params["count"])]

    def call(self, student, case):
        return student(case.data["z"].copy())

    def judge(self, case, value, params):
        z = case.data["z"]
        expected, noise = numeric.numerical_jacobian(functions.sigmoid, z, with_noise=True)
        got = reject_unless_array(value, expected.shape, self.what)
        s = functions.sigmoid(z)
        mistakes = {
            "slope_is_sigmoid": np.diag(s.ravel()),
            "slope_formula_on_z": np.diag((z * (1 - z)).ravel()),
            "slope_of_activation": jacobians.sigmoid_jacobian(s),
            "jac_column_order": np.diag(jacobians.sigmoid_slope(z).ravel(order="F")),
        }
        score = compare(got, expected, noise, what=self.what, mistakes=mistakes)
        reject_if_numerical(got, jacobians.sigmoid_jacobian(z), noise, what=self.what)
        return score


# -- a vector-Jacobian product that never forms the Jacobian -----------------------------------------

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


class DenseVJP(Check):
    """dense_vjp(dout, x, W, b) returns (dx, dW, db) = dout J for out = sigmoid(x W + b), without forming J."""

    name = "dense_vjp"
    what = "dense_vjp(dout, x, W, b)"
    defaults = {"seed": 0, "count": 2, "n": 4, "d": 5, "m": 3, "big": [24, 30, 20]}

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
        peaks = []
        for _ in range(2):  # the smaller of two peaks: a one-off allocation outside the student's code is not counted
            result, peak = cost.peak_memory(student, *[a.copy() for a in args])
            peaks.append(peak)
        return result, float(min(peaks))

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
        s = functions.sigmoid(x @ W + b)
        worst = 0.0
        for k, (name, arg) in enumerate([("dx", x), ("dW", W), ("db", b)]):
            what = text("check.jac_part", what=self.what, part=name)
            got = reject_unless_array(grads[k], arg.shape, what)
            if case.data["big"]:
                expected, noise = exact[k], 0.0
            else:
                expected, noise = numeric.numerical_vjp(_dense_forward_of(k, x, W, b), arg, dout, with_noise=True)
            no_slope = jacobians.dense_vjp(dout / slope, x, W, b)[k]
            with_s = jacobians.dense_vjp(dout * s / slope, x, W, b)[k]
            mistakes = {"jac_missing_slope": no_slope, "slope_is_sigmoid": with_s}
            worst = max(worst, compare(got, expected, noise, what=what, mistakes=mistakes, factors={"N": n}))
            if not case.data["big"]:
                reject_if_numerical(got, exact[k], noise, what=what)
        if peak is not None and peak > memory_limit(n, d, m):
            jacobian_bytes = 8 * (n * m) * (n * d + d * m + m)
            raise Reject(text("check.jac_memory", what=self.what, peak=peak / 1e6,
                              limit=memory_limit(n, d, m) / 1e6, jacobian=jacobian_bytes / 1e6))
        return worst


check_numerical_jacobian = register(NumericalJacobian)
check_linear_jacobians = register(LinearJacobians)
check_sigmoid_jacobian = register(SigmoidJacobian)
check_dense_vjp = register(DenseVJP)
