"""Notebook 03, computational graphs: wrong and right implementations of its exercises."""

import math
from collections import deque

import numpy as np

from backproplab.dual import Dual, as_dual
from backproplab.value import topological_order as reference_order

from . import Exercise

ASSIGNMENT = "03-computational-graphs"

# -- local backward rules ----------------------------------------------------------------

RULES = {
    "add_backward": lambda a, b, g: (g, g),
    "mul_backward": lambda a, b, g: (b * g, a * g),
    "pow_backward": lambda a, k, g: k * a ** (k - 1) * g,
    "exp_backward": lambda a, g: math.exp(a) * g,
    "tanh_backward": lambda a, g: (1 - math.tanh(a) ** 2) * g,
}


def _rules(**changed):
    return {**RULES, **changed}


LOCAL_BACKWARD = Exercise(
    ASSIGNMENT, "local_backward_test", "mul_backward",
    wrong={
        "add ignores out_grad": _rules(add_backward=lambda a, b, g: (1.0, 1.0)),
        "add passes back the inputs": _rules(add_backward=lambda a, b, g: (a * g, b * g)),
        "mul swapped": _rules(mul_backward=lambda a, b, g: (a * g, b * g)),
        "mul ignores out_grad": _rules(mul_backward=lambda a, b, g: (b, a)),
        "pow hard-coded 2x": _rules(pow_backward=lambda a, k, g: 2 * a * g),
        "pow forgets k": _rules(pow_backward=lambda a, k, g: a ** (k - 1) * g),
        "pow keeps the exponent": _rules(pow_backward=lambda a, k, g: k * a**k * g),
        "pow ignores out_grad": _rules(pow_backward=lambda a, k, g: k * a ** (k - 1)),
        "exp ignores out_grad": _rules(exp_backward=lambda a, g: math.exp(a)),
        "exp returns out_grad": _rules(exp_backward=lambda a, g: g),
        "tanh 1 - tanh": _rules(tanh_backward=lambda a, g: (1 - math.tanh(a)) * g),
        "tanh sech not squared": _rules(tanh_backward=lambda a, g: g / math.cosh(a)),
        "tanh ignores out_grad": _rules(tanh_backward=lambda a, g: 1 - math.tanh(a) ** 2),
        "tanh of the output": _rules(tanh_backward=lambda a, g: (1 - math.tanh(math.tanh(a)) ** 2) * g),
        "mul returns one number": _rules(mul_backward=lambda a, b, g: b * g),
    },
    right={
        "textbook": dict(RULES),
        "numpy and other forms": _rules(
            add_backward=lambda a, b, g: [g * 1.0, g * 1.0],
            pow_backward=lambda a, k, g: g * k * a**k / a,
            exp_backward=lambda a, g: np.exp(a) * g,
            tanh_backward=lambda a, g: g / np.cosh(a) ** 2,
        ),
        "tanh from the output": _rules(tanh_backward=lambda a, g: (lambda t: g * (1 - t) * (1 + t))(math.tanh(a))),
    },
    namespace=lambda rules: dict(rules),
)

# -- topological order ---------------------------------------------------------------------


def _recursive(root):
    order, visited = [], set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            for child in node.children:
                visit(child)
            order.append(node)

    visit(root)
    return order


def _kahn(root):
    nodes, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node not in nodes:
            nodes.add(node)
            stack.extend(node.children)
    consumers = {n: 0 for n in nodes}
    for n in nodes:
        for c in set(n.children):
            consumers[c] += 1
    ready, order = deque([root]), []
    while ready:
        node = ready.popleft()
        order.append(node)
        for c in set(node.children):
            consumers[c] -= 1
            if consumers[c] == 0:
                ready.append(c)
    return order[::-1]


def _no_visited_set(root):
    order = []

    def visit(node):
        for child in node.children:
            visit(child)
        order.append(node)

    visit(root)
    return order


