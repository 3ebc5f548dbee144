"""Checks of analytic derivatives against central differences of a named function.

- ``check_derivative(df, function="sigmoid")``: df(x) = f'(x), f: R -> R;
- ``check_gradient(grad, function="bowl", n=5)``: grad(x) = grad f(x), f: R^n -> R;
- ``check_jacobian(jac, function="softmax", n=4)``: jac(x) = J (m, n), f: R^n -> R^m.

The reference forward comes from :mod:`backproplab.functions`, never from the
student, and the finite differences from :mod:`backproplab.numeric`.
"""

import numpy as np

from backproplab import functions, numeric
from backproplab.messages import text

from ..contract import Case, Check, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare, reject_if_numerical


def _points(table, params, shape):
    """``count`` seeded points of the named function's domain, each of ``shape``."""
    function = functions.lookup(table, params["function"])
    rng = np.random.default_rng(params["seed"])
    return function, [function.sample(rng, shape) for _ in range(params["count"])]


class Derivative(Check):
    """df(x) is the derivative of the named f: R -> R at a number x."""

    name = "derivative"
    what = "df(x)"
    defaults = {"function": "sin", "seed": 0, "count": 6}

    def cases(self, params):
        function, points = _points(functions.SCALAR, params, 1)
        return [Case(text("check.case_point", function=function.name, x=float(p[0])), {"x": float(p[0])})
                for p in points]

    def call(self, student, case):
        return student(case.data["x"])

    def judge(self, case, value, params):
        f = functions.lookup(functions.SCALAR, params["function"]).forward
        x = case.data["x"]
        got = reject_unless_finite_number(value, self.what)
        grad, noise = numeric.numerical_gradient(lambda v: f(v[0]), np.array([x]), with_noise=True)
        return compare(got, grad[0], noise[0], what=self.what, mistakes={"returned_value": f(x)})


class Gradient(Check):
    """grad(x) is the gradient of the named f: R^n -> R, an array of x's shape (n,)."""

    name = "gradient"
    what = "grad(x)"
    defaults = {"function": "bowl", "seed": 0, "count": 3, "n": 5}

    def cases(self, params):
        function, points = _points(functions.TO_SCALAR, params, params["n"])
        return [Case(text("check.case_vector", function=function.name, n=params["n"], index=i), {"x": p})
                for i, p in enumerate(points)]

    def call(self, student, case):
        return student(case.data["x"].copy())

    def judge(self, case, value, params):
        f = functions.lookup(functions.TO_SCALAR, params["function"]).forward
        x = case.data["x"]
        got = reject_unless_array(value, x.shape, self.what)
        grad, noise = numeric.numerical_gradient(f, x, with_noise=True)
        score = compare(got, grad, noise, what=self.what, factors={"n": params["n"]})
        exact = functions.lookup(functions.TO_SCALAR, params["function"]).gradient
        if exact is not None:
            reject_if_numerical(got, exact(x), noise, what=self.what)
        return score


class Jacobian(Check):
    """jac(x) is the Jacobian of the named f: R^n -> R^m, an array (m, n) with J[j, i] = df_j/dx_i."""

    name = "jacobian"
    what = "jac(x)"
    defaults = {"function": "softmax", "seed": 0, "count": 2, "n": 4}

    def cases(self, params):
        function, points = _points(functions.TO_VECTOR, params, params["n"])
        return [Case(text("check.case_vector", function=function.name, n=params["n"], index=i), {"x": p})
                for i, p in enumerate(points)]

    def call(self, student, case):
        return student(case.data["x"].copy())

    def judge(self, case, value, params):
        function = functions.lookup(functions.TO_VECTOR, params["function"])
        x = case.data["x"]
        m = function.out_size(params["n"])
        got = reject_unless_array(value, (m, x.size), self.what)
        jac, noise = numeric.numerical_jacobian(function.forward, x, with_noise=True)
        mistakes = {"diagonal_only": np.diag(np.diag(jac))} if m == x.size else {}
        return compare(got, jac, noise, what=self.what, mistakes=mistakes)


check_derivative = register(Derivative)
check_gradient = register(Gradient)
check_jacobian = register(Jacobian)
