"""Tests of backproplab.numeric: properties, not memorised numbers.

The assertions that matter live in small helpers (assert_...), so that the
twins at the end of the file can run the very same assertions on deliberately
wrong implementations and show that they fail.
"""

import re
import string
from pathlib import Path

import numpy as np
import pytest
from scipy.differentiate import derivative
from scipy.optimize import rosen, rosen_der

from backproplab import messages, numeric
from backproplab.numeric import EPS, default_step, error_score, relative_error

SCALAR = {  # name: (f, f')
    "sin": (np.sin, np.cos),
    "exp": (np.exp, np.exp),
    "cube": (lambda x: x**3, lambda x: 3 * x**2),
    "log1p_square": (lambda x: np.log1p(x**2), lambda x: 2 * x / (1 + x**2)),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
}
POINTS = np.random.default_rng(0).uniform(-3, 3, size=40)


def scalar_noise(f, x, h):
    """CHECKS.md's noise term for one central difference with dout = 1."""
    return EPS * (abs(f(x + h)) + abs(f(x - h))) / (2 * h)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# -- scalar derivatives -----------------------------------------------------------

def assert_central_matches_analytic():
    for f, df in SCALAR.values():
        for x in POINTS:
            noise = scalar_noise(f, x, default_step(x))
            score = error_score(df(x), numeric.central_difference(f, x), noise)
            assert score <= 1, (f, x, score)


def test_central_difference_matches_analytic_derivatives():
    assert_central_matches_analytic()


@pytest.mark.parametrize("name", SCALAR)
def test_central_difference_agrees_with_scipy_derivative(name):
    f, _ = SCALAR[name]
    reference = derivative(f, POINTS)
    assert np.all(reference.success)
    for x, df in zip(POINTS, reference.df):
        noise = scalar_noise(f, x, default_step(x))
        assert error_score(df, numeric.central_difference(f, x), noise) <= 1


@pytest.mark.parametrize("name", SCALAR)
def test_complex_step_reaches_machine_precision(name):
    f, df = SCALAR[name]
    for x in POINTS:
        assert abs(numeric.complex_step(f, x) - df(x)) <= 2 * EPS * max(1.0, abs(df(x)))


def test_complex_step_is_wrong_through_abs():
    """Documented limit: np.abs does not extend analytically, so Im is lost."""
    assert numeric.complex_step(lambda x: np.abs(x) ** 2, 1.5) != pytest.approx(3.0)


def error_at(method, h):
    """Truncation error of a finite difference of sin and exp at a few points."""
    return np.array([abs(method(f, x, h) - f_prime(x))
                     for f, f_prime in (SCALAR["sin"], SCALAR["exp"]) for x in (0.5, 1.0, 2.0)])


def assert_central_error_is_second_order():
    ratio = error_at(numeric.central_difference, 1e-1) / error_at(numeric.central_difference, 1e-2)
    assert np.all((90 < ratio) & (ratio < 110)), ratio


def test_central_error_shrinks_like_h_squared():
    assert_central_error_is_second_order()


def test_forward_error_shrinks_like_h():
    ratio = error_at(numeric.forward_difference, 1e-1) / error_at(numeric.forward_difference, 1e-2)
    assert np.all((8 < ratio) & (ratio < 12)), ratio


def test_too_small_a_step_is_worse_than_the_default():
    """The U-curve: at h = 1e-12 rounding dominates."""
    for f, df in (SCALAR["sin"], SCALAR["exp"], SCALAR["tanh"]):
        for x in POINTS[:10]:
            tiny = abs(numeric.central_difference(f, x, 1e-12) - df(x))
            good = abs(numeric.central_difference(f, x) - df(x))
            assert tiny > 100 * good


def test_default_step_scales_with_x():
    assert default_step(0.5) == 1e-5 and isinstance(default_step(0.5), float)
    assert default_step(-3e4) == pytest.approx(0.3)
    np.testing.assert_allclose(default_step(np.array([[0.0, -2.0]])), [[1e-5, 2e-5]])


def recorded_steps(run):
    """The perturbations x+ - x- that `run` passes to f, one per pair of calls."""
    seen = []
    run(lambda v: seen.append(np.array(v, dtype=float)) or np.sum(v))
    return [plus - minus for plus, minus in zip(seen[0::2], seen[1::2])]


