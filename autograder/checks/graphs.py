"""Checks of notebook 03 before and after the engine: edges, paths, forward mode.

- ``check_edge_derivatives(edge_derivatives)``: the five local derivatives
  of e = (a + b)(b + 1), {(out, inp): number}, at seeded a and b, exact (a
  finite difference is rejected);
- ``check_sum_over_paths(sum_over_paths)``: ``sum_over_paths(edges, out, inp)``
  on seeded random graphs given as {(head, tail): number} is the sum over the
  paths from inp up to out of the product of their edges' numbers;
- ``check_dual_add(Dual)``, ``check_dual_mul``, ``check_dual_tanh``: the
  student's own dual numbers, ``Dual(value, tangent)``: each operation gives
  the value and the exact tangent, as a Dual of the student's class.

The engine's checks (the student's Value) are in engine.py.
"""

import math

import numpy as np

from backproplab import numeric
from backproplab.messages import text

from ..contract import Case, Check, Reject, describe, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare, reject_if_numerical
from .engine import ENGINE, Swapped, reject_unless_exact, _graph_cases, _mistaken_backward, build, evaluate
from .finite_differences import DIFFERENTIATORS

# -- the edges of e = (a + b)(b + 1) ----------------------------------------------------------

EDGES = (("c", "a"), ("c", "b"), ("d", "b"), ("e", "c"), ("e", "d"))
class EdgeDerivatives(Check):
    """edge_derivatives(a, b) returns {(out, inp): d(out)/d(inp)} for the five edges of e = (a + b)(b + 1)."""

    name = "edge_derivatives"
    what = "edge_derivatives(a, b)"
    defaults = {"seed": 0, "count": 6}
    delegation = ENGINE + DIFFERENTIATORS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            while True:  # a + b and b + 1 distinct and away from 1, so that no mistake passes by chance
                a, b = (float(v) for v in rng.uniform(-3.0, 3.0, 2))
                c, d = a + b, b + 1
                if min(abs(c - d), abs(c - 1), abs(d - 1), abs(c), abs(d), abs(abs(c) - abs(d)),
                       abs(c - b), abs(d - a)) > 0.2:
                    break
            cases.append(Case(text("check.case_edges", a=a, b=b), {"a": a, "b": b}))
        return cases

    def call(self, student, case):
        result = student(case.data["a"], case.data["b"])
        if not isinstance(result, dict):
            return result
        return np.array([float(result[edge]) if edge in result else math.nan for edge in EDGES])

    def judge(self, case, value, params):
        a, b = case.data["a"], case.data["b"]
        if not isinstance(value, np.ndarray) or value.shape != (len(EDGES),):
            raise Reject(text("check.expected_edge_dict", what=self.what, got=describe(value)))
        missing = [f"{out, inp}" for (out, inp), v in zip(EDGES, value) if math.isnan(v)]
        if missing:
            raise Reject(text("check.edges_missing", what=self.what, edges=", ".join(missing)))
        got = reject_unless_array(value, (len(EDGES),), self.what)
        c, d = a + b, b + 1
        expected = np.array([1.0, 1.0, 1.0, d, c])
        mistakes = {
            "edges_product_swapped": [1.0, 1.0, 1.0, c, d],
            "edges_values": [c, c, d, c, d],
            "edges_product_ones": [1.0, 1.0, 1.0, 1.0, 1.0],
            "edges_hard_coded": [1.0, 1.0, 1.0, 2.0, 3.0],
            "edges_constant_zero": [1.0, 1.0, 0.0, d, c],
            "edges_other_input": [1.0, 1.0, 1.0, b, a],
        }
        score = compare(got, expected, 0.0, what=self.what, mistakes=mistakes)
        reject_unless_exact(got, expected, what=self.what)
        return score


# -- the sum over paths ----------------------------------------------------------------------

def _paths(edges, out, inp):
    """Every path from inp up to out, as the list of its edges' numbers (depth-first, in dict order)."""
    if out == inp:
        return [[]]
    found = []
    for (head, tail), local in edges.items():
        if head == out:
            found += [path + [local] for path in _paths(edges, tail, inp)]
    return found


def _path_totals(edges, out, inp):
    """(how many paths go from inp up to out, the sum of their edges' products, the sum of their edges' sums),
    each node's totals computed once: what :func:`_paths` would give summed, without walking every path."""
    into = {}
    for (head, tail), local in edges.items():
        into.setdefault(head, []).append((tail, local))
    known = {inp: (1, 1.0, 0.0)}

    def totals(node):
        if node not in known:
            count, products, sums = 0, 0.0, 0.0
            for tail, local in into.get(node, ()):
                c, p, s = totals(tail)
                count, products, sums = count + c, products + local * p, sums + s + local * c
            known[node] = (count, products, sums)
        return known[node]

    return totals(out)


