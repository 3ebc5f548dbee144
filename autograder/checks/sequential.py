"""Checks of notebook 04's stack of modules and its optimizer, method by method.

- ``check_sequential_forward(Sequential, seed=..., n=4, sizes=[5, 6, 4, 3])``:
  ``Sequential(*modules).forward(z)`` runs the modules left to right and
  returns the last one's output;
- ``check_sequential_backward(Sequential, seed=..., n=4, sizes=[5, 6, 4, 3])``:
  ``Sequential(*modules).backward(dout)`` runs the delta recursion
  ``dout = layer.backward(dout)`` from the last module to the first and
  returns dL/dz, every module filling its ``grads`` on the way;
- ``check_sgd_step(SGD, seed=..., shapes=[[3, 4], [4], [4, 2], [2]])``:
  ``SGD(pairs, lr).step()`` moves every parameter array by ``-lr * grad``, in
  place, leaving the gradients alone; a second step after new gradients were
  written into the same arrays moves them again.

The student's class is built with its given constructor; the modules are the
library's reference layers (a wrong Linear of the student's cannot fail these
exercises), stacked with distinct, non-square sizes and different
activations, so that a loop in the wrong order, one that stops early or one
that skips a module fails by shape or by value. Before the student's backward
runs, every module holds stale gradients from an earlier backward, so a module
whose backward was never called is caught. The backward verdict compares
dL/dz and every parameter gradient, each as a separate tensor, with central
differences of the reference forward, for a random upstream gradient. The
forward check never calls the student's backward, and the backward check runs
the reference forward itself, so each method is graded alone.
"""

import numpy as np

from backproplab import layers as L
from backproplab import numeric
from backproplab.messages import text

from .. import evidence
from ..contract import Case, Check, Reject, describe, register, reject_unless_array
from ..diagnose import compare
from .finite_differences import DIFFERENTIATORS

# What already does the exercise: the library's Sequential and SGD.
SEQUENTIAL = ("backproplab.layers.Sequential.forward", "backproplab.layers.Sequential.backward")
OPTIMIZER = ("backproplab.layers.SGD.step",)

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
    """The reference forward of the stack: the library's activations, and z W + b for a Linear layer
    (Linear.forward's arithmetic, without making a module for each of the many calls of a finite difference)."""
    z, k = x, 0
    for kind in kinds:
        if kind == "linear":
            W, b = weights[k]
            z = z @ W + b
            k += 1
        else:
            z = ACTIVATIONS[kind]().forward(z)
    return z


def _parameter_vjp(kinds, weights, x, dout, index, name):
    """Module `index`'s parameter `name` of the stack, and dout times d(output)/d(parameter) by differences."""
    k = sum(1 for kind in kinds[:index] if kind == "linear")
    tensor = weights[k][0 if name == "W" else 1]

    def f(p):
        changed = list(weights)
        changed[k] = (p, weights[k][1]) if name == "W" else (weights[k][0], p)
        return _forward(kinds, changed, x)

    expected, noise = numeric.numerical_vjp(f, tensor, dout, with_noise=True)
    return tensor, expected, noise


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


def _sizes_param(params):
    sizes = params["sizes"]
    if not (isinstance(sizes, list) and len(sizes) == 4 and all(isinstance(s, int) and s > 0 for s in sizes)):
        raise TypeError(text("check.sequential_sizes", got=sizes))
    return params


def _stack(student, modules):
    """The student's Sequential holding ``modules`` (its given constructor)."""
    if not isinstance(student, type):
        raise TypeError(text("check.layer_not_class", got=type(student).__name__))
    return student(*modules)


class _StackCheck(Check):
    defaults = {"seed": 0, "n": 4, "sizes": [5, 6, 4, 3]}
    delegation = SEQUENTIAL

    def resolve(self, params):
        return _sizes_param(super().resolve(params))

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for index, kinds in enumerate(STACKS):
            x, weights, dout, stale = _draw(rng, kinds, params["n"], params["sizes"])
            label = text("check.case_sequential", index=index, stack=" -> ".join(kinds), shape=x.shape)
            cases.append(Case(label, {"kinds": kinds, "x": x, "weights": weights, "dout": dout, "stale": stale}))
        return cases


