"""Checks of notebook 07: the student's stack, gradient check, training loop, digits and bug hunt.

``check_train(train, seed=0, ...)``: the student's
``train(model, loss, X, y, lr, epochs, batch_size, seed)`` trains a small
tanh network (library layers) on :func:`backproplab.training.blobs`. The
model it is given records every forward (the rows it saw, in order, and the
parameters at that moment) and every backward, so the check can judge each
step on its own:

- every epoch visits every sample exactly once, in batches of at most
  batch_size, ceil(N / batch_size) steps per epoch; ``batch_size=None``
  means full batch (one step per epoch on all N samples);
- with more than one batch per epoch, the samples are shuffled at every
  epoch by one generator made before the loop: an epoch in the stored
  order, or every epoch in one same order (a permutation drawn once, or a
  generator made anew each epoch from the seed), fails and is named, and so
  does a generator made anew each epoch from seed + epoch (a run with seed + 1
  then replays the later epochs of the run with seed);
- every step moves the parameters by -lr times the gradient of the batch's
  cost at the parameters of that step's forward (the library's backward is
  the reference: a stale, sign-flipped, rescaled or missing update fails);
- the returned history holds the training cost after each epoch;
- the final cost is at most ``target``, the number the exercise states;
- a second call with the same seed gives the same result.

``check_fixed_net(FixedNet, seed=0, n=4, d=5, h=6, m=3)``: the repaired
version of :class:`backproplab.planted.BuggyNet`, ``FixedNet(d_in, d_hidden,
d_out)``: its forward by value; dx, dW1, db1, dW2, db2 each against finite
differences of a reference forward, with a random upstream gradient; its
backward writes into the arrays of ``grads`` (an optimizer holds them), and
a short training run with an optimizer that holds ``parameters()`` lowers
the cost.

``check_network_gradients``, ``check_sequential_module``, ``check_digits`` and the
others of the notebook are in :mod:`autograder.checks.capstone`.
"""

import numpy as np

from backproplab import numeric
from backproplab.layers import Linear, Sequential, SoftmaxCrossEntropy, Tanh
from backproplab.messages import text
from backproplab.planted import BuggyNet
from backproplab.training import blobs, flat_parameters

from .. import evidence
from ..contract import Case, Check, Reject, register, reject_unless_array
from ..delegation import DELEGATED
from ..diagnose import compare, reject_if_numerical

EPS = np.finfo(np.float64).eps
CLASSES = 3


# -- the training loop ----------------------------------------------------------------

class _Recorder(Sequential):
    """A Sequential that logs what a training loop does with it.

    forwards: (x, flat parameters) of every forward; backward_after: for every
    forward, whether backward was called before the next forward.
    """

    def __init__(self, *layers):
        super().__init__(*layers)
        self.forwards = []
        self.backed = []
        self.labels = []

    def forward(self, z):
        self.forwards.append((np.array(z, dtype=np.float64), flat_parameters(self)))
        self.backed.append(False)
        self.labels.append(None)
        return super().forward(z)

    def backward(self, dout):
        if self.backed:
            self.backed[-1] = True
        return super().backward(dout)


class _LabelRecorder(SoftmaxCrossEntropy):
    """The loss, noting which labels came with the model's latest forward."""

    def __init__(self, model):
        super().__init__()
        self._model = model

    def forward(self, z, y):
        if self._model.labels:
            self._model.labels[-1] = np.array(y, copy=True)
        return super().forward(z, y)


def _network(hidden, seed):
    rng = np.random.default_rng(seed)
    return [Linear(2, hidden, rng), Tanh(), Linear(hidden, CLASSES, rng)]


def _load(layers, theta):
    """Write the flat parameters theta into the layers (in the order of parameters())."""
    start = 0
    for layer in layers:
        for param, _ in layer.parameters():
            param[...] = theta[start:start + param.size].reshape(param.shape)
            start += param.size
    return layers


def _cost_and_gradient(case, theta, rows):
    """The batch cost and its gradient (flat) at theta, with the library's layers."""
    net = Sequential(*_load(_network(case.data["hidden"], 0), theta))
    loss = SoftmaxCrossEntropy()
    value = loss.forward(net.forward(case.data["X"][rows]), case.data["y"][rows])
    net.backward(loss.backward(1.0))
    return value, np.concatenate([g.ravel() for _, g in net.parameters()])


