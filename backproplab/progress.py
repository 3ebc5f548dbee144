"""A progress bar for training loops: tqdm, with the cost and the accuracy beside it.

    from backproplab.progress import epochs

    bar = epochs(60)
    for epoch in bar:
        ...                      # one epoch of training
        bar.show(cost=cost)      # the numbers shown after the bar, each as name=value

``epochs(n)`` counts 0, 1, ..., n - 1 like ``range(n)``. It is tqdm's bar
(``tqdm.auto``): a widget in JupyterLab (ipywidgets draws it), one line
rewritten in place in a terminal. While the grader runs a notebook
(BACKPROPLAB_GRADING=1) it shows nothing, so that a graded notebook holds no
bars and its feedback needs no JavaScript.
"""

import os

import numpy as np

GRADING_ENV = "BACKPROPLAB_GRADING"  # as autograder.contract.GRADING_ENV


def _number(value):
    """How a postfix value is shown: floats with 4 significant digits, the rest as they are."""
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.4g}"
    return value


class Epochs:
    """An iterable over range(n) that draws a tqdm bar; :meth:`show` sets the numbers beside it."""

    def __init__(self, n, desc=None, enabled=True, unit="epoch"):
        from tqdm.auto import tqdm

        self.n = int(n)
        disable = not enabled or os.environ.get(GRADING_ENV) == "1"
        self.bar = tqdm(total=self.n, desc=desc, unit=unit, disable=disable, dynamic_ncols=True)

    def __iter__(self):
        try:
            for epoch in range(self.n):
                yield epoch
                self.bar.update(1)
        finally:
            self.bar.close()

    def __len__(self):
        return self.n

    def show(self, values=None, **more):
        """Show ``name=value`` for each value after the bar, replacing what was shown before.

        ``bar.show(cost=0.25, accuracy=0.9)``, or with a dict: ``bar.show({"test accuracy": 0.9})``;
        an underscore in a name is shown as a space.
        """
        values = {**(values or {}), **more}
        self.bar.set_postfix({name.replace("_", " "): _number(v) for name, v in values.items()}, refresh=True)

    def close(self):
        self.bar.close()


def epochs(n, desc=None, enabled=True):
    """An :class:`Epochs` bar over ``range(n)``; ``desc`` is written before the bar."""
    return Epochs(n, desc=desc, enabled=enabled)
