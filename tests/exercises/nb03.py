"""Notebook 03, computational graphs: wrong and right implementations of its exercises.

The engine's exercises grade one method of the student's ``Value`` each: a
wrong implementation is a whole class (made by :func:`value_class`) in which
that one method is wrong, under the name the test cell reads, ``Value``.
"""

import math
from collections import deque

import numpy as np

from . import Exercise

ASSIGNMENT = "03-computational-graphs"
H = 1e-6  # the step of the finite-difference mutants

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


def _edges_by_differences(h):
    def edge_derivatives(a, b):
        def diff(f, x):
            return (f(x + h) - f(x - h)) / (2 * h)

        c, d = a + b, b + 1
        return {("c", "a"): diff(lambda t: t + b, a), ("c", "b"): diff(lambda t: a + t, b),
                ("d", "b"): diff(lambda t: t + 1, b), ("e", "c"): diff(lambda t: t * d, c),
                ("e", "d"): diff(lambda t: c * t, d)}

    return edge_derivatives


def _edges_by_library_difference(a, b):
    from backproplab import numeric

    c, d = a + b, b + 1
    return {("c", "a"): 1.0, ("c", "b"): 1.0, ("d", "b"): 1.0,
            ("e", "c"): numeric.central_difference(lambda t: t * d, c), ("e", "d"): c}


def _edges_by_library_value(a, b):
    from backproplab.value import Value

    va, vb = Value(a), Value(b)
    vc, vd = va + vb, vb + 1
    ve = vc * vd
    return {("c", "a"): vc.local_grads[0], ("c", "b"): vc.local_grads[1], ("d", "b"): vd.local_grads[0],
            ("e", "c"): ve.local_grads[0], ("e", "d"): ve.local_grads[1]}


EDGE_DERIVATIVES = Exercise(
    ASSIGNMENT, "edge_derivatives_test", "edge_derivatives",
    wrong={
        "product rule swapped": (_edges(e_c=lambda a, b: a + b, e_d=lambda a, b: b + 1), "swapped"),
        "values instead of derivatives": (_edges(c_a=lambda a, b: a + b, c_b=lambda a, b: a + b,
                                                 d_b=lambda a, b: b + 1, e_c=lambda a, b: a + b,
                                                 e_d=lambda a, b: b + 1), "values of the nodes c and d"),
        "every edge 1": (_edges(e_c=lambda a, b: 1.0, e_d=lambda a, b: 1.0), "every edge is 1"),
        "hard-coded example numbers": (_edges(e_c=lambda a, b: 2.0, e_d=lambda a, b: 3.0), "numbers of the example"),
        "d/db of b + 1 is 0": (_edges(d_b=lambda a, b: 0.0), "∂d/∂b = 0"),
        "the inputs for the product's edges": (_edges(e_c=lambda a, b: b, e_d=lambda a, b: a), "Likely mistake: b and a"),
        "an edge missing": (_edges(d_b=None), "has no entry for the edge"),
        "string keys": (lambda a, b: {f"d{h}/d{t}": v for (h, t), v in _edges()(a, b).items()}, "has no entry"),
        "returns a list": (lambda a, b: list(_edges()(a, b).values()), "should return a dict"),
        "central differences": (_edges_by_differences(1e-6), "numerical approximation"),
        "central differences, large step": (_edges_by_differences(1e-2), "numerical approximation"),
        "the library's central difference": (_edges_by_library_difference, "already does what this exercise asks"),
        "the library's Value": (_edges_by_library_value, "already does what this exercise asks"),
    },
    right={
        "textbook": _edges(),
        "with numpy and the constant edge too": lambda a, b: {
            **{k: np.float64(v) for k, v in _edges()(a, b).items()}, ("d", "1"): 0.0},
        "integers for the sums": _edges(c_a=lambda a, b: 1, c_b=lambda a, b: 1, d_b=lambda a, b: 1),
        "1 + b and b + a": _edges(e_c=lambda a, b: 1 + b, e_d=lambda a, b: b + a),
    },
)

# -- the sum over paths -----------------------------------------------------------------------


def _paths_recursive(edges, out, inp):
    if out == inp:
        return 1.0
    return sum(local * _paths_recursive(edges, tail, inp) for (head, tail), local in edges.items() if head == out)


def _paths_memo(edges, out, inp):
    memo = {}

    def total(node):
        if node == inp:
            return 1.0
        if node not in memo:
            memo[node] = sum(v * total(t) for (h, t), v in edges.items() if h == node)
        return memo[node]

    return total(out)


def _paths_forward(edges, out, inp):
    """From inp forward: every node's derivative with respect to inp, in an order found by Kahn's algorithm."""
    nodes = {n for edge in edges for n in edge}
    indegree = {n: 0 for n in nodes}
    for head, _ in edges:
        indegree[head] += 1
    ready, order = deque(n for n in nodes if indegree[n] == 0), []
    while ready:
        n = ready.popleft()
        order.append(n)
        for (head, tail) in edges:
            if tail == n:
                indegree[head] -= 1
                if indegree[head] == 0:
                    ready.append(head)
    d = {n: 0.0 for n in nodes}
    d[inp] = 1.0
    for n in order:
        for (head, tail), v in edges.items():
            if head == n:
                d[n] += v * d[tail] if tail != inp or n != inp else 0.0
    return d.get(out, 1.0 if out == inp else 0.0)


