"""The notebook's run in the sandbox: time limits per cell and per notebook, and what ran is kept."""

import json
import subprocess
import sys

import nbformat
import pytest

pytestmark = pytest.mark.slow

DEAF = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"


def _run(tmp_path, sources, cell_timeout, notebook_timeout):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    done = subprocess.run([sys.executable, "-m", "autograder.run_notebook", str(path),
                           f"--cell-timeout={cell_timeout}", f"--notebook-timeout={notebook_timeout}"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    ran = nbformat.read(str(path), as_version=4)
    status = json.loads((tmp_path / "nb.ipynb.status.json").read_text())
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in ran.cells]
    return status, texts, ran


def test_a_cell_past_its_limit_is_interrupted_recorded_and_the_rest_runs(tmp_path):
    status, texts, ran = _run(tmp_path, ["print('before')", "while True:\n    pass", "print('after')"], 2, 60)
    assert status["timed_out"] == [{"index": 1, "grade_id": None, "limit": 2, "which": "cell"}]
    assert status["stopped"] is None
    assert texts[0] == "before\n" and texts[2] == "after\n"
    assert any(o.get("ename") == "CellTimeoutError" for o in ran.cells[1].outputs)


def test_the_notebook_limit_stops_the_run_and_keeps_what_ran(tmp_path):
    status, texts, _ = _run(tmp_path, ["print('before')", "while True:\n    pass", "print('after')"], 120, 25)
    assert [t["which"] for t in status["timed_out"]] == ["notebook"] and status["timed_out"][0]["index"] == 1
    assert status["stopped"]["why"] == "notebook" and status["stopped"]["index"] == 2
    assert texts[0] == "before\n" and texts[2] == ""


def test_a_cell_that_ignores_the_interrupt_stops_the_run_and_keeps_what_ran(tmp_path):
    status, texts, _ = _run(tmp_path, ["print('before')", DEAF, "print('after')"], 2, 60)
    assert status["stopped"] == {"index": 1, "grade_id": None, "why": "deaf"}
    assert texts[0] == "before\n" and texts[2] == ""