def _reject_unless_shuffled(sequence, n, epochs):
    """Reject an epoch in the stored order, or every epoch in one same order (the rows visited, in order)."""
    if sequence.shape != (n * epochs,):
        return  # the coverage check has judged the steps already
    orders = sequence.reshape(epochs, n)
    stored = [e + 1 for e in range(epochs) if np.array_equal(orders[e], np.arange(n))]
    if stored:
        raise Reject(text("check.train_not_shuffled", epochs=len(stored), total=epochs))
    if epochs > 1 and all(np.array_equal(orders[e], orders[0]) for e in range(1, epochs)):
        raise Reject(text("check.train_same_order", epochs=epochs))


def _reject_if_generator_per_epoch(sequence, neighbour, n, epochs, seed):
    """Reject orders drawn by a generator made anew each epoch from seed + epoch: seed + 1 replays seed's epochs, shifted by one."""
    if epochs < 3 or sequence.shape != (n * epochs,) or neighbour.shape != (n * epochs,):
        return
    mine, next_seed = sequence.reshape(epochs, n), neighbour.reshape(epochs, n)
    if all(np.array_equal(mine[e + 1], next_seed[e]) for e in range(epochs - 1)):
        raise Reject(text("check.train_generator_per_epoch", seed=seed, next=seed + 1))


