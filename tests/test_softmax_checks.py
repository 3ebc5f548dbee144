"""The checks of notebook 05 accept right answers, reject their twins, and name the mistake."""

import numpy as np
import pytest

from autograder import (check_cross_entropy, check_hand_step, check_sgd_training, check_last_layer_gradients, check_softmax,
                        check_softmax_ce_backward, check_softmax_ce_forward, check_softmax_ce_gradient,
                        check_softmax_jacobian)
from autograder.checks.softmax import EPSILONS
from autograder.contract import REGISTRY
from backproplab import layers
from backproplab.messages import EN


def _message(check, student, **params):
    with pytest.raises(AssertionError) as failure:
        check(student, **params)
    return str(failure.value)


def _start(key):
    """The fixed opening words of a message, before its first placeholder."""
    return EN[key].split("{")[0]


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _jacobian(z):
    p = layers.softmax(z)
    return np.diag(p) - np.outer(p, p)


def _cross_entropy(p, y):
    n = len(y)
    dp = np.zeros_like(p)
    dp[np.arange(n), y] = -1 / (n * p[np.arange(n), y])
    return float(-np.mean(np.log(p[np.arange(n), y]))), dp


def _fused(z, y):
    dz = _softmax(z)
    dz[np.arange(len(y)), y] -= 1
    return dz / len(y)


@pytest.mark.parametrize("seed", range(4))
def test_references_pass_on_several_seeds_and_sizes(seed, capsys):
    n, c = 2 + seed, 3 + 2 * seed
    check_softmax(_softmax, seed=seed, n=n, c=c)
    check_softmax_jacobian(_jacobian, seed=seed, c=c)
    check_cross_entropy(_cross_entropy, seed=seed, n=n, c=c)
    check_softmax_ce_gradient(_fused, seed=seed, n=n, c=c)
    assert capsys.readouterr().out.count("OK ") == 4


def test_softmax_check_rejects_the_naive_formula_on_large_logits():
    def naive(z):
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    with np.errstate(over="ignore", invalid="ignore"):
        message = _message(check_softmax, naive, seed=0)
    assert "Subtract each row's maximum" in message


def test_softmax_check_names_the_batch_maximum_and_the_row_mean_on_rows_far_apart():
    def shifted(shift):
        def softmax(z):
            e = np.exp(z - shift(z))
            return e / e.sum(axis=1, keepdims=True)
        return softmax

    with np.errstate(over="ignore", invalid="ignore"):
        batch = _message(check_softmax, shifted(lambda z: z.max()), seed=0)
        mean = _message(check_softmax, shifted(lambda z: z.mean(axis=1, keepdims=True)), seed=0)
    assert EN["mistake.softmax_global_max"] in batch and "rows far apart" in batch
    assert EN["mistake.softmax_row_mean"] in mean and "spread over 1600" in mean


def test_softmax_check_names_in_place_changes_a_dropped_keepdims_and_float32():
    def in_place(z):
        z -= z.max(axis=1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    assert _start("check.changed_caller_input").format(what="softmax(z)") in _message(check_softmax, in_place, seed=0)
    no_keepdims = lambda z: np.exp(z - z.max(axis=1, keepdims=True)) / np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1)
    assert "keepdims=True" in _message(check_softmax, no_keepdims, seed=0)
    for cast in (np.float32, np.float64):  # float32 arithmetic, returned as it is or cast back
        assert "computes in float32" in _message(check_softmax, lambda z: _softmax(z.astype(np.float32)).astype(cast), seed=0)


def test_cross_entropy_check_names_an_eps_inside_the_log():
    def with_eps(p, y):
        loss, dp = _cross_entropy(p + 1e-12, y)
        return loss, dp

    assert EN["mistake.ce_log_eps"].format(what="cross_entropy(p, y)") in _message(check_cross_entropy, with_eps, seed=0)


