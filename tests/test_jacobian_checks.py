"""The checks of notebook 06 accept right answers over many seeds and name the likely mistake of wrong ones."""

import numpy as np
import pytest

from autograder import (check_dense_vjp, check_linear_jacobians, check_network_jacobian, check_network_jvp,
                        check_network_vjp,
                        check_numerical_jacobian, check_softmax_batch_jacobian, check_softmax_vjp)
from autograder.checks import jacobians as checks
from autograder.checks.jacobians import memory_limit
from autograder.contract import REGISTRY
from exercises import nb06

SEEDS = range(12)
NETWORKS = [dict(widths=[3, 4, 2], hidden="sigmoid", top="softmax"), dict(widths=[2, 5, 3, 4], hidden="tanh", top="none"),
            dict(widths=[4, 3, 3], hidden="relu", top="softmax")]


# -- right answers pass -----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_right_numerical_jacobians_pass(seed):
    for fn in nb06.NUMERICAL_JACOBIAN.right.values():
        check_numerical_jacobian(fn, seed=seed, n=2 + seed % 4)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_linear_jacobians_pass(seed):
    for fn in nb06.LINEAR_JACOBIANS.right.values():
        check_linear_jacobians(fn, seed=seed, n=1 + seed % 4, d=2 + seed % 3, m=1 + seed % 5)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_softmax_batch_jacobians_pass(seed):
    for fn in nb06.SOFTMAX_BATCH_JACOBIAN.right.values():
        check_softmax_batch_jacobian(fn, seed=seed, n=1 + seed % 4, c=2 + seed % 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_vjps_pass(seed):
    for fn in nb06.DENSE_VJP.right.values():
        check_dense_vjp(fn, seed=seed, n=2 + seed % 4, d=3 + seed % 3, m=1 + seed % 5)
    for fn in nb06.SOFTMAX_VJP.right.values():
        check_softmax_vjp(fn, seed=seed, n=2 + seed % 4, c=2 + seed % 3)


@pytest.mark.parametrize("seed", SEEDS)
def test_right_network_answers_pass(seed):
    spec = NETWORKS[seed % 3]
    for fn in nb06.NETWORK_JACOBIAN.right.values():
        check_network_jacobian(fn, seed=seed, n=1 + seed % 3, **spec)
    for fn in nb06.NETWORK_VJP.right.values():
        check_network_vjp(fn, seed=seed, n=1 + seed % 3, big=[48, 5], **spec)
    for fn in nb06.NETWORK_JVP.right.values():
        check_network_jvp(fn, seed=seed, n=1 + seed % 3, big=[48, 5], **spec)


# -- twins that must fail, with their diagnosis, on other seeds than the notebook's ---------------------

WRONG = [(check, exercise, name) for check, exercise in [
    (check_numerical_jacobian, nb06.NUMERICAL_JACOBIAN), (check_linear_jacobians, nb06.LINEAR_JACOBIANS),
    (check_softmax_batch_jacobian, nb06.SOFTMAX_BATCH_JACOBIAN), (check_dense_vjp, nb06.DENSE_VJP),
    (check_softmax_vjp, nb06.SOFTMAX_VJP), (check_network_jacobian, nb06.NETWORK_JACOBIAN),
    (check_network_vjp, nb06.NETWORK_VJP), (check_network_jvp, nb06.NETWORK_JVP)] for name in exercise.wrong]


@pytest.mark.parametrize("seed", [0, 17])
@pytest.mark.parametrize("check,exercise,mistake", WRONG, ids=[w[2] for w in WRONG])
def test_wrong_answers_fail_with_their_diagnosis(check, exercise, mistake, seed):
    implementation, words = exercise.mistake(mistake)
    if check is check_numerical_jacobian and mistake == "every coordinate at once":
        seed = 1  # softmax ignores a common shift: there moving every entry gives the zeros of an alias
    with pytest.raises(AssertionError) as info:
        check(implementation, seed=seed)
    assert words in str(info.value), str(info.value)


def test_the_memory_limit_lies_between_an_honest_vjp_and_the_diagonal_of_slopes():
    for n, d, m in ([24, 30, 20], [32, 20, 28], [20, 36, 24]):
        honest = 8 * (n * d + d * m + 2 * n * m + m)        # the inputs' bytes and a few more
        diagonal = 8 * (n * m) ** 2                         # diag(s') alone, (N M, N M)
        assert 8 * honest < memory_limit(n, d, m) < diagonal / 3


def _local_jacobians_vjp(network, x, dout):
    """One VJP per module, but through each activation's Jacobian, formed: (N w, N w)."""
    from backproplab.layers import Linear
    states = nb06._forward(network, x)
    deltas, grads = [dout], []
    for k in range(len(network) - 1, -1, -1):
        module, z_in, z_out, delta = network[k], states[k], states[k + 1], deltas[0]
        if isinstance(module, Linear):
            grads.insert(0, (z_in.T @ delta, delta.sum(axis=0)))
            delta = delta @ module.params["W"].T
        else:
            delta = (delta.ravel() @ nb06._local(module, z_in, z_out)).reshape(z_in.shape)
        deltas.insert(0, delta)
    return deltas, grads


@pytest.mark.parametrize("big,spec", [([128, 6], NETWORKS[0]), ([100, 6], dict(widths=[2, 5, 3, 4], hidden="tanh",
                                                                                  top="softmax")),
                                      ([64, 8], dict(widths=[4, 3, 2], hidden="relu", top="none"))])
def test_the_network_memory_limit_lies_between_an_honest_chain_and_local_jacobians(big, spec):
    from backproplab import cost
    case = checks.NetworkVJP().cases({"seed": 1, "count": 0, "n": 2, "big": big, **spec})[-1]
    limit = checks.network_memory_limit(case.data)
    peaks = {}
    for name, fn in [("honest", nb06.NETWORK_VJP.right["one VJP per module, going down"]),
                     ("local", _local_jacobians_vjp)]:
        peaks[name] = min(cost.peak_memory(fn, checks._modules(case.data), case.data["x"].copy(),
                                           case.data["dout"].copy())[1] for _ in range(2))
    assert 8 * peaks["honest"] < limit < peaks["local"] / 2, (peaks, limit)


def test_a_vjp_checked_with_dout_of_ones_would_miss_an_ignored_dout_but_this_check_does_not():
    with pytest.raises(AssertionError, match="dout = all ones"):
        check_network_vjp(nb06.NETWORK_VJP.wrong["dout ignored (ones)"][0], seed=5)


def test_every_delegated_path_exists():
    from autograder.delegation import _lookup
    for name in ("numerical_jacobian", "linear_jacobians", "softmax_batch_jacobian", "dense_vjp", "softmax_vjp",
                 "network_jacobian", "network_vjp", "network_jvp", "jacobian_from_vjp", "jacobian_from_jvp"):
        assert REGISTRY[name].delegation, name
        for path in REGISTRY[name].delegation + checks.BACKWARDS:
            assert callable(_lookup(path)[2]), path


def test_the_network_checks_put_the_library_backward_back():
    from backproplab.layers import Linear
    code = Linear.backward.__code__
    with pytest.raises(AssertionError, match="already does"):
        check_network_vjp(nb06.NETWORK_VJP.wrong["the modules' backward"][0], seed=0)
    assert Linear.backward.__code__ is code


def test_float32_is_named_only_when_float32_explains_the_numbers():
    x = np.random.default_rng(0).normal(size=(3, 4))
    assert checks._float32_explains(x.astype(np.float32).astype(np.float64), x)
    assert not checks._float32_explains(np.zeros_like(x), x)
    assert not checks._float32_explains(x, x)


def test_the_notebook_imports_nothing_its_exercises_delegate_to():
    import harness
    from autograder import delegation
    from autograder.recompute import expected_calls

    nb = harness.load(harness.master("06-jacobians"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    setup = [harness.source_text(c) for c in code if harness.nbgrader_meta(c).get("grade_id") == "setup"]
    solutions = {harness.nbgrader_meta(c)["grade_id"]: harness.source_text(c)
                 for c in code if harness.nbgrader_meta(c).get("solution")}
    # the notebook imports no numerical differentiator and none of the library's Jacobians
    assert delegation.scan(setup, checks.ALL) == []
    tests = harness.graded_test_cells(nb)
    assert len(tests) == 9
    for grade_id, source in tests.items():
        paths = sorted({path for name, _ in expected_calls(source) for path in REGISTRY[name].delegation})
        assert delegation.scan([solutions[grade_id[:-len("_test")]]], paths, setup) == [], grade_id
    # a cell that calls one of them is found through the notebook's imports
    assert delegation.scan(["J = jacobians.softmax_jacobian(z)\n"], checks.ALL,
                           ["from backproplab import jacobians\n"]) == ["backproplab.jacobians.softmax_jacobian"]
