"""The course's one finite-difference engine: derivatives, gradients, Jacobians,
and the score that says whether an analytic gradient matches them.

Everything is float64. Each function perturbs a float64 copy of x and gives f a
fresh array on every call, so neither the caller's arrays nor an f that writes
into its argument can change a result. The numeric policy (CHECKS.md):

    step   h_i = 1e-5 * max(1, |x_i|); divide by the step actually taken
    noise  noise_i = eps * sum_j |dout_j| (|f+_j| + |f-_j|) / step_i
    score  r_i = |a_i - n_i| / (1e-12 + 1e-7 max|n| + 1e-5 |n_i| + 10 noise_i),
           and a check passes when max r <= 1.
"""

import numpy as np

from backproplab.messages import text

EPS = np.finfo(np.float64).eps


# -- validation ------------------------------------------------------------------

def _describe(v):
    """A short, language-neutral description of v for an error message."""
    if isinstance(v, np.ndarray):
        return f"ndarray(shape={v.shape}, dtype={v.dtype})"
    if isinstance(v, np.generic):
        return f"{v.dtype} {v}"
    if isinstance(v, (bool, int, float, complex, str)):
        return f"{type(v).__name__} {v!r}"
    return type(v).__name__


def _where(name, index):
    """'x' for a 0-d array, 'x[2, 1]' for the entry (2, 1)."""
    return f"{name}[{', '.join(str(int(k)) for k in index)}]" if index else name


def _asarray(v):
    """np.asarray(v), or a 0-d object array when numpy cannot read v (ragged lists)."""
    try:
        return np.asarray(v)
    except (TypeError, ValueError):
        return np.asarray(None)


def _check_callable(f):
    if not callable(f):
        raise TypeError(text("numeric.not_callable", got=_describe(f)))


def _real_array(x, name="x", finite=True):
    """x as a new float64 array; TypeError unless real numbers, ValueError unless finite."""
    a = _asarray(x)
    if a.dtype.kind not in "iuf":
        got = _describe(a if isinstance(x, (list, tuple)) and a.ndim else x)
        raise TypeError(text("numeric.not_real", name=name, got=got))
    a = a.astype(np.float64)  # always a copy
    bad = ~np.isfinite(a)
    if finite and bad.any():
        raise ValueError(text("numeric.not_finite", name=name, count=int(bad.sum()),
                              where=_where(name, tuple(np.argwhere(bad)[0]))))
    return a


def _step(h, shape=(), key="numeric.bad_step"):
    """h as float64 broadcast to shape; ValueError unless every entry is positive and finite."""
    a = _asarray(h)
    if a.dtype.kind in "iuf" and np.all(np.isfinite(a) & (a > 0)):
        try:
            return np.broadcast_to(a.astype(np.float64), shape)
        except ValueError:
            pass
    raise ValueError(text(key, shape=shape, got=_describe(h)))


def _taken(step, h, where, value):
    """The step actually taken; ValueError if h vanished next to |x| in float64."""
    if step == 0:
        raise ValueError(text("numeric.step_vanished", h=h, where=where, value=value))
    return step


def _evaluate(f, arg, scalar, key, kinds="iuf", **fields):
    """f(arg), checked: an array (a number if scalar); `key` reports a non-finite value."""
    out = f(arg)
    a = _asarray(out)
    if a.dtype.kind not in kinds:
        wrong = "numeric.f_not_real" if kinds == "iuf" else "numeric.f_not_number"
        raise TypeError(text(wrong, got=_describe(out)))
    if scalar and a.size != 1:
        raise ValueError(text("numeric.f_not_scalar", shape=a.shape))
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(text(key, value=a[bad][0], **fields))
    a = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    return a.reshape(-1)[0].item() if scalar else a


# -- derivatives of f: R -> R ------------------------------------------------------

def default_step(x):
    """h_i = 1e-5 * max(1, |x_i|): a float for a number x, else an array of x's shape."""
    h = 1e-5 * np.maximum(1.0, np.abs(_real_array(x)))
    return float(h) if h.ndim == 0 else h


def _scalar_setup(f, x, h):
    _check_callable(f)
    a = _real_array(x)
    if a.ndim != 0:
        raise ValueError(text("numeric.not_scalar", name="x", shape=a.shape))
    return float(a), default_step(a) if h is None else float(_step(h))


def _at(f, t):
    """f(t) for a number t, as a checked float."""
    return _evaluate(f, np.float64(t), True, "numeric.f_not_finite", where="x", point=t)


