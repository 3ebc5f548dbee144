"""Checks of notebook 03's scalar engine: the student's own ``Value``, method by method.

- ``check_value_add(Value)``, ``check_value_mul``, ``check_value_pow``,
  ``check_value_exp``, ``check_value_tanh``: one operation of the student's
  class, on Values built with its (given) constructor: the output is a new
  Value whose ``data`` is the forward rule, whose ``children`` are the nodes
  it was computed from and whose ``local_grads`` hold d(out)/d(children[i]),
  exact (a finite difference is rejected);
- ``check_topological_order(topological_order)``: on seeded random graphs with
  reused nodes (a * a, a diamond), the order lists every node once, each
  after all of its children;
- ``check_backward(Value)``: ``root.backward(grad)`` fills every node's grad
  with grad * d(root)/d(node) on graphs built with the student's constructor
  and the reference's local_grads, while the name ``topological_order`` seen
  by the student's method is the reference's, so that neither a wrong
  operation nor a wrong order fails this exercise.

No check calls anything the student wrote except the one method it grades.
The library's engine (backproplab.value) and the numerical differentiators
are delegation: an answer that calls them earns nothing.
"""

import math

import numpy as np

from backproplab import functions, numeric
from backproplab.messages import text

from .. import evidence
from ..contract import Case, Check, Reject, describe, register
from ..diagnose import compare, passes, reject_if_numerical
from .finite_differences import DIFFERENTIATORS

# What already does the engine's work: the library's Value and its helpers.
ENGINE = tuple(f"backproplab.value.Value.{m}" for m in (
    "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
    "__pow__", "__neg__", "exp", "log", "tanh", "sigmoid", "relu", "backward", "zero_grad", "_node",
)) + ("backproplab.value.as_value", "backproplab.value.topological_order", "backproplab.value.sum_over_paths",
      "backproplab.value.depth")
DELEGATION = ENGINE + DIFFERENTIATORS


def _reference_order(root):
    """Every node once, each after its children, root last (iterative depth-first post-order)."""
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children) if id(child) not in visited)
    return order


# -- one operation ------------------------------------------------------------------------

EXPONENTS = (3.0, -1.0, 0.5, 1.5, -2.0, 2.5)  # never 1 or 2: a hard-coded 2 * a must fail
KINDS = ("values", "number", "same")  # a op b; a op number; a op a


def _forward(op, x, y=None, k=None):
    return {"add": lambda: x + y, "mul": lambda: x * y, "pow": lambda: x**k,
            "exp": lambda: math.exp(x), "tanh": lambda: math.tanh(x)}[op]()


def _partials(op, x, y=None, k=None):
    """The exact local derivatives of one operation: d/dx (and d/dy)."""
    if op == "add":
        return np.array([1.0, 1.0])
    if op == "mul":
        return np.array([y, x])
    if op == "pow":
        return np.array([k * x ** (k - 1)])
    if op == "exp":
        return np.array([math.exp(x)])
    t = math.tanh(x)
    return np.array([1.0 - t * t])


def _mistaken_partials(op, x, y=None, k=None):
    """{message key: the local derivatives that mistake gives}, in the order (d/dx, d/dy)."""
    out = _forward(op, x, y, k)
    common = {} if op == "exp" else {"local_is_output": [out] * (2 if op in ("add", "mul") else 1)}
    if op == "add":
        return {**common, "add_local_values": [x, y], "add_local_zero": [0.0, 0.0]}
    if op == "mul":
        return {**common, "mul_swapped": [x, y], "mul_like_add": [1.0, 1.0]}
    if op == "pow":
        return {**common, "pow_kept_exponent": [k * x**k], "pow_hardcoded_two": [2 * x],
                "pow_forgot_k": [x ** (k - 1)], "pow_exponent_rule": [x**k * math.log(x)]}
    if op == "exp":
        return {**common, "exp_rule_input": [x], "exp_power_rule": [x * math.exp(x - 1)], "exp_one": [1.0]}
    t = math.tanh(x)
    return {**common, "tanh_not_squared": [1 - t], "tanh_rule_on_input": [1 - x * x],
            "tanh_sech_not_squared": [1 / math.cosh(x)], "tanh_plus": [1 + t * t]}


