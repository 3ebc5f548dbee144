"""A multilayer perceptron made of scalar Values, and the loop that trains it (notebook 03).

Every weight is a :class:`backproplab.value.Value`, so a forward pass builds a
computational graph and ``cost.backward()`` fills every parameter's ``grad``.
The contracts are those of the notebook's exercises:

- ``Neuron(nin, rng, nonlinear=True)``: weights ``w`` (nin Values), then a
  bias ``b``, each drawn with ``rng.uniform(-1, 1)`` in that order;
- ``Layer(nin, nout, rng, nonlinear=True)``: ``neurons``, a list of nout Neurons;
- ``MLP(nin, nouts, seed=0)``: layers of sizes [nin] + nouts, tanh in every
  layer but the last, which is linear;
- ``train(model, X, y, steps, learning_rate)``: full-batch gradient descent on
  the mean squared error of the model's first output.

Each of them has ``parameters()``: its Values in a fixed order (a neuron's
weights, then its bias; neuron by neuron; layer by layer).
"""

import numpy as np

from backproplab.value import Value


class Neuron:
    """One unit: ``neuron(x)`` is tanh(w . x + b), or w . x + b when nonlinear is False.

    nin: the number of inputs; rng: a numpy.random.Generator, from which the
    nin weights and then the bias are drawn, each rng.uniform(-1, 1) (labelled
    w1, w2, ... and b, for drawings). Calling it on x (nin numbers or Values)
    returns one Value.
    """

    def __init__(self, nin, rng, nonlinear=True):
        self.w = [Value(rng.uniform(-1, 1), f"w{i + 1}") for i in range(nin)]
        self.b = Value(rng.uniform(-1, 1), "b")
        self.nonlinear = nonlinear

    def __call__(self, x):
        z = self.b
        for wi, xi in zip(self.w, x):
            z = z + wi * xi
        return z.tanh() if self.nonlinear else z

    def parameters(self):
        """[w_0, ..., w_{nin-1}, b]: the Values themselves."""
        return self.w + [self.b]


class Layer:
    """nout neurons reading the same input: ``layer(x)`` is the list of their nout outputs.

    nin, nout: input and output sizes; rng: the generator the neurons draw
    from, first neuron first; nonlinear: passed to every neuron.
    """

    def __init__(self, nin, nout, rng, nonlinear=True):
        self.neurons = [Neuron(nin, rng, nonlinear) for _ in range(nout)]

    def __call__(self, x):
        return [neuron(x) for neuron in self.neurons]

    def parameters(self):
        """The neurons' parameters, neuron after neuron, in one flat list."""
        return [p for neuron in self.neurons for p in neuron.parameters()]


class MLP:
    """Layers of sizes [nin] + nouts: ``mlp(x)`` is the list of the last layer's outputs.

    nin: the number of inputs; nouts: the sizes of the layers, the last one
    the number of outputs; seed: the seed of np.random.default_rng, from
    which every layer draws in turn. Every layer but the last applies tanh;
    the last is linear. Calling it on x (nin numbers or Values) returns a
    list of nouts[-1] Values, even when there is one output.
    """

    def __init__(self, nin, nouts, seed=0):
        rng = np.random.default_rng(seed)
        sizes = [nin] + list(nouts)
        last = len(nouts) - 1
        self.layers = [Layer(sizes[i], sizes[i + 1], rng, nonlinear=i < last) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        """Every layer's parameters, first layer first, in one flat list."""
        return [p for layer in self.layers for p in layer.parameters()]


def train(model, X, y, steps, learning_rate):
    """Full-batch gradient descent on the mean squared error; returns the costs.

    model: an MLP with one output; X: N inputs, each nin numbers (a list of
    lists, or an (N, nin) array); y: N target numbers; steps: how many
    updates; learning_rate: the step size. Every step computes the cost
    C = mean over samples of (model(x)[0] - y)^2, sets every parameter's
    grad to 0, runs C.backward() and moves every parameter's data by
    -learning_rate times its grad. The model is changed in place. Returns
    the list of the ``steps`` costs, floats, each taken before its update.
    """
    costs = []
    for _ in range(steps):
        losses = [(model(x)[0] - target) ** 2 for x, target in zip(X, y)]
        cost = sum(losses) / len(losses)
        for p in model.parameters():
            p.grad = 0.0
        cost.backward()
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        costs.append(cost.data)
    return costs
