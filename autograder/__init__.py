"""The checks that the course's test cells call, and what grading needs beyond nbgrader.

A test cell is one call into this package with the student's object::

    from autograder import check_central_difference
    check_central_difference(central_difference, seed=1)

Every ``check_*`` function of the modules in autograder/checks/ is exported
here. See docs/authoring.md for the contract, and autograder/contract.py for
how a check runs, judges and records its evidence.
"""

from .checks import ALL as _ALL
from .contract import REGISTRY

globals().update(_ALL)
__all__ = ["REGISTRY", *sorted(_ALL)]
