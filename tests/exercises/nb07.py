"""Notebook 07, capstone: wrong and right implementations of its exercises."""

import numpy as np

from backproplab.layers import SGD
from backproplab.planted import BuggyNet

from . import Exercise


# -- the training loop ----------------------------------------------------------------------

def _train(model, loss, X, y, lr, epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    optimizer = SGD(model.parameters(), lr)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            index = order[start:start + batch_size]
            loss.forward(model.forward(X[index]), y[index])
            model.backward(loss.backward())
            optimizer.step()
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_in_order(model, loss, X, y, lr, epochs, batch_size, seed):
    # no shuffling, manual update: any order that visits every sample once per epoch is right
    history = []
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            xb, yb = X[start:start + batch_size], y[start:start + batch_size]
            loss.forward(model(xb), yb)
            model.backward(loss.backward(1.0))
            for param, grad in model.parameters():
                param -= lr * grad
        history.append(loss.forward(model(X), y))
    return np.array(history)


def _train_global_seed(model, loss, X, y, lr, epochs, batch_size, seed):
    # the legacy global generator, seeded at the start: deterministic, so right
    np.random.seed(seed)
    history = []
    for _ in range(epochs):
        order = np.random.permutation(len(X))
        for batch in np.array_split(order, int(np.ceil(len(X) / batch_size))):
            loss.forward(model.forward(X[batch]), y[batch])
            model.backward(loss.backward())
            for param, grad in model.parameters():
                param[...] = param - lr * grad
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_shuffles_x_and_y_apart(model, loss, X, y, lr, epochs, batch_size, seed):
    # X and y each shuffled with its own permutation: the labels no longer belong to their rows
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        Xs, ys = X[rng.permutation(len(X))], y[rng.permutation(len(X))]
        for start in range(0, len(X), batch_size):
            loss.forward(model.forward(Xs[start:start + batch_size]), ys[start:start + batch_size])
            model.backward(loss.backward())
            for param, grad in model.parameters():
                param -= lr * grad
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_drops_last_batch(model, loss, X, y, lr, epochs, batch_size, seed):
    # len(X) // batch_size batches: the samples of the last, smaller batch are never trained on
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for k in range(len(X) // batch_size):
            index = order[k * batch_size:(k + 1) * batch_size]
            loss.forward(model.forward(X[index]), y[index])
            model.backward(loss.backward())
            for param, grad in model.parameters():
                param -= lr * grad
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_history_last_batch(model, loss, X, y, lr, epochs, batch_size, seed):
    # records the cost of the epoch's last batch instead of the cost on the whole set
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            index = order[start:start + batch_size]
            cost = loss.forward(model.forward(X[index]), y[index])
            model.backward(loss.backward())
            for param, grad in model.parameters():
                param -= lr * grad
        history.append(cost)
    return history


def _mutant(*, update="inplace", sign=1.0, before=False, scale_dout=None, first_batch_only=False,
            full_each_step=False, record="after", shuffle="seeded", lr_power=1, extra_epoch=False):
    def train(model, loss, X, y, lr, epochs, batch_size, seed):
        rng = np.random.default_rng(seed)
        step_lr = lr ** lr_power
        history = []
        for _ in range(epochs + (1 if extra_epoch else 0)):
            if record == "before":
                history.append(loss.forward(model.forward(X), y))
            order = rng.permutation(len(X)) if shuffle == "seeded" else np.random.permutation(len(X))
            batch_costs = []
            for start in range(0, len(X), batch_size):
                index = order[start:start + batch_size]
                if full_each_step:
                    index = order
                if before:
                    for param, grad in model.parameters():
                        param -= sign * step_lr * grad
                batch_costs.append(loss.forward(model.forward(X[index]), y[index]))
                dz = loss.backward(1.0 if scale_dout is None else scale_dout(len(index)))
                model.backward(dz)
                if not before:
                    for param, grad in model.parameters():
                        if update == "inplace":
                            param -= sign * step_lr * grad
                        else:
                            param = param - sign * step_lr * grad  # noqa: F841 - rebinds a name only
                if first_batch_only:
                    break
            if record == "after":
                history.append(loss.forward(model.forward(X), y))
            elif record == "batch_mean":
                history.append(np.mean(batch_costs))
        return history
    return train


TRAIN = Exercise(
    "07-capstone", "train_test", "train",
    wrong={
        "rebinds param, never updates": _mutant(update="rebind"),
        "ascent": _mutant(sign=-1.0),
        "updates before backward": _mutant(before=True),
        "sums instead of averaging the batch": _mutant(scale_dout=lambda b: float(b)),
        "one batch per epoch": _mutant(first_batch_only=True),
        "whole set at every step": _mutant(full_each_step=True),
        "history of batch costs": _mutant(record="batch_mean"),
        "history before each epoch": _mutant(record="before"),
        "unseeded shuffle": _mutant(shuffle="global"),
        "learning rate squared": _mutant(lr_power=2),
        "one epoch too many": _mutant(extra_epoch=True),
        "returns nothing": lambda model, loss, X, y, lr, epochs, batch_size, seed: None,
        "X and y shuffled apart": _train_shuffles_x_and_y_apart,
        "drops the last partial batch": _train_drops_last_batch,
        "history of the last batch's cost": _train_history_last_batch,
    },
    right={
        "seeded permutation, SGD optimizer": _train,
        "in order, manual update": _train_in_order,
        "global generator seeded, array_split": _train_global_seed,
    },
)


# -- the repaired network ----------------------------------------------------------------------

class _Fixed(BuggyNet):
    def backward(self, dout):
        x, z1, a1 = self.cache
        self.grads["W2"][...] = a1.T @ dout
        self.grads["b2"][...] = dout.sum(axis=0)
        dz1 = (dout @ self.params["W2"].T) * (1.0 - a1**2)
        self.grads["W1"][...] = x.T @ dz1
        self.grads["b1"][...] = dz1.sum(axis=0)
        return dz1 @ self.params["W1"].T


class _FixedTanhOfZ(BuggyNet):
    # recomputes tanh from z1 and uses einsum: the same numbers by another route
    def backward(self, dout):
        x, z1, _ = self.cache
        a1 = np.tanh(z1)
        self.grads["W2"] = np.einsum("nh,nc->hc", a1, dout)
        self.grads["b2"] = np.ones(len(dout)) @ dout
        dz1 = np.einsum("nc,hc->nh", dout, self.params["W2"]) / np.cosh(z1) ** 2
        self.grads["W1"] = np.einsum("nd,nh->dh", x, dz1)
        self.grads["b1"] = dz1.sum(axis=0)
        return dz1 @ self.params["W1"].T


def _partly_fixed(**changes):
    """A repair that leaves some planted mistakes (or makes new ones)."""

    class Partly(BuggyNet):
        def backward(self, dout):
            x, z1, a1 = self.cache
            W1, W2 = self.params["W1"], self.params["W2"]
            h2 = changes.get("h2", lambda z, a: a)(z1, a1)
            self.grads["W2"][...] = h2.T @ dout
            self.grads["b2"][...] = changes.get("db2", lambda d: d.sum(axis=0))(dout)
            slope = changes.get("slope", lambda z, a: 1.0 - a**2)(z1, a1)
            dz1 = (dout @ W2.T) * slope
            self.grads["W1"][...] = x.T @ dz1
            self.grads["b1"][...] = changes.get("db1", lambda d: d.sum(axis=0))(dz1)
            return dz1 @ W1.T if not changes.get("dx_from_da1") else (dout @ W2.T) @ W1.T

    return Partly


FIXED_NET = Exercise(
    "07-capstone", "fixed_net_test", "FixedNet",
    wrong={
        "unchanged": BuggyNet,
        "only db2 fixed": _partly_fixed(h2=lambda z, a: z, slope=lambda z, a: 1.0 - z**2),
        "tanh' still at z1": _partly_fixed(slope=lambda z, a: 1.0 - z**2),
        "dW2 still uses z1": _partly_fixed(h2=lambda z, a: z),
        "db2 still a mean": _partly_fixed(db2=lambda d: d.mean(axis=0)),
        "tanh' as 1 - a1": _partly_fixed(slope=lambda z, a: 1.0 - a),
        "tanh' as a1 (1 - a1)": _partly_fixed(slope=lambda z, a: a * (1.0 - a)),
        "db1 a mean": _partly_fixed(db1=lambda d: d.mean(axis=0)),
        "dx skips tanh'": _partly_fixed(dx_from_da1=True),
    },
    right={
        "repaired": _Fixed,
        "einsum, tanh recomputed": _FixedTanhOfZ,
    },
)


EXERCISES = [TRAIN, FIXED_NET]
