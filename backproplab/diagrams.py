"""Small explanatory drawings for the notebooks (matplotlib only).

``chain_diagram``: a chain of boxes (a name and a value each) joined by arrows
that carry the local derivative of each box with respect to the one before it,
as in the chain rule dL/dw1 = product of the numbers on the arrows.
"""

import matplotlib.pyplot as plt

from backproplab.messages import text


def chain_diagram(nodes, edges, caption=None, ax=None, digits=4):
    """Draw ``nodes`` left to right, joined by arrows labelled with ``edges``; return the axes.

    nodes: a list of (name, value) pairs, value a number; edges: a list of
    len(nodes) - 1 numbers, edges[i] = d(node i + 1)/d(node i); caption: an
    optional line of text under the chain; ax: the axes to draw on (a new
    figure, 11 x 1.8 inches, when None); digits: decimals shown for every number.
    """
    if len(edges) != len(nodes) - 1:
        raise ValueError(text("plot.chain_diagram_edges", nodes=len(nodes), expected=len(nodes) - 1, got=len(edges)))
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 1.8 if caption is None else 2.2))
    for i, (name, value) in enumerate(nodes):
        ax.text(2 * i, 0, f"{name}\n{value:.{digits}f}", ha="center", va="center",
                bbox={"boxstyle": "round", "fc": "w"}, gid="node")
    for i, local in enumerate(edges):
        ax.annotate("", xy=(2 * i + 1.55, 0), xytext=(2 * i + 0.45, 0), arrowprops={"arrowstyle": "->"})
        ax.text(2 * i + 1, 0.25, f"{local:.{digits}f}", ha="center", gid="edge")
    bottom = -0.6
    if caption is not None:
        ax.text(len(nodes) - 1, -0.75, caption, ha="center", va="center", gid="caption")
        bottom = -1.0
    ax.set_xlim(-0.7, 2 * len(nodes) - 1.3)
    ax.set_ylim(bottom, 0.6)
    ax.axis("off")
    return ax


def stages_diagram(stages=3, ax=None):
    """A stack of modules z_{k+1} = f_k(z_k, w_k), with what backprop sends down each link.

    Top row: the forward pass, states z_0 ... z_K left to right, each module f_k taking its
    weights w_k from above. Bottom row: the backward pass, dc/dz_{k+1} arriving from the right,
    dc/dz_k = dc/dz_{k+1} df_k/dz_k going on to the left and dc/dw_k = dc/dz_{k+1} df_k/dw_k
    leaving downwards. stages: the number of modules K (1 to 6); returns the axes.
    """
    stages = int(stages)
    if not 1 <= stages <= 6:
        raise ValueError(text("plot.stages_count", got=stages))
    if ax is None:
        _, ax = plt.subplots(figsize=(2.6 * stages + 2.8, 3.2))
    box = {"boxstyle": "round,pad=0.4", "fc": "#e8eef7", "ec": "#34558b"}
    for k in range(stages):
        x = 2.5 * k + 1.25
        ax.text(x, 1.0, f"$f_{k}(z_{k}, w_{k})$", ha="center", va="center", bbox=box, gid="module")
        ax.annotate(f"$w_{k}$", xy=(x, 1.32), xytext=(x, 2.0), ha="center",
                    arrowprops={"arrowstyle": "->", "color": "0.3"})
        ax.plot([x, x], [0.72, -0.5], linestyle=":", color="0.5", linewidth=1)  # the module's Jacobians act here
        ax.annotate("", xy=(x, -1.35), xytext=(x, -0.6), arrowprops={"arrowstyle": "->", "color": "crimson"})
        ax.text(x, -1.45, r"$\partial c/\partial w_{%d}$" % k, ha="center", va="top", color="crimson", gid="weight_grad")
    for k in range(stages + 1):
        x = 2.5 * k
        if k > 0:
            ax.annotate("", xy=(x + 0.05, 1.0), xytext=(x - 0.55, 1.0), arrowprops={"arrowstyle": "->"})
        if k < stages:
            ax.annotate("", xy=(x + 0.55, 1.0), xytext=(x + 0.05, 1.0), arrowprops={"arrowstyle": "-"})
        ax.text(x, 1.35, f"$z_{k}$", ha="center", va="bottom", gid="state")
        ax.text(x, -0.55, r"$\partial c/\partial z_{%d}$" % k, ha="center", va="center", color="crimson", gid="delta")
        if k < stages:
            ax.annotate("", xy=(x + 0.6, -0.55), xytext=(x + 1.9, -0.55),
                        arrowprops={"arrowstyle": "->", "color": "crimson"})
    ax.text(2.5 * stages + 0.7, 1.0, text("plot.stages_forward"), ha="left", va="center", fontsize="small")
    ax.text(2.5 * stages + 0.7, -0.55, text("plot.stages_backward"), ha="left", va="center",
            fontsize="small", color="crimson")
    ax.set_xlim(-0.6, 2.5 * stages + 2.9)
    ax.set_ylim(-1.9, 2.2)
    ax.axis("off")
    return ax