def test_default_steps_are_the_ones_taken():
    x = np.array([[0.5, -3e4], [2e6, 0.0]])
    for k, delta in enumerate(recorded_steps(lambda f: numeric.numerical_gradient(f, x))):
        expected = np.zeros(x.size)
        expected[k] = 2 * default_step(x).flat[k]
        np.testing.assert_allclose(delta.ravel(), expected, rtol=1e-9)
    u = np.array([[1.0, -2.0], [0.5, 3.0]])
    (delta,) = recorded_steps(lambda f: numeric.numerical_directional(f, x, u))
    np.testing.assert_allclose(delta, 2 * 1e-5 * 2e6 * u, rtol=1e-9)


def test_dividing_by_the_step_taken_is_accurate_at_large_x():
    """Near 1e8, x + 1e-5 rounds to a multiple of 1.5e-8: dividing by 2h errs by up to ~1e-4."""
    c, h = 1e8, 1e-5
    f = lambda x: np.sin(x - c)  # noqa: E731  f'(x) = cos(x - c), values of order 1
    for x in (c, c + 0.3, c + 1.7):
        assert abs(numeric.central_difference(f, x, h) - np.cos(x - c)) < 1e-9
        naive = (f(x + h) - f(x - h)) / (2 * h)
        assert abs(naive - np.cos(x - c)) > 1e-6  # what the division by 2h would give
    x = 3e8  # the default step scales with x: a quadratic is still exact
    assert numeric.central_difference(lambda v: v**2, x) == pytest.approx(2 * x, rel=1e-10)


def test_scalar_inputs_of_every_kind():
    for x in (1, 1.0, np.float32(1.0), np.int64(1), np.array(1.0), np.array(1)):
        assert isinstance(numeric.central_difference(np.sin, x), float)
        assert numeric.central_difference(np.sin, x) == pytest.approx(np.cos(1.0), rel=1e-9)
        assert numeric.forward_difference(np.sin, x) == pytest.approx(np.cos(1.0), rel=1e-4)
        assert numeric.complex_step(np.sin, x) == pytest.approx(np.cos(1.0), rel=1e-15)


# -- gradients, Jacobians, VJPs, directions --------------------------------------

rng = np.random.default_rng(1)
S = (lambda m: m @ m.T + 3 * np.eye(3))(rng.normal(size=(3, 3)))
B = rng.normal(size=(3, 4))
GRADIENT_CASES = {  # name: (f, grad f, x)
    "bowl_2d": (lambda x: 0.5 * np.sum(x * (S @ x)) + np.sum(B * x), lambda x: S @ x + B,
                rng.normal(size=(3, 4))),
    "rosenbrock_2d": (lambda x: rosen(x.ravel()), lambda x: rosen_der(x.ravel()).reshape(x.shape),
                      rng.normal(size=(2, 3))),
    "rosenbrock_3d": (lambda x: rosen(x.ravel()), lambda x: rosen_der(x.ravel()).reshape(x.shape),
                      rng.normal(size=(2, 2, 2))),
    "logsumexp_3d": (lambda x: np.log(np.sum(np.exp(x))), lambda x: np.exp(x) / np.sum(np.exp(x)),
                     rng.normal(size=(2, 3, 4))),
}


def assert_gradient_matches(name):
    f, grad, x = GRADIENT_CASES[name]
    numeric_grad, noise = numeric.numerical_gradient(f, x, with_noise=True)
    assert numeric_grad.shape == x.shape and numeric_grad.dtype == np.float64
    assert np.max(error_score(grad(x), numeric_grad, noise)) <= 1


@pytest.mark.parametrize("name", GRADIENT_CASES)
def test_numerical_gradient_matches_analytic(name):
    assert_gradient_matches(name)


A = rng.normal(size=(3, 5))
W = rng.normal(size=(5, 3))
JACOBIAN_CASES = {  # name: (f, Jacobian (f(x).size, x.size), x)
    "linear_nonsquare": (lambda x: A @ x, lambda x: A, rng.normal(size=5)),
    "tanh": (np.tanh, lambda x: np.diag(1 - np.tanh(x) ** 2), rng.normal(size=4)),
    "softmax": (softmax, lambda x: np.diag(softmax(x)) - np.outer(softmax(x), softmax(x)),
                rng.normal(size=4)),
    "matmul_2d": (lambda x: x @ W, lambda x: np.kron(np.eye(4), W.T), rng.normal(size=(4, 5))),
}


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_numerical_jacobian_matches_analytic(name):
    f, jac, x = JACOBIAN_CASES[name]
    J, noise = numeric.numerical_jacobian(f, x, with_noise=True)
    assert J.shape == noise.shape == (f(x).size, x.size)
    assert np.max(error_score(jac(x), J, noise)) <= 1
    assert np.array_equal(numeric.numerical_jacobian(f, x), J)


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_numerical_vjp_equals_dout_times_jacobian(name):
    f, jac, x = JACOBIAN_CASES[name]
    dout = np.random.default_rng(2).normal(size=f(x).shape)
    vjp, noise = numeric.numerical_vjp(f, x, dout, with_noise=True)
    assert vjp.shape == noise.shape == x.shape
    assert np.max(error_score((dout.ravel() @ jac(x)).reshape(x.shape), vjp, noise)) <= 1


