"""A small non-linear 2-D problem, and a picture of the regions a classifier assigns.

- ``two_moons(n, noise, seed)``: two interleaved half circles, one per class,
  which no straight line separates;
- ``decision_boundary(score, X, y)``: the plane coloured by the sign of a
  model's score, the line ``score = 0`` between the colours, and the samples.

numpy only at import; matplotlib is imported inside the plotting function.
Plot labels come from :mod:`backproplab.messages` (keys ``plot.*``).
"""

import numpy as np

from backproplab.messages import text


def two_moons(n=200, noise=0.15, seed=0):
    """(X, y): n points on two interleaved half circles, with Gaussian noise.

    Class 0 lies on the upper half of the unit circle centred at (0, 0); class 1
    on the lower half of the unit circle centred at (1, 0.5), so each moon
    reaches into the other's hollow. Each point moves by N(0, noise^2) in both
    coordinates. X: (n, 2) float64; y: (n,) int64 in {0, 1}, n // 2 of class 0
    and the rest of class 1. The same seed gives the same points.
    """
    n = int(n)
    if n < 2:
        raise ValueError(text("boundary.bad_n", got=n))
    if not (np.isscalar(noise) and np.isfinite(noise) and noise >= 0):
        raise ValueError(text("boundary.bad_noise", got=noise))
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = rng.uniform(0.0, np.pi, n0)
    t1 = rng.uniform(0.0, np.pi, n - n0)
    upper = np.column_stack([np.cos(t0), np.sin(t0)])
    lower = np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])
    X = np.vstack([upper, lower]) + rng.normal(0.0, noise, (n, 2))
    y = np.concatenate([np.zeros(n0, dtype=np.int64), np.ones(n - n0, dtype=np.int64)])
    return X, y


def grid(X, steps=150, margin=0.5):
    """(xx, yy, points): a steps x steps grid covering X (N, 2) plus a margin.

    xx, yy: (steps, steps) as from np.meshgrid; points: (steps * steps, 2), the
    grid's points one per row, ready for a model's forward.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(text("boundary.bad_points", got=X.shape))
    low, high = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(low[0], high[0], steps), np.linspace(low[1], high[1], steps))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def decision_boundary(score, X, y, *, steps=150, legend=True, ax=None):
    """Colour the plane by the class a model gives, draw score = 0, and the samples on top.

    score: a function points (K, 2) -> scores (K,) or (K, 1), class 1 where the
    score is positive; X: (N, 2); y: (N,) in {0, 1}; legend: put the legend to
    the right of the axes. Returns the Axes.
    """
    import matplotlib.pyplot as plt

    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    xx, yy, points = grid(X, steps)
    values = np.asarray(score(points), dtype=np.float64)
    if values.size != points.shape[0]:
        raise ValueError(text("boundary.bad_scores", expected=(points.shape[0],), got=values.shape))
    values = values.reshape(xx.shape)
    if ax is None:
        ax = plt.subplots(figsize=(6, 4.5))[1]
    ax.contourf(xx, yy, values > 0, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"], alpha=0.8)
    if values.min() < 0 < values.max():
        ax.contour(xx, yy, values, levels=[0.0], colors="k", linewidths=1.5)
    ax.plot([], [], "k-", label=text("plot.boundary"))
    for k, (colour, marker) in enumerate([("#2171b5", "o"), ("#d94801", "s")]):
        ax.scatter(*X[y == k].T, s=14, c=colour, marker=marker, edgecolors="white", linewidths=0.4,
                   label=text("plot.class_k", k=k))
    ax.set_xlabel(text("plot.x1"))
    ax.set_ylabel(text("plot.x2"))
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
    return ax
