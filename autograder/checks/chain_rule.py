"""Checks of the exercises of notebook 02, the chain rule.

- ``check_chain(chain)``: chain(functions, derivatives, x) returns (z, dz/dx)
  for z = h_k(...h_1(x)), each local derivative taken where the forward pass
  reached; the derivative must be exact, not a finite difference;
- ``check_sigmoid(sigmoid)``: s(x) = 1 / (1 + exp(-x)) on arrays (of the
  input's shape) and on Python floats (a number back); no warning, NaN or inf
  at |x| = 800;
- ``check_sigmoid_prime(sigmoid_prime)``: s'(x), exact (not a finite
  difference), finite at |x| = 800;
- ``check_loss_gradients(loss_gradients)``: (dw, db) of the cost
  C = (1/N) sum_i (w x_i + b - y_i)^2 / 2, for N = 1 (one sample's loss) and N > 1;
- ``check_fit_line(fit_line)``: (w, b, costs) after ``steps`` full-batch
  steps with the gradient function it is given; costs[k] = C after k steps;
- ``check_two_layer_forward(two_layer_forward)`` and
  ``check_two_layer_gradients(two_layer_gradients)``: the two-layer scalar
  network z1 = w1 x + b1, o1 = s(z1), z2 = w2 o1 + b2, o2 = s(z2),
  L = (o2 - y)^2 / 2, its forward values and its four gradients, each judged;
- ``check_train_two_layer(train_two_layer)``: full-batch gradient descent on
  the network's cost with the forward and gradient functions it is given.

Every reference comes from :mod:`backproplab` or from this module, never from
the student; each check lists in ``delegation`` the functions that already do
what its exercise asks.
"""

import math
import warnings

import numpy as np

from backproplab import numeric, scalar_net
from backproplab.functions import sigmoid
from backproplab.messages import text

from ..contract import Case, Check, Reject, describe, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare, recognise, reject_if_numerical, where
from ..evidence import Other

EXTREMES = np.array([-800.0, -40.0, -10.0, -1.0, 0.0, 1.0, 10.0, 40.0, 800.0])
LEFT_TAIL = np.array([-20.0, -36.0, -40.0, -100.0, -300.0, -700.0])  # s(x) from 2e-9 down to 1e-304
PARAMS = scalar_net.PARAMS  # ("w1", "b1", "w2", "b2")
FORWARD = ("z1", "o1", "z2", "o2")

# What already computes a derivative numerically: an analytic answer must not call these.
DIFFERENTIATORS = (
    "backproplab.numeric.central_difference",
    "backproplab.numeric.forward_difference",
    "backproplab.numeric.numerical_gradient",
    "scipy.differentiate.derivative",
    "scipy.optimize.approx_fprime",
    "numpy.gradient",
)
SIGMOIDS = ("backproplab.functions.sigmoid", "backproplab.scalar_net.sigmoid", "scipy.special.expit")
LOOPS = ("backproplab.regression.linear_regression_gd", "backproplab.descent.gradient_descent")


# -- helpers ------------------------------------------------------------------------

def _numbers(value, count, what, message):
    """``value`` (a tuple, or a 1-D array) as an array of ``count`` finite numbers, or Reject."""
    if isinstance(value, np.ndarray) and value.shape == (count,):
        value = tuple(np.asarray(value, dtype=np.float64))
    if not isinstance(value, tuple) or len(value) != count:
        raise Reject(message)
    if not all(isinstance(v, float) or (isinstance(v, np.ndarray) and v.shape == ()) for v in value):
        raise Reject(message)
    return np.array([reject_unless_finite_number(v, what) for v in value])


def _series(value, length, what):
    """A sequence of ``length`` finite numbers (an array, a list or a tuple), as an array, or Reject."""
    if isinstance(value, tuple) and all(isinstance(v, float) or (isinstance(v, np.ndarray) and v.shape == ())
                                        for v in value):
        value = np.array([float(v) for v in value])
    if not isinstance(value, np.ndarray) or value.ndim != 1:
        raise Reject(text("check.chain_expected_costs", what=what, length=length, got=describe(value)))
    if value.shape != (length,):
        raise Reject(text("check.chain_costs_length", what=what, length=length, got=value.shape[0]))
    return reject_unless_array(value, (length,), what)


def _entries(result, keys):
    """The values of a dict at ``keys`` as a tuple (for the evidence), or an opaque stand-in.

    The stand-in is recorded as "other" evidence under the type name and repr of
    what came back, so that a tuple of four numbers is not taken for the dict.
    """
    if isinstance(result, dict) and all(k in result for k in keys):
        return tuple(result[k] for k in keys)
    try:
        shown = repr(result)[:200]
    except Exception:  # a hostile __repr__ must not break the check
        shown = "?"
    return type(type(result).__name__, (), {"__repr__": lambda self: shown})()


