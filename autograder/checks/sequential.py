"""Check of the backward loop of a stack of modules (notebook 04).

- ``check_sequential_backward(sequential_backward, seed=..., n=4, sizes=[5, 6, 4, 3])``:
  ``sequential_backward(layers, dout)`` runs the delta recursion
  ``dout = layer.backward(dout)`` from the last module of the list to the
  first and returns dL/dz, filling every module's ``grads`` on the way.

The modules are the library's reference layers (so a wrong Linear of the
student's cannot fail this exercise), stacked with distinct, non-square sizes
and different activations, so that a loop in the wrong order, one that stops
early or one that skips a module fails by shape or by value. Before the
student's loop runs, every module holds stale gradients from an earlier
backward, so a module whose backward was never called is caught. The verdict
compares dL/dz and every parameter gradient, each as a separate tensor, with
central differences of the reference forward, for a random upstream gradient.
"""

import numpy as np

from backproplab import layers as L
from backproplab import numeric
from backproplab.messages import text

from ..contract import Case, Check, Reject, describe, register, reject_unless_array
from ..diagnose import compare

# activations of each case, in order; a Linear layer sits between consecutive ones
STACKS = [
    ("linear", "tanh", "linear", "relu", "linear"),
    ("sigmoid", "linear", "relu", "linear", "tanh", "linear", "tanh"),
]
ACTIVATIONS = {"tanh": L.Tanh, "sigmoid": L.Sigmoid, "relu": L.ReLU}
MIN_RELU_INPUT = 1e-3


def _build(kinds, weights):
    """Fresh reference modules for ``kinds``; Linear layers take copies of ``weights`` in order."""
    modules, k = [], 0
    for kind in kinds:
        if kind == "linear":
            W, b = weights[k]
            layer = L.Linear(*W.shape)
            layer.params["W"][...] = W
            layer.params["b"][...] = b
            modules.append(layer)
            k += 1
        else:
            modules.append(ACTIVATIONS[kind]())
    return modules


def _forward(kinds, weights, x):
    """The reference forward of the stack (the library's modules, in order)."""
    z = x
    for layer in _build(kinds, weights):
        z = layer.forward(z)
    return z


def _relu_inputs(kinds, weights, x):
    """The inputs of every ReLU of the stack on x, concatenated."""
    z, seen = x, []
    for kind, layer in zip(kinds, _build(kinds, weights)):
        if kind == "relu":
            seen.append(z.ravel())
        z = layer.forward(z)
    return np.concatenate(seen) if seen else np.zeros(0)


def _draw(rng, kinds, n, sizes):
    """Seeded (x, weights, dout, stale) for the stack, every ReLU input |z| >= MIN_RELU_INPUT."""
    while True:
        dims, weights = iter(zip(sizes[:-1], sizes[1:])), []
        for kind in kinds:
            if kind == "linear":
                d_in, d_out = next(dims)
                weights.append((rng.normal(0.0, 1.0, (d_in, d_out)) / np.sqrt(d_in) * 1.5,
                                rng.normal(0.0, 0.5, d_out)))
        x = np.clip(rng.normal(0.0, 1.0, (n, sizes[0])), -3.0, 3.0)
        relu = _relu_inputs(kinds, weights, x)
        if relu.size == 0 or (np.min(np.abs(relu)) >= MIN_RELU_INPUT and np.mean(relu > 0) >= 0.25):
            break
    out = _forward(kinds, weights, x)
    dout = rng.normal(0.0, 1.0, out.shape)
    stale = rng.normal(0.0, 1.0, out.shape)
    return x, weights, dout, stale


def _parameter_names(modules):
    """[(module index, parameter name)] of every parameter of the stack, in order."""
    return [(i, name) for i, layer in enumerate(modules) for name in sorted(layer.params)]