def _preorder(root):
    order, visited = [], set()

    def visit(node):
        if node not in visited:
            visited.add(node)
            order.append(node)
            for child in node.children:
                visit(child)

    visit(root)
    return order


def _bfs_reversed(root):
    order, seen, queue = [], {root}, deque([root])
    while queue:
        node = queue.popleft()
        order.append(node)
        for child in node.children:
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return order[::-1]


def _visited_by_value(root):
    order, visited = [], set()

    def visit(node):
        if node.data not in visited:
            visited.add(node.data)
            for child in node.children:
                visit(child)
            order.append(node)

    visit(root)
    return order


def _leaves_only(root):
    return [n for n in _recursive(root) if not n.children]


TOPOLOGICAL_ORDER = Exercise(
    ASSIGNMENT, "topological_order_test", "topological_order",
    wrong={
        "reversed (root first)": lambda root: _recursive(root)[::-1],
        "no visited set (duplicates)": _no_visited_set,
        "pre-order (node before children)": _preorder,
        "breadth-first, reversed": _bfs_reversed,
        "visited by value": _visited_by_value,
        "leaves only": _leaves_only,
        "root missing": lambda root: _recursive(root)[:-1],
        "children only": lambda root: list(root.children) + [root],
        "returns labels": lambda root: [n.label for n in _recursive(root)],
        "returns None": lambda root: None,
    },
    right={
        "recursive depth-first": _recursive,
        "Kahn's algorithm": _kahn,
        "the library's": reference_order,
        "tuple": lambda root: tuple(_recursive(root)),
    },
)

# -- backward --------------------------------------------------------------------------------


def _backward(root, grad=1.0, *, order=None, accumulate=True, upstream=True, seed=None):
    order = reference_order(root) if order is None else order(root)
    root.grad = grad if seed is None else seed
    for node in reversed(order):
        for child, local in zip(node.children, node.local_grads):
            share = local * node.grad if upstream else local
            if accumulate:
                child.grad += share
            else:
                child.grad = share


def _backward_with_dict(root, grad=1.0):
    upstream = {root: grad}
    for node in reversed(reference_order(root)):
        node.grad = upstream.get(node, 0.0)
        for child, local in zip(node.children, node.local_grads):
            upstream[child] = upstream.get(child, 0.0) + local * node.grad


_UNARY = {"neg": lambda x: -x, "exp": math.exp, "log": math.log, "tanh": math.tanh,
          "sigmoid": lambda x: 0.5 * (1 + math.tanh(0.5 * x)), "relu": lambda x: max(x, 0.0)}
_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _finite_difference_backward(root, grad=1.0, h=1e-6):
    """Not backpropagation: re-evaluate the graph with each input nudged (a central difference)."""
    order = reference_order(root)

    def evaluate():
        values = {}
        for node in order:
            args = [values[c] for c in node.children]
            if not node.children:
                values[node] = node.data
            elif node.op in _BINARY:
                values[node] = _BINARY[node.op](*args)
            elif node.op.startswith("**"):
                values[node] = args[0] ** float(node.op[2:])
            else:
                values[node] = _UNARY[node.op](args[0])
        return values[root]

    for leaf in (n for n in order if not n.children):
        x = leaf.data
        leaf.data = x + h
        up = evaluate()
        leaf.data = x - h
        down = evaluate()
        leaf.data = x
        leaf.grad += grad * (up - down) / (2 * h)


