"""Check of the gradient-descent exercise of notebook 01.

``check_gradient_descent(gradient_descent, n=3)``: the student's
``gradient_descent(grad, x0, learning_rate, steps)`` must return the
trajectory, an array (steps + 1, n) whose first row is x0, equal to the
library's :func:`backproplab.descent.gradient_descent`, and must leave x0 as
it found it. The gradient handed to the student is the analytic gradient of
a named function of :data:`backproplab.functions.TO_SCALAR`, never one the
student wrote, so a wrong numerical gradient earlier cannot fail this check.
"""

import numpy as np

from backproplab import descent, functions
from backproplab.messages import text

from ..contract import Case, Check, Reject, register, reject_unless_array
from ..diagnose import compare
from .gradients import unchanged

FUNCTIONS = ("bowl", "logsumexp", "rosenbrock")


def _learning_rate(name, n, rng):
    """A step that keeps the path bounded: below 2 / (largest curvature) where there is one."""
    if name == "bowl":  # curvatures 1..n
        return float(rng.uniform(0.3, 1.6) / n)
    if name == "rosenbrock":  # curvature up to ~3e3 on [-1.5, 1.5]^n
        return float(rng.uniform(1e-4, 4e-4))
    return float(rng.uniform(0.2, 1.5))


def _gradient(name):
    """The reference gradient as the student receives it: a fresh array on every call."""
    g = functions.TO_SCALAR[name].gradient
    return lambda x: g(np.array(x, dtype=np.float64))


class GradientDescent(Check):
    """gradient_descent(grad, x0, learning_rate, steps) returns the path (steps + 1, n), path[0] = x0."""

    name = "gradient_descent"
    what = "gradient_descent(grad, x0, learning_rate, steps)"
    defaults = {"seed": 0, "count": 3, "n": 3}
    delegation = ("backproplab.descent.gradient_descent",)

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, cases = params["n"], []
        for i in range(params["count"]):
            name = FUNCTIONS[(i + params["seed"]) % len(FUNCTIONS)]
            x0 = functions.TO_SCALAR[name].sample(rng, n).astype(np.float64)
            lr = _learning_rate(name, n, rng)
            steps = int(rng.integers(3, 9))
            label = text("check.case_descent", function=name, n=n, index=i, lr=lr, steps=steps)
            cases.append(Case(label, {"function": name, "x0": x0, "learning_rate": lr, "steps": steps}))
        return cases

    def call(self, student, case):
        x0 = case.data["x0"].copy()
        path = student(_gradient(case.data["function"]), x0, case.data["learning_rate"], case.data["steps"])
        return path, x0  # x0 as the student's function left it

    def judge(self, case, value, params):
        name, x0 = case.data["function"], case.data["x0"]
        lr, steps = case.data["learning_rate"], case.data["steps"]
        path, x0_after = value
        unchanged(x0, x0_after, self.what, "x0")
        shape = (steps + 1, x0.size)
        if isinstance(path, np.ndarray) and path.shape != shape:
            hints = {(steps, x0.size): text("check.hint_missing_row"),
                     (steps + 2, x0.size): text("check.hint_extra_row"),
                     x0.shape: text("check.hint_final_only")}
            if path.shape in hints:
                raise Reject(text("check.wrong_shape", what=self.what, expected=shape, got=path.shape,
                                  hint=hints[path.shape]))
        got = reject_unless_array(path, shape, self.what)
        grad = _gradient(name)
        expected = descent.gradient_descent(grad, x0, lr, steps)
        g0 = grad(x0)
        mistakes = {
            "ascent": descent.gradient_descent(lambda x: -grad(x), x0, lr, steps),
            "gradient_at_x0": x0 - lr * np.arange(steps + 1)[:, None] * g0,
            "learning_rate_twice": descent.gradient_descent(grad, x0, lr * lr, steps),
            "same_array": np.tile(expected[-1], (steps + 1, 1)),
            "same_array_after_x0": np.vstack([x0, np.tile(expected[-1], (steps, 1))]),
        }
        return compare(got, expected, what=self.what, mistakes=mistakes)


check_gradient_descent = register(GradientDescent)