def _named_by_definition(loss, dp, p, y, atol):
    """Whether an eps is to be named, from the definition: the answer agrees (np.allclose) with
    an eps form that rounding cannot explain, in L and in dp, and not with the exact answer."""
    def same(a, b):
        return b is not None and np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=1e-14, atol=atol))

    rows = np.arange(len(y))
    exact = _cross_entropy(p, y)
    for eps in EPSILONS:
        for form in (p[rows, y] + eps, np.maximum(p[rows, y], eps)):
            clipped = p.copy()
            clipped[rows, y] = form
            eps_loss, eps_dp = _cross_entropy(clipped, y)
            if np.array_equal(form, p[rows, y]) or (same(eps_loss, exact[0]) and (dp is None or same(eps_dp, exact[1]))):
                continue
            if ((same(loss, eps_loss) or same(loss, exact[0])) and (dp is None or same(dp, eps_dp) or same(dp, exact[1]))
                    and not (same(loss, exact[0]) and (dp is None or same(dp, exact[1])))):
                return True
    return False


def test_the_eps_mistake_is_named_exactly_when_its_definition_says():
    from autograder.checks.softmax import Reject, _eps_named

    rng = np.random.default_rng(5)
    ulp = np.finfo(float).eps
    seen = set()
    for trial in range(300):
        n, c = int(rng.integers(1, 6)), int(rng.integers(2, 5))
        z = rng.normal(0, 3, (n, c))
        y = rng.integers(0, c, n)
        if trial % 3 == 0:
            z[0, y[0]] = z[0].max() - rng.choice([8.0, 20.0, 32.0])  # a true class near 1e-4 to 1e-14
        p = _softmax(z)
        eps = EPSILONS[int(rng.integers(len(EPSILONS)))]
        pick = p.copy()
        pick[np.arange(n), y] = p[np.arange(n), y] + eps if rng.random() < 0.5 else np.maximum(p[np.arange(n), y], eps)
        loss, dp = _cross_entropy(p, y)
        eps_loss, eps_dp = _cross_entropy(pick, y)
        kind = trial % 10
        answer = {0: (loss, dp), 1: (eps_loss, eps_dp), 2: (eps_loss, dp), 3: (loss, eps_dp),
                  4: (eps_loss * (1 + 3 * ulp), eps_dp), 5: (eps_loss, eps_dp + ulp * rng.normal(size=dp.shape)),
                  6: (eps_loss, eps_dp * (1 + 1e-9)), 7: (float("nan"), eps_dp), 8: (np.float64(eps_loss), eps_dp.tolist()),
                  9: (np.array([eps_loss]), eps_dp)}[kind]
        for with_dp in (True, False):
            for atol in (0.0, 8 * ulp * (1 + np.max(np.abs(z)))):
                named_loss, named_dp = answer[0], answer[1] if with_dp else None
                try:
                    _eps_named(named_loss, named_dp, p, y, "cross_entropy(p, y)", atol=atol)
                    named = False
                except Reject:
                    named = True
                assert named == _named_by_definition(named_loss, named_dp, p, y, atol), (trial, kind, with_dp, atol)
                seen.add((kind, named))
    assert {(1, True), (2, True), (3, True), (0, False), (6, False)} <= seen  # both verdicts, each way in


def test_softmax_check_rejects_the_wrong_axis_and_says_rows_must_sum_to_one():
    def columns(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)

    message = _message(check_softmax, columns, seed=0)
    assert EN["mistake.softmax_wrong_axis"] in message
    assert _start("check.softmax_rows_not_one") in message


def test_softmax_jacobian_check_rejects_the_diagonal_only():
    message = _message(check_softmax_jacobian, lambda z: np.diag(np.diag(_jacobian(z))), seed=0)
    assert EN["mistake.diagonal_only"] in message
    assert _start("check.softmax_rows_not_zero") in message


def test_softmax_jacobian_check_rejects_an_asymmetric_slip_and_its_transpose():
    def same_index(z):
        p = layers.softmax(z)
        return p[:, None] * (np.eye(len(p)) - p[:, None])

    assert EN["mistake.jacobian_same_index"] in _message(check_softmax_jacobian, same_index, seed=0)
    _message(check_softmax_jacobian, lambda z: same_index(z).T, seed=0)


