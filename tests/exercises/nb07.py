"""Notebook 07, capstone: wrong and right implementations of its exercises.

The layer classes come from tests/layer_mutants.py (shared with notebooks 04
to 06); the right Linear classes here write their gradients into the arrays
of ``grads``, as notebook 07 asks.
"""

import numpy as np

import layer_mutants as M
from backproplab import datasets, numeric
from backproplab.planted import BuggyNet

from . import Exercise

ASSIGNMENT = "07-capstone"


def _named(mutants, words):
    """{name: (class, words)} for the mutants whose message words are listed."""
    return {name: (mutants[name], words[name]) for name in words}


# -- Linear ------------------------------------------------------------------------------------

class Linear(M.Linear):
    """The textbook answer, writing into the gradient arrays."""

    def backward(self, dout):
        self.grads["W"][...] = self.x.T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class LinearEinsumInPlace(M.Linear):
    def backward(self, dout):
        np.einsum("nd,nm->dm", self.x, dout, out=self.grads["W"])
        self.grads["b"][:] = np.ones(len(dout)) @ dout
        return np.einsum("nm,dm->nd", dout, self.params["W"])


class LinearLoopsInPlace(M.Linear):
    def backward(self, dout):
        W = self.params["W"]
        dx = np.zeros((dout.shape[0], W.shape[0]))
        self.grads["W"].fill(0.0)
        self.grads["b"].fill(0.0)
        for n in range(dout.shape[0]):
            self.grads["W"] += np.outer(self.x[n], dout[n])
            self.grads["b"] += dout[n]
            dx[n] = W @ dout[n]
        return dx


LINEAR_WORDS = {
    "dz = dout W (no transpose)": "mismatch",
    "dW = dout^T x (transposed)": "That is dout^T x",
    "dW divided by N": "1/N",
    "db is a mean": "1/N",
    "db summed over the wrong axis": "grads['b']",
    "db not summed": "grads['b']",
    "db is the first row": "grads['b']",
    "dz sign flipped": "sign",
    "dW times 2": "factor of two",
    "ignores dout": "dout",
    "grads accumulate (+=)": "calling backward twice",
    "dW in float32": "float32",
    "finite differences": "finite difference",
}
LINEAR_FORWARD_WORDS = {
    "no bias": "forward",
    "W stored as (d_out, d_in)": "W",
    "no params dict": "params",
}

LINEAR = Exercise(
    ASSIGNMENT, "linear_test", "Linear",
    wrong={**_named(M.WRONG_BACKWARD["linear"], LINEAR_WORDS),
           **{f"forward: {k}": v for k, v in _named(M.WRONG_FORWARD["linear"], LINEAR_FORWARD_WORDS).items()}},
    right={"textbook, in place": Linear, "einsum into the arrays": LinearEinsumInPlace,
           "loops, in place": LinearLoopsInPlace},
)


# -- Sigmoid, Tanh, ReLU -----------------------------------------------------------------------

def _activations(**classes):
    names = {"Sigmoid": M.Sigmoid, "Tanh": M.Tanh, "ReLU": M.ReLU}
    names.update(classes)
    return names


ACTIVATION_WORDS = {
    "sigmoid": {"sigma' = sigma": "backward", "s(1 - s) on the input": "input", "ignores dout": "dout",
                "sign flipped": "sign"},
    "tanh": {"1 - tanh": "backward", "1 - z^2 on the input": "input", "factor two": "factor of two",
             "changes its cache in backward": "calling backward twice"},
    "relu": {"inverted mask": "backward", "dout * relu(z)": "backward", "zeroes dout in place": "dout",
             "integer result": "int"},
}

ACTIVATIONS = Exercise(
    ASSIGNMENT, "activations_test", "Sigmoid, Tanh, ReLU",
    wrong={f"{kind}: {name}": (_activations(**{cls: M.WRONG_BACKWARD[kind][name]}), words)
           for kind, cls in (("sigmoid", "Sigmoid"), ("tanh", "Tanh"), ("relu", "ReLU"))
           for name, words in ACTIVATION_WORDS[kind].items()},
    right={
        "textbook": _activations(),
        "from the input, 1/cosh^2, output mask": _activations(
            Sigmoid=M.SigmoidFromInput, Tanh=M.TanhCosh, ReLU=M.ReLUOutputMask),
        "tanh form, exp form, copy and zero": _activations(
            Sigmoid=M.SigmoidTanhForm, Tanh=M.TanhExpForm, ReLU=M.ReLUCopyAndZero),
    },
    namespace=lambda classes: dict(classes),
)


