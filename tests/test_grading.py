"""Masters autograde to full marks, releases to zero, and the verdict is recomputed from evidence.

One nbgrader course directory is made per run (``course_dir``); three
students submit each assignment: the master itself, the untouched release,
and a wrong answer hidden behind a line that blanks every later cell. The
checks record their evidence (grading mode), and the recomputed verdicts must
agree with nbgrader on honest submissions and expose the dishonest one.
"""

import pytest

import harness
from autograder.recompute import judge_notebook

BLANK_LATER_CELLS = 'get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"])\n'
STUDENTS = ("master", "untouched", "silencer")


def _silence_tests(nb):
    """Every solution answers ``None``, and the first one blanks all later cells."""
    first = True
    for cell in nb["cells"]:
        if harness.nbgrader_meta(cell).get("solution") and cell["cell_type"] == "code":
            src = harness.source_text(cell).replace("raise NotImplementedError()", "return None")
            cell["source"] = (BLANK_LATER_CELLS if first else "") + src
            first = False


@pytest.fixture(scope="module")
def graded(course_dir):
    """Autograde the three students on every assignment, in grading mode."""
    results = {}
    for assignment in harness.assignments():
        release = harness.notebooks(course_dir / "course" / assignment)[0]
        harness.submit(course_dir, "master", assignment, harness.master(assignment))
        harness.submit(course_dir, "untouched", assignment, release)
        harness.submit(course_dir, "silencer", assignment, release, edit=_silence_tests)
        done = harness.autograde(course_dir, assignment, env={"BACKPROPLAB_GRADING": "1"})
        results[assignment] = (harness.scores(course_dir, assignment), done)
    return results


@pytest.mark.slow
@pytest.mark.parametrize("assignment", harness.assignments())
def test_master_autogrades_to_full_marks(graded, course_dir, assignment):
    scores, done = graded[assignment]
    score, max_score = scores["master"]
    assert max_score > 0, "the assignment has no points"
    assert score == max_score, done.stderr[-3000:]
    verdicts = judge_notebook(harness.autograded(course_dir, "master", assignment))
    assert verdicts and all(v.passed for v in verdicts.values()), {k: v.reasons for k, v in verdicts.items()}
    assert sum(v.points for v in verdicts.values()) == max_score


@pytest.mark.slow
@pytest.mark.parametrize("assignment", harness.assignments())
def test_release_autogrades_to_zero_failing_on_its_stubs(graded, course_dir, assignment):
    scores, _ = graded[assignment]
    assert scores["untouched"][0] == 0
    nb = harness.autograded(course_dir, "untouched", assignment)
    for grade_id in harness.graded_test_cells(nb):
        cell = next(c for c in nb["cells"] if harness.nbgrader_meta(c).get("grade_id") == grade_id)
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert errors, f"{grade_id}: the test cell did not fail on the stub"
        assert errors[0]["ename"] == "AssertionError", f"{grade_id} failed on the harness: {errors[0]['ename']}"
        assert "NotImplementedError" in errors[0]["evalue"], errors[0]["evalue"]
    verdicts = judge_notebook(nb)
    assert verdicts and not any(v.passed for v in verdicts.values())
    for verdict in verdicts.values():
        assert any("NotImplementedError" in reason for reason in verdict.reasons), verdict.reasons


@pytest.mark.slow
@pytest.mark.parametrize("assignment", harness.assignments())
def test_blanked_test_cells_earn_nothing_once_recomputed(graded, course_dir, assignment):
    scores, _ = graded[assignment]
    nb = harness.autograded(course_dir, "silencer", assignment)
    verdicts = judge_notebook(nb)
    assert verdicts and not any(v.passed for v in verdicts.values())
    for verdict in verdicts.values():
        assert any("no evidence" in reason for reason in verdict.reasons), verdict.reasons
    # nbgrader alone is fooled by this submission; the recomputed verdict is what counts.
    assert scores["silencer"][0] == scores["silencer"][1]