def central_difference(f, x, h=None):
    """f'(x) ~ (f(x + h) - f(x - h)) / ((x + h) - (x - h)) for f: R -> R at a number x.

    h defaults to default_step(x). Dividing by the step actually taken, not by 2h,
    cancels the rounding of x + h and x - h (it matters when |x| >> h). Error
    ~ h^2 |f'''| / 6 (truncation) + eps |f| / h (rounding): smallest near h ~ 1e-5.
    """
    x, h = _scalar_setup(f, x, h)
    step = _taken((x + h) - (x - h), h, "x", x)
    return (_at(f, x + h) - _at(f, x - h)) / step


def forward_difference(f, x, h=None):
    """f'(x) ~ (f(x + h) - f(x)) / ((x + h) - x): one-sided, error O(h) ~ h |f''| / 2."""
    x, h = _scalar_setup(f, x, h)
    step = _taken((x + h) - x, h, "x", x)
    return (_at(f, x + h) - _at(f, x)) / step


def complex_step(f, x, h=1e-20):
    """f'(x) ~ Im f(x + ih) / h: nothing is subtracted, so machine precision at h = 1e-20.

    Works only while every operation in f carries the imaginary part along (numpy's
    sin, exp, +, *, ** do; so does np.maximum away from its kink). Operations that drop
    it give a wrong derivative: np.abs and .real silently (Im becomes 0), and casts to
    float with a ComplexWarning.
    """
    x, h = _scalar_setup(f, x, h)
    z = np.complex128(complex(x, h))
    out = _evaluate(f, z, True, "numeric.f_not_finite", "iufc", where="x", point=z)
    return float(np.imag(out)) / h


# -- derivatives of f: array -> array ----------------------------------------------

def _pairs(f, x, h):
    """Yield (i, f(x + h_i e_i), f(x - h_i e_i), step_i) for every index i of x."""
    _check_callable(f)
    if h is None:
        steps = 1e-5 * np.maximum(1.0, np.abs(x))
    else:
        steps = _step(h, x.shape, "numeric.bad_steps")
    first = None
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += steps[i]
        xm[i] -= steps[i]
        pp, pm, where = float(xp[i]), float(xm[i]), _where("x", i)
        step = _taken(pp - pm, float(steps[i]), where, float(x[i]))
        fp = _evaluate(f, xp, False, "numeric.f_not_finite", where=where, point=pp)
        fm = _evaluate(f, xm, False, "numeric.f_not_finite", where=where, point=pm)
        first = fp.shape if first is None else first
        for out in (fp, fm):
            if out.shape != first:
                raise ValueError(text("numeric.f_shape_changed", first=first, got=out.shape))
        yield i, fp, fm, step


def numerical_gradient(f, x, h=None, *, with_noise=False):
    """Central-difference gradient of f: x (any shape) -> a number, with 2 * x.size calls.

    x: (...) -> grad: (...), grad_i = (f(x + h_i e_i) - f(x - h_i e_i)) / step_i.
    with_noise=True returns (grad, noise), noise_i = eps * (|f+_i| + |f-_i|) / step_i.
    """
    x = _real_array(x)
    grad, noise = np.zeros(x.shape), np.zeros(x.shape)
    for i, fp, fm, step in _pairs(f, x, h):
        if fp.size != 1:
            raise ValueError(text("numeric.f_not_scalar", shape=fp.shape))
        grad[i] = (fp.item() - fm.item()) / step
        noise[i] = EPS * (abs(fp.item()) + abs(fm.item())) / step
    return (grad, noise) if with_noise else grad


def numerical_jacobian(f, x, h=None, *, with_noise=False):
    """Central-difference Jacobian of f: x (any shape) -> array, both flattened in C order.

    J: (f(x).size, x.size), J[j, i] = (f_j(x + h_i e_i) - f_j(x - h_i e_i)) / step_i;
    for x: (n,) and f(x): (m,) that is (m, n). with_noise=True returns (J, noise),
    noise[j, i] = eps * (|f+_j| + |f-_j|) / step_i.
    """
    x = _real_array(x)
    cols, noise = [], []
    for _, fp, fm, step in _pairs(f, x, h):
        cols.append((fp - fm).ravel() / step)
        noise.append(EPS * (np.abs(fp) + np.abs(fm)).ravel() / step)
    if not cols:  # x has no entries
        cols = noise = np.zeros((0, np.size(f(x.copy()))))
    jac, noise = np.array(cols).T, np.array(noise).T
    return (jac, noise) if with_noise else jac


def numerical_vjp(f, x, dout, h=None, *, with_noise=False):
    """Gradient of sum(dout * f(x)) with respect to x (dout^T J), with 2 * x.size calls.

    x: (...), dout: f(x).shape -> grad: x.shape, grad_i = sum_j dout_j (f+_j - f-_j) / step_i.
    with_noise=True: (grad, noise), noise_i = eps * sum_j |dout_j| (|f+_j| + |f-_j|) / step_i.
    """
    x, dout = _real_array(x), _real_array(dout, "dout")
    grad, noise = np.zeros(x.shape), np.zeros(x.shape)
    for i, fp, fm, step in _pairs(f, x, h):
        if fp.shape != dout.shape:
            raise ValueError(text("numeric.dout_shape", expected=fp.shape, got=dout.shape))
        grad[i] = np.sum(dout * (fp - fm)) / step
        noise[i] = EPS * np.sum(np.abs(dout) * (np.abs(fp) + np.abs(fm))) / step
    return (grad, noise) if with_noise else grad