# -- SoftmaxCrossEntropy -----------------------------------------------------------------------

SCE_WORDS = {
    "p instead of p - onehot": "dz",
    "missing 1/N": "1/N",
    "sign flipped": "sign",
    "ignores dout": "dout",
    "z - onehot (logits)": "dz",
    "onehot only": "dz",
    "changes its cache in backward": "calling backward twice",
    "diagonal softmax Jacobian": "dz",
}
SCE_FORWARD_WORDS = {"log10": "loss", "no minus": "loss", "sum": "loss", "all classes": "loss"}

SOFTMAX_CROSS_ENTROPY = Exercise(
    ASSIGNMENT, "softmax_cross_entropy_test", "SoftmaxCrossEntropy",
    wrong={**_named(M.WRONG_BACKWARD["softmax_cross_entropy"], SCE_WORDS),
           **{f"forward: {k}": v for k, v in
              _named(M.WRONG_FORWARD["softmax_cross_entropy"], SCE_FORWARD_WORDS).items()}},
    right=dict(M.RIGHT["softmax_cross_entropy"]),
)


# -- Sequential --------------------------------------------------------------------------------

def _sequential(forward="chain", backward="reverse", parameters="own"):
    class Sequential:
        def __init__(self, *layers):
            self.layers = list(layers)

        def forward(self, x):
            if forward == "first_only":
                return self.layers[0].forward(x)
            if forward == "same_input":
                out = x
                for layer in self.layers:
                    out = layer.forward(out)
                return x
            for layer in self.layers:
                x = layer.forward(x)
            return x

        def backward(self, dout):
            if backward == "forward_order":
                for layer in self.layers:
                    dout = layer.backward(dout)
                return dout
            if backward == "not_passed":
                for layer in reversed(self.layers):
                    delta = layer.backward(dout)
                return delta
            if backward == "returns_upstream":
                delta = dout
                for layer in reversed(self.layers):
                    delta = layer.backward(delta)
                return dout
            if backward == "skips_first":
                for layer in reversed(self.layers[1:]):
                    dout = layer.backward(dout)
                return dout
            if backward == "last_only":
                return self.layers[-1].backward(dout)
            for layer in reversed(self.layers):
                dout = layer.backward(dout)
            return dout

        def parameters(self):
            pairs = [pair for layer in self.layers for pair in layer.parameters()]
            if parameters == "copies":
                return [(p.copy(), g.copy()) for p, g in pairs]
            if parameters == "first_layer":
                return self.layers[0].parameters()
            if parameters == "params_only":
                return [p for p, _ in pairs]
            return pairs

    return Sequential


class SequentialRecursive:
    def __init__(self, *layers):
        self.layers = layers

    def forward(self, x):
        return self.layers[-1].forward(SequentialRecursive(*self.layers[:-1]).forward(x)) if self.layers else x

    def backward(self, dout):
        if not self.layers:
            return dout
        return SequentialRecursive(*self.layers[:-1]).backward(self.layers[-1].backward(dout))

    def parameters(self):
        return sum((layer.parameters() for layer in self.layers), [])


class SequentialIndexed:
    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for i in range(len(self.layers)):
            x = self.layers[i].forward(x)
        return x

    def backward(self, dout):
        for i in range(len(self.layers) - 1, -1, -1):
            dout = self.layers[i].backward(dout)
        return dout

    def parameters(self):
        pairs = []
        for layer in self.layers:
            pairs.extend(layer.parameters())
        return pairs


SEQUENTIAL = Exercise(
    ASSIGNMENT, "sequential_test", "Sequential",
    wrong={
        "forward stops after the first layer": (_sequential(forward="first_only"), "called before Linear.forward"),
        "forward returns its input": (_sequential(forward="same_input"), "Sequential.forward(x)"),
        "backward in forward order": (_sequential(backward="forward_order"), "reverse order"),
        "delta not passed on": (_sequential(backward="not_passed"), "the layer after it returned"),
        "returns the upstream gradient": (_sequential(backward="returns_upstream"), "Sequential.backward"),
        "skips the first layer": (_sequential(backward="skips_first"), "Sequential.backward"),
        "only the last layer": (_sequential(backward="last_only"), "expected shape"),
        "parameters() copies": (_sequential(parameters="copies"), "not copies"),
        "parameters() of the first layer only": (_sequential(parameters="first_layer"), "pairs"),
        "parameters() without grads": (_sequential(parameters="params_only"), "is not"),
    },
    right={"loops": _sequential(), "recursive": SequentialRecursive, "indexed": SequentialIndexed},
)


