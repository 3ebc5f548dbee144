"""Training a network: full-batch, stochastic and mini-batch gradient descent.

One step on a batch S of samples (LeCun, NYU Deep Learning, week 2):

    forward the batch, cost L(S, w) = (1/|S|) sum over p in S of L(x[p], y[p], w),
    backward from dL/dL = 1, then  w <- w - lr * dL(S, w)/dw  for every parameter.

- full batch: S is the whole training set, one step per epoch;
- stochastic (SGD): S is one sample, N steps per epoch;
- mini-batch: S holds ``batch_size`` samples, ceil(N / batch_size) steps per epoch.

An epoch is one pass over every training sample (Jorge, 2021). The samples are
shuffled at the start of every epoch with a generator seeded by ``seed``, so
the same call always trains the same network.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from backproplab.layers import SGD, SoftmaxCrossEntropy, accuracy
from backproplab.messages import text
from backproplab.progress import Epochs


def batches(n, batch_size, rng):
    """Index arrays of one epoch: a permutation of range(n) cut into pieces of batch_size.

    batch_size None (or >= n) gives one batch of every index, in order (full batch);
    the last batch is smaller when batch_size does not divide n.
    """
    n = int(n)
    if batch_size is None or batch_size >= n:
        return [np.arange(n)]
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError(text("training.bad_batch_size", got=batch_size))
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def cost(model, loss, X, y):
    """The loss module's value on the whole set (X, y): the mean of the per-sample losses."""
    return loss.forward(model.forward(X), y)


def flat_parameters(model):
    """Every parameter of ``model``, flattened and concatenated into one new (P,) array."""
    params = [param for param, _ in model.parameters()]
    return np.concatenate([p.ravel() for p in params]) if params else np.zeros(0)


@dataclass
class History:
    """What train recorded.

    epoch (E + 1,): 0, 1, ..., E; the row for epoch 0 is the untrained network.
    cost, accuracy (E + 1,): on the training set after each epoch.
    test_cost, test_accuracy (E + 1,): on the test set, when one was given.
    evaluations (E + 1,): per-sample gradients computed so far (N per epoch).
    step_loss (S,): the batch cost of every step, before its update.
    params (S + 1, P): the flattened parameters before the first and after every
    step, when train was called with trace=True.
    seconds: wall time of the training, evaluation included.
    """

    epoch: list = field(default_factory=list)
    cost: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    test_cost: list = field(default_factory=list)
    test_accuracy: list = field(default_factory=list)
    evaluations: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    params: list = field(default_factory=list)
    seconds: float = 0.0

    def arrays(self):
        """The same history with every list turned into a float64 array."""
        return History(**{k: (np.asarray(v, dtype=np.float64) if isinstance(v, list) else v)
                          for k, v in self.__dict__.items()})


def train(model, loss, X, y, *, lr, epochs, batch_size=None, seed=0, X_test=None, y_test=None,
          trace=False, progress=True):
    """Train ``model`` in place with gradient descent on batches; return a :class:`History`.

    model: a module (e.g. Sequential) mapping X (N, D) to predictions;
    loss: a loss module, forward(prediction, target) -> mean over the batch;
    X: (N, D); y: (N,) class indices or (N, M) targets; lr: learning rate;
    epochs: passes over the data; batch_size: None for full batch, 1 for SGD,
    B for mini-batches of B samples; seed: the shuffling generator's seed;
    X_test, y_test: a held-out set evaluated after every epoch (never trained on);
    trace: record the parameters after every step; progress: show a progress
    bar (backproplab.progress, tqdm) with the cost and the accuracy.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or len(y) != len(X):
        raise ValueError(text("training.bad_data", x=X.shape, y=y.shape))
    epochs = int(epochs)
    if epochs < 0:
        raise ValueError(text("training.bad_epochs", got=epochs))
    rng = np.random.default_rng(seed)
    optimizer = SGD(model.parameters(), lr)
    classify = isinstance(loss, SoftmaxCrossEntropy)
    history, bar = History(), Epochs(epochs, desc=text("training.progress"), enabled=progress)
    start = time.perf_counter()

    def record(epoch):
        scores = model.forward(X)
        history.epoch.append(epoch)
        history.cost.append(loss.forward(scores, y))
        history.accuracy.append(accuracy(scores, y) if classify else np.nan)
        if X_test is not None:
            test_scores = model.forward(X_test)
            history.test_cost.append(loss.forward(test_scores, y_test))
            history.test_accuracy.append(accuracy(test_scores, y_test) if classify else np.nan)
        history.evaluations.append(epoch * len(X))
        shown = {text("training.progress_cost"): history.cost[-1]}
        if classify:
            shown[text("training.progress_accuracy")] = history.accuracy[-1]
        if history.test_accuracy and classify:
            shown[text("training.progress_test")] = history.test_accuracy[-1]
        bar.show(shown)

    record(0)
    if trace:
        history.params.append(flat_parameters(model))
    for epoch in bar:
        for index in batches(len(X), batch_size, rng):
            history.step_loss.append(loss.forward(model.forward(X[index]), y[index]))
            model.backward(loss.backward(1.0))
            optimizer.step()
            if trace:
                history.params.append(flat_parameters(model))
        record(epoch + 1)
    history.seconds = time.perf_counter() - start
    return history.arrays()


def blobs(seed=0, n=30, classes=3, spread=0.6):
    """A small classification problem: n points in 2-D around ``classes`` centres on a circle.

    Returns X (n, 2) and y (n,) int64, class k at angle 2 pi k / classes, radius 1.5,
    with N(0, spread^2) noise; n // classes points per class (the first n % classes
    classes get one more). Every row is distinct (continuous noise).
    """
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    angle = 2 * np.pi * y / classes
    centres = 1.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X = centres + rng.normal(0.0, spread, (n, 2))
    return X, y.astype(np.int64)


def mlp(sizes, activation, seed=0):
    """A multilayer perceptron: Linear layers of the given sizes with an activation between them.

    mlp([4, 4, 3, 3], Sigmoid) is Linear(4, 4), Sigmoid, Linear(4, 3), Sigmoid, Linear(3, 3),
    the Iris network of de Almeida's slides; the last layer has no activation (its
    outputs are logits for SoftmaxCrossEntropy). activation: a module class;
    seed: the generator the weights are drawn from.
    """
    from backproplab.layers import Linear, Sequential

    if len(sizes) < 2:
        raise ValueError(text("training.bad_sizes", got=list(sizes)))
    rng = np.random.default_rng(seed)
    layers = []
    for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if k:
            layers.append(activation())
        layers.append(Linear(d_in, d_out, rng))
    return Sequential(*layers)


def confusion_matrix(y_true, y_pred, classes):
    """(C, C) counts: entry [i, j] is how many samples of class i were predicted as j."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix
