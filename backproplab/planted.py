"""A small network whose backward pass is wrong, to be repaired with a gradient check.

``BuggyNet`` is x -> Linear(D, H) -> tanh -> Linear(H, C), written as one
module: a1 = tanh(x W1 + b1), out = a1 W2 + b2. Its forward is right; its
backward has planted mistakes, for notebook 07's bug hunt. A gradient check
says which of dx, dW1, db1, dW2, db2 are wrong; reading the lines that make
them says why.
"""

import numpy as np

from backproplab.layers import Module, _as_batch, _like


class BuggyNet(Module):
    """x (N, D) -> a1 = tanh(x W1 + b1) (N, H) -> out = a1 W2 + b2 (N, C).

    Parameters W1 (D, H), b1 (H,), W2 (H, C), b2 (C,); W1 and W2 start as
    N(0, 1/fan-in), the biases as zeros; ``rng`` is a numpy Generator or a seed.
    """

    def __init__(self, d_in, d_hidden, d_out, rng=None):
        super().__init__()
        rng = np.random.default_rng(rng)
        d_in, d_hidden, d_out = int(d_in), int(d_hidden), int(d_out)
        self.params = {
            "W1": rng.normal(0.0, 1.0 / np.sqrt(d_in), (d_in, d_hidden)),
            "b1": np.zeros(d_hidden),
            "W2": rng.normal(0.0, 1.0 / np.sqrt(d_hidden), (d_hidden, d_out)),
            "b2": np.zeros(d_out),
        }
        self.grads = {name: np.zeros_like(value) for name, value in self.params.items()}

    def forward(self, x):
        x = _as_batch(x, "BuggyNet.forward(x)", self.params["W1"].shape[0])
        z1 = x @ self.params["W1"] + self.params["b1"]
        a1 = np.tanh(z1)
        self.cache = (x, z1, a1)
        return a1 @ self.params["W2"] + self.params["b2"]

    def backward(self, dout):
        x, z1, a1 = self._cached()
        dout = _like(dout, (x.shape[0], self.params["W2"].shape[1]), "BuggyNet.backward(dout)")
        self.grads["W2"][...] = z1.T @ dout
        self.grads["b2"][...] = dout.mean(axis=0)
        da1 = dout @ self.params["W2"].T
        dz1 = da1 * (1.0 - z1**2)
        self.grads["W1"][...] = x.T @ dz1
        self.grads["b1"][...] = dz1.sum(axis=0)
        return dz1 @ self.params["W1"].T
