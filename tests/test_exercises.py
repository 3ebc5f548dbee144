"""The mutation harness: every exercise's tests reject its wrong implementations and accept the right ones.

The test cells are run in this process (no nbgrader, no kernel), exactly as
written in source/ (visible and hidden tests) and in course/ (visible only).
"""

import pytest

import harness
from exercises import EXERCISES

WRONG = [(ex, name) for ex in EXERCISES for name in ex.wrong]
RIGHT = [(ex, name) for ex in EXERCISES for name in ex.right]


def _cell(folder, exercise):
    (path,) = harness.notebooks(folder / exercise.assignment)
    return harness.graded_test_cells(harness.load(path))[exercise.test_cell]


@pytest.mark.parametrize("folder", [harness.SOURCE, harness.COURSE], ids=["source", "course"])
@pytest.mark.parametrize("exercise,mistake", WRONG, ids=[f"{e.test_cell}-{m}" for e, m in WRONG])
def test_wrong_implementation_fails(folder, exercise, mistake):
    implementation, words = exercise.mistake(mistake)
    with pytest.raises(AssertionError) as failure:
        harness.run_test_cell(_cell(folder, exercise), exercise.names(implementation))
    if words is not None:
        assert words in str(failure.value), f"expected the message to say {words!r}; it says:\n{failure.value}"


@pytest.mark.parametrize("folder", [harness.SOURCE, harness.COURSE], ids=["source", "course"])
@pytest.mark.parametrize("exercise,alternative", RIGHT, ids=[f"{e.test_cell}-{a}" for e, a in RIGHT])
def test_correct_alternative_passes(folder, exercise, alternative):
    printed = harness.run_test_cell(_cell(folder, exercise), exercise.names(exercise.right[alternative]))
    assert printed.startswith("OK ")


# Notebooks rebuilt so that the student builds (PEDAGOGY.md): every graded
# cell has at least 8 wrong implementations, each with the message it must
# get, and 3 right ones.
NAMED = ("01-", "02-", "03-", "04-", "05-", "06-", "07-")


def test_every_graded_test_cell_has_its_mutants():
    covered = {(e.assignment, e.test_cell) for e in EXERCISES if len(e.wrong) >= 5 and len(e.right) >= 2}
    for assignment in harness.assignments():
        for grade_id in harness.graded_test_cells(harness.load(harness.master(assignment))):
            assert (assignment, grade_id) in covered, f"{assignment}/{grade_id} needs 5 wrong and 2 right implementations"


def test_rebuilt_notebooks_name_every_mistake():
    for assignment in harness.assignments():
        if not assignment.startswith(NAMED):
            continue
        for grade_id in harness.graded_test_cells(harness.load(harness.master(assignment))):
            found = [e for e in EXERCISES if (e.assignment, e.test_cell) == (assignment, grade_id)]
            wrong = {f"{e.test_cell}/{m}": e.mistake(m)[1] for e in found for m in e.wrong}
            right = [r for e in found for r in e.right]
            assert len(wrong) >= 8 and len(right) >= 3, f"{assignment}/{grade_id}: {len(wrong)} wrong, {len(right)} right"
            unnamed = [name for name, words in wrong.items() if words is None]
            assert not unnamed, f"{assignment}/{grade_id}: give the expected message of {unnamed}"