def random_edges(rng, nodes):
    """(edges, out, inp): a random DAG of ``nodes`` names with >= 2 paths from inp to out."""
    names = [chr(ord("a") + i) for i in range(nodes)]
    while True:
        edges = {}
        for j in range(2, nodes):
            fan_in = 1 if rng.random() < 0.25 else 2
            for i in sorted(rng.choice(j, size=min(fan_in, j), replace=False)):
                edges[(names[j], names[int(i)])] = float(np.round(rng.choice([-1, 1]) * rng.uniform(0.5, 1.8), 3))
        out = names[-1]
        candidates = [n for n in names[:-1] if _path_totals(edges, out, n)[0] >= 2]
        if candidates:
            inp = candidates[int(rng.integers(len(candidates)))]
            return dict(sorted(edges.items(), key=lambda kv: (kv[0][0], kv[0][1]))), out, inp


def _path_cases(params, rng):
    """``count`` random acyclic graphs of ``nodes`` nodes, with an output and an input to sum paths between."""
    cases = []
    for _ in range(params["count"]):
        edges, out, inp = random_edges(rng, params["nodes"])
        label = text("check.case_paths", edges=edges, out=out, inp=inp)
        cases.append(Case(label, {"edges": [[h, t, v] for (h, t), v in edges.items()], "out": out, "inp": inp}))
    return cases


class SumOverPaths(Check):
    """sum_over_paths(edges, out, inp): the sum over the paths from inp up to out of the products of their edges."""

    name = "sum_over_paths"
    what = "sum_over_paths(edges, out, inp)"
    defaults = {"seed": 0, "count": 4, "nodes": 7}
    delegation = ENGINE

    def cases(self, params):
        return _path_cases(params, np.random.default_rng(params["seed"]))

    @staticmethod
    def _edges(case):
        return {(h, t): v for h, t, v in case.data["edges"]}

    def call(self, student, case):
        return student(self._edges(case), case.data["out"], case.data["inp"])

    def judge(self, case, value, params):
        got = reject_unless_finite_number(value, self.what)
        paths = _paths(self._edges(case), case.data["out"], case.data["inp"])
        products = [math.prod(p) for p in paths]
        mistakes = {
            "paths_zero": 0.0,
            "paths_count": float(len(paths)),
            "paths_sum_along": float(sum(sum(p) for p in paths)),
            "paths_max": max(products),
            "paths_product_of_products": math.prod(products),
            "paths_first_only": products[0],
        }
        return compare(got, sum(products), 0.0, what=self.what, mistakes=mistakes)


class CountedFloat(float):
    """A number on an edge that counts the multiplications it takes part in (in ``log``)."""

    log = None

    def _count(self):
        if CountedFloat.log is not None:
            CountedFloat.log.append(1)

    def __mul__(self, other):
        self._count()
        return float(self) * other

    def __rmul__(self, other):
        self._count()
        return other * float(self)


def layered_edges(stages, rng):
    """X0 -> three routes -> X1 -> ... -> X{stages}: 6 * stages edges, 3 ** stages paths."""
    edges = {}
    for s in range(stages):
        for i in range(3):
            edges[(f"r{s}{i}", f"X{s}")] = float(np.round(rng.uniform(0.5, 1.5), 3))
            edges[(f"X{s + 1}", f"r{s}{i}")] = 1.0
    return edges, f"X{stages}", "X0"


class FactoredSum(Check):
    """factored_sum(edges, out, inp): the sum over paths, with each node's sum computed once."""

    name = "factored_sum"
    what = "factored_sum(edges, out, inp)"
    defaults = {"seed": 0, "count": 3, "nodes": 7, "stages": 7}
    delegation = ENGINE

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = _path_cases(params, rng)
        edges, out, inp = layered_edges(params["stages"], rng)
        label = text("check.case_layered", stages=params["stages"], edges=len(edges), paths=3 ** params["stages"])
        cases.append(Case(label, {"edges": [[h, t, v] for (h, t), v in edges.items()], "out": out, "inp": inp}))
        return cases

    def call(self, student, case):
        edges = {(h, t): CountedFloat(v) for h, t, v in case.data["edges"]}
        log = CountedFloat.log = []
        try:
            result = student(edges, case.data["out"], case.data["inp"])
        finally:
            CountedFloat.log = None
        if isinstance(result, (int, float, np.integer, np.floating)) and not isinstance(result, bool):
            return (float(result), float(len(log)))
        return result

    def judge(self, case, value, params):
        if not (isinstance(value, tuple) and len(value) == 2):
            raise Reject(text("check.expected_number", what=self.what, got=describe(value)))
        got, products = reject_unless_finite_number(value[0], self.what), value[1]
        edges = SumOverPaths._edges(case)
        count, total, along = _path_totals(edges, case.data["out"], case.data["inp"])
        score = compare(got, total, 0.0, what=self.what,
                        mistakes={"paths_zero": 0.0, "paths_count": float(count), "paths_sum_along": along})
        if products > 2 * len(edges):
            raise Reject(text("check.factored_walks_paths", what=self.what, products=int(products),
                              edges=len(edges)))
        return score


