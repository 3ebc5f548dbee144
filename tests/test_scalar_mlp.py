"""The scalar MLP of notebook 03 and its three checks.

The library's Neuron/Layer/MLP/train agree with an independent numpy forward
and full-batch descent; check_mlp, check_mlp_train and check_trained_mlp
pass the right implementations of tests/exercises/nb03_mlp.py, fail the
wrong ones with the message that names the mistake (called as the test
cells call them), and give the same verdict when judged again from the
recorded evidence, as the grader does.
"""

import json
import math

import numpy as np
import pytest

from autograder import check_mlp, check_mlp_train, check_trained_mlp, evidence
from autograder.checks import scalar_mlp as checks
from autograder.contract import REGISTRY
from autograder.delegation import scan
from backproplab import scalar_mlp
from backproplab.boundary import two_moons
from backproplab.graphdraw import draw_graph
from backproplab.value import Value
from exercises.nb03_mlp import (DATA, LEARNING_RATE, MLP_EXERCISE, NOUTS, STEPS, TRAIN_EXERCISE,
                                TRAINED_EXERCISE, StudentValue, classes, fit)

# the calls of the notebook's test cells (visible, then hidden)
MLP_CALLS = [dict(seed=1), dict(seed=2, nin=2, nouts=[3, 1]),
             dict(seed=2026, nin=4, nouts=[5, 3, 3, 2], count=6), dict(seed=7919, nin=1, nouts=[2])]
TRAIN_CALLS = [dict(seed=1), dict(seed=2026, n=8, nouts=[4, 3, 1], steps=3, learning_rate=0.05),
               dict(seed=7919, n=5, nouts=[2, 1], steps=5, learning_rate=0.3)]
TRAINED_CALLS = [dict(seed=0, n=30, noise=0.1, nouts=[8, 1], target=0.1),
                 dict(seed=1, n=100, noise=0.1, nouts=[8, 1], target=0.15)]


def numpy_forward(model, X):
    """Outputs (N, last size) of a library MLP, in numpy, from its weights."""
    a = np.asarray(X, dtype=np.float64)
    for k, layer in enumerate(model.layers):
        W = np.array([[w.data for w in n.w] for n in layer.neurons]).T
        b = np.array([n.b.data for n in layer.neurons])
        a = a @ W + b
        if k < len(model.layers) - 1:
            a = np.tanh(a)
    return a


# -- the library --------------------------------------------------------------------------------

def test_neuron_draws_its_weights_then_its_bias_from_the_generator():
    neuron = scalar_mlp.Neuron(3, np.random.default_rng(5))
    draws = np.random.default_rng(5).uniform(-1, 1, 4)
    assert [p.data for p in neuron.parameters()] == list(draws)
    assert neuron.parameters()[-1] is neuron.b


def test_neuron_is_tanh_of_the_weighted_sum_plus_bias_or_linear():
    for nonlinear in (True, False):
        neuron = scalar_mlp.Neuron(2, np.random.default_rng(0), nonlinear=nonlinear)
        z = neuron.w[0].data * 0.3 + neuron.w[1].data * -1.2 + neuron.b.data
        out = neuron([0.3, Value(-1.2)])
        assert isinstance(out, Value)
        assert out.data == pytest.approx(math.tanh(z) if nonlinear else z, rel=1e-15)


def test_mlp_is_tanh_layers_then_a_linear_one_and_returns_a_list():
    model = scalar_mlp.MLP(3, [4, 5, 2], seed=3)
    X = np.random.default_rng(1).normal(size=(6, 3))
    got = np.array([[v.data for v in model(list(x))] for x in X])
    assert np.allclose(got, numpy_forward(model, X), rtol=1e-13, atol=1e-14)
    out = scalar_mlp.MLP(2, [3, 1])([0.5, 0.5])
    assert isinstance(out, list) and len(out) == 1 and isinstance(out[0], Value)


def test_parameters_are_every_weight_and_bias_once_in_the_stated_order():
    model = scalar_mlp.MLP(3, [4, 2], seed=0)
    params = model.parameters()
    assert len(params) == (3 + 1) * 4 + (4 + 1) * 2 == checks.parameter_count(3, [4, 2])
    assert len({id(p) for p in params}) == len(params)
    expected = [v for layer in model.layers for n in layer.neurons for v in [*n.w, n.b]]
    assert all(p is q for p, q in zip(params, expected))
    assert model.layers[0].parameters() == params[:16]


def test_the_same_seed_gives_the_same_network_and_another_seed_another():
    data = [[p.data for p in scalar_mlp.MLP(2, [3, 1], seed=s).parameters()] for s in (7, 7, 8)]
    assert data[0] == data[1] != data[2]