# -- numerical_gradients and gradient_errors ---------------------------------------------------

def _numerical(h=1e-5, *, one_sided=False, divide=2.0, restore=True, whole=False, on_copy=False,
               float32=False, backprop=False):
    def numerical_gradients(model, loss, X, y, h=h):
        if backprop:
            loss.forward(model.forward(X), y)
            model.backward(loss.backward(1.0))
            return [grad.copy() for _, grad in model.parameters()]
        result = []
        for param, _ in model.parameters():
            target = param.copy() if on_copy else param
            g = np.zeros_like(param, dtype=np.float32 if float32 else np.float64)
            if whole:
                saved = target.copy()
                target += h
                plus = loss.forward(model.forward(X), y)
                target[...] = saved - h
                minus = loss.forward(model.forward(X), y)
                target[...] = saved
                g[...] = (plus - minus) / (2 * h)
                result.append(g)
                continue
            for i in np.ndindex(param.shape):
                old = target[i]
                target[i] = old + h
                plus = loss.forward(model.forward(X), y)
                if one_sided:
                    target[i] = old
                    minus = loss.forward(model.forward(X), y)
                    g[i] = (plus - minus) / h
                    continue
                target[i] = old - h
                minus = loss.forward(model.forward(X), y)
                if restore:
                    target[i] = old
                g[i] = (plus - minus) / (divide * h)
            result.append(g)
        return result

    return numerical_gradients


def _errors(numerical_gradients, *, backward=True, how="max"):
    def gradient_errors(model, loss, X, y):
        if backward:
            loss.forward(model.forward(X), y)
            model.backward(loss.backward(1.0))
        grads = [grad.copy() for _, grad in model.parameters()]
        numerical = numerical_gradients(model, loss, X, y)
        if how == "self":
            return [float(numeric.error_score(n, n).max()) for n in numerical]
        scores = [numeric.error_score(g, n) for g, n in zip(grads, numerical)]
        if how == "absolute":
            return [float(np.max(np.abs(g - n))) for g, n in zip(grads, numerical)]
        if how == "arrays":
            return scores
        if how == "weights_only":
            return [float(s.max()) for s in scores[::2]]
        if how == "array":
            return np.array([float(s.max()) for s in scores])
        return [float(s.max()) for s in scores]

    return gradient_errors


def _pair(numerical=None, errors=None):
    n = numerical or _numerical()
    return {"numerical_gradients": n, "gradient_errors": errors or _errors(n)}


def _numerical_loop_flat(model, loss, X, y, h=1e-5):
    # walks a flat view of each parameter; the same numbers
    out = []
    for param, _ in model.parameters():
        flat = param.reshape(-1)
        g = np.empty(flat.size)
        for k in range(flat.size):
            saved = flat[k]
            flat[k] = saved + h
            up = loss.forward(model.forward(X), y)
            flat[k] = saved - h
            down = loss.forward(model.forward(X), y)
            flat[k] = saved
            g[k] = (up - down) / (2 * h)
        out.append(g.reshape(param.shape))
    return out


NETWORK_GRADIENTS = Exercise(
    ASSIGNMENT, "numerical_gradients_test", "numerical_gradients, gradient_errors",
    wrong={
        "one-sided difference": (_pair(_numerical(one_sided=True)), "one-sided"),
        "divided by h, not 2h": (_pair(_numerical(divide=1.0)), "factor of two"),
        "not restored": (_pair(_numerical(restore=False)), "put every entry back"),
        "whole array moved at once": (_pair(_numerical(whole=True)), "whole array"),
        "perturbs a copy": (_pair(_numerical(on_copy=True)), "never reached the model"),
        "float32 result": (_pair(_numerical(float32=True)), "float32"),
        "backprop, not finite differences": (_pair(_numerical(backprop=True)), "backpropagation's answer"),
        "step 1e-1": (_pair(_numerical(h=1e-1)), "does not match"),
        "errors: no backward first": (_pair(errors=_errors(_numerical(), backward=False)), "Run forward and backward"),
        "errors: numerical against itself": (_pair(errors=_errors(_numerical(), how="self")), "doubles the gradient"),
        "errors: largest absolute difference": (_pair(errors=_errors(_numerical(), how="absolute")),
                                                "doubles the gradient"),
        "errors: whole score arrays": (_pair(errors=_errors(_numerical(), how="arrays")), "a list of 4 numbers"),
        "errors: the weights only": (_pair(errors=_errors(_numerical(), how="weights_only")), "one error score per"),
    },
    right={"ndindex": _pair(), "flat view": _pair(_numerical_loop_flat), "step 1e-6": _pair(_numerical(h=1e-6)),
           "errors as an array": _pair(errors=_errors(_numerical(), how="array"))},
    namespace=dict,
)