def _all_paths(edges, out, inp):
    if out == inp:
        return [[]]
    return [p + [v] for (h, t), v in edges.items() if h == out for p in _all_paths(edges, t, inp)]


def _paths_listed(edges, out, inp):
    return sum(math.prod(p) for p in _all_paths(edges, out, inp))


def _paths_by(combine_path, combine_paths):
    return lambda edges, out, inp: combine_paths([combine_path(p) for p in _all_paths(edges, out, inp)])


def _paths_base_zero(edges, out, inp):
    if out == inp:
        return 0.0
    return sum(v * _paths_base_zero(edges, t, inp) for (h, t), v in edges.items() if h == out)


def _paths_upwards(edges, out, inp):  # follows the arrows' tails from out, which leads nowhere
    if out == inp:
        return 1.0
    return sum(v * _paths_upwards(edges, h, inp) for (h, t), v in edges.items() if t == out)


def _paths_skip_last_edge(edges, out, inp, first=True):
    if out == inp:
        return 1.0
    return sum((1.0 if first else v) * _paths_skip_last_edge(edges, t, inp, False)
               for (h, t), v in edges.items() if h == out)


def _paths_library(edges, out, inp):
    from backproplab.value import sum_over_paths

    return sum_over_paths(out, inp)[0]


SUM_OVER_PATHS = Exercise(
    ASSIGNMENT, "sum_over_paths_test", "sum_over_paths",
    wrong={
        "adds along a path": (_paths_by(sum, sum), "were added"),
        "counts the paths": (_paths_by(lambda p: 1.0, sum), "number of paths"),
        "the largest path": (_paths_by(math.prod, max), "largest path product"),
        "multiplies the paths": (_paths_by(math.prod, math.prod), "multiplied together"),
        "the first path only": (_paths_by(math.prod, lambda ps: ps[0]), "only the first path"),
        "the empty path gives 0": (_paths_base_zero, "Likely mistake: the result is 0"),
        "walks the wrong way": (_paths_upwards, "Likely mistake: the result is 0"),
        "forgets the edge into out": (_paths_skip_last_edge, "sum_over_paths(edges, out, inp) does not match"),
        "the library's sum_over_paths": (_paths_library, "already does what this exercise asks"),
    },
    right={
        "recursive": _paths_recursive,
        "memoised": _paths_memo,
        "forward from inp": _paths_forward,
        "every path listed": _paths_listed,
    },
)

def _factored_memo(edges, out, inp):
    memo = {}

    def total(node):
        if node == inp:
            return 1.0
        if node not in memo:
            memo[node] = 0.0
            for (head, tail), local in edges.items():
                if head == node:
                    memo[node] += local * total(tail)
        return memo[node]

    return total(out)


def _factored_cache(edges, out, inp):
    from functools import lru_cache

    @lru_cache(maxsize=None)
    def total(node):
        return 1.0 if node == inp else sum(v * total(t) for (h, t), v in edges.items() if h == node)

    return total(out)


def _factored_adjacency(edges, out, inp):
    into = {}
    for (head, tail), local in edges.items():
        into.setdefault(head, []).append((tail, local))
    memo = {inp: 1.0}

    def total(node):
        if node not in memo:
            memo[node] = sum(local * total(tail) for tail, local in into.get(node, []))
        return memo[node]

    return total(out)


def _factored_memo_key_wrong(edges, out, inp):  # the memo is filled but never read
    memo = {}

    def total(node):
        if node == inp:
            return 1.0
        memo[node] = sum(v * total(t) for (h, t), v in edges.items() if h == node)
        return memo[node]

    return total(out)


def _factored_with(combine_path, combine_paths):
    return _paths_by(combine_path, combine_paths)


FACTORED_SUM = Exercise(
    ASSIGNMENT, "factored_sum_test", "factored_sum",
    wrong={
        "every path walked (sum_over_paths)": (_paths_recursive, "still walks every path"),
        "memo written, never read": (_factored_memo_key_wrong, "still walks every path"),
        "every path listed": (_paths_listed, "still walks every path"),
        "adds along a path": (_factored_with(sum, sum), "were added"),
        "counts the paths": (_factored_with(lambda p: 1.0, sum), "number of paths"),
        "the empty path gives 0": (_paths_base_zero, "Likely mistake: the result is 0"),
        "memo of the first path": (_factored_with(math.prod, lambda ps: ps[0]), "does not match"),
        "returns a string": (lambda edges, out, inp: str(_factored_memo(edges, out, inp)), "should return a single number"),
        "the library's sum_over_paths": (_paths_library, "already does what this exercise asks"),
    },
    right={
        "memo dict": _factored_memo,
        "lru_cache": _factored_cache,
        "adjacency lists": _factored_adjacency,
        "forward from inp": _paths_forward,
    },
)

