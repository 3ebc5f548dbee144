"""Checks of notebook 03's last section: an MLP of the student's Values, its training loop, the trained model.

- ``check_mlp(MLP, seed=0, nin=3, nouts=[4, 3, 2], count=4)``: builds
  ``MLP(nin, nouts, seed)`` (its constructors are given in the notebook),
  calls a hidden neuron, a neuron of the linear last layer, the first layer
  and the whole network on seeded inputs, and reads ``parameters()``. Each is
  judged against a float forward computed from the network's own weights
  (read from the given attributes ``layers``, ``neurons``, ``w``, ``b``), so
  that a mistake is named where it is: in Neuron, Layer or MLP.
- ``check_mlp_train(train, seed=0, n=6, nouts=[3, 1], steps=4, learning_rate=0.1)``:
  calls ``train(model, X, y, steps, learning_rate)`` on the library's
  :class:`backproplab.scalar_mlp.MLP` and a few seeded points of
  :func:`backproplab.boundary.two_moons`; the returned costs and the final
  parameters are judged against the library's loop, and against the loops
  of the known mistakes to name them; gradients taken by finite differences
  instead of ``backward`` are told apart by their error, far above rounding. While the student's loop runs, the
  name ``Value`` in its module is the library's, so that a sum started from
  ``Value(0.0)`` works on the library's model.
- ``check_trained_mlp(model, seed=0, n=30, noise=0.1, nouts=[8, 1], target=0.1)``:
  trains nothing. It records the model's weights and biases (read where the
  given constructors keep them, so that a mistake of ``parameters()`` counts
  in check_mlp only) and its outputs on ``two_moons(n, noise, seed)``; the
  judge recomputes the outputs from the recorded weights with a float
  forward (they must agree) and their cost against the targets
  2 * label - 1 (it must be at most ``target``).

Results are read into plain numbers in the kernel: a problem of form (a
number where a Value belongs, a Value where a list belongs) is recorded as
``[place, index, kind]`` and named by the judge.
"""

import math

import numpy as np

from backproplab import scalar_mlp
from backproplab.boundary import two_moons
from backproplab.messages import text
from backproplab.value import Value

from ..contract import Case, Check, Reject, register, reject_unless_array
from ..diagnose import compare, passes

EPS = np.finfo(np.float64).eps

# where a problem of form was found, and what was found there
PARAMS, PARAM_ITEM, PARAM_TWICE, OUTPUT, OUTPUT_ITEM, LAYER, LAYER_ITEM, NEURON, COSTS, COST_ITEM, COST_FLOAT = range(11)
NONE, NUMBER, VALUE, LIST, ITERATOR, OTHER = range(6)

METHODS = tuple(f"backproplab.scalar_mlp.{cls}.{method}" for cls in ("Neuron", "Layer", "MLP")
                for method in ("__call__", "parameters"))


class _Problem(Exception):
    """A result of the wrong form, found while reading the student's objects."""

    def __init__(self, place, index=-1, kind=OTHER):
        super().__init__(place, index, kind)
        self.record = np.array([place, index, kind], dtype=np.float64)


def _kind(obj):
    if obj is None:
        return NONE
    if isinstance(obj, (int, float, np.integer, np.floating)) and not isinstance(obj, bool):
        return NUMBER
    if hasattr(obj, "data") and hasattr(obj, "grad"):
        return VALUE
    if isinstance(obj, (list, tuple)):
        return LIST
    if hasattr(obj, "__next__") or hasattr(obj, "__iter__"):
        return ITERATOR
    return OTHER


def _numbers(values, place, item_place, twice_place=None):
    """The .data of a list of Values as floats, or _Problem naming what is wrong with it."""
    if not isinstance(values, (list, tuple)):
        raise _Problem(place, -1, _kind(values))
    seen = set()
    for i, v in enumerate(values):
        if _kind(v) != VALUE:
            raise _Problem(item_place, i, _kind(v))
        if twice_place is not None:
            if id(v) in seen:
                raise _Problem(twice_place, i, VALUE)
            seen.add(id(v))
    return np.array([float(v.data) for v in values], dtype=np.float64)


def _one(value, place):
    if _kind(value) != VALUE:
        raise _Problem(place, -1, _kind(value))
    return float(value.data)


