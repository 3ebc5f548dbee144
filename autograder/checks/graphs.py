"""Checks of notebook 03, computational graphs.

- ``check_edge_derivatives(edge_derivatives)``: the five local derivatives
  of e = (a + b)(b + 1), {(out, inp): number}, at seeded a and b;
- ``check_local_backward(mul_backward, op="mul")``: a local backward rule,
  ``op_backward(*inputs, out_grad)``, equals out_grad times the finite
  differences of the operation (pow takes ``(a, k, out_grad)`` with k not 1 or 2);
- ``check_topological_order(topological_order)``: on seeded random graphs of
  library Values with reused nodes (a * a, a diamond), the order lists every
  node once, each after all of its children;
- ``check_backward(backward)``: ``backward(root, grad)`` fills the inputs'
  .grad of a fresh graph with grad * d(root)/d(input), against finite
  differences of the graph's float forward, without calling the library's
  Value.backward (that would skip the exercise);
- ``check_dual_rule(MyDual, op="mul")``: a Dual subclass's ``*``, ``/`` or
  ``sin`` gives the value and the tangent (a directional finite difference),
  as an instance of that subclass (so that later operations keep its rules).

Graphs are described as programs (lists of operations), rebuilt from the seed
alone; the grads the student's code leaves on the inputs are the evidence.
"""

import math

import numpy as np

from backproplab import functions, numeric
from backproplab.messages import text
from backproplab.value import Value, topological_order

from ..contract import Case, Check, Reject, describe, register, reject_unless_array, reject_unless_finite_number
from ..diagnose import compare, reject_if_numerical

# -- local backward rules ----------------------------------------------------------------

EXPONENTS = (3.0, -1.0, 0.5, 1.5, -2.0, 2.5)  # never 1 or 2: a hard-coded 2 * a must fail


def _local_forward(op, inputs, k):
    if op == "pow":
        return inputs[0] ** k
    a = inputs[0]
    return {"add": lambda: a + inputs[1], "mul": lambda: a * inputs[1], "exp": lambda: np.exp(a),
            "tanh": lambda: np.tanh(a), "sigmoid": lambda: functions.sigmoid(a),
            "log": lambda: np.log(a)}[op]()


ARITY = {"add": 2, "mul": 2, "pow": 1, "exp": 1, "tanh": 1, "sigmoid": 1, "log": 1}


def _numbers(value, count, what):
    """count finite numbers from value (a number, or a tuple of count numbers), or Reject."""
    if count == 1:
        return np.array([reject_unless_finite_number(value, what)])
    if not isinstance(value, tuple) or len(value) != count:
        raise Reject(text("check.expected_grad_tuple", what=what, count=count, got=describe(value)))
    return np.array([reject_unless_finite_number(v, what) for v in value])


def _upstream(rng):
    """An upstream gradient away from 1 and 0: sign * U(0.5, 2), redrawn near +1."""
    while True:
        g = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
        if abs(g - 1.0) > 0.1:
            return g


class LocalBackward(Check):
    """op_backward(*inputs, out_grad) returns out_grad * d(op)/d(input) for each input."""

    name = "local_backward"
    what = "the backward rule"
    defaults = {"op": "mul", "seed": 0, "count": 6}

    def cases(self, params):
        op = params["op"]
        if op not in ARITY:
            raise ValueError(f"op must be one of {sorted(ARITY)}; got {op!r}")
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            if op in ("pow", "log"):
                inputs = [float(rng.uniform(0.4, 2.5))]
            elif op == "exp":
                inputs = [float(rng.uniform(-2.0, 2.0))]
            else:
                inputs = [float(v) for v in np.clip(rng.normal(0.0, 1.0, ARITY[op]), -2.5, 2.5)]
            k = float(EXPONENTS[(i + params["seed"]) % len(EXPONENTS)]) if op == "pow" else None
            g = _upstream(rng)
            args = inputs + ([k] if k is not None else []) + [g]
            call = f"{op}_backward({', '.join(f'{v:.4g}' for v in args)})"
            cases.append(Case(text("check.case_local", call=call), {"inputs": inputs, "k": k, "g": g}))
        return cases

    def call(self, student, case):
        d = case.data
        extra = [d["k"]] if d["k"] is not None else []
        return student(*d["inputs"], *extra, d["g"])

    def judge(self, case, value, params):
        op, d = params["op"], case.data
        inputs, k, g = d["inputs"], d["k"], d["g"]
        got = _numbers(value, len(inputs), self.what)
        grad, noise = numeric.numerical_gradient(lambda v: _local_forward(op, v, k), np.array(inputs),
                                                 with_noise=True)
        expected, noise = g * grad, abs(g) * noise
        a = inputs[0]
        mistakes = {"local_ignores_out_grad": grad}
        if op == "mul":
            mistakes["mul_swapped"] = g * np.array(inputs)
        if op == "pow":
            mistakes["pow_hardcoded_two"] = [2 * a * g]
            mistakes["pow_forgot_k"] = [a ** (k - 1) * g]
            mistakes["pow_kept_exponent"] = [k * a**k * g]
        if op == "tanh":
            mistakes["tanh_not_squared"] = [(1 - math.tanh(a)) * g]
        return compare(got, expected, noise, what=self.what, mistakes=mistakes)


