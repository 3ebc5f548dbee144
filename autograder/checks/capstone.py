"""Checks of notebook 07 (capstone): the student's Sequential, gradient check and digits network.

- ``check_sequential_module(Sequential, seed=0, n=4, sizes=[5, 6, 4, 3])``:
  the student's ``Sequential(*layers)`` around the library's reference
  layers: ``forward(x)`` by value, ``backward(dout)`` (dL/dx and every
  layer's gradients against finite differences of the reference forward,
  for a random upstream gradient), and ``parameters()``, which must list the
  layers' own ``(param, grad)`` arrays, in order (the training loop updates
  them in place).
- ``check_network_gradients(numerical_gradients, seed=0, n=6, d=4, h=5,
  c=3)``: ``numerical_gradients(model, loss, X, y)`` returns, for every pair
  of ``model.parameters()``, the central-difference gradient of the cost
  ``loss.forward(model.forward(X), y)`` with respect to that parameter, and
  leaves every parameter as it found it. Judged against the exact gradient
  (the library's backward) within finite-difference accuracy; an answer that
  IS the exact gradient (backward called) fails too.
- ``check_digits(fit_digits, seed=0, target=0.95)``: ``fit_digits(seed)``
  builds a network of the student's modules, trains it on the digits'
  training set and returns ``(model, costs)``. The evidence is the layers
  (kind, W, b), the cost after each epoch and the model's outputs on the test
  images; the verdict recomputes the test accuracy with a trusted forward
  from the recorded weights (the kernel holds the test set: a printed
  accuracy proves nothing), checks that the model computes what its weights
  say and that the last cost is the training cost of those weights, and,
  below the target, reads the cost history to say what to try.
"""

import numpy as np

from backproplab import datasets, numeric
from backproplab import layers as L
from backproplab.messages import text

from .. import evidence
from ..contract import Case, Check, Reject, register, reject_unless_array
from ..delegation import DELEGATED
from ..diagnose import compare
from .sequential import STACKS, _build, _draw, _forward, _parameter_names, _parameter_vjp

EPS = np.finfo(np.float64).eps

# what answers these exercises already (the notebook imports none of it)
LIBRARY = ("backproplab.layers.Linear.forward", "backproplab.layers.Linear.backward",
           "backproplab.layers.ReLU.forward", "backproplab.layers.ReLU.backward",
           "backproplab.layers.Tanh.forward", "backproplab.layers.Tanh.backward",
           "backproplab.layers.SoftmaxCrossEntropy.forward", "backproplab.layers.SoftmaxCrossEntropy.backward",
           "backproplab.training.train", "backproplab.training.mlp")


# -- Sequential --------------------------------------------------------------------------------

