"""Linear regression by full-batch gradient descent (notebooks 02 and 04).

The model is z = X w, with a column of ones in X for the intercept. The cost
is the mean of the per-sample squared losses L_i = (z_i - y_i)^2 / 2,

    C(w) = (1/2N) |X w - y|^2,   dC/dw = X^T (X w - y) / N.

This is half the mean squared error (1/N)|X w - y|^2: the MSE's gradient is
twice ours, so fitting the MSE at a learning rate lr is the same as fitting C
at 2 lr (the 2 is absorbed into the learning rate).
"""

import numpy as np

from backproplab.messages import text


def _check(X, y, w=None):
    """X (N, D), y (N,) and, if given, w (D,) as float64 arrays; ValueError otherwise."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(text("regression.shapes", X=X.shape, y=y.shape))
    if w is None:
        return X, y
    w = np.array(w, dtype=np.float64)  # a copy
    if w.shape != (X.shape[1],):
        raise ValueError(text("regression.w_shape", expected=(X.shape[1],), got=w.shape))
    return X, y, w


def design_matrix(x):
    """X = [1, x]: x (N,) -> (N, 2); the column of ones multiplies the intercept w[0]."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    return np.column_stack([np.ones_like(x), x])


def cost(X, y, w):
    """C(w) = (1/2N) sum_i (x_i . w - y_i)^2; X (N, D), y (N,), w (D,) -> a number."""
    X, y, w = _check(X, y, w)
    return float(np.mean((X @ w - y) ** 2) / 2.0)


def cost_gradient(X, y, w):
    """dC/dw = X^T (X w - y) / N: (D, N) @ (N,) -> (D,)."""
    X, y, w = _check(X, y, w)
    return X.T @ (X @ w - y) / X.shape[0]


def linear_regression_gd(X, y, w0, lr, steps, return_path=False):
    """(w, costs): ``steps`` full-batch steps w <- w - lr * dC/dw from w0.

    X (N, D), y (N,), w0 (D,) (never changed), lr > 0, steps >= 0.
    costs: (steps + 1,), costs[k] = C(w_k); w: (D,), the weights after the last step.
    With ``return_path=True``: (w, costs, path), path (steps + 1, D) with path[k] = w_k
    (path[0] = w0, path[-1] = w).
    """
    X, y, w = _check(X, y, w0)
    if not (np.isscalar(lr) and np.isfinite(lr) and lr > 0):
        raise ValueError(text("regression.bad_lr", got=lr))
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(text("regression.bad_steps", got=steps))
    costs, path = [cost(X, y, w)], [w]
    for _ in range(steps):
        w = w - lr * cost_gradient(X, y, w)
        costs.append(cost(X, y, w))
        path.append(w)
    if return_path:
        return w, np.array(costs), np.array(path)
    return w, np.array(costs)


def least_squares(X, y):
    """The minimiser of C: w solving X^T X w = X^T y (by numpy's lstsq), (D,)."""
    X, y = _check(X, y)
    return np.linalg.lstsq(X, y, rcond=None)[0]


def stability_limit(X):
    """2 / lambda_max(X^T X / N): gradient descent on C diverges for any lr above it."""
    X = np.asarray(X, dtype=np.float64)
    return float(2.0 / np.linalg.eigvalsh(X.T @ X / X.shape[0]).max())
