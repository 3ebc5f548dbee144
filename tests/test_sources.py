"""docs/sources.md cannot go stale: every ```python block in it runs and its assertions hold.

Each block is executed on its own, in a fresh namespace, as a reader would paste
it. Tracebacks point at the line of docs/sources.md where the failure is.
"""

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "sources.md"
OPENING = re.compile(r"^```python[ \t]*$")
CLOSING = re.compile(r"^```[ \t]*$")
HEADING = re.compile(r"^#{1,6}\s+(.*\S)\s*$")


def python_blocks(text):
    """[(first code line, nearest heading above, code)] for every ```python fence of text."""
    blocks, heading, code, start = [], "", None, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if code is None:
            if OPENING.match(line):
                code, start = [], number + 1
            elif HEADING.match(line):
                heading = HEADING.match(line).group(1)
        elif CLOSING.match(line):
            blocks.append((start, heading, "\n".join(code) + "\n"))
            code = None
        else:
            code.append(line)
    if code is not None:
        raise AssertionError(f"{PAGE.name}: the ```python fence opened at line {start - 1} is never closed")
    return blocks


BLOCKS = python_blocks(PAGE.read_text(encoding="utf-8"))


def test_the_page_has_its_blocks():
    assert len(BLOCKS) >= 40, f"only {len(BLOCKS)} python blocks in {PAGE.name}"
    for start, heading, code in BLOCKS:
        assert re.search(r"^\s*assert\b", code, re.M), f"block at line {start} ({heading}) asserts nothing"


@pytest.mark.parametrize(
    "start, heading, code", BLOCKS, ids=[f"line{start}-{heading.split('.')[0].split()[0]}" for start, heading, _ in BLOCKS]
)
def test_block_runs(start, heading, code):
    # padding with blank lines makes the traceback's line numbers those of the page
    compiled = compile("\n" * (start - 1) + code, str(PAGE), "exec")
    exec(compiled, {"__name__": f"sources_md_line_{start}"})