def test_train_is_full_batch_descent_on_the_mean_squared_error():
    X, labels = two_moons(7, 0.1, 4)
    y = 2.0 * labels - 1.0
    model = scalar_mlp.MLP(2, [3, 1], seed=4)
    layers = [[np.array([[w.data for w in n.w] for n in layer.neurons]).T,
               np.array([n.b.data for n in layer.neurons])] for layer in model.layers]
    costs = scalar_mlp.train(model, X.tolist(), y.tolist(), 5, 0.1)
    expected = []
    for _ in range(5):  # numpy: the same descent written with matrices
        h = np.tanh(X @ layers[0][0] + layers[0][1])
        out = (h @ layers[1][0] + layers[1][1])[:, 0]
        expected.append(np.mean((out - y) ** 2))
        d = (2 * (out - y) / len(y))[:, None]
        gW2, gb2 = h.T @ d, d.sum(0)
        dh = (d @ layers[1][0].T) * (1 - h**2)
        gW1, gb1 = X.T @ dh, dh.sum(0)
        for (W, b), (gW, gb) in zip(layers, [(gW1, gb1), (gW2, gb2)]):
            W -= 0.1 * gW
            b -= 0.1 * gb
    assert all(isinstance(c, float) for c in costs)
    assert np.allclose(costs, expected, rtol=1e-12)
    theta = np.concatenate([np.append(W[:, j], b[j]) for W, b in layers for j in range(W.shape[1])])
    assert np.allclose([p.data for p in model.parameters()], theta, rtol=1e-12, atol=1e-14)


def test_train_takes_an_array_as_well_as_lists():
    X, labels = two_moons(5, 0.1, 1)
    a = scalar_mlp.train(scalar_mlp.MLP(2, [2, 1]), X, 2.0 * labels - 1, 2, 0.1)
    b = scalar_mlp.train(scalar_mlp.MLP(2, [2, 1]), X.tolist(), (2.0 * labels - 1).tolist(), 2, 0.1)
    assert a == b


def test_the_notebooks_training_reaches_its_target_with_a_margin():
    # numpy's copy of the notebook's run (exercises.nb03_mlp.fit) agrees with the loop of Values
    # (tested above); the full run of Values is in the slow test below
    theta = fit()
    X, labels = two_moons(**DATA)
    model = classes()(2, NOUTS, seed=0)
    for p, v in zip(model.parameters(), theta):
        p.data = float(v)
    cost = np.mean((numpy_forward(model, X)[:, 0] - (2 * labels - 1)) ** 2)
    assert cost < 0.1 * 0.85
    X_new, labels_new = two_moons(100, 0.1, 1)
    assert np.mean((numpy_forward(model, X_new)[:, 0] - (2 * labels_new - 1)) ** 2) < 0.15 * 0.7


