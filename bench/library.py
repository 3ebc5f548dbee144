"""Benchmark: one training step of the library's MLP against PyTorch and hand-written numpy.

    .venv/bin/python bench/library.py [--sizes 784,256,10] [--batch 128] [--threads 1]

One step is forward, loss, backward and an SGD update of an MLP
784-256-10 (Linear, ReLU, Linear, softmax cross-entropy) on a random batch
of 128, in float64. It is timed three ways on the same weights and data:

- the library: ``backproplab.layers`` (Sequential, Linear, ReLU,
  SoftmaxCrossEntropy, SGD);
- the same step written out in numpy arrays, as one would by hand (it skips
  dL/dx of the input, which a Sequential computes): the cost of modularity;
- PyTorch on the CPU (``torch.nn``, float64), when it is installed:
  ``.venv/bin/pip install torch==2.13.0``. Without it the line says so.

BLAS and PyTorch get the same number of threads: the script sets
OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS and runs itself
again before numpy is imported, and calls torch.set_num_threads. Each
implementation is warmed up, then the rounds alternate between them and the
median time per step is printed, with the ratios. Not run by the test suite.
"""

import argparse
import os
import statistics
import sys
import time

from machine import machine  # bench/machine.py

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# glibc malloc: keep freed large blocks in the heap instead of unmapping them, so that a
# new array of the same size does not fault its pages in again on every step
STEADY_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "1000000000", "MALLOC_TRIM_THRESHOLD_": "1000000000",
                 "MALLOC_TOP_PAD_": "100000000"}


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="784,256,10", help="layer widths, input first (default 784,256,10)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round (default 20)")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds per implementation (default 15)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    parser.add_argument("--steady-malloc", action="store_true",
                        help="run with glibc's malloc keeping large blocks (no page faults per new array)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out even if it is installed")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if len(args.sizes) != 3 or min(args.sizes) < 1:
        parser.error(f"--sizes: expected three positive widths D,H,C, got {args.sizes}")
    return args


def pin(threads, steady_malloc):
    """Run this script again with the thread (and malloc) variables set, unless they are set already."""
    wanted = {name: str(threads) for name in THREAD_VARIABLES}
    if steady_malloc:
        wanted.update(STEADY_MALLOC)
    if all(os.environ.get(name) == value for name, value in wanted.items()):
        return
    if "numpy" in sys.modules:
        raise RuntimeError("numpy was imported before the thread count was pinned")
    env = {**os.environ, **wanted}
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__), *sys.argv[1:]], env)


# -- the three steps, from the same weights and batch -----------------------------------

def problem(sizes, batch, seed=0):
    """Weights (as Linear would draw them), a batch x: (N, D) and labels y: (N,)."""
    import numpy as np

    d, h, c = sizes
    rng = np.random.default_rng(seed)
    weights = {"W1": rng.normal(0, 1 / np.sqrt(d), (d, h)), "b1": np.zeros(h),
               "W2": rng.normal(0, 1 / np.sqrt(h), (h, c)), "b2": np.zeros(c)}
    x = rng.normal(size=(batch, d))
    y = rng.integers(0, c, size=batch)
    return weights, x, y


