"""Checks of the layer and loss classes students write in notebooks 04 to 07.

A student's layer is a class following the Module convention of
:mod:`backproplab.layers`: ``Cls(d_in, d_out)`` for a linear layer, ``Cls()``
otherwise; parameters in ``self.params``, their gradients in ``self.grads``
(same keys, same shapes); ``forward(x)`` returns the output, ``backward(dout)``
returns dL/dx and fills ``self.grads``. A loss has ``forward(z, y)`` (a float)
and ``backward(dout)`` (dL/dz).

- ``check_layer_forward(Cls, kind=..., seed=0, n=4, d=5, m=3)``: the forward
  values, against the library's reference module.
- ``check_layer(Cls, kind=..., seed=0, n=4, d=5, m=3)``: the backward. dz,
  dW and db are judged as separate tensors against finite differences of the
  REFERENCE forward (never the student's), for a random upstream gradient;
  entry by entry up to :data:`ELEMENTWISE_LIMIT` entries, along
  :data:`DIRECTIONS` random unit directions beyond. Free property checks:
  shape, dtype float64, finite; backward(0) = 0; backward(2.5 dout) =
  2.5 backward(dout); a second call gives the same; x, dout and the
  parameters unchanged. An answer that is itself a finite difference (it
  matches finite differences but not the reference's exact backward) fails.
- ``check_loss(Cls, kind="mse"|"softmax_cross_entropy", seed=0, n=4, m=3)``:
  the loss value, and backward(dout) for a scalar dout other than 1.

Inputs follow CHECKS.md: ReLU inputs sign * U(0.1, 2); tanh and sigmoid
inputs N(0, 1) clipped to +-3; logits N(0, 1.5^2) clipped to +-4; distinct,
non-square sizes by default. The student's class is instantiated inside
``call``; large tensors are recorded as a sketch (shape, dtype, count of
non-finite entries, largest magnitude, projections on seeded directions), so
that the evidence stays small and the grader can still judge it again.
"""

import functools
import re

import numpy as np

from backproplab import layers, numeric
from backproplab.messages import text

from ..contract import Case, Check, Inconclusive, Reject, describe, register, reject_unless_finite_number
from ..diagnose import compare, passes, reject_if_numerical
from .. import evidence
from .finite_differences import DIFFERENTIATORS

ELEMENTWISE_LIMIT = 2000  # tensors up to this many entries are checked entry by entry
DIRECTIONS = 4  # random unit directions for larger tensors
SPARES = 2  # extra draws that replace an inconclusive case
SCALE = 2.5  # backward(SCALE * dout) must be SCALE * backward(dout)
SIGMOID_FAR = 800.0  # the sigmoid's forward is also run at -800 and 800, where a naive exp(-z) overflows

LAYERS = {
    "linear": ("Linear", layers.Linear),
    "sigmoid": ("Sigmoid", layers.Sigmoid),
    "tanh": ("Tanh", layers.Tanh),
    "relu": ("ReLU", layers.ReLU),
    "softmax": ("Softmax", layers.Softmax),
}
LOSSES = {
    "mse": ("MSE", layers.MSE),
    "softmax_cross_entropy": ("SoftmaxCrossEntropy", layers.SoftmaxCrossEntropy),
}
PROPERTIES = (  # (which backward call, what it must give as a multiple of the first, its message)
    (1, 1.0, lambda **f: text("check.layer_not_repeatable", **f)),
    (2, 0.0, lambda **f: text("check.layer_zero_dout", **f)),
    (3, SCALE, lambda **f: text("check.layer_not_linear", **f)),
)
TENSOR_INDEX = {"out": 0, "dz": 1, "W": 2, "b": 3, "x": 4, "dout": 5, "y": 6}


# What already does a layer's work: the library's modules and the numerical differentiators.
DELEGATION = tuple(f"backproplab.layers.{cls}.{method}" for cls in
                   ("Linear", "Sigmoid", "Tanh", "ReLU", "Softmax", "MSE", "SoftmaxCrossEntropy")
                   for method in ("forward", "backward")) + (
    "backproplab.layers.softmax", "backproplab.numeric.numerical_vjp", "backproplab.numeric.numerical_directional",
    "backproplab.gradcheck.gradcheck") + DIFFERENTIATORS


def _stand_in_forward(obj, kind, *inputs):
    """Fill obj.cache as the library's forward of ``kind`` does, without calling it.

    Used when the student's forward raises: their backward is then graded on
    its own, reading the cache the contract describes.
    """
    if kind in ("linear", "relu"):
        obj.cache = np.array(inputs[0], dtype=np.float64)
    elif kind == "sigmoid":
        obj.cache = 1.0 / (1.0 + np.exp(-inputs[0]))
    elif kind == "tanh":
        obj.cache = np.tanh(inputs[0])
    elif kind == "softmax":
        e = np.exp(inputs[0] - inputs[0].max(axis=1, keepdims=True))
        obj.cache = e / e.sum(axis=1, keepdims=True)
    elif kind == "mse":
        obj.cache = (inputs[0].copy(), inputs[1].copy())
    else:
        z, y = inputs
        e = np.exp(z - z.max(axis=1, keepdims=True))
        obj.cache = (e / e.sum(axis=1, keepdims=True), y.copy())