def test_softmax_jacobian_check_accepts_the_transpose_of_the_right_answer():
    check_softmax_jacobian(lambda z: _jacobian(z).T, seed=0)


def test_softmax_jacobian_check_rejects_finite_differences():
    def numerical(z):
        h = 1e-6
        return np.array([(layers.softmax(z + h * e) - layers.softmax(z - h * e)) / (2 * h)
                         for e in np.eye(len(z))]).T

    assert "numerical approximation" in _message(check_softmax_jacobian, numerical, seed=0)


def test_cross_entropy_check_names_a_missing_mean_and_the_fused_gradient():
    summed = lambda p, y: (_cross_entropy(p, y)[0] * len(y), _cross_entropy(p, y)[1])
    assert "missing 1/N" in _message(check_cross_entropy, summed, seed=0)
    fused = lambda p, y: (_cross_entropy(p, y)[0], (p - np.eye(p.shape[1])[y]) / len(y))
    assert EN["mistake.ce_fused_here"] in _message(check_cross_entropy, fused, seed=0)


def test_cross_entropy_check_names_whole_columns_picked_by_p_colon_y():
    columns = lambda p, y: (float(-np.mean(np.log(p[:, y]))), _cross_entropy(p, y)[1])
    assert EN["mistake.ce_columns_y"] in _message(check_cross_entropy, columns, seed=0)


def test_cross_entropy_check_wants_a_pair():
    message = _message(check_cross_entropy, lambda p, y: _cross_entropy(p, y)[0], seed=0)
    assert _start("check.expected_loss_pair").format(what="cross_entropy(p, y)") in message


def test_fused_gradient_check_rejects_p_alone_and_says_rows_must_sum_to_zero():
    message = _message(check_softmax_ce_gradient, lambda z, y: layers.softmax(z) / len(y), seed=0)
    assert EN["mistake.fused_p_only"] in message
    assert _start("check.softmax_rows_not_zero") in message


def test_fused_gradient_check_rejects_overflow_and_a_missing_mean():
    def naive(z, y):
        e = np.exp(z)
        return (e / e.sum(axis=1, keepdims=True) - np.eye(z.shape[1])[y]) / len(y)

    with np.errstate(over="ignore", invalid="ignore"):
        assert "Subtract each row's maximum" in _message(check_softmax_ce_gradient, naive, seed=0)
    assert "missing 1/N" in _message(check_softmax_ce_gradient, lambda z, y: _fused(z, y) * len(y), seed=0)


def test_fused_gradient_check_names_a_mean_over_classes_and_whole_columns():
    by_c = lambda z, y: _fused(z, y) * len(y) / z.shape[1]
    assert EN["mistake.fused_by_c"] in _message(check_softmax_ce_gradient, by_c, seed=0)

    def columns(z, y):
        p = layers.softmax(z)
        p[:, y] -= 1
        return p / len(y)

    # four labels cannot cover five classes, so this is not the same as subtracting 1 everywhere
    assert EN["mistake.fused_columns"] in _message(check_softmax_ce_gradient, columns, seed=0, n=4, c=5)


def test_a_student_that_changes_its_input_does_not_change_the_cases():
    def in_place(z, y):
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[np.arange(len(y)), y] -= 1
        return z / len(y)

    check_softmax_ce_gradient(in_place, seed=3)
    check_softmax_ce_gradient(in_place, seed=3)


@pytest.mark.parametrize("name", ["softmax", "softmax_jacobian", "cross_entropy", "softmax_ce_gradient",
                                  "last_layer_gradients", "softmax_ce_forward", "softmax_ce_backward", "hand_step",
                                  "sgd_training"])
def test_cases_depend_on_the_parameters_only(name):
    check = REGISTRY[name]
    params = check.resolve({"seed": 5})
    first, second = check.cases(params), check.cases(params)
    assert [c.label for c in first] == [c.label for c in second]
    for a, b in zip(first, second):
        for key in a.data:
            same = a.data[key], b.data[key]
            if isinstance(same[0], list):  # the hand step's six arrays
                assert all(np.array_equal(u, v) for u, v in zip(*same))
            elif isinstance(same[0], dict):  # the training loop's data
                assert all(np.array_equal(same[0][k], same[1][k]) for k in same[0])
            else:
                assert np.array_equal(*same)