def _kind_words(kind):
    return [text("check.mlp_kind_none"), text("check.mlp_kind_number"), text("check.mlp_kind_value"),
            text("check.mlp_kind_list"), text("check.mlp_kind_iterator"), text("check.mlp_kind_other")][kind]


def _reject_problem(record, what):
    """Reject with the message of a recorded problem of form: [place, index, kind]."""
    place, index, kind = (int(v) for v in record) if len(record) == 3 else (-1, -1, -1)
    if not 0 <= place <= COST_FLOAT or not 0 <= kind <= OTHER:
        raise Reject(text("check.malformed", why=f"problem {list(record)}"))
    fields = {"what": what, "index": index, "kind": _kind_words(kind)}
    messages = {
        PARAMS: lambda: text("check.mlp_form_parameters", **fields),
        PARAM_ITEM: lambda: text("check.mlp_form_parameter_item", **fields),
        PARAM_TWICE: lambda: text("check.mlp_form_parameter_twice", **fields),
        OUTPUT: lambda: text("check.mlp_form_output", **fields),
        OUTPUT_ITEM: lambda: text("check.mlp_form_output_item", **fields),
        LAYER: lambda: text("check.mlp_form_layer", **fields),
        LAYER_ITEM: lambda: text("check.mlp_form_layer_item", **fields),
        NEURON: lambda: text("check.mlp_form_neuron", **fields),
        COSTS: lambda: text("check.mlp_form_costs", **fields),
        COST_ITEM: lambda: text("check.mlp_form_cost_item", **fields),
        COST_FLOAT: lambda: text("check.mlp_form_cost_float", **fields),
    }
    raise Reject(messages[place]())


# -- float forward passes: the reference, and the known mistakes ------------------------------

def _sizes(nin, nouts):
    return [int(nin)] + [int(n) for n in nouts]


def parameter_count(nin, nouts):
    """How many numbers MLP(nin, nouts) holds: (inputs + 1) per neuron."""
    sizes = _sizes(nin, nouts)
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))


def unflatten(theta, nin, nouts, bias_first=False):
    """[layer: [(w list, b) per neuron]] from the flat parameters, neuron by neuron.

    bias_first: read each neuron's bias before its weights (a known mistake).
    """
    theta, layers, at = list(map(float, theta)), [], 0
    sizes = _sizes(nin, nouts)
    for a, b in zip(sizes, sizes[1:]):
        layer = []
        for _ in range(b):
            chunk = theta[at:at + a + 1]
            at += a + 1
            layer.append((chunk[1:], chunk[0]) if bias_first else (chunk[:-1], chunk[-1]))
        layers.append(layer)
    return layers


def neuron_forward(w, b, x, nonlinear=True, how=""):
    """tanh(w . x + b) (or the sum when not nonlinear), in floats; how names a known mistake."""
    z = sum(wi * xi for wi, xi in zip(w, x))
    if how == "no_bias":
        return math.tanh(z) if nonlinear else z
    if how == "bias_after_tanh":
        return math.tanh(z) + b if nonlinear else z + b
    z += b
    if how == "no_tanh":
        return z
    if how == "always_tanh":
        return math.tanh(z)
    return math.tanh(z) if nonlinear else z


def mlp_forward(layers, x, how="", last_linear=True):
    """The list of outputs of the network ``layers`` (from :func:`unflatten`) at x, in floats.

    how: "" (the reference), "not_chained" (every layer reads x), "tanh_last",
    "no_tanh", "no_bias", "bias_after_tanh"; last_linear: False when ``layers``
    are the first layers of a deeper network, all of them with tanh.
    """
    h = list(map(float, x))
    for k, layer in enumerate(layers):
        nonlinear = k < len(layers) - 1 or how == "tanh_last" or not last_linear
        inputs = list(map(float, x)) if how == "not_chained" else h
        neuron_how = how if how in ("no_tanh", "no_bias", "bias_after_tanh") else ""
        h = [neuron_forward(w, b, inputs, nonlinear, neuron_how) for w, b in layer]
    return h


# -- check_mlp -------------------------------------------------------------------------------

def _point(rng, size):
    return [float(v) for v in np.clip(rng.normal(0.0, 1.0, size), -2.5, 2.5)]


