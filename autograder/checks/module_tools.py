"""Checks of notebook 04's tools around the modules: the numerical gradients and the training loop.

- ``check_numerical_grads(numerical_grads, seed=..., n=3, d=4, m=2)``:
  ``numerical_grads(module, z, dout, h)`` returns ``{"z": df/dz, name:
  df/dparam}`` for ``f = sum(forward(z) * dout)``, by central differences of
  step ``h``, each entry nudged in place and put back exactly. The modules are
  the check's own (a tanh of a linear map, with parameters W and b, and a
  sigmoid, without), non-linear in every tensor, so that a one-sided
  difference is told apart; the steps given (0.05 and 1e-3) are large
  enough that a step other than ``h`` is told apart too. The answer is
  compared with the check's own central differences of the same step, and
  the module's arrays and z must be exactly as they were given.
- ``check_fit(fit, seed=..., steps=6)``: ``fit(model, loss_fn, X, Y, lr,
  steps)`` runs ``steps`` full-batch gradient-descent steps and returns the
  cost before each one. The model and loss are the library's modules, the
  optimizer the library's SGD (in place of the notebook's, so that a wrong
  ``step`` cannot fail this exercise); the costs and the final parameters
  are compared with the same loop run by the check.
"""

import numpy as np

from backproplab import layers as L
from backproplab import numeric
from backproplab.messages import text

from ..contract import Case, Check, Reject, describe, register, reject_unless_array
from ..diagnose import compare
from .engine import Swapped
from .finite_differences import DIFFERENTIATORS

NUMERICAL = ("backproplab.numeric.numerical_vjp", "backproplab.numeric.numerical_gradient",
             "backproplab.numeric.numerical_directional", "backproplab.gradcheck.gradcheck") + DIFFERENTIATORS
TRAINING = ("backproplab.training.train",)


# -- the check's own modules (plain numpy: no library method a delegation trap would catch) --------

class TanhLinear(L.Module):
    """out = tanh(z W + b): non-linear in z, W and b."""

    def __init__(self, W, b):
        super().__init__()
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    def forward(self, z):
        self.cache = (z.copy(), np.tanh(z @ self.params["W"] + self.params["b"]))
        return self.cache[1].copy()

    def backward(self, dout):
        z, t = self.cache
        ds = dout * (1.0 - t**2)
        self.grads["W"][...] = z.T @ ds
        self.grads["b"][...] = ds.sum(axis=0)
        return ds @ self.params["W"].T


class PlainSigmoid(L.Module):
    """out = 1 / (1 + exp(-z)), no parameters."""

    def forward(self, z):
        self.cache = 1.0 / (1.0 + np.exp(-z))
        return self.cache.copy()

    def backward(self, dout):
        return dout * self.cache * (1.0 - self.cache)


def _module(data):
    if data["kind"] == "tanh_linear":
        return TanhLinear(data["W"].copy(), data["b"].copy())
    return PlainSigmoid()


def _names(data):
    return ["z"] + (["W", "b"] if data["kind"] == "tanh_linear" else [])


def _tensor(data, name):
    return data["z"] if name == "z" else data[name]


def _f_of(data, name):
    """f as a function of one tensor, the others fixed (the check's own forward)."""
    def f(v):
        arrays = {k: _tensor(data, k) for k in _names(data)}
        arrays[name] = v
        module = _module(data)
        if "W" in arrays:
            module.params["W"][...] = arrays["W"]
            module.params["b"][...] = arrays["b"]
        return module.forward(arrays["z"].copy())
    return f


def _differences(data, name, h, kind="central"):
    """The check's differences of f = sum(forward * dout) along each entry of ``name``, step h."""
    x = _tensor(data, name)
    f = _f_of(data, name)
    dout = data["dout"]
    f0 = np.sum(f(x) * dout)
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[i] += h
        minus[i] -= h
        fp, fm = np.sum(f(plus) * dout), np.sum(f(minus) * dout)
        grad[i] = {"central": (fp - fm) / (2 * h), "forward": (fp - f0) / h, "backward": (f0 - fm) / h}[kind]
    return grad


def _exact(data, name):
    module = _module(data)
    module.forward(data["z"].copy())
    dz = module.backward(data["dout"].copy())
    return dz if name == "z" else module.grads[name].copy()