@pytest.mark.parametrize("name", JACOBIAN_CASES)
def test_numerical_directional_equals_jacobian_times_u(name):
    f, jac, x = JACOBIAN_CASES[name]
    u = np.random.default_rng(3).normal(size=x.shape)
    ju, noise = numeric.numerical_directional(f, x, u, with_noise=True)
    assert ju.shape == noise.shape == f(x).shape
    assert np.max(error_score((jac(x) @ u.ravel()).reshape(ju.shape), ju, noise)) <= 1


def counting(f):
    def g(x):
        g.calls += 1
        return f(x)
    g.calls = 0
    return g


def test_number_of_calls():
    x = np.ones((2, 3))
    for run, calls in ((lambda g: numeric.numerical_gradient(g, x), 12),
                       (lambda g: numeric.numerical_jacobian(g, x), 12),
                       (lambda g: numeric.numerical_vjp(g, x, np.ones(())), 12),
                       (lambda g: numeric.numerical_directional(g, x, x), 2)):
        g = counting(np.sum)
        run(g)
        assert g.calls == calls


# -- the noise term and the verdict -------------------------------------------------

def test_noise_term_saves_a_correct_gradient_of_a_large_function():
    f = lambda x: 1e8 + np.sum(x**2)  # noqa: E731
    x = np.random.default_rng(4).normal(size=6)
    grad, noise = numeric.numerical_gradient(f, x, with_noise=True)
    assert relative_error(2 * x, grad) > 1e-5  # the raw ratio looks bad ...
    assert np.max(error_score(2 * x, grad)) > 1  # ... and so does a score without noise,
    assert np.max(error_score(2 * x, grad, noise)) <= 1e-1  # but the true gradient passes
    assert np.max(error_score(4 * x, grad, noise)) > 100  # and a factor 2 still fails


def mutants_of(a):
    one_wrong = a.copy()
    one_wrong.flat[np.argmax(np.abs(a))] *= 0.5
    return {"factor_2": 2 * a, "sign_flip": -a, "one_wrong_entry": one_wrong}


def test_score_margin_on_a_gradient():
    f, grad, x = GRADIENT_CASES["logsumexp_3d"]
    numeric_grad, noise = numeric.numerical_gradient(f, x, with_noise=True)
    assert np.max(error_score(grad(x), numeric_grad, noise)) < 1e-2
    for name, wrong in mutants_of(grad(x)).items():
        assert np.max(error_score(wrong, numeric_grad, noise)) > 100, name


def test_score_margin_on_a_square_jacobian():
    M = np.random.default_rng(5).normal(size=(4, 4))
    x = np.random.default_rng(6).normal(size=4)
    J = (1 - np.tanh(M @ x) ** 2)[:, None] * M
    numeric_J, noise = numeric.numerical_jacobian(lambda v: np.tanh(M @ v), x, with_noise=True)
    assert np.max(error_score(J, numeric_J, noise)) < 1e-2
    for name, wrong in {**mutants_of(J), "transposed": J.T}.items():
        assert np.max(error_score(wrong, numeric_J, noise)) > 100, name


def test_score_passes_tiny_and_zero_true_entries():
    w = np.array([1.0, 0.0, 1e-12, 2.0, 0.0, 3e-13])
    x = np.random.default_rng(7).normal(size=6)
    grad, noise = numeric.numerical_gradient(lambda v: np.sum(w * v**2), x, with_noise=True)
    assert np.max(error_score(2 * w * x, grad, noise)) <= 1e-2
    assert np.max(error_score(2 * w * x, grad)) <= 1e-1  # even without the noise term,
    a, n = 2 * w[2] * x[2], grad[2]  # where an elementwise ratio calls a true 1e-12 entry wrong
    assert abs(a - n) / max(abs(a), abs(n)) > 0.1
    assert np.max(error_score(2 * w * x + np.array([0, 0, 0, 1e-3, 0, 0]), grad, noise)) > 1


def test_score_shape_and_non_finite_entries():
    assert error_score(np.ones((2, 3)), 1.0).shape == (2, 3)
    scores = error_score([1.0, np.nan, np.inf], [1.0, 2.0, 3.0])
    assert np.array_equal(scores, [0.0, np.inf, np.inf])
    assert np.array_equal(error_score([1.0, 2.0], [1.0, np.inf]), [0.0, np.inf])
    assert error_score(3, 3) == 0 and relative_error(3, 3) == 0.0