def library_step(weights, x, y, lr):
    """A step function of the library's modules, and a function returning its weights."""
    from backproplab.layers import SGD, Linear, ReLU, Sequential, SoftmaxCrossEntropy

    d, h = weights["W1"].shape
    first, second = Linear(d, h), Linear(h, weights["W2"].shape[1])
    for layer, i in ((first, 1), (second, 2)):
        layer.params["W"][...] = weights[f"W{i}"]
        layer.params["b"][...] = weights[f"b{i}"]
    model, loss = Sequential(first, ReLU(), second), SoftmaxCrossEntropy()
    optimizer = SGD(model.parameters(), lr=lr)

    def step():
        value = loss.forward(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step()
        return value

    def current():
        return {"W1": first.params["W"], "b1": first.params["b"], "W2": second.params["W"], "b2": second.params["b"]}

    return step, current


def numpy_step(weights, x, y, lr):
    """The same step written out in arrays: no modules, no checks, no dL/dx of the input."""
    import numpy as np

    w = {k: v.copy() for k, v in weights.items()}
    rows = np.arange(len(y))

    def step():
        z1 = x @ w["W1"] + w["b1"]
        a1 = np.maximum(z1, 0.0)
        z2 = a1 @ w["W2"] + w["b2"]
        shifted = z2 - z2.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        value = -log_p[rows, y].mean()
        dz2 = np.exp(log_p)
        dz2[rows, y] -= 1.0
        dz2 /= len(y)
        dW2, db2 = a1.T @ dz2, dz2.sum(axis=0)
        dz1 = (dz2 @ w["W2"].T) * (z1 > 0)
        dW1, db1 = x.T @ dz1, dz1.sum(axis=0)
        for name, grad in (("W1", dW1), ("b1", db1), ("W2", dW2), ("b2", db2)):
            w[name] -= lr * grad
        return float(value)

    return step, lambda: w


def torch_step(weights, x, y, lr, threads):
    """The same step in PyTorch (float64, CPU), or None when PyTorch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    d, h = weights["W1"].shape
    model = torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU(), torch.nn.Linear(h, weights["W2"].shape[1]))
    model = model.double()
    with torch.no_grad():  # torch keeps W as (out, in): the transpose of ours
        for layer, i in ((model[0], 1), (model[2], 2)):
            layer.weight.copy_(torch.from_numpy(weights[f"W{i}"].T.copy()))
            layer.bias.copy_(torch.from_numpy(weights[f"b{i}"]))
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        optimizer.zero_grad(set_to_none=True)
        value = torch.nn.functional.cross_entropy(model(tx), ty)
        value.backward()
        optimizer.step()
        return float(value.detach())

    def current():
        return {"W1": model[0].weight.detach().numpy().T, "b1": model[0].bias.detach().numpy(),
                "W2": model[2].weight.detach().numpy().T, "b2": model[2].bias.detach().numpy()}

    return step, current


# -- timing --------------------------------------------------------------------------

def agree(steps_and_weights, count=3):
    """Run ``count`` steps of each; the largest difference of any weight from the first's."""
    import numpy as np

    for step, _ in steps_and_weights.values():
        for _ in range(count):
            step()
    reference = None
    worst = 0.0
    for _, current in steps_and_weights.values():
        w = current()
        reference = reference or {k: v.copy() for k, v in w.items()}
        worst = max(worst, max(float(np.max(np.abs(w[k] - reference[k]))) for k in reference))
    return worst


def measure(steps, warmup, rounds, per_round):
    """{name: [seconds per step of each round]}, rounds alternating between the implementations."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(per_round):
                step()
            times[name].append((time.perf_counter() - start) / per_round)
    return times


def main(argv=None):
    args = parse(argv)
    pin(args.threads, args.steady_malloc)
    import numpy as np

    lr = 0.05
    weights, x, y = problem(args.sizes, args.batch)
    impls = {"library": library_step(weights, x, y, lr), "numpy": numpy_step(weights, x, y, lr)}
    torch_impl = None if args.no_torch else torch_step(weights, x, y, lr, args.threads)
    if torch_impl is not None:
        impls["pytorch"] = torch_impl
    difference = agree(impls)
    times = measure({name: step for name, (step, _) in impls.items()}, args.warmup, args.rounds, args.steps)
    median = {name: statistics.median(t) for name, t in times.items()}
    best = {name: min(t) for name, t in times.items()}

    d, h, c = args.sizes
    print(f"machine: {machine()}, load average {os.getloadavg()[0]:.1f}")
    print(f"numpy {np.__version__}", end="")
    if torch_impl is not None:
        import torch

        print(f", torch {torch.__version__} ({torch.get_num_threads()} threads)", end="")
    print(f"; threads: {args.threads} ({', '.join(f'{v}={os.environ.get(v)}' for v in THREAD_VARIABLES)})")
    print("malloc: " + (" ".join(f"{k}={v}" for k, v in STEADY_MALLOC.items()) if args.steady_malloc
                        else "the system's defaults"))
    print(f"MLP {d}-{h}-{c}, batch {args.batch}, float64: forward + backward + SGD step; "
          f"median (best) of {args.rounds} rounds of {args.steps} steps")
    print(f"the same step: largest weight difference after 3 steps {difference:.1e}")
    for name in impls:
        print(f"{name + ':':9} {1e3 * median[name]:8.3f} ms per step  (best {1e3 * best[name]:.3f} ms)")
    def ratio(other):
        return f"{median['library'] / median[other]:.2f}x  (best {best['library'] / best[other]:.2f}x)"

    print(f"library / numpy:   {ratio('numpy')}  the cost of modularity")
    if torch_impl is not None:
        print(f"library / pytorch: {ratio('pytorch')}")
    elif args.no_torch:
        print("library / pytorch: skipped (--no-torch)")
    else:
        print("library / pytorch: skipped, PyTorch is not installed "
              "(.venv/bin/pip install torch==2.13.0 to compare)")


if __name__ == "__main__":
    main()