class SequentialModule(Check):
    """Sequential(*layers): forward left to right, backward right to left, parameters() the layers' own arrays."""

    name = "sequential_module"
    what = "Sequential"
    defaults = {"seed": 0, "n": 4, "sizes": [5, 6, 4, 3]}
    delegation = ("backproplab.layers.Sequential.forward", "backproplab.layers.Sequential.backward",
                  "backproplab.layers.Sequential.parameters")

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        cases = []
        for index, kinds in enumerate(STACKS):
            x, weights, dout, _ = _draw(rng, kinds, params["n"], [int(s) for s in params["sizes"]])
            label = text("check.case_sequential_module", index=index, stack=" -> ".join(kinds), shape=x.shape)
            cases.append(Case(label, {"kinds": kinds, "x": x, "weights": weights, "dout": dout}))
        return cases

    def call(self, student, case):
        modules = _build(case.data["kinds"], case.data["weights"])
        calls = _log_backward_calls(modules)
        net = student(*modules)
        out = net.forward(case.data["x"].copy())
        try:
            dz = net.backward(case.data["dout"].copy())
        except Exception:
            mistake = _backward_order_mistake(calls, len(modules))
            if mistake is None:
                raise
            return (np.array([BACKWARD_MISTAKES.index(mistake)], dtype=np.float64),)
        mistake = _backward_order_mistake(calls, len(modules))
        if mistake is not None:
            return (np.array([BACKWARD_MISTAKES.index(mistake)], dtype=np.float64),)
        grads = [np.array(modules[i].grads[name], copy=True) for i, name in _parameter_names(modules)]
        expected = [(modules[i].params[name], modules[i].grads[name]) for i, name in _parameter_names(modules)]
        pairs = list(net.parameters())
        same = [float(len(pairs) == len(expected))]
        for k, pair in enumerate(pairs[:len(expected)]):
            ok = isinstance(pair, tuple) and len(pair) == 2
            same.append(float(ok and pair[0] is expected[k][0] and pair[1] is expected[k][1]))
        return (out, dz, np.array([len(pairs)] + same, dtype=np.float64), *grads)

    def judge(self, case, value, params):
        kinds, weights, x, dout = (case.data[k] for k in ("kinds", "weights", "x", "dout"))
        names = _parameter_names(_build(kinds, weights))
        if isinstance(value, tuple) and len(value) == 1:
            code = np.asarray(value[0]).ravel()
            if code.size == 1 and code[0] == BACKWARD_MISTAKES.index("forward_order"):
                raise Reject(text("check.stack_backward_forward_order", layers=len(kinds)))
            if code.size == 1 and code[0] == BACKWARD_MISTAKES.index("not_passed"):
                raise Reject(text("check.stack_backward_not_passed"))
        if not isinstance(value, tuple) or len(value) != 3 + len(names):
            raise Reject(text("check.malformed", why=f"expected {3 + len(names)} items"))
        expected_out = _forward(kinds, weights, x)
        out = reject_unless_array(value[0], expected_out.shape, "Sequential.forward(x)")
        worst = compare(out, expected_out, 10 * EPS * np.abs(expected_out), what="Sequential.forward(x)",
                        mistakes={"stack_forward_first_only": _forward(kinds[:1], weights[:1], x)
                                  if kinds[0] == "linear" else x})
        dz = reject_unless_array(value[1], x.shape, "Sequential.backward(dout)")
        numerical, noise = numeric.numerical_vjp(lambda v: _forward(kinds, weights, v), x, dout, with_noise=True)
        worst = max(worst, compare(dz, numerical, noise, what="Sequential.backward(dout)"))
        for (i, name), got in zip(names, value[3:]):
            what = text("check.sequential_grad_module", index=i, name=name)
            tensor, expected, noise = _parameter_vjp(kinds, weights, x, dout, i, name)
            got = reject_unless_array(got, tensor.shape, what)
            worst = max(worst, compare(got, expected, noise, what=what,
                                       mistakes={"stack_grads_untouched": np.zeros_like(expected)}))
        pairs = np.asarray(value[2])
        if pairs.ndim != 1 or pairs.size < 2 or pairs[1] != 1.0:
            got = int(pairs[0]) if pairs.size else 0
            raise Reject(text("check.stack_parameter_count", got=got, expected=len(names)))
        if not np.all(pairs[2:] == 1.0):
            first = int(np.flatnonzero(pairs[2:] != 1.0)[0])
            raise Reject(text("check.stack_parameters_not_own", index=first, layer=names[first][0],
                              name=names[first][1]))
        return worst


check_sequential_module = register(SequentialModule)

BACKWARD_MISTAKES = ("forward_order", "not_passed")


def _log_backward_calls(modules):
    """Make every module note, at each backward, (its index, the dout it was given, what it returned)."""
    calls = []
    for index, module in enumerate(modules):
        def backward(dout, index=index, original=module.backward):
            calls.append([index, dout, None])
            result = original(dout)
            calls[-1][2] = result
            return result
        module.backward = backward
    return calls