class SequentialBackward(Check):
    """sequential_backward(layers, dout) returns dL/dz of the stack and fills every module's grads."""

    name = "sequential_backward"
    what = "sequential_backward(layers, dout)"
    defaults = {"seed": 0, "n": 4, "sizes": [5, 6, 4, 3]}

    def resolve(self, params):
        params = super().resolve(params)
        sizes = params["sizes"]
        if not (isinstance(sizes, list) and len(sizes) == 4 and all(isinstance(s, int) and s > 0 for s in sizes)):
            raise TypeError(text("check.sequential_sizes", got=sizes))
        return params

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for index, kinds in enumerate(STACKS):
            x, weights, dout, stale = _draw(rng, kinds, params["n"], params["sizes"])
            label = text("check.case_sequential", index=index, stack=" -> ".join(kinds), shape=x.shape)
            cases.append(Case(label, {"kinds": kinds, "x": x, "weights": weights, "dout": dout, "stale": stale}))
        return cases

    def _stale_modules(self, case):
        """The reference modules after a forward and an earlier backward (stale gradients)."""
        modules = _build(case.data["kinds"], case.data["weights"])
        z = case.data["x"].copy()
        for layer in modules:
            z = layer.forward(z)
        dout = case.data["stale"].copy()
        for layer in reversed(modules):
            dout = layer.backward(dout)
        z = case.data["x"].copy()  # forward again: the caches are those of x
        for layer in modules:
            z = layer.forward(z)
        return modules

    def call(self, student, case):
        modules = self._stale_modules(case)
        dz = student(list(modules), case.data["dout"].copy())
        grads = [np.array(modules[i].grads[name], copy=True) for i, name in _parameter_names(modules)]
        return (dz, *grads)

    def judge(self, case, value, params):
        kinds, weights, x, dout = (case.data[k] for k in ("kinds", "weights", "x", "dout"))
        names = _parameter_names(_build(kinds, weights))
        if not isinstance(value, tuple) or len(value) != 1 + len(names):
            raise Reject(text("check.sequential_result", what=self.what, count=1 + len(names), got=_describe(value)))
        stale_modules = self._stale_modules(case)
        dz = reject_unless_array(value[0], x.shape, self.what)
        expected, noise = numeric.numerical_vjp(lambda v: _forward(kinds, weights, v), x, dout, with_noise=True)
        worst = compare(dz, expected, noise, what=self.what, mistakes=self._mistakes(kinds, weights, x, dout))
        for (i, name), got in zip(names, value[1:]):
            what = text("check.sequential_grad", index=i, name=name)
            k = sum(1 for kind in kinds[:i] if kind == "linear")
            tensor = weights[k][0 if name == "W" else 1]
            got = reject_unless_array(got, tensor.shape, what)

            def f(p, k=k, name=name):
                changed = [(W, b) for W, b in weights]
                changed[k] = (p, changed[k][1]) if name == "W" else (changed[k][0], p)
                return _forward(kinds, changed, x)

            expected, noise = numeric.numerical_vjp(f, tensor, dout, with_noise=True)
            stale = stale_modules[i].grads[name]
            worst = max(worst, compare(got, expected, noise, what=what, mistakes={"seq_stale_grads": stale}))
        return worst

    def _mistakes(self, kinds, weights, x, dout):
        """What the usual wrong loops return for dL/dz, where they return the right shape."""
        modules = _build(kinds, weights)
        z = x.copy()
        for layer in modules:
            z = layer.forward(z)
        ones = np.ones_like(dout)
        for layer in reversed(modules):
            ones = layer.backward(ones)
        mistakes = {"seq_ignored_upstream": ones}
        if kinds[0] != "linear":  # stopping before the first module leaves the shape unchanged
            delta = dout.copy()
            for layer in reversed(modules[1:]):
                delta = layer.backward(delta)
            mistakes["seq_stopped_early"] = delta
        return mistakes


def _describe(value):
    if isinstance(value, tuple):
        return describe(value)
    return type(value).__name__


check_sequential_backward = register(SequentialBackward)
