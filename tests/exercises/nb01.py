"""Notebook 01, gradient intuition: wrong and right implementations of its exercises."""

import numpy as np
import scipy.optimize
from scipy.differentiate import derivative

from backproplab import descent, numeric

from . import Exercise

ASSIGNMENT = "01-gradient-intuition"
DELEGATED = "already does what this exercise asks"


# -- central difference ----------------------------------------------------------------

def _cd(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


CENTRAL_DIFFERENCE = Exercise(
    ASSIGNMENT, "central_difference_test", "central_difference",
    wrong={
        "forward difference": (lambda f, x, h=1e-5: (f(x + h) - f(x)) / h, "forward difference"),
        "backward difference": (lambda f, x, h=1e-5: (f(x) - f(x - h)) / h, "backward difference"),
        "divides by h": (lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / h, "2h apart"),
        "flipped sign": (lambda f, x, h=1e-5: (f(x - h) - f(x + h)) / (2 * h), "sign is flipped"),
        "missing parentheses": (lambda f, x, h=1e-5: f(x + h) - f(x - h) / (2 * h), "missing parentheses"),
        "/ 2 * h": (lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / 2 * h, "write / (2 * h)"),
        "divides by 2h^2": (lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / (2 * h * h), "dividing by 2h^2"),
        "ignores h": (lambda f, x, h=1e-5: _cd(f, x, 1e-5), "was ignored"),
        "half steps": (lambda f, x, h=1e-5: (f(x + h / 2) - f(x - h / 2)) / h, "does not match"),
        "returns f(x)": (lambda f, x, h=1e-5: f(x), "does not match"),
        "returns a list": (lambda f, x, h=1e-5: [_cd(f, x, h)], "should return a single number"),
        "returns None": (lambda f, x, h=1e-5: None, "should return a single number"),
        "calls the library": (lambda f, x, h=1e-5: numeric.central_difference(f, x, h), DELEGATED),
        "calls scipy": (lambda f, x, h=1e-5: float(derivative(f, x).df), DELEGATED),
    },
    right={
        "textbook": _cd,
        "half of the difference over h": lambda f, x, h=1e-5: 0.5 * (f(x + h) - f(x - h)) / h,
        "mean of forward and backward": lambda f, x, h=1e-5: ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h) / 2,
        "step actually taken": lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / ((x + h) - (x - h)),
        "numpy scalars": lambda f, x, h=1e-5: np.float64(f(np.float64(x) + h) - f(np.float64(x) - h)) / (2 * h),
    },
)


# -- gradient descent ---------------------------------------------------------------------

def _gd_append(grad, x0, learning_rate, steps):
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(steps):
        x = x - learning_rate * grad(x)
        path.append(x)
    return np.array(path)


def _gd_prealloc(grad, x0, learning_rate, steps):
    path = np.empty((steps + 1, np.size(x0)))
    path[0] = x0
    for k in range(steps):
        path[k + 1] = path[k] - learning_rate * grad(path[k])
    return path


def _gd_vstack(grad, x0, learning_rate, steps):
    path = np.atleast_2d(np.asarray(x0, dtype=float)).copy()
    for _ in range(steps):
        path = np.vstack([path, path[-1] - learning_rate * grad(path[-1])])
    return path


def _gd_ascent(grad, x0, learning_rate, steps):
    return _gd_append(lambda x: -grad(x), x0, learning_rate, steps)


def _gd_steps(count):
    def descend(grad, x0, learning_rate, steps):
        return _gd_append(grad, x0, learning_rate, steps + count)[: steps + 1 + count]
    return descend


def _gd_mutates_x0(grad, x0, learning_rate, steps):
    x = x0
    path = [x.copy()]
    for _ in range(steps):
        x -= learning_rate * grad(x)
        path.append(x.copy())
    return np.array(path)


def _gd_aliased(grad, x0, learning_rate, steps):
    x = x0.copy()
    path = [x]
    for _ in range(steps):
        x -= learning_rate * grad(x)
        path.append(x)
    return np.array(path)


