"""The checks, one module per group of exercises; importing them registers them."""

from .calculus import check_derivative, check_gradient, check_jacobian
from .finite_differences import check_central_difference

__all__ = ["check_central_difference", "check_derivative", "check_gradient", "check_jacobian"]