class SequentialForward(_StackCheck):
    """Sequential(*modules).forward(z) returns the last module's output, the modules run in order."""

    name = "sequential_forward"
    what = "Sequential.forward(z)"

    def call(self, student, case):
        modules = _build(case.data["kinds"], case.data["weights"])
        x = case.data["x"].copy()
        out = _stack(student, modules).forward(x)
        return out, x

    def judge(self, case, value, params):
        kinds, weights, x = (case.data[k] for k in ("kinds", "weights", "x"))
        if not isinstance(value, tuple) or len(value) != 2:
            raise Reject(text("check.malformed", why="expected 2 results"))
        expected = _forward(kinds, weights, x)
        got = value[0]
        if isinstance(got, (list, tuple)):
            raise Reject(text("check.sequential_forward_list", what=self.what, count=len(got)))
        if isinstance(got, np.ndarray) and got.shape != expected.shape:
            hint = ""
            short = x
            for layer in _build(kinds, weights)[:-1]:
                short = layer.forward(short)
            if got.shape == x.shape and np.array_equal(got, x):
                hint = text("mistake.seq_forward_input")
            elif got.shape == short.shape and np.allclose(got, short, rtol=1e-9, atol=1e-12):
                hint = text("mistake.seq_forward_skips_last")
            raise Reject(text("check.wrong_shape", what=self.what, expected=expected.shape, got=got.shape,
                              hint=" " + hint if hint else ""))
        got = reject_unless_array(got, expected.shape, self.what)
        if not np.array_equal(reject_unless_array(value[1], x.shape, "z"), x):
            raise Reject(text("check.layer_changed", what=self.what, name="z", index="?", before="?", after="?"))
        modules = _build(kinds, weights)
        mistakes = {}
        if kinds[-1] != "linear":  # the last module skipped leaves the shape unchanged
            z = x
            for layer in modules[:-1]:
                z = layer.forward(z)
            mistakes["seq_forward_skips_last"] = z
        if kinds[0] != "linear":
            mistakes["seq_forward_skips_first"] = _forward(kinds[1:], weights, x)
        noise = numeric.EPS * 16 * (1.0 + np.abs(expected))
        return compare(got, expected, noise, what=self.what, mistakes=mistakes)


check_sequential_forward = register(SequentialForward)


class SequentialBackward(_StackCheck):
    """Sequential(*modules).backward(dout) returns dL/dz of the stack and fills every module's grads."""

    name = "sequential_backward"
    what = "Sequential.backward(dout)"

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
        dz = _stack(student, list(modules)).backward(case.data["dout"].copy())
        grads = [np.array(modules[i].grads[name], copy=True) for i, name in _parameter_names(modules)]
        return (dz, *grads)

    def judge(self, case, value, params):
        kinds, weights, x, dout = (case.data[k] for k in ("kinds", "weights", "x", "dout"))
        names = _parameter_names(_build(kinds, weights))
        if not isinstance(value, tuple) or len(value) != 1 + len(names):
            raise Reject(text("check.sequential_result", what=self.what, count=1 + len(names), got=_describe(value)))
        stale_modules = self._stale_modules(case)
        first = value[0]
        if isinstance(first, np.ndarray) and first.shape != x.shape:
            delta = dout.copy()
            for layer in reversed(stale_modules[1:]):
                delta = layer.backward(delta)
            hint = ""
            last = stale_modules[-1].backward(dout.copy())
            if first.shape == delta.shape and np.allclose(first, delta, rtol=1e-9, atol=1e-12):
                hint = text("mistake.seq_stopped_early")
            elif first.shape == dout.shape and np.array_equal(first, dout):
                hint = text("mistake.seq_returned_dout")
            elif first.shape == last.shape and np.allclose(first, last, rtol=1e-9, atol=1e-12):
                hint = text("mistake.seq_returned_first_delta")
            if hint:
                raise Reject(text("check.wrong_shape", what=self.what, expected=x.shape, got=first.shape,
                                  hint=" " + hint))
            stale_modules = self._stale_modules(case)
        dz = reject_unless_array(first, x.shape, self.what)
        expected, noise = numeric.numerical_vjp(lambda v: _forward(kinds, weights, v), x, dout, with_noise=True)
        worst = compare(dz, expected, noise, what=self.what, mistakes=self._mistakes(kinds, weights, x, dout))
        for (i, name), got in zip(names, value[1:]):
            what = text("check.sequential_grad", index=i, name=name)
            tensor, expected, noise = _parameter_vjp(kinds, weights, x, dout, i, name)
            got = reject_unless_array(got, tensor.shape, what)
            stale = stale_modules[i].grads[name]
            worst = max(worst, compare(got, expected, noise, what=what, mistakes={"seq_stale_grads": stale}))
        return worst

    def _judge_record(self, case, record, params):
        try:
            return super()._judge_record(case, record, params)
        except Reject as why:
            raise Reject(str(why) + self._raised_hint(case, record)) from None

    def _raised_hint(self, case, record):
        """For a backward that raised: the usual wrong loop that raises the same error, named."""
        try:
            value = evidence.decode(record)
        except evidence.MalformedEvidence:
            return ""
        if not isinstance(value, evidence.Raised):
            return ""
        dout = case.data["dout"]

        def forward_order(layers):
            delta = dout.copy()
            for layer in layers:
                delta = layer.backward(delta)

        def same_dout(layers):
            for layer in reversed(layers):
                layer.backward(dout.copy())

        for key, loop in (("mistake.seq_not_reversed", forward_order), ("mistake.seq_same_dout", same_dout)):
            try:
                loop(self._stale_modules(case))
            except Exception as error:  # the reference modules refuse a delta of the wrong shape
                if type(error).__name__ == value.type and str(error)[:200] == (value.message or "")[:200]:
                    return "\n" + text(key)
        return ""

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