# -- the edges of e = (a + b)(b + 1) ----------------------------------------------------------

EDGES = (("c", "a"), ("c", "b"), ("d", "b"), ("e", "c"), ("e", "d"))


def _e_graph(a, b):
    """The library's graph of e = (a + b)(b + 1): {name: Value}."""
    nodes = {"a": Value(a, "a"), "b": Value(b, "b")}
    nodes["c"] = nodes["a"] + nodes["b"]
    nodes["d"] = nodes["b"] + 1
    nodes["e"] = nodes["c"] * nodes["d"]
    for name in "cde":
        nodes[name].label = name
    return nodes


class EdgeDerivatives(Check):
    """edge_derivatives(a, b) returns {(out, inp): d(out)/d(inp)} for the five edges of e = (a + b)(b + 1)."""

    name = "edge_derivatives"
    what = "edge_derivatives(a, b)"
    defaults = {"seed": 0, "count": 6}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for _ in range(params["count"]):
            while True:  # a + b and b + 1 distinct and away from 1, so that no mistake passes by chance
                a, b = (float(v) for v in np.round(rng.uniform(-3.0, 3.0, 2), 3))
                c, d = a + b, b + 1
                if min(abs(c - d), abs(c - 1), abs(d - 1), abs(c), abs(d), abs(abs(c) - abs(d))) > 0.2:
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
        nodes = _e_graph(a, b)
        expected = np.array([nodes[out].local_grads[[n.label for n in nodes[out].children].index(inp)]
                             for out, inp in EDGES])
        c, d = a + b, b + 1
        mistakes = {
            "edges_product_swapped": [1.0, 1.0, 1.0, c, d],
            "edges_values": [c, c, d, c, d],
            "edges_product_ones": [1.0, 1.0, 1.0, 1.0, 1.0],
            "edges_hard_coded": [1.0, 1.0, 1.0, 2.0, 3.0],
        }
        return compare(got, expected, 0.0, what=self.what, mistakes=mistakes)


# -- random graphs ------------------------------------------------------------------------

UNARY = ("tanh", "sigmoid", "exp", "pow")
BINARY = ("add", "sub", "mul")


def _apply(op, args, k):
    """One operation on floats or on Values (the same rule for both)."""
    a = args[0]
    if op == "add":
        return a + args[1]
    if op == "sub":
        return a - args[1]
    if op == "mul":
        return a * args[1]
    if op == "pow":
        return a**k
    if isinstance(a, Value):
        return getattr(a, op)()
    return float({"tanh": np.tanh, "sigmoid": functions.sigmoid, "exp": np.exp}[op](a))


def evaluate(program, inputs, make=None):
    """Every node of a program: inputs from ``inputs``, then each operation in turn.

    make(i, x) wraps input i (e.g. in a labelled Value); floats by default.
    """
    nodes = []
    for op, args, k in program:
        if op == "input":
            x = inputs[len(nodes)]
            nodes.append(make(len(nodes), x) if make else x)
        else:
            nodes.append(_apply(op, [nodes[i] for i in args], k))
    return nodes


def random_program(rng, n_inputs, n_ops, unary=UNARY):
    """(program, input values): a graph with a square (a * a), a diamond and n_ops random operations.

    program: [("input", (), None) | (op, (i, j), k)]; every node reaches the last one.
    """
    while True:
        xs = [float(v) for v in rng.choice([-1.0, 1.0], n_inputs) * rng.uniform(0.3, 1.5, n_inputs)]
        program = [("input", (), None)] * n_inputs
        program += [("mul", (0, 0), None), ("tanh", (n_inputs,), None),
                    ("mul", (n_inputs, n_inputs - 1), None), ("add", (n_inputs + 1, n_inputs + 2), None)]
        values = evaluate(program, xs)
        for _ in range(n_ops):
            n = len(program)
            i = n - min(int(rng.geometric(0.35)), n)
            if rng.random() < 0.35:
                op = str(rng.choice(unary))
                k = None
                if op == "pow":
                    k = float(rng.choice([1.5, -0.5, 3.0])) if values[i] > 0.3 else 3.0
                step = (op, (i,), k)
            else:
                j = i if rng.random() < 0.2 else int(rng.integers(n))
                step = (str(rng.choice(BINARY)), (i, j), None)
            program.append(step)
            values.append(_apply(step[0], [values[m] for m in step[1]], step[2]))
        used = {m for _, args, _ in program for m in args}
        dangling = [m for m in range(len(program)) if m not in used]
        root = dangling[0]
        for m in dangling[1:]:  # tie every unused node into the root, so all of them count
            program.append(("add", (root, m), None))
            values.append(values[root] + values[m])
            root = len(program) - 1
        if max(abs(v) for v in values) > 30:
            continue
        grad = numeric.numerical_gradient(lambda v: evaluate(program, v)[-1], np.array(xs))
        if np.min(np.abs(grad)) > 1e-2:  # every input live
            return program, xs