def _forward_or_stand_in(obj, kind, *inputs):
    """obj.forward(*inputs); if it raises, the stand-in fills the cache so that backward is graded alone."""
    try:
        return obj.forward(*inputs)
    except Exception:
        _stand_in_forward(obj, kind, *inputs)
        return None


def _cache_state(obj, x):
    """0: fine or not a Module; 1: forward left self.cache None; 2: self.cache is the caller's x."""
    if "cache" not in vars(obj):
        return 0.0
    cache = obj.cache
    if cache is None:
        return 1.0
    if isinstance(cache, np.ndarray) and np.shares_memory(cache, x):
        return 2.0
    return 0.0


class ConventionError(TypeError):
    """The student's class does not follow the Module convention (raised inside call)."""


class NotAnArray:
    """Stands in the evidence for a large result that is not a numpy array."""

    def __init__(self, value):
        self.type = type(value).__name__

    def __repr__(self):
        return self.type


# -- inputs ------------------------------------------------------------------------------

def _inputs(kind, rng, n, d):
    """Seeded inputs x: (n, d), away from kinks, live and unsaturated (CHECKS.md)."""
    if kind == "relu":
        while True:
            x = rng.choice([-1.0, 1.0], size=(n, d)) * rng.uniform(0.1, 2.0, size=(n, d))
            if (x > 0).any() and (x < 0).any() or x.size < 2:
                return x
    if kind == "softmax":
        return np.clip(rng.normal(0.0, 1.5, size=(n, d)), -4.0, 4.0)
    if kind in ("sigmoid", "tanh"):
        return np.clip(rng.normal(0.0, 1.0, size=(n, d)), -3.0, 3.0)
    return rng.normal(0.0, 1.0, size=(n, d))


def _sizes(params, kind):
    """(N, D, M) of a case; an activation maps (N, D) to (N, D), so its M is D."""
    n, d, m = int(params["n"]), int(params.get("d", 1)), int(params["m"])
    if min(n, d, m) < 1:
        raise ValueError(text("check.layer_bad_sizes", n=n, d=d, m=m))
    return n, d, (m if kind == "linear" else d)


def _reference(kind, W=None, b=None):
    """The library's module for ``kind`` with parameters W, b (linear)."""
    module = LAYERS[kind][1](W.shape[0], W.shape[1]) if kind == "linear" else LAYERS[kind][1]()
    if kind == "linear":
        module.params["W"][...] = W
        module.params["b"][...] = b
    return module


@functools.lru_cache(maxsize=16)
def _directions(seed, index, name, shape, k=DIRECTIONS):
    """k seeded unit directions of ``shape`` for the tensor ``name`` of case ``index`` (read-only)."""
    shape = tuple(shape)
    rng = np.random.default_rng([int(seed) % 2**32, index, TENSOR_INDEX[name], 7])
    u = rng.normal(size=(k,) + tuple(shape))
    norms = np.sqrt((u.reshape(k, -1) ** 2).sum(axis=1)).reshape((k,) + (1,) * len(shape))
    u = u / norms
    u.flags.writeable = False
    return u


def _large(shape):
    return int(np.prod(shape)) > ELEMENTWISE_LIMIT


# -- recording (call) and reading (judge) ------------------------------------------------

def _record(value, shape, us):
    """What the evidence keeps of a result that should have ``shape``.

    Small tensors: the value itself. Large ones: a sketch, the tuple
    (shape, an empty array of the value's dtype, [non-finite count, max |v|, <v, u_k>...]).
    """
    if not _large(shape):
        return value.copy() if isinstance(value, np.ndarray) else value
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        return NotAnArray(value)
    v = value.astype(np.float64)
    finite = np.isfinite(v)
    stats = [float((~finite).sum()), float(np.max(np.abs(np.where(finite, v, 0.0)), initial=0.0))]
    if v.shape == tuple(shape):
        vv = np.where(finite, v, 0.0)
        stats += [float(np.sum(vv * u)) for u in us]
    else:
        stats += [np.nan] * len(us)
    return (np.array(value.shape, dtype=np.float64), np.zeros(0, dtype=value.dtype), np.array(stats))


class Read:
    """A decoded tensor: full (``array``) or sketched (``projections`` on ``us``)."""

    def __init__(self, array=None, projections=None, maxabs=None):
        self.array = array
        self.projections = projections
        self.maxabs = maxabs


def _dtype_of(value):
    return str(getattr(value, "original_dtype", getattr(value, "dtype", "float64")))