# -- forward mode: the student's dual numbers ---------------------------------------------------

DUAL_LIBRARY = tuple(f"backproplab.dual.Dual.{m}" for m in (
    "__init__", "__add__", "__radd__", "__sub__", "__mul__", "__rmul__", "__truediv__", "__pow__",
    "exp", "log", "sin", "cos", "tanh", "sigmoid", "_chain", "_lift",
)) + ("backproplab.dual.as_dual", "backproplab.dual.derivative", "backproplab.dual.gradient")
DUAL_FORWARD = {"add": lambda v: v[0] + v[1], "mul": lambda v: v[0] * v[1], "tanh": lambda v: np.tanh(v[0]),
                "exp": lambda v: np.exp(v[0])}


class DualOp(Check):
    """One operation of the student's Dual: value and exact tangent, as a Dual of the student's class."""

    op = ""
    defaults = {"seed": 0, "count": 6}
    delegation = DUAL_LIBRARY + DIFFERENTIATORS

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            a, ta, tb = (float(v) for v in rng.choice([-1.0, 1.0], 3) * rng.uniform(0.4, 2.0, 3))
            b = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
            plain = self.op in ("add", "mul") and i % 3 == 2  # y a plain number: its tangent is 0
            tb = 0.0 if plain else tb
            x = f"Dual({a:.4g}, {ta:.4g})"
            y = f"{b:.4g}" if plain else f"Dual({b:.4g}, {tb:.4g})"
            expression = {"add": f"{x} + {y}", "mul": f"{x} * {y}", "tanh": f"{x}.tanh()",
                          "exp": f"{x}.exp()"}[self.op]
            cases.append(Case(expression, {"a": a, "ta": ta, "b": b, "tb": tb, "plain": plain}))
        return cases

    def call(self, student, case):
        d = case.data
        x = student(d["a"], d["ta"])
        y = d["b"] if d["plain"] else student(d["b"], d["tb"])
        out = {"add": lambda: x + y, "mul": lambda: x * y, "tanh": lambda: x.tanh(), "exp": lambda: x.exp()}[self.op]()
        if not (hasattr(out, "value") and hasattr(out, "tangent")):
            return out
        return (out.value, out.tangent, 1.0 if isinstance(out, student) else 0.0)

    def judge(self, case, value, params):
        d, f = case.data, DUAL_FORWARD[self.op]
        if not (isinstance(value, tuple) and len(value) == 3):
            raise Reject(text("check.expected_dual", what=self.what, got=describe(value)))
        *pair, own_class = value
        if own_class != 1.0:
            raise Reject(text("check.dual_not_own_class", what=self.what))
        value_got = reject_unless_finite_number(pair[0], self.what)
        tangent_got = reject_unless_finite_number(pair[1], self.what)
        point, direction = np.array([d["a"], d["b"]]), np.array([d["ta"], d["tb"]])
        _, noise = numeric.numerical_directional(f, point, direction, with_noise=True)
        a, ta, b, tb = d["a"], d["ta"], d["b"], d["tb"]
        v = float(f(point))
        t = math.tanh(a)
        exact = {"add": ta + tb, "mul": ta * b + a * tb, "tanh": (1 - t * t) * ta, "exp": math.exp(a) * ta}[self.op]
        compare(value_got, v, numeric.EPS * abs(v), what=text("check.dual_value", what=self.what))
        mistakes = {"dual_plain_number": 0.0} if d["plain"] and self.op != "add" else {}
        mistakes.update({
            "add": {"dual_add_product": ta * tb, "dual_add_one_tangent": ta},
            "mul": {"dual_product_of_tangents": ta * tb, "dual_one_term": ta * b, "dual_mul_sum": ta + tb},
            "tanh": {"dual_tanh_no_tangent": 1 - t * t, "dual_tanh_not_squared": (1 - t) * ta,
                     "tanh_rule_on_input": (1 - a * a) * ta, "dual_tanh_derivative": t * ta},
            "exp": {"dual_exp_no_tangent": math.exp(a), "dual_exp_tangent_only": ta,
                    "exp_rule_input": a * ta},
        }[self.op])
        what = text("check.dual_tangent", what=self.what)
        score = compare(tangent_got, exact, float(noise), what=what, mistakes=mistakes)
        reject_if_numerical(tangent_got, exact, float(noise), what=what)
        return score


