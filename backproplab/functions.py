"""Named test functions, with where to sample them.

Checks name the reference function they differentiate (``function="sigmoid"``)
instead of passing it in, so that a grader can rebuild the same function from
the name alone. Each entry is a forward computation and a sampler of inputs
that keeps away from kinks, poles and saturation (CHECKS.md, "Inputs that do
not lie").

- ``SCALAR``: f: R -> R, sampled as ``sample(rng, count) -> (count,)``;
- ``TO_SCALAR``: f: R^n -> R, sampled as ``sample(rng, n) -> (n,)``, each with
  its analytic ``gradient(x) -> (n,)`` (a reference for checks that need one,
  such as a descent loop's);
- ``TO_VECTOR``: f: R^n -> R^m with m fixed by n (``out_size(n)``).
"""

import math
from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True)
class Function:
    name: str
    forward: Callable
    sample: Callable
    out_size: Callable = staticmethod(lambda n: n)
    gradient: Optional[Callable] = None  # analytic gradient x (n,) -> (n,), where given


def _uniform(low, high):
    return lambda rng, n: rng.uniform(low, high, size=n)


def _unsaturated(rng, n):
    return np.clip(rng.normal(0.0, 1.0, size=n), -3.0, 3.0)


def _away_from_zero(rng, n):
    return rng.choice([-1.0, 1.0], size=n) * rng.uniform(0.1, 2.0, size=n)


def sigmoid(x):
    """s(x) = 1 / (1 + exp(-x)), elementwise; x: number or array -> float64 of its shape.

    Takes exp only of -|x| <= 0, so it never overflows, and keeps full relative
    accuracy in both tails: 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0, with
    e = exp(-|x|). (The form (1 + tanh(x/2)) / 2 cancels for x << 0: off by 1.7e-4
    at x = -30, by up to 10% near x = -36, and exactly 0 below x = -38, so that
    log(s(x)), about x there, becomes -inf.)
    """
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    s = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return s if s.ndim else s[()]  # a number gives a number (np.float64)


def sigmoid_of_number(x):
    """s(x) for one float x, as a float, with math.exp: the same form as :func:`sigmoid`.

    For the scalar engines (Value, Dual); within a few ulps, relative, in both tails.
    """
    e = math.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


def _softmax(x):
    z = np.exp(x - np.max(x))
    return z / np.sum(z)


def _logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def _rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_gradient(x):
    # d/dx_j of 100 (x_{j+1} - x_j^2)^2 + (1 - x_j)^2, summed over the terms that hold x_j
    g = np.zeros_like(x, dtype=np.float64)
    r = x[1:] - x[:-1] ** 2
    g[:-1] = -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g


def _bowl(x):
    weights = np.arange(1, x.size + 1, dtype=np.float64)
    return np.sum(weights * x**2) / 2.0


def _bowl_gradient(x):
    # f = sum_j j x_j^2 / 2, so df/dx_j = j x_j
    return np.arange(1, x.size + 1, dtype=np.float64) * x


def _pairs(x):
    # f_j = x_j * x_{j+1} and sin(x_j): a non-square Jacobian with off-diagonal entries
    return np.concatenate([x[:-1] * x[1:], np.sin(x)])


SCALAR = {
    f.name: f
    for f in [
        Function("square", lambda x: x**2, _uniform(-3, 3)),
        Function("cube", lambda x: x**3, _uniform(-2, 2)),
        Function("sin", np.sin, _uniform(-3, 3)),
        Function("exp", np.exp, _uniform(-2, 2)),
        Function("log", np.log, _uniform(0.2, 5)),
        Function("sigmoid", sigmoid, _unsaturated),
        Function("tanh", np.tanh, _unsaturated),
        Function("inverse", lambda x: 1.0 / x, _away_from_zero),
        Function("gaussian", lambda x: np.exp(-(x**2) / 2), _uniform(-3, 3)),
    ]
}

TO_SCALAR = {
    f.name: f
    for f in [
        Function("bowl", _bowl, _uniform(-2, 2), lambda n: 1, _bowl_gradient),
        Function("rosenbrock", _rosenbrock, _uniform(-1.5, 1.5), lambda n: 1, _rosenbrock_gradient),
        Function("logsumexp", _logsumexp, lambda rng, n: np.clip(rng.normal(0, 1.5, n), -4, 4), lambda n: 1,
                 _softmax),
        Function("norm", lambda x: np.sqrt(np.sum(x**2)), _away_from_zero, lambda n: 1,
                 lambda x: x / np.sqrt(np.sum(x**2))),
    ]
}

TO_VECTOR = {
    f.name: f
    for f in [
        Function("softmax", _softmax, lambda rng, n: np.clip(rng.normal(0, 1.5, n), -4, 4)),
        Function("tanh", np.tanh, _unsaturated),
        Function("pairs", _pairs, _uniform(-2, 2), lambda n: 2 * n - 1),
    ]
}


def lookup(table, name):
    """The entry ``name`` of ``table``, or a KeyError listing the names there are."""
    try:
        return table[name]
    except KeyError:
        raise KeyError(f"no function named {name!r}; known: {', '.join(sorted(table))}") from None