def _gd_aliased_after_x0(grad, x0, learning_rate, steps):
    x = x0.copy()
    path = [x0]
    for _ in range(steps):
        x -= learning_rate * grad(x)
        path.append(x)
    return np.array(path)


def _gd_frozen_gradient(grad, x0, learning_rate, steps):
    g = grad(x0)
    return _gd_append(lambda x: g, x0, learning_rate, steps)


GRADIENT_DESCENT = Exercise(
    ASSIGNMENT, "gradient_descent_test", "gradient_descent",
    wrong={
        "ascent (+ instead of -)": (_gd_ascent, "this climbs"),
        "one step too few": (_gd_steps(-1), "One row is missing"),
        "one step too many": (_gd_steps(1), "One row too many"),
        "trajectory without x0": (lambda grad, x0, lr, steps: _gd_append(grad, x0, lr, steps)[1:], "starts with x0"),
        "changes x0 in place": (_gd_mutates_x0, "changed its input x0"),
        "stores one array changed in place": (_gd_aliased, "one array changed in place"),
        "x0, then one array changed in place": (_gd_aliased_after_x0, "after row 0, every row is the last point"),
        "gradient at x0 every step": (_gd_frozen_gradient, "gradient at x0 was used at every step"),
        "learning rate applied twice": (lambda grad, x0, lr, steps: _gd_append(grad, x0, lr * lr, steps),
                                        "applied twice"),
        "returns only the final point": (lambda grad, x0, lr, steps: _gd_append(grad, x0, lr, steps)[-1],
                                         "return the whole trajectory"),
        "returns a list of arrays": (lambda grad, x0, lr, steps: list(_gd_append(grad, x0, lr, steps)),
                                     "should return a numpy array"),
        "calls the library": (lambda grad, x0, lr, steps: descent.gradient_descent(grad, x0, lr, steps), DELEGATED),
    },
    right={
        "list of points": _gd_append,
        "preallocated array": _gd_prealloc,
        "growing with vstack": _gd_vstack,
    },
)


# -- numerical gradient of f: R^n -> R ---------------------------------------------------