class NumericalGrads(Check):
    """numerical_grads(module, z, dout, h): central differences of sum(forward(z) * dout) for z and each parameter."""

    name = "numerical_grads"
    what = "numerical_grads(module, z, dout, h)"
    defaults = {"seed": 0, "n": 3, "d": 4, "m": 2}
    delegation = NUMERICAL

    def cases(self, params):
        rng = np.random.default_rng([int(params["seed"]) % 2**32, 41])
        n, d, m = int(params["n"]), int(params["d"]), int(params["m"])
        cases = []
        for kind, h in (("tanh_linear", 0.05), ("sigmoid", 1e-3)):
            data = {"kind": kind, "h": h, "z": rng.normal(0.0, 1.0, (n, d)),
                    "W": rng.normal(0.0, 1.0 / np.sqrt(d), (d, m)), "b": rng.normal(0.0, 0.5, m)}
            out = (n, m) if kind == "tanh_linear" else (n, d)
            data["dout"] = rng.normal(0.0, 1.0, out)
            module = "tanh(z W + b)" if kind == "tanh_linear" else "sigmoid(z)"
            label = text("check.case_numgrad", module=module, shape=(n, d), h=h)
            cases.append(Case(label, data))
        return cases

    def call(self, student, case):
        data = case.data
        module = _module(data)
        z = data["z"].copy()
        result = student(module, z, data["dout"].copy(), data["h"])
        if not isinstance(result, dict):
            return (result,)
        names = _names(data)
        found = np.array([float(name in result) for name in names] + [float(len(set(result) - set(names)))])
        grads = [result[name] if name in result else np.zeros(0) for name in names]
        grads = [g.copy() if isinstance(g, np.ndarray) else g for g in grads]
        after = [z.copy()] + [module.params[name].copy() for name in names[1:]]
        return (found, *grads, *after)

    def judge(self, case, value, params):
        data = case.data
        names = _names(data)
        k = len(names)
        if not isinstance(value, tuple):
            raise Reject(text("check.malformed", why="expected a tuple"))
        if len(value) == 1:
            raise Reject(text("check.numgrad_not_dict", what=self.what, got=describe(value[0]),
                              keys=", ".join(repr(name) for name in names)))
        if len(value) != 1 + 2 * k:
            raise Reject(text("check.malformed", why=f"expected {1 + 2 * k} results"))
        found = reject_unless_array(value[0], (k + 1,), "keys")
        for name, there in zip(names, found):
            if there != 1.0:
                if name == "z":
                    raise Reject(text("check.numgrad_no_z", what=self.what))
                raise Reject(text("check.numgrad_no_param", what=self.what, name=name))
        if found[-1] != 0.0:
            raise Reject(text("check.numgrad_extra_keys", what=self.what, keys=", ".join(repr(n) for n in names)))
        h = data["h"]
        for name, got in zip(names, value[1 + k:]):  # everything put back exactly
            before = _tensor(data, name)
            got = reject_unless_array(got, before.shape, name)
            if not np.array_equal(got, before):
                moved = np.abs(got - before)
                i = tuple(int(j) for j in np.argwhere(moved > 0)[0])
                fields = {"what": self.what, "name": name, "index": i, "before": float(before[i]),
                          "after": float(got[i])}
                if moved.max() < 1e-3 * h:
                    raise Reject(text("check.numgrad_not_restored_exactly", **fields))
                raise Reject(text("check.module_numgrad_not_restored", **fields))
        worst = 0.0
        for name, got in zip(names, value[1:1 + k]):
            x = _tensor(data, name)
            got = reject_unless_array(got, x.shape, f"{self.what}[{name!r}]")
            expected = _differences(data, name, h)
            f = _f_of(data, name)
            _, noise = numeric.numerical_vjp(f, x, data["dout"], h, with_noise=True)
            exact = _exact(data, name)
            if np.max(np.abs(got - exact)) <= 1e-12 * (1.0 + np.max(np.abs(exact))):  # backward, not differences
                mistakes = {"numgrad_is_backward": exact}
            else:
                mistakes = {"module_numgrad_one_sided": _differences(data, name, h, "forward"),
                            "numgrad_one_sided_back": _differences(data, name, h, "backward"),
                            "numgrad_ignores_h": _differences(data, name, 1e-5)}
            worst = max(worst, compare(got, expected, 4 * noise + 1e-9 * h * np.abs(expected),
                                       what=f"{self.what}[{name!r}]", mistakes=mistakes))
        return worst


check_numerical_grads = register(NumericalGrads)


# -- check_fit ------------------------------------------------------------------------------------

def _fit_data(params):
    rng = np.random.default_rng([int(params["seed"]) % 2**32, 43])
    n = 12
    X = rng.normal(0.0, 1.0, (n, 3))
    Y = np.tanh(X @ rng.normal(0.0, 1.0, (3, 2)))
    weights = [(rng.normal(0.0, 1.0 / np.sqrt(3), (3, 5)), rng.normal(0.0, 0.3, 5)),
               (rng.normal(0.0, 1.0 / np.sqrt(5), (5, 2)), rng.normal(0.0, 0.3, 2))]
    return {"X": X, "Y": Y, "weights": weights, "lr": float(rng.uniform(0.2, 0.4)), "steps": int(params["steps"])}