class Mlp(Check):
    """MLP(nin, nouts, seed): its neurons, first layer, whole forward pass and parameters()."""

    name = "mlp"
    what = "your MLP"
    defaults = {"seed": 0, "nin": 3, "nouts": [4, 3, 2], "count": 4}
    delegation = METHODS

    def cases(self, params):
        nin, nouts, seed = int(params["nin"]), [int(n) for n in params["nouts"]], params["seed"]
        if nin < 1 or not nouts or min(nouts) < 1:
            raise ValueError(f"nin and every entry of nouts must be at least 1; got {nin}, {nouts}")
        rng = np.random.default_rng([seed, 3])
        last_in = ([nin] + nouts)[-2]
        data = {"nin": nin, "nouts": nouts, "seed": seed,
                "inputs": [_point(rng, nin) for _ in range(params["count"])],
                "last_inputs": [_point(rng, last_in) for _ in range(params["count"])]}
        label = text("check.case_mlp", nin=nin, nouts=nouts, seed=seed, count=params["count"])
        return [Case(label, data)]

    def call(self, student, case):
        d = case.data
        try:
            model = student(d["nin"], list(d["nouts"]), seed=d["seed"])
            canonical = np.array([v.data for layer in model.layers for neuron in layer.neurons
                                  for v in [*neuron.w, neuron.b]], dtype=np.float64)
            first, last = model.layers[0].neurons[0], model.layers[-1].neurons[0]
            hidden = [_one(first(list(x)), NEURON) for x in d["inputs"]]
            linear = [_one(last(list(u)), NEURON) for u in d["last_inputs"]]
            layer = tuple(_numbers(model.layers[0](list(x)), LAYER, LAYER_ITEM) for x in d["inputs"])
            outputs = tuple(_numbers(model(list(x)), OUTPUT, OUTPUT_ITEM) for x in d["inputs"])
            theta = _numbers(model.parameters(), PARAMS, PARAM_ITEM, PARAM_TWICE)
        except _Problem as problem:
            return (problem.record,)
        return (np.zeros(0), canonical, np.array(hidden), np.array(linear), layer, outputs, theta)

    def judge(self, case, value, params):
        d = case.data
        nin, nouts = d["nin"], d["nouts"]
        if not isinstance(value, tuple) or not value or not isinstance(value[0], np.ndarray):
            raise Reject(text("check.malformed", why="expected a tuple of arrays"))
        if value[0].size:
            _reject_problem(value[0], self.what)
        if len(value) != 7:
            raise Reject(text("check.malformed", why=f"{len(value)} items instead of 7"))
        _, canonical, hidden, linear, layer, outputs, theta = value
        count = parameter_count(nin, nouts)
        reference = np.array([p.data for p in scalar_mlp.MLP(nin, nouts, seed=d["seed"]).parameters()])
        canonical = reject_unless_array(canonical, (count,), text("check.mlp_weights", what=self.what))
        if not passes(canonical, reference):
            raise Reject(text("check.mlp_init_changed"))
        layers = unflatten(canonical, nin, nouts)
        k = len(d["inputs"])
        worst = 0.0

        # one hidden neuron (nonlinear), then one neuron of the last layer (linear)
        (w, b), x_all = layers[0][0], d["inputs"]
        first_nonlinear = len(nouts) > 1
        got = reject_unless_array(hidden, (k,), text("check.mlp_what_neuron", nonlinear=first_nonlinear))
        expected = [neuron_forward(w, b, x, first_nonlinear) for x in x_all]
        how = ("no_tanh", "no_bias", "bias_after_tanh") if first_nonlinear else ("always_tanh", "no_bias")
        worst = max(worst, compare(got, expected, 0.0, what=text("check.mlp_what_neuron", nonlinear=first_nonlinear),
                                   mistakes={f"mlp_{h}": [neuron_forward(w, b, x, first_nonlinear, h) for x in x_all]
                                             for h in how}))
        (w, b), u_all = layers[-1][0], d["last_inputs"]
        got = reject_unless_array(linear, (k,), text("check.mlp_what_neuron", nonlinear=False))
        expected = [neuron_forward(w, b, u, False) for u in u_all]
        worst = max(worst, compare(got, expected, 0.0, what=text("check.mlp_what_neuron", nonlinear=False),
                                   mistakes={f"mlp_{h}": [neuron_forward(w, b, u, False, h) for u in u_all]
                                             for h in ("always_tanh", "no_bias")}))

        # the first layer, then the whole network
        for got_all, size, layer_list, what in ((layer, nouts[0], layers[:1], text("check.mlp_what_layer")),
                                                (outputs, nouts[-1], layers, text("check.mlp_what_forward"))):
            if not isinstance(got_all, tuple) or len(got_all) != k:
                raise Reject(text("check.malformed", why="outputs of the wrong form"))
            for got in got_all:
                if isinstance(got, np.ndarray) and got.ndim == 1 and got.size != size:
                    if layer_list is not layers:
                        raise Reject(text("check.mlp_layer_size", got=got.size, expected=size))
                    raise Reject(text("check.mlp_output_size", got=got.size, expected=size, nin=nin, nouts=nouts))
            got = np.vstack([reject_unless_array(g, (size,), what) for g in got_all])
            expected = np.array([mlp_forward(layer_list, x, last_linear=layer_list is layers or len(layers) == 1)
                                 for x in x_all])
            mistakes = {} if layer_list is not layers else {
                f"mlp_{h}": np.array([mlp_forward(layers, x, h) for x in x_all])
                for h in ("not_chained", "tanh_last", "no_tanh")}
            worst = max(worst, compare(got, expected, 0.0, what=what, mistakes=mistakes))

        # parameters(): every weight and bias once, in order
        if not isinstance(theta, np.ndarray) or theta.ndim != 1:
            raise Reject(text("check.malformed", why="parameters of the wrong form"))
        if theta.size != count:
            sizes = _sizes(nin, nouts)
            named = {sum(a * b for a, b in zip(sizes, sizes[1:])): text("check.mlp_count_no_bias"),
                     (nin + 1) * nouts[0]: text("check.mlp_count_first_layer"),
                     (sizes[-2] + 1) * nouts[-1]: text("check.mlp_count_last_layer")}
            hint = named.get(int(theta.size), "")
            raise Reject(text("check.mlp_count", what=self.what, got=theta.size, expected=count,
                              nin=nin, nouts=nouts, hint=hint))
        if not passes(theta, canonical):
            if passes(np.sort(theta), np.sort(canonical)):
                bias_first = np.concatenate([[b, *w] for layer in layers for w, b in layer])
                hint = " " + text("mistake.mlp_bias_first") if passes(theta, bias_first) else ""
                raise Reject(text("check.mlp_order", hint=hint))
            raise Reject(text("check.mlp_parameters_values"))
        return worst


