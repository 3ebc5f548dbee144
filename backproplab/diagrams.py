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
