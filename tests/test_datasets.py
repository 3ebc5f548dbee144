"""The shipped data sets (Iris, 8x8 digits), the stratified split and standardization."""

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from backproplab import datasets
from backproplab.datasets import Dataset, load_digits, load_iris, split, standardize

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "backproplab" / "data"


def readme_sums():
    """{file name: SHA-256} from the table of backproplab/data/README.md."""
    text = (DATA / "README.md").read_text(encoding="utf-8")
    return dict(re.findall(r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|", text, re.M))


# -- the files ---------------------------------------------------------------------

def test_every_data_file_has_the_checksum_its_readme_states():
    sums = readme_sums()
    shipped = {p.name for p in DATA.iterdir() if p.is_file() and p.name != "README.md"}
    assert shipped == set(sums) == {"iris.csv", "digits.csv.gz"}
    for name, digest in sums.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_the_data_files_are_small():
    assert sum(p.stat().st_size for p in DATA.iterdir()) < 100_000


def test_setuptools_is_told_to_ship_the_data_files():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["backproplab"]
    assert "data/*" in patterns


def test_a_missing_file_says_which_and_what_to_do():
    with pytest.raises(FileNotFoundError, match="no_such.csv"):
        datasets.data_file("no_such.csv")


@pytest.mark.slow
def test_a_built_wheel_carries_the_data_and_loads_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in ("backproplab", "autograder"):
        shutil.copytree(ROOT / package, src / package, ignore=ignore)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                    "-q", "-w", str(tmp_path / "dist")], check=True, cwd=tmp_path)
    wheel = next((tmp_path / "dist").glob("backproplab-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"backproplab/data/iris.csv", "backproplab/data/digits.csv.gz", "backproplab/data/README.md"} <= names
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    code = ("import backproplab.datasets as d; assert d.__file__.startswith(%r); "
            "print(d.load_iris().X.shape, d.load_digits().X.shape)" % str(target))
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
                         check=True, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.split("\n")[0] == "(150, 4) (1797, 64)"


# -- Iris --------------------------------------------------------------------------

def test_iris_shapes_types_and_balanced_classes():
    data = load_iris()
    assert isinstance(data, Dataset)
    assert data.X.shape == (150, 4) and data.X.dtype == np.float64
    assert data.y.shape == (150,) and data.y.dtype == np.int64
    assert np.bincount(data.y).tolist() == [50, 50, 50]
    assert data.class_names == ("setosa", "versicolor", "virginica")
    assert len(data.feature_names) == 4 and all("(cm)" in name for name in data.feature_names)
    assert "Fisher" in data.source and "CC BY 4.0" in data.source


def test_iris_known_facts():
    data = load_iris()
    assert data.X[0].tolist() == [5.1, 3.5, 1.4, 0.2]
    assert data.class_names[data.y[0]] == "setosa"
    # Fisher's values, not the UCI file's two misprints (samples 35 and 38, 1-based)
    assert data.X[34].tolist() == [4.9, 3.1, 1.5, 0.2]
    assert data.X[37].tolist() == [4.9, 3.6, 1.4, 0.1]
    # measurements in cm with one decimal, all positive and below 8 cm
    assert np.all(data.X > 0) and np.all(data.X < 8)
    assert np.allclose(data.X * 10, np.round(data.X * 10))
    # setosa is separated from the others by petal length alone
    petal = data.X[:, 2]
    assert petal[data.y == 0].max() < petal[data.y != 0].min()


def test_iris_feature_names_follow_the_language(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_LANG", "pt_BR")
    assert load_iris().feature_names[0] == "comprimento da sépala (cm)"


def test_each_load_returns_new_arrays():
    first = load_iris()
    first.X[0, 0] = -1.0
    first.y[0] = 2
    again = load_iris()
    assert again.X[0, 0] == 5.1 and again.y[0] == 0


# -- digits ------------------------------------------------------------------------

def test_digits_shapes_types_and_classes():
    data = load_digits()
    assert data.X.shape == (1797, 64) and data.X.dtype == np.float64
    assert data.y.shape == (1797,) and data.y.dtype == np.int64
    counts = np.bincount(data.y)
    assert len(counts) == 10 and counts.sum() == 1797 and counts.min() >= 170
    assert data.class_names == tuple("0123456789")
    assert len(data.feature_names) == 64 and data.feature_names[8 * 2 + 5] == "pixel[2, 5]"
    assert "Alpaydin" in data.source and "CC BY 4.0" in data.source


def test_digits_are_pixel_counts_from_0_to_16():
    X = load_digits().X
    assert X.min() == 0 and X.max() == 16
    assert np.array_equal(X, np.round(X))
    # the top-left corner is blank in every image: a zero-std column
    assert np.all(X[:, 0] == 0)
    assert np.sum(X.std(axis=0) == 0) >= 1


def test_digit_images_have_ink_in_the_middle_and_less_at_the_border():
    X = load_digits().X.reshape(-1, 8, 8)
    mean = X.mean(axis=0)
    assert mean[2:6, 2:6].mean() > mean[[0, 7], :].mean()


# -- split -------------------------------------------------------------------------

def labelled(n_per_class=(10, 7, 12), d=3):
    """X whose column 0 is the row number (so rows can be traced), and labels in class order."""
    y = np.repeat(np.arange(len(n_per_class)), n_per_class)
    X = np.column_stack([np.arange(len(y))] + [np.sin(np.arange(len(y)) + k) for k in range(d - 1)])
    return X, y


def test_split_is_disjoint_complete_and_keeps_rows_with_their_labels():
    X, y = labelled()
    X_train, X_test, y_train, y_test = split(X, y, test_fraction=0.3, seed=4)
    rows_train, rows_test = X_train[:, 0].astype(int), X_test[:, 0].astype(int)
    assert not set(rows_train) & set(rows_test)
    assert sorted(np.concatenate([rows_train, rows_test])) == list(range(len(y)))
    assert np.array_equal(y_train, y[rows_train]) and np.array_equal(y_test, y[rows_test])
    assert np.array_equal(X_train, X[rows_train]) and np.array_equal(X_test, X[rows_test])
    assert X_train.dtype == np.float64 and X_train.shape[1] == X.shape[1]


def test_split_is_stratified():
    X, y = labelled((10, 7, 12))
    for fraction in (0.2, 0.3, 0.5):
        _, _, y_train, y_test = split(X, y, test_fraction=fraction)
        for label, count in enumerate((10, 7, 12)):
            assert np.sum(y_test == label) == round(fraction * count)
            assert np.sum(y_train == label) == count - round(fraction * count)


def test_split_of_iris_gives_15_of_each_class_to_test():
    data = load_iris()
    _, X_test, _, y_test = split(data.X, data.y)
    assert X_test.shape == (45, 4) and np.bincount(y_test).tolist() == [15, 15, 15]


def test_split_keeps_at_least_one_sample_of_each_class_on_each_side():
    X, y = labelled((2, 3, 40))
    for fraction in (0.01, 0.99):
        _, _, y_train, y_test = split(X, y, test_fraction=fraction)
        assert set(y_train) == set(y_test) == {0, 1, 2}


def test_split_is_deterministic_for_a_seed_and_varies_with_it():
    X, y = labelled()
    a, b = split(X, y, seed=1), split(X, y, seed=1)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    c = split(X, y, seed=2)
    assert not np.array_equal(a[1][:, 0], c[1][:, 0])


def test_split_mixes_the_classes():
    X, y = labelled((30, 30, 30))
    _, _, y_train, y_test = split(X, y)
    for part in (y_train, y_test):
        assert np.any(np.diff(part) < 0)  # not sorted by class


def test_split_does_not_change_its_inputs_and_accepts_lists():
    X, y = labelled()
    X0, y0 = X.copy(), y.copy()
    split(X, y)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    out = split(X.tolist(), y.tolist())
    assert out[0].shape[0] + out[1].shape[0] == len(y)


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, "0.3", None, True, float("nan")])
def test_split_rejects_a_fraction_outside_0_1(fraction):
    X, y = labelled()
    with pytest.raises(ValueError, match="test_fraction"):
        split(X, y, test_fraction=fraction)


def test_split_errors_name_what_was_expected_and_what_came():
    X, y = labelled()
    with pytest.raises(ValueError, match=r"\(29,\).*\(28,\)"):
        split(X, y[:-1])
    with pytest.raises(ValueError, match=r"\(N, D\).*\(29,\)"):
        split(X[:, 0], y)
    with pytest.raises(ValueError, match="class 2 has 1"):
        split(X[:11], np.array([0] * 5 + [1] * 5 + [2]))
    with pytest.raises(TypeError, match="dtype"):
        split(np.array([["a", "b"]] * 4), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="NaN"):
        split(np.where(X == 5, np.nan, X), y)


def test_split_errors_in_portuguese(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_LANG", "pt_BR")
    X, y = labelled()
    with pytest.raises(ValueError, match="recebi"):
        split(X, y, test_fraction=2)


# -- standardize -------------------------------------------------------------------

def test_standardize_gives_the_training_set_mean_0_and_std_1():
    X = load_iris().X
    Z = standardize(X)
    assert isinstance(Z, np.ndarray) and Z.shape == X.shape
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-12) and np.allclose(Z.std(axis=0), 1)


def test_standardize_scales_the_others_with_the_training_statistics():
    rng = np.random.default_rng(0)
    X_train, X_test, X_val = rng.normal(3, 2, (20, 3)), rng.normal(-1, 5, (7, 3)), rng.normal(0, 1, (4, 3))
    Z_train, Z_test, Z_val = standardize(X_train, X_test, X_val)
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    assert np.allclose(Z_test, (X_test - mean) / std) and np.allclose(Z_val, (X_val - mean) / std)
    assert np.allclose(Z_train, (X_train - mean) / std)
    assert not np.allclose(Z_test.mean(axis=0), 0)  # its own statistics were not used


def test_standardize_leaves_a_constant_column_at_zero_not_nan():
    X_train = np.array([[1.0, 0.1, 2.0], [3.0, 0.1, 2.0], [5.0, 0.1, 2.0]])
    X_test = np.array([[2.0, 0.1, 4.0]])
    Z_train, Z_test = standardize(X_train, X_test)
    assert np.isfinite(Z_train).all() and np.isfinite(Z_test).all()
    assert np.all(Z_train[:, 1:] == 0)  # exactly 0, no rounding residue
    assert Z_test[0, 1] == 0 and Z_test[0, 2] == 2.0  # divided by 1 where the std is 0


def test_standardize_digits_has_no_nan():
    data = load_digits()
    X_train, X_test, _, _ = split(data.X, data.y)
    Z_train, Z_test = standardize(X_train, X_test)
    assert np.isfinite(Z_train).all() and np.isfinite(Z_test).all()
    varying = X_train.std(axis=0) > 0
    assert np.allclose(Z_train[:, varying].std(axis=0), 1)
    assert np.all(Z_train[:, ~varying] == 0)


def test_standardize_does_not_change_its_inputs():
    X_train, X_test = load_iris().X[:100], load_iris().X[100:]
    copies = X_train.copy(), X_test.copy()
    standardize(X_train, X_test)
    assert np.array_equal(X_train, copies[0]) and np.array_equal(X_test, copies[1])


def test_standardize_errors_name_what_was_expected_and_what_came():
    X = load_iris().X
    with pytest.raises(ValueError, match=r"others\[0\].*4 columns.*got 3"):
        standardize(X, X[:, :3])
    with pytest.raises(ValueError, match=r"X_train.*\(N, D\).*\(4,\)"):
        standardize(X[0])
    with pytest.raises(ValueError, match=r"\(0, 4\)"):
        standardize(X[:0])
    with pytest.raises(ValueError, match="1 NaN"):
        standardize(X, np.where(X == 5.1, np.inf, X)[:1])
    with pytest.raises(TypeError, match="dtype"):
        standardize(X.astype(object))


def test_digits_split_is_the_fixed_standardized_split():
    X_train, X_test, y_train, y_test = datasets.digits_split()
    assert X_train.shape == (1258, 64) and X_test.shape == (539, 64)
    raw = datasets.load_digits()
    a, b, c, d = datasets.split(raw.X, raw.y, test_fraction=0.3, seed=0)
    assert np.array_equal(y_train, c) and np.array_equal(y_test, d)
    expected_train, expected_test = datasets.standardize(a, b)
    assert np.array_equal(X_train, expected_train) and np.array_equal(X_test, expected_test)
    raw_train, raw_test, _, _ = datasets.digits_split(standardized=False)
    assert np.array_equal(raw_train, a) and np.array_equal(raw_test, b)
    X_train[0, 0] = 99.0  # each call gives new arrays
    assert datasets.digits_split()[0][0, 0] != 99.0
