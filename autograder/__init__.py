"""The checks that the course's test cells call, and what grading needs beyond nbgrader.

A test cell is one call into this package with the student's object::

    from autograder import check_central_difference
    check_central_difference(central_difference, seed=1)

See docs/authoring.md for the contract and autograder/contract.py for how a
check runs, judges and records its evidence.
"""

from .checks import check_central_difference, check_derivative, check_gradient, check_jacobian
from .contract import REGISTRY

__all__ = ["REGISTRY", "check_central_difference", "check_derivative", "check_gradient", "check_jacobian"]
