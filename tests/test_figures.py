"""Figures always show: the course's kernels draw inline whatever MPLBACKEND says.

A student whose shell sets MPLBACKEND=Agg (a headless server, say) would
otherwise see no figure at all in JupyterLab, and no warning. run.py gives
JupyterLab the course's kernelspec (jupyter/data/kernels/python3, through
JUPYTER_PATH), whose environment sets the inline backend; Binder's kernel
gets the same setting from postBuild (tests/test_binder.py). Here notebooks
are executed as JupyterLab executes them: by a process with run.py's
environment for JupyterLab, which finds the kernelspec "python3" and starts
the kernel with that environment; MPLBACKEND=Agg is set all along.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from test_environment import ROOT, run

AGG = "Agg"
EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3", timeout=300, allow_errors=True,
               resources={"metadata": {"path": sys.argv[3]}}).execute()
nbformat.write(nb, sys.argv[2])
"""


def execute(notebook, out, env, cwd):
    done = subprocess.run([sys.executable, "-c", EXECUTE, str(notebook), str(out), str(cwd)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    return nbformat.read(str(out), as_version=4)


def images(nb):
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
            if "image/png" in output.get("data", {})]


def backend_notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os, matplotlib\n"
                                          "print(os.environ.get('MPLBACKEND'), matplotlib.get_backend())"),
                nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [1, 0])\nplt.show()")]
    nbformat.write(nb, str(path))
    return path


def lab_env(monkeypatch, profile):
    monkeypatch.setenv("MPLBACKEND", AGG)
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    return run.lab_environ(profile)


def test_with_mplbackend_agg_a_plain_kernel_draws_nothing(tmp_path):
    """The failure this guards against: ipykernel keeps the shell's Agg, and plt.show() shows nothing."""
    env = {**os.environ, "MPLBACKEND": AGG}
    env.pop("JUPYTER_PATH", None)
    nb = execute(backend_notebook(tmp_path / "plot.ipynb"), tmp_path / "out.ipynb", env, tmp_path)
    assert nb.cells[0].outputs[0]["text"].lower().split() == ["agg", "agg"]
    assert images(nb) == []


def test_notebook_01_shows_every_figure_of_its_answer_key_with_mplbackend_agg(tmp_path, monkeypatch):
    key = ROOT / "solutions" / "01-gradient-intuition" / "gradient_intuition.ipynb"
    committed = nbformat.read(str(key), as_version=4)
    expected = [i for i, cell in enumerate(committed.cells) if images(nbformat.v4.new_notebook(cells=[cell]))]
    assert expected, "the answer key of notebook 01 has figures"
    committed.cells += nbformat.read(str(backend_notebook(tmp_path / "plot.ipynb")), as_version=4).cells
    nbformat.write(committed, str(tmp_path / "key.ipynb"))
    env = lab_env(monkeypatch, "student")
    assert env["MPLBACKEND"] == AGG, "the shell's setting reaches JupyterLab unchanged"

    nb = execute(tmp_path / "key.ipynb", tmp_path / "executed.ipynb", env, key.parent)

    shown = [i for i, cell in enumerate(nb.cells) if images(nbformat.v4.new_notebook(cells=[cell]))]
    assert shown == expected + [len(nb.cells) - 1], "a figure of the answer key is missing"
    assert nb.cells[-2].outputs[0]["text"].split() == ["module://matplotlib_inline.backend_inline"] * 2


def test_both_profiles_give_jupyterlab_the_course_kernelspec(monkeypatch):
    paths = {profile: lab_env(monkeypatch, profile)["JUPYTER_PATH"].split(os.pathsep)[0]
             for profile in ("student", "instructor")}
    assert paths == {"student": str(ROOT / "jupyter" / "data"), "instructor": str(ROOT / "jupyter" / "data")}
    monkeypatch.setenv("JUPYTER_PATH", "/somewhere/else")
    assert run.lab_environ("student")["JUPYTER_PATH"].split(os.pathsep) == [str(ROOT / "jupyter" / "data"),
                                                                          "/somewhere/else"]


def test_the_course_kernelspec_runs_the_environments_python_inline():
    spec = json.loads((ROOT / "jupyter" / "data" / "kernels" / "python3" / "kernel.json").read_text())
    assert spec["argv"][:3] == ["python", "-m", "ipykernel_launcher"]  # jupyter_client runs its own Python
    assert spec["env"] == {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    assert spec["language"] == "python"


def test_grading_keeps_its_own_kernel_environment(monkeypatch, tmp_path):
    """The sandboxed kernel's environment is the grader's own, not the shell's: no MPLBACKEND from outside."""
    from autograder import grade

    monkeypatch.setenv("MPLBACKEND", AGG)
    assert "MPLBACKEND" not in grade._kernel_env(Path(tmp_path))