# -- the student's Value, one method at a time -------------------------------------------------


def _rules():
    """The right operations, as functions of (Value class, self, other) -> out."""

    def add(V, self, other):
        return V(self.data + other.data, children=(self, other), op="+", local_grads=(1.0, 1.0))

    def mul(V, self, other):
        return V(self.data * other.data, children=(self, other), op="*", local_grads=(other.data, self.data))

    def pow_(V, self, k):
        return V(self.data**k, children=(self,), op=f"**{k:g}", local_grads=(k * self.data ** (k - 1),))

    def exp(V, self):
        e = math.exp(self.data)
        return V(e, children=(self,), op="exp", local_grads=(e,))

    def tanh(V, self):
        t = math.tanh(self.data)
        return V(t, children=(self,), op="tanh", local_grads=(1 - t * t,))

    return {"add": add, "mul": mul, "pow": pow_, "exp": exp, "tanh": tanh}


def value_class(**changed):
    """The notebook's Value with the right operations, except those in ``changed`` ((V, self, ...) -> out)."""
    rules = {**_rules(), **changed}

    class Value:
        def __init__(self, data, label="", *, children=(), op="", local_grads=()):
            self.data = float(data)
            self.grad = 0.0
            self.label = label
            self.children = tuple(children)
            self.op = op
            self.local_grads = tuple(local_grads)

        def __repr__(self):
            return f"Value(data={self.data:.6g}, grad={self.grad:.6g}, label={self.label!r})"

        def __add__(self, other):
            return rules["add"](Value, self, as_value(other))

        def __mul__(self, other):
            return rules["mul"](Value, self, as_value(other))

        def __pow__(self, k):
            return rules["pow"](Value, self, k)

        def exp(self):
            return rules["exp"](Value, self)

        def tanh(self):
            return rules["tanh"](Value, self)

        def __neg__(self):
            return self * -1

        def __sub__(self, other):
            return self + (-other)

        def __radd__(self, other):
            return self + other

        def __rmul__(self, other):
            return self * other

        def backward(self, grad=1.0):
            return _backward(self, grad)

        def zero_grad(self):
            return _zero_grad(self)

    def as_value(x):
        return x if isinstance(x, Value) else Value(x, f"{x:g}", op="const")

    return Value


def _local_by_difference(f, x, h=H):
    return (f(x + h) - f(x - h)) / (2 * h)


def _in_place_add(V, self, other):
    self.data += other.data
    self.local_grads = (1.0, 1.0)
    return self


def _library_value(op):
    """An operation that gets its local derivatives from the library's Value."""

    def rule(V, self, *args):
        from backproplab import value as library

        mine = library.Value(self.data)
        other = [library.Value(a.data) if isinstance(a, V) else a for a in args]
        theirs = {"add": lambda: mine + other[0], "mul": lambda: mine * other[0], "pow": lambda: mine ** other[0],
                  "exp": mine.exp, "tanh": mine.tanh}[op]()
        children = (self, *[a for a in args if isinstance(a, V)])
        return V(theirs.data, children=children, op=op, local_grads=theirs.local_grads[: len(children)])

    return rule


def _value(test_cell, op, wrong, right):
    return Exercise(ASSIGNMENT, test_cell, "Value", wrong={k: (value_class(**{op: f}), w) for k, (f, w) in wrong.items()},
                    right={k: value_class(**{op: f}) for k, f in right.items()})


VALUE_ADD = _value("value_add_test", "add", wrong={
    "local_grads the inputs' values": (lambda V, s, o: V(s.data + o.data, children=(s, o), local_grads=(s.data, o.data)),
                                       "these are the inputs' values"),
    "local_grads 0": (lambda V, s, o: V(s.data + o.data, children=(s, o), local_grads=(0.0, 0.0)), "local_grads are 0"),
    "local_grads the output": (lambda V, s, o: V(s.data + o.data, children=(s, o), local_grads=(s.data + o.data,) * 2),
                               "the output's value"),
    "one local derivative": (lambda V, s, o: V(s.data + o.data, children=(s, o), local_grads=(1.0,)),
                             "one number per child"),
    "no children": (lambda V, s, o: V(s.data + o.data, local_grads=(1.0, 1.0)), "out.children should be (self, other)"),
    "changes self in place": (_in_place_add, "returned one of its inputs"),
    "returns a number": (lambda V, s, o: s.data + o.data, "should return a new Value"),
    "forward is a product": (lambda V, s, o: V(s.data * o.data, children=(s, o), local_grads=(1.0, 1.0)),
                             "out.data of a + b"),
    "local grads by finite differences": (
        lambda V, s, o: V(s.data + o.data, children=(s, o),
                          local_grads=(_local_by_difference(lambda t: t + o.data, s.data),
                                       _local_by_difference(lambda t: s.data + t, o.data))),
        "numerical approximation"),
    "the library's Value": (_library_value("add"), "already does what this exercise asks"),
}, right={
    "textbook": _rules()["add"],
    "children reversed, with their derivatives": lambda V, s, o: V(o.data + s.data, children=(o, s), op="+",
                                                                  local_grads=[1, 1]),
    "numpy numbers": lambda V, s, o: V(np.add(s.data, o.data), children=[s, o], local_grads=np.ones(2)),
})