def _read(value, shape, what, name, hint=None):
    """A :class:`Read` of the recorded ``value``, or Reject saying what is wrong with it."""
    shape = tuple(shape)
    if _large(shape):
        ok = (isinstance(value, tuple) and len(value) == 3
              and all(isinstance(v, np.ndarray) for v in value) and value[2].size == 2 + DIRECTIONS)
        if not ok:
            got = value.type if isinstance(value, evidence.Other) else type(value).__name__
            raise Reject(text("check.layer_not_array", what=what, name=name, shape=shape, got=got))
        got_shape = tuple(int(s) for s in value[0])
        dtype, stats = _dtype_of(value[1]), value[2]
        _reject_shape(got_shape, shape, what, name, hint)
        _reject_dtype(dtype, what, name)
        if stats[0] > 0:
            raise Reject(text("check.layer_not_finite", what=what, name=name, count=int(stats[0]), index="?"))
        return Read(projections=np.asarray(stats[2:], dtype=np.float64), maxabs=float(stats[1]))
    if isinstance(value, float) and shape == ():
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        got = value.type if isinstance(value, evidence.Other) else type(value).__name__
        if isinstance(value, tuple):
            got = describe(value)
        raise Reject(text("check.layer_not_array", what=what, name=name, shape=shape, got=got))
    _reject_shape(value.shape, shape, what, name, hint)
    _reject_dtype(_dtype_of(value), what, name)
    bad = ~np.isfinite(value)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Reject(text("check.layer_not_finite", what=what, name=name, count=int(bad.sum()), index=first))
    return Read(array=np.asarray(value, dtype=np.float64))


def _reject_shape(got, expected, what, name, hint):
    if tuple(got) == tuple(expected):
        return
    extra = ""
    if hint is not None:
        extra = hint(tuple(got)) or ""
    if not extra and len(expected) == 2 and tuple(got) == tuple(expected)[::-1]:
        extra = text("check.hint_transpose")
    raise Reject(text("check.layer_wrong_shape", what=what, name=name, expected=tuple(expected),
                      got=tuple(got), hint=extra))


def _reject_dtype(dtype, what, name):
    if dtype != "float64":
        raise Reject(text("check.layer_wrong_dtype", what=what, name=name, got=dtype))


def _unchanged(read, before, us, what, name):
    """Reject unless the recorded ``read`` of an input equals ``before``."""
    if read.array is not None:
        moved = read.array != before
        if moved.any():
            i = tuple(int(k) for k in np.argwhere(moved)[0])
            raise Reject(text("check.layer_changed", what=what, name=name, index=i,
                              before=float(before[i]), after=float(read.array[i])))
        return
    expected = np.array([float(np.sum(before * u)) for u in us])
    tol = 1e-12 * (1.0 + np.sum(np.abs(before)))
    if np.any(np.abs(read.projections - expected) > tol) or read.maxabs != float(np.max(np.abs(before))):
        raise Reject(text("check.layer_changed", what=what, name=name, index="?", before="?", after="?"))


def _input_directions(data, name, shape):
    """The seeded directions an input (x, dout, W, b) is sketched on when large, else None."""
    return _directions(data["seed"], data["index"], name, tuple(shape)) if _large(shape) else None


def _project(array, us):
    return np.array([float(np.sum(array * u)) for u in us])


# -- the judged comparison ---------------------------------------------------------------

def _direction_step(x, h=1e-5):
    """The step along a unit direction at x: h * max(1, max|x|)."""
    return h * max(1.0, float(np.max(np.abs(x), initial=0.0)))


def _realized(x, us, h=1e-5):
    """The directions finite differences actually move along: ((x + s u) - (x - s u)) / 2s.

    x + s u rounds; projecting the analytic gradient on the realized direction
    instead of u removes that rounding from the comparison.
    """
    s = _direction_step(x, h)
    return np.array([((x + s * u) - (x - s * u)) / (2 * s) for u in us])


def _fd(f, x, dout, us, h=1e-5):
    """(numerical, noise): dout^T J entry by entry, or <dout, J u_k> for each direction u_k."""
    if us is None:
        steps = h * np.maximum(1.0, np.abs(x))
        return numeric.numerical_vjp(f, x, dout, steps, with_noise=True)
    step = _direction_step(x, h)
    values, noises = [], []
    for u in us:
        ju, noise = numeric.numerical_directional(f, x, u, step, with_noise=True)
        values.append(float(np.sum(dout * ju)))
        noises.append(float(np.sum(np.abs(dout) * noise)))
    return np.array(values), np.array(noises)


def _judge_tensor(read, f, x, dout, us, what, name, mistakes, factors, rows_sum_zero=False, exact=None):
    """Compare one gradient with finite differences of the reference forward f at x.

    us: None (entry by entry) or the raw unit directions, whose realized
    versions (:func:`_realized`) the recorded projections were taken on.
    A failure that vanishes at 10h or h/10 is inconclusive (a step crossed a kink).
    exact: the reference's analytic gradient; an answer that is itself a finite
    difference matches finite differences but not it, and fails.
    """
    got = read.array if us is None else read.projections
    numerical, noise = _fd(f, x, dout, us)
    if passes(got, numerical, noise):
        score = compare(got, numerical, noise, what=name)
        if exact is not None and us is None:
            reject_if_numerical(got, exact, noise, what=f"{what}: {name}")
        return score
    for h in (1e-4, 1e-6):
        other, other_noise = _fd(f, x, dout, us, h)
        if passes(got, other, other_noise):
            raise Inconclusive(text("check.layer_kink", name=name))
    if us is not None:
        rs = _realized(x, us)
        mistakes = {key: _project(v, rs) for key, v in mistakes.items() if np.shape(v) == x.shape}
    try:
        return compare(got, numerical, noise, what=f"{what}: {name}", mistakes=mistakes, factors=factors)
    except Reject as why:
        message = str(why)
        if rows_sum_zero and us is None and got.ndim == 2:
            sums = np.abs(got.sum(axis=1))
            if np.any(sums > 1e-6 * (1.0 + np.abs(got).sum(axis=1))):
                message += "\n" + text("check.layer_rows_not_zero", name=name,
                                       worst=float(sums.max()))
        raise Reject(message) from None


