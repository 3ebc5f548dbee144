"""Checks of the finite-difference exercises of notebook 01.

``check_central_difference(central_difference)``: the student's
``central_difference(f, x, h)`` must equal (f(x + h) - f(x - h)) / 2h up to
rounding, for several smooth functions, points and steps. Large steps are
among the cases on purpose: there a one-sided difference or an ignored ``h``
is far from the central one.
"""

import numpy as np

from backproplab import functions, numeric
from backproplab.messages import text

from ..contract import Case, Check, register, reject_unless_finite_number
from ..diagnose import compare

# What already computes a numerical derivative: an answer must not call these.
DIFFERENTIATORS = (
    "backproplab.numeric.central_difference",
    "backproplab.numeric.forward_difference",
    "backproplab.numeric.numerical_gradient",
    "scipy.differentiate.derivative",
    "scipy.optimize.approx_fprime",
    "numpy.gradient",
)
STEPS = (1e-1, 1e-2, 1e-3, 1e-4)
FUNCTIONS = ("sin", "exp", "cube", "gaussian", "log", "tanh")


class CentralDifference(Check):
    """central_difference(f, x, h) returns (f(x + h) - f(x - h)) / (2h) for a number x."""

    name = "central_difference"
    what = "central_difference(f, x, h)"
    defaults = {"seed": 0, "count": 8}
    delegation = DIFFERENTIATORS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            function = functions.SCALAR[FUNCTIONS[rng.integers(len(FUNCTIONS))]]
            x = float(function.sample(rng, 1)[0])
            h = STEPS[i % len(STEPS)]
            label = text("check.case_step", function=function.name, x=x, h=h)
            cases.append(Case(label, {"function": function.name, "x": x, "h": h}))
        return cases

    def call(self, student, case):
        f = functions.SCALAR[case.data["function"]].forward
        return student(f, case.data["x"], case.data["h"])

    def judge(self, case, value, params):
        f = functions.SCALAR[case.data["function"]].forward
        x, h = case.data["x"], case.data["h"]
        got = reject_unless_finite_number(value, self.what)
        expected = numeric.central_difference(f, x, h)
        noise = numeric.EPS * (abs(f(x + h)) + abs(f(x - h))) / (2 * h)
        mistakes = {
            "forward_difference": (f(x + h) - f(x)) / h,
            "backward_difference": (f(x) - f(x - h)) / h,
            "divided_by_h": (f(x + h) - f(x - h)) / h,
            "precedence": f(x + h) - f(x - h) / (2 * h),
            "precedence_times_h": (f(x + h) - f(x - h)) / 2 * h,
            "step_squared": (f(x + h) - f(x - h)) / (2 * h * h),
            "ignored_h": numeric.central_difference(f, x),
        }
        return compare(got, expected, noise, what=self.what, mistakes=mistakes)


check_central_difference = register(CentralDifference)
