"""The checks of notebook 02 accept right answers on many seeds and name the mistake in wrong ones."""

import numpy as np
import pytest

from autograder import (check_chain, check_fit_line, check_loss_gradients, check_sigmoid, check_sigmoid_prime,
                        check_train_two_layer, check_two_layer_forward, check_two_layer_gradients)
from autograder.contract import REGISTRY
from backproplab.messages import EN
from exercises import nb02

CHECKS = ("chain", "sigmoid", "sigmoid_prime", "loss_gradients", "fit_line", "two_layer_forward",
          "two_layer_gradients", "train_two_layer")


def _message(check, student, **params):
    with pytest.raises(AssertionError) as failure:
        check(student, **params)
    return str(failure.value)


@pytest.mark.parametrize("seed", range(30))
def test_right_answers_pass_on_many_seeds(seed, capsys):
    check_chain(nb02._chain, seed=seed, count=5)
    check_chain(nb02._chain_two_passes, seed=seed, count=5)
    check_sigmoid(nb02._sigmoid, seed=seed, n=3 + seed % 9)
    check_sigmoid(nb02._sigmoid_loops, seed=seed, n=4)
    check_sigmoid_prime(nb02._prime, seed=seed, n=3 + seed % 9)
    check_sigmoid_prime(nb02._prime_symmetric, seed=seed, n=5)
    check_loss_gradients(nb02._line, seed=seed, count=4, n=2 + seed % 7)
    check_loss_gradients(nb02._line_loops, seed=seed, count=3, n=9)
    check_fit_line(nb02._fit, seed=seed, count=3, n=5 + seed % 6)
    check_fit_line(nb02._fit_list, seed=seed, count=2, n=4)
    check_two_layer_forward(nb02._forward, seed=seed, count=3, samples=2 + seed % 4)
    check_two_layer_gradients(nb02._gradients, seed=seed, count=3, samples=2 + seed % 4)
    check_two_layer_gradients(nb02._gradients_exp_form, seed=seed, count=2, samples=3)
    check_train_two_layer(nb02._train, seed=seed, count=2, samples=3 + seed % 3)
    check_train_two_layer(nb02._train_vector, seed=seed, count=2, samples=4)
    assert capsys.readouterr().out.count("OK ") == 15


@pytest.mark.parametrize("seed", range(10))
def test_finite_differences_are_rejected_where_a_derivative_is_asked(seed):
    numerical = EN["check.numerical_not_analytic"].split(":")[0].format(what="")
    assert numerical in _message(check_chain, nb02._chain_numerical, seed=seed)
    assert numerical in _message(check_sigmoid_prime, nb02._prime_numerical, seed=seed)
    assert numerical in _message(check_loss_gradients, nb02._line_numerical, seed=seed)
    assert numerical in _message(check_two_layer_gradients, nb02._gradients_numerical, seed=seed)


def test_the_output_form_on_the_input_is_named_as_such():
    on_input = "the output form s (1 - s) applied to the input"
    assert on_input in _message(check_sigmoid_prime, lambda x: x * (1 - x), seed=0)
    wrong = nb02._gradients_mutant(slope=lambda z, o: z * (1 - z))
    assert on_input in _message(check_two_layer_gradients, wrong, seed=0)


def test_each_gradient_of_the_network_is_judged_on_its_own():
    message = _message(check_two_layer_gradients, nb02._gradients_mutant(w2=False), seed=0)
    assert "dL/db1" in message and "dL/dw1" in message
    assert "dL/db2" not in message and "dL/dw2" not in message
    assert message.count(EN["mistake.missing_w2"]) == 2


def test_delegation_to_the_library_is_rejected_in_the_kernel():
    from backproplab import scalar_net
    assert "already does" in _message(check_sigmoid, scalar_net.sigmoid, seed=0)
    assert "already does" in _message(check_sigmoid_prime, scalar_net.sigmoid_prime, seed=0)
    assert "already does" in _message(check_loss_gradients, scalar_net.line_gradients, seed=0)
    assert "already does" in _message(check_two_layer_forward, scalar_net.two_layer_forward, seed=0)
    assert "already does" in _message(check_two_layer_gradients, scalar_net.two_layer_gradients, seed=0)
    assert "already does" in _message(check_fit_line, nb02._fit_delegated, seed=0)
    assert "already does" in _message(check_train_two_layer, nb02._train_delegated, seed=0)


def test_the_references_of_every_check_are_library_functions_that_exist():
    from autograder.delegation import _lookup
    for name in CHECKS:
        for path in REGISTRY[name].delegation:
            assert callable(_lookup(path)[2]), path


def test_sigmoid_check_wants_every_digit_of_the_left_tail():
    for wrong in (nb02._sigmoid_tanh, lambda x: nb02._sigmoid(np.clip(x, -500.0, 500.0))):
        assert "loses digits in the left tail" in _message(check_sigmoid, wrong, seed=0)


def test_sigmoid_check_rejects_an_overflow_warning_and_a_nan():
    assert "warning" in _message(check_sigmoid, lambda x: 1 / (1 + np.exp(-x)), seed=0)
    assert "NaN" in _message(check_sigmoid, lambda x: np.exp(x) / (1 + np.exp(x)), seed=0)


def test_sigmoid_warning_message_recommends_exp_of_minus_abs_x():
    message = _message(check_sigmoid, lambda x: 1 / (1 + np.exp(-x)), seed=0)
    assert "exp(-|x|)" in message and "tanh" not in message


def test_sigmoid_check_ignores_harmless_underflow():
    check_sigmoid(lambda x: np.exp(-np.logaddexp(0.0, -x)), seed=0)


def test_sigmoid_check_wants_a_number_back_for_a_number():
    check_sigmoid(lambda x: np.asarray(nb02._sigmoid(x)), seed=0)  # a 0-d array counts
    assert "number" in _message(check_sigmoid, lambda x: np.atleast_1d(nb02._sigmoid(x)), seed=0)


def test_loss_gradients_check_names_the_inside_out_sign_and_the_missing_mean():
    flipped = _message(check_loss_gradients, lambda *a: tuple(-g for g in nb02._line(*a)), seed=0)
    assert EN["mistake.inside_out_sign"] in flipped
    summed = _message(check_loss_gradients, lambda w, b, x, y: tuple(x.size * g for g in nb02._line(w, b, x, y)),
                      seed=0)
    assert "missing 1/N" in summed


def test_fit_line_check_names_a_reused_first_gradient_and_short_costs():
    assert EN["mistake.chain_fit_first_gradient"] in _message(check_fit_line, nb02._fit_mutant(first_only=True),
                                                              seed=0)
    assert "steps + 1" in _message(check_fit_line, nb02._fit_mutant(drop="first"), seed=0)


def test_train_check_rejects_a_change_of_the_given_dict():
    assert "changed the params dict" in _message(check_train_two_layer, nb02._train_mutant(in_place=True), seed=0)


def test_a_tuple_is_not_taken_for_the_dict_of_gradients():
    message = _message(check_two_layer_gradients, lambda p, x, y: tuple(nb02._gradients(p, x, y).values()), seed=0)
    assert "should return a dict" in message and "tuple" in message


def test_cases_depend_on_the_parameters_only():
    for name in CHECKS:
        check = REGISTRY[name]
        params = check.resolve({"seed": 3})
        a, b = check.cases(params), check.cases(params)
        assert [c.label for c in a] == [c.label for c in b]
        assert len(a) > 1, f"{name}: a success line never says '1 cases'"