def _reject_unless_dict(value, keys, what):
    if isinstance(value, tuple) and len(value) == len(keys):
        return value
    raise Reject(text("check.chain_expected_dict", what=what, keys=", ".join(keys), got=describe(value)))


# -- the chain of functions ---------------------------------------------------------

LINKS = {  # name: (h, h'), on numbers
    "sin": (math.sin, math.cos),
    "tanh": (math.tanh, lambda t: 1.0 - math.tanh(t) ** 2),
    "exp": (math.exp, math.exp),
    "square": (lambda t: t * t, lambda t: 2.0 * t),
    "cube": (lambda t: t ** 3, lambda t: 3.0 * t * t),
    "log(1 + t^2)": (lambda t: math.log1p(t * t), lambda t: 2.0 * t / (1.0 + t * t)),
    "3t - 1": (lambda t: 3.0 * t - 1.0, lambda t: 3.0),
    "1 / (1 + t^2)": (lambda t: 1.0 / (1.0 + t * t), lambda t: -2.0 * t / (1.0 + t * t) ** 2),
}


def _run_chain(names, x):
    """The points s_0 = x, s_1 = h_1(x), ..., s_k of the forward pass."""
    points = [x]
    for name in names:
        points.append(LINKS[name][0](points[-1]))
    return points


class Chain(Check):
    """chain(functions, derivatives, x) returns (z, dz/dx) for z = h_k(...h_1(x))."""

    name = "chain"
    what = "chain(functions, derivatives, x)"
    defaults = {"seed": 0, "count": 4}
    delegation = DIFFERENTIATORS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        names, cases = sorted(LINKS), []
        while len(cases) < params["count"]:
            k = 2 + len(cases) % 3
            chosen = [names[i] for i in rng.choice(len(names), size=k, replace=False)]
            x = float(np.round(rng.uniform(-1.2, 1.2), 4))
            points = _run_chain(chosen, x)
            slopes = [LINKS[n][1](p) for n, p in zip(chosen, points)]
            if all(abs(s) > 0.05 for s in slopes) and all(abs(p) < 50 for p in points) and abs(x) > 0.1:
                label = text("check.chain_case", links=" -> ".join(chosen), x=x)
                cases.append(Case(label, {"links": chosen, "x": x}))
        return cases

    def call(self, student, case):
        functions = [LINKS[n][0] for n in case.data["links"]]
        derivatives = [LINKS[n][1] for n in case.data["links"]]
        return student(functions, derivatives, case.data["x"])

    def judge(self, case, value, params):
        names, x = case.data["links"], case.data["x"]
        got = _numbers(value, 2, self.what, text("check.chain_expected_pair", what=self.what, got=describe(value)))
        points = _run_chain(names, x)
        slopes = [LINKS[n][1](p) for n, p in zip(names, points)]
        reversed_value = x
        for n in reversed(names):
            reversed_value = LINKS[n][0](reversed_value)
        compare(got[0], points[-1], 0.0, what=text("check.chain_value_of", what=self.what), mistakes={
            "chain_value_input": x,
            "chain_value_reversed": reversed_value,
            "chain_value_last_only": LINKS[names[-1]][0](x),
        })

        def compose(v):
            return _run_chain(names, v[0])[-1]

        numerical, noise = numeric.numerical_gradient(compose, np.array([x]), with_noise=True)
        exact = math.prod(slopes)
        what = text("check.chain_slope_of", what=self.what)
        score = compare(got[1], numerical[0], noise[0], what=what, mistakes={
            "chain_at_input": math.prod(LINKS[n][1](x) for n in names),
            "chain_at_output": math.prod(LINKS[n][1](p) for n, p in zip(names, points[1:])),
            "chain_sum": sum(slopes),
            "chain_first_missing": math.prod(slopes[1:]),
            "chain_last_missing": math.prod(slopes[:-1]),
        })
        reject_if_numerical(got[1], exact, noise[0], what=what)
        return score


# -- the sigmoid and its derivative --------------------------------------------------

