"""The two-moons data and the decision-boundary picture (backproplab.boundary)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab import boundary  # noqa: E402


def test_two_moons_shapes_dtypes_and_balance():
    X, y = boundary.two_moons(n=101, noise=0.1, seed=3)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1}
    assert np.bincount(y).tolist() == [50, 51]


def test_two_moons_is_seeded():
    a, b = boundary.two_moons(seed=5), boundary.two_moons(seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], boundary.two_moons(seed=6)[0])


def test_without_noise_the_points_lie_on_their_half_circles():
    X, y = boundary.two_moons(n=60, noise=0.0, seed=0)
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1.0) and np.all(upper[:, 1] >= 0)
    assert np.allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0) and np.all(lower[:, 1] <= 0.5)


def test_no_straight_line_separates_the_moons():
    # the best least-squares line on +-1 targets still misclassifies some points
    X, y = boundary.two_moons(n=400, noise=0.0, seed=1)
    A = np.column_stack([np.ones(len(X)), X])
    w = np.linalg.lstsq(A, 2.0 * y - 1.0, rcond=None)[0]
    assert np.mean((A @ w > 0) == y) < 1.0


@pytest.mark.parametrize("n, noise", [(1, 0.1), (10, -0.5), (10, float("nan"))])
def test_bad_arguments_say_what_was_expected(n, noise):
    with pytest.raises(ValueError):
        boundary.two_moons(n=n, noise=noise)


def test_grid_covers_the_points():
    X = np.array([[0.0, 1.0], [2.0, -1.0]])
    xx, yy, points = boundary.grid(X, steps=7, margin=0.5)
    assert xx.shape == yy.shape == (7, 7) and points.shape == (49, 2)
    assert points[:, 0].min() == -0.5 and points[:, 0].max() == 2.5
    assert points[:, 1].min() == -1.5 and points[:, 1].max() == 1.5
    with pytest.raises(ValueError):
        boundary.grid(np.zeros((3, 3)))


def test_decision_boundary_draws_the_zero_line_and_both_classes():
    X, y = boundary.two_moons(n=40, seed=2)
    ax = boundary.decision_boundary(lambda p: p[:, 1] - 0.25, X, y, steps=30)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(labels) == 3
    assert len(ax.collections) >= 3          # filled regions, the zero contour, the two scatters
    plt.close("all")


def test_decision_boundary_rejects_scores_of_the_wrong_size():
    X, y = boundary.two_moons(n=20, seed=2)
    with pytest.raises(ValueError):
        boundary.decision_boundary(lambda p: p[:5, 0], X, y, steps=10)
    plt.close("all")
