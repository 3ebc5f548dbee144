"""Execute one notebook in a fresh kernel: the only part of grading that runs in the sandbox.

``python -m autograder.run_notebook NOTEBOOK --cell-timeout S --notebook-timeout S``

Runs every code cell of NOTEBOOK (already sanitized by nbgrader outside the
sandbox: locked and test cells restored from the gradebook) with nbclient and
an IPython kernel, set as nbgrader's ``Execute`` preprocessor sets them
(errors allowed, a cell interrupted at its time limit and given a
``CellTimeoutError`` output, no history file), and writes the
notebook back in place after each cell (as compact JSON, unvalidated: 3 ms
at notebook 01's final size, where ``nbformat.writes`` took 20 ms at every
cell), with ``NOTEBOOK.status.json``
beside it, so that a run stopped at any point leaves what it did:

- ``timed_out``: the cells interrupted at their time limit (``limit`` in
  seconds, ``which``: ``cell`` or ``notebook``);
- ``stopped``: why the cells after ``index`` did not run, or None: the
  notebook's time limit ran out (``notebook``), a cell ignored the interrupt
  (``deaf``), the kernel died (``kernel died``), or the notebook could not be
  written (``write``, with the error);
- ``running``: the cell being executed when the status was written;
- ``seconds``: how long the run took.

Everything here is as untrusted as the kernel it runs beside: the grader
reads the notebook and the status as data and judges them itself.
"""

import argparse
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

TIMEOUT_ERROR = {"ename": "CellTimeoutError", "evalue": "",
                 "traceback": ["\x1b[0;31mCellTimeoutError\x1b[0m: No reply from kernel before timeout"]}


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


class TimedClient(NotebookClient):
    """nbclient as nbgrader's Execute sets it, with a limit for the whole notebook on top of the one per cell."""

    def __init__(self, nb, path, cell_timeout, notebook_timeout, **kwargs):
        super().__init__(nb, timeout=cell_timeout, interrupt_on_timeout=True, allow_errors=True,
                         raise_on_iopub_timeout=True, error_on_timeout=TIMEOUT_ERROR, record_timing=False,
                         shutdown_kernel="immediate", extra_arguments=["--HistoryManager.hist_file=:memory:"],
                         on_cell_executed=self._executed, **kwargs)
        self.path, self.cell_timeout, self.notebook_timeout = path, cell_timeout, notebook_timeout
        self.started = time.monotonic()
        self.status = {"timed_out": [], "stopped": None, "running": None, "seconds": 0.0}
        self.timeout_func = self._limit_for
        self._limit = (cell_timeout, "cell")

    def _left(self):
        return self.notebook_timeout - (time.monotonic() - self.started)

    def _limit_for(self, cell):
        left = self._left()
        self._limit = (self.cell_timeout, "cell") if left > self.cell_timeout else (max(1, int(left + 0.999)),
                                                                                   "notebook")
        return self._limit[0]

    async def _async_handle_timeout(self, timeout, cell=None):
        index = next((i for i, c in enumerate(self.nb.cells) if c is cell), None)
        self.status["timed_out"].append({"index": index, "grade_id": _grade_id(cell) if cell else None,
                                         "limit": self._limit[0], "which": self._limit[1]})
        return await super()._async_handle_timeout(timeout, cell)

    @staticmethod
    def _executed(cell, execute_reply, **_):
        """As nbgrader's Execute: an error reply without its output (a timeout) gets one."""
        content = execute_reply["content"]
        if content["status"] == "error" and not any(
                o.output_type == "error" and o.get("ename") == content["ename"] for o in cell.outputs):
            cell.outputs.append(NotebookNode(output_type="error", ename=content["ename"], evalue=content["evalue"],
                                             traceback=content["traceback"] or ["ERROR: no traceback"]))

    def _stop(self, index, why, cell=None):
        self.status["stopped"] = {"index": index, "grade_id": _grade_id(cell) if cell else None, "why": why}

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if self.status["stopped"] is not None or cell.cell_type != "code":
            return cell
        if self._left() <= 0:
            self._stop(cell_index, "notebook", cell)
            self.save()
            return cell
        self.status["running"] = {"index": cell_index, "grade_id": _grade_id(cell)}
        self.save(notebook=False)
        try:
            cell = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        except CellTimeoutError:  # after the interrupt, the kernel did not come back
            self._stop(cell_index, "deaf", cell)
        except DeadKernelError:
            self._stop(cell_index, "kernel died", cell)
        self.status["running"] = None
        self.save()
        return cell

    def save(self, notebook=True):
        self.status["seconds"] = round(time.monotonic() - self.started, 3)
        try:
            if notebook:  # compact JSON, as it stands: the grader validates and normalises what it reads back
                _write(self.path, json.dumps(self.nb))
            _write(self.path + ".status.json", json.dumps(self.status))
        except OSError as exc:  # the file-size limit, most likely
            if self.status["stopped"] is None or self.status["stopped"]["why"] != "write":
                self.status["stopped"] = {"index": None, "grade_id": None, "why": "write",
                                          "error": f"{type(exc).__name__}: {exc}"}
                try:
                    _write(self.path + ".status.json", json.dumps(self.status))
                except OSError:
                    pass
            raise SystemExit(3)


def _write(path, text):
    partial = path + ".partial"
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(partial, path)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder.run_notebook", description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("--cell-timeout", type=int, required=True)
    parser.add_argument("--notebook-timeout", type=int, required=True)
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=nbformat.NO_CONVERT)
    folder = os.path.dirname(os.path.abspath(args.notebook))
    runner = TimedClient(nb, args.notebook, args.cell_timeout, args.notebook_timeout,
                         resources={"metadata": {"path": folder}})
    try:
        runner.execute()
    except DeadKernelError:  # while starting or stopping the kernel
        if runner.status["stopped"] is None:
            runner._stop(None, "kernel died")
    runner.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