def _model(weights):
    model = L.Sequential(L.Linear(3, 5), L.Tanh(), L.Linear(5, 2))
    for layer, (W, b) in zip(model.layers[::2], weights):
        layer.params["W"][...] = W
        layer.params["b"][...] = b
    return model


def _run(data, how="right"):
    """(costs, final parameters) of the loop, or of one of its usual mistakes."""
    model, loss = _model(data["weights"]), L.MSE()
    lr = 0.05 if how == "fixed_lr" else data["lr"]
    optimizer = L.SGD(model.parameters(), lr)
    costs, cost = [], None
    for _ in range(data["steps"]):
        if how != "forward_once" or not costs:
            cost = loss.forward(model.forward(data["X"].copy()), data["Y"].copy())
        if how == "step_first":
            optimizer.step()
        if how == "ones":
            model.backward(np.ones_like(data["Y"]))
        else:
            model.backward(loss.backward(1.0))
        if how not in ("step_first", "no_step"):
            optimizer.step()
        if how == "after":
            cost = loss.forward(model.forward(data["X"].copy()), data["Y"].copy())
        costs.append(cost)
    return np.array(costs), [p.copy() for p, _ in model.parameters()]


class Fit(Check):
    """fit(model, loss_fn, X, Y, lr, steps): steps full-batch SGD steps; the cost before each one."""

    name = "fit"
    what = "fit(model, loss_fn, X, Y, lr, steps)"
    defaults = {"seed": 0, "steps": 6}
    delegation = TRAINING

    def cases(self, params):
        data = _fit_data(params)
        label = text("check.case_fit_loop", x=data["X"].shape, y=data["Y"].shape, lr=data["lr"], steps=data["steps"])
        return [Case(label, data)]

    def call(self, student, case):
        data = case.data
        model, loss = _model(data["weights"]), L.MSE()
        with Swapped(getattr(student, "__globals__", None), "SGD", L.SGD):
            costs = student(model, loss, data["X"].copy(), data["Y"].copy(), data["lr"], data["steps"])
        if isinstance(costs, (list, tuple)) and all(np.ndim(c) == 0 and isinstance(c, (int, float, np.number))
                                                    for c in costs):
            costs = np.array([float(c) for c in costs])
        elif isinstance(costs, np.ndarray):
            costs = costs.copy()
        return (costs, *[p.copy() for p, _ in model.parameters()])

    def judge(self, case, value, params):
        data = case.data
        steps = data["steps"]
        expected, final = _run(data)
        if not isinstance(value, tuple) or len(value) != 1 + len(final):
            raise Reject(text("check.malformed", why=f"expected {1 + len(final)} results"))
        costs = value[0]
        if not isinstance(costs, np.ndarray) or costs.ndim != 1:
            raise Reject(text("check.train_not_list", what=self.what, steps=steps, got=describe(costs)))
        if costs.shape != (steps,):
            raise Reject(text("check.train_count", what=self.what, steps=steps, got=costs.shape[0]))
        got_final = [reject_unless_array(v, p.shape, self.what) for v, p in zip(value[1:], final)]
        moved = any(not np.array_equal(g, p0) for g, p0 in zip(got_final, [w for pair in data["weights"]
                                                                          for w in pair]))
        if not moved:
            raise Reject(text("check.train_never_moved", what=self.what))
        mistakes = {key: _run(data, how)[0] for key, how in (
            ("train_cost_after_step", "after"), ("train_step_before_backward", "step_first"),
            ("train_fixed_lr", "fixed_lr"), ("train_forward_once", "forward_once"), ("train_dout_ones", "ones"))}
        noise = 64 * numeric.EPS * (1.0 + np.abs(expected))
        worst = compare(costs, expected, noise, what=text("check.train_costs", what=self.what), mistakes=mistakes)
        flat_got = np.concatenate([g.ravel() for g in got_final])
        flat = np.concatenate([p.ravel() for p in final])
        return max(worst, compare(flat_got, flat, 64 * numeric.EPS * (1.0 + np.abs(flat)),
                                  what=text("check.train_params", what=self.what),
                                  mistakes={"train_extra_step": np.concatenate(
                                      [p.ravel() for p in _run(dict(data, steps=steps + 1))[1]])}))


check_fit = register(Fit)