VALUE_MUL = _value("value_mul_test", "mul", wrong={
    "swapped": (lambda V, s, o: V(s.data * o.data, children=(s, o), local_grads=(s.data, o.data)), "swapped"),
    "the sum's derivatives": (lambda V, s, o: V(s.data * o.data, children=(s, o), local_grads=(1.0, 1.0)),
                              "local derivatives of a sum"),
    "the output": (lambda V, s, o: V(s.data * o.data, children=(s, o), local_grads=(s.data * o.data,) * 2),
                   "the output's value"),
    "finite differences": (lambda V, s, o: V(s.data * o.data, children=(s, o), local_grads=(
        _local_by_difference(lambda t: t * o.data, s.data), _local_by_difference(lambda t: s.data * t, o.data))),
        "numerical approximation"),
    "self only as child": (lambda V, s, o: V(s.data * o.data, children=(s,), local_grads=(o.data,)),
                           "out.children should be (self, other)"),
    "returns a number": (lambda V, s, o: s.data * o.data, "should return a new Value"),
    "forward is a sum": (lambda V, s, o: V(s.data + o.data, children=(s, o), local_grads=(o.data, s.data)),
                         "out.data of a * b"),
    "other's data read as a number": (lambda V, s, o: V(s.data * o, children=(s, o), local_grads=(o, s.data)),
                                      "raised RecursionError"),
    "the library's Value": (_library_value("mul"), "already does what this exercise asks"),
}, right={
    "textbook": _rules()["mul"],
    "children reversed, with their derivatives": lambda V, s, o: V(o.data * s.data, children=(o, s), op="*",
                                                                  local_grads=(s.data, o.data)),
    "numpy numbers": lambda V, s, o: V(np.multiply(s.data, o.data), children=(s, o),
                                       local_grads=np.array([o.data, s.data])),
})

VALUE_POW = _value("value_pow_test", "pow", wrong={
    "exponent not lowered": (lambda V, s, k: V(s.data**k, children=(s,), local_grads=(k * s.data**k,)),
                             "exponent was not lowered"),
    "hard-coded 2a": (lambda V, s, k: V(s.data**k, children=(s,), local_grads=(2 * s.data,)), "2 * a is the derivative"),
    "k missing": (lambda V, s, k: V(s.data**k, children=(s,), local_grads=(s.data ** (k - 1),)), "factor k is missing"),
    "derivative with respect to k": (lambda V, s, k: V(s.data**k, children=(s,), local_grads=(s.data**k * math.log(s.data),)),
                                     "with respect to the exponent"),
    "the output": (lambda V, s, k: V(s.data**k, children=(s,), local_grads=(s.data**k,)), "the output's value"),
    "finite differences": (lambda V, s, k: V(s.data**k, children=(s,), local_grads=(
        _local_by_difference(lambda t: t**k, s.data),)), "numerical approximation"),
    "the exponent as a child": (lambda V, s, k: V(s.data**k, children=(s, V(k)), local_grads=(k * s.data ** (k - 1), 0.0)),
                                "out.children should be (self,)"),
    "returns a number": (lambda V, s, k: s.data**k, "should return a new Value"),
    "forward times k": (lambda V, s, k: V(s.data * k, children=(s,), local_grads=(k * s.data ** (k - 1),)),
                        "out.data of a ** k"),
    "the library's Value": (_library_value("pow"), "already does what this exercise asks"),
}, right={
    "textbook": _rules()["pow"],
    "k a**k / a": lambda V, s, k: V(s.data**k, children=(s,), local_grads=(k * s.data**k / s.data,)),
    "math.pow": lambda V, s, k: V(math.pow(s.data, k), children=(s,), op="pow",
                                  local_grads=(k * math.pow(s.data, k - 1),)),
    "numpy": lambda V, s, k: V(np.power(s.data, k), children=[s], local_grads=[k * np.power(s.data, k - 1)]),
})

