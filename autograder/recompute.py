"""Judge a graded notebook again from the evidence its test cells recorded.

In grading mode every check displays its evidence as an output of the test
cell that called it (:mod:`autograder.contract`). This module reads a graded
notebook, finds in each graded test cell's *source* (restored by nbgrader from
the gradebook, so out of the student's reach) the check calls it makes, and
recomputes each verdict in the current process from the evidence. A call
without evidence, or with malformed evidence, fails with its reason: a
student cell that silences the test cells or patches the checks gains
nothing.

Test cells must therefore call checks with literal parameters only
(``check_gradient(grad, function="bowl", seed=3)``), one call per line, no
loops.
"""

import ast
import json
from dataclasses import dataclass, field

from backproplab.messages import text

from . import checks, delegation  # noqa: F401  (checks: registers every check)
from .contract import EVIDENCE_MIME, REGISTRY, Verdict


@dataclass
class CellVerdict:
    """The recomputed outcome of one graded test cell."""

    grade_id: str
    passed: bool
    points: float
    reasons: list = field(default_factory=list)


class ContractError(ValueError):
    """A test cell does not follow the contract (a bug of the course, not of a student)."""


def expected_calls(source):
    """The check calls in a test cell's source: [(check name, literal params)], in order."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if not name.startswith("check_"):
            continue
        check = name[len("check_"):]
        if check not in REGISTRY:
            raise ContractError(f"{name} is not a registered check")
        params = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ContractError(f"{name}: parameters must be written out, not passed as **kwargs")
            try:
                params[keyword.arg] = ast.literal_eval(keyword.value)
            except ValueError:
                raise ContractError(f"{name}: parameter {keyword.arg} must be a literal") from None
        calls.append((node.lineno, node.col_offset, check, params))
    return [(check, params) for _, _, check, params in sorted(calls, key=lambda c: c[:2])]


def evidence_in(outputs):
    """The evidence records among a cell's outputs (malformed ones are skipped)."""
    found = []
    for output in outputs or []:
        data = output.get("data", {}) if isinstance(output, dict) else {}
        record = data.get(EVIDENCE_MIME)
        if isinstance(record, str):
            try:
                record = json.loads(record)
            except ValueError:
                continue
        if isinstance(record, dict):
            found.append(record)
    return found


def judge_calls(source, outputs):
    """[(check name, params, Verdict)] for every check call of one test cell."""
    records = evidence_in(outputs)
    results = []
    for name, params in expected_calls(source):
        check = REGISTRY[name]
        resolved = check.resolve(params)
        match = next((r for r in records if r.get("check") == name and r.get("params") == resolved), None)
        if match is None:
            verdict = Verdict(False, text("check.no_evidence", check=name, params=resolved))
        else:
            records.remove(match)
            verdict = check.verdict(resolved, match.get("records"))
        results.append((name, resolved, verdict))
    return results


def trusted_cells(nb):
    """{grade_id: (source, points)} of the graded code cells of a notebook (a dict, as in the file).

    Applied to a master (or to a notebook whose test cells nbgrader restored),
    this is what the grader trusts: the calls to expect and their points.
    """
    cells = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade"):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            cells[meta["grade_id"]] = (source, float(meta.get("points", 0)))
    return cells


def _text(cell):
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def student_cells(nb, trusted):
    """{grade_id: [source]}: the code the student wrote for each trusted test cell.

    The cells between the previous graded test cell and this one that the
    student could edit: solution cells and cells the student added (no
    nbgrader metadata), in the order of the notebook.
    """
    spans, current = {}, []
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not isinstance(meta, dict):
            meta = {}
        if meta.get("grade_id") in trusted and meta.get("grade") and not meta.get("solution"):
            spans.setdefault(meta["grade_id"], current)
            current = []
        elif meta.get("solution") or not meta.get("locked"):
            current.append(_text(cell))
    return spans


def delegation_reasons(source, written, context):
    """Why the student's cells for one test cell delegate the exercise, or []."""
    paths = sorted({path for name, _ in expected_calls(source) for path in REGISTRY[name].delegation})
    used = delegation.scan(written, paths, context) if paths else []
    if not used:
        return []
    return [text("check.delegated_source", names=", ".join(delegation.describe(p) for p in used))]


def judge_cells(trusted, nb):
    """{grade_id: CellVerdict}: each trusted test cell judged from the evidence in ``nb``'s outputs.

    trusted: {grade_id: (source, points)} (see :func:`trusted_cells`); nb: the
    graded notebook, untrusted: only its outputs, and the source of the cells
    the student wrote (read for delegation, never run), are used.
    """
    outputs = {}
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        if not isinstance(cell, dict):
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in trusted and grade_id not in outputs and isinstance(cell.get("outputs"), list):
            outputs[grade_id] = cell["outputs"]
    written = student_cells(nb, trusted)
    context = [_text(c) for c in (nb.get("cells", []) if isinstance(nb, dict) else [])
               if isinstance(c, dict) and c.get("cell_type") == "code"]
    verdicts = {}
    for grade_id, (source, points) in trusted.items():
        results = judge_calls(source, outputs.get(grade_id, []))
        reasons = [verdict.message for _, _, verdict in results if not verdict.passed]
        reasons += delegation_reasons(source, written.get(grade_id, []), context)
        if not results:
            reasons.append(text("check.no_calls"))
        passed = not reasons
        verdicts[grade_id] = CellVerdict(grade_id, passed, points if passed else 0.0, reasons)
    return verdicts


def judge_notebook(nb):
    """{grade_id: CellVerdict} for a notebook whose test cells are trusted (restored by nbgrader)."""
    return judge_cells(trusted_cells(nb), nb)
