"""Notebook 02, chain rule: wrong and right implementations of its exercises.

Every wrong implementation comes with words its failure message must contain.
Nothing here calls the library's sigmoid or scalar network, except the
implementations that delegate on purpose: the checks trap those.
"""

import functools
import math

import numpy as np

from backproplab import numeric, regression, scalar_net

from . import Exercise

ASSIGNMENT = "02-chain-rule"
DELEGATED = "already does what this exercise asks"


# -- a chain of functions -----------------------------------------------------------------

def _chain(functions, derivatives, x):
    value, slope = x, 1.0
    for h, dh in zip(functions, derivatives):
        slope = slope * dh(value)
        value = h(value)
    return value, slope


def _chain_two_passes(functions, derivatives, x):
    points = [x]  # the forward pass first, then the product from the output back
    for h in functions:
        points.append(h(points[-1]))
    slope = 1.0
    for dh, point in zip(reversed(derivatives), reversed(points[:-1])):
        slope *= dh(point)
    return points[-1], slope


def _chain_recursive(functions, derivatives, x):
    if not functions:
        return x, 1.0
    z, rest = _chain_recursive(functions[1:], derivatives[1:], functions[0](x))
    return z, derivatives[0](x) * rest


def _chain_reduce(functions, derivatives, x):
    def link(state, pair):
        value, slope = state
        h, dh = pair
        return h(value), slope * dh(value)
    return functools.reduce(link, zip(functions, derivatives), (x, 1.0))


def _chain_mutant(at="ok", combine="product", skip=None, value="ok"):
    def chain(functions, derivatives, x):
        start = x
        slope = 0.0 if combine == "sum" else 1.0
        links = list(zip(functions, derivatives))
        for i, (h, dh) in enumerate(links):
            before, x = x, h(x)
            point = {"input": start, "output": x, "ok": before}[at]
            if i == skip or (skip == -1 and i == len(links) - 1):
                continue
            slope = slope + dh(point) if combine == "sum" else slope * dh(point)
        z = {"ok": x, "input": start, "last_only": functions[-1](start)}[value]
        return z, slope
    return chain


def _chain_reversed_value(functions, derivatives, x):
    z = x
    for h in reversed(functions):
        z = h(z)
    return z, _chain(functions, derivatives, x)[1]


def _chain_numerical(functions, derivatives, x):
    def composed(t):
        for h in functions:
            t = h(t)
        return t
    h = 1e-5
    return composed(x), (composed(x + h) - composed(x - h)) / (2 * h)


def _chain_delegated(functions, derivatives, x):
    def composed(t):
        for h in functions:
            t = h(t)
        return t
    return composed(x), numeric.central_difference(composed, x)


CHAIN = Exercise(
    ASSIGNMENT, "chain_test", "chain",
    wrong={
        "every derivative at x": (_chain_mutant(at="input"), "every local derivative was taken at x"),
        "derivative at the link's output": (_chain_mutant(at="output"), "taken at its link's output"),
        "derivatives added": (_chain_mutant(combine="sum"), "along a chain they multiply"),
        "first link skipped": (_chain_mutant(skip=0), "first link's derivative is missing"),
        "last link skipped": (_chain_mutant(skip=-1), "last link's derivative is missing"),
        "returns x as the value": (_chain_mutant(value="input"), "this is x itself"),
        "value of the last function only": (_chain_mutant(value="last_only"), "only the last function was applied"),
        "functions applied in reverse": (_chain_reversed_value, "applied last one first"),
        "returns the derivative only": (lambda f, d, x: _chain(f, d, x)[1], "should return a pair"),
        "finite difference": (_chain_numerical, "numerical approximation"),
        "central_difference of the library": (_chain_delegated, DELEGATED),
    },
    right={
        "one loop": _chain,
        "forward pass, then the product backwards": _chain_two_passes,
        "recursion": _chain_recursive,
        "functools.reduce": _chain_reduce,
        "a list back": lambda f, d, x: list(_chain(f, d, x)),
    },
)