VALUE_EXP = _value("value_exp_test", "exp", wrong={
    "the input": (lambda V, s: V(math.exp(s.data), children=(s,), local_grads=(s.data,)), "the input a"),
    "the power rule": (lambda V, s: V(math.exp(s.data), children=(s,), local_grads=(s.data * math.exp(s.data - 1),)),
                       "power rule does not apply"),
    "one": (lambda V, s: V(math.exp(s.data), children=(s,), local_grads=(1.0,)), "Likely mistake: 1;"),
    "finite differences": (lambda V, s: V(math.exp(s.data), children=(s,), local_grads=(
        _local_by_difference(math.exp, s.data),)), "numerical approximation"),
    "changes self in place": (lambda V, s: (setattr(s, "data", math.exp(s.data)), s)[1], "returned one of its inputs"),
    "returns a number": (lambda V, s: math.exp(s.data), "should return a new Value"),
    "no children": (lambda V, s: V(math.exp(s.data), local_grads=(math.exp(s.data),)), "out.children should be (self,)"),
    "forward is the input": (lambda V, s: V(s.data, children=(s,), local_grads=(math.exp(s.data),)), "out.data of a.exp()"),
    "the library's Value": (_library_value("exp"), "already does what this exercise asks"),
}, right={
    "textbook": _rules()["exp"],
    "numpy": lambda V, s: V(np.exp(s.data), children=(s,), local_grads=(np.exp(s.data),)),
    "math.e ** a": lambda V, s: V(math.e**s.data, children=(s,), local_grads=[math.exp(s.data)]),
    "the output's data": lambda V, s: (lambda out: (setattr(out, "local_grads", (out.data,)), out)[1])(
        V(math.exp(s.data), children=(s,), op="exp")),
})

VALUE_TANH = _value("value_tanh_test", "tanh", wrong={
    "1 - tanh": (lambda V, s: V(math.tanh(s.data), children=(s,), local_grads=(1 - math.tanh(s.data),)),
                 "1 - tanh(a) instead of 1 - tanh(a)**2"),
    "1 - a**2 on the input": (lambda V, s: V(math.tanh(s.data), children=(s,), local_grads=(1 - s.data**2,)),
                              "1 - a**2 with a the input"),
    "sech, not squared": (lambda V, s: V(math.tanh(s.data), children=(s,), local_grads=(1 / math.cosh(s.data),)),
                          "not squared"),
    "1 + tanh**2": (lambda V, s: V(math.tanh(s.data), children=(s,), local_grads=(1 + math.tanh(s.data) ** 2,)),
                    "1 + tanh(a)**2"),
    "the output": (lambda V, s: V(math.tanh(s.data), children=(s,), local_grads=(math.tanh(s.data),)),
                   "the output's value"),
    "finite differences": (lambda V, s: V(math.tanh(s.data), children=(s,), local_grads=(
        _local_by_difference(math.tanh, s.data),)), "numerical approximation"),
    "returns a number": (lambda V, s: math.tanh(s.data), "should return a new Value"),
    "tanh applied twice": (lambda V, s: V(math.tanh(s.data), children=(s,), local_grads=(
        1 - math.tanh(math.tanh(s.data)) ** 2,)), "out.local_grads of a.tanh()"),
    "the library's Value": (_library_value("tanh"), "already does what this exercise asks"),
}, right={
    "textbook": _rules()["tanh"],
    "1 / cosh**2": lambda V, s: V(np.tanh(s.data), children=(s,), local_grads=(1 / np.cosh(s.data) ** 2,)),
    "(1 - t)(1 + t)": lambda V, s: (lambda t: V(t, children=(s,), local_grads=((1 - t) * (1 + t),)))(math.tanh(s.data)),
    "from exp": lambda V, s: (lambda e: V((e - 1) / (e + 1), children=(s,), op="tanh",
                                          local_grads=(4 * e / (e + 1) ** 2,)))(math.exp(2 * s.data)),
})

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


topological_order = _recursive  # the name the backward mutants use (the check swaps in its reference)


def _iterative(root):
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((c, False) for c in node.children)
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


def _library_order(root):
    from backproplab.value import topological_order as library

    return library(root)


TOPOLOGICAL_ORDER = Exercise(
    ASSIGNMENT, "topological_order_test", "topological_order",
    wrong={
        "reversed (root first)": (lambda root: _recursive(root)[::-1], "that is the reverse order"),
        "no visited set (duplicates)": (_no_visited_set, "twice"),
        "pre-order (node before children)": (_preorder, "before its child"),
        "breadth-first, reversed": (_bfs_reversed, "before its child"),
        "visited by value": (_visited_by_value, "misses"),
        "leaves only": (lambda root: [n for n in _recursive(root) if not n.children], "misses"),
        "root missing": (lambda root: _recursive(root)[:-1], "misses"),
        "children only": (lambda root: list(root.children) + [root], "misses"),
        "returns labels": (lambda root: [n.label for n in _recursive(root)], "not a node of this graph"),
        "returns None": (lambda root: None, "should return a list"),
        "the library's order": (_library_order, "already does what this exercise asks"),
    },
    right={
        "recursive depth-first": _recursive,
        "iterative depth-first": _iterative,
        "Kahn's algorithm": _kahn,
        "tuple": lambda root: tuple(_recursive(root)),
    },
)

# -- backward --------------------------------------------------------------------------------


def _backward(self, grad=1.0):
    """The right backward pass, as the notebook's value_class uses it."""
    order = topological_order(self)
    self.grad = grad
    for node in reversed(order):
        for child, local in zip(node.children, node.local_grads):
            child.grad += local * node.grad


