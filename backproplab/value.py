"""A scalar reverse-mode engine: every number remembers how it was made.

A :class:`Value` holds a float ``data`` and, after :meth:`Value.backward`, the
derivative ``grad`` of the output with respect to it. Each operation builds a
new node and records, beside its forward rule, its *local* derivatives: for
``out = f(x, y)``, ``out.local_grads = (df/dx, df/dy)`` evaluated at the
forward values. These are the numbers on the edges of the computational graph.

Reverse mode then walks the graph from the output back to the inputs, in
reverse topological order, and applies the chain rule at every edge:

    child.grad += local * node.grad      (+=: a node used twice gets both paths)

Calling ``backward`` twice without ``zero_grad`` adds the gradients again, as
PyTorch does: after two calls every ``grad`` is exactly twice the first one.
"""

import math

import numpy as np

from backproplab.functions import sigmoid_of_number
from backproplab.messages import text

#: running totals of the reverse-mode work done by Value.backward: sweeps (calls)
#: and edges visited (one per child of every node processed); set them to 0 to measure
work = {"sweeps": 0, "edges": 0}


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def _checked(x, what):
    """x as a finite float, or a clear error naming ``what`` expected a number."""
    if not _is_number(x):
        raise TypeError(text("value.not_number", what=what, got=type(x).__name__))
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(text("value.not_finite", what=what, got=x))
    return x


class Value:
    """A scalar node of a computational graph.

    data: the number (float64); grad: d(output)/d(this node), 0 until backward;
    label: a name for drawings; children: the nodes it was computed from;
    op: the operation that made it ("" for an input, "const" for a wrapped number);
    local_grads: d(this node)/d(children[i]), one number per child.
    """

    def __init__(self, data, label="", *, children=(), op="", local_grads=()):
        self.data = _checked(data, "Value(data)")
        self.grad = 0.0
        self.label = str(label)
        self.children = tuple(children)
        self.op = op
        self.local_grads = tuple(float(g) for g in local_grads)

    def __repr__(self):
        name = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{name})"

    # -- operations: forward rule and local derivatives side by side -------------

    def _node(self, data, children, op, local_grads):
        return Value(data, children=children, op=op, local_grads=local_grads)

    def __add__(self, other):
        other = as_value(other)
        return self._node(self.data + other.data, (self, other), "+", (1.0, 1.0))

    def __sub__(self, other):
        other = as_value(other)
        return self._node(self.data - other.data, (self, other), "-", (1.0, -1.0))

    def __mul__(self, other):
        other = as_value(other)
        return self._node(self.data * other.data, (self, other), "*", (other.data, self.data))

    def __truediv__(self, other):
        other = as_value(other)
        if other.data == 0:
            raise ZeroDivisionError(text("value.division_by_zero", a=self.data))
        a, b = self.data, other.data
        return self._node(a / b, (self, other), "/", (1.0 / b, -a / b**2))

    def __pow__(self, k):
        """x ** k for a number k (not a Value): d/dx = k x^(k-1)."""
        k = _checked(k, "the exponent of Value ** k")
        x = self.data
        if (x < 0 and not k.is_integer()) or (x == 0 and k < 1):
            raise ValueError(text("value.pow_domain", x=x, k=k))
        return self._node(x**k, (self,), f"**{k:g}", (k * x ** (k - 1),))

    def __neg__(self):
        return self._node(-self.data, (self,), "neg", (-1.0,))

    def __radd__(self, other):  # other + self
        return as_value(other) + self

    def __rsub__(self, other):  # other - self
        return as_value(other) - self

    def __rmul__(self, other):  # other * self
        return as_value(other) * self

    def __rtruediv__(self, other):  # other / self
        return as_value(other) / self

    def exp(self):
        if self.data > 709.0:
            raise OverflowError(text("value.exp_overflow", x=self.data))
        e = math.exp(self.data)
        return self._node(e, (self,), "exp", (e,))

    def log(self):
        if self.data <= 0:
            raise ValueError(text("value.log_domain", x=self.data))
        return self._node(math.log(self.data), (self,), "log", (1.0 / self.data,))

    def tanh(self):
        t = math.tanh(self.data)  # stable: never computes exp of a large number
        return self._node(t, (self,), "tanh", (1.0 - t * t,))

    def sigmoid(self):
        s = sigmoid_of_number(self.data)  # 1 / (1 + exp(-x)), accurate in both tails
        return self._node(s, (self,), "sigmoid", (s * (1.0 - s),))

    def relu(self):
        x = self.data
        return self._node(max(x, 0.0), (self,), "relu", (1.0 if x > 0 else 0.0,))

    # -- reverse mode ------------------------------------------------------------

    def backward(self, grad=1.0):
        """Add d(grad * self)/d(node) to node.grad for every node of the graph.

        Gradients accumulate: a second call adds the same amounts again (call
        zero_grad() first to start from zero). Iterative: any depth works.
        """
        grad = _checked(grad, "backward(grad)")
        upstream = {self: grad}  # this call's share only, so repeated calls add exactly
        work["sweeps"] += 1
        for node in reversed(topological_order(self)):
            g = upstream.pop(node, 0.0)
            node.grad += g
            work["edges"] += len(node.children)
            for child, local in zip(node.children, node.local_grads):
                upstream[child] = upstream.get(child, 0.0) + local * g

    def zero_grad(self):
        """Set grad = 0 on every node of this node's graph."""
        for node in topological_order(self):
            node.grad = 0.0


def as_value(x):
    """x itself if it is a Value, a constant leaf if it is a number, else TypeError."""
    if isinstance(x, Value):
        return x
    x = _checked(x, "an operand of Value")
    return Value(x, label=f"{x:g}", op="const")


def topological_order(root):
    """Every node of root's graph once, each after all of its children (root last).

    Depth-first post-order with an explicit stack, so graphs of any depth work.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.children) if child not in visited)
    return order


def sum_over_paths(root, node):
    """The chain rule spelled out: (sum over paths of the product of local_grads, number of paths).

    Every path from ``node`` up to ``root`` is enumerated, so the cost grows with
    the number of paths (exponentially in depth for layered graphs); backward()
    gives the same sum while visiting every edge once.
    """
    total, count = 0.0, 0
    stack = [(root, 1.0)]
    while stack:
        current, product = stack.pop()
        if current is node:
            total, count = total + product, count + 1
            continue
        for child, local in zip(current.children, current.local_grads):
            stack.append((child, product * local))
    return total, count


def depth(root):
    """{node: its depth}: 0 for inputs, 1 + the largest depth of its children otherwise."""
    levels = {}
    for node in topological_order(root):
        levels[node] = 1 + max((levels[c] for c in node.children), default=-1)
    return levels