def test_the_verdict_is_recomputed_from_the_evidence():
    check = REGISTRY["softmax_ce_gradient"]
    params = check.resolve({"seed": 2, "n": 5, "c": 3})
    records, error = check.collect(_fused, params)
    assert error is None and check.verdict(params, records).passed
    records, _ = check.collect(lambda z, y: -_fused(z, y), params)
    assert not check.verdict(params, records).passed


def test_labels_take_at_least_two_values_and_logits_stay_clipped():
    for seed in range(50):
        for case in REGISTRY["softmax_ce_gradient"].cases({"seed": seed, "n": 2, "c": 3, "count": 3}):
            assert len(set(case.data["y"].tolist())) == 2
            assert np.max(np.abs(case.data["z"])) <= 4.0


def test_sizes_that_would_hide_a_wrong_axis_are_refused():
    with pytest.raises(ValueError):
        check_softmax(_softmax, seed=0, n=3, c=3)
    with pytest.raises(ValueError):
        check_softmax_ce_gradient(_fused, seed=0, n=1, c=3)
    with pytest.raises(ValueError):
        check_softmax_jacobian(_jacobian, seed=0, c=2)


def _last(a, W, b, y):
    dz = _fused(a @ W + b, y)
    return a.T @ dz, dz.sum(axis=0)


def test_last_layer_check_passes_the_reference_and_names_the_weight_as_factor(capsys):
    check_last_layer_gradients(_last, seed=0)
    check_last_layer_gradients(_last, seed=3, n=7, d=2, m=4)
    assert capsys.readouterr().out.count("OK ") == 2

    def weight_factor(a, W, b, y):
        dz = _fused(a @ W + b, y)
        return W * dz.sum(axis=0), dz.sum(axis=0)

    assert EN["mistake.last_weight_factor"] in _message(check_last_layer_gradients, weight_factor, seed=0)


def test_last_layer_check_rejects_a_transposed_dW_by_its_shape():
    message = _message(check_last_layer_gradients, lambda a, W, b, y: (_last(a, W, b, y)[0].T, _last(a, W, b, y)[1]),
                       seed=0)
    assert EN["check.hint_transpose"].strip() in message


def test_last_layer_check_wants_a_pair_and_refuses_square_weights():
    assert _start("check.expected_grad_pair").format(what="last_layer_gradients(a, W, b, y)") in \
        _message(check_last_layer_gradients, lambda a, W, b, y: _last(a, W, b, y)[0], seed=0)
    with pytest.raises(ValueError):
        check_last_layer_gradients(_last, seed=0, d=3, m=3)


class _Loss:
    def __init__(self):
        self.p = None
        self.y = None

    def forward(self, z, y):
        m = z.max(axis=1, keepdims=True)
        log_p = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
        self.p, self.y = np.exp(log_p), y
        return float(-log_p[np.arange(len(y)), y].mean())

    def backward(self, dout=1.0):
        dz = self.p.copy()
        dz[np.arange(len(self.y)), self.y] -= 1.0
        return dout * dz / len(self.y)


def test_the_loss_module_is_graded_method_by_method(capsys):
    check_softmax_ce_forward(_Loss, seed=0)
    check_softmax_ce_backward(_Loss, seed=0)
    assert capsys.readouterr().out.count("OK ") == 2

    class LogOfSoftmax(_Loss):
        def forward(self, z, y):
            super().forward(z, y)
            return float(-np.mean(np.log(self.p[np.arange(len(y)), y])))

    class BrokenForward(_Loss):
        def forward(self, z, y):
            return 0.0

    class SharedCache(_Loss):
        def backward(self, dout=1.0):
            self.p[np.arange(len(self.y)), self.y] -= 1.0
            return dout * self.p / len(self.y)

    with np.errstate(divide="ignore"):
        assert EN["mistake.ce_log_underflow"] in _message(check_softmax_ce_forward, LogOfSoftmax, seed=0)
    check_softmax_ce_backward(BrokenForward, seed=0)  # a broken forward never fails the backward
    assert _start("check.sce_cache_changed").format(what="SoftmaxCrossEntropy.backward(dout)") in \
        _message(check_softmax_ce_backward, SharedCache, seed=0)