class ValueOp(Check):
    """One operation of the student's Value: data, children and exact local_grads of the new node."""

    op = ""
    defaults = {"seed": 0, "count": 6}
    delegation = DELEGATION

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for i in range(params["count"]):
            k = y = None
            kind = KINDS[i % 3] if self.op in ("add", "mul") else "unary"
            if self.op == "pow":
                x, k = float(rng.uniform(0.4, 2.5)), EXPONENTS[(i + params["seed"]) % len(EXPONENTS)]
                expression = f"a ** {k:g} with a = Value({x:.4g})"
            elif self.op in ("exp", "tanh"):
                x = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 2.0))
                expression = f"a.{self.op}() with a = Value({x:.4g})"
            else:
                x, y = (float(v) for v in rng.choice([-1.0, 1.0], 2) * rng.uniform(0.3, 2.0, 2))
                sign = "+" if self.op == "add" else "*"
                if kind == "same":
                    y = x
                    expression = f"a {sign} a with a = Value({x:.4g})"
                elif kind == "number":
                    expression = f"a {sign} {y:.4g} with a = Value({x:.4g})"
                else:
                    expression = f"a {sign} b with a = Value({x:.4g}), b = Value({y:.4g})"
            cases.append(Case(expression, {"x": x, "y": y, "k": k, "kind": kind}))
        return cases

    def call(self, student, case):
        d = case.data
        a = student(d["x"], "a")
        b = {"values": lambda: student(d["y"], "b"), "number": lambda: d["y"], "same": lambda: a}.get(
            d["kind"], lambda: None)()
        out = {"add": lambda: a + b, "mul": lambda: a * b, "pow": lambda: a ** d["k"],
               "exp": lambda: a.exp(), "tanh": lambda: a.tanh()}[self.op]()
        if out is a or (out is b and b is not None):
            return (3.0,)  # an input came back, changed in place
        if not isinstance(out, student):
            return out
        try:
            local = np.array([float(g) for g in out.local_grads])
        except (TypeError, ValueError):
            return (1.0, describe_object(out.local_grads))
        codes = []
        for child in tuple(out.children):
            if child is a:
                codes.append(0.0)
            elif child is b or (d["kind"] == "number" and isinstance(child, student) and child.data == d["y"]):
                codes.append(1.0)
            else:
                codes.append(-1.0)
        after = [a.data, a.grad] + ([b.data, b.grad] if d["kind"] == "values" else [])
        return (0.0, float(out.data), local, np.array(codes), np.array(after, dtype=float))

    def judge(self, case, value, params):
        d, op = case.data, self.op
        x, y, k = d["x"], d["y"], d["k"]
        if isinstance(value, tuple) and len(value) == 1:
            raise Reject(text("check.value_returned_input", what=self.what))
        if isinstance(value, tuple) and len(value) == 2 and value[0] == 1.0:
            got = value[1]
            if isinstance(got, evidence.Other):  # the description travelled as a string
                got = got.repr.strip("'\"")
            raise Reject(text("check.value_local_not_numbers", what=self.what, got=got))
        if not (isinstance(value, tuple) and len(value) == 5 and value[0] == 0.0):
            raise Reject(text("check.expected_value_node", what=self.what, got=describe(value)))
        _, data, local, codes, after = value
        before = [x, 0.0] + ([y, 0.0] if d["kind"] == "values" else [])
        if list(after) != before:
            raise Reject(text("check.value_changed_inputs", what=self.what))
        binary = op in ("add", "mul")
        expected_codes = [0.0, 0.0] if d["kind"] == "same" else [0.0, 1.0] if binary else [0.0]
        if sorted(codes) != expected_codes:
            wanted = "(self, other)" if binary else "(self,)"
            raise Reject(text("check.value_children", what=self.what, expected=wanted,
                              got=len(codes), foreign=int(np.sum(codes < 0))))
        if len(local) != len(codes):
            raise Reject(text("check.value_local_count", what=self.what, children=len(codes), got=len(local)))
        compare(data, _forward(op, x, y, k), numeric.EPS * abs(_forward(op, x, y, k)),
                what=text("check.value_data", what=self.what))
        # the reference, in the order of the student's children (slot 0: self, slot 1: other)
        slots = [int(c) for c in codes] if d["kind"] != "same" else [0, 1]
        exact = _partials(op, x, y, k)[slots]
        point = np.array([x] if y is None else [x, y])
        _, noise = numeric.numerical_gradient(lambda v: _forward(op, *v, k=k) if y is not None
                                              else _forward(op, v[0], k=k), point, with_noise=True)
        noise = noise[slots] if y is not None else noise
        mistakes = {key: np.asarray(v, dtype=float)[slots]
                    for key, v in _mistaken_partials(op, x, y, k).items()}
        what = text("check.value_local", what=self.what)
        score = compare(local, exact, noise, what=what, mistakes=mistakes)
        if op in ("add", "mul"):  # the local derivatives are numbers already there: 1, or the other input
            reject_unless_exact(local, exact, what=what)
        reject_if_numerical(local, exact, noise, what=what)
        return score