# -- shape hints -------------------------------------------------------------------------

def _db_hint(n, m):
    def hint(got):
        if got == (n, m):
            return text("check.layer_hint_db_not_summed")
        if got == (n,):
            return text("check.layer_hint_db_wrong_axis")
        if got == (1, m):
            return text("check.layer_hint_db_keepdims")
        if got == ():
            return text("check.layer_hint_db_summed_all")
        return ""
    return hint


def _dw_hint(d, m):
    def hint(got):
        if got == (m, d):
            return text("check.layer_hint_dw_transposed")
        return ""
    return hint


# -- the student's module ------------------------------------------------------------------

def _build(student, kind, d, m):
    """An instance of the student's class: Cls(d, m) for linear, Cls() otherwise."""
    if not isinstance(student, type):
        raise ConventionError(text("check.layer_not_class", got=type(student).__name__))
    return student(d, m) if kind == "linear" else student()


def _set_params(obj, kind, W, b):
    """Write W and b into obj.params (linear), checking the convention."""
    if kind != "linear":
        return
    params = getattr(obj, "params", None)
    if not isinstance(params, dict):
        raise ConventionError(text("check.layer_no_params", got=type(params).__name__,
                                   w_shape=W.shape, b_shape=b.shape))
    for name, value in (("W", W), ("b", b)):
        p = params.get(name)
        if not isinstance(p, np.ndarray):
            raise ConventionError(text("check.layer_param_missing", name=name, shape=value.shape,
                                       got=type(p).__name__, keys=sorted(map(str, params))))
        if p.shape != value.shape:
            raise ConventionError(text("check.layer_param_shape", name=name, shape=value.shape, got=p.shape))
        p[...] = value


def _grads(obj, kind, shapes):
    """Copies of obj.grads["W"], obj.grads["b"] (linear), or ()."""
    if kind != "linear":
        return ()
    grads = getattr(obj, "grads", None)
    if not isinstance(grads, dict) or "W" not in grads or "b" not in grads:
        keys = sorted(map(str, grads)) if isinstance(grads, dict) else type(grads).__name__
        raise ConventionError(text("check.layer_no_grads", w_shape=shapes["W"], b_shape=shapes["b"], got=keys))
    return grads["W"], grads["b"]


def _reject_if_convention_broken(record):
    """A ConventionError recorded by call reads as what it is, not as 'your code raised'."""
    try:
        value = evidence.decode(record)
    except evidence.MalformedEvidence:
        return  # the contract reports it
    if isinstance(value, evidence.Raised) and value.type == ConventionError.__name__:
        raise Reject(value.message)


class _LayerCheck(Check):
    """What the three checks share: the kind parameter, seeded cases, the Module convention."""

    kinds = {}
    delegation = DELEGATION

    def _judge_record(self, case, record, params):
        _reject_if_convention_broken(record)
        return super()._judge_record(case, record, params)

    def resolve(self, params):
        params = super().resolve(params)
        kinds = self.kinds
        if params["kind"] not in kinds:
            raise TypeError(text("check.layer_bad_kind", check=self.name, got=params["kind"],
                                 expected=", ".join(sorted(kinds))))
        return params

    def _case_data(self, params, index):
        kind = params["kind"]
        n, d, m = _sizes(params, kind)
        rng = np.random.default_rng([int(params["seed"]) % 2**32, index, 4])
        x = _inputs(kind, rng, n, d)
        W = rng.normal(0.0, 1.0, size=(d, m)) if kind == "linear" else None
        b = rng.normal(0.0, 1.0, size=m) if kind == "linear" else None
        dout = rng.normal(0.0, 1.0, size=(n, m))
        return {"kind": kind, "n": n, "d": d, "m": m, "x": x, "W": W, "b": b, "dout": dout,
                "seed": int(params["seed"]), "index": index}

    def _label(self, data):
        name = LAYERS[data["kind"]][0]
        if data["kind"] == "linear":
            shapes = f"x {(data['n'], data['d'])}, W {(data['d'], data['m'])}, b {(data['m'],)}"
        else:
            shapes = f"x {(data['n'], data['d'])}"
        if self.name == "layer_forward":  # forward takes no upstream gradient
            return text("check.layer_case_forward", layer=name, shapes=shapes, draw=data["index"])
        return text("check.layer_case", layer=name, shapes=shapes, draw=data["index"])

    def cases(self, params):
        data = self._case_data(params, 0)
        return [Case(self._label(data), data)]

    def spares(self, params):
        """Other draws that replace a case a finite-difference step made inconclusive (kinks: ReLU only)."""
        if params["kind"] != "relu":
            return []
        return [Case(self._label(data), data)
                for data in (self._case_data(params, i) for i in range(1, 1 + SPARES))]