def _zero_grad(self):
    for node in topological_order(self):
        node.grad = 0.0


def _backward_with(*, order=None, accumulate=True, upstream=True, seed=None):
    def backward(self, grad=1.0):
        nodes = topological_order(self) if order is None else order(self)
        self.grad = grad if seed is None else seed
        for node in reversed(nodes):
            for child, local in zip(node.children, node.local_grads):
                share = local * node.grad if upstream else local
                if accumulate:
                    child.grad += share
                else:
                    child.grad = share

    return backward


def _backward_with_dict(self, grad=1.0):
    upstream = {self: grad}
    for node in reversed(topological_order(self)):
        node.grad = upstream.get(node, 0.0)
        for child, local in zip(node.children, node.local_grads):
            upstream[child] = upstream.get(child, 0.0) + local * node.grad


_UNARY = {"neg": lambda x: -x, "exp": math.exp, "log": math.log, "tanh": math.tanh,
          "sigmoid": lambda x: 0.5 * (1 + math.tanh(0.5 * x)), "relu": lambda x: max(x, 0.0)}
_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _finite_difference_backward(root, grad=1.0, h=1e-6):
    """Not backpropagation: re-evaluate the graph with each input nudged (a central difference)."""
    order = topological_order(root)

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


def _only_root_edges(self, grad=1.0):
    self.grad = grad
    for child, local in zip(self.children, self.local_grads):
        child.grad += local * grad


def _library_backward(self, grad=1.0):
    from backproplab.value import Value as Library

    Library.backward(self, grad)


def _with_backward(backward=None, zero_grad=None):
    cls = value_class()
    if backward is not None:
        cls.backward = backward
    if zero_grad is not None:
        cls.zero_grad = zero_grad
    return cls


def _zero_grad_root_only(self):
    self.grad = 0.0


def _zero_grad_leaves_only(self):
    for node in topological_order(self):
        if not node.children:
            node.grad = 0.0


def _zero_grad_data(self):
    for node in topological_order(self):
        node.grad = 0.0
        node.data = 0.0


def _zero_grad_children(self):
    self.grad = 0.0
    for child in self.children:
        child.grad = 0.0


BACKWARD = Exercise(
    ASSIGNMENT, "backward_test", "Value",
    wrong={name: (_with_backward(f), words) for name, (f, words) in {
        "= instead of +=": (_backward_with(accumulate=False), "overwrites"),
        "missing node.grad factor": (_backward_with(upstream=False), "not multiplied by node.grad"),
        "order not reversed": (_backward_with(order=lambda r: topological_order(r)[::-1]), "inputs first"),
        "pre-order": (_backward_with(order=lambda r: _preorder(r)[::-1]), "does not match"),
        "grad ignored (root seeded with 1)": (_backward_with(seed=1.0), "was ignored"),
        "root not seeded": (_backward_with(seed=0.0), "still 0"),
        "only the root's edges": (_only_root_edges, "does not match"),
        "returns without filling": (lambda self, grad=1.0: None, "still 0"),
        "calls the library's backward": (_library_backward, "already does what this exercise asks"),
        "finite differences instead of backprop": (_finite_difference_backward, "numerical approximation"),
        "finite differences, smaller step": (lambda self, grad=1.0: _finite_difference_backward(self, grad, 1e-7),
                                             "numerical approximation"),
    }.items()} | {name: (_with_backward(zero_grad=f), words) for name, (f, words) in {
        "zero_grad: the root only": (_zero_grad_root_only, "left the grad of"),
        "zero_grad: the inputs only": (_zero_grad_leaves_only, "left the grad of"),
        "zero_grad: the root and its children": (_zero_grad_children, "left the grad of"),
        "zero_grad: data reset too": (_zero_grad_data, "changed the nodes' data"),
        "zero_grad: does nothing": (lambda self: None, "left the grad of"),
    }.items()},
    right={
        "textbook": _with_backward(_backward),
        "a dict of upstream gradients": _with_backward(_backward_with_dict),
        "its own iterative order": _with_backward(_backward_with(order=_iterative)),
        "zero_grad through its own order": _with_backward(zero_grad=lambda self: [
            setattr(n, "grad", 0.0) for n in _iterative(self)] and None),
    },
)

# -- dual numbers ---------------------------------------------------------------------------


def dual_class(add=None, mul=None, tanh=None, exp=None):
    """The notebook's Dual with the right rules, except those given ((D, x, y) -> out, or (D, x) for tanh)."""

    def good_add(D, x, y):
        return D(x.value + y.value, x.tangent + y.tangent)

    def good_mul(D, x, y):
        return D(x.value * y.value, x.tangent * y.value + x.value * y.tangent)

    def good_tanh(D, x):
        t = math.tanh(x.value)
        return D(t, (1 - t * t) * x.tangent)

    def good_exp(D, x):
        e = math.exp(x.value)
        return D(e, e * x.tangent)

    class Dual:
        def __init__(self, value, tangent=0.0):
            self.value = float(value)
            self.tangent = float(tangent)

        def __add__(self, other):
            other = other if isinstance(other, Dual) else Dual(other)
            return (add or good_add)(Dual, self, other)

        def __mul__(self, other):
            other = other if isinstance(other, Dual) else Dual(other)
            return (mul or good_mul)(Dual, self, other)

        def tanh(self):
            return (tanh or good_tanh)(Dual, self)

        def exp(self):
            return (exp or good_exp)(Dual, self)

        __radd__ = __add__
        __rmul__ = __mul__

    return Dual