# -- sigmoid and its derivative ------------------------------------------------------------
# The test cell checks both functions; an implementation is a pair (sigmoid, sigmoid_prime).

def _sigmoid(x):
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))  # never overflows
    s = np.where(x >= 0, 1.0, e) / (1.0 + e)
    return s if s.ndim else float(s)


def _prime(x):
    s = _sigmoid(x)
    return s * (1.0 - s)


def _sigmoid_tanh(x):
    # overflow-free, but it loses digits for x << 0 and is 0 below x = -38
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sigmoid_loops(x):
    x = np.asarray(x, dtype=float)  # a number becomes a 0-d array, and comes back as one
    out = np.empty_like(x)
    for i in np.ndindex(x.shape):
        t = float(x[i])
        out[i] = 1.0 / (1.0 + math.exp(-t)) if t >= 0 else math.exp(t) / (1.0 + math.exp(t))
    return out


def _prime_symmetric(x):
    e = np.exp(-np.abs(np.asarray(x, dtype=float)))  # s'(x) = s'(-x) = e / (1 + e)^2
    return e / (1.0 + e) ** 2


def _prime_numerical(x):
    h = 1e-5
    return (_sigmoid(np.asarray(x) + h) - _sigmoid(np.asarray(x) - h)) / (2 * h)


def _with_prime(prime):
    return (_sigmoid, prime)


def _with_sigmoid(sigmoid):
    return (sigmoid, _prime)


SIGMOID = Exercise(
    ASSIGNMENT, "sigmoid_test", "sigmoid",
    namespace=lambda pair: {"sigmoid": pair[0], "sigmoid_prime": pair[1]},
    wrong={
        "naive formula overflows at -800": (_with_sigmoid(lambda x: 1.0 / (1.0 + np.exp(-x))), "warning"),
        "exp(x) / (1 + exp(x)) gives nan at 800": (_with_sigmoid(lambda x: np.exp(x) / (1.0 + np.exp(x))), "NaN"),
        "where() evaluates the overflowing branch": (_with_sigmoid(
            lambda x: np.where(x >= 0, 1.0 / (1.0 + np.exp(-x)), np.exp(x) / (1.0 + np.exp(x)))), "warning"),
        "exp(x) instead of exp(-x)": (_with_sigmoid(lambda x: _sigmoid(-np.asarray(x))), "s(-x)"),
        "tanh(x)": (_with_sigmoid(np.tanh), "this is tanh(x)"),
        "the x < 0 branch everywhere": (_with_sigmoid(
            lambda x: np.exp(-np.abs(x)) / (1.0 + np.exp(-np.abs(x)))), "only for x < 0"),
        "the x >= 0 branch everywhere": (_with_sigmoid(lambda x: 1.0 / (1.0 + np.exp(-np.abs(x)))), "only for x >= 0"),
        "math.exp on arrays": (_with_sigmoid(lambda x: 1.0 / (1.0 + math.exp(-x))), "raised TypeError"),
        "a list for a number": (_with_sigmoid(lambda x: _sigmoid(x) if np.ndim(x) else [_sigmoid(x)]),
                                "should return a single number"),
        "sigmoid of the library": (_with_sigmoid(lambda x: scalar_net.sigmoid(x)), DELEGATED),
        "tanh identity, 0 below x = -38": (_with_sigmoid(_sigmoid_tanh), "loses digits in the left tail"),
        "x clipped to +-500": (_with_sigmoid(lambda x: _sigmoid(np.clip(x, -500.0, 500.0))), "left tail"),
        "1 - s(-x)": (_with_sigmoid(lambda x: 1.0 - _sigmoid(-np.asarray(x, dtype=float))), "left tail"),
        "scipy's expit": (_with_sigmoid(lambda x: __import__("scipy.special").special.expit(x)), DELEGATED),
        "derivative x (1 - x), the output form on the input": (_with_prime(lambda x: x * (1 - x)),
                                                               "the output form s (1 - s) applied to the input x"),
        "derivative is the sigmoid itself": (_with_prime(_sigmoid), "s(x) itself"),
        "derivative 1 - s^2 (the tanh rule)": (_with_prime(lambda x: 1 - _sigmoid(x) ** 2), "tanh's derivative"),
        "derivative missing the square": (_with_prime(lambda x: 1 - _sigmoid(x)), "the square is missing"),
        "derivative with the inner minus lost": (_with_prime(lambda x: -_prime(x)), "the two cancel"),
        "derivative taken at s(x)": (_with_prime(lambda x: _prime(_sigmoid(x))), "at s(x) instead of x"),
        "derivative by central difference": (_with_prime(_prime_numerical), "numerical approximation"),
        "derivative of the library": (_with_prime(lambda x: scalar_net.sigmoid_prime(x)), DELEGATED),
    },
    right={
        "exp(-|x|) on each side of 0": (_sigmoid, _prime),
        "loops over the entries": (_sigmoid_loops, lambda x: _sigmoid_loops(x) * (1 - _sigmoid_loops(x))),
        "log-sum-exp form": (lambda x: np.exp(-np.logaddexp(0.0, -x)), _prime_symmetric),
        "symmetric derivative e / (1 + e)^2": (_sigmoid, _prime_symmetric),
    },
)


