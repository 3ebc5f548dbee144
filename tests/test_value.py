"""The scalar reverse-mode engine: every local rule and every gradient agrees with finite differences."""

import math

import numpy as np
import pytest

from backproplab import numeric
from backproplab.value import Value, as_value, depth, sum_over_paths, topological_order

UNARY = {
    "exp": (lambda v: v.exp(), np.exp),
    "log": (lambda v: v.log(), np.log),
    "tanh": (lambda v: v.tanh(), np.tanh),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "relu": (lambda v: v.relu(), lambda x: np.maximum(x, 0.0)),
    "neg": (lambda v: -v, lambda x: -x),
    "pow3": (lambda v: v**3, lambda x: x**3),
    "pow-1.5": (lambda v: v**-1.5, lambda x: x**-1.5),
    "pow0.5": (lambda v: v**0.5, lambda x: x**0.5),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


def grads(build, xs, upstream=1.0):
    leaves = [Value(x) for x in xs]
    out = build(*leaves)
    out.backward(upstream)
    return out, np.array([leaf.grad for leaf in leaves])


def assert_matches_finite_differences(build, forward, xs, upstream=1.0):
    out, got = grads(build, xs, upstream)
    expected, noise = numeric.numerical_gradient(lambda v: forward(*v), np.array(xs), with_noise=True)
    assert out.data == pytest.approx(forward(*xs), rel=1e-12, abs=1e-12)
    assert np.max(numeric.error_score(got, upstream * expected, abs(upstream) * noise)) <= 1


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("seed", range(5))
def test_unary_rules_match_finite_differences(name, seed):
    op, forward = UNARY[name]
    x = float(np.random.default_rng(seed).uniform(0.3, 2.5))  # positive: log, roots, away from relu's kink
    x = -x if name in ("tanh", "sigmoid", "neg", "exp", "pow3") and seed % 2 else x
    assert_matches_finite_differences(op, forward, [x], upstream=-1.7)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("seed", range(5))
def test_binary_rules_and_reflected_operands_match_finite_differences(name, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 2.0, 2) * rng.choice([-1, 1], 2)
    op = BINARY[name]
    assert_matches_finite_differences(op, op, [a, b], upstream=0.6)
    # a plain number on either side is a constant
    assert_matches_finite_differences(lambda x: op(x, 1.3), lambda x: op(x, 1.3), [a])
    assert_matches_finite_differences(lambda x: op(1.3, x), lambda x: op(1.3, x), [a])


def test_a_reused_node_gets_the_sum_over_its_paths():
    # a*a, a diamond and a power: d/da of a*a + (a + 1)^3 * a
    def f(a):
        return a * a + (a + 1) ** 3 * a

    assert_matches_finite_differences(f, f, [0.7], upstream=2.5)


def test_a_random_composite_matches_finite_differences():
    def f(x, y, z):
        u = x * y + z.tanh()
        return (u.exp() / (1 + y * y)).log() + (u - z).sigmoid() * x ** 3 + (z * 2).relu()

    def g(x, y, z):
        u = x * y + np.tanh(z)
        return np.log(np.exp(u) / (1 + y * y)) + 1 / (1 + np.exp(-(u - z))) * x**3 + max(2 * z, 0)

    for seed in range(10):
        xs = list(np.random.default_rng(seed).uniform(0.2, 1.5, 3))
        assert_matches_finite_differences(f, g, xs, upstream=-0.8)


def test_backward_twice_accumulates_exactly_and_zero_grad_clears_every_node():
    a, b = Value(0.3), Value(-1.2)
    out = (a * b + a).tanh() * a
    out.backward()
    first = [n.grad for n in topological_order(out)]
    out.backward()
    assert [n.grad for n in topological_order(out)] == pytest.approx([2 * g for g in first])
    out.zero_grad()
    assert all(n.grad == 0.0 for n in topological_order(out))


def test_twenty_thousand_chained_additions_do_not_hit_the_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(20_000):
        y = y + x
    order = topological_order(y)
    assert len(order) == 20_001 and order[-1] is y
    y.backward()
    assert x.grad == 20_001.0


def test_topological_order_lists_each_node_once_after_its_children():
    rng = np.random.default_rng(0)
    nodes = [Value(float(v)) for v in rng.normal(size=4)]
    for _ in range(40):
        i, j = rng.integers(len(nodes), size=2)
        nodes.append(nodes[i] * nodes[j] if rng.random() < 0.5 else nodes[i] + nodes[j])
    root = nodes[-1]
    order = topological_order(root)
    assert len(order) == len(set(order)) and order[-1] is root
    position = {n: p for p, n in enumerate(order)}
    assert all(position[c] < position[n] for n in order for c in n.children)
    levels = depth(root)
    assert all(levels[n] > levels[c] for n in order for c in n.children)


def test_sum_over_paths_counts_paths_and_equals_backward():
    x = Value(0.5)
    y = x
    for k in range(1, 6):
        y = 1.1 * y + 0.7 * y + 0.4 * y
        y.zero_grad()
        y.backward()
        total, count = sum_over_paths(y, x)
        assert count == 3**k
        assert total == pytest.approx(x.grad)


def test_stable_tanh_and_sigmoid_at_large_inputs():
    for x in (-800.0, -50.0, 50.0, 800.0):
        v = Value(x)
        assert math.isfinite(v.tanh().data) and math.isfinite(v.sigmoid().data)
        s = v.sigmoid()
        s.backward()
        assert math.isfinite(v.grad) and v.grad >= 0


@pytest.mark.parametrize("bad, error", [
    (lambda: Value(-1.0).log(), ValueError),
    (lambda: Value(0.0).log(), ValueError),
    (lambda: Value(1.0) + "2", TypeError),
    (lambda: [1] * Value(1.0), TypeError),
    (lambda: Value("3"), TypeError),
    (lambda: Value(float("nan")), ValueError),
    (lambda: Value(1.0) / 0, ZeroDivisionError),
    (lambda: Value(-2.0) ** 0.5, ValueError),
    (lambda: Value(2.0) ** Value(2.0), TypeError),
    (lambda: Value(1000.0).exp(), OverflowError),
    (lambda: Value(1.0).backward("x"), TypeError),
])
def test_bad_input_raises_a_clear_error(bad, error):
    with pytest.raises(error) as info:
        bad()
    assert len(str(info.value)) > 10


def test_numbers_become_constant_leaves():
    c = as_value(3)
    assert c.data == 3.0 and c.op == "const" and c.children == ()
    assert as_value(c) is c


def test_work_counts_backward_sweeps_and_the_edges_they_visit():
    from backproplab import value

    a, b = Value(2.0), Value(1.0)
    e = (a + b) * (b + 1)  # 3 operations with 2 children each
    value.work.update(sweeps=0, edges=0)
    e.backward()
    e.backward()
    assert value.work == {"sweeps": 2, "edges": 12}


def test_sigmoid_matches_scipy_expit_and_log_expit_from_minus_700_to_700():
    from test_functions import SIGMOID_GRID, assert_sigmoid_accurate

    data, grads = [], []
    with np.errstate(all="raise"):
        for x in SIGMOID_GRID:
            v = Value(float(x))
            s = v.sigmoid()
            s.backward(2.0)
            data.append(s.data)
            grads.append(v.grad)
            assert s.local_grads == (s.data * (1.0 - s.data),)  # the local rule s (1 - s)
    data = np.array(data)
    assert_sigmoid_accurate(data, SIGMOID_GRID)
    assert np.array_equal(grads, 2.0 * data * (1.0 - data))
