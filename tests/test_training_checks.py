"""The checks of notebook 07: they pass correct answers, fail their twins with the
message that names the mistake, and give the same verdict when judged again
from the recorded evidence (as the grader does).
"""

import json

import numpy as np
import pytest

from autograder import check_fixed_net, check_train
from autograder.checks.training import FixedNet
from autograder.contract import REGISTRY
from backproplab.messages import text
from backproplab.planted import BuggyNet
from exercises.nb07 import FIXED_NET, TRAIN, _Fixed, _train


def _message(check, student, **params):
    with pytest.raises(AssertionError) as info:
        check(student, **params)
    return str(info.value)


# -- check_train -------------------------------------------------------------------------------

def test_check_train_passes_the_reference_loop(capsys):
    check_train(_train, seed=0)
    assert capsys.readouterr().out.startswith("OK ")


def test_check_train_rejects_a_loop_that_never_shuffles_by_name():
    msg = _message(check_train, TRAIN.mistake("never shuffles")[0], seed=2, batch_size=4, epochs=10)
    assert text("check.train_not_shuffled", epochs=10, total=10) in msg


def test_check_train_rejects_a_generator_made_anew_each_epoch_by_name():
    msg = _message(check_train, TRAIN.mistake("generator made anew each epoch")[0], seed=2, batch_size=4, epochs=10)
    assert text("check.train_same_order", epochs=10) in msg


def test_check_train_accepts_an_unshuffled_full_batch():
    # one batch per epoch: the order of its rows changes nothing
    check_train(TRAIN.mistake("never shuffles")[0], seed=2, batch_size=None, epochs=5, target=1.0)


def test_check_train_names_batch_size_none_when_the_loop_cannot_take_it():
    msg = _message(check_train, TRAIN.mistake("batch_size=None not handled")[0], seed=0, batch_size=None, epochs=3,
                   target=1.0)
    assert "batch_size=None asks for full batch" in msg


def test_check_train_refuses_a_bad_batch_size_parameter_with_a_message():
    with pytest.raises(TypeError, match="batch_size must be None"):
        check_train(_train, seed=0, batch_size=0)


def test_check_train_rejects_an_update_before_backward_by_name():
    msg = _message(check_train, TRAIN.mistake("updates before backward")[0], seed=0)
    assert text("mistake.train_stale_gradient") in msg


def test_check_train_rejects_ascent_by_name():
    assert text("mistake.train_ascent") in _message(check_train, TRAIN.mistake("ascent")[0], seed=0)


def test_check_train_rejects_a_loop_that_rebinds_instead_of_updating():
    assert text("mistake.train_no_update") in _message(check_train, TRAIN.mistake("rebinds param, never updates")[0], seed=0)


def test_check_train_rejects_the_mean_of_batch_costs_as_history():
    msg = _message(check_train, TRAIN.mistake("history of batch costs")[0], seed=0)
    assert text("mistake.train_history_batch_mean") in msg


def test_check_train_rejects_labels_shuffled_apart_from_their_rows():
    msg = _message(check_train, TRAIN.mistake("X and y shuffled apart")[0], seed=0)
    assert text("check.train_labels", count=100, steps=100) in msg


def test_check_train_rejects_the_last_batch_cost_as_history():
    msg = _message(check_train, TRAIN.mistake("history of the last batch's cost")[0], seed=0)
    assert text("mistake.train_history_last_batch") in msg


def test_check_train_names_a_gradient_summed_over_the_batch():
    msg = _message(check_train, TRAIN.mistake("sums instead of averaging the batch")[0], seed=0)
    assert text("mistake.train_batch_sum") in msg


def test_check_train_rejects_an_unseeded_shuffle():
    assert "seed = 0" in _message(check_train, TRAIN.mistake("unseeded shuffle")[0], seed=0)


def test_check_train_rejects_a_loop_that_misses_samples():
    assert "Expected 100 steps" in _message(check_train, TRAIN.mistake("one batch per epoch")[0], seed=0)


def test_check_train_rejects_a_final_cost_above_the_target():
    # the right loop, but a target no 25-epoch run reaches
    msg = _message(check_train, _train, seed=0, target=0.001)
    assert text("check.train_target", cost=0.0, target=0.001)[:24] in msg


def test_check_train_cases_depend_on_params_only():
    check = REGISTRY["train"]
    params = check.resolve({"seed": 4})
    a, b = check.cases(params), check.cases(json.loads(json.dumps(params)))
    assert a[0].label == b[0].label
    for key in ("X", "y", "theta"):
        assert np.array_equal(a[0].data[key], b[0].data[key])


@pytest.mark.parametrize("student,passes", [(_train, True), (TRAIN.mistake("ascent")[0], False)])
def test_check_train_verdict_is_the_same_from_the_evidence(student, passes):
    check = REGISTRY["train"]
    params = check.resolve({"seed": 1, "epochs": 5})
    records, _ = check.collect(student, params)
    records = json.loads(json.dumps(records))
    assert check.verdict(params, records).passed is passes


def test_check_train_fails_without_evidence():
    check = REGISTRY["train"]
    assert not check.verdict(check.resolve({}), []).passed


# -- check_fixed_net -------------------------------------------------------------------------

def test_check_fixed_net_passes_the_repair(capsys):
    check_fixed_net(_Fixed, seed=0)
    check_fixed_net(_Fixed, seed=3, n=6, d=2, h=7, m=4)
    assert capsys.readouterr().out.startswith("OK ")