# -- check_layer_forward -----------------------------------------------------------------------

class LayerForward(_LayerCheck):
    """Cls().forward(x) (Cls(d, m) for linear) equals the library's reference layer."""

    name = "layer_forward"
    what = "forward(x)"
    defaults = {"kind": "linear", "seed": 0, "n": 4, "d": 5, "m": 3}
    kinds = LAYERS

    def spares(self, params):
        return []  # a forward value has no kink to cross

    def _case_data(self, params, index):
        data = super()._case_data(params, index)
        if data["kind"] == "sigmoid" and data["x"].size >= 2:  # exp(-z) overflows there unless written stably
            data["x"] = data["x"].copy()
            data["x"].flat[0], data["x"].flat[-1] = -SIGMOID_FAR, SIGMOID_FAR
        return data

    def _judge_record(self, case, record, params):
        try:
            return super()._judge_record(case, record, params)
        except Reject as why:
            raise Reject(str(why) + _raised_hint(record, case.data, "forward")) from None

    def call(self, student, case):
        data = case.data
        obj = _build(student, data["kind"], data["d"], data["m"])
        _set_params(obj, data["kind"], data["W"], data["b"])
        x = data["x"].copy()
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = obj.forward(x)
        shape = (data["n"], data["m"])
        us_out = _directions(data["seed"], data["index"], "out", shape)
        us_x = _directions(data["seed"], data["index"], "x", x.shape)
        return _record(out, shape, us_out), _record(x, x.shape, us_x), np.array([_cache_state(obj, x)])

    def judge(self, case, value, params):
        data = case.data
        kind, x = data["kind"], data["x"]
        if not (isinstance(value, tuple) and len(value) == 3):
            raise Reject(text("check.malformed", why="expected 3 results"))
        shape = (data["n"], data["m"])
        us_out = _directions(data["seed"], data["index"], "out", shape)
        us_x = _directions(data["seed"], data["index"], "x", x.shape)
        out = _read(value[0], shape, self.what, "out")
        read_x = _read(value[1], x.shape, self.what, "x")
        _unchanged(read_x, x, us_x, self.what, "x")
        expected = _reference(kind, data["W"], data["b"]).forward(x.copy())
        noise = numeric.EPS * _forward_scale(kind, data)
        mistakes = _forward_mistakes(kind, data)
        got = out.array
        if got is None:
            got, expected, noise = out.projections, _project(expected, us_out), 0.0 * _project(noise, us_out)
            mistakes = {k: _project(v, us_out) for k, v in mistakes.items() if np.shape(v) == shape}
        score = compare(got, expected, noise, what=f"{self.what}: out", mistakes=mistakes,
                        factors={"N": data["n"], "D": data["d"]})
        state = value[2]
        if not (isinstance(state, np.ndarray) and state.shape == (1,)):
            raise Reject(text("check.malformed", why="expected the state of the cache"))
        if state[0] == 1.0:
            raise Reject(text("check.layer_cache_empty", what=self.what))
        if state[0] == 2.0:
            raise Reject(text("check.layer_cache_not_copy", what=self.what))
        return score


def _forward_scale(kind, data):
    x = data["x"]
    if kind == "linear":
        return 4 * (np.abs(x) @ np.abs(data["W"]) + np.abs(data["b"]))
    return 4 * np.ones_like(x)


def _forward_mistakes(kind, data):
    x, W, b = data["x"], data["W"], data["b"]
    if kind == "linear":
        return {"layer_linear_no_bias": x @ W, "layer_linear_bias_subtracted": x @ W - b}
    if kind == "sigmoid":
        with np.errstate(over="ignore"):
            return {"layer_sigmoid_sign": 1.0 / (1.0 + np.exp(x)), "layer_sigmoid_no_one": np.exp(x)}
    if kind == "tanh":
        return {"layer_tanh_is_sigmoid": 1.0 / (1.0 + np.exp(-x))}
    if kind == "relu":
        return {"layer_relu_min": np.minimum(x, 0.0), "layer_relu_abs": np.abs(x)}
    e = np.exp(x)
    return {"layer_softmax_wrong_axis_forward": e / e.sum(axis=0, keepdims=True),
            "layer_softmax_all_entries": e / e.sum(),
            "layer_softmax_no_exp": x / x.sum(axis=1, keepdims=True)}


check_layer_forward = register(LayerForward)


# -- check_layer ----------------------------------------------------------------------------------

