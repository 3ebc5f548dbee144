"""A gradient checker for modules: is my backward consistent with my forward?

``gradcheck(module, x)`` runs ``forward(x)`` and ``backward(dout)`` for a
random upstream gradient ``dout``, then compares the returned ``dz`` and every
parameter gradient ``grads[name]`` with finite differences of the module's
OWN forward (:mod:`backproplab.numeric`):

    dz      against  grad_z sum(dout * forward(z))         x: (N, D)
    dW      against  grad_W sum(dout * forward(z; W))      one row per parameter

Each tensor gets the error score of CHECKS.md (at most 1 passes) and, when it
fails, a likely mistake (a flipped sign, a factor of two, a missing 1/N, an
ignored dout, a transpose). ``gradcheck(loss, z, y)`` does the same for a loss
module (``forward(z, y)`` a number, ``backward(dout)`` dL/dz) with a scalar
``dout``. A :class:`~backproplab.layers.Sequential` (anything with a list
``layers``) has the parameters of each layer checked too, named ``layers[i].W``.

Tensors up to 2000 entries are compared entry by entry (unless one forward
call is so large that the 2 * size calls would take long); others along four
random unit directions, and their row shows no worst entry. The module is left as it was found: its
parameters are restored, and it is run on copies of x, y and dout.
"""

import inspect
from dataclasses import dataclass, field

import numpy as np

from backproplab import numeric
from backproplab.messages import text

ELEMENTWISE_LIMIT = 2000  # entries; larger tensors are checked along random directions
WORK_LIMIT = 5_000_000  # ... and so are tensors whose entry-by-entry check would move more numbers
DIRECTIONS = 4


@dataclass
class Row:
    """One checked tensor: its name, shape, error score, worst entry, verdict and likely mistake."""

    name: str
    shape: tuple
    score: float = float("nan")
    worst: tuple = None
    verdict: str = "ok"  # "ok", "wrong", "missing" or "kink"
    mistake: str = ""


@dataclass
class Report:
    """What :func:`gradcheck` found: one :class:`Row` per tensor; ``passed`` when all are ok."""

    module: str
    rows: list = field(default_factory=list)
    _shown_at: object = None

    @property
    def passed(self):
        return all(row.verdict == "ok" for row in self.rows)

    def __getitem__(self, name):
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def table(self):
        """The report as plain text: a title, one line per tensor, the mistakes, a summary."""
        head = [text("gradcheck.tensor"), text("gradcheck.shape"), text("gradcheck.score"),
                text("gradcheck.worst"), text("gradcheck.verdict")]
        body = []
        for row in self.rows:
            score = "-" if np.isnan(row.score) else f"{row.score:.3g}"
            worst = "-" if row.worst is None else str(row.worst if len(row.worst) != 1 else row.worst[0])
            verdict = text({"ok": "gradcheck.ok", "wrong": "gradcheck.wrong", "missing": "gradcheck.missing",
                            "kink": "gradcheck.kink"}[row.verdict])
            body.append([row.name, str(tuple(row.shape)), score, worst, verdict])
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        lines = [text("gradcheck.title", module=self.module)]
        for r in [head] + body:
            lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip())
        for row in self.rows:
            if row.mistake:
                lines.append(f"{row.name}: {row.mistake}")
        bad = [row.name for row in self.rows if row.verdict != "ok"]
        if bad:
            lines.append(text("gradcheck.summary_wrong", count=len(bad), total=len(self.rows), names=", ".join(bad)))
        else:
            lines.append(text("gradcheck.summary_ok", total=len(self.rows)))
        return "\n".join(lines)

    def __repr__(self):
        return self.table()

    __str__ = __repr__

    def _ipython_display_(self):
        # gradcheck printed the table already: do not show it twice in the same cell
        if self._shown_at is not None and self._shown_at == _execution_count():
            return
        print(self.table())


def _execution_count():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        return None
    shell = get_ipython()
    return None if shell is None else shell.execution_count


def _is_loss(module):
    """True when forward takes two arguments (prediction, target): a loss module."""
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) >= 2


