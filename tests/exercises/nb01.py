"""Notebook 01, gradient intuition: wrong and right implementations of its exercises."""

import numpy as np

from . import Exercise


# -- 01 gradient intuition -------------------------------------------------------------

def _cd(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


CENTRAL_DIFFERENCE = Exercise(
    "01-gradient-intuition", "central_difference_test", "central_difference",
    wrong={
        "forward difference": lambda f, x, h=1e-5: (f(x + h) - f(x)) / h,
        "backward difference": lambda f, x, h=1e-5: (f(x) - f(x - h)) / h,
        "divides by h": lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / h,
        "flipped sign": lambda f, x, h=1e-5: (f(x - h) - f(x + h)) / (2 * h),
        "missing parentheses": lambda f, x, h=1e-5: f(x + h) - f(x - h) / (2 * h),
        "divides by 2h^2": lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / (2 * h * h),
        "ignores h": lambda f, x, h=1e-5: _cd(f, x, 1e-5),
        "half steps": lambda f, x, h=1e-5: (f(x + h / 2) - f(x - h / 2)) / h,
        "returns f(x)": lambda f, x, h=1e-5: f(x),
        "returns a list": lambda f, x, h=1e-5: [_cd(f, x, h)],
        "returns None": lambda f, x, h=1e-5: None,
    },
    right={
        "textbook": _cd,
        "half of the difference over h": lambda f, x, h=1e-5: 0.5 * (f(x + h) - f(x - h)) / h,
        "mean of forward and backward": lambda f, x, h=1e-5: ((f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h) / 2,
        "step actually taken": lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / ((x + h) - (x - h)),
        "numpy scalars": lambda f, x, h=1e-5: np.float64(f(np.float64(x) + h) - f(np.float64(x) - h)) / (2 * h),
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


NUMERICAL_GRADIENT = Exercise(
    "01-gradient-intuition", "numerical_gradient_test", "numerical_gradient",
    wrong={
        "forward difference": _ng_forward,
        "perturbs x in place without restoring": _ng_no_restore,
        "perturbs every coordinate at once": _ng_all_at_once,
        "divides by h": lambda f, x, h=1e-5: 2 * _ng_copies(f, x, h),
        "flipped sign": lambda f, x, h=1e-5: -_ng_copies(f, x, h),
        "only the first coordinate": _ng_first_only,
        "returns a list": lambda f, x, h=1e-5: list(_ng_copies(f, x, h)),
        "returns a column (n, 1)": lambda f, x, h=1e-5: _ng_copies(f, x, h).reshape(-1, 1),
        "ignores h": lambda f, x, h=1e-5: _ng_copies(f, x, 1e-5),
    },
    right={
        "loop over copies": _ng_copies,
        "rows of h * eye": _ng_eye,
        "in place, old value put back": _ng_restore,
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


def _gd_frozen_gradient(grad, x0, learning_rate, steps):
    g = grad(x0)
    return _gd_append(lambda x: g, x0, learning_rate, steps)


GRADIENT_DESCENT = Exercise(
    "01-gradient-intuition", "gradient_descent_test", "gradient_descent",
    wrong={
        "ascent (+ instead of -)": _gd_ascent,
        "one step too few": _gd_steps(-1),
        "one step too many": _gd_steps(1),
        "trajectory without x0": lambda grad, x0, lr, steps: _gd_append(grad, x0, lr, steps)[1:],
        "changes x0 in place": _gd_mutates_x0,
        "stores one array changed in place": _gd_aliased,
        "gradient at x0 every step": _gd_frozen_gradient,
        "learning rate applied twice": lambda grad, x0, lr, steps: _gd_append(grad, x0, lr * lr, steps),
        "returns only the final point": lambda grad, x0, lr, steps: _gd_append(grad, x0, lr, steps)[-1],
        "returns a list of arrays": lambda grad, x0, lr, steps: list(_gd_append(grad, x0, lr, steps)),
    },
    right={
        "list of points": _gd_append,
        "preallocated array": _gd_prealloc,
        "growing with vstack": _gd_vstack,
    },
)

EXERCISES = [CENTRAL_DIFFERENCE, NUMERICAL_GRADIENT, GRADIENT_DESCENT]