def build(program, inputs):
    """The program as library Values labelled n0, n1, ...; returns the list of nodes (root last)."""
    nodes = evaluate(program, inputs, make=lambda i, x: Value(x))
    for i, node in enumerate(nodes):
        node.label = f"n{i}"
    return nodes


def _graph_cases(params, unary):
    rng = np.random.default_rng(params["seed"])
    cases = []
    for index in range(params["count"]):
        program, xs = random_program(rng, params["inputs"], params["size"], unary)
        label = text("check.case_graph", index=index, nodes=len(program), inputs=len(xs))
        cases.append(Case(label, {"program": program, "inputs": xs}))
    return cases


class TopologicalOrder(Check):
    """topological_order(root) lists every node of root's graph once, each after its children."""

    name = "topological_order"
    what = "topological_order(root)"
    defaults = {"seed": 0, "count": 4, "inputs": 3, "size": 8}

    def cases(self, params):
        cases = _graph_cases(params, ("tanh", "sigmoid"))
        for case in cases:  # two distinct inputs with equal values: nodes are not their values
            case.data["inputs"][-1] = case.data["inputs"][0]
        return cases

    def call(self, student, case):
        nodes = build(case.data["program"], case.data["inputs"])
        order = student(nodes[-1])
        if not isinstance(order, (list, tuple)):
            return order
        index = {id(node): i for i, node in enumerate(nodes)}
        return np.array([index.get(id(node), -1) for node in order], dtype=np.float64)

    def judge(self, case, value, params):
        program = case.data["program"]
        if not isinstance(value, np.ndarray) or value.ndim != 1:
            raise Reject(text("check.expected_node_list", what=self.what, got=describe(value)))
        order = [int(i) for i in value]
        if any(i < 0 for i in order):
            raise Reject(text("check.order_foreign", what=self.what))
        seen = set()
        for i in order:
            if i in seen:
                raise Reject(text("check.order_twice", what=self.what, node=f"n{i}"))
            seen.add(i)
        missing = sorted(set(range(len(program))) - seen)
        if missing:
            raise Reject(text("check.order_missing", what=self.what, count=len(missing),
                              nodes=", ".join(f"n{i}" for i in missing[:5])))
        position = {node: p for p, node in enumerate(order)}
        if all(position[c] > position[n] for n in order for c in program[n][1]):
            raise Reject(text("check.order_reversed", what=self.what))
        for n in order:
            for c in program[n][1]:
                if position[c] > position[n]:
                    raise Reject(text("check.order_child_after", what=self.what, node=f"n{n}",
                                      op=program[n][0], child=f"n{c}"))
        return 0.0


# -- backward -------------------------------------------------------------------------------

def _mistaken_backward(nodes, g, *, reverse=True, accumulate=True, upstream=True):
    """Leaf grads of a backward pass with one known mistake, on a fresh copy of the graph."""
    root = nodes[-1]
    root.grad = g
    order = topological_order(root)
    for node in (reversed(order) if reverse else order):
        for child, local in zip(node.children, node.local_grads):
            share = local * node.grad if upstream else local
            child.grad = child.grad + share if accumulate else share
    return [n.grad for n in nodes if n.op == ""]