def _ng_copies(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        grad[i] = (f(xp) - f(xm)) / (2 * h)
    return grad


def _ng_eye(f, x, h=1e-5):
    E = h * np.eye(x.size)
    return np.array([(f(x + e) - f(x - e)) / (2 * h) for e in E])


def _ng_restore(f, x, h=1e-5):
    # CS231n style: change x in place, then put the old value back
    grad = np.zeros_like(x)
    for i in range(x.size):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad


def _ng_own_central(f, x, h=1e-5):
    # the student's own central difference along each coordinate
    def along(i):
        def g(t):
            y = x.copy()
            y[i] = t
            return f(y)
        return g
    return np.array([_cd(along(i), x[i], h) for i in range(x.size)])


def _ng_forward(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in range(x.size):
        xp = x.copy()
        xp[i] += h
        grad[i] = (f(xp) - f(x)) / h
    return grad


def _ng_no_restore(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in range(x.size):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad


def _ng_all_at_once(f, x, h=1e-5):
    return np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))


def _ng_first_only(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    xp, xm = x.copy(), x.copy()
    xp[0] += h
    xm[0] -= h
    grad[0] = (f(xp) - f(xm)) / (2 * h)
    return grad


def _ng_aliased(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in range(x.size):
        xp = xm = x.copy()  # one array with two names
        xp[i] += h
        xm[i] -= h
        grad[i] = (f(xp) - f(xm)) / (2 * h)
    return grad


NUMERICAL_GRADIENT = Exercise(
    ASSIGNMENT, "numerical_gradient_test", "numerical_gradient",
    wrong={
        "forward difference": (_ng_forward, "forward difference"),
        "perturbs x in place without restoring": (_ng_no_restore, "changed its input x"),
        "perturbs every coordinate at once": (_ng_all_at_once, "every coordinate was moved at once"),
        "divides by h": (lambda f, x, h=1e-5: 2 * _ng_copies(f, x, h), "factor of two"),
        "/ 2 * h": (lambda f, x, h=1e-5: _ng_copies(f, x, h) * h * h, "write / (2 * h)"),
        "flipped sign": (lambda f, x, h=1e-5: -_ng_copies(f, x, h), "sign is flipped"),
        "only the first coordinate": (_ng_first_only, "only the first entry"),
        "xp = xm = x.copy()": (_ng_aliased, "one array with two names"),
        "returns a list": (lambda f, x, h=1e-5: list(_ng_copies(f, x, h)), "should return a numpy array"),
        "returns a column (n, 1)": (lambda f, x, h=1e-5: _ng_copies(f, x, h).reshape(-1, 1), "That is a column"),
        "ignores h": (lambda f, x, h=1e-5: _ng_copies(f, x, 1e-5), "does not match"),
        "calls the library": (lambda f, x, h=1e-5: numeric.numerical_gradient(f, x, h), DELEGATED),
        "calls scipy": (lambda f, x, h=1e-5: scipy.optimize.approx_fprime(x, f, h), DELEGATED),
        "calls np.gradient": (lambda f, x, h=1e-5: np.array([np.gradient([f(x - h * e), f(x + h * e)], 2 * h)[0]
                                                             for e in np.eye(x.size)]), DELEGATED),
    },
    right={
        "loop over copies": _ng_copies,
        "rows of h * eye": _ng_eye,
        "in place, old value put back": _ng_restore,
        "own central difference along each coordinate": _ng_own_central,
    },
)


# -- the error score ------------------------------------------------------------------------

def _allowance(n):
    return 1e-12 + 1e-7 * np.max(np.abs(n)) + 1e-5 * np.abs(n)


def _es(analytic, numeric_):
    analytic = np.asarray(analytic, dtype=float)
    numeric_ = np.asarray(numeric_, dtype=float)
    return np.abs(analytic - numeric_) / _allowance(numeric_)


def _es_loop(analytic, numeric_):
    top = max(abs(v) for v in numeric_.ravel())
    out = np.zeros(numeric_.shape)
    for i in np.ndindex(numeric_.shape):
        out[i] = abs(analytic[i] - numeric_[i]) / (1e-12 + 1e-7 * top + 1e-5 * abs(numeric_[i]))
    return out


def _es_steps(analytic, numeric_):
    gap = np.abs(analytic - numeric_)
    size = np.abs(numeric_)
    return gap / (size * 1e-5 + size.max() * 1e-7 + 1e-12)


def _quiet(function):
    def run(*args):
        with np.errstate(all="ignore"):
            return function(*args)
    return run


ERROR_SCORE = Exercise(
    ASSIGNMENT, "error_score_test", "error_score",
    wrong={
        "absolute error": (lambda a, n: np.abs(a - n), "not divided by the allowance"),
        "no absolute value": (lambda a, n: (a - n) / _allowance(n), "absolute value is missing"),
        "no floor": (_quiet(lambda a, n: np.abs(a - n) / (1e-12 + 1e-5 * np.abs(n))), "allowance 1e-7 max|n| is missing"),
        "relative error |a - n| / max(|a|, |n|)": (_quiet(lambda a, n: np.abs(a - n) / np.maximum(np.abs(a), np.abs(n))),
                                                    "this is a relative error"),
        "scale from the analytic entries": (lambda a, n: _es(n, a), "computed from the analytic entries"),
        "largest |n| in both terms": (lambda a, n: np.abs(a - n) / (1e-12 + 1e-7 * np.max(np.abs(n))
                                                                   + 1e-5 * np.max(np.abs(n))), "uses the largest |n| twice"),
        "returns the largest score": (lambda a, n: float(np.max(_es(a, n))), "returned one number"),
        "squared gap": (lambda a, n: (a - n) ** 2 / _allowance(n), "does not match"),
        "relative error |a - n| / |n|": (_quiet(lambda a, n: np.abs(a - n) / np.abs(n)), "this is a relative error"),
        "allowance without the floor constant on zeros": (_quiet(lambda a, n: np.abs(a - n) / (1e-7 * np.max(np.abs(n))
                                                                                               + 1e-5 * np.abs(n))),
                                                           "does not match"),
        "calls the library": (lambda a, n: numeric.error_score(a, n), DELEGATED),
        "1e-5 |a_i| for 1e-5 |n_i|": (lambda a, n: np.abs(a - n) / (1e-12 + 1e-7 * np.max(np.abs(n)) + 1e-5 * np.abs(a)),
                                      "uses the analytic entry"),
        "mean |n| in the floor": (lambda a, n: np.abs(a - n) / (1e-12 + 1e-7 * np.mean(np.abs(n)) + 1e-5 * np.abs(n)),
                                  "uses the mean of |n|"),
        "max n without abs": (_quiet(lambda a, n: np.abs(a - n) / (1e-12 + 1e-7 * np.max(n) + 1e-5 * np.abs(n))),
                              "not the largest |n|"),
    },
    right={
        "vectorised": _es,
        "loop over entries": _es_loop,
        "terms in another order": _es_steps,
    },
)


# -- grad_check ----------------------------------------------------------------------------

def _gc_with(score=_es, gradient=_ng_copies, reduce=np.max):
    def grad_check(f, grad, x, h=1e-5):
        numeric_ = gradient(f, x, h)
        analytic = grad(x.copy())
        with np.errstate(all="ignore"):
            return float(reduce(score(analytic, numeric_)))
    return grad_check


def _gc_loop(f, grad, x, h=1e-5):
    analytic = grad(x.copy())
    numeric_ = np.zeros(x.shape)
    for i in range(x.size):
        e = np.zeros(x.shape)
        e[i] = h
        numeric_[i] = (f(x + e) - f(x - e)) / (2 * h)
    worst = 0.0
    for i in range(x.size):
        worst = max(worst, abs(analytic[i] - numeric_[i]) / _allowance(numeric_)[i])
    return worst


def _gc_in_place(f, grad, x, h=1e-5):
    analytic = grad(x.copy())
    return float(np.max(_es(analytic, _ng_no_restore(f, x, h))))


def _gc_grad_after(f, grad, x, h=1e-5):
    # grad evaluated after x was perturbed in place and put back (CS231n style)
    numeric_ = _ng_restore(f, x, h)
    return float(np.max(_es(grad(x), numeric_)))


GRAD_CHECK = Exercise(
    ASSIGNMENT, "grad_check_test", "grad_check",
    wrong={
        "mean instead of max": (_gc_with(reduce=np.mean), "the mean of the scores"),
        "absolute error": (_gc_with(score=lambda a, n: np.abs(a - n)), "not divided by the allowance"),
        "no absolute value": (_gc_with(score=lambda a, n: (a - n) / _allowance(n)), "absolute value is missing"),
        "relative error without the floor": (_gc_with(score=lambda a, n: np.abs(a - n) / np.abs(n)), "this is a relative error"),
        "floor 1e-12 only": (_gc_with(score=lambda a, n: np.abs(a - n) / (1e-12 + 1e-5 * np.abs(n))),
                             "allowance 1e-7 max|n| is missing"),
        "forward difference inside": (_gc_with(gradient=_ng_forward), "forward difference"),
        "scale from the analytic entries": (_gc_with(score=lambda a, n: _es(n, a)), "computed from the analytic"),
        "returns every score": (lambda f, grad, x, h=1e-5: _es(grad(x.copy()), _ng_copies(f, x, h)),
                                "returns one number"),
        "returns pass or fail": (lambda f, grad, x, h=1e-5: bool(_gc_with()(f, grad, x, h) <= 1),
                                 "it returned bool"),
        "changes x": (_gc_in_place, "fix it first"),
        "calls the library": (lambda f, grad, x, h=1e-5: numeric.grad_check(f, grad, x, h), DELEGATED),
        "library's error score": (_gc_with(score=numeric.error_score), DELEGATED),
        "scipy's check_grad": (lambda f, grad, x, h=1e-5: scipy.optimize.check_grad(f, grad, x, epsilon=h), DELEGATED),
    },
    right={
        "max of the scores": _gc_with(),
        "loops": _gc_loop,
        "in place, put back": _gc_grad_after,
        "own central difference per coordinate": _gc_with(gradient=_ng_own_central),
    },
)


# -- the analytic gradients ------------------------------------------------------------------

def _numerical(f):
    return lambda x: numeric.numerical_gradient(f, x)


def _bowl(x):
    return (x[0] ** 2 + 10 * x[1] ** 2) / 2


BOWL_GRADIENT = Exercise(
    ASSIGNMENT, "bowl_grad_test", "bowl_grad",
    wrong={
        "without the 1/2": (lambda x: np.array([2 * x[0], 20 * x[1]]), "factor of two"),
        "10 on x1": (lambda x: np.array([10 * x[0], x[1]]), "the wrong coordinate"),
        "10 forgotten": (lambda x: np.array([x[0], x[1]]), "factor 10"),
        "sign flipped": (lambda x: -np.array([x[0], 10 * x[1]]), "sign is flipped"),
        "returns f": (lambda x: np.full(2, _bowl(x)), "f(x) itself"),
        "squares kept": (lambda x: np.array([x[0] ** 2, 10 * x[1] ** 2]), "does not match"),
        "a number": (lambda x: x[0] + 10 * x[1], "should return a numpy array"),
        "a list": (lambda x: [x[0], 10 * x[1]], "should return a numpy array"),
        "own central differences": (lambda x: _ng_copies(_bowl, x), "numerical approximation"),
        "library's central differences": (_numerical(_bowl), DELEGATED),
    },
    right={
        "array": lambda x: np.array([x[0], 10 * x[1]]),
        "curvatures times x": lambda x: np.array([1.0, 10.0]) * x,
        "loop": lambda x: np.array([c * v for c, v in zip((1, 10), x)], dtype=float),
    },
)


def _q(x):
    return x**4 / 4 - x**2 + x / 2


def _dq_numerical(x):
    return (_q(x + 1e-5) - _q(x - 1e-5)) / 2e-5


WELL_DERIVATIVE = Exercise(
    ASSIGNMENT, "well_derivative_test", "dq",
    wrong={
        "dropped the 1/2": (lambda x: x**3 - 2 * x, "derivative of x / 2"),
        "x^2 gives x": (lambda x: x**3 - x + 0.5, "-2x, not -x"),
        "exponent kept": (lambda x: x**4 - 2 * x + 0.5, "exponent was not lowered"),
        "1/4 kept": (lambda x: x**3 / 4 - 2 * x + 0.5, "1/4 was kept"),
        "returns q": (_q, "f(x) itself"),
        "sign flipped": (lambda x: -(x**3 - 2 * x + 0.5), "sign is flipped"),
        "+ 2x": (lambda x: x**3 + 2 * x + 0.5, "does not match"),
        "own central difference": (_dq_numerical, "numerical approximation"),
        "a list": (lambda x: list(x**3 - 2 * x + 0.5), "should return a numpy array"),
        "library's central difference": (lambda x: np.array([numeric.central_difference(_q, v) for v in x]), DELEGATED),
    },
    right={
        "polynomial": lambda x: x**3 - 2 * x + 0.5,
        "Horner": lambda x: (x * x - 2) * x + 0.5,
        "power rule written out": lambda x: 4 * x**3 / 4 - 2 * x + 1 / 2,
    },
)

EXERCISES = [CENTRAL_DIFFERENCE, GRADIENT_DESCENT, NUMERICAL_GRADIENT, ERROR_SCORE, GRAD_CHECK,
             BOWL_GRADIENT, WELL_DERIVATIVE]
