"""Small data sets, made or loaded without network, and the two steps before training.

- ``synthetic_regression``: the straight line with noise of Facure's
  "Backpropagation Modular" (2017), drawn exactly as there;
- ``load_iris``: Fisher's Iris (1936), 150 flowers, 4 measurements in cm,
  3 species of 50;
- ``load_digits``: the 8x8 handwritten digits of Alpaydin and Kaynak (1998),
  1797 images, 64 pixel counts from 0 to 16, 10 classes;
- ``split``: a stratified train/test split, the same for the same seed;
- ``standardize``: scale columns with the training set's mean and std.

The two real sets are files in ``backproplab/data/`` (their source, licence
and SHA-256 are in ``backproplab/data/README.md``).
"""

import functools
import gzip
import io
from collections import namedtuple
from importlib import resources

import numpy as np

from backproplab.messages import text

Dataset = namedtuple("Dataset", ["X", "y", "feature_names", "class_names", "source"])
Dataset.__doc__ = """A labelled data set: X (N, D) float64, y (N,) int64 class indices.

feature_names: D strings naming X's columns; class_names: C strings, class
k is ``class_names[k]``; source: who made the data, where it comes from, licence.
"""

IRIS_SOURCE = ("R. A. Fisher (1936), The use of multiple measurements in taxonomic problems; "
               "UCI Machine Learning Repository, Iris; CC BY 4.0")
DIGITS_SOURCE = ("E. Alpaydin and C. Kaynak (1998), Optical Recognition of Handwritten Digits; "
                 "UCI Machine Learning Repository; CC BY 4.0")


def synthetic_regression(seed=0, n=100, noise=3.0):
    """(x, y, rng): x = linspace(-10, 10, n), y = 5 + 3 x + N(0, noise^2) noise.

    The noise comes from ``np.random.RandomState(seed)``, the generator behind
    ``np.random.seed(seed)``; it is returned after drawing y, so that weights
    drawn from it next (``rng.normal(0, 1, 2)``) are those of the original recipe.
    x, y: (n,).
    """
    rng = np.random.RandomState(seed)
    x = np.linspace(-10.0, 10.0, n)
    y = 5.0 + 3.0 * x + rng.normal(0.0, noise, n)
    return x, y, rng


# -- the shipped files ---------------------------------------------------------------

def data_file(name):
    """The bytes of ``backproplab/data/<name>``, or a clear error if the install lacks it."""
    path = resources.files("backproplab").joinpath("data", name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(text("datasets.missing_file", name=name)) from None


@functools.lru_cache(maxsize=None)
def _iris_arrays():
    lines = data_file("iris.csv").decode("ascii").splitlines()
    header = lines[0].split(",")  # "150,4,setosa,versicolor,virginica"
    table = np.loadtxt(lines[1:], delimiter=",", dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64), tuple(header[2:])


@functools.lru_cache(maxsize=None)
def _digits_arrays():
    raw = gzip.decompress(data_file("digits.csv.gz"))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)
    return table[:, :-1].astype(np.float64), table[:, -1]


def load_iris():
    """Fisher's Iris: a Dataset with X (150, 4) in cm and y (150,) in {0, 1, 2}, 50 of each.

    Columns: sepal length, sepal width, petal length, petal width;
    classes: setosa, versicolor, virginica. Each call returns new arrays.
    """
    X, y, classes = _iris_arrays()
    names = (text("datasets.iris_sepal_length"), text("datasets.iris_sepal_width"),
             text("datasets.iris_petal_length"), text("datasets.iris_petal_width"))
    return Dataset(X.copy(), y.copy(), names, classes, IRIS_SOURCE)


def load_digits():
    """The 8x8 digits: a Dataset with X (1797, 64) pixel counts 0..16 (float64), y (1797,) in 0..9.

    Row n is an 8x8 image read row by row: ``X[n].reshape(8, 8)``; column
    ``8 r + c`` is the pixel of row r, column c, named "pixel[r, c]". Each
    pixel counts the ink in a 4x4 block of a 32x32 bitmap, hence 0..16.
    Each call returns new arrays.
    """
    X, y = _digits_arrays()
    names = tuple(f"pixel[{r}, {c}]" for r in range(8) for c in range(8))
    return Dataset(X.copy(), y.copy(), names, tuple(str(k) for k in range(10)), DIGITS_SOURCE)


