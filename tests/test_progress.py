"""backproplab.progress: tqdm's bar for training loops, in a terminal, in a kernel, while grading, in the build."""

import copy
import json
import os
import re
import subprocess
import sys

import nbformat
import pytest

from autograder import build
from backproplab.progress import epochs

LOOP = """from backproplab.progress import epochs

bar = epochs(4, desc="fit")
for epoch in bar:
    bar.show(cost=1.0 / (epoch + 1), accuracy=0.25 * epoch)
print("done", epoch)
"""
EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3", timeout=120).execute()
nbformat.write(nb, sys.argv[1])
"""


def test_epochs_counts_like_range_and_shows_the_last_numbers(capsys, monkeypatch):
    monkeypatch.delenv("BACKPROPLAB_GRADING", raising=False)
    bar = epochs(3, desc="fit")
    seen = []
    for epoch in bar:
        seen.append(epoch)
        bar.show(cost=0.5 / (epoch + 1), step_size=epoch)
    assert seen == [0, 1, 2] and len(bar) == 3
    # the line as a terminal shows it: tqdm pads it with spaces where an earlier line was longer
    last = capsys.readouterr().err.rstrip("\n").split("\r")[-1].rstrip(" ")
    assert re.match(r"^fit: 100%\|.*\| 3/3 \[.*, cost=0\.1667, step size=2\]$", last), last


def test_epochs_shows_nothing_while_grading_or_when_disabled(capsys, monkeypatch):
    for epoch in epochs(2, enabled=False):
        pass
    monkeypatch.setenv("BACKPROPLAB_GRADING", "1")
    bar = epochs(2)
    for epoch in bar:
        bar.show(cost=1.0)
    assert capsys.readouterr() == ("", "")


def run_loop(tmp_path, name, grading):
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOP)]), str(path))
    env = dict(os.environ)
    env.pop("BACKPROPLAB_GRADING", None)
    if grading:
        env["BACKPROPLAB_GRADING"] = "1"
    done = subprocess.run([sys.executable, "-c", EXECUTE, str(path)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("progress")
    return run_loop(tmp, "student", grading=False), run_loop(tmp, "grading", grading=True)


def test_in_a_kernel_the_bar_is_a_widget_with_a_text_fallback(executed):
    nb, _ = executed
    outputs = nb["cells"][0]["outputs"]
    widgets = [o for o in outputs if build.WIDGET in o.get("data", {})]
    assert len(widgets) == 1, outputs
    assert "model_id" in widgets[0]["data"][build.WIDGET]
    assert "widgets" in nb["metadata"], "the widget's state is stored with the notebook"
    assert ["".join(o["text"]) for o in outputs if o.get("name") == "stdout"] == ["done 3\n"]
    assert not [o for o in outputs if o.get("name") == "stderr"], "no carriage-return line beside the widget"


def test_while_grading_a_kernel_shows_no_bar(executed):
    _, nb = executed
    outputs = nb["cells"][0]["outputs"]
    assert [(o["output_type"], o.get("name"), "".join(o.get("text", ""))) for o in outputs] == [
        ("stream", "stdout", "done 3\n")]
    assert "widgets" not in nb["metadata"]


def test_the_build_masks_the_bar_but_not_its_absence(executed):
    nb, graded = executed
    other = copy.deepcopy(nb)  # another run: another widget id, other timings
    for output in other["cells"][0]["outputs"]:
        if build.WIDGET in output.get("data", {}):
            output["data"][build.WIDGET]["model_id"] = "0" * 32
            output["data"]["text/plain"] = "fit: 100%|##########| 4/4 [00:09<00:00, 0.42epoch/s, cost=0.25]"
    other["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert other != nb
    assert build.normalise_notebook(other) == build.normalise_notebook(nb)
    assert build.normalise_notebook(graded) != build.normalise_notebook(nb), "a bar that vanished is a change"
    changed = copy.deepcopy(nb)
    next(o for o in changed["cells"][0]["outputs"] if o.get("name") == "stdout")["text"] = "done 2\n"
    assert build.normalise_notebook(changed) != build.normalise_notebook(nb), "text beside the bar still counts"