class LayerBackward(_LayerCheck):
    """backward(dout) of the student's layer: dz and each parameter gradient against finite differences."""

    name = "layer"
    what = "backward(dout)"
    defaults = {"kind": "linear", "seed": 0, "n": 4, "d": 5, "m": 3}
    kinds = LAYERS

    def _tensors(self, data):
        """[(name, shape)] in the order of the evidence: dz, then W, b for linear."""
        n, d, m = data["n"], data["d"], data["m"]
        names = [("dz", (n, d))]
        if data["kind"] == "linear":
            names += [("W", (d, m)), ("b", (m,))]
        return names

    def _judge_record(self, case, record, params):
        try:
            return super()._judge_record(case, record, params)
        except Reject as why:
            raise Reject(str(why) + _broadcast_hint(record, case.data) + _raised_hint(record, case.data, "backward")) \
                from None

    def _us(self, data, name, shape):
        return _directions(data["seed"], data["index"], name, shape) if _large(shape) else None

    def call(self, student, case):
        data = case.data
        kind = data["kind"]
        obj = _build(student, kind, data["d"], data["m"])
        _set_params(obj, kind, data["W"], data["b"])
        x = data["x"].copy()
        held = dict(getattr(obj, "grads", None) or {}) if kind == "linear" else {}
        _forward_or_stand_in(obj, kind, x)
        tensors = self._tensors(data)
        shapes = dict(tensors)

        def run(dout):
            dz = obj.backward(dout)
            return [dz] + [g.copy() if isinstance(g, np.ndarray) else g for g in _grads(obj, kind, shapes)]

        dirs = {name: self._us_all(data, name, shape) for name, shape in tensors}

        def record(results):
            return [_record(v, shape, dirs[name]) for v, (name, shape) in zip(results, tensors)]

        dout = data["dout"].copy()
        first = record(run(dout))
        again = record(run(data["dout"].copy()))
        zero = record(run(np.zeros_like(data["dout"])))
        scaled = record(run(SCALE * data["dout"]))
        inputs = [(x, data["x"].shape, "x"), (dout, dout.shape, "dout")]
        if kind == "linear":
            inputs += [(obj.params["W"], data["W"].shape, "W"), (obj.params["b"], data["b"].shape, "b")]
        inputs = [_record(v, shape, _input_directions(data, name, shape)) for v, shape, name in inputs]
        kept = []
        if kind == "linear":  # did backward write into the arrays an optimizer was handed before it?
            grads = getattr(obj, "grads", {})
            kept = [np.array([float(isinstance(held.get(name), np.ndarray) and grads.get(name) is held[name])
                              for name in ("W", "b")])]
        return tuple(first + again + zero + scaled + inputs + kept)

    def _us_all(self, data, name, shape):
        """The directions a large tensor is sketched on: realized finite-difference directions
        for the judged gradients (dz at x, dW at W, db at b), seeded unit directions otherwise."""
        if not _large(shape):
            return None
        us = _directions(data["seed"], data["index"], name, shape)
        return _realized({"dz": data["x"], "W": data["W"], "b": data["b"]}[name], us)

    def judge(self, case, value, params):
        data = case.data
        kind, n, d, m = data["kind"], data["n"], data["d"], data["m"]
        x, W, b, dout = data["x"], data["W"], data["b"], data["dout"]
        tensors = self._tensors(data)
        k = len(tensors)
        inputs = [("x", x), ("dout", dout)] + ([("W", W), ("b", b)] if kind == "linear" else [])
        count = 4 * k + len(inputs) + (1 if kind == "linear" else 0)
        if not (isinstance(value, tuple) and len(value) == count):
            raise Reject(text("check.malformed", why=f"expected {count} results"))
        hints = {"dz": None, "W": _dw_hint(d, m), "b": _db_hint(n, m)}
        label = {"dz": "dz", "W": "grads['W']", "b": "grads['b']"}

        def read_all(offset):
            reads = []
            for j, (name, shape) in enumerate(tensors):
                r = _read(value[offset + j], shape, self.what, label[name], hints[name])
                r.us = self._us_all(data, name, shape)
                reads.append(r)
            return reads

        first = read_all(0)
        for j, (name, before) in enumerate(inputs):
            r = _read(value[4 * k + j], before.shape, self.what, name)
            _unchanged(r, before, _input_directions(data, name, before.shape), self.what, name)

        reference = _reference(kind, W, b)
        ref_out = reference.forward(x.copy())
        ref_dz = reference.backward(dout.copy())
        forwards = {"dz": _reference(kind, W, b).forward}
        at = {"dz": x}
        if kind == "linear":
            forwards["W"] = lambda w: x @ w + b
            xw = x @ W
            forwards["b"] = lambda c: xw + c
            at.update(W=W, b=b)
        mistakes = _backward_mistakes(kind, data, ref_out, ref_dz)
        factors = {"N": n, "D": d, "M": m} if kind == "linear" else {"N": n, "D": d}
        worst = 0.0
        for (name, shape), read in zip(tensors, first):
            us = self._us(data, name, shape)
            exact = {"dz": ref_dz, "W": reference.grads["W"], "b": reference.grads["b"]}[name] \
                if kind == "linear" else ref_dz
            score = _judge_tensor(read, forwards[name], at[name], dout, us, self.what, label[name],
                                  mistakes.get(name, {}), factors, rows_sum_zero=(kind == "softmax"),
                                  exact=exact)
            worst = max(worst, score)
        if kind == "linear":
            kept = value[-1]
            if not (isinstance(kept, np.ndarray) and kept.shape == (2,)):
                raise Reject(text("check.malformed", why="expected whether grads were kept"))
            for name, same in zip(("W", "b"), kept):
                if same != 1.0:
                    raise Reject(text("check.layer_grads_rebound", what=self.what, name=name))
        for call, factor, message in PROPERTIES:
            for j, (read, again) in enumerate(zip(first, read_all(call * k))):
                name = label[tensors[j][0]]
                if read.array is not None:
                    ok = passes(again.array, factor * read.array, 1e-3 * numeric.EPS * np.abs(read.array))
                else:
                    ok = passes(again.projections, factor * read.projections, 0.0)
                if not ok:
                    raise Reject(message(what=self.what, name=name, factor=factor))
        return worst