def test_relative_error_is_the_cs231n_number():
    a, b = np.array([1.0, -2.0]), np.array([1.5, -2.0])
    assert relative_error(a, b) == pytest.approx(0.5 / 4.0)
    assert relative_error(0.0, 1e-12) == pytest.approx(1e-4)  # the 1e-8 floor


# -- never change the caller's arrays; fresh arrays for f ---------------------------

def test_inputs_are_never_changed():
    x = np.arange(6, dtype=float).reshape(2, 3)
    u, dout, h = np.ones((2, 3)), np.full(6, 2.0), np.full((2, 3), 1e-4)
    copies = [a.copy() for a in (x, u, dout, h)]
    numeric.numerical_gradient(np.sum, x, h, with_noise=True)
    numeric.numerical_jacobian(np.ravel, x, h, with_noise=True)
    numeric.numerical_vjp(np.ravel, x, dout, h, with_noise=True)
    numeric.numerical_directional(np.ravel, x, u, with_noise=True)
    error_score(x, u, h)
    relative_error(x, u)
    for before, after in zip(copies, (x, u, dout, h)):
        assert np.array_equal(before, after)


def test_f_that_writes_into_its_argument_does_not_break_the_result():
    def f(v):  # doubles its argument in place, then uses it: f(x) = sum(4 x^2)
        v *= 2
        return np.sum(v**2)

    def g(v):  # shifts its argument in place: g(x) = tanh(x + 1)
        v += 1
        return np.tanh(v)

    x = np.random.default_rng(8).normal(size=(2, 3))
    kept = x.copy()
    assert np.max(error_score(8 * x, numeric.numerical_gradient(f, x))) <= 1
    J = np.diag((1 - np.tanh(x + 1) ** 2).ravel())
    assert np.max(error_score(J, numeric.numerical_jacobian(g, x))) <= 1
    dout, u = np.random.default_rng(9).normal(size=(2, 2, 3))
    dg = np.diag(J).reshape(2, 3)
    assert np.max(error_score(dout * dg, numeric.numerical_vjp(g, x, dout))) <= 1
    assert np.max(error_score(dg * u, numeric.numerical_directional(g, x, u))) <= 1
    assert np.array_equal(x, kept)


def test_f_receives_a_fresh_array_on_every_call():
    seen = []
    x = np.ones(3)

    def f(v):
        seen.append(v)
        return np.sum(v**2)

    numeric.numerical_gradient(f, x)
    numeric.numerical_directional(f, x, x)
    assert len(seen) == 8 and len({id(v) for v in seen}) == 8
    assert not any(np.shares_memory(v, x) for v in seen)
    assert not any(np.shares_memory(a, b) for i, a in enumerate(seen) for b in seen[:i])


def test_integers_are_converted_to_float64():
    grad = numeric.numerical_gradient(lambda v: np.sum(v**2), [1, 2, 3])
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, [2, 4, 6], rtol=1e-9)


# -- validation: expected and received, in both languages ----------------------------

def f_nan_left_of_second(v):
    return np.sum(v) if v[1] > 0 else np.nan


def case(name, call, error, key, *received):
    return pytest.param(call, error, key, received, id=name)


