"""Check of the numerical-gradient exercise of notebook 01.

``check_numerical_gradient(numerical_gradient, n=3)``: the student's
``numerical_gradient(f, x, h)`` for f: R^n -> R must equal the central
differences of the library (:func:`backproplab.numeric.numerical_gradient`)
at the same step h, entry by entry, and must leave x as it found it. The
functions are the named ones of :data:`backproplab.functions.TO_SCALAR`;
large steps are among the cases on purpose: there a one-sided difference, or
a fixed step instead of h, is far from the central difference at h.
"""

import numpy as np

from backproplab import functions, numeric
from backproplab.messages import text

from ..contract import Case, Check, Reject, register, reject_unless_array
from ..diagnose import compare
from .finite_differences import DIFFERENTIATORS

FUNCTIONS = ("bowl", "logsumexp", "rosenbrock", "norm")
STEPS = (1e-1, 1e-2, 1e-3, 1e-5)  # case i of function j takes STEPS[(j + 1 + i // 4) % 4]


def unchanged(before, after, what, name, tol=0.0):
    """Reject unless ``after`` equals ``before`` (up to tol * max(1, |before|) per entry)."""
    after = np.asarray(after, dtype=np.float64)
    if after.shape != before.shape:
        raise Reject(text("check.changed_shape", what=what, name=name, before=before.shape, after=after.shape))
    moved = np.abs(after - before) > tol * np.maximum(1.0, np.abs(before))
    moved |= ~np.isfinite(after)
    if moved.any():
        i = tuple(int(k) for k in np.argwhere(moved)[0])
        index = i if len(i) > 1 else i[0]
        raise Reject(text("check.changed_input", what=what, name=name, index=index,
                          before=float(before[i]), after=float(after[i])))


def _forward_gradient(f, x, h):
    """What a forward difference gives in every entry (for the diagnosis only)."""
    def along(i):
        def g(t):
            y = x.copy()
            y[i] = t
            return f(y)
        return g
    return np.array([numeric.forward_difference(along(i), x[i], h) for i in range(x.size)])


class NumericalGradient(Check):
    """numerical_gradient(f, x, h) returns the central-difference gradient of f: R^n -> R, of x's shape."""

    name = "numerical_gradient"
    what = "numerical_gradient(f, x, h)"
    defaults = {"seed": 0, "count": 4, "n": 3}
    delegation = DIFFERENTIATORS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, cases = params["n"], []
        for i in range(params["count"]):
            j = (i + params["seed"]) % len(FUNCTIONS)
            function = functions.TO_SCALAR[FUNCTIONS[j]]
            x = function.sample(rng, n).astype(np.float64)
            h = STEPS[(j + 1 + i // len(FUNCTIONS)) % len(STEPS)]
            label = text("check.case_numerical_gradient", function=function.name, index=i, n=n, h=h)
            cases.append(Case(label, {"function": function.name, "x": x, "h": h}))
        return cases

    def call(self, student, case):
        f = functions.TO_SCALAR[case.data["function"]].forward
        x = case.data["x"].copy()
        grad = student(f, x, case.data["h"])
        return grad, x  # x as the student's function left it

    def judge(self, case, value, params):
        f = functions.TO_SCALAR[case.data["function"]].forward
        x, h = case.data["x"], case.data["h"]
        grad, x_after = value
        # a restore by arithmetic (x[i] += h ... x[i] -= h) may leave rounding: allow 1e-12 relative
        unchanged(x, x_after, self.what, "x", tol=1e-12)
        if isinstance(grad, np.ndarray) and grad.shape == (x.size, 1):
            raise Reject(text("check.wrong_shape", what=self.what, expected=x.shape, got=grad.shape,
                              hint=text("check.hint_column")))
        got = reject_unless_array(grad, x.shape, self.what)
        expected, noise = numeric.numerical_gradient(f, x, h, with_noise=True)
        first = np.zeros_like(expected)
        first[0] = expected[0]
        mistakes = {
            "forward_difference": _forward_gradient(f, x, h),
            "all_coordinates": np.full(x.shape, numeric.numerical_directional(f, x, np.ones_like(x), h)),
            "first_only": first,
            "aliased_copies": np.zeros_like(expected),
            "precedence_times_h": expected * h * h,
        }
        return compare(got, expected, noise, what=self.what, mistakes=mistakes)


check_numerical_gradient = register(NumericalGradient)
