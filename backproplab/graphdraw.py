"""Draw a Value graph with matplotlib alone: inputs on the left, the output on the right.

Nodes are laid out in columns by depth (0 for inputs, 1 + the deepest child
otherwise) and spread evenly within a column. Each node is a rounded box
showing its label and operation, its value and its gradient; inputs are blue,
operations orange, and a legend under the graph says so. An arrow goes from
every child to the node that consumes it, optionally labelled with the local
derivative d(node)/d(child). An edge that skips columns is routed through the
gaps between the boxes of the columns it crosses, and its label sits on its
last stretch, near the node it enters. The figure is at most MAX_WIDTH inches
wide; when that makes boxes small, the node text shrinks to fit its box and an
edge label too long for the gap between columns keeps only its number. Node boxes carry the gid "node", their texts "node-text", edge labels
"edge-label" and edges "edge" (the tests count them).
"""

from backproplab.messages import text
from backproplab.value import depth, topological_order

BOX_W, BOX_H = 1.1, 0.66  # node size in data units
COLUMN = 2.1  # distance between columns (rows are 1 apart), room for edge labels
MAX_WIDTH = 11.0  # inches: wider graphs are drawn smaller, not wider
INPUT_COLOR, OP_COLOR = "#dbe9f6", "#fde9c9"


def layout(root, show_constants=True):
    """{node: (x, y)}: x = COLUMN * depth, y spread evenly and centred in each column."""
    levels = depth(root)
    columns = {}
    for node in topological_order(root):
        if show_constants or node.op != "const":
            columns.setdefault(levels[node], []).append(node)
    where = {}
    for x, nodes in columns.items():
        for i, node in enumerate(nodes):
            where[node] = (COLUMN * x, (len(nodes) - 1) / 2.0 - i)
    return where


def route(start, end, where):
    """The corners of an edge from ``start`` (a child's centre) to ``end`` (its consumer's centre).

    A straight segment when the two are in neighbouring columns; otherwise the
    edge crosses every column in between horizontally, through the gap between
    boxes (or above or below them) nearest to the straight line.
    """
    (x0, y0), (x1, y1) = start, end
    points = [(x0 + BOX_W / 2, y0)]
    columns = {}
    for x, y in where.values():
        columns.setdefault(round(x / COLUMN), []).append(y)
    first, last = round(x0 / COLUMN), round(x1 / COLUMN)
    for k in range(first + 1, last):
        ys = sorted(columns.get(k, []))
        straight = y0 + (y1 - y0) * (k - first) / (last - first)
        if not ys:
            continue
        gaps = [ys[0] - 0.6, ys[-1] + 0.6] + [(u + v) / 2 for u, v in zip(ys, ys[1:])]
        clear = [g for g in gaps if all(abs(g - y) >= BOX_H / 2 + 0.1 for y in ys)]
        gap = min(clear, key=lambda g: abs(g - straight))
        points += [(k * COLUMN - BOX_W / 2 - 0.15, gap), (k * COLUMN + BOX_W / 2 + 0.15, gap)]
    points.append((x1 - BOX_W / 2, y1))
    return points


def _node_text(node):
    head = node.label if node.op in ("", "const") else f"{node.label} ({node.op})".strip()
    return "\n".join([head or node.op, text("plot.node_value", value=node.data),
                      text("plot.node_grad", grad=node.grad)])


def draw_graph(root, edge_labels=False, show_constants=True, ax=None, legend=True):
    """Draw root's graph; return the matplotlib Figure.

    edge_labels: write d(node)/d(child) on each edge; show_constants: draw
    wrapped numbers (the 1 of b + 1) as nodes; ax: draw into these axes;
    legend: explain the two box colours under the graph.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
    from matplotlib.path import Path

    where = layout(root, show_constants)
    xs = [p[0] for p in where.values()]
    ys = [p[1] for p in where.values()]
    span_x = max(xs) - min(xs) + BOX_W + 1.2
    span_y = max(ys) - min(ys) + BOX_H + 1.0
    if ax is None:
        scale = min(1.0, MAX_WIDTH / (1.05 * span_x))  # inches per data unit, at most 1
        fig, ax = plt.subplots(figsize=(max(4.0, 1.05 * span_x * scale), max(2.2, 0.85 * span_y * scale + 0.4)))
    fig = ax.figure
    ax.set_xlim(min(xs) - BOX_W / 2 - 0.6, max(xs) + BOX_W / 2 + 0.6)
    inch = fig.get_figwidth() * ax.get_position().width / (max(xs) - min(xs) + BOX_W + 1.2)  # per data unit
    texts = {node: _node_text(node) for node in where}
    widest = max(len(line) for t in texts.values() for line in t.split("\n"))
    node_size = min(8.0, BOX_W * inch * 72 / (0.62 * widest))  # points: the text fits in its box
    for node, (x, y) in where.items():
        color = INPUT_COLOR if not node.children else OP_COLOR
        box = FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H, boxstyle="round,pad=0.02",
                             facecolor=color, edgecolor="#333333", zorder=2)
        box.set_gid("node")
        ax.add_patch(box)
        label = ax.text(x, y, texts[node], ha="center", va="center", fontsize=node_size, zorder=3)
        label.set_gid("node-text")
    low, high = min(ys) - 0.6, max(ys) + 0.6
    longest = max((len(text("plot.edge_local", out=n.label, inp=c.label, value=v))
                   for n in where for c, v in zip(n.children, n.local_grads) if c in where), default=0)
    numbers_only = longest * 7 * 0.6 / 72 > 0.9 * (COLUMN - BOX_W) * inch  # names too wide for the gaps
    for node in where:
        seen = {}
        for child, local in zip(node.children, node.local_grads):
            if child not in where:
                continue
            k = seen[child] = seen.get(child, -1) + 1  # repeated edges (a * a) bend apart
            points = route(where[child], where[node], where)
            low = min([low] + [p[1] - 0.3 for p in points])
            high = max([high] + [p[1] + 0.3 for p in points])
            if len(points) == 2:
                rad = 0.6 * k * (-1) ** k
                arrow = FancyArrowPatch(points[0], points[1], arrowstyle="-|>", mutation_scale=10,
                                        connectionstyle=f"arc3,rad={rad}", color="#555555", zorder=1)
            else:
                rad = 0.0
                path = Path(points, [Path.MOVETO] + [Path.LINETO] * (len(points) - 1))
                arrow = FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=10, color="#555555",
                                        zorder=1)
            arrow.set_gid("edge")
            ax.add_patch(arrow)
            if edge_labels:
                named = node.label and child.label and not numbers_only
                words = text("plot.edge_local", out=node.label, inp=child.label, value=local) if named \
                    else f"{local:.3g}"
                (px, py), (qx, qy) = points[-2], points[-1]
                share = 0.5 if len(points) == 2 else 0.6  # a routed edge: near the node it enters
                mx, my = px + share * (qx - px), py + share * (qy - py)
                my -= rad * (qx - px - 0.0) / 2
                tag = ax.text(mx, my, words, ha="center", va="center", fontsize=7, zorder=4,
                              bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
                tag.set_gid("edge-label")
    ax.set_ylim(low, high)
    ax.set_aspect("auto")
    ax.axis("off")
    if legend:
        handles = [Patch(facecolor=INPUT_COLOR, edgecolor="#333333", label=text("plot.graph_input")),
                   Patch(facecolor=OP_COLOR, edgecolor="#333333", label=text("plot.graph_operation"))]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False,
                  fontsize=8)
    return fig