def _named_params(module):
    """[(name, owner, key)] for module.params and, for a Sequential, each layer's params."""
    named = []
    params = getattr(module, "params", None)
    if isinstance(params, dict):
        named += [(str(key), module, key) for key in params]
    for i, layer in enumerate(getattr(module, "layers", None) or []):
        inner = getattr(layer, "params", None)
        if isinstance(inner, dict):
            named += [(f"layers[{i}].{key}", layer, key) for key in inner]
    return named


def gradcheck(module, x, dout=None, seed=0, *, verbose=True):
    """Check ``module``'s backward against finite differences of its own forward; return a :class:`Report`.

    A layer: ``gradcheck(layer, x)`` with x: (N, D); dout defaults to a seeded
    N(0, 1) array of the output's shape (never ones: with ones, a backward that
    ignores dout would pass). A loss: ``gradcheck(loss, z, y)``; dout defaults
    to a seeded number in [0.5, 1.5]. verbose=True prints the table (once per
    cell in a notebook).
    """
    if not (callable(getattr(module, "forward", None)) and callable(getattr(module, "backward", None))):
        raise TypeError(text("gradcheck.not_module", got=type(module).__name__))
    rng = np.random.default_rng(seed)
    loss = _is_loss(module)
    if loss:
        y = dout
        dout = float(rng.uniform(0.5, 1.5))

        def forward(z):
            return np.asarray(module.forward(z, np.array(y, copy=True)), dtype=np.float64).reshape(1)
    else:
        def forward(z):
            return np.asarray(module.forward(z), dtype=np.float64)

    x = numeric._real_array(x)
    out = forward(x.copy())
    if not loss and dout is None:
        dout = rng.normal(size=out.shape)
    dout_array = np.reshape(numeric._real_array(dout, "dout"), out.shape)
    named = _named_params(module)
    saved = {name: np.array(owner.params[key], dtype=np.float64, copy=True) for name, owner, key in named}
    report = Report(type(module).__name__)
    try:
        forward(x.copy())
        dz = module.backward(dout if loss else dout_array.copy())
        grads = {name: _grad_of(owner, key) for name, owner, key in named}
        forward(x.copy())
        dz_ones = module.backward(1.0 if loss else np.ones_like(dout_array))
        grads_ones = {name: _grad_of(owner, key) for name, owner, key in named}
        sizes = {"N": x.shape[0]} if x.ndim else {}
        if loss and x.ndim == 2:
            sizes.update({"M": x.shape[1], "N*M": x.size})
        work = x.size + out.size + sum(saved[name].size for name in saved)
        report.rows.append(_row("dz", dz, dz_ones, forward, x, dout_array, rng, sizes, work))
        for name, owner, key in named:
            def f(p, owner=owner, key=key):
                owner.params[key][...] = p
                return forward(x.copy())
            row = _row(name, grads[name], grads_ones[name], f, saved[name], dout_array, rng, sizes, work,
                       grad_key=key)
            owner.params[key][...] = saved[name]
            report.rows.append(row)
    finally:
        for name, owner, key in named:
            owner.params[key][...] = saved[name]
    if verbose:
        print(report.table())
        report._shown_at = _execution_count()
    return report


def _grad_of(owner, key):
    grads = getattr(owner, "grads", None)
    if not isinstance(grads, dict) or key not in grads:
        return None
    g = grads[key]
    return np.array(g, dtype=np.float64, copy=True) if isinstance(g, np.ndarray) else g