# -- dC/dw and dC/db of the line --------------------------------------------------------------

def _line(w, b, x, y):
    error = w * x + b - y
    return float(np.mean(error * x)), float(np.mean(error))


def _line_loops(w, b, x, y):
    dw = db = 0.0
    for xi, yi in zip(x, y):
        y_hat = w * xi + b
        dw += (y_hat - yi) * xi
        db += y_hat - yi
    return dw / len(x), db / len(x)


def _line_last_sample(w, b, x, y):
    for xi, yi in zip(x, y):
        dw = (w * xi + b - yi) * xi  # overwritten at every sample
        db = w * xi + b - yi
    return dw, db


def _line_numerical(w, b, x, y):
    def cost(w, b):
        return np.mean((w * x + b - y) ** 2) / 2
    h = 1e-6
    return ((cost(w + h, b) - cost(w - h, b)) / (2 * h), (cost(w, b + h) - cost(w, b - h)) / (2 * h))


LOSS_GRADIENTS = Exercise(
    ASSIGNMENT, "loss_gradients_test", "loss_gradients",
    wrong={
        "inside-out sign (y - y_hat)": (lambda w, b, x, y: tuple(-g for g in _line(w, b, x, y)), "inside out"),
        "dw missing the factor x": (lambda w, b, x, y: (_line(w, b, x, y)[1], _line(w, b, x, y)[1]),
                                    "missing the factor dy_hat/dw = x"),
        "factor 2 (forgot the 1/2)": (lambda w, b, x, y: tuple(2 * g for g in _line(w, b, x, y)), "factor of two"),
        "sum instead of mean": (lambda w, b, x, y: tuple(len(x) * g for g in _line(w, b, x, y)), "missing 1/N"),
        "dw and db swapped": (lambda w, b, x, y: _line(w, b, x, y)[::-1], "swapped"),
        "x squared in dw": (lambda w, b, x, y: (np.mean((w * x + b - y) * x * x), _line(w, b, x, y)[1]),
                            "by x twice"),
        "mean of the error times the mean of x": (
            lambda w, b, x, y: (np.mean(w * x + b - y) * np.mean(x), _line(w, b, x, y)[1]), "product of the means"),
        "last sample only": (_line_last_sample, "last sample's gradients only"),
        "returns the per-sample gradients": (lambda w, b, x, y: ((w * x + b - y) * x, w * x + b - y), "pair"),
        "returns only dw": (lambda w, b, x, y: _line(w, b, x, y)[0], "pair"),
        "central differences of the cost": (_line_numerical, "numerical approximation"),
        "the library's line_gradients": (lambda w, b, x, y: scalar_net.line_gradients(w, b, x, y), DELEGATED),
    },
    right={
        "vectorised mean": _line,
        "loop over the samples": _line_loops,
        "dot products": lambda w, b, x, y: ((w * x + b - y) @ x / x.size, np.sum(w * x + b - y) / x.size),
        "a list of numpy floats": lambda w, b, x, y: [np.mean((w * x + b - y) * x), np.mean(w * x + b - y)],
        "a 1-D array of size 2": lambda w, b, x, y: np.array(_line(w, b, x, y)),
    },
)