ULPS = 2  # an analytic answer is the reference's own float arithmetic, within a couple of units


def reject_unless_exact(got, exact, *, what):
    """:class:`Reject` as a numerical approximation unless ``got`` equals ``exact`` to a few ulps.

    For derivatives that are sums and products of the inputs, the analytic
    answer is computed exactly as the reference computes it; a finite
    difference, whatever its step, leaves a rounding residue far above that.
    """
    got, exact = np.asarray(got, dtype=np.float64), np.asarray(exact, dtype=np.float64)
    if np.any(np.abs(got - exact) > ULPS * numeric.EPS * np.abs(exact)):
        raise Reject(text("check.numerical_not_analytic", what=what))


def describe_object(value):
    """A short description of an object the evidence cannot carry."""
    return f"{type(value).__name__} {value!r}"[:120]


def _value_op(op, what):
    return type(f"Value_{op}", (ValueOp,), {"name": f"value_{op}", "what": what, "op": op,
                                             "__doc__": f"The student's Value: {what}."})


check_value_add = register(_value_op("add", "a + b of your Value"))
check_value_mul = register(_value_op("mul", "a * b of your Value"))
check_value_pow = register(_value_op("pow", "a ** k of your Value"))
check_value_exp = register(_value_op("exp", "a.exp() of your Value"))
check_value_tanh = register(_value_op("tanh", "a.tanh() of your Value"))


# -- random graphs ------------------------------------------------------------------------

UNARY = ("tanh", "sigmoid", "exp", "pow")
BINARY = ("add", "sub", "mul")
SYMBOL = {"add": "+", "sub": "-", "mul": "*", "tanh": "tanh", "sigmoid": "sigmoid", "exp": "exp"}


def _apply(op, args, k):
    """One operation on floats: (value, local derivatives)."""
    a = args[0]
    if op == "add":
        return a + args[1], (1.0, 1.0)
    if op == "sub":
        return a - args[1], (1.0, -1.0)
    if op == "mul":
        return a * args[1], (args[1], a)
    if op == "pow":
        return a**k, (k * a ** (k - 1),)
    if op == "tanh":
        t = math.tanh(a)
        return t, (1.0 - t * t,)
    if op == "sigmoid":
        s = float(functions.sigmoid(a))
        return s, (s * (1.0 - s),)
    e = math.exp(a)
    return e, (e,)


def evaluate(program, inputs):
    """The value of every node of a program, inputs from ``inputs``."""
    values = []
    for op, args, k in program:
        values.append(inputs[len(values)] if op == "input" else _apply(op, [values[i] for i in args], k)[0])
    return values


def random_program(rng, n_inputs, n_ops, unary=UNARY, binary=BINARY):
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
                step = (str(rng.choice(binary)), (i, j), None)
            program.append(step)
            values.append(_apply(step[0], [values[m] for m in step[1]], step[2])[0])
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


class Node:
    """A graph node with the contract of the course's Value (data, grad, label, children, op, local_grads)."""

    def __init__(self, data, label="", *, children=(), op="", local_grads=()):
        self.data, self.grad, self.label = float(data), 0.0, label
        self.children, self.op, self.local_grads = tuple(children), op, tuple(local_grads)

    def __repr__(self):
        return f"Node(data={self.data:.6g}, label={self.label!r})"


def build(program, inputs, make=Node):
    """The program as nodes made by ``make`` (a class with Value's constructor), labelled n0, n1, ...

    Operations are built with the constructor alone, from the reference's values
    and local derivatives; returns the list of nodes (root last).
    """
    nodes = []
    for i, (op, args, k) in enumerate(program):
        if op == "input":
            nodes.append(make(inputs[i], f"n{i}"))
            continue
        children = [nodes[m] for m in args]
        data, local = _apply(op, [c.data for c in children], k)
        nodes.append(make(data, f"n{i}", children=tuple(children), op=SYMBOL[op] if op in SYMBOL else f"**{k:g}",
                          local_grads=tuple(float(g) for g in local)))
    return nodes


def _graph_cases(params, unary, binary=BINARY):
    rng = np.random.default_rng(params["seed"])
    cases = []
    for index in range(params["count"]):
        program, xs = random_program(rng, params["inputs"], params["size"], unary, binary)
        label = text("check.case_graph", index=index, nodes=len(program), inputs=len(xs))
        cases.append(Case(label, {"program": program, "inputs": xs}))
    return cases


