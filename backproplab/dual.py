"""Forward mode with dual numbers: a value and its tangent travel together.

A dual number is value + tangent * eps with eps^2 = 0. Then

    f(x + t eps) = f(x) + f'(x) t eps,

so evaluating f on Dual(x, 1) gives f(x) and f'(x) in one forward sweep. Each
operation below applies its derivative rule to the tangents (sum, product,
quotient and chain rules). One sweep gives the derivative of every node with
respect to ONE input direction: a gradient of f: R^n -> R needs n sweeps.
Results keep the class of the left operand (type(self)), so a subclass that
redefines some rules keeps using them through a whole expression.
"""

import math

import numpy as np

from backproplab.functions import sigmoid_of_number
from backproplab.messages import text
from backproplab.value import _checked as _number  # one validation of numbers for both engines

#: running totals of the forward-mode work done by derivative() and gradient():
#: sweeps (evaluations of f on dual numbers); set it to 0 to measure
work = {"sweeps": 0}


class Dual:
    """value + tangent * eps, with eps^2 = 0; tangent is d(value)/d(the seeded input)."""

    def __init__(self, value, tangent=0.0):
        self.value = _number(value, "Dual(value)")
        self.tangent = _number(tangent, "Dual(tangent)")

    def _lift(self, other):  # a plain number as a dual of this class, with tangent 0
        return other if isinstance(other, Dual) else type(self)(_number(other, "an operand of Dual"), 0.0)

    def __repr__(self):
        return f"Dual(value={self.value:.6g}, tangent={self.tangent:.6g})"

    def __add__(self, other):
        other = as_dual(other)
        return type(self)(self.value + other.value, self.tangent + other.tangent)

    def __sub__(self, other):
        other = as_dual(other)
        return type(self)(self.value - other.value, self.tangent - other.tangent)

    def __mul__(self, other):  # product rule
        other = as_dual(other)
        return type(self)(self.value * other.value, self.tangent * other.value + self.value * other.tangent)

    def __truediv__(self, other):  # quotient rule
        other = as_dual(other)
        if other.value == 0:
            raise ZeroDivisionError(text("value.division_by_zero", a=self.value))
        a, b = self.value, other.value
        return type(self)(a / b, (self.tangent * b - a * other.tangent) / b**2)

    def __pow__(self, k):
        k = _number(k, "the exponent of Dual ** k")
        x = self.value
        if (x < 0 and not k.is_integer()) or (x == 0 and k < 1):
            raise ValueError(text("value.pow_domain", x=x, k=k))
        return type(self)(x**k, k * x ** (k - 1) * self.tangent)

    def __neg__(self):
        return type(self)(-self.value, -self.tangent)

    def __radd__(self, other):
        return self._lift(other) + self

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rmul__(self, other):
        return self._lift(other) * self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def _chain(self, f, df):  # chain rule: (f(x))' = f'(x) x'
        return type(self)(f, df * self.tangent)

    def exp(self):
        if self.value > 709.0:
            raise OverflowError(text("value.exp_overflow", x=self.value))
        e = math.exp(self.value)
        return self._chain(e, e)

    def log(self):
        if self.value <= 0:
            raise ValueError(text("value.log_domain", x=self.value))
        return self._chain(math.log(self.value), 1.0 / self.value)

    def sin(self):
        return self._chain(math.sin(self.value), math.cos(self.value))

    def cos(self):
        return self._chain(math.cos(self.value), -math.sin(self.value))

    def tanh(self):
        t = math.tanh(self.value)
        return self._chain(t, 1.0 - t * t)

    def sigmoid(self):
        s = sigmoid_of_number(self.value)  # 1 / (1 + exp(-x)), accurate in both tails
        return self._chain(s, s * (1.0 - s))

    def relu(self):
        return self._chain(max(self.value, 0.0), 1.0 if self.value > 0 else 0.0)


def as_dual(x):
    """x itself if it is a Dual, a constant (tangent 0) if it is a number, else TypeError."""
    return x if isinstance(x, Dual) else Dual(_number(x, "an operand of Dual"), 0.0)


def derivative(f, x):
    """f'(x) for f: R -> R written with Dual operations: one forward sweep."""
    work["sweeps"] += 1
    return as_dual(f(Dual(x, 1.0))).tangent


def gradient(f, x):
    """grad f(x) for f: list of n numbers -> number, by n forward sweeps (tangent e_i in sweep i).

    x: (n,) -> (grad (n,), sweeps = n).
    """
    x = [float(v) for v in np.asarray(x, dtype=np.float64).ravel()]
    grad, sweeps = np.zeros(len(x)), 0
    for i in range(len(x)):
        seeded = [Dual(v, 1.0 if j == i else 0.0) for j, v in enumerate(x)]
        grad[i] = as_dual(f(seeded)).tangent
        sweeps += 1
        work["sweeps"] += 1
    return grad, sweeps