def _backward_order_mistake(calls, count):
    """The ordering mistake the backward calls show (a key of BACKWARD_MISTAKES), or None."""
    order = [index for index, _, _ in calls]
    if count > 1 and order and order[0] == 0:  # the first backward went to the first layer, not the last
        return "forward_order"
    for (_, _, returned), (_, given, _) in zip(calls, calls[1:]):
        if returned is not None and given is not returned and not (
                np.shape(given) == np.shape(returned) and np.array_equal(given, returned)):
            return "not_passed"
    return None


# -- the student's gradient check ----------------------------------------------------------------

def _small_network(params):
    """(layers of a reference Linear-Tanh-Linear net, X, y) drawn from the seed."""
    rng = np.random.default_rng([int(params["seed"]) % 2**32, 707])
    n, d, h, c = (int(params[k]) for k in ("n", "d", "h", "c"))
    weights = [(rng.normal(0.0, 1.2 / np.sqrt(d), (d, h)), rng.normal(0.0, 0.5, h)),
               (rng.normal(0.0, 1.2 / np.sqrt(h), (h, c)), rng.normal(0.0, 0.5, c))]
    X = np.clip(rng.normal(0.0, 1.0, (n, d)), -3, 3)
    y = rng.permutation(np.arange(n) % c).astype(np.int64)
    return weights, X, y


def _net(weights):
    first, second = L.Linear(*weights[0][0].shape), L.Linear(*weights[1][0].shape)
    for layer, (W, b) in zip((first, second), weights):
        layer.params["W"][...] = W
        layer.params["b"][...] = b
    return L.Sequential(first, L.Tanh(), second)


def _exact(weights, X, y):
    """(cost, [dC/dparam for each pair of parameters()]) by the library's backward."""
    net, loss = _net(weights), L.SoftmaxCrossEntropy()
    cost = loss.forward(net.forward(X), y)
    net.backward(loss.backward(1.0))
    return cost, [np.array(g, copy=True) for _, g in net.parameters()]


def _one_sided(weights, X, y, h=1e-5):
    """The forward-difference gradient (f(p + h) - f(p)) / h of every parameter (a known mistake)."""
    net, loss = _net(weights), L.SoftmaxCrossEntropy()
    base = loss.forward(net.forward(X), y)
    result = []
    for param, _ in net.parameters():
        g = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            old = param[i]
            param[i] = old + h
            g[i] = (loss.forward(net.forward(X), y) - base) / h
            param[i] = old
        result.append(g)
    return result


