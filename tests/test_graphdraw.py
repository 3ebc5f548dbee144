"""Drawing a Value graph: one box and one text per node, values shown, labels on edges when asked."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab.graphdraw import BOX_H, BOX_W, MAX_WIDTH, draw_graph, layout, route  # noqa: E402
from backproplab.value import Value, topological_order  # noqa: E402


def e_graph():
    a, b = Value(2.0, "a"), Value(1.0, "b")
    c = a + b
    d = b + 1
    e = c * d
    c.label, d.label, e.label = "c", "d", "e"
    e.backward()
    return e


def by_gid(fig, gid):
    ax = fig.axes[0]
    return [a for a in ax.patches + ax.texts if a.get_gid() == gid]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_one_box_and_one_text_per_node_showing_value_and_grad():
    e = e_graph()
    fig = draw_graph(e)
    nodes = topological_order(e)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(by_gid(fig, "node")) == len(nodes) == 6
    texts = [t.get_text() for t in by_gid(fig, "node-text")]
    assert len(texts) == len(nodes)
    for node in nodes:
        assert any(f"{node.data:.4g}" in t and f"{node.grad:.4g}" in t for t in texts), node
    assert not by_gid(fig, "edge-label")


def test_edge_labels_carry_the_local_derivatives():
    e = e_graph()
    fig = draw_graph(e, edge_labels=True, show_constants=False)
    labels = [t.get_text() for t in by_gid(fig, "edge-label")]
    assert len(labels) == 5  # the edge from the constant 1 is hidden with its node
    assert "∂e/∂c = 2" in labels and "∂e/∂d = 3" in labels and "∂c/∂a = 1" in labels
    assert len(by_gid(fig, "node")) == 5


def test_inputs_left_output_right_and_repeated_edges_each_labelled():
    x = Value(1.5, "x")
    y = x * x
    y.label = "y"
    where = layout(y)
    assert where[x][0] < where[y][0]
    fig = draw_graph(y, edge_labels=True)
    assert len(by_gid(fig, "edge-label")) == 2


def test_thirty_nodes_render_without_overlapping_centres():
    rng = np.random.default_rng(0)
    nodes = [Value(float(v), f"x{i}") for i, v in enumerate(rng.normal(size=5))]
    while len(nodes) < 29:
        i, j = rng.integers(len(nodes), size=2)
        nodes.append((nodes[i] * nodes[j]).tanh() if rng.random() < 0.3 else nodes[i] + nodes[j])
    root = sum(nodes[5:], start=nodes[0])
    count = len(topological_order(root))
    assert count >= 30
    where = layout(root)
    centres = {tuple(np.round(p, 9)) for p in where.values()}
    assert len(centres) == len(where) == count
    fig = draw_graph(root, edge_labels=True)
    fig.canvas.draw()
    boxes = [p.get_window_extent() for p in by_gid(fig, "node")]
    assert len(boxes) == count
    for i, b1 in enumerate(boxes):
        for b2 in boxes[i + 1:]:
            assert not b1.overlaps(b2)


def fanout_graph():
    z = Value(0.7, "z")
    s = [Value(w, f"w{k}") * z for k, w in enumerate((2.0, -2.5, 0.4))]
    t = [sk.tanh() ** 3 for sk in s]
    root = t[0] + t[1] + t[2]  # t2 skips the column of t0 + t1
    root.backward()
    return root


def test_edges_that_skip_columns_go_around_the_boxes():
    root = fanout_graph()
    where = layout(root, show_constants=False)
    skipping = 0
    for node in where:
        for child in node.children:
            if child not in where:
                continue
            points = np.array(route(where[child], where[node], where))
            skipping += len(points) > 2
            for p, q in zip(points[:-1], points[1:]):
                for u in np.linspace(0.0, 1.0, 200)[1:-1]:
                    x, y = p + u * (q - p)
                    for other, (ox, oy) in where.items():
                        if other is child or other is node:
                            continue
                        assert not (abs(x - ox) < BOX_W / 2 and abs(y - oy) < BOX_H / 2), (child, node, other)
    assert skipping >= 1


def test_wide_graphs_are_capped_and_the_colours_are_explained():
    fig = draw_graph(fanout_graph(), edge_labels=True, show_constants=False)
    assert fig.get_figwidth() <= MAX_WIDTH
    legend = fig.axes[0].get_legend()
    assert legend is not None and len(legend.get_texts()) == 2
    fig.canvas.draw()
    for box, words in zip(by_gid(fig, "node"), by_gid(fig, "node-text")):
        outer, inner = box.get_window_extent(), words.get_window_extent()
        assert inner.x0 >= outer.x0 - 1 and inner.x1 <= outer.x1 + 1  # the text fits in its box
