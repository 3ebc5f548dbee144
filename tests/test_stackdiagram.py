"""The drawing of a stack of modules (backproplab.stackdiagram)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from backproplab.stackdiagram import stack_diagram  # noqa: E402


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def test_one_box_per_module_and_one_delta_per_input():
    ax = stack_diagram(["Linear", "Tanh", "Linear", "MSE"], params=[True, False, True, False])
    texts = _texts(ax)
    assert len(ax.patches) == 4
    for name in ("Linear", "Tanh", "MSE"):
        assert name in texts
    assert [t for t in texts if t.startswith(r"$\delta_")] == [rf"$\delta_{i}$" for i in range(4)]
    assert [t for t in texts if t.startswith("$z_")] == [f"$z_{i}$" for i in range(4)]
    plt.close("all")


def test_the_backward_pass_starts_from_one_and_only_parameters_get_gradients():
    ax = stack_diagram(["Linear", "MSE"], params=[True, False])
    texts = _texts(ax)
    assert r"$\partial L/\partial L = 1$" in texts
    assert [t for t in texts if "w_" in t] == [r"$\partial L / \partial w_0$"]
    plt.close("all")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        stack_diagram([])
    with pytest.raises(ValueError):
        stack_diagram(["Linear", "MSE"], params=[True])