check_mlp = register(Mlp)


# -- check_mlp_train ----------------------------------------------------------------------

def _train_data(params):
    X, labels = two_moons(params["n"], 0.1, params["seed"])
    return X.tolist(), (2.0 * labels - 1.0).tolist()


def reference_loop(nouts, seed, X, y, steps, learning_rate, how=""):
    """(costs, final parameters) of the library's loop on MLP(2, nouts, seed), or of a known mistake.

    how: "" (the reference), "no_zero" (grads never reset), "ascent",
    "no_update", "sum" (the sum of the losses, not their mean), "last_sample",
    "first_sample", "stale_gradient" (the update runs before backward),
    "stale_graph" (the cost is built once, before the loop), "no_rate".
    """
    model = scalar_mlp.MLP(len(X[0]), nouts, seed=seed)
    params = model.parameters()
    rate = 1.0 if how == "no_rate" else learning_rate
    sign = 1.0 if how == "ascent" else -1.0
    rows = {"last_sample": [(X[-1], y[-1])], "first_sample": [(X[0], y[0])]}.get(how, list(zip(X, y)))
    costs, cost = [], None
    for _ in range(steps):
        if cost is None or how != "stale_graph":
            losses = [(model(x)[0] - t) ** 2 for x, t in rows]
            cost = sum(losses) if how == "sum" else sum(losses) / len(losses)
        if how == "stale_gradient":
            for p in params:
                p.data += sign * rate * p.grad
        if how != "no_zero":
            for p in params:
                p.grad = 0.0
        cost.backward()
        if how not in ("no_update", "stale_gradient"):
            for p in params:
                p.data += sign * rate * p.grad
        costs.append(cost.data)
    return np.array(costs), np.array([p.data for p in params])


