"""The documents hold text, not placeholders left for later."""

import re

import pytest

import harness

DOCUMENTS = sorted([harness.ROOT / "README.md", harness.ROOT / "CHANGELOG.md", harness.ROOT / "bench" / "README.md",
                    *(harness.ROOT / "docs").glob("*.md")])
# a line of one capitalised word, or one in parentheses in a sentence ("(RESULT)"; not a link's "](LICENSE)")
PLACEHOLDER = re.compile(r"^\s*[A-Z][A-Z_]{3,}\s*$|(?<!\])\([A-Z][A-Z_]{3,}\)|\b(?:TODO|TBD|FIXME)\b")


def prose_lines(path):
    """(line number, text) of the lines outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            yield number, line


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(harness.ROOT)))
def test_no_placeholder_is_left_in_the_documents(path):
    found = [f"{number}: {line}" for number, line in prose_lines(path) if PLACEHOLDER.search(line)]
    assert not found, f"{path.name} holds placeholders:\n" + "\n".join(found)


def test_a_placeholder_line_is_found():
    assert PLACEHOLDER.search("THROUGHPUT") and PLACEHOLDER.search("see TODO below")
    assert PLACEHOLDER.search("builds with debootstrap (RESULT). For") and not PLACEHOLDER.search("[LICENSE](LICENSE)")
    assert not PLACEHOLDER.search("Canvas and Moodle import a CSV") and not PLACEHOLDER.search("| 01 | 7.0 s |")
    assert not PLACEHOLDER.search("    ADDRESS`.")  # the end of a command wrapped in the text