class NumericalGradients(Check):
    """numerical_gradients(model, loss, X, y): central differences of the cost for every parameter."""

    name = "network_gradients"
    what = "numerical_gradients(model, loss, X, y)"
    defaults = {"seed": 0, "n": 6, "d": 4, "h": 5, "c": 3}
    delegation = ("backproplab.numeric.numerical_gradient", "backproplab.numeric.numerical_vjp",
                  "backproplab.numeric.numerical_jacobian", "backproplab.numeric.central_difference",
                  "backproplab.gradcheck.gradcheck", "scipy.optimize.approx_fprime", "numpy.gradient")

    def cases(self, params):
        weights, X, y = _small_network(params)
        label = text("check.case_numerical_gradients", n=len(X), d=X.shape[1], h=weights[0][0].shape[1],
                     c=weights[1][0].shape[1])
        return [Case(label, {"weights": weights, "X": X, "y": y})]

    def call(self, student, case):
        d = case.data
        net = _net(d["weights"])
        result = student(net, L.SoftmaxCrossEntropy(), d["X"].copy(), d["y"].copy())
        after = np.concatenate([p.ravel() for p, _ in net.parameters()])
        if isinstance(result, (list, tuple)):
            result = tuple(np.array(r, copy=True) if isinstance(r, np.ndarray) else r for r in result)
        return (result, after)

    def judge(self, case, value, params):
        d = case.data
        cost, exact = _exact(d["weights"], d["X"], d["y"])
        if not isinstance(value, tuple) or len(value) != 2:
            raise Reject(text("check.malformed", why="expected (result, parameters)"))
        result, after = value
        if not isinstance(result, tuple):
            raise Reject(text("check.numgrad_not_list", what=self.what, count=len(exact), got=_kind(result)))
        if len(result) != len(exact):
            raise Reject(text("check.numgrad_count", what=self.what, count=len(exact), got=len(result)))
        before = np.concatenate([a.ravel() for W, b in d["weights"] for a in (W, b)])
        after = reject_unless_array(after, before.shape, self.what)
        if not np.array_equal(after, before):
            moved = np.flatnonzero(after != before)
            raise Reject(text("check.numgrad_not_restored", count=moved.size, total=before.size,
                              gap=float(np.max(np.abs(after - before)))))
        names = ["W1", "b1", "W2", "b2"]
        one_sided = _one_sided(d["weights"], d["X"], d["y"])
        # central differences at h ~ 1e-5 agree with the exact gradient to ~1e-10 of the cost's scale;
        # the noise term allows steps from about 1e-7 to 1e-3
        noise = 1e-9 * max(1.0, abs(cost))
        worst = 0.0
        for name, got, expected, forward in zip(names, result, exact, one_sided):
            what = text("check.numgrad_tensor", what=self.what, name=name)
            if getattr(got, "original_dtype", None) == "float32":
                raise Reject(text("check.numgrad_single_precision", what=what))
            got = reject_unless_array(got, expected.shape, what)
            mistakes = {"numgrad_zero": np.zeros_like(expected),
                        "numgrad_whole_array": np.full_like(expected, expected.sum()),
                        "numgrad_one_sided": forward}
            worst = max(worst, compare(got, expected, noise, what=what, mistakes=mistakes))
        gap = max(float(np.max(np.abs(g - e))) for g, e in zip(result, exact))
        scale = max(float(np.max(np.abs(e))) for e in exact)
        if gap <= 1e-13 * scale:
            raise Reject(text("check.numgrad_is_backprop", what=self.what))
        return worst


check_network_gradients = register(NumericalGradients)


def _kind(value):
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return type(value).__name__ if not hasattr(value, "type") else getattr(value, "type")


# -- the digits network ------------------------------------------------------------------------

KINDS = {"Linear": 0.0, "ReLU": 1.0, "Tanh": 2.0, "Sigmoid": 3.0}

UNKNOWN = -1.0


def _activation(code, z):
    if code == KINDS["ReLU"]:
        return np.maximum(z, 0.0)
    if code == KINDS["Tanh"]:
        return np.tanh(z)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def trusted_forward(layers, X):
    """The outputs of a stack of layers [(kind code, W, b)] on X, computed by the grader."""
    z = X
    for code, W, b in layers:
        z = z @ W + b if code == KINDS["Linear"] else _activation(code, z)
    return z


def _cost(scores, y):
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