# -- a gradient-descent loop for the line ----------------------------------------------------------

def _fit(gradients, w, b, x, y, lr, steps):
    costs = [np.mean((w * x + b - y) ** 2) / 2]
    for _ in range(steps):
        dw, db = gradients(w, b, x, y)
        w, b = w - lr * dw, b - lr * db
        costs.append(np.mean((w * x + b - y) ** 2) / 2)
    return w, b, np.array(costs)


def _fit_list(gradients, w, b, x, y, lr, steps):
    costs = []
    for k in range(steps + 1):
        costs.append(float(np.sum((w * x + b - y) ** 2) / (2 * len(x))))
        if k < steps:
            step = gradients(w, b, x, y)
            w -= lr * step[0]
            b -= lr * step[1]
    return w, b, costs


def _fit_path(gradients, w, b, x, y, lr, steps):
    path = [(w, b)]
    for _ in range(steps):
        dw, db = gradients(*path[-1], x, y)
        path.append((path[-1][0] - lr * dw, path[-1][1] - lr * db))
    costs = np.array([np.mean((wk * x + bk - y) ** 2) / 2 for wk, bk in path])
    return path[-1][0], path[-1][1], costs


def _fit_mutant(sign=-1.0, offset=0, first_only=False, sequential=False, lr_power=1, cost=None, drop=None):
    def fit_line(gradients, w, b, x, y, lr, steps):
        def c(w, b):
            return cost(w, b, x, y) if cost else np.mean((w * x + b - y) ** 2) / 2
        costs = [c(w, b)]
        g0 = gradients(w, b, x, y)
        for _ in range(steps + offset):
            if sequential:
                w = w + sign * lr ** lr_power * gradients(w, b, x, y)[0]
                b = b + sign * lr ** lr_power * gradients(w, b, x, y)[1]
            else:
                dw, db = g0 if first_only else gradients(w, b, x, y)
                w, b = w + sign * lr ** lr_power * dw, b + sign * lr ** lr_power * db
            costs.append(c(w, b))
        costs = costs[1:] if drop == "first" else costs[:-1] if drop == "last" else costs
        return w, b, np.array(costs)
    return fit_line


def _fit_delegated(gradients, w, b, x, y, lr, steps):
    X = regression.design_matrix(x)
    (b, w), costs = regression.linear_regression_gd(X, y, np.array([b, w]), lr, steps)
    return w, b, costs


FIT_LINE = Exercise(
    ASSIGNMENT, "fit_line_test", "fit_line",
    wrong={
        "+ instead of - (ascent)": (_fit_mutant(sign=1.0), "adds the gradient"),
        "gradient of the start reused": (_fit_mutant(first_only=True), "computed once, before the loop"),
        "one step too many": (_fit_mutant(offset=1), "one step too many"),
        "one step too few": (_fit_mutant(offset=-1), "one step too few"),
        "learning rate applied twice": (_fit_mutant(lr_power=2), "learning rate is applied twice"),
        "b updated with the moved w": (_fit_mutant(sequential=True), "after w had moved"),
        "returns the start": (lambda g, w, b, x, y, lr, steps: (w, b, _fit(g, w, b, x, y, lr, steps)[2]),
                              "nothing moved"),
        "costs without the start": (_fit_mutant(drop="first"), "steps + 1"),
        "costs without the last": (_fit_mutant(drop="last"), "steps + 1"),
        "costs without the 1/2": (_fit_mutant(cost=lambda w, b, x, y: np.mean((w * x + b - y) ** 2)), "factor of two"),
        "costs summed": (_fit_mutant(cost=lambda w, b, x, y: np.sum((w * x + b - y) ** 2) / 2), "sums of the losses"),
        "returns (w, b) only": (lambda *a: _fit(*a)[:2], "three things"),
        "the library's linear_regression_gd": (_fit_delegated, DELEGATED),
        "ignores the gradients given": (lambda g, w, b, x, y, lr, steps: _fit(
            lambda w, b, x, y: (np.mean((w * x + b - y) * x), np.mean(w * x + b - y)), w, b, x, y, lr, steps),
            "ignores the gradients function"),
    },
    right={
        "tuple update": _fit,
        "in-place updates, a list of costs": _fit_list,
        "path first, costs after": _fit_path,
    },
)


