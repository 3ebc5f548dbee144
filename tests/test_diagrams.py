"""The chain diagram draws one box per node, one label per arrow, and the caption when given."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from backproplab.diagrams import chain_diagram  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _texts(ax, gid):
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


def test_chain_diagram_shows_every_value_and_local_derivative():
    ax = chain_diagram([("a", 1.0), ("b", 0.5), ("c", -2.25)], [0.5, -4.5], caption="product -2.25")
    assert _texts(ax, "node") == ["a\n1.0000", "b\n0.5000", "c\n-2.2500"]
    assert _texts(ax, "edge") == ["0.5000", "-4.5000"]
    assert _texts(ax, "caption") == ["product -2.25"]
    ax.figure.canvas.draw()


def test_chain_diagram_draws_on_given_axes_without_a_caption():
    fig, ax = plt.subplots()
    assert chain_diagram([("x", 2.0), ("y", 4.0)], [2.0], ax=ax, digits=1) is ax
    assert _texts(ax, "edge") == ["2.0"] and _texts(ax, "caption") == []


def test_chain_diagram_needs_one_edge_fewer_than_nodes():
    with pytest.raises(ValueError):
        chain_diagram([("x", 1.0), ("y", 2.0)], [1.0, 2.0])