# -- the training loop ----------------------------------------------------------------------

def _epoch(model, loss, X, y, lr, order, batch_size):
    """One pass over the mini-batches of `order`, one SGD step each."""
    for start in range(0, len(X), batch_size):
        index = order[start:start + batch_size]
        loss.forward(model.forward(X[index]), y[index])
        model.backward(loss.backward())
        for param, grad in model.parameters():
            param -= lr * grad


def _train(model, loss, X, y, lr, epochs, batch_size, seed):
    batch_size = batch_size or len(X)
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        _epoch(model, loss, X, y, lr, order, batch_size)
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_shuffled_copies(model, loss, X, y, lr, epochs, batch_size, seed):
    # shuffles copies of X and y with one permutation per epoch, then slices; manual update
    rng = np.random.default_rng(seed)
    if batch_size is None:
        batch_size = len(X)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        Xs, ys = X[order], y[order]
        for start in range(0, len(X), batch_size):
            loss.forward(model(Xs[start:start + batch_size]), ys[start:start + batch_size])
            model.backward(loss.backward(1.0))
            for param, grad in model.parameters():
                param[...] = param - lr * grad
        history.append(loss.forward(model(X), y))
    return np.array(history)


def _train_global_seed(model, loss, X, y, lr, epochs, batch_size, seed):
    # the legacy global generator, seeded once at the start: deterministic, so right
    np.random.seed(seed)
    n = len(X)
    batch_size = n if batch_size is None else batch_size
    history = []
    for _ in range(epochs):
        order = np.random.permutation(n)
        for batch in np.array_split(order, int(np.ceil(n / batch_size))):
            loss.forward(model.forward(X[batch]), y[batch])
            model.backward(loss.backward())
            for param, grad in model.parameters():
                param -= lr * grad
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_in_order(model, loss, X, y, lr, epochs, batch_size, seed):
    # never shuffles
    batch_size = batch_size or len(X)
    history = []
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            loss.forward(model(X[start:start + batch_size]), y[start:start + batch_size])
            model.backward(loss.backward(1.0))
            for param, grad in model.parameters():
                param -= lr * grad
        history.append(loss.forward(model(X), y))
    return history


def _train_generator_each_epoch(model, loss, X, y, lr, epochs, batch_size, seed):
    # a generator made anew each epoch from the seed: the same permutation every epoch
    batch_size = batch_size or len(X)
    history = []
    for _ in range(epochs):
        order = np.random.default_rng(seed).permutation(len(X))
        _epoch(model, loss, X, y, lr, order, batch_size)
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_generator_seed_plus_epoch(model, loss, X, y, lr, epochs, batch_size, seed):
    # a generator made anew each epoch from seed + epoch: shuffled, but seed + 1 replays seed's epochs
    batch_size = batch_size or len(X)
    history = []
    for epoch in range(epochs):
        order = np.random.default_rng(seed + epoch).permutation(len(X))
        _epoch(model, loss, X, y, lr, order, batch_size)
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_no_none(model, loss, X, y, lr, epochs, batch_size, seed):
    # right for an integer batch_size, but batch_size=None reaches range() as a step
    rng = np.random.default_rng(seed)
    history = []
    for _ in range(epochs):
        order = rng.permutation(len(X))
        _epoch(model, loss, X, y, lr, order, batch_size)
        history.append(loss.forward(model.forward(X), y))
    return history