# -- the two-layer network: forward and gradients -----------------------------------------------

def _forward(params, x, hidden=True, output=True, bias=True, z2_from="o1"):
    z1 = params["w1"] * x + (params["b1"] if bias else 0.0)
    o1 = _sigmoid(z1) if hidden else z1
    source = {"o1": o1, "z1": z1, "x": x}[z2_from]
    z2 = params["w2"] * source + params["b2"]
    o2 = _sigmoid(z2) if output else z2
    return {"z1": z1, "o1": o1, "z2": z2, "o2": o2}


def _gradients(params, x, y):
    f = _forward(params, x)
    dz2 = (f["o2"] - y) * _prime(f["z2"])
    dz1 = dz2 * params["w2"] * _prime(f["z1"])
    return {"w1": dz1 * x, "b1": dz1, "w2": dz2 * f["o1"], "b2": dz2}


def _gradients_mutant(slope=None, upstream=True, out_slope=True, hidden_slope=True, w2=True,
                      w1_input="x", w2_input="o1", sign=1.0):
    def two_layer_gradients(params, x, y):
        f = _forward(params, x)
        ds = slope or (lambda z, o: o * (1 - o))
        dz2 = sign * ((f["o2"] - y) if upstream else 1.0) * (ds(f["z2"], f["o2"]) if out_slope else 1.0)
        dz1 = dz2 * (params["w2"] if w2 else 1.0) * (ds(f["z1"], f["o1"]) if hidden_slope else 1.0)
        inputs = {"x": x, "o1": f["o1"]}
        return {"w1": dz1 * inputs[w1_input], "b1": dz1, "w2": dz2 * inputs[w2_input], "b2": dz2}
    return two_layer_gradients


def _gradients_five_factors(params, x, y):
    f = _forward(params, x)
    up, s2, s1 = f["o2"] - y, _prime(f["z2"]), _prime(f["z1"])
    return {"w1": up * s2 * params["w2"] * s1 * x, "b1": up * s2 * params["w2"] * s1,
            "w2": up * s2 * f["o1"], "b2": up * s2}


def _gradients_exp_form(params, x, y):
    f = _forward(params, x)
    slope = lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2  # noqa: E731
    dz2 = (f["o2"] - y) * slope(f["z2"])
    dz1 = dz2 * params["w2"] * slope(f["z1"])
    return {"b2": dz2, "w2": dz2 * f["o1"], "b1": dz1, "w1": dz1 * x}


def _gradients_numerical(params, x, y):
    def loss(p):
        return (_forward(p, x)["o2"] - y) ** 2 / 2
    h = 1e-6
    return {k: (loss({**params, k: params[k] + h}) - loss({**params, k: params[k] - h})) / (2 * h) for k in params}


def _net(forward=_forward, gradients=_gradients):
    return (forward, gradients)