_BROADCAST = re.compile(r"could not broadcast input array from shape \(([\d, ]*)\) into shape \(([\d, ]*)\)")


def _broadcast_hint(record, data):
    """For a gradient written into self.grads with the wrong shape: which shape it had, and why."""
    if data["kind"] != "linear":
        return ""
    try:
        value = evidence.decode(record)
    except evidence.MalformedEvidence:
        return ""
    found = _BROADCAST.search(getattr(value, "message", "") or "") if isinstance(value, evidence.Raised) else None
    if not found:
        return ""
    got, into = (tuple(int(k) for k in g.replace(" ", "").split(",") if k) for g in found.groups())
    n, d, m = data["n"], data["d"], data["m"]
    hint = {(d, m): _dw_hint(d, m), (m,): _db_hint(n, m)}.get(into)
    said = hint(got) if hint else ""
    return "\n" + text("check.layer_hint_into", got=got, into=into) + said if said else ""


def _raised_hint(record, data, method):
    """For an exception of the student's: a matmul with mismatched shapes (linear), an overflow (sigmoid)."""
    try:
        value = evidence.decode(record)
    except evidence.MalformedEvidence:
        return ""
    if not isinstance(value, evidence.Raised):
        return ""
    message = value.message or ""
    n, d, m = data["n"], data["d"], data["m"]
    if data["kind"] == "linear" and value.type == "ValueError" and "matmul" in message:
        if method == "forward":
            return "\n" + text("check.layer_hint_matmul_forward", n=n, d=d, m=m)
        return "\n" + text("check.layer_hint_matmul_backward", n=n, d=d, m=m)
    if data["kind"] == "sigmoid" and value.type == "FloatingPointError":
        return "\n" + text("check.layer_hint_sigmoid_overflow", far=SIGMOID_FAR)
    return ""


def _backward_mistakes(kind, data, out, dz):
    """{tensor: {mistake key: what that mistake gives}} for the judged tensors."""
    x, W, dout = data["x"], data["W"], data["dout"]
    ones = np.ones_like(dout)
    if kind == "linear":
        return {
            "dz": {"layer_ignored_upstream": ones @ W.T},
            "W": {"layer_ignored_upstream": x.T @ ones},
            "b": {"layer_ignored_upstream": ones.sum(axis=0), "layer_db_first_row": dout[0],
                  "layer_db_not_written": np.zeros(dout.shape[1])},
        }
    if kind == "sigmoid":
        s, ss = out, layers.Sigmoid().forward(out)
        return {"dz": {"layer_ignored_upstream": s * (1 - s), "layer_sigmoid_prime_is_sigma": dout * s,
                       "layer_sigmoid_formula_on_input": dout * x * (1 - x),
                       "layer_sigmoid_of_output": dout * ss * (1 - ss), "layer_sigmoid_plus": dout * s * (1 + s)}}
    if kind == "tanh":
        t = out
        return {"dz": {"layer_ignored_upstream": 1 - t**2, "layer_tanh_not_squared": dout * (1 - t),
                       "layer_tanh_formula_on_input": dout * (1 - x**2), "layer_tanh_prime_is_tanh": dout * t,
                       "layer_tanh_of_output": dout * (1 - np.tanh(t)**2), "layer_tanh_plus": dout * (1 + t**2)}}
    if kind == "relu":
        return {"dz": {"layer_ignored_upstream": (x > 0).astype(float), "layer_relu_passes_everything": dout,
                       "layer_relu_inverted_mask": np.where(x < 0, dout, 0.0),
                       "layer_relu_times_output": dout * np.maximum(x, 0.0)}}
    p = out
    return {"dz": {"layer_softmax_zero": np.zeros_like(p), "layer_softmax_diagonal_only": dout * p * (1 - p),
                   "layer_softmax_missing_p": dout - (dout * p).sum(axis=1, keepdims=True),
                   "layer_softmax_wrong_axis": p * (dout - (dout * p).sum(axis=0, keepdims=True)),
                   "layer_softmax_passes_dout": dout}}


check_layer = register(LayerBackward)


# -- check_loss ---------------------------------------------------------------------------------

