"""Checks of the chain-rule exercises of notebook 02.

- ``check_sigmoid(sigmoid)``: values of s(x) = 1 / (1 + exp(-x)) on arrays,
  elementwise and of the input's shape, and on a Python float, where a number
  (a float or a 0-d array) must come back; no warning, NaN or inf at |x| = 800;
- ``check_loss_gradients(loss_gradients)``: (dw, db) of the cost
  C = (1/N) sum (w x_i + b - y_i)^2 / 2 against central differences of the
  library's cost, for N = 1 (the loss of one sample) and N > 1; any sequence
  of two numbers is accepted (a tuple, a list, a 1-D array of size 2);
- ``check_dL_dw1(dL_dw1)``: dL/dw1 of the two-layer scalar sigmoid network
  against central differences of the library's loss;
- ``check_fit_linear(fit_linear)``: the weights after ``steps`` full-batch
  gradient-descent steps on C(w) = (1/2N) |X w - y|^2, against the library's
  trajectory; w0 must come back unchanged (no update in place).

The derivative of the sigmoid is checked by ``check_derivative(sigmoid_prime,
function="sigmoid")`` (calculus.py). Every reference comes from
:mod:`backproplab`, never from the student.
"""

import warnings

import numpy as np

from backproplab import numeric, regression, scalar_net
from backproplab.functions import sigmoid
from backproplab.messages import text

from ..contract import Case, Check, Reject, describe, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare
from .gradients import unchanged

EXTREMES = np.array([-800.0, -40.0, -10.0, -1.0, 0.0, 1.0, 10.0, 40.0, 800.0])


def _numbers(value, count, what, message, arrays=False):
    """``value`` (a tuple) as an array of ``count`` finite numbers, or Reject with ``message``.

    With ``arrays=True`` a 1-D array of ``count`` entries is accepted too (lists arrive as tuples).
    """
    if arrays and isinstance(value, np.ndarray) and value.shape == (count,):
        value = tuple(np.asarray(value, dtype=np.float64))
    if not isinstance(value, tuple) or len(value) != count:
        raise Reject(message)
    return np.array([reject_unless_finite_number(v, what) for v in value])


