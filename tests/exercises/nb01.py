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

EXERCISES = [CENTRAL_DIFFERENCE]
