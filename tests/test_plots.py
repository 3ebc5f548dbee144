"""The plotting module draws what it is asked to (Agg backend; artists are inspected, no image comparison)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab import descent, plots  # noqa: E402
from backproplab.messages import text  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def f(p):
    return (p[0] ** 2 + 10 * p[1] ** 2) / 2


def grad(p):
    return np.array([p[0], 10 * p[1]])


def test_importing_backproplab_plots_does_not_need_pyplot_at_import():
    import subprocess
    import sys

    code = "import sys, backproplab.plots; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_contour_draws_levels_arrows_and_one_line_per_path():
    paths = {"a": descent.gradient_descent(grad, [-2.0, 1.0], 0.05, 20),
             "b": descent.gradient_descent(grad, [2.0, 1.0], 0.15, 20)}
    ax = plots.contour(f, (-3, 3), (-2, 2), grad=grad, arrows=[[1.0, 1.0], [-1.0, 0.5]], paths=paths)
    assert len(ax.collections) >= 2  # contour set and quiver
    quivers = [c for c in ax.collections if isinstance(c, matplotlib.quiver.Quiver)]
    assert len(quivers) == 1 and quivers[0].N == 2
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert len(ax.get_lines()[0].get_xdata()) == 21
    assert ax.get_xlabel() == text("plot.x1") and ax.get_ylabel() == text("plot.x2")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert text("plot.gradient_arrows") in legend


def test_contour_arrows_point_along_the_gradient():
    ax = plots.contour(f, (-3, 3), (-2, 2), grad=grad, arrows=[[1.0, 0.2]])
    (quiver,) = [c for c in ax.collections if isinstance(c, matplotlib.quiver.Quiver)]
    u, v = float(quiver.U[0]), float(quiver.V[0])
    g = grad(np.array([1.0, 0.2]))
    assert np.isclose(u * g[1] - v * g[0], 0.0) and u * g[0] + v * g[1] > 0


def test_contour_arrows_need_a_gradient():
    with pytest.raises(ValueError, match="grad"):
        plots.contour(f, (-1, 1), (-1, 1), arrows=[[0.5, 0.5]])


def test_iterates_draw_the_curve_and_each_path_on_it():
    ax = plots.iterates(lambda x: -x**2, (-5, 5), {"step 0.1": [-4.0, -3.2, -2.56]})
    curve, path = ax.get_lines()
    assert np.allclose(path.get_xdata(), [-4.0, -3.2, -2.56])
    assert np.allclose(path.get_ydata(), [-16.0, -10.24, -6.5536])
    assert len(ax.texts) == 3  # the iterates are numbered


def test_curves_draw_one_line_per_series_with_a_log_scale_when_asked():
    ax = plots.curves({"a": [1.0, 0.5, 0.25], "b": [1.0, 0.9, 0.8]}, ylabel="plot.f_value", logy=True)
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert ax.get_yscale() == "log"
    assert ax.get_ylabel() == text("plot.f_value") and ax.get_xlabel() == text("plot.iteration")


def test_step_size_curve_is_log_log_with_both_asymptotes_and_the_best_step():
    h = np.logspace(-16, 0, 33)
    errors = h**2 / 6 + 1e-16 / h
    errors[0] = 0.0  # an exact zero must not break the log axes
    ax = plots.step_size_curve(h, errors, truncation=h**2 / 6, rounding=1e-16 / h, best=1e-5)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == [text("plot.measured_error"), text("plot.truncation"), text("plot.rounding")]
    assert text("plot.best_step", h=1e-5) in labels
    assert np.all(ax.get_lines()[0].get_ydata() > 0)
    assert ax.get_ylim()[0] > 0


def test_plots_draw_on_given_axes():
    fig, ax = plt.subplots()
    assert plots.curves({"a": [1, 2]}, ax=ax) is ax
    assert plots.iterates(np.sin, (0, 1), {"p": [0.5]}, ax=ax) is ax