central, gradient = numeric.central_difference, numeric.numerical_gradient
jacobian, directional = numeric.numerical_jacobian, numeric.numerical_directional
VALIDATION = [  # call, exception, message key, what was received (in the English message)
    case("f_not_callable", lambda: central(3, 1.0), TypeError, "not_callable", "int 3"),
    case("x_string", lambda: central(np.sin, "a"), TypeError, "not_real", "str 'a'"),
    case("x_complex", lambda: gradient(np.sum, [1, 2j]), TypeError, "not_real", "complex128"),
    case("x_objects", lambda: gradient(np.sum, [1, None]), TypeError, "not_real", "object"),
    case("x_ragged", lambda: gradient(np.sum, [[1], [1, 2]]), TypeError, "not_real", "list"),
    case("x_nan", lambda: gradient(np.sum, [1, np.nan, np.inf]), ValueError, "not_finite",
         "contains 2 ", "x[1]"),
    case("x_not_scalar", lambda: central(np.sin, [1.0, 2.0]), ValueError, "not_scalar", "(2,)"),
    case("h_negative", lambda: central(np.sin, 1.0, -1e-5), ValueError, "bad_step", "-1e-05"),
    case("h_nan", lambda: numeric.complex_step(np.sin, 1.0, np.nan), ValueError, "bad_step", "nan"),
    case("h_zero", lambda: directional(np.sin, [1.0], [1.0], 0.0), ValueError,
         "bad_step", "0.0"),
    case("h_wrong_shape", lambda: gradient(np.sum, np.ones(3), np.ones(2)), ValueError,
         "bad_steps", "(3,)", "shape=(2,)"),
    case("h_vanishes", lambda: central(np.sin, 1e300, 1.0), ValueError, "step_vanished", "1e+300"),
    case("f_not_scalar", lambda: gradient(lambda v: 2 * v, np.ones(3)), ValueError,
         "f_not_scalar", "(3,)"),
    case("f_returns_none", lambda: gradient(lambda v: None, np.ones(3)), TypeError,
         "f_not_real", "NoneType"),
    case("f_complex_step_none", lambda: numeric.complex_step(lambda z: None, 1.0), TypeError,
         "f_not_number", "NoneType"),
    case("f_nan_at_point", lambda: gradient(f_nan_left_of_second, [1.0, 1e-6]), ValueError,
         "f_not_finite", "nan", "x[1]"),
    case("f_inf_scalar", lambda: central(lambda t: np.inf if t > 1 else t, 1.0), ValueError,
         "f_not_finite", "inf"),
    case("f_inf_direction", lambda: directional(lambda v: np.inf * v, [1.0], [1.0]),
         ValueError, "f_not_finite_direction", "inf"),
    case("f_shape_changes", lambda: jacobian(lambda v: np.ones(1 + (v[0] > 1)), [1.0]),
         ValueError, "f_shape_changed", "(2,)", "(1,)"),
    case("dout_shape", lambda: numeric.numerical_vjp(lambda v: 2 * v, np.ones(3), np.ones(4)),
         ValueError, "dout_shape", "(3,)", "(4,)"),
    case("u_shape", lambda: directional(np.sin, np.ones(3), np.ones(2)),
         ValueError, "u_shape", "(3,)", "(2,)"),
    case("score_shapes", lambda: error_score(np.ones(3), np.ones(2)), ValueError,
         "shape_mismatch", "(3,)", "(2,)"),
    case("score_strings", lambda: error_score(["a"], [1.0]), TypeError, "not_real", "<U1"),
]


def template_regex(template):
    """A regex matching `template` with any values in its {placeholders}."""
    parts = re.split(r"\{[^}]*\}", template)
    return "^" + "(.+)".join(re.escape(p) for p in parts) + "$"


@pytest.mark.parametrize("call, error, key, received", VALIDATION)
def test_validation_errors_name_expected_and_received(monkeypatch, call, error, key, received):
    monkeypatch.setenv("BACKPROPLAB_LANG", "en")
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert re.match(template_regex(messages.EN["numeric." + key]), message, re.S), message
    for fragment in received:
        assert fragment in message, message
    monkeypatch.setenv("BACKPROPLAB_LANG", "pt_BR")
    with pytest.raises(error) as info:
        call()
    assert re.match(template_regex(messages.PT_BR["numeric." + key]), str(info.value), re.S)
    assert str(info.value) != message


def test_catalogues_hold_every_numeric_key_with_the_same_placeholders():
    source = Path(numeric.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r'"(numeric\.\w+)"', source))
    english = {k for k in messages.EN if k.startswith("numeric.")}
    assert used == english and english <= set(messages.PT_BR)
    fields = lambda t: {p[1] for p in string.Formatter().parse(t) if p[1]}  # noqa: E731
    for key in english:
        assert fields(messages.EN[key]) == fields(messages.PT_BR[key]), key


# -- twins that must fail ---------------------------------------------------------------

def forward_twin(f, x, h=None):
    """A central_difference that is really a forward difference."""
    return numeric.forward_difference(f, x, h)


REAL_GRADIENT = numeric.numerical_gradient


def gradient_twin(f, x, h=None, *, with_noise=False):
    """A numerical_gradient that divides by h instead of the step 2h."""
    grad, noise = REAL_GRADIENT(f, x, h, with_noise=True)
    return (2 * grad, noise) if with_noise else 2 * grad


def test_forward_difference_twin_fails_the_central_assertions(monkeypatch):
    monkeypatch.setattr(numeric, "central_difference", forward_twin)
    with pytest.raises(AssertionError):
        assert_central_matches_analytic()
    with pytest.raises(AssertionError):
        assert_central_error_is_second_order()


def test_factor_two_gradient_twin_fails_the_gradient_assertions(monkeypatch):
    monkeypatch.setattr(numeric, "numerical_gradient", gradient_twin)
    for name in GRADIENT_CASES:
        with pytest.raises(AssertionError):
            assert_gradient_matches(name)