@pytest.mark.slow
def test_the_notebooks_training_of_values_reaches_its_target_and_falls_every_step():
    X, labels = two_moons(**DATA)
    model = classes()(2, NOUTS, seed=0)  # the library's MLP would count as delegation
    costs = scalar_mlp.train(model, X.tolist(), (2.0 * labels - 1).tolist(), STEPS, LEARNING_RATE)
    assert np.all(np.diff(costs) < 0)
    assert costs[-1] < 0.1
    check_trained_mlp(model, **TRAINED_CALLS[0])
    check_trained_mlp(model, **TRAINED_CALLS[1])
    assert np.allclose([p.data for p in model.parameters()], fit(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("value", [Value, StudentValue], ids=["library", "student"])
def test_one_neurons_graph_draws_from_any_value_of_the_contract(value):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = classes(value=value)(2, [3, 1], seed=0)
    neuron = model.layers[0].neurons[0]
    out = neuron([value(0.5, "x1"), value(-1.0, "x2")])
    out.backward()
    fig = draw_graph(out, edge_labels=True)
    boxes = [p for p in fig.axes[0].patches if p.get_gid() == "node"]
    assert len(boxes) == 2 + 3 + 2 + 2 + 1  # x1, x2, w1, w2, b, two products, two sums, tanh
    plt.close(fig)


# -- the checks pass the right implementations and name the wrong ones -----------------------------

def _message(check, student, **params):
    with pytest.raises(AssertionError) as info:
        check(student, **params)
    return str(info.value)


def _first_failure(check, student, calls):
    """The message of the first call that fails, or None."""
    for params in calls:
        try:
            check(student, **params)
        except AssertionError as failure:
            return str(failure)
    return None


@pytest.mark.parametrize("name", list(MLP_EXERCISE.right))
def test_check_mlp_passes_a_right_implementation(name, capsys):
    for params in MLP_CALLS:
        check_mlp(MLP_EXERCISE.right[name], **params)
    assert all(line.startswith("OK your MLP") for line in capsys.readouterr().out.splitlines())


@pytest.mark.parametrize("name", list(MLP_EXERCISE.wrong))
def test_check_mlp_names_a_wrong_implementation_on_the_visible_calls(name):
    implementation, words = MLP_EXERCISE.mistake(name)
    message = _first_failure(check_mlp, implementation, MLP_CALLS[:2])
    assert message is not None and words in message, message


@pytest.mark.parametrize("name", list(TRAIN_EXERCISE.right))
def test_check_mlp_train_passes_a_right_loop(name):
    for params in TRAIN_CALLS:
        check_mlp_train(TRAIN_EXERCISE.right[name], **params)


@pytest.mark.parametrize("name", list(TRAIN_EXERCISE.wrong))
def test_check_mlp_train_names_a_wrong_loop_on_every_call(name):
    implementation, words = TRAIN_EXERCISE.mistake(name)
    for params in TRAIN_CALLS:
        assert words in _message(check_mlp_train, implementation, **params)


@pytest.mark.parametrize("name", list(TRAINED_EXERCISE.right))
def test_check_trained_mlp_passes_a_trained_model(name):
    model = TRAINED_EXERCISE.names(TRAINED_EXERCISE.right[name])["model"]
    for params in TRAINED_CALLS:
        check_trained_mlp(model, **params)


@pytest.mark.parametrize("name", list(TRAINED_EXERCISE.wrong))
def test_check_trained_mlp_names_a_wrong_model(name):
    implementation, words = TRAINED_EXERCISE.mistake(name)
    model = TRAINED_EXERCISE.names(implementation)["model"]
    assert words in _message(check_trained_mlp, model, **TRAINED_CALLS[0])


def test_check_mlp_train_distinguishes_every_known_mistake_from_the_reference_and_each_other():
    for params in TRAIN_CALLS:
        d = REGISTRY["mlp_train"].cases(REGISTRY["mlp_train"].resolve(params))[0].data
        args = (d["nouts"], d["seed"], d["X"], d["y"], d["steps"], d["learning_rate"])
        runs = {how: checks.reference_loop(*args, how=how) for how in ("",) + checks.TRAIN_MISTAKES}
        for a in runs:
            for b in runs:
                if a < b:
                    same = all(np.allclose(x, y, rtol=1e-4) for x, y in zip(runs[a], runs[b]))
                    assert not same, (a, b, params)


def test_the_reference_loop_of_the_check_is_the_librarys_train():
    d = REGISTRY["mlp_train"].cases(REGISTRY["mlp_train"].resolve({"seed": 3}))[0].data
    costs, theta = checks.reference_loop(d["nouts"], 3, d["X"], d["y"], d["steps"], d["learning_rate"])
    model = scalar_mlp.MLP(2, d["nouts"], seed=3)
    assert list(costs) == scalar_mlp.train(model, d["X"], d["y"], d["steps"], d["learning_rate"])
    assert list(theta) == [p.data for p in model.parameters()]


def test_check_mlp_train_lends_the_library_value_to_the_loop_and_gives_the_students_back():
    namespace = {"Value": StudentValue}
    exec("def train(model, X, y, steps, learning_rate):\n"
         "    assert Value.__module__ == 'backproplab.value'\n"
         "    return [0.0] * steps\n", namespace)
    assert "Value" not in _message(check_mlp_train, namespace["train"], seed=1)  # it ran; the costs are wrong
    assert namespace["Value"] is StudentValue


def test_check_trained_mlp_recomputes_the_cost_from_the_parameters_not_the_outputs():
    class Claims:
        """Untrained weights, but outputs that claim a perfect fit."""

        def __init__(self):
            self.model = classes()(2, NOUTS, seed=0)
            self.layers = self.model.layers
            X, labels = two_moons(**DATA)
            self.answers = {tuple(x): 2.0 * k - 1.0 for x, k in zip(X.tolist(), labels.tolist())}

        def parameters(self):
            return self.model.parameters()

        def __call__(self, x):
            return [Value(self.answers[tuple(x)])]

    assert "does not match the reference" in _message(check_trained_mlp, Claims(), **TRAINED_CALLS[0])


def test_the_hidden_trained_test_looks_at_new_points_of_the_same_moons():
    train_params, new_params = (REGISTRY["trained_mlp"].resolve(p) for p in TRAINED_CALLS)
    a = REGISTRY["trained_mlp"].cases(train_params)[0].data["X"]
    b = REGISTRY["trained_mlp"].cases(new_params)[0].data["X"]
    assert not {tuple(x) for x in a} & {tuple(x) for x in b}


# -- evidence, delegation, determinism --------------------------------------------------------------

@pytest.mark.parametrize("check_name,student,params,passes", [
    ("mlp", MLP_EXERCISE.right["loop from the bias"], MLP_CALLS[0], True),
    ("mlp", MLP_EXERCISE.mistake("tanh on the output")[0], MLP_CALLS[0], False),
    ("mlp", MLP_EXERCISE.mistake("parameters are numbers")[0], MLP_CALLS[0], False),
    ("mlp_train", TRAIN_EXERCISE.right["mean of the losses"], TRAIN_CALLS[0], True),
    ("mlp_train", TRAIN_EXERCISE.mistake("grads never zeroed")[0], TRAIN_CALLS[0], False),
    ("mlp_train", TRAIN_EXERCISE.mistake("the library's train")[0], TRAIN_CALLS[0], False),
])
def test_the_verdict_is_the_same_from_the_evidence(check_name, student, params, passes):
    check = REGISTRY[check_name]
    resolved = check.resolve(params)
    records, _ = check.collect(student, resolved)
    again, _ = check.collect(student, resolved)
    assert records == again  # the same call records the same evidence
    assert check.verdict(resolved, json.loads(json.dumps(records))).passed is passes


def test_the_trained_verdict_is_the_same_from_the_evidence_and_tampering_fails():
    check = REGISTRY["trained_mlp"]
    params = check.resolve(TRAINED_CALLS[0])
    model = TRAINED_EXERCISE.names(TRAINED_EXERCISE.right["the notebook's training"])["model"]
    records, _ = check.collect(model, params)
    assert check.verdict(params, json.loads(json.dumps(records))).passed
    untrained = check.collect(classes()(2, NOUTS, seed=0), params)[0]
    forged = json.loads(json.dumps(untrained))
    forged[0]["items"][2] = records[0]["items"][2]  # the trained model's outputs, the untrained parameters
    assert not check.verdict(params, forged).passed
    assert not check.verdict(params, []).passed


def test_the_checks_that_grade_the_mlp_name_the_library_as_delegation():
    assert "backproplab.scalar_mlp.train" in REGISTRY["mlp_train"].delegation
    assert "backproplab.scalar_mlp.Neuron.__call__" in REGISTRY["mlp"].delegation
    assert set(REGISTRY["mlp"].delegation) < set(REGISTRY["trained_mlp"].delegation)
    cell = "from backproplab.scalar_mlp import train as fit\ncosts = fit(model, X, y, 300, 0.2)\n"
    assert scan([cell], REGISTRY["trained_mlp"].delegation) == ["backproplab.scalar_mlp.train"]


def test_check_cases_depend_on_their_parameters_only():
    for name, calls in (("mlp", MLP_CALLS), ("mlp_train", TRAIN_CALLS), ("trained_mlp", TRAINED_CALLS)):
        check = REGISTRY[name]
        for params in calls:
            resolved = check.resolve(params)
            a, b = check.cases(resolved), check.cases(json.loads(json.dumps(resolved)))
            assert [c.label for c in a] == [c.label for c in b]
            assert json.dumps([c.data for c in a], default=str) == json.dumps([c.data for c in b], default=str)


def test_the_test_cell_checks_run_fast():
    import time

    start = time.perf_counter()
    for params in MLP_CALLS:
        check_mlp(MLP_EXERCISE.right["loop from the bias"], **params)
    for params in TRAIN_CALLS:
        check_mlp_train(TRAIN_EXERCISE.right["mean of the losses"], **params)
    model = TRAINED_EXERCISE.names(TRAINED_EXERCISE.right["the notebook's training"])["model"]
    for params in TRAINED_CALLS:
        check_trained_mlp(model, **params)
    assert time.perf_counter() - start < 3.0


def test_check_mlp_train_tells_a_finite_difference_gradient_from_backward_with_a_margin():
    from exercises.nb03_mlp import _finite_difference_train

    check = REGISTRY["mlp_train"]
    for params in TRAIN_CALLS:
        resolved = check.resolve(params)
        d = check.cases(resolved)[0].data
        _, expected = checks.reference_loop(d["nouts"], d["seed"], d["X"], d["y"], d["steps"], d["learning_rate"])

        def gap(student):
            records, _ = check.collect(student, resolved)
            theta = evidence.decode(records[0])[2]
            return np.max(np.abs(theta - expected)) / np.max(np.abs(expected))

        right = max(gap(student) for student in TRAIN_EXERCISE.right.values())
        numerical = min(gap(lambda *a, h=h: _finite_difference_train(*a, h=h)) for h in (1e-4, 1e-5, 1e-6, 1e-7))
        assert right * 100 < checks.NUMERICAL_GAP < numerical / 10, (right, numerical)
