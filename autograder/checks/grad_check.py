"""Checks of notebook 01's gradient checking: the error score, grad_check, and two analytic gradients.

- ``check_error_score(error_score)``: the student's ``error_score(analytic, numeric)``
  returns, entry by entry, |a_i - n_i| / (1e-12 + 1e-7 max|n| + 1e-5 |n_i|), the
  score of :func:`backproplab.numeric.error_score` without its rounding allowance
  (noise = 0);
- ``check_grad_check(grad_check)``: the student's ``grad_check(f, grad, x, h=1e-5)``
  returns the largest error score of grad(x) against central differences of f at
  x: at most 1 on right gradients, above 1 on wrong ones and within 10% of the
  library's :func:`backproplab.numeric.grad_check` there;
- ``check_bowl_gradient(bowl_grad)`` and ``check_well_derivative(dq)``: the analytic
  gradients of two of notebook 01's functions, compared with central differences
  and told apart from a finite difference (:func:`autograder.diagnose.reject_if_numerical`).
"""

import numpy as np

from backproplab import functions, numeric
from backproplab.messages import text

from ..contract import Case, Check, Reject, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare, reject_if_numerical
from .finite_differences import DIFFERENTIATORS
from .gradients import unchanged

# What already checks a gradient or computes a score: an answer must not call these.
CHECKERS = DIFFERENTIATORS + (
    "backproplab.numeric.grad_check",
    "backproplab.numeric.error_score",
    "backproplab.numeric.relative_error",
    "backproplab.numeric.numerical_directional",
    "backproplab.gradcheck.gradcheck",
    "scipy.optimize.check_grad",
)

# A tolerance for grad_check against the library: the library's score also allows for the
# rounding of f (noise), which the notebook's score leaves out; on these functions that moves
# the score by less than 2% (measured over 800 points).
GRAD_CHECK_TOLERANCE = 0.1