TWO_LAYER = Exercise(
    ASSIGNMENT, "two_layer_test", "two_layer",
    namespace=lambda pair: {"two_layer_forward": pair[0], "two_layer_gradients": pair[1]},
    wrong={
        "forward: no hidden sigmoid": (_net(forward=functools.partial(_forward, hidden=False)),
                                       "o1 equals z1"),
        "forward: no output sigmoid": (_net(forward=functools.partial(_forward, output=False)), "o2 equals z2"),
        "forward: no bias b1": (_net(forward=functools.partial(_forward, bias=False)), "b1 is missing"),
        "forward: z2 from z1": (_net(forward=functools.partial(_forward, z2_from="z1")), "z2 was computed from z1"),
        "forward: the library's": (_net(forward=lambda p, x: scalar_net.two_layer_forward(p, x)), DELEGATED),
        "missing s'(z2)": (_net(gradients=_gradients_mutant(out_slope=False)), "factor s'(z2)"),
        "missing s'(z1)": (_net(gradients=_gradients_mutant(hidden_slope=False)), "factor s'(z1)"),
        "s'(z) as z (1 - z)": (_net(gradients=_gradients_mutant(slope=lambda z, o: z * (1 - z))),
                               "the output form s (1 - s) applied to the input z"),
        "s instead of s'": (_net(gradients=_gradients_mutant(slope=lambda z, o: o)),
                            "used where the sigmoid's derivative"),
        "s' taken at the output": (_net(gradients=_gradients_mutant(slope=lambda z, o: _prime(o))),
                                   "at its output o"),
        "w2 forgotten in the chain": (_net(gradients=_gradients_mutant(w2=False)), "dz2/do1 = w2 is missing"),
        "w1 where w2 belongs": (_net(gradients=lambda p, x, y: {
            **_gradients(p, x, y),
            "b1": _gradients(p, x, y)["b1"] * p["w1"] / p["w2"],
            "w1": _gradients(p, x, y)["w1"] * p["w1"] / p["w2"]}), "but the formula uses w1"),
        "missing upstream (o2 - y)": (_net(gradients=_gradients_mutant(upstream=False)), "upstream factor"),
        "inside-out error (y - o2)": (_net(gradients=_gradients_mutant(sign=-1.0)), "sign is flipped"),
        "dw1 and dw2 with swapped inputs": (_net(gradients=_gradients_mutant(w1_input="o1", w2_input="x")),
                                            "dL/dw2 multiplies by x"),
        "returns a tuple": (_net(gradients=lambda p, x, y: tuple(_gradients(p, x, y).values())), "a dict"),
        "central differences": (_net(gradients=_gradients_numerical), "numerical approximation"),
        "the library's gradients": (_net(gradients=lambda p, x, y: scalar_net.two_layer_gradients(p, x, y)),
                                    DELEGATED),
    },
    right={
        "shared factors, from the output back": _net(),
        "five factors each": _net(gradients=_gradients_five_factors),
        "s' written with exp": _net(gradients=_gradients_exp_form),
        "forward returns numpy floats": _net(
            forward=lambda p, x: {k: np.float64(v) for k, v in _forward(p, x).items()}),
    },
)


# -- training the network ------------------------------------------------------------------------

def _train(forward, gradients, params, xs, ys, lr, steps):
    def cost(p):
        return np.mean([(forward(p, x)["o2"] - y) ** 2 / 2 for x, y in zip(xs, ys)])
    params = dict(params)
    costs = [cost(params)]
    for _ in range(steps):
        mean = {k: 0.0 for k in params}
        for x, y in zip(xs, ys):
            g = gradients(params, x, y)
            for k in mean:
                mean[k] += g[k] / len(xs)
        params = {k: params[k] - lr * mean[k] for k in params}
        costs.append(cost(params))
    return params, np.array(costs)


def _train_vector(forward, gradients, params, xs, ys, lr, steps):
    names = ["w1", "b1", "w2", "b2"]
    theta = np.array([params[k] for k in names], dtype=float)

    def cost(t):
        p = dict(zip(names, t))
        return sum((forward(p, x)["o2"] - y) ** 2 for x, y in zip(xs, ys)) / (2 * len(xs))

    costs = [cost(theta)]
    for _ in range(steps):
        grads = [gradients(dict(zip(names, theta)), x, y) for x, y in zip(xs, ys)]
        theta = theta - lr * np.mean([[g[k] for k in names] for g in grads], axis=0)
        costs.append(cost(theta))
    return dict(zip(names, theta)), costs