def _train_shuffles_x_and_y_apart(model, loss, X, y, lr, epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    batch_size = batch_size or len(X)
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
    rng = np.random.default_rng(seed)
    batch_size = batch_size or len(X)
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
    batch_size = batch_size or len(X)
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
        batch_size = batch_size or len(X)
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
    ASSIGNMENT, "train_test", "train",
    wrong={
        "never shuffles": (_train_in_order, "stored order"),
        "generator made anew each epoch": (_train_generator_each_epoch, "same shuffled order"),
        "generator made each epoch from seed + epoch": (_train_generator_seed_plus_epoch, "seed + epoch"),
        "batch_size=None not handled": (_train_no_none, "batch_size=None asks for full batch"),
        "rebinds param, never updates": (_mutant(update="rebind"), "did not change"),
        "ascent": (_mutant(sign=-1.0), "ascent"),
        "updates before backward": (_mutant(before=True), "before backward"),
        "sums instead of averaging the batch": (_mutant(scale_dout=lambda b: float(b)), "summed over the batch"),
        "one batch per epoch": (_mutant(first_batch_only=True), "steps"),
        "whole set at every step": (_mutant(full_each_step=True), "batch_size"),
        "history of batch costs": (_mutant(record="batch_mean"), "mean of the batch costs"),
        "history before each epoch": (_mutant(record="before"), "start of each epoch"),
        "unseeded shuffle": (_mutant(shuffle="global"), "Two calls with seed"),
        "learning rate squared": (_mutant(lr_power=2), "parameter change"),
        "one epoch too many": (_mutant(extra_epoch=True), "steps"),
        "does nothing": (lambda model, loss, X, y, lr, epochs, batch_size, seed: None, "No training step"),
        "X and y shuffled apart": (_train_shuffles_x_and_y_apart, "labels"),
        "drops the last partial batch": (_train_drops_last_batch, "steps"),
        "history of the last batch's cost": (_train_history_last_batch, "last batch"),
    },
    right={
        "seeded permutation, slices": _train,
        "shuffled copies, manual update": _train_shuffled_copies,
        "global generator seeded once, array_split": _train_global_seed,
    },
)


# -- per-sample gradients and the variance of a batch mean --------------------------------------

def _per_sample(model, loss, X, y):
    rows = []
    for p in range(len(X)):
        loss.forward(model.forward(X[p:p + 1]), y[p:p + 1])
        model.backward(loss.backward(1.0))
        rows.append(np.concatenate([g.ravel() for _, g in model.parameters()]))
    return np.array(rows)


def _per_sample_preallocated(model, loss, X, y):
    P = sum(g.size for _, g in model.parameters())
    G = np.zeros((len(X), P))
    for p in range(len(X)):
        loss.forward(model.forward(X[[p]]), y[[p]])
        model.backward(loss.backward())
        start = 0
        for _, g in model.parameters():
            G[p, start:start + g.size] = g.ravel()
            start += g.size
    return G


def _per_sample_batch(model, loss, X, y):
    loss.forward(model.forward(X), y)
    model.backward(loss.backward())
    row = np.concatenate([g.ravel() for _, g in model.parameters()])
    return np.tile(row, (len(X), 1))


def _per_sample_aliased(model, loss, X, y):
    # rows that all view the same grad arrays: np.stack at the end sees the last backward only
    views = []
    for p in range(len(X)):
        loss.forward(model.forward(X[p:p + 1]), y[p:p + 1])
        model.backward(loss.backward())
        views.append([g for _, g in model.parameters()])
    return np.array([np.concatenate([g.ravel() for g in v]) for v in views])


def _per_sample_transposed(model, loss, X, y):
    return _per_sample(model, loss, X, y).T


def _per_sample_summed_loss(model, loss, X, y):
    return _per_sample(model, loss, X, y) * len(X)


def _variance(G, B, draws, rng):
    mean = G.mean(axis=0)
    batches = np.array([rng.permutation(len(G))[:B] for _ in range(draws)])
    return float(np.mean(np.sum((G[batches].mean(axis=1) - mean) ** 2, axis=1)))


def _variance_choice(G, B, draws, rng):
    mean = G.mean(axis=0)
    total = 0.0
    for _ in range(draws):
        batch = rng.permutation(len(G))[:B]
        total += np.sum((G[batch].mean(axis=0) - mean) ** 2)
    return total / draws


def _variance_wrong(how):
    def batch_variance(G, B, draws, rng):
        mean = G.mean(axis=0)
        if how == "replacement":
            batches = rng.integers(0, len(G), (draws, B))
        else:
            batches = np.array([rng.permutation(len(G))[:B] for _ in range(draws)])
        dev = G[batches].mean(axis=1) - mean
        if how == "per_coordinate":
            return float(np.mean(dev ** 2))
        if how == "std":
            return float(np.sqrt(np.mean(np.sum(dev ** 2, axis=1))))
        if how == "array":
            return np.sum(dev ** 2, axis=1)
        return float(np.mean(np.sum(dev ** 2, axis=1)))
    return batch_variance


def _pair_variance(per_sample=_per_sample, variance=_variance):
    return {"per_sample_gradients": per_sample, "batch_variance": variance}


