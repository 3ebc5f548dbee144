"""The capstone's answer key on the digits: test accuracy and training time over many seeds.

Runs the solution cells of source/07-capstone/capstone.ipynb (the modules,
the training loop and ``fit_digits``) in this process, with BLAS pinned to one
thread as the grader's kernel is, then trains ``fit_digits(seed)`` for each
seed and prints the test accuracy (computed from the trained weights on the
fixed split) and the seconds of each training.

    .venv/bin/python bench/capstone_digits.py            # seeds 0..19
    .venv/bin/python bench/capstone_digits.py --seeds 3
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # one core, as the grader's kernel (autograder/grade.py)

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from machine import machine  # noqa: E402

MASTER = ROOT / "source" / "07-capstone" / "capstone.ipynb"
NEEDED = ("setup", "linear", "activations", "softmax_cross_entropy", "sequential", "train", "fit_digits")


def answer_key():
    """A namespace holding the master's modules, train and fit_digits, and the digits split."""
    nb = json.loads(MASTER.read_text(encoding="utf-8"))
    namespace = {}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and cell["id"] in NEEDED:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            exec(compile(source, f"<{cell['id']}>", "exec"), namespace)
    from backproplab import datasets

    namespace["Xd_train"], namespace["Xd_test"], namespace["yd_train"], namespace["yd_test"] = datasets.digits_split()
    return namespace


def measure(seeds):
    """[(seed, test accuracy, seconds)] of fit_digits(seed) for each seed."""
    ns = answer_key()
    rows = []
    for seed in seeds:
        start = time.process_time()
        model, _ = ns["fit_digits"](seed)
        seconds = time.process_time() - start
        accuracy = float(np.mean(np.argmax(model.forward(ns["Xd_test"]), axis=1) == ns["yd_test"]))
        rows.append((seed, accuracy, seconds))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args(argv)
    print(machine(), f"load average {os.getloadavg()[0]:.2f}")
    rows = measure(range(args.seeds))
    for seed, accuracy, seconds in rows:
        print(f"seed {seed:2d}: test accuracy {accuracy:.4f}, {seconds:.2f} s of CPU")
    accuracies = np.array([r[1] for r in rows])
    seconds = np.array([r[2] for r in rows])
    print(f"{len(rows)} seeds: test accuracy min {accuracies.min():.4f}, mean {accuracies.mean():.4f}, "
          f"max {accuracies.max():.4f}; CPU seconds per training: median {np.median(seconds):.2f}, "
          f"max {seconds.max():.2f}")


if __name__ == "__main__":
    main()