def _library_tanh(D, x):
    from backproplab.dual import Dual as Library

    out = Library(x.value, x.tangent).tanh()
    return D(out.value, out.tangent)


DUAL = Exercise(
    ASSIGNMENT, "dual_test", "Dual",
    wrong={
        "sum: product of tangents": (dual_class(add=lambda D, x, y: D(x.value + y.value, x.tangent * y.tangent)),
                                     "x' * y'; the tangent of a sum"),
        "sum: one tangent": (dual_class(add=lambda D, x, y: D(x.value + y.value, x.tangent)), "only x'"),
        "product of tangents": (dual_class(mul=lambda D, x, y: D(x.value * y.value, x.tangent * y.tangent)),
                                "x' * y'; the product rule"),
        "product rule, one term": (dual_class(mul=lambda D, x, y: D(x.value * y.value, x.tangent * y.value)),
                                   "only x' * y is there"),
        "product: sum of tangents": (dual_class(mul=lambda D, x, y: D(x.value * y.value, x.tangent + y.tangent)),
                                     "x' + y' is the tangent of a sum"),
        "tanh without the tangent": (dual_class(tanh=lambda D, x: D(math.tanh(x.value), 1 - math.tanh(x.value) ** 2)),
                                     "the chain rule multiplies it"),
        "tanh not squared": (dual_class(tanh=lambda D, x: D(math.tanh(x.value), (1 - math.tanh(x.value)) * x.tangent)),
                             "1 - tanh(x) instead"),
        "tanh rule on the input": (dual_class(tanh=lambda D, x: D(math.tanh(x.value), (1 - x.value**2) * x.tangent)),
                                   "1 - a**2 with a the input"),
        "tanh derivative is tanh": (dual_class(tanh=lambda D, x: D(math.tanh(x.value), math.tanh(x.value) * x.tangent)),
                                    "not tanh"),
        "returns a tuple": (dual_class(mul=lambda D, x, y: (x.value * y.value, x.tangent * y.value + x.value * y.tangent)),
                            "should give a dual number"),
        "tanh tangent by finite differences": (dual_class(tanh=lambda D, x: D(
            math.tanh(x.value), _local_by_difference(math.tanh, x.value) * x.tangent)), "numerical approximation"),
        "the library's Dual": (dual_class(tanh=_library_tanh), "already does what this exercise asks"),
        "exp without the tangent": (dual_class(exp=lambda D, x: D(math.exp(x.value), math.exp(x.value))),
                                    "exp(x) alone"),
        "exp: the tangent alone": (dual_class(exp=lambda D, x: D(math.exp(x.value), x.tangent)), "x' alone"),
    },
    right={
        "textbook": dual_class(),
        "numpy and other forms": dual_class(
            add=lambda D, x, y: D(*np.add([x.value, x.tangent], [y.value, y.tangent])),
            mul=lambda D, x, y: D(np.float64(x.value) * y.value, np.dot([x.tangent, x.value], [y.value, y.tangent])),
            tanh=lambda D, x: D(np.tanh(x.value), x.tangent / np.cosh(x.value) ** 2),
        ),
        "type(x) for the result": dual_class(
            add=lambda D, x, y: type(x)(x.value + y.value, x.tangent + y.tangent),
            tanh=lambda D, x: (lambda t: type(x)(t, x.tangent * (1 - t) * (1 + t)))(math.tanh(x.value)),
        ),
    },
)

# -- forward mode: one sweep per input ----------------------------------------------------------

Dual = dual_class()  # the name the forward_gradient mutants use (the check swaps in its reference)


def _forward_gradient(f, x):
    grad = []
    for i in range(len(x)):
        seeded = [Dual(v, 1.0 if j == i else 0.0) for j, v in enumerate(x)]
        grad.append(f(seeded).tangent)
    return grad


def _forward_gradient_with(seed, result=lambda out: out.tangent, count=None):
    def forward_gradient(f, x):
        n = len(x) if count is None else count(len(x))
        return [result(f([Dual(v, seed(i, j)) for j, v in enumerate(x)])) for i in range(n)]

    return forward_gradient


def _forward_by_differences(f, x, h=1e-6):
    grad = []
    for i in range(len(x)):
        up = f([Dual(v + (h if j == i else 0.0)) for j, v in enumerate(x)]).value
        down = f([Dual(v - (h if j == i else 0.0)) for j, v in enumerate(x)]).value
        grad.append((up - down) / (2 * h))
    return grad