NUMERICAL_GAP = 1e-13  # relative to the largest parameter (tests/test_scalar_mlp.py measures both sides)
TRAIN_MISTAKES = ("no_zero", "ascent", "no_update", "sum", "last_sample", "first_sample", "stale_gradient",
                  "stale_graph", "no_rate")


class MlpTrain(Check):
    """train(model, X, y, steps, learning_rate): full-batch descent on the mean squared error."""

    name = "mlp_train"
    what = "train(model, X, y, steps, learning_rate)"
    defaults = {"seed": 0, "n": 6, "nouts": [3, 1], "steps": 4, "learning_rate": 0.1}
    delegation = ("backproplab.scalar_mlp.train",)

    def cases(self, params):
        X, y = _train_data(params)
        data = {"X": X, "y": y, "nouts": [int(n) for n in params["nouts"]], "seed": params["seed"],
                "steps": int(params["steps"]), "learning_rate": float(params["learning_rate"])}
        label = text("check.case_mlp_train", nouts=data["nouts"], seed=params["seed"], n=len(X),
                     steps=data["steps"], learning_rate=data["learning_rate"])
        return [Case(label, data)]

    def call(self, student, case):
        d = case.data
        model = scalar_mlp.MLP(2, d["nouts"], seed=d["seed"])
        X, y = [list(x) for x in d["X"]], list(d["y"])
        namespace = getattr(student, "__globals__", {})
        own = namespace.get("Value")
        if isinstance(own, type) and own is not Value:
            namespace["Value"] = Value  # the model is made of the library's Values
        try:
            costs = student(model, X, y, d["steps"], d["learning_rate"])
        except AttributeError as exc:
            if "'float' object has no attribute 'backward'" not in str(exc):
                raise
            return (np.array([COST_FLOAT, -1, NUMBER], dtype=np.float64),)  # a cost made of .data
        finally:
            if isinstance(own, type) and own is not Value:
                namespace["Value"] = own
        if not isinstance(costs, (list, tuple)):
            return (np.array([COSTS, -1, _kind(costs)], dtype=np.float64),)
        for i, c in enumerate(costs):
            if _kind(c) != NUMBER:
                return (np.array([COST_ITEM, i, _kind(c)], dtype=np.float64),)
        return (np.zeros(0), np.array(costs, dtype=np.float64), np.array([p.data for p in model.parameters()]))

    def judge(self, case, value, params):
        d = case.data
        if not isinstance(value, tuple) or not value or not isinstance(value[0], np.ndarray):
            raise Reject(text("check.malformed", why="expected a tuple of arrays"))
        if value[0].size:
            _reject_problem(value[0], self.what)
        if len(value) != 3:
            raise Reject(text("check.malformed", why=f"{len(value)} items instead of 3"))
        _, costs, theta = value
        steps = d["steps"]
        if isinstance(costs, np.ndarray) and costs.ndim == 1 and costs.size != steps:
            raise Reject(text("check.mlp_train_cost_count", what=self.what, got=costs.size, steps=steps))
        args = (d["nouts"], d["seed"], d["X"], d["y"], steps, d["learning_rate"])
        expected_costs, expected_theta = reference_loop(*args)
        costs = reject_unless_array(costs, (steps,), text("check.mlp_train_costs", what=self.what))
        theta = reject_unless_array(theta, expected_theta.shape, text("check.mlp_train_params", what=self.what))
        noise_c, noise_t = 1e3 * EPS * np.abs(expected_costs), 1e3 * EPS * np.abs(expected_theta)
        if passes(costs, expected_costs, noise_c) and passes(theta, expected_theta, noise_t):
            # a loop of backward() agrees with the reference to rounding (measured below 1e-15 of the
            # parameters' size); gradients from finite differences differ by 2.5e-12 or more
            gap = float(np.max(np.abs(theta - expected_theta)) / max(float(np.max(np.abs(expected_theta))), 1e-300))
            if gap > NUMERICAL_GAP:
                raise Reject(text("check.mlp_train_numerical", what=self.what, gap=gap))
            return max(compare(costs, expected_costs, noise_c, what=self.what),
                       compare(theta, expected_theta, noise_t, what=self.what))
        named = {}
        for how in TRAIN_MISTAKES:  # the first mistake that explains both the costs and the parameters
            c, t = reference_loop(*args, how=how)
            if c.shape == costs.shape and passes(costs, c, noise_c) and passes(theta, t, noise_t):
                named = {"mlp_train_" + how: (c, t)}
                break
        if not passes(costs, expected_costs, noise_c):
            compare(costs, expected_costs, noise_c, what=text("check.mlp_train_costs", what=self.what),
                    mistakes={k: c for k, (c, _) in named.items()}, factors={"N": len(d["X"])})
        compare(theta, expected_theta, noise_t, what=text("check.mlp_train_params", what=self.what),
                mistakes={k: t for k, (_, t) in named.items()}, factors={"N": len(d["X"])})
        raise AssertionError("unreachable")  # pragma: no cover - compare raised


