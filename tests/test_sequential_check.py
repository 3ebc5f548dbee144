"""check_sequential_backward: accepts the delta recursion, rejects the usual broken loops."""

import numpy as np
import pytest

from autograder import check_sequential_backward
from autograder.checks import sequential


def backward_loop(layers, dout):
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return dout


@pytest.mark.parametrize("seed, n, sizes", [(0, 4, [5, 6, 4, 3]), (11, 7, [3, 8, 5, 2]), (12, 1, [2, 3, 4, 5])])
def test_accepts_the_delta_recursion(seed, n, sizes, capsys):
    check_sequential_backward(backward_loop, seed=seed, n=n, sizes=sizes)
    assert capsys.readouterr().out.startswith("OK ")


def test_rejects_a_loop_in_forward_order():
    def forward_order(layers, dout):
        for layer in layers:
            dout = layer.backward(dout)
        return dout

    with pytest.raises(AssertionError, match="shape"):
        check_sequential_backward(forward_order, seed=0)


def test_rejects_a_loop_that_never_calls_backward_on_a_linear_layer():
    def by_hand(layers, dout):
        for layer in reversed(layers):
            dout = dout @ layer.params["W"].T if layer.params else layer.backward(dout)
        return dout

    with pytest.raises(AssertionError, match="never called"):
        check_sequential_backward(by_hand, seed=0)


def test_rejects_a_loop_that_ignores_the_upstream_gradient():
    def from_ones(layers, dout):
        return backward_loop(layers, np.ones_like(dout))

    with pytest.raises(AssertionError, match="upstream"):
        check_sequential_backward(from_ones, seed=0)


def test_rejects_a_loop_that_stops_before_the_first_module():
    def early(layers, dout):
        return backward_loop(layers[1:], dout)

    with pytest.raises(AssertionError):
        check_sequential_backward(early, seed=0)


def test_cases_depend_on_the_parameters_only_and_keep_relu_inputs_off_the_kink():
    check = sequential.SequentialBackward()
    params = check.resolve({"seed": 3})
    a, b = check.cases(params), check.cases(params)
    for ca, cb in zip(a, b):
        assert np.array_equal(ca.data["x"], cb.data["x"]) and np.array_equal(ca.data["dout"], cb.data["dout"])
        relu = sequential._relu_inputs(ca.data["kinds"], ca.data["weights"], ca.data["x"])
        assert np.min(np.abs(relu)) >= sequential.MIN_RELU_INPUT
        assert not np.allclose(ca.data["dout"], 1.0)


def test_the_check_does_not_change_what_the_student_passes_back():
    seen = []

    def keeps(layers, dout):
        seen.append(dout.copy())
        return backward_loop(layers, dout)

    check_sequential_backward(keeps, seed=4)
    check = sequential.SequentialBackward()
    for case, got in zip(check.cases(check.resolve({"seed": 4})), seen):
        assert np.array_equal(case.data["dout"], got)


def test_bad_sizes_are_refused():
    with pytest.raises(TypeError):
        check_sequential_backward(backward_loop, seed=0, sizes=[3, 4])