def numerical_directional(f, x, u, h=None, *, with_noise=False):
    """Directional derivative J u ~ (f(x + h u) - f(x - h u)) / (2h), with 2 calls of f.

    x: (...), u: x.shape (not necessarily unit; of order 1) -> Ju: f(x).shape.
    h defaults to 1e-5 * max(1, max|x|). with_noise=True returns (Ju, noise),
    noise = eps * (|f+| + |f-|) / (2h). For random-direction checks of large tensors.
    """
    _check_callable(f)
    x, u = _real_array(x), _real_array(u, "u")
    if u.shape != x.shape:
        raise ValueError(text("numeric.u_shape", expected=x.shape, got=u.shape))
    h = 1e-5 * max(1.0, np.max(np.abs(x), initial=0.0)) if h is None else float(_step(h))
    key = "numeric.f_not_finite_direction"
    fp = _evaluate(f, x + h * u, False, key, sign="+", h=h)
    fm = _evaluate(f, x - h * u, False, key, sign="-", h=h)
    if fp.shape != fm.shape:
        raise ValueError(text("numeric.f_shape_changed", first=fp.shape, got=fm.shape))
    ju, noise = (fp - fm) / (2 * h), EPS * (np.abs(fp) + np.abs(fm)) / (2 * h)
    return (ju, noise) if with_noise else ju


# -- verdicts ----------------------------------------------------------------------

def _broadcast(names, a, b):
    """a and b as float64 (NaN and inf kept: a verdict must see them), broadcast together."""
    a, b = _real_array(a, names[0], finite=False), _real_array(b, names[1], finite=False)
    try:
        return np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(text("numeric.shape_mismatch", a_name=names[0], b_name=names[1],
                              a_shape=a.shape, b_shape=b.shape)) from None


def error_score(analytic, numeric, noise=0.0):
    """Per-entry score of an analytic derivative a against a numerical one n; pass: max r <= 1.

    r_i = |a_i - n_i| / (1e-12 + 1e-7 * max|n| + 1e-5 * |n_i| + 10 * noise_i),
    an array of the broadcast shape. The 1e-7 * max|n| term lets tiny true entries
    pass; noise (from with_noise=True) covers the rounding of f. Non-finite: r = inf.
    """
    a, n = _broadcast(("analytic", "numeric"), analytic, numeric)
    z, n = _broadcast(("noise", "numeric"), noise, n)
    finite = np.isfinite(a) & np.isfinite(n) & np.isfinite(z)
    a, n, z = (np.where(finite, v, 0.0) for v in (a, n, z))  # all of the broadcast shape
    scale = 1e-12 + 1e-7 * np.max(np.abs(n), initial=0.0) + 1e-5 * np.abs(n) + 10 * z
    return np.where(finite, np.abs(a - n) / scale, np.inf)


def grad_check(f, grad, x, h=1e-5):
    """How far an analytic gradient is from the central-difference one: the largest error score.

    f: a function of x returning a number; grad: a function of x returning
    the analytic gradient, of x's shape; x: a number or an array; h: the step.
    Returns max_i r_i (see :func:`error_score`): at most 1 means the two agree
    as well as finite differences can tell; about 1e5 means they differ in
    the first significant digit. x is not changed.
    """
    _check_callable(grad)
    x = _real_array(x)
    numeric, noise = numerical_gradient(lambda v: f(v.item() if v.ndim == 0 else v), x, h, with_noise=True)
    analytic = np.asarray(grad(x.item() if x.ndim == 0 else x.copy()), dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(text("numeric.grad_shape", expected=x.shape, got=analytic.shape))
    return float(np.max(error_score(analytic, numeric, noise), initial=0.0))


def relative_error(a, b):
    """max|a - b| / max(1e-8, max(|a| + |b|)): the CS231n number, to read, not a verdict.

    A ratio alone is unsafe (CHECKS.md): no one threshold fits it, because it ignores
    the rounding noise of f (a correct gradient of 1e8 + sum(x**2) reads ~1e-4) and,
    taken entry by entry, it fails correct code whose true entries are tiny.
    Decide with error_score.
    """
    a, b = _broadcast(("a", "b"), a, b)
    top = np.max(np.abs(a - b), initial=0.0)
    return float(top / max(1e-8, np.max(np.abs(a) + np.abs(b), initial=0.0)))