def test_check_fixed_net_rejects_the_planted_network_naming_a_planted_mistake():
    msg = _message(check_fixed_net, BuggyNet, seed=0)
    assert text("mistake.planted_x") in msg


@pytest.mark.parametrize("mistake,key", [("dW2 still uses z1", "planted_w2"), ("db2 still a mean", "planted_b2"),
                                         ("tanh' still at z1", "planted_x")])
def test_check_fixed_net_names_each_mistake_that_is_left(mistake, key):
    assert text("mistake." + key) in _message(check_fixed_net, FIXED_NET.mistake(mistake)[0], seed=0)


def test_check_fixed_net_checks_the_forward_too():
    class WrongForward(_Fixed):
        def forward(self, x):
            return super().forward(x) * 2.0

    assert "forward" in _message(check_fixed_net, WrongForward, seed=0)


def test_check_fixed_net_uses_distinct_sizes_and_a_random_upstream_gradient():
    case = FixedNet().cases(FixedNet().resolve({}))[0]
    shapes = {case.data[k].shape for k in ("x", "W1", "W2", "dout")}
    assert len(shapes) == 4
    assert not np.allclose(case.data["dout"], 1.0)
    assert np.abs(case.data["x"] @ case.data["W1"] + case.data["b1"]).max() < 4  # tanh not saturated


def test_check_fixed_net_verdict_is_the_same_from_the_evidence():
    check = REGISTRY["fixed_net"]
    params = check.resolve({"seed": 2})
    for student, passes in ((_Fixed, True), (BuggyNet, False)):
        records, _ = check.collect(student, params)
        assert check.verdict(params, json.loads(json.dumps(records))).passed is passes


def test_check_fixed_net_rejects_a_backward_that_rebinds_the_gradients_by_name():
    msg = _message(check_fixed_net, FIXED_NET.mistake("rebinds grads")[0], seed=0)
    assert "rebinds self.grads" in msg


def test_check_fixed_net_training_run_must_lower_the_cost():
    class NoDescent(_Fixed):
        # exact gradients, then zeroed in place after the check has read them: an optimizer sees zeros
        calls = 0

        def backward(self, dout):
            dx = super().backward(dout)
            NoDescent.calls += 1
            if NoDescent.calls > 1:
                for grad in self.grads.values():
                    grad[...] = 0.0
            return dx

    assert "training run" in _message(check_fixed_net, NoDescent, seed=0).replace("A training run", "training run")


# -- the capstone's other checks -------------------------------------------------------------------

from autograder import (check_accuracy, check_batch_variance, check_confusion_matrix, check_digits,  # noqa: E402
                        check_gradient_errors, check_network_gradients, check_per_sample_gradients,
                        check_sequential_module)
from exercises.nb07 import DIGITS, EVALUATION, NETWORK_GRADIENTS, PER_SAMPLE, SEQUENTIAL  # noqa: E402


@pytest.mark.parametrize("check,exercise,name", [
    (check_sequential_module, SEQUENTIAL, "Sequential"),
    (check_network_gradients, NETWORK_GRADIENTS, "numerical_gradients"),
    (check_gradient_errors, NETWORK_GRADIENTS, "gradient_errors"),
    (check_per_sample_gradients, PER_SAMPLE, "per_sample_gradients"),
    (check_batch_variance, PER_SAMPLE, "batch_variance"),
    (check_accuracy, EVALUATION, "accuracy"),
    (check_confusion_matrix, EVALUATION, "confusion_matrix"),
])
def test_capstone_checks_give_the_same_verdict_from_the_evidence(check, exercise, name):
    registered = REGISTRY[check.__name__[len("check_"):]]
    params = registered.resolve({"seed": 5})
    right = exercise.names(next(iter(exercise.right.values())))[name]
    records, _ = registered.collect(right, params)
    assert registered.verdict(params, json.loads(json.dumps(records))).passed
    for mistake in exercise.wrong:
        wrong = exercise.names(exercise.mistake(mistake)[0])[name]
        if wrong is right:
            continue
        records, _ = registered.collect(wrong, params)
        assert not registered.verdict(params, json.loads(json.dumps(records))).passed, mistake
        break


def test_check_digits_recomputes_the_accuracy_from_the_recorded_weights():
    # the evidence, not the kernel, decides: weights scaled to nonsense after training fail in the grader
    registered = REGISTRY["digits"]
    params = registered.resolve({"seed": 0})
    records, _ = registered.collect(DIGITS.right["ReLU 64, batches of 16, 20 epochs"], params)
    records = json.loads(json.dumps(records))
    assert registered.verdict(params, records).passed
    from autograder import evidence
    value = list(evidence.decode(records[0]))
    value[3] = -np.asarray(value[3])  # flip the first layer's weights in the record
    records[0] = evidence.encode(tuple(value))
    assert not registered.verdict(params, records).passed


def test_check_digits_advice_reads_the_cost_history():
    from autograder.checks.capstone import advice
    assert text("check.digits_advice_rises", rises=3, epochs=6)[:20] in advice([1.0, 1.2, 0.9, 1.1, 0.8, 0.9], 0.9, 0.9)
    assert "still falling" in advice([2.0, 1.0, 0.5], 0.9, 0.9)
    assert "barely moved" in advice([2.3, 2.29, 2.28], 0.1, 0.1)
    assert "far better than new ones" in advice([0.5, 0.3, 0.299], 1.0, 0.9)
