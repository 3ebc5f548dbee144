"""The checks of notebook 02 accept right answers and name the mistake in wrong ones."""

import numpy as np
import pytest

from autograder import check_dL_dw1, check_fit_linear, check_loss_gradients, check_sigmoid
from backproplab import regression, scalar_net
from backproplab.messages import EN


def _line(w, b, x, y):
    e = w * x + b - y
    return float(np.mean(e * x)), float(np.mean(e))


def _fit(X, y, w0, lr, steps):
    w = w0.copy()
    for _ in range(steps):
        w = w - lr * regression.cost_gradient(X, y, w)
    return w


def _dw1(p, x, y):
    return scalar_net.two_layer_gradients(p, x, y)["w1"]


def _message(check, student, **params):
    with pytest.raises(AssertionError) as failure:
        check(student, **params)
    return str(failure.value)


@pytest.mark.parametrize("seed", range(5))
def test_references_pass_on_many_seeds(seed, capsys):
    check_sigmoid(scalar_net.sigmoid, seed=seed, n=3 + seed)
    check_loss_gradients(_line, seed=seed, count=4, n=2 + seed)
    check_dL_dw1(_dw1, seed=seed, count=4, samples=2 + seed)
    check_fit_linear(_fit, seed=seed, count=3, n=5 + seed, d=2 + seed % 3)
    assert capsys.readouterr().out.count("OK ") == 4


def test_sigmoid_check_rejects_an_overflow_warning_and_a_nan():
    assert "warning" in _message(check_sigmoid, lambda x: 1 / (1 + np.exp(-x)), seed=0)
    assert "NaN" in _message(check_sigmoid, lambda x: np.exp(x) / (1 + np.exp(x)), seed=0)


def test_sigmoid_check_ignores_harmless_underflow():
    check_sigmoid(lambda x: np.exp(-np.logaddexp(0.0, -x)), seed=0)


def test_loss_gradients_check_names_the_inside_out_sign_and_the_missing_mean():
    flipped = _message(check_loss_gradients, lambda *a: tuple(-g for g in _line(*a)), seed=0)
    assert EN["mistake.inside_out_sign"] in flipped
    summed = _message(check_loss_gradients, lambda w, b, x, y: tuple(x.size * g for g in _line(w, b, x, y)), seed=0)
    assert "missing 1/N" in summed


def test_dL_dw1_check_names_a_missing_w2():
    def missing_w2(p, x, y):
        return _dw1(p, x, y) / p["w2"]
    assert EN["mistake.missing_w2"] in _message(check_dL_dw1, missing_w2, seed=0)


def test_fit_linear_check_names_a_reused_first_gradient():
    def first_only(X, y, w0, lr, steps):
        return w0 - steps * lr * regression.cost_gradient(X, y, w0)
    assert EN["mistake.fit_first_gradient"] in _message(check_fit_linear, first_only, seed=0)


def test_cases_depend_on_the_parameters_only():
    from autograder.contract import REGISTRY

    for name in ("sigmoid", "loss_gradients", "dL_dw1", "fit_linear"):
        check = REGISTRY[name]
        params = check.resolve({"seed": 3})
        a, b = check.cases(params), check.cases(params)
        assert [c.label for c in a] == [c.label for c in b]


def test_sigmoid_check_wants_a_number_back_for_a_number(capsys):
    check_sigmoid(lambda x: np.where(x >= 0, 1.0, 1.0) * scalar_net.sigmoid(x), seed=0)  # a 0-d array counts
    assert "number" in _message(check_sigmoid, lambda x: np.atleast_1d(scalar_net.sigmoid(x)), seed=0)


def test_loss_gradients_check_accepts_an_array_of_two_numbers(capsys):
    check_loss_gradients(lambda *a: np.array(_line(*a)), seed=0)
    assert "pair" in _message(check_loss_gradients, lambda *a: np.array([_line(*a)]), seed=0)


def test_fit_linear_check_rejects_an_update_of_w0_in_place():
    def in_place(X, y, w0, lr, steps):
        for _ in range(steps):
            w0 -= lr * regression.cost_gradient(X, y, w0)
        return w0.copy()
    assert "w0" in _message(check_fit_linear, in_place, seed=0)
