"""Notebook 03, the MLP of Values: wrong and right Neuron/Layer/MLP, train loops and trained models.

The classes keep the constructors the notebook gives (the weights are drawn
there); the exercises are their ``__call__`` and ``parameters``. They are
built on the library's Value, and one right alternative on a small Value of
the student's kind (``StudentValue``), so that the checks are seen to read
any Value with ``data`` and ``grad``.
"""

import math

import numpy as np

from backproplab import scalar_mlp
from backproplab.boundary import two_moons
from backproplab.messages import text
from backproplab.value import Value

from . import Exercise

ASSIGNMENT = "03-computational-graphs"

# the training of the notebook, and its test cell's parameters
DATA = {"n": 30, "noise": 0.1, "seed": 0}
NOUTS = [8, 1]
STEPS, LEARNING_RATE = 300, 0.2


class StudentValue:
    """A Value as the notebook's class cell and a student's methods make it (no checks, recursive order)."""

    def __init__(self, data, label="", *, children=(), op="", local_grads=()):
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self.children = tuple(children)
        self.op = op
        self.local_grads = tuple(local_grads)

    def __add__(self, other):
        other = other if isinstance(other, StudentValue) else StudentValue(other)
        return StudentValue(self.data + other.data, children=(self, other), op="+", local_grads=(1.0, 1.0))

    def __mul__(self, other):
        other = other if isinstance(other, StudentValue) else StudentValue(other)
        return StudentValue(self.data * other.data, children=(self, other), op="*",
                            local_grads=(other.data, self.data))

    def __pow__(self, k):
        return StudentValue(self.data**k, children=(self,), op=f"**{k}", local_grads=(k * self.data ** (k - 1),))

    def tanh(self):
        t = math.tanh(self.data)
        return StudentValue(t, children=(self,), op="tanh", local_grads=(1 - t * t,))

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def backward(self, grad=1.0):
        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                for child in node.children:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = grad
        for node in reversed(order):
            for child, local in zip(node.children, node.local_grads):
                child.grad += local * node.grad


# -- Neuron, Layer, MLP: the given constructors, with the methods swapped in ---------------------

def _neuron_call(self, x):
    z = self.b
    for wi, xi in zip(self.w, x):
        z = z + wi * xi
    return z.tanh() if self.nonlinear else z


def _mlp_call(self, x):
    for layer in self.layers:
        x = layer(x)
    return x


METHODS = {
    "neuron_call": _neuron_call,
    "neuron_parameters": lambda self: self.w + [self.b],
    "layer_call": lambda self, x: [neuron(x) for neuron in self.neurons],
    "layer_parameters": lambda self: [p for neuron in self.neurons for p in neuron.parameters()],
    "mlp_call": _mlp_call,
    "mlp_parameters": lambda self: [p for layer in self.layers for p in layer.parameters()],
}


def classes(value=Value, **changed):
    """The MLP class (with its Neuron and Layer) of the notebook, with some methods replaced."""
    m = {**METHODS, **changed}

    class Neuron:
        def __init__(self, nin, rng, nonlinear=True):
            self.w = [value(rng.uniform(-1, 1), f"w{i + 1}") for i in range(nin)]
            self.b = value(rng.uniform(-1, 1), "b")
            self.nonlinear = nonlinear

        __call__ = m["neuron_call"]
        parameters = m["neuron_parameters"]

    class Layer:
        def __init__(self, nin, nout, rng, nonlinear=True):
            self.neurons = [Neuron(nin, rng, nonlinear) for _ in range(nout)]

        __call__ = m["layer_call"]
        parameters = m["layer_parameters"]

    class MLP:
        def __init__(self, nin, nouts, seed=0):
            rng = np.random.default_rng(seed)
            sizes = [nin] + list(nouts)
            self.layers = [Layer(sizes[i], sizes[i + 1], rng, nonlinear=i < len(nouts) - 1)
                           for i in range(len(nouts))]

        __call__ = m["mlp_call"]
        parameters = m["mlp_parameters"]

    return MLP


