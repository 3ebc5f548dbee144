"""The test-cell contract: evidence, grading mode, and verdicts recomputed outside the kernel."""

import json

import numpy as np
import pytest

from autograder import check_central_difference, check_gradient
from autograder import evidence
from autograder.contract import EVIDENCE_MIME, GRADING_ENV, REGISTRY
from autograder.recompute import ContractError, expected_calls, judge_calls


def central(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def forward(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h


def bowl_gradient(x):
    return np.arange(1, x.size + 1) * x


def recorded(capsys, call):
    """Run ``call`` in grading mode outside IPython; return the evidence it printed and its error."""
    error = None
    try:
        call()
    except AssertionError as exc:
        error = exc
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(EVIDENCE_MIME)]
    return [json.loads(line[len(EVIDENCE_MIME) + 1:]) for line in lines], error


def as_outputs(records):
    return [{"output_type": "display_data", "data": {EVIDENCE_MIME: r, "text/plain": ""}, "metadata": {}}
            for r in records]


# -- evidence encoding -------------------------------------------------------------

@pytest.mark.parametrize("value", [0.1, -3, np.float32(1.5), float("nan"), 1e-300, np.pi])
def test_numbers_travel_exactly(value):
    assert evidence.decode(json.loads(json.dumps(evidence.encode(value)))) == pytest.approx(
        float(value), rel=0, abs=0, nan_ok=True)


def test_arrays_and_tuples_travel_exactly_with_their_dtype():
    a = np.random.default_rng(0).normal(size=(3, 4))
    b = np.arange(5, dtype=np.float32)
    back = evidence.decode(json.loads(json.dumps(evidence.encode((a, [b, 2.0])))))
    assert np.array_equal(back[0], a) and back[0].shape == (3, 4)
    assert back[1][0].original_dtype == "float32"
    assert back[1][1] == 2.0


def test_other_values_and_errors_are_described_not_trusted():
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no")

    assert isinstance(evidence.decode(evidence.encode(Hostile())), evidence.Other)
    assert evidence.decode(evidence.encode("text")).repr == "'text'"
    assert evidence.decode(evidence.encode(None)).type == "NoneType"
    raised = evidence.decode(evidence.encode_error(ZeroDivisionError("division by zero")))
    assert raised == evidence.Raised("ZeroDivisionError", "division by zero")


@pytest.mark.parametrize("record", [
    None, {}, {"kind": "float"}, {"kind": "float", "hex": "zz"}, {"kind": "array", "shape": [2], "data": "AAAA"},
    {"kind": "array", "shape": [1], "dtype": "float64", "data": "!!"}, {"kind": "teapot"},
])
def test_malformed_evidence_is_rejected_with_a_reason(record):
    with pytest.raises(evidence.MalformedEvidence):
        evidence.decode(record)


# -- running a check ----------------------------------------------------------------

def test_a_passing_check_prints_one_line_and_records_nothing_outside_grading(capsys):
    check_central_difference(central, seed=1)
    out = capsys.readouterr().out
    assert out.startswith("OK central_difference") and EVIDENCE_MIME not in out


def test_a_failing_check_names_case_seed_and_mistake():
    with pytest.raises(AssertionError) as info:
        check_central_difference(forward, seed=1)
    message = str(info.value)
    assert "seed 1" in message and "forward difference" in message and "h = 0.1" in message


def test_an_exception_in_student_code_is_reported_and_chained():
    def broken(f, x, h=1e-5):
        return f(x + h) / 0.0 if False else {}["missing"]

    with pytest.raises(AssertionError) as info:
        check_central_difference(broken)
    assert "KeyError" in str(info.value)
    assert isinstance(info.value.__cause__, KeyError)


def test_unknown_parameters_and_non_callables_are_refused_clearly():
    with pytest.raises(TypeError, match="unknown parameters: sede.*It takes: count, seed"):
        check_central_difference(central, sede=3)
    with pytest.raises(AssertionError, match="expected a function here, but got a float"):
        check_central_difference(3.0)


def test_the_check_never_changes_the_students_inputs_in_place():
    seen = []

    def greedy(x):
        seen.append(x.copy())
        g = bowl_gradient(x)
        x[:] = 0.0  # a student's code that scribbles on its input
        return g

    check_gradient(greedy, seed=2)
    again = []
    check_gradient(lambda x: again.append(x.copy()) or bowl_gradient(x), seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(seen, again))


def test_messages_follow_the_course_language(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_LANG", "pt_BR")
    with pytest.raises(AssertionError, match="diferença progressiva"):
        check_central_difference(forward, seed=1)


# -- grading mode and recomputation ---------------------------------------------------

def test_grading_mode_records_evidence_that_recomputes_to_the_same_verdict(monkeypatch, capsys):
    monkeypatch.setenv(GRADING_ENV, "1")
    source = "check_central_difference(central_difference, seed=4)\n"
    for student, should_pass in ((central, True), (forward, False)):
        records, error = recorded(capsys, lambda: check_central_difference(student, seed=4))
        assert len(records) == 1 and records[0]["passed"] is should_pass
        assert (error is None) is should_pass
        ((name, params, verdict),) = judge_calls(source, as_outputs(records))
        assert (name, params) == ("central_difference", {"seed": 4, "count": 8})
        assert verdict.passed is should_pass


def test_forged_or_missing_evidence_fails_when_recomputed(monkeypatch, capsys):
    monkeypatch.setenv(GRADING_ENV, "1")
    source = "check_central_difference(central_difference, seed=4)\ncheck_central_difference(central_difference, seed=5)\n"
    records, _ = recorded(capsys, lambda: check_central_difference(forward, seed=4))
    forged = json.loads(json.dumps(records[0]))
    forged["passed"] = True  # the kernel's own opinion is never read
    results = judge_calls(source, as_outputs([forged]))
    assert [verdict.passed for _, _, verdict in results] == [False, False]
    assert "no evidence" in results[1][2].message

    truncated = json.loads(json.dumps(records[0]))
    truncated["records"] = truncated["records"][:-1]
    ((_, _, verdict), _) = judge_calls(source, as_outputs([truncated]))
    assert not verdict.passed and "recorded results" in verdict.message

    other_seed = json.loads(json.dumps(records[0]))
    other_seed["params"]["seed"] = 5  # evidence of seed 4 passed off as seed 5
    results = judge_calls(source, as_outputs([other_seed]))
    assert not any(verdict.passed for _, _, verdict in results)


def test_expected_calls_read_literal_parameters_and_refuse_the_rest():
    source = "from autograder import check_gradient\ncheck_gradient(g, function='rosenbrock', n=3)\n"
    assert expected_calls(source) == [("gradient", {"function": "rosenbrock", "n": 3})]
    with pytest.raises(ContractError, match="literal"):
        expected_calls("check_gradient(g, seed=SEED)")
    with pytest.raises(ContractError, match="written out"):
        expected_calls("check_gradient(g, **params)")
    with pytest.raises(ContractError, match="not a registered check"):
        expected_calls("check_teapot(g)")


def test_every_registered_check_has_a_name_a_description_and_literal_defaults():
    for name, check in REGISTRY.items():
        assert check.name == name and check.what and check.__doc__
        assert json.loads(json.dumps(check.defaults)) == check.defaults
        assert "seed" in check.defaults