# -- check_sgd_step ---------------------------------------------------------------------------------

class SGDStep(Check):
    """SGD(pairs, lr).step() moves each param by -lr * grad, in place, and leaves the grads alone."""

    name = "sgd_step"
    what = "SGD.step()"
    defaults = {"seed": 0, "shapes": [[3, 4], [4], [4, 2], [2]]}
    delegation = OPTIMIZER

    def resolve(self, params):
        params = super().resolve(params)
        shapes = params["shapes"]
        if not (isinstance(shapes, list) and shapes and all(
                isinstance(s, list) and s and all(isinstance(k, int) and k > 0 for k in s) for s in shapes)):
            raise TypeError(text("check.sgd_shapes", got=shapes))
        return params

    def cases(self, params):
        rng = np.random.default_rng([int(params["seed"]) % 2**32, 11])
        shapes = [tuple(s) for s in params["shapes"]]
        data = {"lr": float(rng.uniform(0.05, 0.4)),
                "params": [rng.normal(0.0, 1.0, s) for s in shapes],
                "grads": [rng.normal(0.0, 1.0, s) for s in shapes],
                "grads2": [rng.normal(0.0, 1.0, s) for s in shapes]}
        label = text("check.case_sgd", count=len(shapes), shapes=", ".join(str(s) for s in shapes), lr=data["lr"])
        return [Case(label, data)]

    def call(self, student, case):
        data = case.data
        if not isinstance(student, type):
            raise TypeError(text("check.layer_not_class", got=type(student).__name__))
        params = [p.copy() for p in data["params"]]
        grads = [g.copy() for g in data["grads"]]
        opt = student(list(zip(params, grads)), data["lr"])
        opt.step()
        first = [p.copy() for p in params] + [g.copy() for g in grads]
        for g, g2 in zip(grads, data["grads2"]):  # a new backward writes into the same arrays
            g[...] = g2
        opt.step()
        second = [p.copy() for p in params]
        return tuple(first + second)

    def judge(self, case, value, params):
        data = case.data
        k, lr = len(data["params"]), data["lr"]
        if not isinstance(value, tuple) or len(value) != 3 * k:
            raise Reject(text("check.malformed", why=f"expected {3 * k} results"))
        p0, g1, g2 = data["params"], data["grads"], data["grads2"]
        arrays = [reject_unless_array(v, p.shape, self.what) for v, p in zip(value, p0 + g1 + p0)]
        got1, grads_after, got2 = arrays[:k], arrays[k:2 * k], arrays[2 * k:]
        for i, (g, before) in enumerate(zip(grads_after, g1)):
            if not np.array_equal(g, before):
                raise Reject(text("check.sgd_grads_changed", what=self.what, index=i))
        flat = np.concatenate

        def moved(after, before):
            return flat([(a - b).ravel() for a, b in zip(after, before)])

        step = flat([(-lr * g).ravel() for g in g1])
        first_only = flat([(-lr * g).ravel() if i == 0 else np.zeros(g.size) for i, g in enumerate(g1)])
        last_only = flat([(-lr * g).ravel() if i == k - 1 else np.zeros(g.size) for i, g in enumerate(g1)])
        mistakes = {"sgd_not_in_place": np.zeros_like(step), "sgd_no_lr": -flat([g.ravel() for g in g1]),
                    "sgd_divided_by_lr": -flat([g.ravel() for g in g1]) / lr,
                    "sgd_forgot_param": step - flat([p.ravel() for p in p0]),
                    "sgd_first_pair_only": first_only, "sgd_last_pair_only": last_only}
        if k == 1:
            mistakes.pop("sgd_first_pair_only")
            mistakes.pop("sgd_last_pair_only")
        scale = flat([(np.abs(p) + lr * np.abs(g)).ravel() for p, g in zip(p0, g1)])
        noise = 4 * numeric.EPS * (1.0 + scale)
        worst = compare(moved(got1, p0), step, noise, what=text("check.sgd_first_step", what=self.what),
                        mistakes=mistakes)
        second = flat([(-lr * g).ravel() for g in g2])
        stale = flat([(-lr * g).ravel() for g in g1])
        noise2 = 4 * numeric.EPS * (1.0 + scale + flat([lr * np.abs(g).ravel() for g in g2]))
        return max(worst, compare(moved(got2, got1), second, noise2,
                                  what=text("check.sgd_second_step", what=self.what),
                                  mistakes={"sgd_stale_grads": stale, "sgd_not_in_place": np.zeros_like(second)}))


check_sgd_step = register(SGDStep)
