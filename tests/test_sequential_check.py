"""check_sequential_forward / _backward and check_sgd_step: the given constructors, the student's methods."""

import numpy as np
import pytest

from autograder import check_sequential_backward, check_sequential_forward, check_sgd_step
from autograder.checks import sequential
from exercises.nb04 import NotebookSequential as Stack  # the notebook's Sequential, delta recursion written in


def with_backward(loop):
    return type("Sequential", (Stack,), {"backward": lambda self, dout: loop(self.layers, dout)})


def backward_loop(layers, dout):
    for layer in reversed(layers):
        dout = layer.backward(dout)
    return dout


@pytest.mark.parametrize("seed, n, sizes", [(0, 4, [5, 6, 4, 3]), (11, 7, [3, 8, 5, 2]), (12, 1, [2, 3, 4, 5])])
def test_accepts_the_delta_recursion_and_the_forward_loop(seed, n, sizes, capsys):
    check_sequential_backward(Stack, seed=seed, n=n, sizes=sizes)
    check_sequential_forward(Stack, seed=seed, n=n, sizes=sizes)
    assert all(line.startswith("OK ") for line in capsys.readouterr().out.splitlines())


def test_rejects_a_loop_in_forward_order():
    def forward_order(layers, dout):
        for layer in layers:
            dout = layer.backward(dout)
        return dout

    with pytest.raises(AssertionError, match="shape"):
        check_sequential_backward(with_backward(forward_order), seed=0)


def test_rejects_a_loop_that_never_calls_backward_on_a_linear_layer():
    def by_hand(layers, dout):
        for layer in reversed(layers):
            dout = dout @ layer.params["W"].T if layer.params else layer.backward(dout)
        return dout

    with pytest.raises(AssertionError, match="never called"):
        check_sequential_backward(with_backward(by_hand), seed=0)


def test_rejects_a_loop_that_ignores_the_upstream_gradient():
    def from_ones(layers, dout):
        return backward_loop(layers, np.ones_like(dout))

    with pytest.raises(AssertionError, match="upstream"):
        check_sequential_backward(with_backward(from_ones), seed=0)


def test_names_a_loop_that_stops_before_the_first_module():
    def early(layers, dout):
        return backward_loop(layers[1:], dout)

    with pytest.raises(AssertionError, match="stopped before the first module"):
        check_sequential_backward(with_backward(early), seed=0)


def test_names_a_forward_that_skips_the_last_module():
    skips = type("Sequential", (Stack,), {"forward": lambda self, z: Stack(*self.layers[:-1]).forward(z)})
    with pytest.raises(AssertionError, match="last module was skipped"):
        check_sequential_forward(skips, seed=0)


def test_forward_is_graded_without_the_students_backward():
    no_backward = type("Sequential", (Stack,), {"backward": lambda self, dout: 1 / 0})
    check_sequential_forward(no_backward, seed=0)


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

    check_sequential_backward(with_backward(keeps), seed=4)
    check = sequential.SequentialBackward()
    for case, got in zip(check.cases(check.resolve({"seed": 4})), seen):
        assert np.array_equal(case.data["dout"], got)


def test_bad_sizes_are_refused():
    with pytest.raises(TypeError):
        check_sequential_backward(Stack, seed=0, sizes=[3, 4])


# -- SGD.step ------------------------------------------------------------------------------------

class SGD:
    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        self.lr = float(lr)

    def step(self):
        for param, grad in self.parameters:
            param -= self.lr * grad


def test_sgd_step_accepts_an_in_place_step(capsys):
    check_sgd_step(SGD, seed=0)
    check_sgd_step(SGD, seed=3, shapes=[[2, 2]])
    assert capsys.readouterr().out.count("OK ") == 2


def test_sgd_step_names_a_step_that_rebinds_the_parameter():
    def rebinds(self):
        for param, grad in self.parameters:
            param = param - self.lr * grad  # noqa: F841

    with pytest.raises(AssertionError, match="did not move"):
        check_sgd_step(type("SGD", (SGD,), {"step": rebinds}), seed=0)


def test_sgd_step_rejects_a_step_that_writes_into_the_gradients():
    def zeroes(self):
        for param, grad in self.parameters:
            param -= self.lr * grad
            grad[...] = 0.0

    with pytest.raises(AssertionError, match="changed gradient 0"):
        check_sgd_step(type("SGD", (SGD,), {"step": zeroes}), seed=0)


def test_sgd_step_rejects_the_librarys_step():
    from backproplab import layers

    with pytest.raises(AssertionError, match="SGD.step, which already does"):
        check_sgd_step(type("SGD", (SGD,), {"step": lambda self: layers.SGD.step(self)}), seed=0)


def test_the_reference_forward_is_the_library_stacks_forward_to_the_last_bit():
    from backproplab import layers

    rng = np.random.default_rng(3)
    for kinds in sequential.STACKS:
        for n in (1, 4):
            x, weights, _, _ = sequential._draw(rng, kinds, n, [3, 5, 4, 2])
            stack = layers.Sequential(*sequential._build(kinds, weights))
            assert np.array_equal(sequential._forward(kinds, weights, x), stack.forward(x)), (kinds, n)