PER_SAMPLE = Exercise(
    ASSIGNMENT, "per_sample_gradients_test", "per_sample_gradients, batch_variance",
    wrong={
        "every row the batch gradient": (_pair_variance(_per_sample_batch), "whole batch"),
        "rows aliased to the grad arrays": (_pair_variance(_per_sample_aliased), "last sample"),
        "(P, N) transposed": (_pair_variance(_per_sample_transposed), "transpose"),
        "times N": (_pair_variance(_per_sample_summed_loss), "per_sample_gradients"),
        "drawn with replacement": (_pair_variance(variance=_variance_wrong("replacement")), "with replacement"),
        "mean over coordinates": (_pair_variance(variance=_variance_wrong("per_coordinate")), "P coordinates"),
        "standard deviation": (_pair_variance(variance=_variance_wrong("std")), "standard deviation"),
        "an array of draws": (_pair_variance(variance=_variance_wrong("array")), "should return a single number"),
    },
    right={"stacked rows": _pair_variance(), "preallocated, a loop of draws": _pair_variance(
        _per_sample_preallocated, _variance_choice), "mixed": _pair_variance(_per_sample_preallocated)},
    namespace=dict,
)


# -- the digits ------------------------------------------------------------------------------------

_Xd_train, _Xd_test, _yd_train, _yd_test = datasets.digits_split()


def _fit(hidden=128, activation=None, lr=0.1, epochs=30, batch_size=32, costs="all", linear=None, loss=None):
    activation, linear = activation or _RELU, linear or _LINEAR

    def fit_digits(seed):
        rng = np.random.default_rng(seed)
        first, second = linear(64, hidden), linear(hidden, 10)
        for layer, fan_in in ((first, 64), (second, hidden)):
            layer.params["W"][...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), layer.params["W"].shape)
        model = _Stack(first, activation(), second)
        history = _train(model, (loss or _Loss)(), _Xd_train, _yd_train, lr, epochs, batch_size, seed)
        if costs == "drop_last":
            history = history[:-1]
        if costs == "none":
            return model
        return model, history
    return fit_digits


class _Stack(_sequential()):
    pass


class _Loss(M.SoftmaxCrossEntropy):
    pass


class _LogSoftmaxLoss(M.SoftmaxCrossEntropy):
    """The cost from log-softmax: finite however large the logits grow."""

    def forward(self, z, y):
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.p, self.y = np.exp(log_p), y
        return -np.mean(log_p[np.arange(len(y)), y])


def _with_parameters(cls):
    """cls under its own name, with the Module convention's parameters()."""
    def parameters(self):
        params = getattr(self, "params", {})
        return [(params[k], self.grads[k]) for k in params]
    return type(cls.__name__, (cls,), {"parameters": parameters})


_LINEAR, _RELU, _TANH = _with_parameters(Linear), _with_parameters(M.ReLU), _with_parameters(M.Tanh)


class Softplus:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z):
        self.z = z
        return np.logaddexp(0.0, z)

    def backward(self, dout):
        return dout / (1.0 + np.exp(-self.z))

    def parameters(self):
        return []


def _fit_forward_differs(seed):
    model, costs = _fit()(seed)
    original = model.forward

    def forward(x):  # scales the logits at evaluation only: the recorded weights say otherwise
        return 2.0 * original(x)

    model.forward = forward
    return model, costs


def _fit_only_layers(seed):
    model, costs = _fit()(seed)
    return model.layers, costs


DIGITS = Exercise(
    ASSIGNMENT, "digits_test", "fit_digits",
    wrong={
        "too few epochs, too small a rate": (_fit(hidden=16, lr=0.01, epochs=2), "still falling"),
        "learning rate far too large": (_fit(hidden=32, lr=8.0, epochs=4), "diverged"),
        "learning rate too large, cost finite": (_fit(hidden=32, lr=2.0, epochs=4, loss=_LogSoftmaxLoss),
                                                  "cost diverged"),
        "a tiny network": (_fit(hidden=2, epochs=4), "below the target"),
        "no learning": (_fit(hidden=32, lr=1e-6, epochs=2), "barely moved"),
        "returns the model only": (_fit(hidden=8, epochs=1, costs="none"), "(model, costs)"),
        "history without the last epoch": (_fit(hidden=8, epochs=2, costs="drop_last"), "last entry of your costs"),
        "a layer the grader does not know": (_fit(hidden=8, epochs=1, activation=Softplus), "does not know"),
        "forward disagrees with the weights": (_fit_forward_differs, "grader's forward"),
        "returns a list of layers": (_fit_only_layers, ".layers"),
    },
    right={
        "ReLU 128, lr 0.1, 30 epochs": _fit(),
        "tanh 96, lr 0.1, 30 epochs": _fit(hidden=96, activation=_TANH),
        "ReLU 64, batches of 16, 20 epochs": _fit(hidden=64, lr=0.05, epochs=20, batch_size=16),
    },
)