def _neuron_sum(self, x):
    act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
    return act.tanh() if self.nonlinear else act


def _mlp_one_output_bare(self, x):
    for layer in self.layers:
        x = layer(x)
    return x[0] if len(x) == 1 else x


def _mlp_not_chained(self, x):
    out = x
    for layer in self.layers:
        out = layer(x)
    return out


def _mlp_tanh_on_output(self, x):
    for layer in self.layers:
        x = layer(x)
    return [v.tanh() for v in x]


class _LibraryMLP(scalar_mlp.MLP):
    """Delegation: the library's network under the student's name."""


MLP_EXERCISE = Exercise(
    ASSIGNMENT, "mlp_test", "MLP",
    wrong={
        "neuron without tanh": (classes(neuron_call=lambda self, x: sum((w * v for w, v in zip(self.w, x)), self.b)),
                                text("mistake.mlp_no_tanh")),
        "neuron ignores nonlinear": (classes(neuron_call=lambda self, x: sum((w * v for w, v in zip(self.w, x)),
                                                                            self.b).tanh()),
                                     text("mistake.mlp_always_tanh")),
        "neuron without bias": (classes(neuron_call=lambda self, x: (lambda z: z.tanh() if self.nonlinear else z)(
            sum(w * v for w, v in zip(self.w, x)))), text("mistake.mlp_no_bias")),
        "bias after tanh": (classes(neuron_call=lambda self, x: (
            sum(w * v for w, v in zip(self.w, x)).tanh() + self.b if self.nonlinear
            else sum(w * v for w, v in zip(self.w, x)) + self.b)), text("mistake.mlp_bias_after_tanh")),
        "neuron returns a number": (classes(neuron_call=lambda self, x: _neuron_call(self, x).data),
                                    "Neuron(x) should return one Value; it returned a number"),
        "layer returns a generator": (classes(layer_call=lambda self, x: (n(x) for n in self.neurons)),
                                      "generator"),
        "layers not chained": (classes(mlp_call=_mlp_not_chained), text("mistake.mlp_not_chained")),
        "tanh on the output": (classes(mlp_call=_mlp_tanh_on_output), text("mistake.mlp_tanh_last")),
        "one output returned bare": (classes(mlp_call=_mlp_one_output_bare), "a list even when there is one output"),
        "parameters are numbers": (classes(neuron_parameters=lambda self: [p.data for p in self.w + [self.b]]),
                                   "item 0 is a number"),
        "parameters nested": (classes(layer_parameters=lambda self: [n.parameters() for n in self.neurons]),
                              "item 0 is a list"),
        "bias listed first": (classes(neuron_parameters=lambda self: [self.b] + self.w), text("mistake.mlp_bias_first")),
        "biases left out": (classes(neuron_parameters=lambda self: list(self.w)), text("check.mlp_count_no_bias")),
        "last layer's parameters only": (classes(mlp_parameters=lambda self: self.layers[-1].parameters()),
                                         text("check.mlp_count_last_layer")),
        "a layer's parameters twice": (classes(mlp_parameters=lambda self: [p for layer in self.layers + self.layers[:1]
                                                                             for p in layer.parameters()]),
                                       "same Value twice"),
        "neurons reversed": (classes(layer_call=lambda self, x: [n(x) for n in reversed(self.neurons)]),
                             "Layer(x) (the first layer) does not match the reference"),
        "the library's MLP": (_LibraryMLP, "which already does what this exercise asks you to write"),
    },
    right={
        "loop from the bias": classes(),
        "sum from the bias, chained lists": classes(
            neuron_call=_neuron_sum,
            layer_parameters=lambda self: sum((n.parameters() for n in self.neurons), []),
            mlp_parameters=lambda self: sum((layer.parameters() for layer in self.layers), [])),
        "the student's Value, sum then bias": classes(
            value=StudentValue,
            neuron_call=lambda self, x: (lambda z: z.tanh() if self.nonlinear else z)(
                sum(w * v for w, v in zip(self.w, x)) + self.b),
            mlp_call=lambda self, x: [v for v in _mlp_call(self, x)]),
    },
)


