"""Feedback shows neither the code of hidden tests nor its quotation in tracebacks."""

import nbformat
import pytest

from autograder.feedback import PLACEHOLDER, ScrubHiddenTests, hidden_lines, scrub

SOURCE = """from autograder import check_x
check_x(f, seed=1)
### BEGIN HIDDEN TESTS
check_x(f, seed=2026, count=12)
### END HIDDEN TESTS
"""


def test_hidden_lines_are_the_ones_between_the_markers():
    assert hidden_lines(SOURCE) == ["check_x(f, seed=2026, count=12)"]


def test_scrub_replaces_quoting_lines_even_with_colours():
    traceback = "Cell In[4], line 4\n\x1b[0;32m----> 4\x1b[0m check_x(f, seed\x1b[39m=\x1b[39m2026, count=12)"
    assert "seed=2026" not in scrub(traceback.replace("\x1b[39m", ""), hidden_lines(SOURCE))
    assert scrub("nothing hidden here", hidden_lines(SOURCE)) == "nothing hidden here"


def test_the_preprocessor_scrubs_test_cells_only():
    cell = nbformat.v4.new_code_cell(SOURCE)
    cell.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong",
                                           traceback=["----> 4 check_x(f, seed=2026, count=12)", "AssertionError"])]
    cell, _ = ScrubHiddenTests().preprocess_cell(cell, {}, 0)
    assert cell.outputs[0]["traceback"] == [PLACEHOLDER, "AssertionError"]
    plain = nbformat.v4.new_code_cell("print('check_x(f, seed=2026, count=12)')")
    plain.outputs = [nbformat.v4.new_output("stream", name="stdout", text="check_x(f, seed=2026, count=12)\n")]
    assert ScrubHiddenTests().preprocess_cell(plain, {}, 0)[0].outputs[0]["text"].startswith("check_x")
