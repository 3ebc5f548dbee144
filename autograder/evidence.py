"""Evidence: what a check records of a student's answers, as plain JSON.

A check calls the student's code on seeded inputs and encodes each result
with :func:`encode`. The verdict is always computed from the decoded
evidence, in the student's kernel and again, in grading mode, in the
grader's own process (:mod:`autograder.recompute`), so both see exactly
the same numbers. Floats travel as ``float.hex`` strings and arrays as
base64 float64 bytes: nothing is rounded on the way.
"""

import base64
import math
from dataclasses import dataclass

import numpy as np

MAX_ENTRIES = 1_000_000  # larger arrays are recorded as "too large"
MAX_TEXT = 500


@dataclass(frozen=True)
class Raised:
    """The student's code raised instead of returning."""

    type: str
    message: str


@dataclass(frozen=True)
class Other:
    """A result that is neither a number, an array nor a tuple of them."""

    type: str
    repr: str


class MalformedEvidence(ValueError):
    """The evidence does not have the shape :func:`encode` gives it."""


def _is_real_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def encode(value):
    """A JSON-able record of ``value`` (number, array, tuple/list of them, or other)."""
    if _is_real_number(value):
        return {"kind": "float", "type": type(value).__name__, "hex": float(value).hex()}
    if isinstance(value, np.ndarray) and (
        np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)
    ):
        if value.size > MAX_ENTRIES:
            return {"kind": "other", "type": "ndarray", "repr": f"array of {value.size} entries (too large)"}
        data = np.ascontiguousarray(value, dtype="<f8").tobytes()
        return {
            "kind": "array",
            "dtype": str(value.dtype),
            "shape": list(value.shape),
            "data": base64.b64encode(data).decode("ascii"),
        }
    if isinstance(value, (tuple, list)):
        return {"kind": "tuple", "type": type(value).__name__, "items": [encode(v) for v in value]}
    try:
        text = repr(value)
    except Exception as exc:  # a hostile __repr__ must not break the check
        text = f"<repr failed: {type(exc).__name__}>"
    return {"kind": "other", "type": type(value).__name__, "repr": text[:MAX_TEXT]}


def encode_error(exc):
    """A record of an exception raised by the student's code."""
    try:
        message = str(exc)
    except Exception:
        message = "<message unavailable>"
    return {"kind": "error", "type": type(exc).__name__, "message": message[:MAX_TEXT]}


class Array(np.ndarray):
    """A decoded float64 array that remembers the dtype the student returned."""

    original_dtype = "float64"


def decode(record):
    """The value :func:`encode` recorded; raises :class:`MalformedEvidence`."""
    if not isinstance(record, dict) or "kind" not in record:
        raise MalformedEvidence(f"expected a record with a 'kind', got {type(record).__name__}")
    kind = record["kind"]
    try:
        if kind == "float":
            return float.fromhex(str(record["hex"]))
        if kind == "array":
            shape = tuple(int(n) for n in record["shape"])
            raw = base64.b64decode(record["data"], validate=True)
            if len(raw) != 8 * math.prod(shape):
                raise MalformedEvidence(f"array data has {len(raw)} bytes for shape {shape}")
            array = np.frombuffer(raw, dtype="<f8").reshape(shape).astype(np.float64).view(Array)
            array.original_dtype = str(record["dtype"])
            return array
        if kind == "tuple":
            return tuple(decode(item) for item in record["items"])
        if kind == "error":
            return Raised(str(record["type"]), str(record["message"]))
        if kind == "other":
            return Other(str(record["type"]), str(record["repr"]))
    except MalformedEvidence:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvidence(f"bad {kind!r} record: {type(exc).__name__}: {exc}") from None
    raise MalformedEvidence(f"unknown kind {kind!r}")
