"""The checks of notebook 03 (the student's Value, paths, dual numbers): power and safety over many seeds.

Right answers pass on every seed; a finite difference written where a local
rule belongs fails on every seed, whatever its step; a method is graded
alone (another exercise's answer, however wrong, does not fail it).
"""

import math

import pytest

from autograder import (check_backward, check_dual_exp, check_dual_mul, check_dual_tanh, check_edge_derivatives,
                        check_factored_sum, check_forward_gradient, check_reverse_gradient, check_sum_over_paths,
                        check_topological_order, check_value_add, check_value_exp, check_value_mul, check_value_pow,
                        check_value_tanh, check_zero_grad)
from exercises import nb03

SEEDS = range(40)
VALUE_CHECKS = {"add": check_value_add, "mul": check_value_mul, "pow": check_value_pow, "exp": check_value_exp,
                "tanh": check_value_tanh}


def quietly(check, student, **params):
    """Run a check call; True when it passes (its OK line is not printed)."""
    try:
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            check(student, **params)
        return True
    except AssertionError:
        return False


@pytest.mark.parametrize("op", sorted(VALUE_CHECKS))
def test_the_right_operations_pass_on_every_seed(op):
    assert all(quietly(VALUE_CHECKS[op], nb03.value_class(), seed=s) for s in SEEDS)


@pytest.mark.parametrize("h", [1e-3, 1e-5, 1e-7])
@pytest.mark.parametrize("op", ["mul", "pow", "exp", "tanh"])
def test_a_local_derivative_by_finite_differences_fails_on_every_seed(op, h):
    def by_differences(V, self, *other):
        exact = nb03._rules()[op](V, self, *other)
        forward = {"mul": lambda t: t * other[0].data, "pow": lambda t: t ** other[0], "exp": math.exp,
                   "tanh": math.tanh}[op]
        local = (forward(self.data + h) - forward(self.data - h)) / (2 * h)
        return V(exact.data, children=exact.children, local_grads=(local, *exact.local_grads[1:]))

    student = nb03.value_class(**{op: by_differences})
    assert not any(quietly(VALUE_CHECKS[op], student, seed=s) for s in range(10))


@pytest.mark.parametrize("h", [1e-1, 1e-2, 1e-4, 1e-6])
def test_edge_derivatives_by_finite_differences_fail_whatever_the_step(h):
    student = nb03._edges_by_differences(h)
    assert not any(quietly(check_edge_derivatives, student, seed=s) for s in range(20))


def test_edge_derivatives_written_in_other_orders_pass():
    for student in nb03.EDGE_DERIVATIVES.right.values():
        assert all(quietly(check_edge_derivatives, student, seed=s) for s in SEEDS)


def test_sums_over_paths_pass_and_only_the_factored_ones_count_as_factored():
    for student in nb03.SUM_OVER_PATHS.right.values():
        assert all(quietly(check_sum_over_paths, student, seed=s) for s in range(20))
    for student in nb03.FACTORED_SUM.right.values():
        assert all(quietly(check_factored_sum, student, seed=s) for s in range(20))
    assert not any(quietly(check_factored_sum, nb03._paths_recursive, seed=s) for s in range(5))


def test_the_factored_reference_totals_equal_the_sums_over_every_path():
    import numpy as np

    from autograder.checks import graphs

    rng = np.random.default_rng(3)
    graph_sets = [graphs.random_edges(rng, nodes) for nodes in (4, 7, 9) for _ in range(10)]
    graph_sets += [graphs.layered_edges(stages, rng) for stages in (1, 4)]
    for edges, out, inp in graph_sets:
        paths = graphs._paths(edges, out, inp)
        count, products, sums = graphs._path_totals(edges, out, inp)
        assert count == len(paths) >= 1
        assert math.isclose(products, sum(math.prod(p) for p in paths), rel_tol=1e-12, abs_tol=1e-12)
        assert math.isclose(sums, sum(sum(p) for p in paths), rel_tol=1e-12, abs_tol=1e-12)
    assert graphs._path_totals(*graphs.layered_edges(7, rng))[0] == 3 ** 7
    assert graphs._path_totals({("b", "a"): 2.0}, "a", "a") == (1, 1.0, 0.0)


def test_backward_and_zero_grad_are_graded_with_the_reference_order(monkeypatch):
    monkeypatch.setattr(nb03, "topological_order", lambda root: [root])  # a wrong order of the student's
    student = nb03.value_class()
    assert all(quietly(check_backward, student, seed=s) for s in range(10))
    assert all(quietly(check_zero_grad, student, seed=s) for s in range(10))
    assert nb03.topological_order(student(1.0)) != []  # put back after each case


def test_topological_orders_pass_on_every_seed():
    for student in nb03.TOPOLOGICAL_ORDER.right.values():
        assert all(quietly(check_topological_order, student, seed=s) for s in range(20))


def test_dual_numbers_pass_and_a_finite_difference_tangent_fails():
    right = nb03.dual_class()
    for check in (check_dual_mul, check_dual_tanh, check_dual_exp):
        assert all(quietly(check, right, seed=s) for s in SEEDS)
    wrong = nb03.DUAL.wrong["tanh tangent by finite differences"][0]
    assert not any(quietly(check_dual_tanh, wrong, seed=s) for s in range(10))


def test_both_gradients_are_graded_with_the_reference_engines(monkeypatch):
    monkeypatch.setattr(nb03, "Dual", nb03.dual_class(mul=lambda D, x, y: D(0.0, 0.0)))  # the student's Dual, wrong
    monkeypatch.setattr(nb03, "Value", nb03.value_class(mul=lambda V, s, o: V(0.0)))  # and their Value
    assert all(quietly(check_forward_gradient, nb03._forward_gradient, seed=s) for s in range(10))
    assert all(quietly(check_reverse_gradient, nb03._reverse_gradient, seed=s) for s in range(10))