def _forward_seeds_kept(f, x):
    grad = []
    for i in range(len(x)):
        x[i] = Dual(x[i], 1.0)
        grad.append(f(x).tangent)
    return grad


def _forward_library(f, x):
    from backproplab.dual import gradient

    return list(gradient(f, x)[0])


def _forward_seeded_in_place(f, x):
    seeded = [Dual(v) for v in x]
    grad = np.zeros(len(x))
    for i, v in enumerate(x):
        seeded[i] = Dual(v, 1.0)
        grad[i] = f(seeded).tangent
        seeded[i] = Dual(v)
    return grad


def _reverse_gradient(f, x):
    leaves = [Value(v) for v in x]
    f(leaves).backward()
    return [leaf.grad for leaf in leaves]


Value = value_class()  # the name the reverse_gradient mutants use (the check swaps in its reference)


def _reverse_with_labels(f, x):
    leaves = [Value(v, f"x{i}") for i, v in enumerate(x)]
    out = f(leaves)
    out.backward(1.0)
    return np.array([leaf.grad for leaf in leaves])


def _reverse_per_input(f, x):  # right numbers, n sweeps
    grad = []
    for i in range(len(x)):
        leaves = [Value(v) for v in x]
        f(leaves).backward()
        grad.append(leaves[i].grad)
    return grad


def _reverse_no_backward(f, x):
    leaves = [Value(v) for v in x]
    f(leaves)
    return [leaf.grad for leaf in leaves]


def _reverse_data(f, x):
    leaves = [Value(v) for v in x]
    f(leaves).backward()
    return [leaf.data for leaf in leaves]


def _reverse_output_grad(f, x):
    leaves = [Value(v) for v in x]
    out = f(leaves)
    out.backward()
    return [out.grad for _ in leaves]


def _reverse_by_differences(f, x, h=1e-6):
    grad = []
    for i in range(len(x)):
        up = f([Value(v + (h if j == i else 0.0)) for j, v in enumerate(x)]).data
        down = f([Value(v - (h if j == i else 0.0)) for j, v in enumerate(x)]).data
        grad.append((up - down) / (2 * h))
    return grad


def _gradients(forward=_forward_gradient, reverse=_reverse_gradient):
    return {"forward_gradient": forward, "reverse_gradient": reverse}


FORWARD_GRADIENT = Exercise(
    ASSIGNMENT, "gradients_test", "forward_gradient",
    wrong={name: (_gradients(forward=f), words) for name, (f, words) in {
        "every input seeded": (_forward_gradient_with(lambda i, j: 1.0), "every input was seeded"),
        "values of f": (_forward_gradient_with(lambda i, j: float(i == j), result=lambda out: out.value), "values of f"),
        "seeded one input off": (lambda f, x: [f([Dual(v, float(j == (i + 1) % len(x))) for j, v in enumerate(x)]).tangent
                                               for i in range(len(x))], "shifted by one input"),
        "one sweep, repeated": (lambda f, x: [f([Dual(v, float(j == 0)) for j, v in enumerate(x)]).tangent] * len(x),
                                "does not match"),
        "no tangent seeded": (_forward_gradient_with(lambda i, j: 0.0), "does not match"),
        "returns the Duals": (_forward_gradient_with(lambda i, j: float(i == j), result=lambda out: out),
                              "should return"),
        "one entry short": (_forward_gradient_with(lambda i, j: float(i == j), count=lambda n: n - 1), "should return"),
        "seeds kept from sweep to sweep": (_forward_seeds_kept, "seeds of earlier sweeps were kept"),
        "finite differences": (_forward_by_differences, "numerical approximation"),
        "the library's gradient": (_forward_library, "already does what this exercise asks"),
    }.items()} | {name: (_gradients(reverse=f), words) for name, (f, words) in {
        "reverse: no backward": (_reverse_no_backward, "call backward()"),
        "reverse: the inputs' data": (_reverse_data, "the inputs' data"),
        "reverse: one sweep per input": (_reverse_per_input, "backward sweeps"),
        "reverse: finite differences": (_reverse_by_differences, "numerical approximation"),
        "reverse: returns the leaves": (lambda f, x: [Value(v) for v in x], "should return"),
        "reverse: the output's grad": (_reverse_output_grad, "the grad of f's output itself"),
    }.items()},
    right={
        "textbook": _gradients(),
        "one input seeded in place, labels": _gradients(_forward_seeded_in_place, _reverse_with_labels),
        "comprehension": _gradients(forward=_forward_gradient_with(lambda i, j: float(i == j))),
    },
    namespace=lambda names: dict(names),
)

EXERCISES = [EDGE_DERIVATIVES, SUM_OVER_PATHS, FACTORED_SUM, VALUE_ADD, VALUE_MUL, VALUE_POW, VALUE_EXP, VALUE_TANH,
             TOPOLOGICAL_ORDER, BACKWARD, DUAL, FORWARD_GRADIENT]
