"""Plots of the course: contours with gradient arrows and descent paths, iterates on a
curve, value-against-iteration curves, and the step-size U-curve of finite differences.

matplotlib is imported inside each function, so that importing backproplab needs only
numpy. Every function draws on ``ax`` (a new figure when None) and returns the Axes,
so that a caller can add to it and a test can inspect what was drawn. Labels come from
:mod:`backproplab.messages` (keys ``plot.*``).
"""

import numpy as np

from backproplab.messages import text


def _axes(ax, figsize=(6, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def contour(f, xlim, ylim, *, grad=None, arrows=(), paths=None, levels=20, resolution=80,
            legend_loc="upper right", ax=None):
    """Level sets of f: R^2 -> R, with gradient arrows and descent paths on top.

    f: p (2,) -> number; xlim, ylim: (low, high); grad: p (2,) -> (2,), needed for arrows;
    arrows: points (k, 2) where to draw grad f, scaled to a common length;
    paths: {label: path (K, 2)} drawn as lines with markers (e.g. from gradient_descent);
    legend_loc: where the legend goes (a matplotlib location), so it can avoid the arrows.
    """
    ax = _axes(ax, (6, 5))
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    z = np.array([[f(np.array([x, y])) for x in xs] for y in ys])
    ax.contour(xs, ys, z, levels=levels, cmap="viridis", linewidths=0.8)
    points = np.asarray(arrows, dtype=np.float64).reshape(-1, 2)
    if len(points):
        if grad is None:
            raise ValueError(text("plot.need_grad"))
        g = np.array([grad(p.copy()) for p in points])
        longest = np.max(np.linalg.norm(g, axis=1))
        span = 0.3 * min(xlim[1] - xlim[0], ylim[1] - ylim[0])
        g = g * (span / longest if longest > 0 else 0.0)
        ax.quiver(points[:, 0], points[:, 1], g[:, 0], g[:, 1], color="crimson", angles="xy",
                  scale_units="xy", scale=1, width=0.006, label=text("plot.gradient_arrows"))
    for label, path in (paths or {}).items():
        path = np.asarray(path, dtype=np.float64)
        ax.plot(path[:, 0], path[:, 1], "o-", markersize=3, linewidth=1.2, label=label)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_xlabel(text("plot.x1"))
    ax.set_ylabel(text("plot.x2"))
    if len(points) or paths:
        ax.legend(loc=legend_loc, fontsize="small")
    return ax


def iterates(f, xlim, paths, *, numbered=None, resolution=300, ax=None):
    """The curve of f: R -> R with iterates x_0, x_1, ... drawn on it and numbered.

    f: vectorised x -> f(x); paths: {label: sequence of x_k};
    numbered: indices k of the iterates to number (negative counts from the end, so
    (0, -1) numbers the first and the last); None numbers the first six.
    """
    ax = _axes(ax)
    xs = np.linspace(*xlim, resolution)
    ax.plot(xs, f(xs), color="0.3", label=text("plot.fx"))
    for label, path in paths.items():
        path = np.asarray(path, dtype=np.float64).reshape(-1)
        line, = ax.plot(path, f(path), "o--", markersize=5, linewidth=1, label=label)
        ks = range(min(6, path.size)) if numbered is None else sorted({k % path.size for k in numbered})
        for k in ks:
            ax.annotate(str(k), (path[k], f(path[k])), textcoords="offset points", xytext=(4, 4),
                        color=line.get_color(), fontsize="small")
    ax.set_xlabel(text("plot.x"))
    ax.set_ylabel(text("plot.fx"))
    ax.legend(fontsize="small")
    return ax


def curves(series, *, xlabel="plot.iteration", ylabel="plot.value", x=None, logy=False, ax=None):
    """Values against iteration (or against x), one line per entry of series.

    series: {label: values (K,)}; xlabel, ylabel: message keys; x: shared abscissa (K,),
    default 0..K-1; logy: log scale for the values (e.g. a cost falling towards 0).
    """
    ax = _axes(ax)
    for label, values in series.items():
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        ax.plot(np.arange(values.size) if x is None else x, values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(text(xlabel))
    ax.set_ylabel(text(ylabel))
    ax.legend(fontsize="small")
    return ax


def step_size_curve(h, errors, *, truncation=None, rounding=None, best=None, ax=None):
    """The U-curve of a finite difference's error against its step, on log-log axes.

    h: steps (K,); errors: absolute errors (K,), zeros drawn at the bottom of the axes;
    truncation, rounding: the two model terms (K,), e.g. h^2 |f'''| / 6 and eps |f| / h,
    drawn dashed; best: the step to mark with a vertical line.
    """
    ax = _axes(ax)
    h = np.asarray(h, dtype=np.float64)
    errors = np.asarray(errors, dtype=np.float64)
    floor = np.min(errors[errors > 0]) / 10 if np.any(errors > 0) else 1e-20
    ax.loglog(h, np.maximum(errors, floor), "o-", markersize=3, label=text("plot.measured_error"))
    if truncation is not None:
        ax.loglog(h, truncation, "--", label=text("plot.truncation"))
    if rounding is not None:
        ax.loglog(h, rounding, ":", linewidth=2, label=text("plot.rounding"))
    if best is not None:
        ax.axvline(best, color="0.4", linewidth=1, label=text("plot.best_step", h=best))
    top = np.max(errors) * 10 if np.any(errors > 0) else 1.0
    ax.set_ylim(floor, top)
    ax.set_xlabel(text("plot.step"))
    ax.set_ylabel(text("plot.abs_error"))
    ax.legend(fontsize="small")
    return ax


def matrices(panels, *, axes=None, cmap="RdBu_r"):
    """Heatmaps of matrices side by side, each with its own symmetric colour scale (0 is white).

    panels: {title: 2-D array}; axes: a sequence of as many Axes (a new row of figures when
    None). Zero entries are drawn white, so the structure of a Jacobian (blocks, diagonals)
    shows at a glance. Returns the list of Axes.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        widths = [max(1.0, np.asarray(m).shape[1] / max(1, np.asarray(m).shape[0])) for m in panels.values()]
        _, axes = plt.subplots(1, len(panels), figsize=(3.2 * sum(widths) + 1, 3.6), squeeze=False,
                               gridspec_kw={"width_ratios": widths}, layout="constrained")
        axes = list(axes[0])
    for ax, (title, matrix) in zip(axes, panels.items()):
        matrix = np.atleast_2d(np.asarray(matrix, dtype=np.float64))
        top = np.max(np.abs(matrix), initial=0.0) or 1.0
        image = ax.imshow(matrix, cmap=cmap, vmin=-top, vmax=top, interpolation="nearest")
        ax.set_title(title, fontsize="medium")
        ax.set_xlabel(text("plot.matrix_columns", count=matrix.shape[1]))
        ax.set_ylabel(text("plot.matrix_rows", count=matrix.shape[0]))
        ax.figure.colorbar(image, ax=ax, shrink=0.8)
    return list(axes)