BACKWARD = Exercise(
    ASSIGNMENT, "backward_test", "backward",
    wrong={
        "= instead of +=": lambda root, grad=1.0: _backward(root, grad, accumulate=False),
        "missing upstream factor": lambda root, grad=1.0: _backward(root, grad, upstream=False),
        "order not reversed": lambda root, grad=1.0: _backward(root, grad, order=lambda r: reference_order(r)[::-1]),
        "pre-order": lambda root, grad=1.0: _backward(root, grad, order=lambda r: _preorder(r)[::-1]),
        "grad ignored (root seeded with 1)": lambda root, grad=1.0: _backward(root, grad, seed=1.0),
        "root not seeded": lambda root, grad=1.0: _backward(root, grad, seed=0.0),
        "only the root's edges": lambda root, grad=1.0: [
            setattr(c, "grad", c.grad + l * grad) for c, l in zip(root.children, root.local_grads)],
        "returns without filling": lambda root, grad=1.0: None,
        "calls the library's backward": lambda root, grad=1.0: root.backward(grad),
        "calls Value.backward unbound": lambda root, grad=1.0: type(root).backward(root, grad),
        "finite differences instead of backprop": _finite_difference_backward,
        "finite differences, smaller step": lambda root, grad=1.0: _finite_difference_backward(root, grad, 1e-7),
    },
    right={
        "textbook": _backward,
        "a dict of upstream gradients": _backward_with_dict,
        "its own recursive order": lambda root, grad=1.0: _backward(root, grad, order=_recursive),
    },
)

# -- dual numbers ---------------------------------------------------------------------------


def _dual(mul=None, div=None, sin=None):
    """A MyDual whose rules are the correct ones except those given.

    Each rule is (make, x, y) -> result, or (make, x) -> result for sin, where make
    builds a dual of the student's class (type(self)).
    """

    def good_mul(make, x, y):
        return make(x.value * y.value, x.tangent * y.value + x.value * y.tangent)

    def good_div(make, x, y):
        return make(x.value / y.value, (x.tangent * y.value - x.value * y.tangent) / y.value**2)

    def good_sin(make, x):
        return make(math.sin(x.value), math.cos(x.value) * x.tangent)

    class MyDual(Dual):
        def __mul__(self, other):
            return (mul or good_mul)(type(self), self, as_dual(other))

        def __truediv__(self, other):
            return (div or good_div)(type(self), self, as_dual(other))

        def sin(self):
            return (sin or good_sin)(type(self), self)

    return MyDual


class _Pair:
    def __init__(self, value, tangent):
        self.value, self.tangent = value, tangent


def _by_name():
    """The textbook rules, building results as MyDual(...) by name instead of type(self)(...)."""

    class MyDual(Dual):
        def __mul__(self, other):
            other = as_dual(other)
            return MyDual(self.value * other.value, self.tangent * other.value + self.value * other.tangent)

        def __truediv__(self, other):
            other = as_dual(other)
            y = other.value
            return MyDual(self.value / y, (self.tangent * y - self.value * other.tangent) / y**2)

        def sin(self):
            return MyDual(math.sin(self.value), math.cos(self.value) * self.tangent)

    return MyDual


