"""Gradient descent: the reference loop of notebook 01.

Gradient descent moves against the gradient, the direction of steepest ascent:

    x_{k+1} = x_k - learning_rate * grad(x_k),   k = 0, ..., steps - 1.

(Ascent on f is descent on -f: pass ``lambda x: -grad_f(x)``.)
"""

import numpy as np

from backproplab.messages import text


def gradient_descent(grad, x0, learning_rate, steps, *, tol=None):
    """The trajectory of ``steps`` gradient-descent steps from x0.

    grad: function x (n,) -> grad f(x) (n,); x0: (n,) (a number is taken as (1,));
    learning_rate: a positive number; steps: a whole number >= 0.
    Returns path: (steps + 1, n), path[0] = x0, path[k + 1] = path[k] - learning_rate * grad(path[k]).
    tol: if given, stop early once |grad(path[k])| <= tol; then path has fewer rows, the
    last one being the point where the gradient was that small. x0 is never changed.
    """
    if not callable(grad):
        raise TypeError(text("descent.not_callable", got=type(grad).__name__))
    x = np.array(x0, dtype=np.float64).reshape(-1)  # a copy: x0 stays as it was
    if not np.all(np.isfinite(x)):
        raise ValueError(text("descent.bad_x0", got=x0))
    if not (np.isscalar(learning_rate) and np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(text("descent.bad_learning_rate", got=learning_rate))
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(text("descent.bad_steps", got=steps))
    path = [x.copy()]
    for _ in range(steps):
        g = np.asarray(grad(x.copy()), dtype=np.float64).reshape(-1)
        if g.shape != x.shape:
            raise ValueError(text("descent.grad_shape", expected=x.shape, got=g.shape))
        if tol is not None and np.linalg.norm(g) <= tol:
            break
        x = x - learning_rate * g
        path.append(x.copy())
    return np.array(path)


def converged(path, grad, tol):
    """The first index k with |grad(path[k])| <= tol, or None if no point of path gets there.

    path: (K, n) as returned by gradient_descent; grad: x (n,) -> (n,).
    """
    for k, x in enumerate(np.asarray(path, dtype=np.float64)):
        if np.linalg.norm(grad(x.copy())) <= tol:
            return k
    return None