class Backward(Check):
    """backward(root, grad) fills .grad of every node with grad * d(root)/d(node), on a fresh graph."""

    name = "backward"
    what = "backward(root, grad)"
    defaults = {"seed": 0, "count": 3, "inputs": 3, "size": 8}

    def cases(self, params):
        cases = _graph_cases(params, UNARY)
        rng = np.random.default_rng([params["seed"], 1])
        for case in cases:
            case.data["g"] = _upstream(rng)
            case.label = text("check.case_upstream", case=case.label, g=case.data["g"])
        return cases

    def call(self, student, case):
        nodes = build(case.data["program"], case.data["inputs"])
        calls = []
        library = Value.backward

        def watched(node, *args, **kwargs):  # the exercise is to write this loop, not to call it
            calls.append(1)
            return library(node, *args, **kwargs)

        Value.backward = watched
        try:
            student(nodes[-1], case.data["g"])
        finally:
            Value.backward = library
        return (np.array([float(n.grad) for n in nodes if n.op == ""]), float(len(calls)))

    def judge(self, case, value, params):
        program, xs, g = case.data["program"], case.data["inputs"], case.data["g"]
        if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], float)):
            raise Reject(text("check.expected_number", what=self.what, got=describe(value)))
        value, library_calls = value
        if library_calls != 0:
            raise Reject(text("check.backward_called_library", what=self.what))
        if not isinstance(value, np.ndarray):
            raise Reject(text("check.expected_number", what=self.what, got=describe(value)))
        grad, noise = numeric.numerical_gradient(lambda v: evaluate(program, v)[-1], np.array(xs),
                                                 with_noise=True)

        def mistake(**how):
            return _mistaken_backward(build(program, xs), g, **how)

        mistakes = {
            "graph_nothing_filled": np.zeros_like(grad),
            "graph_ignored_upstream": grad,
            "graph_not_reversed": mistake(reverse=False),
            "graph_assigned": mistake(accumulate=False),
            "graph_no_node_grad": mistake(upstream=False),
        }
        score = compare(value, g * grad, abs(g) * noise, what=self.what, mistakes=mistakes)
        exact = build(program, xs)
        exact[-1].backward(g)
        reject_if_numerical(value, [float(n.grad) for n in exact if n.op == ""], abs(g) * noise, what=self.what)
        return score


# -- forward mode: dual numbers ----------------------------------------------------------------

DUAL_OPS = {"mul": lambda v: v[0] * v[1], "truediv": lambda v: v[0] / v[1], "sin": lambda v: np.sin(v[0])}


class DualRule(Check):
    """A Dual class's operation returns (value, tangent) of x * y, x / y or x.sin()."""

    name = "dual_rule"
    what = "your Dual"
    defaults = {"op": "mul", "seed": 0, "count": 6}

    def cases(self, params):
        op = params["op"]
        if op not in DUAL_OPS:
            raise ValueError(f"op must be one of {sorted(DUAL_OPS)}; got {op!r}")
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            a, ta, tb = (float(v) for v in rng.choice([-1.0, 1.0], 3) * rng.uniform(0.4, 2.0, 3))
            b = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
            plain = op != "sin" and i % 3 == 2  # y a plain number: its tangent is 0
            tb = 0.0 if plain else tb
            x = f"Dual({a:.4g}, {ta:.4g})"
            y = f"{b:.4g}" if plain else f"Dual({b:.4g}, {tb:.4g})"
            expression = {"mul": f"{x} * {y}", "truediv": f"{x} / {y}", "sin": f"{x}.sin()"}[op]
            cases.append(Case(expression, {"op": op, "a": a, "ta": ta, "b": b, "tb": tb, "plain": plain}))
        return cases

    def call(self, student, case):
        d = case.data
        x = student(d["a"], d["ta"])
        y = d["b"] if d["plain"] else student(d["b"], d["tb"])
        op = d["op"]
        out = x * y if op == "mul" else x / y if op == "truediv" else x.sin()
        return (out.value, out.tangent, 1.0 if isinstance(out, student) else 0.0)

    def judge(self, case, value, params):
        d, f = case.data, DUAL_OPS[params["op"]]
        if not (isinstance(value, tuple) and len(value) == 3):
            raise Reject(text("check.expected_dual", what=self.what, got=describe(value)))
        *pair, own_class = value
        got = _numbers(tuple(pair), 2, self.what)
        point, direction = np.array([d["a"], d["b"]]), np.array([d["ta"], d["tb"]])
        tangent, noise = numeric.numerical_directional(f, point, direction, with_noise=True)
        v = float(f(point))
        expected = np.array([v, float(tangent)])
        noise = np.array([numeric.EPS * abs(v), float(noise)])
        a, ta, b, tb = d["a"], d["ta"], d["b"], d["tb"]
        mistakes = {"dual_plain_number": [v, 0.0]} if d["plain"] else {}
        mistakes.update({
            "mul": {"dual_product_of_tangents": [v, ta * tb], "dual_one_term": [v, ta * b]},
            "truediv": {"dual_quotient_sign": [v, (ta * b + a * tb) / b**2],
                        "dual_quotient_not_squared": [v, (ta * b - a * tb) / b]},
            "sin": {"dual_sin_no_tangent": [v, math.cos(a)], "dual_sin_derivative": [v, math.sin(a) * ta]},
        }[params["op"]])
        score = compare(got, expected, noise, what=self.what, mistakes=mistakes)
        if own_class != 1.0:  # a plain Dual would hand every later operation to the library's rules
            raise Reject(text("check.dual_not_own_class", what=self.what))
        return score


check_local_backward = register(LocalBackward)
check_topological_order = register(TopologicalOrder)
check_backward = register(Backward)
check_dual_rule = register(DualRule)
check_edge_derivatives = register(EdgeDerivatives)