class TopologicalOrder(Check):
    """topological_order(root) lists every node of root's graph once, each after its children."""

    name = "topological_order"
    what = "topological_order(root)"
    defaults = {"seed": 0, "count": 4, "inputs": 3, "size": 8}
    delegation = ENGINE

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
    """Every node's grad after a backward pass with one known mistake, on a fresh graph."""
    root = nodes[-1]
    root.grad = g
    order = _reference_order(root)
    for node in (reversed(order) if reverse else order):
        for child, local in zip(node.children, node.local_grads):
            share = local * node.grad if upstream else local
            child.grad = child.grad + share if accumulate else share
    return np.array([n.grad for n in nodes])


class Swapped:
    """Within the block, ``name`` in ``namespace`` (a student's globals) is ``reference``, if it was there.

    A method that uses another exercise's answer through a global name (backward
    uses topological_order) is graded with the reference in its place.
    """

    def __init__(self, namespace, name, reference):
        self.namespace = namespace if isinstance(namespace, dict) else {}
        self.NAME, self.reference = name, reference

    def __enter__(self):
        self.had = self.NAME in self.namespace
        self.previous = self.namespace.get(self.NAME)
        if self.had and callable(self.previous):
            self.namespace[self.NAME] = self.reference
        return self

    def __exit__(self, *exc):
        if self.had:
            self.namespace[self.NAME] = self.previous
        return False


class Backward(Check):
    """root.backward(grad) fills every node's grad with grad * d(root)/d(node), on a fresh graph."""

    name = "backward"
    what = "root.backward(grad) of your Value"
    defaults = {"seed": 0, "count": 3, "inputs": 3, "size": 8}
    delegation = DELEGATION

    def cases(self, params):
        cases = _graph_cases(params, UNARY)
        rng = np.random.default_rng([params["seed"], 1])
        for case in cases:
            case.data["g"] = _upstream(rng)
            case.label = text("check.case_upstream", case=case.label, g=case.data["g"])
        return cases

    def call(self, student, case):
        nodes = build(case.data["program"], case.data["inputs"], make=student)
        method = getattr(student, "backward", None)
        with Swapped(getattr(method, "__globals__", None), "topological_order", _reference_order):
            nodes[-1].backward(case.data["g"])
        return np.array([float(n.grad) for n in nodes])

    def judge(self, case, value, params):
        program, xs, g = case.data["program"], case.data["inputs"], case.data["g"]
        if not isinstance(value, np.ndarray) or value.shape != (len(program),):
            raise Reject(text("check.expected_number", what=self.what, got=describe(value)))
        leaves = [i for i, (op, _, _) in enumerate(program) if op == "input"]
        grad, noise = numeric.numerical_gradient(lambda v: evaluate(program, v)[-1], np.array(xs),
                                                 with_noise=True)

        def mistake(**how):
            return _mistaken_backward(build(program, xs), g, **how)

        everywhere = {
            "graph_nothing_filled": np.zeros(len(program)),
            "graph_not_reversed": mistake(reverse=False),
            "graph_assigned": mistake(accumulate=False),
            "graph_no_node_grad": mistake(upstream=False),
        }
        exact = mistake()
        what = text("check.backward_leaves", what=self.what)
        for key, predicted in everywhere.items():  # several mistakes leave the same inputs' grads: tell them apart
            if passes(value, predicted) and not passes(value, exact):
                compare(value[leaves], g * grad, abs(g) * noise, what=what, mistakes={key: predicted[leaves]})
        mistakes = {key: v[leaves] for key, v in everywhere.items()}
        mistakes["graph_ignored_upstream"] = grad
        score = compare(value[leaves], g * grad, abs(g) * noise, what=what, mistakes=mistakes)
        reject_if_numerical(value[leaves], exact[leaves], abs(g) * noise, what=what)
        # the inner nodes too: each holds grad * d(root)/d(node) once backward is done
        compare(value, exact, 0.0, what=text("check.backward_inner", what=self.what), mistakes=everywhere)
        return score


def _upstream(rng):
    """An upstream gradient away from 1 and 0: sign * U(0.5, 2), redrawn near +1."""
    while True:
        g = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))
        if abs(g - 1.0) > 0.1:
            return g