class Sigmoid(Check):
    """sigmoid(x) returns 1 / (1 + exp(-x)) elementwise, of x's shape, without overflow at |x| = 800."""

    name = "sigmoid"
    what = "sigmoid(x)"
    defaults = {"seed": 0, "n": 7}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n = params["n"]
        vector = rng.normal(0.0, 2.5, n)
        matrix = rng.normal(0.0, 2.5, (2, n // 2 + 1))
        number = round(float(rng.normal(0.0, 2.5)), 3)
        return [
            Case(text("check.case_sigmoid_random", n=n), {"x": vector}),
            Case(text("check.case_sigmoid_matrix", rows=2, cols=matrix.shape[1]), {"x": matrix}),
            Case(text("check.case_sigmoid_extremes"), {"x": EXTREMES.copy()}),
            Case(text("check.case_sigmoid_number", x=-800.0), {"x": -800.0}),
            Case(text("check.case_sigmoid_number", x=number), {"x": number}),
        ]

    def call(self, student, case):
        # overflow, 0/0 and inf/inf warn; underflow to 0 (exp(-800)) is harmless and does not
        with warnings.catch_warnings(record=True) as caught, \
                np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
            warnings.simplefilter("always")
            x = case.data["x"]
            out = student(x.copy() if isinstance(x, np.ndarray) else x)
        return out, float(sum(issubclass(w.category, RuntimeWarning) for w in caught))

    def judge(self, case, value, params):
        x = case.data["x"]
        out, warned = value
        if isinstance(x, np.ndarray):
            got = reject_unless_array(out, x.shape, self.what)
        else:  # a number in, a number (a float or a 0-d array) out
            got = reject_unless_finite_number(out, self.what)
            x = np.float64(x)
        expected = sigmoid(x)
        mistakes = {
            "sigmoid_sign": sigmoid(-x),
            "sigmoid_tanh": np.tanh(x),
            "sigmoid_half": sigmoid(2.0 * x),
        }
        score = compare(got, expected, numeric.EPS * np.abs(expected), what=self.what, mistakes=mistakes)
        if warned > 0:
            raise Reject(text("check.sigmoid_warned", what=self.what, count=int(warned)))
        return score


class LossGradients(Check):
    """loss_gradients(w, b, x, y) returns (dw, db), the gradient of C = (1/N) sum (w x_i + b - y_i)^2 / 2."""

    name = "loss_gradients"
    what = "loss_gradients(w, b, x, y)"
    defaults = {"seed": 0, "count": 3, "n": 5}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            n = 1 if i == 0 else params["n"] + i - 1
            w, b = (float(v) for v in rng.normal(0.0, 1.5, 2))
            x = rng.normal(0.0, 2.0, n)
            y = w * x + b + rng.normal(0.0, 2.0, n)  # the model is off by a few units
            cases.append(Case(text("check.case_line", n=n, w=w, b=b), {"w": w, "b": b, "x": x, "y": y}))
        return cases

    def call(self, student, case):
        d = case.data
        return student(d["w"], d["b"], d["x"].copy(), d["y"].copy())

    def judge(self, case, value, params):
        d = case.data
        w, b, x, y = d["w"], d["b"], d["x"], d["y"]
        got = _numbers(value, 2, self.what, text("check.expected_pair", what=self.what, got=describe(value)),
                       arrays=True)
        expected, noise = numeric.numerical_gradient(
            lambda v: scalar_net.line_cost(v[0], v[1], x, y), np.array([w, b]), with_noise=True)
        dw, db = expected
        mistakes = {
            "inside_out_sign": -expected,
            "dw_missing_x": np.array([db, db]),
            "swapped_dw_db": np.array([db, dw]),
        }
        factors = {"N": x.size} if x.size > 1 else {}
        return compare(got, expected, noise, what=self.what, mistakes=mistakes, factors=factors)


class DLdw1(Check):
    """dL_dw1(params, x, y) returns dL/dw1 of the two-layer sigmoid network with L = (o2 - y)^2 / 2."""

    name = "dL_dw1"
    what = "dL_dw1(params, x, y)"
    defaults = {"seed": 0, "count": 3, "samples": 4}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        while len(cases) < params["count"]:
            p = dict(zip(scalar_net.PARAMS, (float(v) for v in rng.normal(0.0, 1.2, 4))))
            x = rng.normal(0.0, 1.0, params["samples"])
            y = rng.uniform(0.0, 1.0, params["samples"])
            forward = [scalar_net.two_layer_forward(p, xi) for xi in x]
            live = (abs(abs(p["w2"]) - 1.0) > 0.1 and abs(p["w2"]) > 0.2
                    and all(abs(f["z1"]) <= 3 and abs(f["z2"]) <= 3 and abs(f["o2"] - yi) > 0.05
                            for f, yi in zip(forward, y)))
            if live:
                label = text("check.case_two_layer", index=len(cases), samples=x.size, **p)
                cases.append(Case(label, {"params": p, "x": x, "y": y}))
        return cases

    def call(self, student, case):
        d = case.data
        return tuple(student(dict(d["params"]), float(x), float(y)) for x, y in zip(d["x"], d["y"]))

    def judge(self, case, value, params):
        p, xs, ys = case.data["params"], case.data["x"], case.data["y"]
        got = _numbers(value, xs.size, self.what, text("check.expected_numbers", what=self.what, got=describe(value)))
        expected, noise = np.zeros(xs.size), np.zeros(xs.size)
        predictions = {k: np.zeros(xs.size) for k in (
            "missing_output_slope", "missing_hidden_slope", "slope_is_sigmoid", "missing_w2",
            "missing_upstream", "slope_formula_on_z", "slope_of_activation")}
        for i, (x, y) in enumerate(zip(xs, ys)):
            grad, nz = numeric.numerical_gradient(
                lambda v: scalar_net.two_layer_loss({**p, "w1": v[0]}, x, y), np.array([p["w1"]]), with_noise=True)
            expected[i], noise[i] = grad[0], nz[0]
            f = scalar_net.two_layer_forward(p, x)
            up, s2, s1 = f["o2"] - y, scalar_net.sigmoid_prime(f["z2"]), scalar_net.sigmoid_prime(f["z1"])
            w2 = p["w2"]
            predictions["missing_output_slope"][i] = up * w2 * s1 * x
            predictions["missing_hidden_slope"][i] = up * s2 * w2 * x
            predictions["slope_is_sigmoid"][i] = up * f["o2"] * w2 * f["o1"] * x
            predictions["missing_w2"][i] = up * s2 * s1 * x
            predictions["missing_upstream"][i] = s2 * w2 * s1 * x
            predictions["slope_formula_on_z"][i] = up * f["z2"] * (1 - f["z2"]) * w2 * f["z1"] * (1 - f["z1"]) * x
            predictions["slope_of_activation"][i] = (up * scalar_net.sigmoid_prime(f["o2"]) * w2
                                                     * scalar_net.sigmoid_prime(f["o1"]) * x)
        return compare(got, expected, noise, what=self.what, mistakes=predictions)


class FitLinear(Check):
    """fit_linear(X, y, w0, lr, steps) returns w (D,) after ``steps`` steps w <- w - lr X^T (X w - y) / N."""

    name = "fit_linear"
    what = "fit_linear(X, y, w0, lr, steps)"
    defaults = {"seed": 0, "count": 3, "n": 8, "d": 3}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, d, cases = params["n"], params["d"], []
        for i in range(params["count"]):
            X = np.column_stack([np.ones(n), rng.normal(1.0, 2.0, (n, d - 1))])
            y = X @ rng.normal(0.0, 2.0, d) + rng.normal(0.0, 1.0, n)
            w0 = rng.normal(0.0, 1.0, d)
            lr = float(rng.uniform(0.3, 0.8) * regression.stability_limit(X))
            steps = (2, 5, 11)[i % 3] + int(rng.integers(0, 3))
            label = text("check.case_fit", index=i, n=n, d=d, lr=lr, steps=steps)
            cases.append(Case(label, {"X": X, "y": y, "w0": w0, "lr": lr, "steps": steps}))
        return cases

    def call(self, student, case):
        d = case.data
        w0 = d["w0"].copy()
        return student(d["X"].copy(), d["y"].copy(), w0, d["lr"], d["steps"]), w0

    def judge(self, case, value, params):
        X, y, w0, lr, steps = (case.data[k] for k in ("X", "y", "w0", "lr", "steps"))
        out, w0_after = value
        unchanged(w0, w0_after, self.what, "w0")
        got = reject_unless_array(out, w0.shape, self.what)
        expected = regression.linear_regression_gd(X, y, w0, lr, steps)[0]
        g0 = regression.cost_gradient(X, y, w0)
        with np.errstate(all="ignore"):
            ascent = w0.copy()
            for _ in range(steps):
                ascent = ascent + lr * regression.cost_gradient(X, y, ascent)
            mistakes = {
                "fit_ascent": ascent,
                "fit_first_gradient": w0 - steps * lr * g0,
                "fit_extra_step": regression.linear_regression_gd(X, y, w0, lr, steps + 1)[0],
                "fit_missing_step": regression.linear_regression_gd(X, y, w0, lr, steps - 1)[0],
                "fit_missing_mean": _gd_sum(X, y, w0, lr, steps),
            }
        noise = numeric.EPS * (steps + 1) * (np.abs(expected) + np.abs(w0))
        return compare(got, expected, noise, what=self.what, mistakes=mistakes)


def _gd_sum(X, y, w, lr, steps):
    """The trajectory with X^T (X w - y) not divided by N (for the diagnosis only)."""
    for _ in range(steps):
        w = w - lr * X.T @ (X @ w - y)
    return w


check_sigmoid = register(Sigmoid)
check_loss_gradients = register(LossGradients)
check_dL_dw1 = register(DLdw1)
check_fit_linear = register(FitLinear)
