"""The test-cell contract: how a check runs, judges and records its evidence.

A test cell is one call, ``check_NAME(student_object, **params)``. The call

1. resolves ``params`` (seed and sizes, plain literals) against the check's
   defaults, so that the same call always means the same inputs;
2. *collects*: calls the student's object on every seeded case and encodes
   each result (or the exception it raised) as evidence;
3. *judges* the decoded evidence against the reference, case by case;
4. in grading mode (environment variable ``BACKPROPLAB_GRADING=1``, set by
   the grader), displays the evidence as an output of the test cell with the
   MIME type :data:`EVIDENCE_MIME`, so that the grader can judge it again in
   its own process, out of the student's reach;
5. raises ``AssertionError`` with a message a student can act on, or prints
   one line saying what passed.

A check is a subclass of :class:`Check` registered with :func:`register`; see
docs/authoring.md for how to write one.
"""

import json
import linecache
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from backproplab.messages import text

from . import delegation, evidence

GRADING_ENV = "BACKPROPLAB_GRADING"
EVIDENCE_MIME = "application/vnd.backproplab.evidence+json"
EVIDENCE_VERSION = 1
MAX_RESAMPLES = 3

REGISTRY = {}


class Reject(Exception):
    """Raised inside a judge: this case fails, and the message says why."""


class Inconclusive(Exception):
    """Raised inside a judge: this case cannot decide (e.g. a step crossed a kink)."""


@dataclass
class Verdict:
    """The outcome of one check call."""

    passed: bool
    message: str
    cases: int = 0
    worst_score: float = 0.0
    notes: list = field(default_factory=list)


@dataclass
class Case:
    """One seeded input of a check; ``label`` says in words what it is."""

    label: str
    data: dict


class Check:
    """One graded property of a student's object.

    Subclasses set ``name`` (the test cell calls ``check_<name>``), ``what``
    (how messages name the student's object) and ``defaults`` (the parameters
    a test cell may set, with JSON-literal values), and implement:

    - ``cases(params)``: the seeded cases, a list of :class:`Case`;
    - ``call(student, case)``: the student's result on one case (a number,
      an array, or a tuple of them), given only copies of the inputs;
    - ``judge(case, value, params)``: the error score of ``value`` (<= 1
      passes); raise :class:`Reject` with a message when it fails, or
      :class:`Inconclusive` when the case cannot decide.

    ``spares(params)`` may give extra cases that replace inconclusive ones,
    up to :data:`MAX_RESAMPLES`.

    ``delegation`` lists the functions that already do what the exercise
    asks (``"backproplab.numeric.central_difference"``): they are trapped
    while the student's object runs, and a call to one fails the case.
    """

    name = ""
    what = ""
    defaults = {"seed": 0}
    delegation = ()  # dotted paths of functions that do the exercise (see autograder.delegation)

    def resolve(self, params):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise TypeError(
                text("check.unknown_params", check=self.name, got=", ".join(unknown),
                     expected=", ".join(sorted(self.defaults)))
            )
        resolved = dict(self.defaults)
        resolved.update(params)
        json.dumps(resolved)  # parameters must be plain literals
        return resolved

    def cases(self, params):
        raise NotImplementedError

    def spares(self, params):
        return []

    def call(self, student, case):
        raise NotImplementedError

    def judge(self, case, value, params):
        raise NotImplementedError

    # -- the two halves --------------------------------------------------------

    def collect(self, student, params):
        """Encoded results of ``student`` on every case and spare, and the first exception."""
        records, first_error = [], None
        for case in self.cases(params) + self.spares(params):
            called = []
            try:
                with delegation.trapped(self.delegation, called):
                    value = self.call(student, case)
            except Exception as exc:
                exc.__traceback__ = _from_student(exc.__traceback__)
                if not called:
                    first_error = first_error or exc
                records.append(evidence.encode_error(exc))
            else:
                records.append(evidence.encode(value))
            if called:  # even if the student's code caught the trap's exception
                records[-1] = {"kind": "error", "type": delegation.DELEGATED, "message": called[0]}
        return records, first_error

    def verdict(self, params, records):
        """Judge encoded results; the same function runs in the kernel and in the grader."""
        cases = self.cases(params)
        spares = self.spares(params)
        if not isinstance(records, list) or len(records) != len(cases) + len(spares):
            return Verdict(False, text("check.evidence_count", check=self.name,
                                       expected=len(cases) + len(spares),
                                       got=len(records) if isinstance(records, list) else type(records).__name__))
        spare_pairs = list(zip(spares, records[len(cases):]))[:MAX_RESAMPLES]
        worst, notes = 0.0, []
        for case, record in zip(cases, records[: len(cases)]):
            while True:
                try:
                    score = self._judge_record(case, record, params)
                    worst = max(worst, score)
                    break
                except Inconclusive as why:
                    if not spare_pairs:
                        notes.append(text("check.inconclusive", case=case.label, why=why))
                        break
                    case, record = spare_pairs.pop(0)
                except Reject as why:
                    message = text("check.failed", what=self.what, case=case.label,
                                   seed=params.get("seed"), why=why)
                    return Verdict(False, message, len(cases), worst, notes)
        if len(cases) == 1:
            message = text("check.passed_one", what=self.what, score=worst, seed=params.get("seed"))
        else:
            message = text("check.passed", what=self.what, cases=len(cases), score=worst,
                           seed=params.get("seed"))
        return Verdict(True, message, len(cases), worst, notes)

    def _judge_record(self, case, record, params):
        try:
            value = evidence.decode(record)
        except evidence.MalformedEvidence as exc:
            raise Reject(text("check.malformed", why=exc)) from None
        if isinstance(value, evidence.Raised) and value.type == delegation.DELEGATED:
            raise Reject(text("check.delegated", what=self.what, name=delegation.describe(value.message)))
        if isinstance(value, evidence.Raised):
            raise Reject(text("check.raised", what=self.what, type=value.type, message=value.message))
        # overflow in a reference replaying a student's mistake is expected: no warning names grader files
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            return float(self.judge(case, value, params))


