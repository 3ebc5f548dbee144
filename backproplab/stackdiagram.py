"""A drawing of a stack of modules: values going forward above, deltas coming back below.

``stack_diagram(["Linear", "MSE"], params=[True, False])`` draws one box per
module, left to right. Above the boxes, arrows carry the forward values
z_0 -> z_1 -> ... ; below them, arrows carry the deltas back,
delta_i = dL/dz_i, starting from delta = 1 at the loss; a module that owns
parameters also sends a dashed arrow down to its parameter gradient.

numpy only at import; matplotlib is imported inside the function. The
mathematical labels are LaTeX; the words come from :mod:`backproplab.messages`.
"""

from backproplab.messages import text


def stack_diagram(names, params=None, *, ax=None):
    """Draw the modules ``names`` in order; ``params[i]`` says whether module i owns parameters.

    names: list of k module names (the last is usually the loss); params: list of k
    booleans (default: none has parameters). Returns the Axes.
    """
    import matplotlib.pyplot as plt

    names = [str(n) for n in names]
    k = len(names)
    if k < 1:
        raise ValueError(text("stackdiagram.empty"))
    params = [False] * k if params is None else [bool(p) for p in params]
    if len(params) != k:
        raise ValueError(text("stackdiagram.params_length", k=k, got=len(params)))
    if ax is None:
        ax = plt.subplots(figsize=(2.6 * k + 1.5, 2.6))[1]
    width, gap = 1.4, 1.2
    xs = [i * (width + gap) for i in range(k)]
    arrow = {"arrowstyle": "->", "lw": 1.4}
    for i, (x, name) in enumerate(zip(xs, names)):
        ax.add_patch(plt.Rectangle((x, -0.5), width, 1.0, fc="#deebf7", ec="#3182bd", lw=1.5))
        ax.text(x + width / 2, 0.0, name, ha="center", va="center", fontsize=11)
        left = x - gap
        # forward value entering module i, above; its delta leaving module i, below
        ax.annotate("", xy=(x, 0.25), xytext=(left, 0.25), arrowprops={**arrow, "color": "#3182bd"})
        ax.text(x - gap / 2, 0.38, f"$z_{i}$", ha="center", va="bottom", color="#3182bd", fontsize=11)
        ax.annotate("", xy=(left, -0.25), xytext=(x, -0.25), arrowprops={**arrow, "color": "#d94801"})
        ax.text(x - gap / 2, -0.38, rf"$\delta_{i}$", ha="center", va="top", color="#d94801", fontsize=11)
        if params[i]:
            ax.annotate("", xy=(x + width / 2, -1.15), xytext=(x + width / 2, -0.5),
                        arrowprops={**arrow, "color": "#d94801", "linestyle": "--"})
            ax.text(x + width / 2, -1.2, rf"$\partial L / \partial w_{i}$", ha="center", va="top",
                    color="#d94801", fontsize=10)
    end = xs[-1] + width
    ax.annotate("", xy=(end + gap * 0.8, 0.25), xytext=(end, 0.25), arrowprops={**arrow, "color": "#3182bd"})
    ax.text(end + gap * 0.85, 0.25, "$L$", ha="left", va="center", color="#3182bd", fontsize=11)
    ax.annotate("", xy=(end, -0.25), xytext=(end + gap * 0.8, -0.25), arrowprops={**arrow, "color": "#d94801"})
    ax.text(end + gap * 0.85, -0.25, r"$\partial L/\partial L = 1$", ha="left", va="center",
            color="#d94801", fontsize=11)
    ax.text(xs[0] - gap, 0.85, text("plot.stack_forward"), color="#3182bd", fontsize=10, va="bottom")
    ax.text(xs[0] - gap, -1.7, text("plot.stack_backward"), color="#d94801", fontsize=10, va="top")
    ax.set_xlim(xs[0] - gap - 0.1, end + gap * 0.85 + 1.5)
    ax.set_ylim(-2.1, 1.2)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