DUAL_RULES = Exercise(
    ASSIGNMENT, "dual_rules_test", "MyDual",
    wrong={
        "product of tangents": _dual(mul=lambda D, x, y: D(x.value * y.value, x.tangent * y.tangent)),
        "product rule, one term": _dual(mul=lambda D, x, y: D(x.value * y.value, x.tangent * y.value)),
        "product: sum of tangents": _dual(mul=lambda D, x, y: D(x.value * y.value, x.tangent + y.tangent)),
        "quotient sign": _dual(div=lambda D, x, y: D(x.value / y.value,
                                                     (x.tangent * y.value + x.value * y.tangent) / y.value**2)),
        "quotient not squared": _dual(div=lambda D, x, y: D(x.value / y.value,
                                                            (x.tangent * y.value - x.value * y.tangent) / y.value)),
        "quotient of tangents": _dual(div=lambda D, x, y: D(x.value / y.value, x.tangent / y.tangent)
                                      if y.tangent else D(x.value / y.value, 0.0)),
        "sin without the tangent": _dual(sin=lambda D, x: D(math.sin(x.value), math.cos(x.value))),
        "sin derivative is sin": _dual(sin=lambda D, x: D(math.sin(x.value), math.sin(x.value) * x.tangent)),
        "sin derivative is -cos": _dual(sin=lambda D, x: D(math.sin(x.value), -math.cos(x.value) * x.tangent)),
        "value of sin is cos": _dual(sin=lambda D, x: D(math.cos(x.value), math.cos(x.value) * x.tangent)),
        "plain numbers not handled": _dual(mul=lambda D, x, y: D(x.value * y.value, x.tangent * y.value
                                                                 + x.value * getattr(y, "tangent", 1.0))
                                           if isinstance(y, Dual) and y.tangent else D(x.value * y.value, 0.0)),
        "returns the library's Dual": _dual(
            mul=lambda D, x, y: Dual(x.value * y.value, x.tangent * y.value + x.value * y.tangent),
            div=lambda D, x, y: Dual(x.value / y.value, (x.tangent * y.value - x.value * y.tangent) / y.value**2),
            sin=lambda D, x: Dual(math.sin(x.value), math.cos(x.value) * x.tangent),
        ),
        "returns a simple pair object": _dual(
            mul=lambda D, x, y: _Pair(x.value * y.value, x.tangent * y.value + x.value * y.tangent),
            div=lambda D, x, y: _Pair(x.value / y.value, (x.tangent * y.value - x.value * y.tangent) / y.value**2),
            sin=lambda D, x: _Pair(math.sin(x.value), math.cos(x.value) * x.tangent),
        ),
    },
    right={
        "textbook": _dual(),
        "numpy and other forms": _dual(
            mul=lambda D, x, y: D(np.float64(x.value) * y.value, np.dot([x.tangent, x.value], [y.value, y.tangent])),
            div=lambda D, x, y: D(x.value / y.value, x.tangent / y.value - x.value * y.tangent / y.value**2),
            sin=lambda D, x: D(np.sin(x.value), np.cos(x.value) * x.tangent),
        ),
        "MyDual by name": _by_name(),
    },
)

# -- the edges of e = (a + b)(b + 1) ----------------------------------------------------------


def _edges(**changed):
    def edge_derivatives(a, b):
        c, d = a + b, b + 1
        edges = {("c", "a"): 1.0, ("c", "b"): 1.0, ("d", "b"): 1.0, ("e", "c"): d, ("e", "d"): c}
        for key, rule in changed.items():
            head, tail = key.split("_")
            if rule is None:
                del edges[(head, tail)]
            else:
                edges[(head, tail)] = rule(a, b)
        return edges

    return edge_derivatives


EDGE_DERIVATIVES = Exercise(
    ASSIGNMENT, "edge_derivatives_test", "edge_derivatives",
    wrong={
        "product rule swapped": _edges(e_c=lambda a, b: a + b, e_d=lambda a, b: b + 1),
        "values instead of derivatives": _edges(c_a=lambda a, b: a + b, c_b=lambda a, b: a + b,
                                                d_b=lambda a, b: b + 1, e_c=lambda a, b: a + b,
                                                e_d=lambda a, b: b + 1),
        "every edge 1": _edges(e_c=lambda a, b: 1.0, e_d=lambda a, b: 1.0),
        "hard-coded example numbers": _edges(e_c=lambda a, b: 2.0, e_d=lambda a, b: 3.0),
        "d/db of b + 1 is 0": _edges(d_b=lambda a, b: 0.0),
        "de/dc = b": _edges(e_c=lambda a, b: b),
        "an edge missing": _edges(d_b=None),
        "string keys": lambda a, b: {f"d{h}/d{t}": v for (h, t), v in _edges()(a, b).items()},
        "returns a list": lambda a, b: list(_edges()(a, b).values()),
    },
    right={
        "textbook": _edges(),
        "with numpy and the constant edge too": lambda a, b: {
            **{k: np.float64(v) for k, v in _edges()(a, b).items()}, ("d", "1"): 0.0},
        "integers for the sums": _edges(c_a=lambda a, b: 1, c_b=lambda a, b: 1, d_b=lambda a, b: 1),
    },
)

EXERCISES = [EDGE_DERIVATIVES, LOCAL_BACKWARD, TOPOLOGICAL_ORDER, BACKWARD, DUAL_RULES]