def _train_mutant(sign=-1.0, mean=True, per_sample=False, first_only=False, first_sample=False,
                  weights_only=False, in_place=False, offset=0, lr_power=1, cost_scale=1.0, drop=None):
    def train_two_layer(forward, gradients, params, xs, ys, lr, steps):
        def cost(p):
            return cost_scale * np.mean([(forward(p, x)["o2"] - y) ** 2 / 2 for x, y in zip(xs, ys)])
        p = params if in_place else dict(params)
        costs = [cost(p)]
        frozen = None
        for _ in range(steps + offset):
            if per_sample:
                for x, y in zip(xs, ys):
                    g = gradients(p, x, y)
                    for k in list(p):
                        p[k] = p[k] + sign * lr ** lr_power * g[k]
            else:
                if frozen is None:
                    samples = list(zip(xs, ys))[:1] if first_sample else list(zip(xs, ys))
                    total = {k: 0.0 for k in p}
                    for x, y in samples:
                        g = gradients(p, x, y)
                        for k in total:
                            total[k] += g[k] / (len(samples) if mean else 1)
                    if first_only:
                        frozen = total
                else:
                    total = frozen
                for k in list(p):
                    if not (weights_only and k.startswith("b")):
                        p[k] = p[k] + sign * lr ** lr_power * total[k]
            costs.append(cost(p))
        costs = costs[1:] if drop == "first" else costs
        return dict(p), np.array(costs)
    return train_two_layer


def _train_delegated(forward, gradients, params, xs, ys, lr, steps):
    from backproplab.descent import gradient_descent
    names = ["w1", "b1", "w2", "b2"]

    def grad(t):
        gs = [gradients(dict(zip(names, t)), x, y) for x, y in zip(xs, ys)]
        return np.mean([[g[k] for k in names] for g in gs], axis=0)

    path = gradient_descent(grad, np.array([params[k] for k in names]), lr, steps)
    costs = [np.mean([(forward(dict(zip(names, t)), x)["o2"] - y) ** 2 / 2 for x, y in zip(xs, ys)]) for t in path]
    return dict(zip(names, path[-1])), np.array(costs)


TRAIN = Exercise(
    ASSIGNMENT, "train_two_layer_test", "train_two_layer",
    wrong={
        "+ instead of - (ascent)": (_train_mutant(sign=1.0), "adds the gradient"),
        "gradients summed, not averaged": (_train_mutant(mean=False), "summed, not averaged"),
        "a step after every sample": (_train_mutant(per_sample=True), "after every sample"),
        "a step after every sample, scaled by 1/N": (lambda f, g, p, xs, ys, lr, steps: _train_mutant(per_sample=True)(
            f, g, p, xs, ys, lr / len(xs), steps), "each step scaled by 1/N"),
        "gradients of the start reused": (_train_mutant(first_only=True), "computed once and reused"),
        "first sample only": (_train_mutant(first_sample=True), "only the first sample's gradient"),
        "biases never updated": (_train_mutant(weights_only=True), "b1 and b2 must be updated"),
        "updates the given dict in place": (_train_mutant(in_place=True), "changed the params dict"),
        "one step too many": (_train_mutant(offset=1), "one step too many"),
        "learning rate applied twice": (_train_mutant(lr_power=2), "learning rate is applied twice"),
        "costs without the start": (_train_mutant(drop="first"), "steps + 1"),
        "costs without the 1/2": (_train_mutant(cost_scale=2.0), "factor of two"),
        "returns the params only": (lambda *a: _train(*a)[0], "two things"),
        "the library's gradient_descent": (_train_delegated, DELEGATED),
    },
    right={
        "dict loop": _train,
        "a vector of four parameters": _train_vector,
        "in place on a copy": _train_mutant(),
    },
)

EXERCISES = [CHAIN, SIGMOID, LOSS_GRADIENTS, FIT_LINE, TWO_LAYER, TRAIN]
