"""Small data sets, made or loaded without network.

``synthetic_regression``: the straight line with noise of Facure's
"Backpropagation Modular" (2017), drawn exactly as there.
"""

import numpy as np


def synthetic_regression(seed=0, n=100, noise=3.0):
    """(x, y, rng): x = linspace(-10, 10, n), y = 5 + 3 x + N(0, noise^2) noise.

    The noise comes from ``np.random.RandomState(seed)``, the generator behind
    ``np.random.seed(seed)``; it is returned after drawing y, so that weights
    drawn from it next (``rng.normal(0, 1, 2)``) are those of the original recipe.
    x, y: (n,).
    """
    rng = np.random.RandomState(seed)
    x = np.linspace(-10.0, 10.0, n)
    y = 5.0 + 3.0 * x + rng.normal(0.0, noise, n)
    return x, y, rng