def _sigmoid_cases(params, scale, clip):
    rng = np.random.default_rng(params["seed"])
    n = params["n"]
    vector = np.clip(rng.normal(0.0, scale, n), -clip, clip)
    matrix = np.clip(rng.normal(0.0, scale, (2, n // 2 + 1)), -clip, clip)
    number = round(float(np.clip(rng.normal(0.0, scale), -clip, clip)), 3)
    for x in (vector.reshape(-1), matrix.reshape(-1)):  # both signs, so that each branch is exercised
        x[0], x[1] = abs(x[0]) + 0.1, -abs(x[1]) - 0.1
    return [
        Case(text("check.case_sigmoid_random", n=n), {"x": vector}),
        Case(text("check.case_sigmoid_matrix", rows=2, cols=matrix.shape[1]), {"x": matrix}),
        Case(text("check.case_sigmoid_number", x=number), {"x": number}),
        Case(text("check.case_sigmoid_extremes"), {"x": EXTREMES.copy()}),
        Case(text("check.case_sigmoid_number", x=-800.0), {"x": -800.0}),
        Case(text("check.case_sigmoid_left_tail"), {"x": LEFT_TAIL.copy(), "relative": True}),
    ]


def _call_counting_warnings(student, x):
    """(student(x), number of RuntimeWarnings); underflow to 0 (exp(-800)) is harmless and not counted."""
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
        warnings.simplefilter("always")
        out = student(x.copy() if isinstance(x, np.ndarray) else x)
    return out, float(sum(issubclass(w.category, RuntimeWarning) for w in caught))


def _shaped(out, x, what):
    """The student's result as float64 of x's shape: an array for an array, a number for a number."""
    if isinstance(x, np.ndarray):
        return reject_unless_array(out, x.shape, what)
    return np.float64(reject_unless_finite_number(out, what))


class Sigmoid(Check):
    """sigmoid(x) returns 1 / (1 + exp(-x)) elementwise, of x's shape, without overflow at |x| = 800."""

    name = "sigmoid"
    what = "sigmoid(x)"
    defaults = {"seed": 0, "n": 7}
    delegation = SIGMOIDS

    def cases(self, params):
        return _sigmoid_cases(params, 2.5, 12.0)

    def call(self, student, case):
        return _call_counting_warnings(student, case.data["x"])

    def judge(self, case, value, params):
        out, warned = value
        got = _shaped(out, case.data["x"], self.what)
        x = np.asarray(case.data["x"], dtype=np.float64)
        expected = sigmoid(x)
        e = np.exp(-np.abs(x))
        mistakes = {
            "sigmoid_sign": sigmoid(-x),
            "sigmoid_tanh": np.tanh(x),
            "sigmoid_half": sigmoid(2.0 * x),
            "chain_sigmoid_negative_branch": e / (1.0 + e),
            "chain_sigmoid_positive_branch": 1.0 / (1.0 + e),
        }
        score = compare(got, expected, numeric.EPS * np.abs(expected), what=self.what, mistakes=mistakes)
        if warned > 0:
            raise Reject(text("check.sigmoid_warned", what=self.what, count=int(warned)))
        if case.data.get("relative"):
            # tiny values pass any absolute tolerance: here every digit must be right
            worst = int(np.argmax(np.abs(got - expected) / expected))
            if abs(got[worst] - expected[worst]) > 1e-12 * expected[worst]:
                raise Reject(text("check.sigmoid_tail_lost", what=self.what, x=x[worst],
                                  expected=expected[worst], got=got[worst]))
        return score


class SigmoidPrime(Check):
    """sigmoid_prime(x) returns s'(x) elementwise, exactly (no finite difference), finite at |x| = 800."""

    name = "sigmoid_prime"
    what = "sigmoid_prime(x)"
    defaults = {"seed": 0, "n": 7}
    delegation = (*SIGMOIDS, "backproplab.scalar_net.sigmoid_prime", *DIFFERENTIATORS)

    def cases(self, params):
        return _sigmoid_cases(params, 1.5, 4.0)

    def call(self, student, case):
        return _call_counting_warnings(student, case.data["x"])

    def judge(self, case, value, params):
        out, _ = value  # warnings of the derivative are not graded; NaN and inf are
        x0 = case.data["x"]
        got = _shaped(out, x0, self.what)
        x = np.asarray(x0, dtype=np.float64)
        s = sigmoid(x)
        exact = s * (1.0 - s)
        with np.errstate(all="ignore"):
            ss = sigmoid(s)
            mistakes = {
                "chain_sigmoid_prime_on_input": x * (1.0 - x),
                "chain_sigmoid_prime_is_s": s,
                "chain_sigmoid_prime_no_square": 1.0 - s,
                "chain_sigmoid_prime_tanh_rule": 1.0 - s * s,
                "chain_sigmoid_prime_at_output": ss * (1.0 - ss),
                "chain_sigmoid_prime_inner_sign": -exact,
            }
        if np.max(np.abs(x)) > 20:  # the extremes: finite, and right to rounding
            return compare(got, exact, numeric.EPS * np.abs(exact), what=self.what, mistakes=mistakes)
        numerical, noise = np.zeros(x.shape), np.zeros(x.shape)
        for i in np.ndindex(x.shape):  # one entry at a time: the noise is that of one sigmoid
            d, n = numeric.numerical_gradient(lambda v: float(sigmoid(v[0])), np.array([x[i]]), with_noise=True)
            numerical[i], noise[i] = d[0], n[0]
        score = compare(got, numerical, noise, what=self.what, mistakes=mistakes)
        reject_if_numerical(got, exact, noise, what=self.what)
        return score


# -- the line y_hat = w x + b ----------------------------------------------------------

def _line_gradients(w, b, x, y):
    """The reference (dC/dw, dC/db) of C = (1/N) sum (w x_i + b - y_i)^2 / 2."""
    error = w * x + b - y
    return float(np.mean(error * x)), float(np.mean(error))


def _line_cost(w, b, x, y):
    return float(np.mean((w * x + b - y) ** 2) / 2.0)


class LossGradients(Check):
    """loss_gradients(w, b, x, y) returns (dw, db), the gradient of C = (1/N) sum (w x_i + b - y_i)^2 / 2."""

    name = "loss_gradients"
    what = "loss_gradients(w, b, x, y)"
    defaults = {"seed": 0, "count": 3, "n": 5}
    delegation = ("backproplab.scalar_net.line_gradients", "backproplab.regression.cost_gradient", *DIFFERENTIATORS)

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            n = 1 if i == 0 else params["n"] + i - 1
            w, b = (float(v) for v in rng.normal(0.0, 1.5, 2))
            x = rng.normal(0.5, 2.0, n)
            y = w * x + b + rng.normal(0.0, 2.0, n)  # the model is off by a few units
            cases.append(Case(text("check.case_line", n=n, w=w, b=b), {"w": w, "b": b, "x": x, "y": y}))
        return cases

    def call(self, student, case):
        d = case.data
        return student(d["w"], d["b"], d["x"].copy(), d["y"].copy())

    def judge(self, case, value, params):
        d = case.data
        w, b, x, y = d["w"], d["b"], d["x"], d["y"]
        got = _numbers(value, 2, self.what, text("check.expected_pair", what=self.what, got=describe(value)))
        expected, noise = numeric.numerical_gradient(
            lambda v: _line_cost(v[0], v[1], x, y), np.array([w, b]), with_noise=True)
        exact = np.array(_line_gradients(w, b, x, y))
        dw, db = exact
        error = w * x + b - y
        mistakes = {
            "inside_out_sign": -exact,
            "dw_missing_x": np.array([db, db]),
            "swapped_dw_db": np.array([db, dw]),
            "chain_line_x_squared": np.array([np.mean(error * x * x), db]),
            "chain_line_product_of_means": np.array([np.mean(error) * np.mean(x), db]),
            "chain_line_last_sample": np.array([error[-1] * x[-1], error[-1]]),
        }
        if x.size == 1:  # one sample: these agree with the right answer
            for key in ("chain_line_product_of_means", "chain_line_last_sample"):
                mistakes.pop(key)
        factors = {"N": x.size} if x.size > 1 else {}
        score = compare(got, expected, noise, what=self.what, mistakes=mistakes, factors=factors)
        reject_if_numerical(got, exact, noise, what=self.what)
        return score


def _fit(w, b, x, y, lr, steps, *, sign=-1.0, first_only=False, sequential=False, cost_scale=1.0,
         cost_sum=False, grad_scale=1.0):
    """The reference loop (and, with its options, the mistakes it names): (w, b, costs)."""
    def cost(w, b):
        c = _line_cost(w, b, x, y) * cost_scale
        return c * x.size if cost_sum else c

    def gradients(w, b, x, y):
        return tuple(grad_scale * g for g in _line_gradients(w, b, x, y))

    costs = [cost(w, b)]
    g0 = gradients(w, b, x, y)
    for _ in range(steps):
        if sequential:
            w = w + sign * lr * gradients(w, b, x, y)[0]
            b = b + sign * lr * gradients(w, b, x, y)[1]
        else:
            dw, db = g0 if first_only else gradients(w, b, x, y)
            w, b = w + sign * lr * dw, b + sign * lr * db
        costs.append(cost(w, b))
    return w, b, np.array(costs)


class FitLine(Check):
    """fit_line(gradients, w, b, x, y, lr, steps) returns (w, b, costs) after ``steps`` full-batch steps."""

    name = "fit_line"
    what = "fit_line(gradients, w, b, x, y, lr, steps)"
    defaults = {"seed": 0, "count": 3, "n": 8}
    delegation = LOOPS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, cases = params["n"], []
        for i in range(params["count"]):
            x = rng.normal(1.0, 2.0, n)
            y = rng.normal(0.0, 2.0) * x + rng.normal(0.0, 2.0) + rng.normal(0.0, 1.0, n)
            w, b = (float(v) for v in rng.normal(0.0, 1.0, 2))
            X = np.column_stack([np.ones(n), x])
            lr = float(rng.uniform(0.3, 0.8) * 2.0 / np.linalg.eigvalsh(X.T @ X / n).max())
            steps = (2, 5, 11)[i % 3] + int(rng.integers(0, 3))
            # every other case hands over the gradients of C / 2: a loop must use the gradients it is given
            scale = 1.0 if i % 2 == 0 else 0.5
            label = text("check.chain_case_fit", index=i, n=n, lr=lr, steps=steps)
            if scale != 1.0:
                label += text("check.chain_case_fit_half")
            cases.append(Case(label, {"x": x, "y": y, "w": w, "b": b, "lr": lr, "steps": steps, "scale": scale}))
        return cases

    def call(self, student, case):
        d = case.data
        scale = d.get("scale", 1.0)

        def gradients(w, b, x, y):
            return tuple(scale * g for g in _line_gradients(w, b, x, y))

        return student(gradients, d["w"], d["b"], d["x"].copy(), d["y"].copy(), d["lr"], d["steps"])

    def judge(self, case, value, params):
        d = case.data
        x, y, w, b, lr, steps = d["x"], d["y"], d["w"], d["b"], d["lr"], d["steps"]
        if not isinstance(value, tuple) or len(value) != 3:
            raise Reject(text("check.chain_expected_fit", what=self.what, got=describe(value)))
        got = np.array([reject_unless_finite_number(v, self.what) for v in value[:2]])
        scale = d.get("scale", 1.0)
        w_ref, b_ref, costs_ref = _fit(w, b, x, y, lr, steps, grad_scale=scale)
        with np.errstate(all="ignore"):
            mistakes = {
                "fit_ascent": _fit(w, b, x, y, lr, steps, grad_scale=scale, sign=1.0)[:2],
                "chain_fit_first_gradient": _fit(w, b, x, y, lr, steps, grad_scale=scale, first_only=True)[:2],
                "fit_extra_step": _fit(w, b, x, y, lr, steps + 1, grad_scale=scale)[:2],
                "fit_missing_step": _fit(w, b, x, y, lr, steps - 1, grad_scale=scale)[:2],
                "chain_fit_lr_twice": _fit(w, b, x, y, lr * lr, steps, grad_scale=scale)[:2],
                "chain_fit_sequential": _fit(w, b, x, y, lr, steps, grad_scale=scale, sequential=True)[:2],
                "chain_fit_no_update": (w, b),
            }
            if scale != 1.0:
                mistakes["chain_fit_ignores_gradients"] = _fit(w, b, x, y, lr, steps)[:2]
        noise = numeric.EPS * (steps + 1) * (np.abs([w_ref, b_ref]) + abs(w) + abs(b))
        what = text("check.chain_fit_weights", what=self.what)
        score = compare(got, np.array([w_ref, b_ref]), noise, what=what,
                        mistakes={k: np.array(v, dtype=float) for k, v in mistakes.items()})
        costs = _series(value[2], steps + 1, text("check.chain_fit_costs", what=self.what))
        cost_mistakes = {"chain_costs_sum": _fit(w, b, x, y, lr, steps, grad_scale=scale, cost_sum=True)[2]}
        noise = numeric.EPS * (steps + 1) * 10 * np.abs(costs_ref)
        score = max(score, compare(costs, costs_ref, noise, what=text("check.chain_fit_costs", what=self.what),
                                   mistakes=cost_mistakes, factors={"N": x.size}))
        return score


# -- the two-layer scalar network ---------------------------------------------------------

def _two_layer_cases(params):
    rng = np.random.default_rng(params["seed"])
    cases = []
    while len(cases) < params["count"]:
        p = dict(zip(PARAMS, (float(v) for v in rng.normal(0.0, 1.2, 4))))
        x = rng.choice([-1.0, 1.0], params["samples"]) * rng.uniform(0.2, 2.0, params["samples"])
        y = rng.uniform(0.0, 1.0, params["samples"])
        forward = [scalar_net.two_layer_forward(p, xi) for xi in x]
        live = (abs(abs(p["w2"]) - 1.0) > 0.1 and abs(p["w2"]) > 0.2
                and all(abs(abs(xi) - 1.0) > 0.05 for xi in x)
                and all(abs(f["z1"]) <= 3 and abs(f["z2"]) <= 3 and abs(f["o2"] - yi) > 0.05
                        and abs(f["o1"] - xi) > 0.05 for f, xi, yi in zip(forward, x, y)))
        if live:
            label = text("check.case_two_layer", index=len(cases), samples=x.size, **p)
            cases.append(Case(label, {"params": p, "x": x, "y": y}))
    return cases


class TwoLayerForward(Check):
    """two_layer_forward(params, x) returns {"z1", "o1", "z2", "o2"} of the two-layer scalar network."""

    name = "two_layer_forward"
    what = "two_layer_forward(params, x)"
    defaults = {"seed": 0, "count": 3, "samples": 4}
    delegation = ("backproplab.scalar_net.two_layer_forward", "backproplab.scalar_net.two_layer_loss")

    def cases(self, params):
        return _two_layer_cases(params)

    def call(self, student, case):
        p = case.data["params"]
        return tuple(_entries(student(dict(p), float(x)), FORWARD) for x in case.data["x"])

    def judge(self, case, value, params):
        p, xs = case.data["params"], case.data["x"]
        if not isinstance(value, tuple) or len(value) != xs.size:
            raise Reject(text("check.chain_expected_dict", what=self.what, keys=", ".join(FORWARD),
                              got=describe(value)))
        got = np.array([[reject_unless_finite_number(v, self.what) for v in
                         _reject_unless_dict(item, FORWARD, self.what)] for item in value])
        z1 = p["w1"] * xs + p["b1"]
        o1 = sigmoid(z1)
        z2 = p["w2"] * o1 + p["b2"]
        o2 = sigmoid(z2)
        expected = np.column_stack([z1, o1, z2, o2])
        mistakes = {
            "z1": {"chain_forward_no_bias": p["w1"] * xs, "chain_forward_swapped": p["b1"] * xs + p["w1"]},
            "o1": {"chain_forward_no_hidden_sigmoid": z1, "sigmoid_sign": sigmoid(-z1)},
            "z2": {"chain_forward_z2_from_z1": p["w2"] * z1 + p["b2"], "chain_forward_z2_from_x": p["w2"] * xs + p["b2"]},
            "o2": {"chain_forward_no_output_sigmoid": z2, "sigmoid_sign": sigmoid(-z2)},
        }
        score = 0.0
        for j, key in enumerate(FORWARD):  # in the order of the forward pass: the first wrong one is named
            noise = 4 * numeric.EPS * (np.abs(expected[:, j]) + 1.0)
            score = max(score, compare(got[:, j], expected[:, j], noise, what=text(
                "check.chain_forward_entry", what=self.what, name=key), mistakes=mistakes[key]))
        return score


def _two_layer_mistakes(p, x, y):
    """{gradient: {mistake key: what that mistake gives}} for one sample."""
    f = scalar_net.two_layer_forward(p, x)
    z1, o1, z2, o2 = (f[k] for k in FORWARD)
    up = o2 - y

    def ds(z):
        s = float(sigmoid(z))
        return s * (1.0 - s)

    s2, s1 = ds(z2), ds(z1)
    w2 = p["w2"]
    slopes = {  # how each wrong slope rule replaces s'(z)
        "chain_net_on_input": (z2 * (1 - z2), z1 * (1 - z1)),
        "chain_net_is_s": (o2, o1),
        "chain_net_at_output": (ds(o2), ds(o1)),
    }
    out = {
        "b2": {"missing_output_slope": up, "missing_upstream": s2, "chain_net_b2_times_input": up * s2 * o1},
        "w2": {"missing_output_slope": up * o1, "missing_upstream": s2 * o1, "chain_net_w2_uses_x": up * s2 * x},
        "b1": {"missing_output_slope": up * w2 * s1, "missing_hidden_slope": up * s2 * w2,
               "missing_upstream": s2 * w2 * s1, "missing_w2": up * s2 * s1, "chain_net_b1_times_x": up * s2 * w2 * s1 * x,
               "chain_net_w1_for_w2": up * s2 * p["w1"] * s1},
        "w1": {"missing_output_slope": up * w2 * s1 * x, "missing_hidden_slope": up * s2 * w2 * x,
               "missing_upstream": s2 * w2 * s1 * x, "missing_w2": up * s2 * s1 * x,
               "chain_net_w1_uses_o1": up * s2 * w2 * s1 * o1, "chain_net_w1_for_w2": up * s2 * p["w1"] * s1 * x},
    }
    for key, (a2, a1) in slopes.items():
        out["b2"][key] = up * a2
        out["w2"][key] = up * a2 * o1
        out["b1"][key] = up * a2 * w2 * a1
        out["w1"][key] = up * a2 * w2 * a1 * x
    return out


class TwoLayerGradients(Check):
    """two_layer_gradients(params, x, y) returns {"w1", "b1", "w2", "b2"}: dL/d(each), exact."""

    name = "two_layer_gradients"
    what = "two_layer_gradients(params, x, y)"
    defaults = {"seed": 0, "count": 3, "samples": 4}
    delegation = ("backproplab.scalar_net.two_layer_gradients", "backproplab.scalar_net.two_layer_forward",
                  "backproplab.scalar_net.two_layer_loss", *DIFFERENTIATORS)

    def cases(self, params):
        return _two_layer_cases(params)

    def call(self, student, case):
        d = case.data
        return tuple(_entries(student(dict(d["params"]), float(x), float(y)), PARAMS) for x, y in zip(d["x"], d["y"]))

    def judge(self, case, value, params):
        p, xs, ys = case.data["params"], case.data["x"], case.data["y"]
        if not isinstance(value, tuple) or len(value) != xs.size:
            raise Reject(text("check.chain_expected_dict", what=self.what, keys=", ".join(PARAMS),
                              got=describe(value)))
        got = np.array([[reject_unless_finite_number(v, self.what) for v in
                         _reject_unless_dict(item, PARAMS, self.what)] for item in value])
        numerical, noise, exact = (np.zeros((xs.size, 4)) for _ in range(3))
        predicted = {name: {} for name in PARAMS}
        for i, (x, y) in enumerate(zip(xs, ys)):
            numerical[i], noise[i] = numeric.numerical_gradient(
                lambda v: scalar_net.two_layer_loss(dict(zip(PARAMS, v)), x, y),
                np.array([p[k] for k in PARAMS]), with_noise=True)
            g = scalar_net.two_layer_gradients(p, x, y)
            exact[i] = [g[k] for k in PARAMS]
            for name, table in _two_layer_mistakes(p, x, y).items():
                for key, v in table.items():
                    predicted[name].setdefault(key, np.zeros(xs.size))[i] = v
        reasons, score = [], 0.0
        for name in ("b2", "w2", "b1", "w1"):  # from the output back: the first wrong factor shows first
            j = PARAMS.index(name)
            scores = numeric.error_score(got[:, j], numerical[:, j], noise[:, j])
            score = max(score, float(np.max(scores)))
            if np.max(scores) <= 1.0:
                continue
            lines = [text("check.mismatch", what=text("check.chain_gradient_entry", what=self.what, name=name),
                          score=float(np.max(scores)))]
            hint = recognise(got[:, j], numerical[:, j], noise[:, j], predicted[name], {})
            lines += [hint] if hint else []
            if not reasons:  # the table of entries for the first wrong gradient only
                lines.append(where(got[:, j], numerical[:, j], scores))
            reasons.append("\n".join(lines))
        if reasons:
            raise Reject("\n".join(reasons))
        reject_if_numerical(got, exact, noise, what=self.what)
        return score


# -- training the two-layer network --------------------------------------------------------

def _forward(params, x):
    return scalar_net.two_layer_forward(params, x)


def _gradients(params, x, y):
    return scalar_net.two_layer_gradients(params, x, y)


def _net_cost(params, xs, ys, scale=1.0):
    return scale * float(np.mean([(_forward(params, x)["o2"] - y) ** 2 / 2.0 for x, y in zip(xs, ys)]))


def _train(params, xs, ys, lr, steps, *, sign=-1.0, mean=True, per_sample=False, first_only=False,
           first_sample=False, weights_only=False, cost_scale=1.0):
    """The reference loop (and, with its options, the mistakes it names): (params, costs)."""
    params = dict(params)
    costs = [_net_cost(params, xs, ys, cost_scale)]
    n = len(xs)
    frozen = None
    for _ in range(steps):
        if per_sample:
            for x, y in zip(xs, ys):
                g = _gradients(params, x, y)
                params = {k: params[k] + sign * lr * g[k] for k in PARAMS}
        else:
            if frozen is not None:
                total = frozen
            else:
                samples = list(zip(xs, ys))[:1] if first_sample else zip(xs, ys)
                total = {k: 0.0 for k in PARAMS}
                for x, y in samples:
                    g = _gradients(params, x, y)
                    for k in PARAMS:
                        total[k] += g[k] / (n if mean and not first_sample else 1)
                if first_only:
                    frozen = total
            moved = ("w1", "w2") if weights_only else PARAMS
            params = {k: params[k] + sign * lr * total[k] if k in moved else params[k] for k in PARAMS}
        costs.append(_net_cost(params, xs, ys, cost_scale))
    return params, np.array(costs)


class TrainTwoLayer(Check):
    """train_two_layer(forward, gradients, params, xs, ys, lr, steps) returns (params, costs)."""

    name = "train_two_layer"
    what = "train_two_layer(forward, gradients, params, xs, ys, lr, steps)"
    defaults = {"seed": 0, "count": 3, "samples": 5}
    delegation = LOOPS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            start = dict(zip(PARAMS, (float(v) for v in rng.normal(0.0, 1.0, 4))))
            xs = rng.uniform(-2.0, 2.0, params["samples"])
            ys = rng.uniform(0.1, 0.9, params["samples"])
            lr = float(rng.uniform(0.5, 2.0))
            steps = (3, 6, 10)[i % 3] + int(rng.integers(0, 3))
            label = text("check.chain_case_train", index=i, samples=xs.size, lr=lr, steps=steps)
            cases.append(Case(label, {"params": start, "x": xs, "y": ys, "lr": lr, "steps": steps}))
        return cases

    def call(self, student, case):
        d = case.data
        start = dict(d["params"])
        out = student(_forward, _gradients, start, d["x"].copy(), d["y"].copy(), d["lr"], d["steps"])
        after = [float(start[k]) if isinstance(start.get(k), (int, float)) else math.nan for k in PARAMS]
        if isinstance(out, tuple) and len(out) == 2:
            out = (_entries(out[0], PARAMS), out[1])
        return out, np.array(after)  # the dict it was given, after the call

    def judge(self, case, value, params):
        d = case.data
        start, xs, ys, lr, steps = d["params"], d["x"], d["y"], d["lr"], d["steps"]
        out, after = value
        before = np.array([start[k] for k in PARAMS])
        if not np.array_equal(np.asarray(after, dtype=float), before):
            raise Reject(text("check.chain_train_changed_params", what=self.what))
        if not isinstance(out, tuple) or len(out) != 2:
            raise Reject(text("check.chain_expected_train", what=self.what, got=describe(out)))
        got = np.array([reject_unless_finite_number(v, self.what)
                        for v in _reject_unless_dict(out[0], PARAMS, self.what)])
        ref, costs_ref = _train(start, xs, ys, lr, steps)

        def final(**options):
            trained = _train(start, xs, ys, lr, steps, **options)[0]
            return np.array([trained[k] for k in PARAMS])

        def mistakes():  # replayed only when the answer fails
            with np.errstate(all="ignore"):
                return {
                    "fit_ascent": final(sign=1.0),
                    "chain_train_sum": final(mean=False),
                    "chain_train_per_sample": final(per_sample=True),
                    "chain_train_per_sample_mean": np.array(
                        [_train(start, xs, ys, lr / len(xs), steps, per_sample=True)[0][k] for k in PARAMS]),
                    "chain_train_first_gradient": final(first_only=True),
                    "chain_train_first_sample": final(first_sample=True),
                    "chain_train_weights_only": final(weights_only=True),
                    "fit_extra_step": np.array([_train(start, xs, ys, lr, steps + 1)[0][k] for k in PARAMS]),
                    "fit_missing_step": np.array([_train(start, xs, ys, lr, steps - 1)[0][k] for k in PARAMS]),
                    "chain_fit_lr_twice": np.array([_train(start, xs, ys, lr * lr, steps)[0][k] for k in PARAMS]),
                    "chain_fit_no_update": before,
                }

        expected = np.array([ref[k] for k in PARAMS])
        noise = 1e-12 * (np.abs(expected) + np.abs(before) + 1.0) * steps
        score = compare(got, expected, noise, what=text("check.chain_train_params", what=self.what),
                        mistakes=mistakes)
        costs = _series(out[1], steps + 1, text("check.chain_fit_costs", what=self.what))
        cost_mistakes = {"chain_costs_sum": costs_ref * xs.size}
        score = max(score, compare(costs, costs_ref, 1e-12 * (np.abs(costs_ref) + 1e-300) * steps,
                                   what=text("check.chain_fit_costs", what=self.what),
                                   mistakes=cost_mistakes, factors={"N": xs.size}))
        return score


check_chain = register(Chain)
check_sigmoid = register(Sigmoid)
check_sigmoid_prime = register(SigmoidPrime)
check_loss_gradients = register(LossGradients)
check_fit_line = register(FitLine)
check_two_layer_forward = register(TwoLayerForward)
check_two_layer_gradients = register(TwoLayerGradients)
check_train_two_layer = register(TrainTwoLayer)
