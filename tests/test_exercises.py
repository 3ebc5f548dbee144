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
    with pytest.raises(AssertionError):
        harness.run_test_cell(_cell(folder, exercise), exercise.names(exercise.wrong[mistake]))


@pytest.mark.parametrize("folder", [harness.SOURCE, harness.COURSE], ids=["source", "course"])
@pytest.mark.parametrize("exercise,alternative", RIGHT, ids=[f"{e.test_cell}-{a}" for e, a in RIGHT])
def test_correct_alternative_passes(folder, exercise, alternative):
    printed = harness.run_test_cell(_cell(folder, exercise), exercise.names(exercise.right[alternative]))
    assert printed.startswith("OK ")


def test_every_graded_test_cell_has_its_mutants():
    covered = {(e.assignment, e.test_cell) for e in EXERCISES if len(e.wrong) >= 5 and len(e.right) >= 2}
    for assignment in harness.assignments():
        for grade_id in harness.graded_test_cells(harness.load(harness.master(assignment))):
            assert (assignment, grade_id) in covered, f"{assignment}/{grade_id} needs 5 wrong and 2 right implementations"