class Digits(Check):
    """fit_digits(seed) -> (model, costs): the student's network trained on the digits reaches the target."""

    name = "digits"
    what = "fit_digits(seed)"
    defaults = {"seed": 0, "target": 0.95}
    delegation = LIBRARY

    def cases(self, params):
        label = text("check.case_digits", seed=params["seed"], target=params["target"])
        return [Case(label, {"seed": params["seed"], "target": float(params["target"])})]

    def call(self, student, case):
        result = student(case.data["seed"])
        if not (isinstance(result, tuple) and len(result) == 2):
            return (np.array([UNKNOWN, 0.0]),)
        model, costs = result
        layers = list(getattr(model, "layers", None) or [])
        if not layers:
            return (np.array([UNKNOWN, 1.0]),)
        kinds, record = [], []
        for layer in layers:
            code = KINDS.get(type(layer).__name__, UNKNOWN)
            kinds.append(code)
            if code == KINDS["Linear"]:
                record += [np.array(layer.params["W"], dtype=np.float64), np.array(layer.params["b"], dtype=np.float64)]
        _, X_test, _, _ = datasets.digits_split()
        try:
            costs = np.asarray(costs, dtype=np.float64)
        except (TypeError, ValueError):
            costs = np.zeros(0)
        outputs = np.asarray(model.forward(X_test.copy()), dtype=np.float64)
        return (np.array(kinds), costs, outputs, *record)

    def judge(self, case, value, params):
        if not isinstance(value, tuple) or not value:
            raise Reject(text("check.malformed", why="expected a tuple"))
        kinds = np.asarray(value[0])
        if kinds.size == 2 and kinds[0] == UNKNOWN:
            if kinds[1] == 0:
                raise Reject(text("check.digits_result"))
            raise Reject(text("check.digits_no_layers"))
        if np.any(kinds == UNKNOWN):
            raise Reject(text("check.digits_unknown_layer", index=int(np.flatnonzero(kinds == UNKNOWN)[0]),
                              known=", ".join(KINDS)))
        X_train, X_test, y_train, y_test = datasets.digits_split()
        arrays = list(value[3:])
        layers, k = [], 0
        for code in kinds:
            if code == KINDS["Linear"]:
                if k + 1 >= len(arrays) + 1:
                    raise Reject(text("check.malformed", why="missing weights"))
                layers.append((code, np.asarray(arrays[k]), np.asarray(arrays[k + 1])))
                k += 2
            else:
                layers.append((code, None, None))
        try:
            scores = trusted_forward(layers, X_test)
        except ValueError as exc:
            raise Reject(text("check.digits_shapes", why=exc)) from None
        if scores.shape != (len(y_test), 10):
            raise Reject(text("check.digits_output_shape", got=scores.shape))
        costs = np.asarray(value[1])
        if costs.ndim != 1 or costs.size == 0:
            raise Reject(text("check.digits_costs"))
        if not np.all(np.isfinite(costs)) or not np.all(np.isfinite(scores)):
            raise Reject(text("check.digits_diverged"))
        outputs = reject_unless_array(value[2], scores.shape, text("check.digits_outputs"))
        compare(outputs, scores, 1e3 * EPS * (np.abs(scores) + 1.0), what=text("check.digits_outputs"))
        train_scores = trusted_forward(layers, X_train)
        final = _cost(train_scores, y_train)
        if abs(costs[-1] - final) > 1e-9 * max(1.0, final):
            raise Reject(text("check.digits_last_cost", last=float(costs[-1]), final=final))
        test_accuracy = float(np.mean(np.argmax(scores, axis=1) == y_test))
        self._reached = (test_accuracy, int(round(test_accuracy * len(y_test))), len(y_test))
        if test_accuracy < case.data["target"]:
            train_accuracy = float(np.mean(np.argmax(train_scores, axis=1) == y_train))
            raise Reject(text("check.digits_below", accuracy=test_accuracy, target=case.data["target"],
                              right=int(round(test_accuracy * len(y_test))), total=len(y_test),
                              train=train_accuracy) + "\n" + advice(costs, train_accuracy, test_accuracy))
        return 0.0

    def verdict(self, params, records):
        """The verdict; a pass says the test accuracy reached."""
        self._reached = None
        result = super().verdict(params, records)
        if result.passed and self._reached is not None:
            accuracy, right, total = self._reached
            result.message = text("check.digits_passed", what=self.what, accuracy=accuracy, right=right,
                                  total=total, target=float(params["target"]), seed=params.get("seed"))
        return result


# the cost of guessing among the 10 digits: a cost far above it means the steps overshoot
CHANCE_COST = float(np.log(10.0))