# -- preparing data for training ---------------------------------------------------

def _table(X, what, columns=None):
    """X as a new float64 (N, D) array with N >= 1, or a clear error."""
    a = np.asarray(X)
    if a.dtype.kind not in "iuf":
        raise TypeError(text("datasets.not_real", what=what, got=a.dtype))
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(text("datasets.not_table", what=what, got=a.shape))
    if columns is not None and a.shape[1] != columns:
        raise ValueError(text("datasets.columns", what=what, expected=columns, got=a.shape[1]))
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise ValueError(text("datasets.not_finite", what=what, count=int((~np.isfinite(a)).sum())))
    return a


def split(X, y, test_fraction=0.3, seed=0):
    """(X_train, X_test, y_train, y_test): a stratified random split, the same for the same seed.

    X: (N, D), y: (N,) class labels. Each class keeps its share: of a class
    with n_k samples, round(test_fraction * n_k) go to the test set (at least
    one, and at least one stays for training). Every row lands in exactly one
    part; within each part the rows are shuffled, so classes come mixed.
    X_train: (N - T, D), X_test: (T, D), y_train: (N - T,), y_test: (T,).
    """
    X = _table(X, "X")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(text("datasets.labels_shape", n=X.shape[0], got=y.shape))
    fraction = test_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.integer, np.floating)) \
            or not 0.0 < fraction < 1.0:
        raise ValueError(text("datasets.bad_fraction", got=repr(test_fraction)))
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        if len(rows) < 2:
            raise ValueError(text("datasets.class_too_small", label=label, count=len(rows)))
        n_test = min(max(int(round(fraction * len(rows))), 1), len(rows) - 1)
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    train, test = rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))
    return X[train], X[test], y[train], y[test]


def standardize(X_train, *others):
    """Scale columns to mean 0 and std 1 with the training set's statistics.

    X_train: (N, D); each of others: (M, D) (test or validation sets, scaled
    with the same mean and std, never their own). x' = (x - mean) / std, with
    mean and std over X_train's rows; a constant column (std 0, as the
    digits' border pixels) is divided by 1 instead, so it becomes 0, not NaN.
    Returns the scaled X_train alone when no others are given, else the tuple
    (X_train', *others'), all new float64 arrays.
    """
    X_train = _table(X_train, "X_train")
    others = [_table(X, f"others[{i}]", X_train.shape[1]) for i, X in enumerate(others)]
    constant = np.ptp(X_train, axis=0) == 0
    mean = np.where(constant, X_train[0], X_train.mean(axis=0))
    std = np.where(constant, 1.0, X_train.std(axis=0))
    scaled = [(X - mean) / std for X in [X_train, *others]]
    return tuple(scaled) if others else scaled[0]


# -- the capstone's fixed split -------------------------------------------------------

DIGITS_TEST_FRACTION, DIGITS_SEED = 0.3, 0


@functools.lru_cache(maxsize=None)
def _digits_split_arrays():
    data = load_digits()
    X_train, X_test, y_train, y_test = split(data.X, data.y, DIGITS_TEST_FRACTION, DIGITS_SEED)
    return (X_train, X_test) + standardize(X_train, X_test) + (y_train, y_test)


def digits_split(standardized=True):
    """(X_train, X_test, y_train, y_test): the digits split the course trains and grades on.

    Always the same split (30% of each class to the test set, seed 0): 1258
    training and 539 test images. standardized: scale the pixels with the
    training set's mean and std (see :func:`standardize`); False gives the raw
    pixel counts 0..16 (for drawing). Each call returns new arrays.
    """
    raw_train, raw_test, X_train, X_test, y_train, y_test = _digits_split_arrays()
    X = (X_train, X_test) if standardized else (raw_train, raw_test)
    return X[0].copy(), X[1].copy(), y_train.copy(), y_test.copy()