def _hand_step(params, x, y, lr):
    W1, b1, W2, b2, W3, b3 = params
    h1 = 1 / (1 + np.exp(-(x @ W1 + b1)))
    h2 = 1 / (1 + np.exp(-(h1 @ W2 + b2)))
    dz3 = _fused(h2 @ W3 + b3, y)
    dz2 = dz3 @ W3.T * h2 * (1 - h2)
    dz1 = dz2 @ W2.T * h1 * (1 - h1)
    grads = [x.T @ dz1, dz1.sum(axis=0), h1.T @ dz2, dz2.sum(axis=0), h2.T @ dz3, dz3.sum(axis=0)]
    return [w - lr * g for w, g in zip(params, grads)]


def test_hand_step_check_passes_the_reference_and_names_a_climbing_step(capsys):
    check_hand_step(_hand_step, seed=0)
    check_hand_step(_hand_step, seed=4, n=2, sizes=[3, 5, 4, 3])
    assert capsys.readouterr().out.count("OK ") == 2
    climbing = lambda params, x, y, lr: _hand_step(params, x, y, -lr)
    assert EN["mistake.hand_plus"] in _message(check_hand_step, climbing, seed=0)


def test_a_later_exercise_runs_with_the_courses_softmax_in_place_of_the_students():
    import types

    namespace = {"np": np, "softmax": lambda z: np.zeros_like(z)}  # a wrong softmax of the student's
    code = compile("def last(a, W, b, y):\n"
                   "    dz = softmax(a @ W + b)\n"
                   "    dz[np.arange(len(y)), y] -= 1\n"
                   "    dz = dz / len(y)\n"
                   "    return a.T @ dz, dz.sum(axis=0)\n", "<student>", "exec")
    exec(code, namespace)
    check_last_layer_gradients(namespace["last"], seed=0)
    assert namespace["softmax"](np.ones((1, 2))).sum() == 0.0  # and it is given back afterwards


def test_the_note_on_the_swapped_references_shows_only_when_the_students_code_calls_them():
    namespace = {"np": np, "softmax": layers.softmax}
    exec(compile("def helper(z):\n"
                 "    return softmax(z)\n"
                 "def through_helper(a, W, b, y):\n"
                 "    dz = helper(a @ W + b)\n"
                 "    dz[np.arange(len(y)), y] -= 1\n"
                 "    return a.T @ dz, dz.sum(axis=0)\n"  # no 1/N
                 "def on_its_own(a, W, b, y):\n"
                 "    e = np.exp(a @ W + b)\n"
                 "    dz = e / e.sum(axis=1, keepdims=True)\n"
                 "    dz[np.arange(len(y)), y] -= 1\n"
                 "    return a.T @ dz, dz.sum(axis=0)\n", "<student>", "exec"), namespace)
    note = EN["check.earlier_replaced"].split("{names}")[1]
    check = REGISTRY["last_layer_gradients"]
    params = check.resolve({"seed": 0})
    for name, shown in (("through_helper", True), ("on_its_own", False)):
        records, _ = check.collect(namespace[name], params)
        verdict = check.verdict(params, records)  # as the grader recomputes it, from the evidence alone
        assert not verdict.passed and "1/N" in verdict.message
        assert (note in verdict.message) is shown, (name, verdict.message)
        if shown:
            assert "calls softmax (" in verdict.message


def test_the_training_check_runs_the_loop_on_its_own_data_and_names_a_fixed_order():
    import sys

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from exercises.nb05 import TRAIN

    check_sgd_training(TRAIN.right["permutation, SGD"], seed=0)
    message = _message(check_sgd_training, TRAIN.mistake("no shuffle")[0], seed=0)
    assert EN["mistake.training_no_shuffle"] in message
    with pytest.raises(ValueError):
        check_sgd_training(TRAIN.right["permutation, SGD"], seed=0, epochs=1)
