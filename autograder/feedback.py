"""Feedback without hidden tests: their code is removed from cells *and* from tracebacks.

nbgrader's ClearHiddenTests removes the hidden block from a test cell's
source, but a failing hidden call is still quoted in the traceback below it.
:class:`ScrubHiddenTests` runs first: it replaces every traceback or output
line that quotes a hidden line with a placeholder.
"""

import re

from nbgrader.preprocessors import NbGraderPreprocessor

BEGIN, END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
PLACEHOLDER = "[a hidden test]"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def hidden_lines(source):
    """The stripped, non-empty lines between the hidden-test markers."""
    lines, inside = [], False
    for line in source.splitlines():
        if BEGIN in line:
            inside = True
        elif END in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


def scrub(text, hidden):
    """``text`` with every line that quotes a hidden line replaced by the placeholder."""
    out = []
    for line in text.split("\n"):
        plain = ANSI.sub("", line)
        out.append(PLACEHOLDER if any(h in plain for h in hidden) else line)
    return "\n".join(out)


class ScrubHiddenTests(NbGraderPreprocessor):
    """Remove quotations of hidden tests from the outputs of test cells."""

    def preprocess_cell(self, cell, resources, index):
        hidden = hidden_lines(cell.source) if cell.cell_type == "code" else []
        if hidden:
            for output in cell.get("outputs", []):
                if "traceback" in output:
                    output["traceback"] = [scrub(line, hidden) for line in output["traceback"]]
                if "evalue" in output:
                    output["evalue"] = scrub(output["evalue"], hidden)
                if "text" in output:
                    output["text"] = scrub(output["text"], hidden)
        return cell, resources