def _steps_per_epoch(n, batch_size):
    return -(-n // batch_size)


def _rows(x, index):
    """For each row of x, its index in the data (by exact value), or -1."""
    return [index.get(row.tobytes(), -1) for row in np.ascontiguousarray(x)]


class Train(Check):
    """train(model, loss, X, y, lr, epochs, batch_size, seed) trains in place and returns the cost after each epoch."""

    name = "train"
    what = "train(model, loss, X, y, lr, epochs, batch_size, seed)"
    defaults = {"seed": 0, "n": 30, "hidden": 6, "lr": 0.5, "epochs": 25, "batch_size": 8, "target": 0.3}

    def cases(self, params):
        X, y = blobs(params["seed"], params["n"], CLASSES)
        theta = flat_parameters(Sequential(*_network(params["hidden"], params["seed"] + 1)))
        label = text("check.case_train", n=params["n"], batch_size=params["batch_size"],
                     epochs=params["epochs"], lr=params["lr"])
        data = {k: params[k] for k in ("hidden", "lr", "epochs", "batch_size", "target")}
        data.update(X=X, y=y, theta=theta, seed=params["seed"])
        return [Case(label, data)]

    def resolve(self, params):
        params = super().resolve(params)
        size = params["batch_size"]
        if size is not None and not (isinstance(size, int) and not isinstance(size, bool) and size >= 1):
            raise TypeError(text("check.train_bad_batch_param", got=size))
        return params

    def _run(self, student, case, seed=None):
        d = case.data
        model = _Recorder(*_load(_network(d["hidden"], 0), d["theta"]))
        history = student(model, _LabelRecorder(model), d["X"].copy(), d["y"].copy(), d["lr"],
                          d["epochs"], d["batch_size"], d["seed"] if seed is None else seed)
        try:
            history = np.asarray(history, dtype=np.float64)
        except (TypeError, ValueError):
            pass
        index = {row.tobytes(): i for i, row in enumerate(np.ascontiguousarray(d["X"]))}
        n = len(d["X"])
        steps = [(x, theta, labels) for (x, theta), backed, labels
                 in zip(model.forwards, model.backed, model.labels) if backed]
        counts = np.zeros((len(steps), n + 1))
        sequence = []
        mislabelled = 0
        for s, (x, _, labels) in enumerate(steps):
            rows = _rows(x, index) if x.ndim == 2 and x.shape[1:] == (2,) else [-1]
            sequence += rows
            for i in rows:
                counts[s, i if i >= 0 else n] += 1
            if labels is not None and min(rows) >= 0:
                mislabelled += not (labels.shape == (len(rows),) and np.array_equal(labels, d["y"][rows]))
        size = d["theta"].size
        thetas = np.array([theta for _, theta, _ in steps]).reshape(len(steps), size) if steps else np.zeros((0, size))
        return history, thetas, counts, flat_parameters(model), mislabelled, np.array(sequence, dtype=np.float64)

    def call(self, student, case):
        first = self._run(student, case)
        second = self._run(student, case)
        # the next seed: its epochs must not replay this seed's later epochs
        neighbour = self._run(student, case, seed=case.data["seed"] + 1)
        return first[:5] + second[:1] + second[3:4] + first[5:] + neighbour[5:]

    def _judge_record(self, case, record, params):
        value = None
        try:
            value = evidence.decode(record)
        except evidence.MalformedEvidence:
            pass
        if (isinstance(value, evidence.Raised) and value.type != DELEGATED and case.data["batch_size"] is None):
            raise Reject(text("check.train_batch_none", type=value.type, message=value.message))
        return super()._judge_record(case, record, params)

    def judge(self, case, value, params):
        if not isinstance(value, tuple) or len(value) != 9:
            raise Reject(text("check.train_tuple", what=self.what, count=len(value) if isinstance(value, tuple) else 1))
        history, thetas, counts, final, mislabelled, history2, final2, sequence, neighbour = value
        d = case.data
        n, epochs, lr = len(d["X"]), d["epochs"], d["lr"]
        batch_size = n if d["batch_size"] is None else min(d["batch_size"], n)
        per_epoch = _steps_per_epoch(n, batch_size)
        final = reject_unless_array(final, d["theta"].shape, self.what)
        count = counts.shape[0] if isinstance(counts, np.ndarray) and counts.ndim == 2 else 0
        if count == 0:
            raise Reject(text("check.train_no_steps"))
        if count != epochs * per_epoch:
            raise Reject(text("check.train_step_count", expected=epochs * per_epoch, got=count,
                              per_epoch=per_epoch, epochs=epochs, batch_size=batch_size, n=n))
        if counts[:, n].any():
            raise Reject(text("check.train_foreign_rows"))
        sizes = counts[:, :n].sum(axis=1)
        if sizes.max() > batch_size:
            raise Reject(text("check.train_batch_too_large", got=int(sizes.max()), batch_size=batch_size))
        for e in range(epochs):
            seen = counts[e * per_epoch:(e + 1) * per_epoch, :n].sum(axis=0)
            if not np.all(seen == 1):
                raise Reject(text("check.train_epoch_coverage", epoch=e + 1, missing=int(np.sum(seen == 0)),
                                  repeated=int(np.sum(seen > 1))))
        if mislabelled:
            raise Reject(text("check.train_labels", count=int(mislabelled), steps=count))
        if per_epoch > 1:
            _reject_unless_shuffled(np.asarray(sequence), n, epochs)
            _reject_if_generator_per_epoch(np.asarray(sequence), np.asarray(neighbour), n, epochs, d["seed"])
        # every step: theta_next - theta = -lr * gradient of the batch cost at theta
        after = np.vstack([thetas[1:], final[None, :]])
        batches = [np.flatnonzero(c[:n]) for c in counts]
        results = [_cost_and_gradient(case, theta, rows) for theta, rows in zip(thetas, batches)]
        grads = np.array([g for _, g in results])
        # updating before backward: each forward already sees the previous step's update, so only
        # the last step's update is missing when the loop ends
        early = -lr * grads
        early[-1] = 0.0
        noise = EPS * (np.abs(thetas) + np.abs(after))
        compare(after - thetas, -lr * grads, noise, what=text("check.train_update", what=self.what),
                mistakes={"train_no_update": np.zeros_like(grads), "train_ascent": lr * grads,
                          "train_stale_gradient": early, "train_batch_sum": -lr * grads * sizes[:, None]},
                factors={"B": batch_size})
        # the history: the training cost after each epoch
        ends = [after[(e + 1) * per_epoch - 1] for e in range(epochs)]
        everything = np.arange(n)
        expected = np.array([_cost_and_gradient(case, theta, everything)[0] for theta in ends])
        starts = np.array([_cost_and_gradient(case, thetas[e * per_epoch], everything)[0] for e in range(epochs)])
        batch_means = np.array([np.mean([results[s][0] for s in range(e * per_epoch, (e + 1) * per_epoch)])
                                for e in range(epochs)])
        if isinstance(history, np.ndarray) and history.shape == (epochs + 1,):
            raise Reject(text("check.train_history_length", epochs=epochs, got=epochs + 1))
        history = reject_unless_array(history, (epochs,), text("check.train_history", what=self.what))
        compare(history, expected, EPS * np.abs(expected), what=text("check.train_history", what=self.what),
                mistakes={"train_history_batch_mean": batch_means, "train_history_before": starts,
                          "train_history_last_batch": np.array([results[(e + 1) * per_epoch - 1][0]
                                                                for e in range(epochs)])})
        final_cost = expected[-1]
        if final_cost > d["target"]:
            raise Reject(text("check.train_target", cost=final_cost, target=d["target"]))
        same = (isinstance(history2, np.ndarray) and history2.shape == history.shape
                and np.array_equal(history2, history) and isinstance(final2, np.ndarray)
                and np.array_equal(final2, final))
        if not same:
            raise Reject(text("check.train_not_deterministic", seed=d["seed"]))
        return 0.0


check_train = register(Train)


# -- the repaired network -------------------------------------------------------------

TENSORS = ("x", "W1", "b1", "W2", "b2")


def _reference_forward(x, W1, b1, W2, b2):
    """out = tanh(x W1 + b1) W2 + b2: the formula the repaired network must differentiate."""
    return np.tanh(x @ W1 + b1) @ W2 + b2


RUN_N, RUN_STEPS, RUN_LR = 24, 30, 0.5


class _ReferenceNet(BuggyNet):
    """The two-layer network with a correct backward (the reference of the training run)."""

    def backward(self, dout):
        x, _, a1 = self._cached()
        self.grads["W2"][...] = a1.T @ dout
        self.grads["b2"][...] = dout.sum(axis=0)
        dz1 = (dout @ self.params["W2"].T) * (1.0 - a1**2)
        self.grads["W1"][...] = x.T @ dz1
        self.grads["b1"][...] = dz1.sum(axis=0)
        return dz1 @ self.params["W1"].T


def _training_run(cls, data):
    """The training cost before and after each of RUN_STEPS full-batch steps of cls(D, H, C) on (X_run, y_run).

    The update holds the (param, grad) arrays taken once before training, as
    an optimizer does: a backward that rebinds grads[...] leaves them unchanged.
    """
    X, y = data["X_run"], data["y_run"]
    net = cls(X.shape[1], data["W1"].shape[1], data["W2"].shape[1])
    for name in TENSORS[1:]:
        net.params[name][...] = data[name]
    held = [(net.params[name], net.grads[name]) for name in TENSORS[1:]]
    loss = SoftmaxCrossEntropy()
    costs = []
    for _ in range(RUN_STEPS):
        costs.append(loss.forward(net.forward(X.copy()), y))
        net.backward(loss.backward(1.0))
        for param, grad in held:
            param -= RUN_LR * grad
    costs.append(loss.forward(net.forward(X.copy()), y))
    return np.array(costs, dtype=np.float64)


class FixedNet(Check):
    """FixedNet(d_in, d_hidden, d_out): forward and backward of x -> tanh(x W1 + b1) W2 + b2."""

    name = "fixed_net"
    what = "FixedNet"
    defaults = {"seed": 0, "n": 4, "d": 5, "h": 6, "m": 3}

    def cases(self, params):
        rng = np.random.default_rng(params["seed"])
        n, d, h, m = params["n"], params["d"], params["h"], params["m"]
        cases = []
        for k in range(2):
            data = {
                "x": np.clip(rng.normal(0.0, 1.0, (n, d)), -3, 3),
                "W1": rng.normal(0.0, 1.0 / np.sqrt(d), (d, h)),
                "b1": rng.normal(0.0, 0.5, h),
                "W2": rng.normal(0.0, 1.0 / np.sqrt(h), (h, m)),
                "b2": rng.normal(0.0, 0.5, m),
                "dout": rng.normal(0.0, 1.0, (n, m)),
                # a short training run: RUN_N points of m classes, from the same starting weights
                "X_run": np.clip(rng.normal(0.0, 1.0, (RUN_N, d)), -3, 3),
                "y_run": rng.permutation(np.arange(RUN_N) % m),
            }
            label = text("check.case_fixed_net", n=n, d=d, h=h, m=m, index=k)
            cases.append(Case(label, data))
        return cases

    def call(self, student, case):
        data = case.data
        x = data["x"]
        net = student(x.shape[1], data["W1"].shape[1], data["W2"].shape[1])
        for name in TENSORS[1:]:
            net.params[name][...] = data[name]
        held = {name: net.grads[name] for name in TENSORS[1:]}  # what an optimizer made before training holds
        out = net.forward(x.copy())
        dx = net.backward(data["dout"].copy())
        rebound = np.array([float(net.grads[name] is not held[name]) for name in TENSORS[1:]])
        grads = tuple(np.array(net.grads[name], copy=True) for name in TENSORS[1:])
        try:
            with np.errstate(all="ignore"):
                run = _training_run(student, data)
        except Exception:  # a backward that still diverges: its gradients are judged first, and named
            run = np.full(RUN_STEPS + 1, np.nan)
        return (out, dx) + grads + (rebound, run)

    def judge(self, case, value, params):
        if not isinstance(value, tuple) or len(value) != 8:
            raise Reject(text("check.train_tuple", what=self.what, count=len(value) if isinstance(value, tuple) else 1))
        data = case.data
        rebound = reject_unless_array(value[6], (len(TENSORS) - 1,), self.what)
        args = {name: data[name] for name in TENSORS}
        expected_out = _reference_forward(**args)
        out = reject_unless_array(value[0], expected_out.shape, self.what + ".forward(x)")
        worst = compare(out, expected_out, EPS * np.abs(expected_out) * 10, what=self.what + ".forward(x)")
        planted = BuggyNet(1, 1, 1)
        planted.params = {name: data[name].copy() for name in TENSORS[1:]}
        planted.grads = {name: np.zeros_like(data[name]) for name in TENSORS[1:]}
        planted.forward(data["x"].copy())
        planted_dx = planted.backward(data["dout"].copy())
        planted_grads = dict(planted.grads, x=planted_dx)
        reference = _ReferenceNet(1, 1, 1)
        reference.params = {name: data[name].copy() for name in TENSORS[1:]}
        reference.grads = {name: np.zeros_like(data[name]) for name in TENSORS[1:]}
        reference.forward(data["x"].copy())
        exact = dict(reference.grads, x=reference.backward(data["dout"].copy()))
        for name, got in zip(TENSORS, value[1:]):
            def f(t, name=name):
                return _reference_forward(**dict(args, **{name: t}))

            expected, noise = numeric.numerical_vjp(f, data[name], data["dout"], with_noise=True)
            label = "dx" if name == "x" else "grads['" + name + "']"
            what = f"{self.what}: {label}"
            got = reject_unless_array(got, data[name].shape, what)
            mistakes = {}
            if not np.allclose(planted_grads[name], expected, rtol=1e-6, atol=1e-9):
                mistakes["planted_" + name.lower()] = planted_grads[name]
            worst = max(worst, compare(got, expected, noise, what=what, mistakes=mistakes,
                                       factors={"N": data["x"].shape[0]}))
            reject_if_numerical(got, exact[name], noise, what=what)
        for name, flag in zip(TENSORS[1:], rebound):
            if flag:
                raise Reject(text("check.fixed_net_rebinds", name=name))
        costs = reject_unless_array(value[7], (RUN_STEPS + 1,), text("check.fixed_net_run", steps=RUN_STEPS))
        reference = _training_run(_ReferenceNet, data)
        if not costs[-1] <= costs[0] - 0.5 * (reference[0] - reference[-1]):
            raise Reject(text("check.fixed_net_no_descent", steps=RUN_STEPS, first=costs[0], last=costs[-1],
                              reference=reference[-1]))
        return worst


check_fixed_net = register(FixedNet)