# -- accuracy and the confusion matrix -----------------------------------------------------------

def _accuracy(scores, y):
    return float(np.mean(np.argmax(scores, axis=1) == y))


def _accuracy_loop(scores, y):
    right = 0
    for row, label in zip(scores, y):
        right += int(np.argmax(row) == label)
    return right / len(y)


def _confusion(y_true, y_pred, classes):
    matrix = np.zeros((classes, classes), dtype=int)
    for t, p in zip(y_true, y_pred):
        matrix[t, p] += 1
    return matrix


def _confusion_add_at(y_true, y_pred, classes):
    matrix = np.zeros((classes, classes))
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def _confusion_bincount(y_true, y_pred, classes):
    return np.bincount(y_true * classes + y_pred, minlength=classes * classes).reshape(classes, classes)


def _accuracy_library(scores, y):
    from backproplab import training
    return training.accuracy(scores, y)


def _eval(accuracy=_accuracy, confusion=_confusion):
    return {"accuracy": accuracy, "confusion_matrix": confusion}


def _confusion_fancy(y_true, y_pred, classes):
    matrix = np.zeros((classes, classes), dtype=int)
    matrix[y_true, y_pred] += 1
    return matrix


def _confusion_max_label(y_true, y_pred, classes):
    c = int(max(y_true.max(), y_pred.max())) + 1
    return _confusion(y_true, y_pred, c)