check_mlp_train = register(MlpTrain)


# -- check_trained_mlp ----------------------------------------------------------------------

class TrainedMlp(Check):
    """The trained model: its cost on the moons it was trained on, from its recorded parameters."""

    name = "trained_mlp"
    what = "the trained model"
    model = "the trained model"  # how the parts of a message name it
    defaults = {"seed": 0, "n": 30, "noise": 0.1, "nouts": [8, 1], "target": 0.1}
    delegation = ("backproplab.scalar_mlp.train",) + METHODS

    def cases(self, params):
        X, labels = two_moons(params["n"], params["noise"], params["seed"])
        data = {"X": X.tolist(), "labels": labels.tolist(), "nouts": [int(n) for n in params["nouts"]],
                "target": float(params["target"])}
        label = text("check.case_trained_mlp", n=params["n"], noise=params["noise"], seed=params["seed"],
                     nouts=data["nouts"], target=data["target"])
        return [Case(label, data)]

    def call(self, student, case):
        try:
            # the weights as the given constructors store them: parameters() is check_mlp's business
            theta = np.array([float(v.data) for layer in student.layers for neuron in layer.neurons
                              for v in [*neuron.w, neuron.b]], dtype=np.float64)
            outputs = []
            for x in case.data["X"]:
                out = student(list(x))
                if not isinstance(out, (list, tuple)):
                    raise _Problem(OUTPUT, -1, _kind(out))
                outputs.append(_one(out[0], OUTPUT_ITEM) if out else math.nan)
        except _Problem as problem:
            return (problem.record,)
        return (np.zeros(0), theta, np.array(outputs))

    def judge(self, case, value, params):
        d = case.data
        nouts, n = d["nouts"], len(d["X"])
        if not isinstance(value, tuple) or not value or not isinstance(value[0], np.ndarray):
            raise Reject(text("check.malformed", why="expected a tuple of arrays"))
        if value[0].size:
            _reject_problem(value[0], self.model)
        if len(value) != 3:
            raise Reject(text("check.malformed", why=f"{len(value)} items instead of 3"))
        _, theta, outputs = value
        count = parameter_count(2, nouts)
        if isinstance(theta, np.ndarray) and theta.ndim == 1 and theta.size != count:
            raise Reject(text("check.mlp_trained_size", got=theta.size, expected=count, nouts=nouts))
        theta = reject_unless_array(theta, (count,), text("check.mlp_trained_parameters", what=self.model))
        outputs = reject_unless_array(outputs, (n,), text("check.mlp_trained_outputs", what=self.model))
        layers = unflatten(theta, 2, nouts)
        expected = np.array([mlp_forward(layers, x)[0] for x in d["X"]])
        mistakes = {f"mlp_{h}": np.array([mlp_forward(layers, x, h)[0] for x in d["X"]])
                    for h in ("tanh_last", "no_tanh", "no_bias", "bias_after_tanh", "not_chained")}
        score = compare(outputs, expected, 0.0, what=text("check.mlp_trained_outputs", what=self.model),
                        mistakes=mistakes)
        targets = 2.0 * np.array(d["labels"], dtype=np.float64) - 1.0
        cost = float(np.mean((expected - targets) ** 2))
        if not cost <= d["target"]:
            labels_cost = float(np.mean((expected - np.array(d["labels"], dtype=np.float64)) ** 2))
            hint = text("check.mlp_trained_labels") if labels_cost <= d["target"] else text("check.mlp_trained_hint")
            raise Reject(text("check.mlp_trained_target", cost=cost, target=d["target"], n=n, hint=hint))
        return score


check_trained_mlp = register(TrainedMlp)