# -- forward mode: one sweep per input ----------------------------------------------------------

class ReferenceDual:
    """Dual numbers with +, * and tanh: what forward_gradient's ``Dual`` is while it is graded."""

    def __init__(self, value, tangent=0.0):
        self.value, self.tangent = float(value), float(tangent)

    def __add__(self, other):
        other = other if isinstance(other, ReferenceDual) else ReferenceDual(other)
        return ReferenceDual(self.value + other.value, self.tangent + other.tangent)

    def __mul__(self, other):
        other = other if isinstance(other, ReferenceDual) else ReferenceDual(other)
        return ReferenceDual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)

    def tanh(self):
        t = math.tanh(self.value)
        return ReferenceDual(t, (1.0 - t * t) * self.tangent)

    __radd__ = __add__
    __rmul__ = __mul__

    def __repr__(self):
        return f"Dual({self.value:.6g}, {self.tangent:.6g})"


def program_function(program, calls):
    """f(values): the program run on whatever numbers it gets (+, * and tanh only); counts its calls."""

    def f(values):
        calls.append(1)
        nodes = []
        for op, args, _ in program:
            if op == "input":
                nodes.append(values[len(nodes)])
            elif op == "add":
                nodes.append(nodes[args[0]] + nodes[args[1]])
            elif op == "mul":
                nodes.append(nodes[args[0]] * nodes[args[1]])
            else:
                nodes.append(nodes[args[0]].tanh())
        return nodes[-1]

    return f


class ForwardGradient(Check):
    """forward_gradient(f, x): the gradient of f at x (n numbers) by n forward sweeps of dual numbers."""

    name = "forward_gradient"
    what = "forward_gradient(f, x)"
    defaults = {"seed": 0, "count": 3, "inputs": 4, "size": 8}
    delegation = DUAL_LIBRARY + ENGINE + DIFFERENTIATORS

    def cases(self, params):
        return _graph_cases(params, ("tanh",), ("add", "mul"))

    def call(self, student, case):
        program, xs = case.data["program"], case.data["inputs"]
        calls = []
        with Swapped(getattr(student, "__globals__", None), "Dual", ReferenceDual):
            grad = student(program_function(program, calls), list(xs))
        try:
            return (np.array([float(g) for g in grad]), float(len(calls)))
        except (TypeError, ValueError):
            return grad

    def judge(self, case, value, params):
        program, xs = case.data["program"], case.data["inputs"]
        n = len(xs)
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], np.ndarray)):
            raise Reject(text("check.expected_gradient_list", what=self.what, n=n, got=describe(value)))
        got, _ = value
        if got.shape != (n,):
            raise Reject(text("check.expected_gradient_list", what=self.what, n=n, got=describe(got)))
        _, noise = numeric.numerical_gradient(lambda v: evaluate(program, v)[-1], np.array(xs), with_noise=True)
        nodes = build(program, xs)
        exact = _mistaken_backward(nodes, 1.0)[:n]
        mistakes = {
            "forward_all_seeded": np.full(n, exact.sum()),
            "forward_values": np.full(n, evaluate(program, xs)[-1]),
            "forward_shifted": np.roll(exact, 1),
            "forward_shifted_back": np.roll(exact, -1),
            "forward_seeds_kept": np.cumsum(exact),
        }
        score = compare(got, exact, noise, what=self.what, mistakes=mistakes)
        reject_if_numerical(got, exact, noise, what=self.what)
        return score


def _dual_op(op, what):
    return type(f"Dual_{op}", (DualOp,), {"name": f"dual_{op}", "what": what, "op": op,
                                          "__doc__": f"The student's Dual: {what}."})


check_edge_derivatives = register(EdgeDerivatives)
check_sum_over_paths = register(SumOverPaths)
check_dual_add = register(_dual_op("add", "x + y of your Dual"))
check_dual_mul = register(_dual_op("mul", "x * y of your Dual"))
check_dual_tanh = register(_dual_op("tanh", "x.tanh() of your Dual"))
check_dual_exp = register(_dual_op("exp", "x.exp() of your Dual"))
check_forward_gradient = register(ForwardGradient)
check_factored_sum = register(FactoredSum)