EVALUATION = Exercise(
    ASSIGNMENT, "evaluation_test", "accuracy, confusion_matrix",
    wrong={
        "accuracy: a count": (_eval(accuracy=lambda s, y: float(np.sum(np.argmax(s, axis=1) == y))), "counts the right rows"),
        "accuracy: a percentage": (_eval(accuracy=lambda s, y: 100.0 * _accuracy(s, y)), "percentage"),
        "accuracy: the error rate": (_eval(accuracy=lambda s, y: 1.0 - _accuracy(s, y)), "error rate"),
        "accuracy: argmax over the wrong axis": (_eval(accuracy=lambda s, y: float(np.mean(np.argmax(s, axis=0)[:len(y)] == y))), "accuracy(scores, y)"),
        "accuracy: argmax over axis 0, compared": (_eval(accuracy=lambda s, y: float(np.mean(np.argmax(s, axis=0) == y))), "axis=1"),
        "accuracy: the library's, through training": (_eval(accuracy=_accuracy_library), "backproplab.training.accuracy"),
        "accuracy: an array": (_eval(accuracy=lambda s, y: np.argmax(s, axis=1) == y), "should return a single number"),
        "confusion: transposed": (_eval(confusion=lambda t, p, c: _confusion(t, p, c).T), "transpose"),
        "confusion: each pair once": (_eval(confusion=_confusion_fancy), "counts 1 at most"),
        "confusion: rows normalised": (_eval(confusion=lambda t, p, c: _confusion(t, p, c) / np.maximum(1, _confusion(t, p, c).sum(axis=1, keepdims=True))), "divided by their sums"),
        "confusion: size from the labels": (_eval(confusion=_confusion_max_label), "shape"),
    },
    right={"loops": _eval(), "add.at, loop accuracy": _eval(_accuracy_loop, _confusion_add_at),
           "bincount": _eval(confusion=_confusion_bincount)},
    namespace=dict,
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


class _FixedWhole:
    """The whole class written anew, as the notebook asks, with einsum and tanh recomputed."""

    def __init__(self, d_in, d_hidden, d_out, rng=None):
        rng = np.random.default_rng(rng)
        self.params = {"W1": rng.normal(0, 1 / np.sqrt(d_in), (d_in, d_hidden)), "b1": np.zeros(d_hidden),
                       "W2": rng.normal(0, 1 / np.sqrt(d_hidden), (d_hidden, d_out)), "b2": np.zeros(d_out)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def parameters(self):
        return [(self.params[k], self.grads[k]) for k in self.params]

    def forward(self, x):
        self.x = x
        self.z1 = x @ self.params["W1"] + self.params["b1"]
        return np.tanh(self.z1) @ self.params["W2"] + self.params["b2"]

    def backward(self, dout):
        a1 = np.tanh(self.z1)
        self.grads["W2"][...] = np.einsum("nh,nc->hc", a1, dout)
        self.grads["b2"][...] = np.ones(len(dout)) @ dout
        dz1 = np.einsum("nc,hc->nh", dout, self.params["W2"]) / np.cosh(self.z1) ** 2
        np.einsum("nd,nh->dh", self.x, dz1, out=self.grads["W1"])
        self.grads["b1"][:] = dz1.sum(axis=0)
        return dz1 @ self.params["W1"].T


class _FixedLoops(_Fixed):
    def backward(self, dout):
        x, _, a1 = self.cache
        W1, W2 = self.params["W1"], self.params["W2"]
        dz1 = (dout @ W2.T) * (1.0 - a1 * a1)
        for name, value in (("W2", a1.T @ dout), ("b2", dout.sum(0)), ("W1", x.T @ dz1), ("b1", dz1.sum(0))):
            np.copyto(self.grads[name], value)
        return dz1 @ W1.T


class _FixedRebinds(BuggyNet):
    # right numbers, but new arrays: an optimizer holding the old ones never sees them
    def backward(self, dout):
        x, z1, a1 = self.cache
        self.grads["W2"] = a1.T @ dout
        self.grads["b2"] = dout.sum(axis=0)
        dz1 = (dout @ self.params["W2"].T) * (1.0 - a1**2)
        self.grads["W1"] = x.T @ dz1
        self.grads["b1"] = dz1.sum(axis=0)
        return dz1 @ self.params["W1"].T


class _FixedByDifferences(BuggyNet):
    # central differences of the forward instead of the chain rule: right to 1e-10, not exact
    def backward(self, dout, h=1e-6):
        x = self.cache[0]

        def vjp(array):
            g = np.zeros_like(array)
            for i in np.ndindex(array.shape):
                old = array[i]
                array[i] = old + h
                plus = np.sum(self.forward(x) * dout)
                array[i] = old - h
                minus = np.sum(self.forward(x) * dout)
                array[i] = old
                g[i] = (plus - minus) / (2 * h)
            return g

        for name in ("W1", "b1", "W2", "b2"):
            self.grads[name][...] = vjp(self.params[name])
        xs = x.copy()
        dx = np.zeros_like(xs)
        for i in np.ndindex(xs.shape):
            old = xs[i]
            xs[i] = old + h
            plus = np.sum(self.forward(xs) * dout)
            xs[i] = old - h
            minus = np.sum(self.forward(xs) * dout)
            xs[i] = old
            dx[i] = (plus - minus) / (2 * h)
        self.forward(x)
        return dx


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
    ASSIGNMENT, "fixed_net_test", "FixedNet",
    wrong={
        "unchanged": (BuggyNet, "planted network's"),
        "only db2 fixed": (_partly_fixed(h2=lambda z, a: z, slope=lambda z, a: 1.0 - z**2), "planted network's"),
        "tanh' still at z1": (_partly_fixed(slope=lambda z, a: 1.0 - z**2), "tanh's slope"),
        "dW2 still uses z1": (_partly_fixed(h2=lambda z, a: z), "second layer actually multiplies"),
        "db2 still a mean": (_partly_fixed(db2=lambda d: d.mean(axis=0)), "bias added to every row"),
        "tanh' as 1 - a1": (_partly_fixed(slope=lambda z, a: 1.0 - a), "does not match"),
        "tanh' as a1 (1 - a1)": (_partly_fixed(slope=lambda z, a: a * (1.0 - a)), "does not match"),
        "db1 a mean": (_partly_fixed(db1=lambda d: d.mean(axis=0)), "1/N"),
        "dx skips tanh'": (_partly_fixed(dx_from_da1=True), "dx"),
        "rebinds grads": (_FixedRebinds, "rebinds self.grads"),
        "finite differences": (_FixedByDifferences, "finite difference"),
    },
    right={"repaired": _Fixed, "whole class, einsum, tanh recomputed": _FixedWhole, "copyto": _FixedLoops},
)


EXERCISES = [LINEAR, ACTIVATIONS, SOFTMAX_CROSS_ENTROPY, SEQUENTIAL, NETWORK_GRADIENTS, TRAIN, PER_SAMPLE,
             DIGITS, EVALUATION, FIXED_NET]