class Loss(_LayerCheck):
    """forward(z, y) (a float) and backward(dout) (dL/dz) of the student's loss class."""

    name = "loss"
    what = "loss forward(z, y) / backward(dout)"
    defaults = {"kind": "mse", "seed": 0, "n": 4, "m": 3}
    kinds = LOSSES

    def _case_data(self, params, index):
        kind = params["kind"]
        n, _, m = _sizes(params, "linear")
        rng = np.random.default_rng([int(params["seed"]) % 2**32, index, 5])
        if kind == "mse":
            z = rng.normal(0.0, 1.0, size=(n, m))
            y = rng.normal(0.0, 1.0, size=(n, m))
        else:
            z = np.clip(rng.normal(0.0, 1.5, size=(n, m)), -4.0, 4.0)
            y = rng.integers(0, m, size=n).astype(np.int64)
        dout = float(rng.uniform(1.3, 1.9))
        return {"kind": kind, "n": n, "m": m, "z": z, "y": y, "dout": dout,
                "seed": int(params["seed"]), "index": index}

    def _label(self, data):
        y = "y " + str(data["y"].shape)
        return text("check.layer_case_loss", loss=LOSSES[data["kind"]][0], z=data["z"].shape, y=y, dout=data["dout"])

    def spares(self, params):
        return []

    def call(self, student, case):
        data = case.data
        if not isinstance(student, type):
            raise ConventionError(text("check.layer_not_class", got=type(student).__name__))
        obj = student()
        z, y = data["z"].copy(), data["y"].copy()
        loss = obj.forward(z, y)
        if isinstance(loss, np.ndarray) and loss.size == 1:
            loss = loss.reshape(())
        results = [loss]
        for dout in (data["dout"], data["dout"], 0.0, SCALE * data["dout"]):
            dz = obj.backward(dout)
            results.append(dz.copy() if isinstance(dz, np.ndarray) else dz)
        return tuple(results + [z, y.astype(np.float64) if isinstance(y, np.ndarray) else y])

    def judge(self, case, value, params):
        data = case.data
        kind, n, m, z, y, dout = data["kind"], data["n"], data["m"], data["z"], data["y"], data["dout"]
        if not (isinstance(value, tuple) and len(value) == 7):
            raise Reject(text("check.malformed", why="expected 7 results"))
        shape = (n, m)
        for name, before, got in (("z", z, value[5]), ("y", y.astype(np.float64), value[6])):
            r = _read(got, before.shape, self.what, name)
            _unchanged(r, before, None, self.what, name)

        def reference():
            return LOSSES[kind][1]()

        ref = reference()
        ref_loss = ref.forward(z.copy(), y.copy())
        got_loss = reject_unless_finite_number(value[0], "forward(z, y)")
        compare(got_loss, ref_loss, numeric.EPS * 4 * (1 + abs(ref_loss)), what="forward(z, y)",
                mistakes=_loss_forward_mistakes(kind, z, y), factors={"N": n, "M": m, "N*M": n * m})
        dz = _read(value[1], shape, self.what, "dz").array

        def f(zz):
            return np.array([reference().forward(zz, y.copy())])

        numerical, noise = numeric.numerical_vjp(f, z, np.array([dout]), with_noise=True)
        mistakes = _loss_backward_mistakes(kind, z, y, dout, ref)
        try:
            worst = compare(dz, numerical, noise, what="backward(dout): dz", mistakes=mistakes,
                            factors={"N": n, "M": m, "N*M": n * m})
            reject_if_numerical(dz, ref.backward(dout), noise, what="backward(dout): dz")
        except Reject as why:
            message = str(why)
            if kind != "mse":
                sums = np.abs(dz.sum(axis=1))
                if np.any(sums > 1e-6 * (1.0 + np.abs(dz).sum(axis=1))):
                    message += "\n" + text("check.layer_rows_not_zero", name="dz", worst=float(sums.max()))
            raise Reject(message) from None
        for call, factor, message in PROPERTIES:
            again = _read(value[1 + call], shape, self.what, "dz").array
            if not passes(again, factor * dz, 1e-3 * numeric.EPS * np.abs(dz)):
                raise Reject(message(what=self.what, name="dz", factor=factor))
        return worst


def _loss_forward_mistakes(kind, z, y):
    n, m = z.shape
    if kind == "mse":
        r = z - y
        return {"layer_mse_no_square": float(np.mean(r)), "layer_mse_root": float(np.sqrt(np.mean(r**2))),
                "layer_mse_abs": float(np.mean(np.abs(r)))}
    p = layers.softmax(z)
    picked = p[np.arange(n), y]
    return {"layer_ce_log10": float(-np.mean(np.log10(picked))), "layer_ce_no_minus": float(np.mean(np.log(picked))),
            "layer_ce_all_classes": float(-np.mean(np.log(p)))}


def _loss_backward_mistakes(kind, z, y, dout, ref):
    n, m = z.shape
    if kind == "mse":
        r = z - y
        return {"layer_mse_facure": dout * r, "layer_mse_facure_plain": r, "layer_mse_ignored_upstream": 2 * r / r.size,
                "layer_mse_dropped_two": dout * r / r.size, "layer_mse_mean_over_rows": dout * 2 * r / n}
    p = layers.softmax(z)
    onehot = layers.one_hot(y, m)
    return {"layer_ce_ignored_upstream": (p - onehot) / n, "layer_ce_p_only": dout * p / n,
            "layer_ce_no_softmax": dout * (z - onehot) / n, "layer_ce_onehot_only": -dout * onehot / n}


check_loss = register(Loss)