def score(analytic, numeric_, floor=1e-7, relative=1e-5):
    """The notebook's error score, entry by entry (the library's with noise = 0)."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numeric_, dtype=np.float64)
    return np.abs(a - n) / (1e-12 + floor * np.abs(n).max(initial=0.0) + relative * np.abs(n))


# -- the error score ----------------------------------------------------------------


def _score_mistakes(a, n):
    """{mistake key: what that wrong score gives} for analytic a and numeric n."""
    with np.errstate(all="ignore"):
        return {
            "score_absolute": np.abs(a - n),
            "score_signed": (a - n) / (1e-12 + 1e-7 * np.abs(n).max() + 1e-5 * np.abs(n)),
            "score_no_floor": np.abs(a - n) / (1e-12 + 1e-5 * np.abs(n)),
            "score_relative": np.abs(a - n) / np.abs(n),
            "score_swapped": score(n, a),
            "score_relative_max": np.abs(a - n) / (1e-12 + 1e-7 * np.abs(n).max() + 1e-5 * np.abs(n).max()),
            "score_analytic_entry": np.abs(a - n) / (1e-12 + 1e-7 * np.abs(n).max() + 1e-5 * np.abs(a)),
            "score_floor_mean": np.abs(a - n) / (1e-12 + 1e-7 * np.abs(n).mean() + 1e-5 * np.abs(n)),
            "score_floor_signed": np.abs(a - n) / (1e-12 + 1e-7 * n.max() + 1e-5 * np.abs(n)),
        }


SCORE_CASES = {
    "agree": lambda: text("check.scores_agree"),
    "one_wrong": lambda: text("check.scores_one_wrong"),
    "one_low": lambda: text("check.scores_one_low"),
    "zeros": lambda: text("check.scores_zeros"),
    "tiny": lambda: text("check.scores_tiny"),
    "matrix": lambda: text("check.scores_matrix"),
    "all_zero": lambda: text("check.scores_all_zero"),
}


class ErrorScore(Check):
    """error_score(analytic, numeric) returns the error score of every entry, an array of their shape."""

    name = "error_score"
    what = "error_score(analytic, numeric)"
    defaults = {"seed": 0, "count": 7}
    delegation = CHECKERS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        kinds = ("agree", "one_wrong", "one_low", "zeros", "tiny", "matrix", "all_zero")
        cases = []
        for i in range(params["count"]):
            kind = kinds[i % len(kinds)]
            size = int(rng.integers(3, 7))
            n = rng.normal(0.0, 2.0, size) * 10.0 ** rng.integers(-2, 3)
            a = n * (1 + 1e-9 * rng.normal(size=size))
            if kind == "one_wrong":
                a[rng.integers(size)] *= 4.0
            elif kind == "one_low":
                j = int(np.abs(n).argmax())
                a[j] = n[j] - 2 * abs(n[j])
            elif kind == "zeros":  # true entries 0, the analytic ones off by a rounding
                j = rng.choice(size, 2, replace=False)
                n[j] = 0.0
                a[j] = 1e-10 * np.abs(n).max() * rng.choice([-1.0, 1.0], 2)
            elif kind == "tiny":  # one true entry far smaller than the others
                j = int(rng.integers(size))
                n[j] = 1e-9 * np.abs(n).max()
                a[j] = -n[j]
            elif kind == "all_zero":  # a gradient that is 0 everywhere (at a minimum, say)
                n = np.zeros(size)
                a = 1e-14 * rng.normal(size=size)
            elif kind == "matrix":
                n = rng.normal(0.0, 1.0, (3, 2))
                a = n.copy()
                a[rng.integers(3), rng.integers(2)] *= -1
            label = text("check.case_error_score", kind=SCORE_CASES[kind](), shape=tuple(n.shape))
            cases.append(Case(label, {"analytic": a, "numeric": n}))
        return cases

    def call(self, student, case):
        return student(case.data["analytic"].copy(), case.data["numeric"].copy())

    def judge(self, case, value, params):
        a, n = case.data["analytic"], case.data["numeric"]
        if isinstance(value, float) or (isinstance(value, np.ndarray) and value.shape == ()):
            raise Reject(text("check.score_one_number", what=self.what, shape=n.shape))
        got = reject_unless_array(value, n.shape, self.what)
        expected = score(a, n)
        return compare(got, expected, what=self.what, mistakes=_score_mistakes(a, n))


check_error_score = register(ErrorScore)


# -- grad_check -------------------------------------------------------------------------

VARIANTS = ("exact", "times_four", "one_low", "near_zero", "one_off", "exact")
FUNCTIONS = ("bowl", "logsumexp", "rosenbrock", "norm")
GRADIENT_CASES = {
    "exact": lambda: text("check.gradient_exact"),
    "times_four": lambda: text("check.gradient_times_four"),
    "one_low": lambda: text("check.gradient_one_low"),
    "near_zero": lambda: text("check.gradient_near_zero"),
    "one_off": lambda: text("check.gradient_one_off"),
}


def _wrong_gradient(variant, exact, x):
    """The gradient handed to grad_check: the exact one, or one with a planted error."""
    g = exact(x)
    if variant == "times_four":
        return 4.0 * g
    if variant == "one_low":  # the largest entry too low by twice its size
        j = int(np.abs(g).argmax())
        g[j] -= 2 * abs(g[j])
    elif variant == "one_off":  # the largest entry off by 0.1%
        j = int(np.abs(g).argmax())
        g[j] *= 1.001
    elif variant == "near_zero":  # entries whose true value is 0, right to 9 digits of the largest
        g[g == 0.0] = 1e-9 * np.abs(g).max()
    return g


def _central(f, x, h, forward=False):
    """Central (or forward) differences of f at x with step h, divided by the nominal step."""
    g = np.zeros(x.shape)
    for i in range(x.size):
        e = np.zeros(x.shape)
        e[i] = h
        g[i] = (f(x + e) - f(x)) / h if forward else (f(x + e) - f(x - e)) / (2 * h)
    return g


def _library_grad_check(f, grad, x, h=1e-5):
    """:func:`backproplab.numeric.grad_check` for an array x, written with array methods only.

    (A student cell may rebind np.max in the kernel; the verdict there must not change.)
    """
    n, noise = numeric.numerical_gradient(f, x, h, with_noise=True)
    a = np.asarray(grad(x.copy()), dtype=np.float64)
    scale = 1e-12 + 1e-7 * np.abs(n).max(initial=0.0) + 1e-5 * np.abs(n) + 10 * noise
    return float((np.abs(a - n) / scale).max(initial=0.0))


class GradCheck(Check):
    """grad_check(f, grad, x, h=1e-5) returns the largest error score of grad(x) against central differences."""

    name = "grad_check"
    what = "grad_check(f, grad, x)"
    defaults = {"seed": 0, "count": 6, "n": 3}
    delegation = CHECKERS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, cases = params["n"], []
        for i in range(params["count"]):
            variant = VARIANTS[i % len(VARIANTS)]
            usable = FUNCTIONS if n > 1 else tuple(f for f in FUNCTIONS if f != "rosenbrock")  # constant for n = 1
            name = "bowl" if variant == "near_zero" else usable[(i + params["seed"]) % len(usable)]
            x = functions.TO_SCALAR[name].sample(rng, n).astype(np.float64)
            if variant == "near_zero":  # some true entries exactly 0
                x[rng.choice(n, max(1, n // 2), replace=False)] = 0.0
            label = text("check.case_grad_check", function=name, index=i, n=n,
                         variant=GRADIENT_CASES[variant]())
            cases.append(Case(label, {"function": name, "variant": variant, "x": x}))
        return cases

    def _pair(self, case):
        entry = functions.TO_SCALAR[case.data["function"]]
        variant = case.data["variant"]
        return entry.forward, lambda x: _wrong_gradient(variant, entry.gradient, np.array(x, dtype=np.float64))

    def call(self, student, case):
        f, grad = self._pair(case)
        x = case.data["x"].copy()
        result = student(f, grad, x)
        return result, x  # x as the student's function left it

    def judge(self, case, value, params):
        try:
            return self._judge(case, value)
        except Reject as why:  # the student's grad_check runs their numerical_gradient and error_score
            note = text("check.grad_check_depends")
            raise Reject(f"{why}\n{note}") from None

    def _judge(self, case, value):
        f, grad = self._pair(case)
        x, right = case.data["x"], case.data["variant"] in ("exact", "near_zero")
        result, x_after = value
        unchanged(x, x_after, self.what, "x")
        if isinstance(result, np.ndarray) and result.size > 1:
            raise Reject(text("check.grad_check_array", what=self.what, shape=result.shape))
        if isinstance(result, float) and np.isnan(result):
            raise Reject(text("check.grad_check_nan", what=self.what))
        got = reject_unless_finite_number(result, self.what)
        expected = _library_grad_check(f, grad, x)
        hint = self._mistake(f, grad, x, got)
        if right:
            if got > 1.0:
                raise Reject("\n".join(filter(None, [
                    text("check.grad_check_flagged_right", what=self.what, got=got, expected=expected), hint])))
            return got
        if got <= 1.0:
            raise Reject("\n".join(filter(None, [
                text("check.grad_check_missed_wrong", what=self.what, got=got, expected=expected), hint])))
        # expected > 1 here unless the kernel's numpy was tampered with: then fail, never raise
        gap = abs(got - expected) / (GRAD_CHECK_TOLERANCE * expected) if expected > 1.0 else np.inf
        if not gap <= 1.0:
            raise Reject("\n".join(filter(None, [
                text("check.grad_check_value", what=self.what, got=got, expected=expected), hint])))
        return gap

    @staticmethod
    def _mistake(f, grad, x, got):
        """The likely mistake when ``got`` is what a known wrong grad_check returns, else ""."""
        a = grad(x.copy())
        n = _central(f, x, 1e-5)
        candidates = {"score_mean": score(a, n).mean(),
                      "score_forward": score(a, _central(f, x, 1e-5, forward=True)).max()}
        candidates.update({key: v.max() for key, v in _score_mistakes(a, n).items()})
        right = score(a, n).max()
        for key, value in candidates.items():
            if not np.isfinite(value) or abs(value - right) <= 0.5 * abs(right):
                continue  # this mistake changes nothing here: it cannot be the one
            if abs(got - value) <= GRAD_CHECK_TOLERANCE * abs(value):
                return text("mistake." + key)
        return ""


check_grad_check = register(GradCheck)


# -- analytic gradients of the notebook's functions ---------------------------------------


def _bowl(x):
    return (x[0] ** 2 + 10.0 * x[1] ** 2) / 2.0


def _bowl_gradient(x):
    return np.array([x[0], 10.0 * x[1]])


def _well(x):
    return x**4 / 4 - x**2 + x / 2


def _well_derivative(x):
    return x**3 - 2 * x + 0.5


# name: (forward, exact gradient, sampler (rng, n) -> x, size, {mistake key: wrong gradient})
NOTEBOOK_FUNCTIONS = {
    "elongated_bowl": (
        _bowl, _bowl_gradient, lambda rng, n: rng.uniform(-3.0, 3.0, 2), lambda n: 2,
        {"bowl_ten_on_x1": lambda x: np.array([10.0 * x[0], x[1]]),
         "bowl_missing_ten": lambda x: np.array([x[0], x[1]]),
         "returned_value": lambda x: np.full(2, _bowl(x))},
    ),
    "double_well": (
        _well, _well_derivative, lambda rng, n: rng.uniform(-2.0, 2.0, n), lambda n: n,
        {"well_dropped_constant": lambda x: x**3 - 2 * x,
         "well_square_rule": lambda x: x**3 - x + 0.5,
         "well_exponent_kept": lambda x: x**4 - 2 * x + 0.5,
         "well_quarter_kept": lambda x: x**3 / 4 - 2 * x + 0.5,
         "returned_value": _well},
    ),
}


class AnalyticGradient(Check):
    """grad(x) is the analytic gradient of one of notebook 01's functions (subclasses name which)."""

    function = ""
    defaults = {"seed": 0, "count": 4, "n": 3}
    delegation = DIFFERENTIATORS

    def cases(self, params):
        _, _, sample, _, _ = NOTEBOOK_FUNCTIONS[self.function]
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            x = sample(rng, params["n"]).astype(np.float64)
            label = text("check.case_vector", function=self.function, n=x.size, index=i)
            cases.append(Case(label, {"x": x}))
        return cases

    def call(self, student, case):
        return student(case.data["x"].copy())

    def judge(self, case, value, params):
        forward, exact, _, _, mistakes = NOTEBOOK_FUNCTIONS[self.function]
        x = case.data["x"]
        got = reject_unless_array(value, x.shape, self.what)
        if self.function == "double_well":  # elementwise: the derivative at each entry
            h = numeric.default_step(x)
            fp, fm = forward(x + h), forward(x - h)
            step = (x + h) - (x - h)
            expected = (fp - fm) / step
            noise = numeric.EPS * (np.abs(fp) + np.abs(fm)) / step
        else:
            expected, noise = numeric.numerical_gradient(forward, x, with_noise=True)
        wrong = {key: wrong(x) for key, wrong in mistakes.items()}
        result = compare(got, expected, noise, what=self.what, mistakes=wrong)
        reject_if_numerical(got, exact(x), noise, what=self.what)
        return result


class BowlGradient(AnalyticGradient):
    """bowl_grad(x) is the gradient of (x1^2 + 10 x2^2) / 2 at x (2,), an array (2,)."""

    name = "bowl_gradient"
    what = "bowl_grad(x) (the gradient of the elongated bowl)"
    function = "elongated_bowl"


class WellDerivative(AnalyticGradient):
    """dq(x) is the derivative of q(x) = x^4/4 - x^2 + x/2, elementwise on an array x (n,)."""

    name = "well_derivative"
    what = "dq(x) (the derivative of the double well q)"
    function = "double_well"


check_bowl_gradient = register(BowlGradient)
check_well_derivative = register(WellDerivative)
