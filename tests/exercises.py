"""Wrong and right implementations of every graded exercise, for the mutation harness.

Each wrong implementation is a mistake students make (CHECKS.md, "Measuring
the power of the tests"); each must fail the exercise's test cell. Each right
one is a correct alternative (another formula, a loop instead of a vector
expression, a stable instead of a naive form); each must pass. tests/
test_exercises.py runs them all against the test cells as written in source/
(hidden tests included) and in course/ (visible tests only).
"""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Exercise:
    assignment: str
    test_cell: str  # grade_id of the test cell
    name: str  # the name the test cell gives the student's object
    wrong: dict = field(default_factory=dict)
    right: dict = field(default_factory=dict)


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