def _row(name, got, got_ones, f, at, dout, rng, sizes, work=0, grad_key=None):
    """The :class:`Row` of one tensor: got (the module's gradient) against finite differences of f at ``at``.

    work: how many numbers one forward call touches; entry by entry costs 2 * at.size calls.
    """
    row = Row(name, at.shape)
    if not isinstance(got, np.ndarray):
        row.verdict = "missing"
        row.mistake = text("gradcheck.missing_grad", name=grad_key or name, shape=at.shape)
        return row
    if got.shape != at.shape:
        row.verdict = "wrong"
        row.mistake = text("gradcheck.wrong_shape", got=got.shape, expected=at.shape)
        return row
    got = got.astype(np.float64)
    if not np.all(np.isfinite(got)):
        row.verdict = "wrong"
        row.mistake = text("gradcheck.not_finite")
        return row
    elementwise = at.size <= ELEMENTWISE_LIMIT and at.size * work <= WORK_LIMIT
    if elementwise:
        numerical, noise = numeric.numerical_vjp(f, at, dout, with_noise=True)
        scores = numeric.error_score(got, numerical, noise)
        row.score = float(scores.max(initial=0.0))
        row.worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(scores)), at.shape)) if at.size else None
        compared, expected, noise_of = got, numerical, noise
        ones = got_ones
    else:
        us = rng.normal(size=(DIRECTIONS,) + at.shape)
        us /= np.sqrt((us.reshape(DIRECTIONS, -1) ** 2).sum(axis=1)).reshape((DIRECTIONS,) + (1,) * at.ndim)
        values, noises = [], []
        for u in us:
            ju, nz = numeric.numerical_directional(f, at, u, with_noise=True)
            values.append(float(np.sum(dout * ju)))
            noises.append(float(np.sum(np.abs(dout) * nz)))
        expected, noise_of = np.array(values), np.array(noises)
        compared = np.array([float(np.sum(got * u)) for u in us])
        ones = np.array([float(np.sum(got_ones * u)) for u in us]) if isinstance(got_ones, np.ndarray) \
            and got_ones.shape == at.shape else None
        row.score = float(numeric.error_score(compared, expected, noise_of).max())
    if row.score <= 1.0:
        return row
    if elementwise and _passes_at_other_steps(got, f, at, dout):
        row.verdict = "kink"
        row.mistake = text("gradcheck.kink_hint")
        return row
    row.verdict = "wrong"
    row.mistake = _likely_mistake(compared, expected, noise_of, ones, dout, sizes)
    return row


def _passes_at_other_steps(got, f, at, dout):
    """True when the gradient agrees with finite differences at 10h or h/10 (a step crossed a kink)."""
    for h in (1e-4, 1e-6):
        numerical, noise = numeric.numerical_vjp(f, at, dout, h * np.maximum(1.0, np.abs(at)), with_noise=True)
        if np.max(numeric.error_score(got, numerical, noise), initial=0.0) <= 1.0:
            return True
    return False


def _close(a, b, noise):
    return bool(np.max(numeric.error_score(a, b, noise), initial=0.0) <= 1.0)


def _likely_mistake(got, expected, noise, ones, dout, sizes):
    """A sentence naming the likely mistake, or "" (sizes: {name: a size a missing mean divides by})."""
    if not np.any(got):
        return text("gradcheck.zero")
    if ones is not None and np.shape(ones) == np.shape(got) and _close(got, ones, noise) \
            and not np.allclose(dout, 1.0):
        return text("gradcheck.ignores_dout")
    flat_e, flat_g = np.ravel(expected), np.ravel(got)
    norm = float(flat_e @ flat_e)
    if norm > 0:
        c = float(flat_g @ flat_e) / norm
        if c != 0 and _close(got, c * expected, noise):
            return name_multiple(c, sizes)
    if np.ndim(got) == 2 and got.shape[0] == got.shape[1] and _close(got, expected.T, noise):
        return text("mistake.transposed")
    return ""


def name_multiple(c, sizes):
    """Name a gradient that is c times the right one: -1, 2, 1/2, a size or its inverse.

    sizes: {name: size}, e.g. {"N": 4}; a size of 1 names nothing. Shared by
    this checker and the autograder's diagnoses.
    """
    def near(a, b):
        return abs(a - b) <= 1e-6 * max(1.0, abs(b))

    sizes = {name: size for name, size in sizes.items() if size > 1}
    if near(c, -1.0):
        return text("mistake.sign")
    if near(c, 2.0) or near(c, 0.5):
        return text("mistake.factor_two", factor=c)
    for name, size in sizes.items():
        if near(c, size):
            return text("mistake.missing_mean", name=name, factor=c)
        if near(c, 1.0 / size):
            return text("mistake.extra_mean", name=name, factor=c)
    for name, size in sizes.items():
        if near(abs(c), size) or near(abs(c), 1.0 / size):
            return text("mistake.sign_and_mean", name=name, factor=c)
    return text("mistake.multiple", factor=c)