def advice(costs, train_accuracy, test_accuracy):
    """What to try, read from the cost after each epoch and the two accuracies."""
    costs = np.asarray(costs, dtype=np.float64)
    rises = int(np.sum(np.diff(costs) > 0))
    if costs.size and (costs[-1] > costs[0] or costs.max() > 3 * CHANCE_COST):
        return text("check.digits_advice_diverged", first=costs[0], last=costs[-1], top=costs.max(),
                    chance=CHANCE_COST)
    if costs.size >= 2 and costs[-1] >= 0.9 * costs[0] and costs[0] > 1.0:
        return text("check.digits_advice_flat", first=costs[0], last=costs[-1])
    if costs.size >= 3 and rises >= max(2, (costs.size - 1) // 5):
        return text("check.digits_advice_rises", rises=rises, epochs=costs.size)
    if costs.size >= 2 and costs[-1] < costs[-2] * 0.97:
        return text("check.digits_advice_falling", drop=100 * (1 - costs[-1] / costs[-2]))
    if train_accuracy - test_accuracy > 0.03:
        return text("check.digits_advice_gap", train=train_accuracy, test=test_accuracy)
    return text("check.digits_advice_capacity", last=costs[-1])


check_digits = register(Digits)


# -- per-sample gradients and the variance of a batch mean -------------------------------------

def _reference_per_sample(weights, X, y):
    rows = []
    for p in range(len(X)):
        _, grads = _exact(weights, X[p:p + 1], y[p:p + 1])
        rows.append(np.concatenate([g.ravel() for g in grads]))
    return np.array(rows)


class PerSampleGradients(Check):
    """per_sample_gradients(model, loss, X, y): (N, P), row p the gradient of sample p's loss alone."""

    name = "per_sample_gradients"
    what = "per_sample_gradients(model, loss, X, y)"
    defaults = {"seed": 0, "n": 6, "d": 4, "h": 5, "c": 3}
    delegation = ("backproplab.training.flat_parameters",)

    def cases(self, params):
        weights, X, y = _small_network(params)
        label = text("check.case_numerical_gradients", n=len(X), d=X.shape[1], h=weights[0][0].shape[1],
                     c=weights[1][0].shape[1])
        return [Case(label, {"weights": weights, "X": X, "y": y})]

    def call(self, student, case):
        d = case.data
        return student(_net(d["weights"]), L.SoftmaxCrossEntropy(), d["X"].copy(), d["y"].copy())

    def judge(self, case, value, params):
        d = case.data
        expected = _reference_per_sample(d["weights"], d["X"], d["y"])
        got = reject_unless_array(value, expected.shape, self.what)
        _, batch = _exact(d["weights"], d["X"], d["y"])
        batch = np.concatenate([g.ravel() for g in batch])
        mistakes = {"per_sample_batch": np.tile(batch, (len(expected), 1)),
                    "per_sample_last": np.tile(expected[-1], (len(expected), 1))}
        return compare(got, expected, 1e3 * EPS * (np.abs(expected) + np.abs(expected).max()), what=self.what,
                       mistakes=mistakes, factors={"N": len(expected)})


check_per_sample_gradients = register(PerSampleGradients)


def variance_of_batch_mean(G, B):
    """sigma^2 / B * (N - B) / (N - 1): the exact variance of the mean of B rows of G drawn without replacement."""
    N = len(G)
    sigma2 = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))
    return sigma2 / B * (N - B) / (N - 1)