class ZeroGrad(Check):
    """root.zero_grad() sets grad = 0.0 on every node of root's graph and changes nothing else."""

    name = "zero_grad"
    what = "root.zero_grad() of your Value"
    defaults = {"seed": 0, "count": 3, "inputs": 3, "size": 8}
    delegation = ENGINE

    def cases(self, params):
        return _graph_cases(params, UNARY)

    def call(self, student, case):
        nodes = build(case.data["program"], case.data["inputs"], make=student)
        rng = np.random.default_rng(len(nodes))
        for node in nodes:
            node.grad = float(rng.uniform(0.5, 2.0))
        method = getattr(student, "zero_grad", None)
        with Swapped(getattr(method, "__globals__", None), "topological_order", _reference_order):
            nodes[-1].zero_grad()
        return (np.array([float(n.grad) for n in nodes]), np.array([n.data for n in nodes]))

    def judge(self, case, value, params):
        program, xs = case.data["program"], case.data["inputs"]
        if not (isinstance(value, tuple) and len(value) == 2):
            raise Reject(text("check.expected_number", what=self.what, got=describe(value)))
        grads, data = value
        if not np.array_equal(data, np.array([n.data for n in build(program, xs)])):
            raise Reject(text("check.zero_grad_data", what=self.what))
        left = [i for i, g in enumerate(grads) if g != 0.0]
        if left:
            raise Reject(text("check.zero_grad_left", what=self.what, count=len(left), total=len(grads),
                              nodes=", ".join(f"n{i}" for i in left[:5])))
        return 0.0


# -- reverse mode on a function: one sweep for every input ---------------------------------------

work = {"backward": 0}


class ReferenceValue:
    """A Value with +, *, tanh and backward: what reverse_gradient's ``Value`` is while it is graded."""

    def __init__(self, data, label="", *, children=(), op="", local_grads=()):
        self.data, self.grad, self.label = float(data), 0.0, label
        self.children, self.op, self.local_grads = tuple(children), op, tuple(local_grads)

    def _wrap(self, other):
        return other if isinstance(other, ReferenceValue) else ReferenceValue(other, op="const")

    def __add__(self, other):
        other = self._wrap(other)
        return ReferenceValue(self.data + other.data, children=(self, other), op="+", local_grads=(1.0, 1.0))

    def __mul__(self, other):
        other = self._wrap(other)
        return ReferenceValue(self.data * other.data, children=(self, other), op="*",
                              local_grads=(other.data, self.data))

    def tanh(self):
        t = math.tanh(self.data)
        return ReferenceValue(t, children=(self,), op="tanh", local_grads=(1.0 - t * t,))

    __radd__ = __add__
    __rmul__ = __mul__

    def backward(self, grad=1.0):
        work["backward"] += 1
        self.grad += grad
        for node in reversed(_reference_order(self)):
            for child, local in zip(node.children, node.local_grads):
                child.grad += local * node.grad

    def zero_grad(self):
        for node in _reference_order(self):
            node.grad = 0.0

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"


class ReverseGradient(Check):
    """reverse_gradient(f, x): the gradient of f at x from one evaluation of f on Values and one backward."""

    name = "reverse_gradient"
    what = "reverse_gradient(f, x)"
    defaults = {"seed": 0, "count": 3, "inputs": 4, "size": 8}
    delegation = DELEGATION

    def cases(self, params):
        return _graph_cases(params, ("tanh",), ("add", "mul"))

    def call(self, student, case):
        from .graphs import program_function

        program, xs = case.data["program"], case.data["inputs"]
        calls = []
        work["backward"] = 0
        with Swapped(getattr(student, "__globals__", None), "Value", ReferenceValue):
            grad = student(program_function(program, calls), list(xs))
        try:
            return (np.array([float(g) for g in grad]), float(len(calls)), float(work["backward"]))
        except (TypeError, ValueError):
            return grad

    def judge(self, case, value, params):
        program, xs = case.data["program"], case.data["inputs"]
        n = len(xs)
        if not (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], np.ndarray)
                and value[0].shape == (n,)):
            got = describe(value[0] if isinstance(value, tuple) and len(value) == 3 else value)
            raise Reject(text("check.expected_gradient_list", what=self.what, n=n, got=got))
        got, _, sweeps = value
        _, noise = numeric.numerical_gradient(lambda v: evaluate(program, v)[-1], np.array(xs), with_noise=True)
        exact = _mistaken_backward(build(program, xs), 1.0)[:n]
        mistakes = {"reverse_no_backward": np.zeros(n), "reverse_inputs": np.array(xs),
                    "reverse_output_grad": np.ones(n)}
        score = compare(got, exact, noise, what=self.what, mistakes=mistakes)
        reject_if_numerical(got, exact, noise, what=self.what)
        if sweeps != 1.0:
            raise Reject(text("check.reverse_sweeps", what=self.what, sweeps=int(sweeps)))
        return score


check_topological_order = register(TopologicalOrder)
check_backward = register(Backward)
check_zero_grad = register(ZeroGrad)
check_reverse_gradient = register(ReverseGradient)
