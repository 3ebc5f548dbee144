"""The checks of notebook 07: check_train and check_fixed_net pass correct answers,
fail their twins with the message that names the mistake, and give the same
verdict when judged again from the recorded evidence (as the grader does).
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


def test_check_train_passes_a_loop_that_never_shuffles():
    check_train(TRAIN.right["in order, manual update"], seed=2, batch_size=4, epochs=10)


def test_check_train_rejects_an_update_before_backward_by_name():
    msg = _message(check_train, TRAIN.wrong["updates before backward"], seed=0)
    assert text("mistake.train_stale_gradient") in msg


def test_check_train_rejects_ascent_by_name():
    assert text("mistake.train_ascent") in _message(check_train, TRAIN.wrong["ascent"], seed=0)


def test_check_train_rejects_a_loop_that_rebinds_instead_of_updating():
    assert text("mistake.train_no_update") in _message(check_train, TRAIN.wrong["rebinds param, never updates"], seed=0)


def test_check_train_rejects_the_mean_of_batch_costs_as_history():
    msg = _message(check_train, TRAIN.wrong["history of batch costs"], seed=0)
    assert text("mistake.train_history_batch_mean") in msg


def test_check_train_rejects_labels_shuffled_apart_from_their_rows():
    msg = _message(check_train, TRAIN.wrong["X and y shuffled apart"], seed=0)
    assert text("check.train_labels", count=100, steps=100) in msg


def test_check_train_rejects_the_last_batch_cost_as_history():
    msg = _message(check_train, TRAIN.wrong["history of the last batch's cost"], seed=0)
    assert text("mistake.train_history_last_batch") in msg


def test_check_train_names_a_gradient_summed_over_the_batch():
    msg = _message(check_train, TRAIN.wrong["sums instead of averaging the batch"], seed=0)
    assert text("mistake.train_batch_sum") in msg


def test_check_train_rejects_an_unseeded_shuffle():
    assert "seed = 0" in _message(check_train, TRAIN.wrong["unseeded shuffle"], seed=0)


def test_check_train_rejects_a_loop_that_misses_samples():
    assert "Expected 100 steps" in _message(check_train, TRAIN.wrong["one batch per epoch"], seed=0)


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


@pytest.mark.parametrize("student,passes", [(_train, True), (TRAIN.wrong["ascent"], False)])
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
    assert text("mistake." + key) in _message(check_fixed_net, FIXED_NET.wrong[mistake], seed=0)


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