# -- train -----------------------------------------------------------------------------------

def _train(model, X, y, steps, learning_rate):
    costs = []
    for _ in range(steps):
        cost = sum((model(x)[0] - t) ** 2 for x, t in zip(X, y)) / len(X)
        for p in model.parameters():
            p.grad = 0.0
        cost.backward()
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        costs.append(cost.data)
    return costs


def _loop(*, zero="before", rows=None, mean=True, sign=-1.0, rate=True, record="data", stale=False,
          update_first=False, extra_cost=False, rebind=False):
    """A training loop with one deliberate change (the defaults make the right loop)."""

    def train(model, X, y, steps, learning_rate):
        costs, cost = [], None
        params = model.parameters()
        for _ in range(steps):
            if cost is None or not stale:
                samples = list(zip(X, y)) if rows is None else [list(zip(X, y))[rows]]
                if rows == -1 and not mean:  # the loop that overwrites: only the last loss is left
                    for x, t in zip(X, y):
                        cost = (model(x)[0] - t) ** 2
                else:
                    total = sum((model(x)[0] - t) ** 2 for x, t in samples)
                    cost = total / len(samples) if mean else total
            if update_first:
                for p in params:
                    p.data += sign * learning_rate * p.grad
            if zero == "before":
                for p in params:
                    p.grad = 0.0
            cost.backward()
            if zero == "after backward":
                for p in params:
                    p.grad = 0.0
            if not update_first:
                for p in params:
                    if rebind:
                        p = p - learning_rate * p.grad  # noqa: PLW2901 - the mistake
                    else:
                        p.data += sign * (learning_rate if rate else 1.0) * p.grad
            costs.append(cost.data if record == "data" else cost)
        if extra_cost:
            costs.append(sum((model(x)[0] - t) ** 2 for x, t in zip(X, y)).data / len(X))
        return costs

    return train


def _train_per_sample(model, X, y, steps, learning_rate):
    """Gradient accumulation: backward on each loss / N, one update per step."""
    costs = []
    n = len(X)
    for _ in range(steps):
        for p in model.parameters():
            p.grad = 0.0
        cost = 0.0
        for x, t in zip(X, y):
            loss = (model(x)[0] - t) ** 2 * (1.0 / n)
            loss.backward()
            cost += loss.data
        for p in model.parameters():
            p.data = p.data - learning_rate * p.grad
        costs.append(cost)
    return costs


def _train_zero_at_end(model, X, y, steps, learning_rate):
    costs = []
    for step in range(steps):
        losses = [(model(list(x))[0] - target) ** 2 for x, target in zip(X, y)]
        cost = sum(losses) * (1.0 / len(losses))
        cost.backward()
        for p in model.parameters():
            p.data -= learning_rate * p.grad
            p.grad = 0
        costs.append(float(cost.data))
    return costs


# written as in the notebook, where the name Value is the student's class: the check lends it the library's
_SOURCE_FROM_VALUE_ZERO = '''
def train(model, X, y, steps, learning_rate):
    costs = []
    for _ in range(steps):
        cost = Value(0.0)
        for x, t in zip(X, y):
            cost = cost + (model(x)[0] - t) ** 2
        cost = cost / len(X)
        cost.zero_grad()
        cost.backward()
        for p in model.parameters():
            p.data += -learning_rate * p.grad
        costs.append(cost.data)
    return costs
'''
_namespace = {"Value": StudentValue}
exec(compile(_SOURCE_FROM_VALUE_ZERO, "<student cell>", "exec"), _namespace)
_train_from_value_zero = _namespace["train"]


