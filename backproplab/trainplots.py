"""Plots of training (notebook 07): curves on any axes, noisy step losses against the
cost, a confusion matrix and a grid of images.

matplotlib is imported inside each function; every function draws on ``ax`` (a new
figure when None) and returns the Axes. Labels are message keys (``plot.*``).
"""

import numpy as np

from backproplab.messages import text


def _axes(ax, figsize=(6, 4)):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize)[1]


def lines(series, *, xlabel, ylabel, logx=False, logy=False, styles=None, ax=None):
    """One line per entry: series {label: (x (K,), y (K,))}; xlabel, ylabel: message keys.

    styles: {label: matplotlib format string such as "--"}; logx, logy: log scales.
    """
    ax = _axes(ax)
    for label, (x, y) in series.items():
        ax.plot(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64),
                (styles or {}).get(label, "-"), label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(text(xlabel))
    ax.set_ylabel(text(ylabel))
    ax.legend(fontsize="small")
    return ax


def step_losses(step_loss, cost, steps_per_epoch, *, ax=None):
    """The loss of every single step (dots) and the cost after every epoch (line).

    step_loss: (S,) the loss of the batch of each step; cost: (E + 1,) the cost on the
    whole training set before training and after each epoch; steps_per_epoch: S / E.
    """
    ax = _axes(ax)
    step_loss = np.asarray(step_loss, dtype=np.float64)
    ax.plot(np.arange(1, step_loss.size + 1), step_loss, ".", markersize=2, alpha=0.4,
            label=text("plot.train_step_loss"))
    ax.plot(np.arange(len(cost)) * steps_per_epoch, cost, "o-", color="crimson",
            label=text("plot.train_epoch_cost"))
    ax.set_yscale("log")
    ax.set_xlabel(text("plot.train_step"))
    ax.set_ylabel(text("plot.train_loss"))
    ax.legend(fontsize="small")
    return ax


def confusion(matrix, class_names, *, ax=None):
    """A confusion matrix as a heatmap with its counts: matrix (C, C), row = true class."""
    ax = _axes(ax, (5, 4.5))
    matrix = np.asarray(matrix)
    ax.imshow(matrix, cmap="Blues")
    top = matrix.max() if matrix.size else 0
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(int(count)), ha="center", va="center",
                color="white" if count > top / 2 else "black", fontsize="small")
    ticks = np.arange(len(class_names))
    ax.set_xticks(ticks, [str(c) for c in class_names])
    ax.set_yticks(ticks, [str(c) for c in class_names])
    ax.set_xlabel(text("plot.train_predicted"))
    ax.set_ylabel(text("plot.train_true"))
    return ax


def image_grid(images, titles, *, shape=(8, 8), columns=8):
    """Small images in a grid, each with a title; images: (K, prod(shape)). Returns the figure."""
    import matplotlib.pyplot as plt

    images = np.asarray(images, dtype=np.float64)
    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, title in zip(axes.ravel(), images, titles):
        ax.imshow(image.reshape(shape), cmap="gray_r")
        ax.set_title(title, fontsize="small")
    fig.tight_layout()
    return fig


def fitted_lines(x, y, params, *, ax=None):
    """Data points and the line y = w x + b for each (w, b): params {epoch: (w, b)}, epoch 0 being
    the line before training; x, y: (N,)."""
    ax = _axes(ax)
    ax.plot(x, y, ".", color="0.5", label=text("plot.data"))
    grid = np.linspace(np.min(x), np.max(x), 2)
    for k, (w, b) in params.items():
        label = text("plot.train_after_epoch", k=k) if k else text("plot.train_before")
        ax.plot(grid, w * grid + b, label=label)
    ax.set_xlabel(text("plot.x"))
    ax.set_ylabel(text("plot.chain_y"))
    ax.legend(fontsize="small")
    return ax