_GRADER = os.path.dirname(os.path.abspath(__file__))


def _from_student(tb):
    """A traceback without its leading frames in the grader's files (a student sees their own code first)."""
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(_GRADER + os.sep):
        tb = tb.tb_next
    return tb


def register(check_class):
    """Register a :class:`Check` subclass and return the test-cell function for it."""
    check = check_class()
    if check.name in REGISTRY:
        raise ValueError(f"a check named {check.name!r} is registered already")
    REGISTRY[check.name] = check

    def run(student, **params):
        __tracebackhide__ = True  # IPython shows the student's cell, not the grader's files
        return run_check(check, student, params)

    run.__name__ = f"check_{check.name}"
    run.__qualname__ = run.__name__
    run.__doc__ = check_class.__doc__
    return run


def grading():
    """True when the grader asked the checks to record their evidence."""
    return os.environ.get(GRADING_ENV) == "1"


def run_check(check, student, params):
    """Run one check call as a test cell does (see the module docstring)."""
    __tracebackhide__ = True
    if not callable(student):
        raise AssertionError(text("check.not_callable", what=check.what, got=type(student).__name__))
    params = check.resolve(params)
    records, first_error = check.collect(student, params)
    verdict = check.verdict(params, records)
    if grading():
        emit({"version": EVIDENCE_VERSION, "check": check.name, "params": params,
              "records": records, "passed": verdict.passed})
    if not verdict.passed:
        _fail(verdict.message, first_error)
    print(verdict.message)
    for note in verdict.notes:
        print(note)


# The frame that raises a failed check's AssertionError: compiled without a
# file, so that a student's traceback ends in their own cell and a line
# naming the check, never in the grader's files (IPython hides the frames
# above it that set __tracebackhide__).
_FAIL_SOURCE = "def check_failed(message, cause):\n    raise AssertionError(message) from cause\n"
_namespace = {}
exec(compile(_FAIL_SOURCE, "<check>", "exec"), _namespace)
linecache.cache["<check>"] = (len(_FAIL_SOURCE), None, _FAIL_SOURCE.splitlines(True), "<check>")
_fail = _namespace["check_failed"]


def emit(record):
    """Show the evidence as an output of the current cell (or a line on stdout outside IPython)."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        get_ipython = lambda: None  # noqa: E731
    if get_ipython() is not None:
        display({EVIDENCE_MIME: record, "text/plain": ""}, raw=True)
    else:
        print(EVIDENCE_MIME, json.dumps(record))


def reject_unless_finite_number(value, what):
    """The float in ``value``, or :class:`Reject` saying what came instead."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = float(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            raise Reject(text("check.not_finite", what=what, got=value))
        return value
    raise Reject(text("check.expected_number", what=what, got=describe(value)))


def reject_unless_array(value, shape, what):
    """The array in ``value`` with ``shape``, or :class:`Reject` saying what came instead."""
    if isinstance(value, float) and shape == ():
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise Reject(text("check.expected_array", what=what, shape=shape, got=describe(value)))
    if value.shape != tuple(shape):
        hint = text("check.hint_transpose") if value.shape == tuple(shape)[::-1] and len(shape) == 2 else ""
        raise Reject(text("check.wrong_shape", what=what, expected=tuple(shape), got=value.shape, hint=hint))
    bad = ~np.isfinite(value)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Reject(text("check.not_finite_entries", what=what, count=int(bad.sum()), index=first))
    return np.asarray(value, dtype=np.float64)


def describe(value):
    """A few words on what a decoded value is, for messages."""
    if isinstance(value, evidence.Other):
        return f"{value.type} {value.repr}"
    if isinstance(value, np.ndarray):
        return text("check.describe_array", shape=value.shape, dtype=getattr(value, "original_dtype", value.dtype))
    if isinstance(value, tuple):
        items = "; ".join(describe(item) for item in value[:3]) + ("; ..." if len(value) > 3 else "")
        return text("check.describe_tuple", count=len(value), items=items)
    return repr(value)