def _finite_difference_train(model, X, y, steps, learning_rate, h=1e-5):
    """Gradients by central differences of the cost, not by backward."""

    def cost():
        return (sum((model(x)[0] - t) ** 2 for x, t in zip(X, y)) / len(X)).data

    costs = []
    for _ in range(steps):
        costs.append(cost())
        grads = []
        for p in model.parameters():
            old = p.data
            p.data = old + h
            up = cost()
            p.data = old - h
            down = cost()
            p.data = old
            grads.append((up - down) / (2 * h))
        for p, g in zip(model.parameters(), grads):
            p.data -= learning_rate * g
    return costs


def _train_on_floats(model, X, y, steps, learning_rate):
    """The cost computed from .data: a float, with no graph to run backward on."""
    costs = []
    for _ in range(steps):
        cost = sum((model(x)[0].data - t) ** 2 for x, t in zip(X, y)) / len(X)
        for p in model.parameters():
            p.grad = 0.0
        cost.backward()
        costs.append(cost)
    return costs


def _delegated_train(model, X, y, steps, learning_rate):
    return scalar_mlp.train(model, X, y, steps, learning_rate)


TRAIN_EXERCISE = Exercise(
    ASSIGNMENT, "mlp_train_test", "train",
    wrong={
        "grads never zeroed": (_loop(zero="never"), text("mistake.mlp_train_no_zero")),
        "ascent": (_loop(sign=1.0), text("mistake.mlp_train_ascent")),
        "grads zeroed after backward": (_loop(zero="after backward"), text("mistake.mlp_train_no_update")),
        "rebinds p": (_loop(rebind=True), text("mistake.mlp_train_no_update")),
        "sum, not mean": (_loop(mean=False), text("mistake.mlp_train_sum")),
        "last sample only": (_loop(rows=-1, mean=False), text("mistake.mlp_train_last_sample")),
        "first sample only": (_loop(rows=0), text("mistake.mlp_train_first_sample")),
        "update before backward": (_loop(update_first=True), text("mistake.mlp_train_stale_gradient")),
        "cost built once": (_loop(stale=True), text("mistake.mlp_train_stale_graph")),
        "no learning rate": (_loop(rate=False), text("mistake.mlp_train_no_rate")),
        "costs are Values": (_loop(record="value"), "append the number cost.data"),
        "one cost too many": (_loop(extra_cost=True), "costs for steps"),
        "returns nothing": (lambda model, X, y, steps, learning_rate: None, "it returned None"),
        "finite differences": (_finite_difference_train, "looks like a finite difference"),
        "cost made of floats": (_train_on_floats, "called backward on a float"),
        "the library's train": (_delegated_train, "which already does what this exercise asks you to write"),
    },
    right={
        "mean of the losses": _train,
        "one backward per sample": _train_per_sample,
        "grads zeroed after the update": _train_zero_at_end,
        "a sum started from Value(0.0)": _train_from_value_zero,
    },
)


# -- the trained model ---------------------------------------------------------------------------

def fit(nouts=NOUTS, steps=STEPS, learning_rate=LEARNING_RATE, seed=0, targets="pm1"):
    """The parameters (flat, in parameters() order) that the notebook's training reaches, computed in numpy.

    The same full-batch descent on the same cost as train, from the same draws,
    vectorised: it agrees with the loop of Values up to rounding, in milliseconds.
    """
    X, labels = two_moons(**DATA)
    y = 2.0 * labels - 1.0 if targets == "pm1" else labels.astype(np.float64)
    start = scalar_mlp.MLP(2, list(nouts), seed=seed)
    layers = [[np.array([[w.data for w in n.w] for n in layer.neurons]).T,
               np.array([n.b.data for n in layer.neurons])] for layer in start.layers]
    n = len(X)
    for _ in range(steps):
        acts = [X]
        for k, (W, b) in enumerate(layers):
            z = acts[-1] @ W + b
            acts.append(np.tanh(z) if k < len(layers) - 1 else z)
        d = (2.0 * (acts[-1][:, 0] - y) / n)[:, None]
        grads = []
        for k in range(len(layers) - 1, -1, -1):
            W = layers[k][0]
            grads.append((acts[k].T @ d, d.sum(axis=0)))
            if k > 0:
                d = (d @ W.T) * (1.0 - acts[k] ** 2)
        for (W, b), (gW, gb) in zip(layers[::-1], grads):
            W -= learning_rate * gW
            b -= learning_rate * gb
    return np.concatenate([np.append(W[:, j], b[j]) for W, b in layers for j in range(W.shape[1])])


