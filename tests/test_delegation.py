"""Answers that call the function the exercise asks for are caught, in the kernel and out of it."""

import numpy as np
import pytest

import backproplab.numeric as numeric
from autograder import delegation
from autograder.contract import Case, Check, register, REGISTRY
from autograder.recompute import judge_cells

CD = "backproplab.numeric.central_difference"
PATHS = [CD, "scipy.differentiate.derivative", "scipy.optimize.approx_fprime", "numpy.gradient"]


def test_trap_catches_every_alias_and_puts_the_code_back():
    original = numeric.central_difference.__code__
    alias = numeric.central_difference
    log = []
    with delegation.trapped(PATHS, log):
        with pytest.raises(delegation.DelegationError):
            alias(np.sin, 1.0)
        with pytest.raises(delegation.DelegationError):
            np.gradient(np.arange(4.0))
    assert log == [CD, "numpy.gradient"]
    assert numeric.central_difference.__code__ is original
    assert abs(alias(np.sin, 1.0) - np.cos(1.0)) < 1e-9
    assert np.allclose(np.gradient(np.arange(4.0)), 1.0)


def test_trap_records_a_call_even_when_the_student_catches_it():
    class Probe(Check):
        name = "delegation_probe"
        what = "probe(x)"
        delegation = (CD,)

        def cases(self, params):
            return [Case("x = 1", {"x": 1.0})]

        def call(self, student, case):
            return student(case.data["x"])

        def judge(self, case, value, params):
            return 0.0

    try:
        check = register(Probe)

        def sneaky(x):
            try:
                return numeric.central_difference(np.sin, x)
            except Exception:
                return 0.5

        with pytest.raises(AssertionError, match="calls numeric.central_difference"):
            check(sneaky)
        check(lambda x: 0.5)  # no delegation: passes
    finally:
        REGISTRY.pop("delegation_probe", None)


@pytest.mark.parametrize("source", [
    "def central_difference(f, x, h=1e-5):\n    return numeric.central_difference(f, x, h)\n",
    "from backproplab.numeric import central_difference as cd\ndef central_difference(f, x, h=1e-5):\n    return cd(f, x, h)\n",
    "import backproplab.numeric\ndef central_difference(f, x, h=1e-5):\n    return backproplab.numeric.central_difference(f, x, h)\n",
    "def central_difference(f, x, h=1e-5):\n    from scipy.differentiate import derivative\n    return derivative(f, x).df\n",
    "import scipy.optimize as so\ndef central_difference(f, x, h=1e-5):\n    return so.approx_fprime([x], lambda v: f(v[0]), h)[0]\n",
    "def central_difference(f, x, h=1e-5):\n    return np.gradient([f(x - h), f(x + h)], h)[0]\n",
    "%time 1\ndef central_difference(f, x, h=1e-5):\n    return numeric.central_difference(f, x, h)\n",
])
def test_scan_finds_delegation_in_the_students_cells(source):
    context = ["import numpy as np\nfrom backproplab import numeric\n"]
    assert delegation.scan([source], PATHS, context)


@pytest.mark.parametrize("source", [
    "def central_difference(f, x, h=1e-5):\n    return (f(x + h) - f(x - h)) / (2 * h)\n",
    # the student's own function of the same name, called by a later one
    "def numerical_gradient(f, x, h=1e-5):\n    return np.array([central_difference(f, x[i], h) for i in range(x.size)])\n",
    "def central_difference(f, x, h=1e-5):\n    derivative = (f(x + h) - f(x - h)) / (2 * h)\n    return derivative\n",
])
def test_scan_accepts_the_students_own_code(source):
    context = ["import numpy as np\nfrom backproplab import numeric, plots\n"]
    assert delegation.scan([source], PATHS, context) == []


def _notebook(solution):
    def cell(source, **meta):
        return {"cell_type": "code", "source": source, "outputs": [],
                "metadata": {"nbgrader": meta} if meta else {}}
    return {"cells": [
        cell("import numpy as np\nfrom backproplab import numeric\n", locked=True, grade_id="setup"),
        cell(solution, solution=True, grade_id="central_difference"),
        cell("check_central_difference(central_difference, seed=1)\n", grade=True, locked=True,
             grade_id="central_difference_test", points=1),
    ]}


def test_grader_rejects_a_delegating_cell_from_its_source():
    trusted = {"central_difference_test": ("check_central_difference(central_difference, seed=1)\n", 1.0)}
    delegating = _notebook("def central_difference(f, x, h=1e-5):\n    return numeric.central_difference(f, x, h)\n")
    verdict = judge_cells(trusted, delegating)["central_difference_test"]
    assert not verdict.passed
    assert any("numeric.central_difference" in reason for reason in verdict.reasons)
    own = _notebook("def central_difference(f, x, h=1e-5):\n    return (f(x + h) - f(x - h)) / (2 * h)\n")
    reasons = judge_cells(trusted, own)["central_difference_test"].reasons
    assert not any("already does" in reason for reason in reasons)  # only the missing evidence


def test_a_failure_shows_no_grader_file(tmp_path):
    """What IPython shows of a failed check: the student's frames, hidden frames, and a <check> frame."""
    import os
    import autograder
    from autograder import check_central_difference

    grader = os.path.dirname(autograder.__file__)

    def central_difference(f, x, h=1e-5):
        return f(x + h) - undefined_name  # noqa: F821

    with pytest.raises(AssertionError) as failure:
        check_central_difference(central_difference, seed=1)
    tb = failure.value.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename.startswith(grader):
            assert frame.f_locals.get("__tracebackhide__"), frame.f_code.co_name
        tb = tb.tb_next
    cause = failure.value.__cause__
    assert isinstance(cause, NameError)
    tb = cause.__traceback__
    assert tb is not None and tb.tb_frame.f_code.co_name == "central_difference"
    while tb is not None:
        assert not tb.tb_frame.f_code.co_filename.startswith(grader)
        tb = tb.tb_next


def test_a_ufunc_is_trapped_where_it_lives_and_put_back():
    import scipy.special

    original = scipy.special.expit
    log = []
    with delegation.trapped(["scipy.special.expit"], log):
        with pytest.raises(delegation.DelegationError):
            scipy.special.expit(0.0)
    assert log == ["scipy.special.expit"] and scipy.special.expit is original


def test_scan_finds_a_class_whose_method_is_delegated():
    paths = ["backproplab.scalar_mlp.MLP.__call__", "scipy.special.expit"]
    assert delegation.scan(["from backproplab.scalar_mlp import MLP\nmodel = MLP(2, [3, 1])\n"], paths)
    assert delegation.scan(["from scipy.special import expit\nsigmoid = expit\n"], paths)
    # a module of the library imported for something else is not a delegation
    assert delegation.scan(["x = numeric.EPS\n"], ["backproplab.numeric.central_difference"],
                           ["from backproplab import numeric\n"]) == []
