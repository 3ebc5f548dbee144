"""Wrong and right implementations of every graded exercise, for the mutation harness.

One module per notebook (nb01.py, nb02.py, ...), each with a list
``EXERCISES`` of :class:`Exercise`. Each wrong implementation is a mistake
students make (CHECKS.md, "Measuring the power of the tests") and must fail
the exercise's test cell; each right one is a correct alternative (another
formula, a loop instead of a vector expression, a stable instead of a naive
form) and must pass. tests/test_exercises.py runs them all against the test
cells as written in source/ (hidden tests included) and in course/.

A wrong implementation may be given as a pair ``(implementation,
"words of the message")``: the test cell must then fail with an
AssertionError whose message contains those words (the mistake it names,
say), on visible and hidden parameters alike. Notebooks 01-03 give the
message for every wrong implementation (tests/test_exercises.py).

An exercise whose student object is not a plain function (a class, say)
gives ``namespace``: a function from the implementation to the names the
test cell expects.
"""

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, Optional


@dataclass
class Exercise:
    assignment: str
    test_cell: str  # grade_id of the test cell
    name: str  # the name the test cell gives the student's object
    wrong: dict = field(default_factory=dict)
    right: dict = field(default_factory=dict)
    namespace: Optional[Callable] = None

    def mistake(self, name):
        """(implementation, expected words of the message or None) of a wrong implementation."""
        entry = self.wrong[name]
        if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], str):
            return entry
        return entry, None

    def names(self, implementation):
        """The globals a test cell sees when ``implementation`` is the student's answer."""
        if self.namespace is not None:
            return self.namespace(implementation)
        return {self.name: implementation}


EXERCISES = []
for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    EXERCISES += importlib.import_module(f"{__name__}.{_module}").EXERCISES