def loaded(theta, mlp_class=None, nouts=NOUTS):
    """A model of ``mlp_class`` whose parameters are theta (a factory for the test cell's namespace)."""

    def make():
        model = (mlp_class or classes())(2, nouts, seed=0)
        for p, v in zip([v for layer in model.layers for n in layer.neurons for v in [*n.w, n.b]], theta):
            p.data = float(v)
        return model

    return make


class _Answers:
    """A model that answers the targets of the training points: outputs no MLP computes."""

    def __init__(self, base):
        self.base = base
        X, labels = two_moons(**DATA)
        self.table = {tuple(x): 2.0 * k - 1.0 for x, k in zip(X.tolist(), labels.tolist())}
        self.layers = base.layers

    def parameters(self):
        return self.base.parameters()

    def __call__(self, x):
        return [Value(self.table.get(tuple(x), 0.0))]

    def without_layers(self):
        del self.layers
        return self


_cache = {}


def _theta(**how):
    key = tuple(sorted(how.items()))
    if key not in _cache:
        _cache[key] = fit(**how)
    return _cache[key]


def _lazy(**how):
    """A factory that trains (in numpy) only when the test asks for the model."""
    return lambda: loaded(_theta(**how), classes(), nouts=list(how.get("nouts", NOUTS)))()


def _lazy_with(mlp_class, **how):
    return lambda: loaded(_theta(**how), mlp_class, nouts=list(how.get("nouts", NOUTS)))()


TRAINED_EXERCISE = Exercise(
    ASSIGNMENT, "trained_mlp_test", "model",
    wrong={
        "untrained": (loaded(np.array([p.data for p in scalar_mlp.MLP(2, NOUTS, seed=0).parameters()])),
                      "above the target"),
        "20 steps only": (_lazy(steps=20), "above the target"),
        "trained on the labels 0 and 1": (_lazy(targets="01"), "labels 0 and 1"),
        "tanh on the output": (_lazy_with(classes(mlp_call=_mlp_tanh_on_output)), text("mistake.mlp_tanh_last")),
        "answers the targets": (lambda: _Answers(_lazy()()), "does not match the reference"),
        "a model of another kind": (lambda: _Answers(_lazy()()).without_layers(), "has no attribute 'layers'"),
        "another architecture": (_lazy(nouts=(4, 1)), "The model holds 17 weights and biases"),
        "forward without bias": (_lazy_with(classes(neuron_call=lambda self, x: (lambda z: z.tanh() if self.nonlinear
                                                                                  else z)(
            sum(w * v for w, v in zip(self.w, x))))), text("mistake.mlp_no_bias")),
        "layers not chained": (_lazy_with(classes(mlp_call=_mlp_not_chained)), text("mistake.mlp_not_chained")),
        "one output returned bare": (_lazy_with(classes(mlp_call=_mlp_one_output_bare)),
                                     "a list even when there is one output"),
        "diverged": (_lazy(learning_rate=3.0, steps=60), "above the target"),
        "the library's MLP": (_lazy_with(_LibraryMLP), "which already does what this exercise asks you to write"),
    },
    right={
        "the notebook's training": _lazy(),
        "trained longer": _lazy(steps=400),
        "the student's Value": _lazy_with(classes(value=StudentValue)),
        # parameters() is graded by check_mlp; the trained model is judged on its weights and outputs
        "parameters() in another order": _lazy_with(classes(neuron_parameters=lambda self: [self.b] + self.w)),
    },
    namespace=lambda make: {"model": make()},
)


EXERCISES = [MLP_EXERCISE, TRAIN_EXERCISE, TRAINED_EXERCISE]