class BatchVariance(Check):
    """batch_variance(G, B, draws, rng): the measured variance of the mean of B rows of G drawn without replacement."""

    name = "batch_variance"
    what = "batch_variance(G, B, draws, rng)"
    defaults = {"seed": 0, "n": 40, "p": 6, "draws": 3000}
    delegation = ()

    def cases(self, params):
        rng = np.random.default_rng([int(params["seed"]) % 2**32, 808])
        n, p = int(params["n"]), int(params["p"])
        G = rng.normal(0.0, 1.0, (n, p)) * rng.uniform(0.5, 2.0, p) + rng.normal(0.0, 1.0, p)
        cases = []
        for k, B in enumerate(sorted({1, max(2, n // 8), n // 2, n - 1, n})):
            label = text("check.case_batch_variance", n=n, p=p, B=B, draws=params["draws"])
            cases.append(Case(label, {"G": G, "B": B, "draws": int(params["draws"]),
                                      "rng": [int(params["seed"]) % 2**32, k]}))
        return cases

    def call(self, student, case):
        d = case.data
        return student(d["G"].copy(), d["B"], d["draws"], np.random.default_rng(d["rng"]))

    def judge(self, case, value, params):
        d = case.data
        G, B, N = d["G"], d["B"], len(d["G"])
        expected = variance_of_batch_mean(G, B)
        if isinstance(value, np.ndarray) and value.shape == ():
            value = float(value)
        if not isinstance(value, float):
            raise Reject(text("check.expected_number", what=self.what, got=type(value).__name__))
        tolerance = 0.15 * expected + 1e-12
        if abs(value - expected) <= tolerance:
            return abs(value - expected) / tolerance
        sigma2 = np.mean(np.sum((G - G.mean(axis=0)) ** 2, axis=1))
        named = {"variance_with_replacement": sigma2 / B, "variance_per_coordinate": expected / G.shape[1],
                 "variance_std": np.sqrt(expected)}
        for key, guess in named.items():
            if abs(value - guess) <= 0.15 * guess + 1e-12 and abs(guess - expected) > tolerance:
                raise Reject(text("check.batch_variance_off", got=value, expected=expected, B=B, N=N)
                             + "\n" + text("mistake." + key))
        raise Reject(text("check.batch_variance_off", got=value, expected=expected, B=B, N=N))


check_batch_variance = register(BatchVariance)


# -- accuracy and the confusion matrix ---------------------------------------------------------

def _labels_case(params):
    rng = np.random.default_rng([int(params["seed"]) % 2**32, 909])
    n, c = int(params["n"]), int(params["c"])
    y = rng.integers(0, c, n)
    scores = rng.normal(0.0, 1.0, (n, c))
    scores[np.arange(n), y] += rng.uniform(-0.5, 2.0, n)  # most rows right, some wrong
    return y, scores


class Accuracy(Check):
    """accuracy(scores, y): the fraction of rows whose largest score is at the true class."""

    name = "accuracy"
    what = "accuracy(scores, y)"
    defaults = {"seed": 0, "n": 12, "c": 4}
    delegation = ("backproplab.layers.accuracy",)

    def cases(self, params):
        y, scores = _labels_case(params)
        return [Case(text("check.case_accuracy", n=len(y), c=scores.shape[1]), {"y": y, "scores": scores})]

    def call(self, student, case):
        return student(case.data["scores"].copy(), case.data["y"].copy())

    def _judge_record(self, case, record, params):
        value = None
        try:
            value = evidence.decode(record)
        except evidence.MalformedEvidence:
            pass
        if isinstance(value, evidence.Raised) and value.type == DELEGATED:
            raise Reject(text("check.accuracy_delegated", what=self.what))
        if isinstance(value, evidence.Raised) and value.type == "ValueError" and "broadcast" in value.message:
            n, c = case.data["scores"].shape
            raise Reject(text("check.accuracy_axis", what=self.what, n=n, c=c, message=value.message))
        return super()._judge_record(case, record, params)

    def judge(self, case, value, params):
        y, scores = case.data["y"], case.data["scores"]
        if isinstance(value, np.ndarray) and value.shape == ():
            value = float(value)
        if not isinstance(value, float):
            raise Reject(text("check.expected_number", what=self.what, got=type(value).__name__))
        right = np.argmax(scores, axis=1) == y
        expected = float(np.mean(right))
        return compare(value, expected, 0.0, what=self.what,
                       mistakes={"accuracy_count": float(np.sum(right)), "accuracy_percent": 100 * expected,
                                 "accuracy_error": 1 - expected})


check_accuracy = register(Accuracy)


class ConfusionMatrix(Check):
    """confusion_matrix(y_true, y_pred, classes): (C, C) counts, entry [i, j] = samples of class i predicted j."""

    name = "confusion_matrix"
    what = "confusion_matrix(y_true, y_pred, classes)"
    defaults = {"seed": 0, "n": 40, "c": 4}
    delegation = ("backproplab.training.confusion_matrix",)

    def cases(self, params):
        y, scores = _labels_case(params)
        c = int(params["c"]) + 1  # one class that never occurs: the matrix is still (C, C)
        return [Case(text("check.case_confusion", n=len(y), c=c), {"y": y, "pred": np.argmax(scores, axis=1), "c": c})]

    def call(self, student, case):
        d = case.data
        return student(d["y"].copy(), d["pred"].copy(), d["c"])

    def judge(self, case, value, params):
        d = case.data
        expected = np.zeros((d["c"], d["c"]))
        np.add.at(expected, (d["y"], d["pred"]), 1)
        got = reject_unless_array(value, expected.shape, self.what)
        once = np.zeros_like(expected)
        once[d["y"], d["pred"]] = 1
        rows = expected.sum(axis=1, keepdims=True)
        return compare(got, expected, 0.0, what=self.what,
                       mistakes={"confusion_once": once,
                                 "confusion_normalised": expected / np.where(rows == 0, 1, rows)})


check_confusion_matrix = register(ConfusionMatrix)


# -- the gradient check of a whole network -----------------------------------------------------

PARAMETER_NAMES = ("W1", "b1", "W2", "b2")


class _Planted(L.Sequential):
    """A Sequential whose backward leaves one parameter's gradient wrong (doubled), written in place."""

    planted = None

    def backward(self, dout):
        dz = super().backward(dout)
        if self.planted is not None:
            self.parameters()[self.planted][1][...] *= 2.0
        return dz


class GradientErrors(Check):
    """gradient_errors(model, loss, X, y): the largest error score of each parameter's backprop gradient."""

    name = "gradient_errors"
    what = "gradient_errors(model, loss, X, y)"
    defaults = {"seed": 0, "n": 6, "d": 4, "h": 5, "c": 3}
    delegation = ("backproplab.gradcheck.gradcheck", "backproplab.numeric.numerical_gradient")

    def cases(self, params):
        weights, X, y = _small_network(params)
        planted = [None, int(params["seed"]) % 4, (int(params["seed"]) + 2) % 4]
        return [Case(text("check.case_gradient_errors", wrong=PARAMETER_NAMES[p]) if p is not None
                     else text("check.case_gradient_errors_right"),
                     {"weights": weights, "X": X, "y": y, "planted": p}) for p in planted]

    def call(self, student, case):
        d = case.data
        net = _net(d["weights"])
        model = _Planted(*net.layers)
        model.planted = d["planted"]
        result = student(model, L.SoftmaxCrossEntropy(), d["X"].copy(), d["y"].copy())
        if isinstance(result, (list, tuple)):
            try:
                return np.array([float(v) for v in result], dtype=np.float64)
            except (TypeError, ValueError):
                pass
        return result

    def judge(self, case, value, params):
        if not (isinstance(value, np.ndarray) and value.shape == (len(PARAMETER_NAMES),)):
            raise Reject(text("check.gradient_errors_shape", what=self.what, count=len(PARAMETER_NAMES),
                              names=", ".join(PARAMETER_NAMES), got=_kind(value)))
        got = value
        for k, (name, score) in enumerate(zip(PARAMETER_NAMES, got)):
            if score < 0:
                raise Reject(text("check.gradient_errors_negative", name=name, score=score))
            if k == case.data["planted"] and not score > 1.0:
                raise Reject(text("check.gradient_errors_missed", name=name, score=score))
            if k != case.data["planted"] and not score <= 1.0:
                raise Reject(text("check.gradient_errors_false_alarm", name=name, score=score))
        return 0.0


check_gradient_errors = register(GradientErrors)
