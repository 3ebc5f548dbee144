"""Wrong and right student implementations of the layer and loss classes (notebooks 04 to 07).

Each class is written as a student would write it: a plain class following
the Module convention (``Cls(d_in, d_out)`` for Linear, ``Cls()`` otherwise;
``params``/``grads`` dicts; ``forward`` caches, ``backward`` returns dL/d(input)
and overwrites ``grads``), not a subclass of the library's reference.

- ``WRONG_BACKWARD[kind]``: {mistake: class} whose forward is right and whose
  backward is wrong (or that breaks a property: mutates an input, accumulates);
  ``check_layer`` (``check_loss`` for losses) must reject each.
- ``WRONG_FORWARD[kind]``: {mistake: class} whose forward value is wrong;
  ``check_layer_forward`` (``check_loss`` for losses) must reject each.
- ``RIGHT[kind]``: {alternative: class} that every check must accept.

kind is one of "linear", "sigmoid", "tanh", "relu", "softmax", "mse",
"softmax_cross_entropy", the ``kind`` parameter of the checks.
"""

import numpy as np



def _by_hand(f, x, dout, h=1e-5):
    """dout^T J of f at x by central differences, written out as a student would (no library call)."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = h * max(1.0, abs(x[i]))
        plus, minus = x.copy(), x.copy()
        plus[i] += step
        minus[i] -= step
        grad[i] = np.sum(dout * (f(plus) - f(minus))) / (plus[i] - minus[i])
    return grad


# -- Linear -------------------------------------------------------------------------------

class Linear:
    """The textbook answer: out = x W + b; dx = dout W^T, dW = x^T dout, db = sum_rows dout."""

    def __init__(self, d_in, d_out):
        rng = np.random.default_rng(0)
        self.params = {"W": rng.normal(0, 1 / np.sqrt(d_in), (d_in, d_out)), "b": np.zeros(d_out)}
        self.grads = {"W": np.zeros((d_in, d_out)), "b": np.zeros(d_out)}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"][...] = self.x.T @ dout
        self.grads["b"][...] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class LinearRebindsGrads(Linear):
    # right numbers, but new arrays: an optimizer built before never sees them
    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class LinearLoops(Linear):
    def backward(self, dout):
        x, W = self.x, self.params["W"]
        n, d = x.shape
        m = W.shape[1]
        dx, dW, db = np.zeros((n, d)), np.zeros((d, m)), np.zeros(m)
        for i in range(n):
            for j in range(m):
                db[j] += dout[i, j]
                for k in range(d):
                    dW[k, j] += x[i, k] * dout[i, j]
                    dx[i, k] += dout[i, j] * W[k, j]
        self.grads["W"][...], self.grads["b"][...] = dW, db
        return dx


class LinearEinsum(Linear):
    def backward(self, dout):
        self.grads["W"][...] = np.einsum("nd,nm->dm", self.x, dout)
        self.grads["b"][...] = np.einsum("nm->m", dout)
        return np.einsum("nm,dm->nd", dout, self.params["W"])


class LinearTransposedBack(Linear):
    def backward(self, dout):
        self.grads["W"][:] = (dout.T @ self.x).T
        self.grads["b"][:] = np.ones(len(dout)) @ dout
        return (self.params["W"] @ dout.T).T


class LinearCopies(Linear):
    def forward(self, x):
        self.x = x.copy()
        W, b = self.params["W"], self.params["b"]
        return np.dot(x, W) + b[None, :]

    def backward(self, dout):
        np.copyto(self.grads["W"], np.dot(self.x.T, dout))
        np.copyto(self.grads["b"], np.sum(dout, axis=0, keepdims=True).reshape(-1))
        return np.dot(dout, self.params["W"].T)


class LinearDzNoTranspose(LinearRebindsGrads):
    def backward(self, dout):
        super().backward(dout)
        return dout @ self.params["W"]


class LinearDwTransposed(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = dout.T @ self.x
        return dx


class LinearDwMean(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.x.T @ dout / len(dout)
        return dx


class LinearDbMean(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.mean(axis=0)
        return dx


class LinearDbWrongAxis(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout.sum(axis=1)
        return dx


class LinearDbNotSummed(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout
        return dx


class LinearDbFirstRow(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["b"] = dout[0]
        return dx


class LinearSign(LinearRebindsGrads):
    def backward(self, dout):
        super().backward(dout)
        return -dout @ self.params["W"].T


class LinearFactorTwo(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = 2 * self.x.T @ dout
        return dx


class LinearIgnoresDout(Linear):
    def backward(self, dout):
        ones = np.ones_like(dout)
        self.grads["W"] = self.x.T @ ones
        self.grads["b"] = ones.sum(axis=0)
        return ones @ self.params["W"].T


class LinearAccumulates(Linear):
    def backward(self, dout):
        self.grads["W"] += self.x.T @ dout
        self.grads["b"] += dout.sum(axis=0)
        return dout @ self.params["W"].T


class LinearCachesOutput(Linear):
    def forward(self, x):
        self.x = x @ self.params["W"] + self.params["b"]
        return self.x


class LinearUpdatesWeights(LinearRebindsGrads):
    # takes a gradient step inside backward: dz then uses (and the check sees) a changed W
    def backward(self, dout):
        dx = super().backward(dout)
        self.params["W"] -= 0.1 * self.grads["W"]
        return dx


class LinearFloat32(LinearRebindsGrads):
    def backward(self, dout):
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"].astype(np.float32)
        return dx


class LinearNoBias(Linear):
    def forward(self, x):
        self.x = x
        return x @ self.params["W"]


class LinearTransposedParams:
    """Keeps W as (d_out, d_in): the convention says (d_in, d_out)."""

    def __init__(self, d_in, d_out):
        self.params = {"W": np.zeros((d_out, d_in)), "b": np.zeros(d_out)}
        self.grads = {"W": np.zeros((d_out, d_in)), "b": np.zeros(d_out)}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"].T + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = dout.T @ self.x
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"]


class LinearAttributes:
    """Keeps W and b as attributes, not in self.params."""

    def __init__(self, d_in, d_out):
        self.W, self.b = np.zeros((d_in, d_out)), np.zeros(d_out)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW, self.db = self.x.T @ dout, dout.sum(axis=0)
        return dout @ self.W.T


class LinearNumerical(Linear):
    # finite differences of its own forward instead of the chain rule
    def backward(self, dout):
        x, W, b = self.x, self.params["W"], self.params["b"]
        self.grads["W"] = _by_hand(lambda w: x @ w + b, W, dout)
        self.grads["b"] = _by_hand(lambda c: x @ W + c, b, dout)
        return _by_hand(lambda z: z @ W + b, x, dout)


# -- Sigmoid ------------------------------------------------------------------------------

def _sigmoid(z):
    """The sigmoid without overflow: the forward check also runs it at z = -800 and 800."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z):
        self.s = _sigmoid(z)
        return self.s

    def backward(self, dout):
        return dout * self.s * (1 - self.s)


class SigmoidFromInput(Sigmoid):
    def forward(self, z):
        self.z = z
        return _sigmoid(z)

    def backward(self, dout):
        s = 1 / (1 + np.exp(-self.z))
        return dout * s * (1 - s)


class SigmoidTanhForm(Sigmoid):
    def forward(self, z):
        self.s = 0.5 * (1 + np.tanh(0.5 * z))
        return self.s

    def backward(self, dout):
        return dout * (self.s - self.s**2)


class SigmoidExpForm(SigmoidFromInput):
    def backward(self, dout):
        e = np.exp(-self.z)
        return dout * e / (1 + e) ** 2


class SigmoidPrimeIsSigma(Sigmoid):
    def backward(self, dout):
        return dout * self.s


class SigmoidFormulaOnInput(SigmoidFromInput):
    def backward(self, dout):
        return dout * self.z * (1 - self.z)


class SigmoidIgnoresDout(Sigmoid):
    def backward(self, dout):
        return self.s * (1 - self.s)


class SigmoidTwice(Sigmoid):
    def backward(self, dout):
        s = 1 / (1 + np.exp(-self.s))
        return dout * s * (1 - s)


class SigmoidSign(Sigmoid):
    def backward(self, dout):
        return dout * self.s * (self.s - 1)


class SigmoidOnePlus(Sigmoid):
    def backward(self, dout):
        return dout * self.s * (1 + self.s)


class SigmoidOneMinusOnly(Sigmoid):
    def backward(self, dout):
        return dout * (1 - self.s)


class SigmoidInPlaceCache(Sigmoid):
    # saves memory by reusing the cache: the second backward sees s(1 - s), not s
    def backward(self, dout):
        s = self.s
        s *= 1 - s
        return dout * s


class SigmoidInPlaceForward(Sigmoid):
    # computes in the input's memory: the caller's z is overwritten
    def forward(self, z):
        z[...] = _sigmoid(z)
        self.s = z.copy()
        return self.s


class SigmoidNumerical(SigmoidFromInput):
    def backward(self, dout):
        return _by_hand(lambda z: 1 / (1 + np.exp(-z)), self.z, dout)


# -- Tanh ---------------------------------------------------------------------------------

class Tanh:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z):
        self.t = np.tanh(z)
        return self.t

    def backward(self, dout):
        return dout * (1 - self.t**2)


class TanhCosh(Tanh):
    def forward(self, z):
        self.z = z
        return np.tanh(z)

    def backward(self, dout):
        return dout / np.cosh(self.z) ** 2


class TanhExpForm(Tanh):
    def forward(self, z):
        e = np.exp(-2 * z)
        self.t = (1 - e) / (1 + e)
        return self.t

    def backward(self, dout):
        return dout * (1 - self.t * self.t)


class TanhNotSquared(Tanh):
    def backward(self, dout):
        return dout * (1 - self.t)


class TanhFormulaOnInput(TanhCosh):
    def backward(self, dout):
        return dout * (1 - self.z**2)


class TanhIgnoresDout(Tanh):
    def backward(self, dout):
        return 1 - self.t**2


class TanhPrimeIsTanh(Tanh):
    def backward(self, dout):
        return dout * self.t


class TanhSign(Tanh):
    def backward(self, dout):
        return dout * (self.t**2 - 1)


class TanhPlus(Tanh):
    def backward(self, dout):
        return dout * (1 + self.t**2)


class TanhSquaredWrong(Tanh):
    def backward(self, dout):
        return dout * (1 - self.t) ** 2


class TanhFactorTwo(Tanh):
    def backward(self, dout):
        return 2 * dout * (1 - self.t**2)


class TanhInPlaceCache(Tanh):
    def backward(self, dout):
        t = self.t
        t **= 2
        return dout * (1 - t)


# -- ReLU ---------------------------------------------------------------------------------

class ReLU:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z):
        self.z = z
        return np.maximum(z, 0)

    def backward(self, dout):
        return dout * (self.z > 0)


class ReLUOutputMask(ReLU):
    def forward(self, z):
        self.out = np.maximum(0, z)
        return self.out

    def backward(self, dout):
        return np.where(self.out > 0, dout, 0.0)


class ReLUCopyAndZero(ReLU):
    def backward(self, dout):
        dz = dout.copy()
        dz[self.z <= 0] = 0
        return dz


class ReLUGreaterEqual(ReLU):
    # z >= 0 instead of z > 0: equivalent away from z = 0, where the checks never go
    def backward(self, dout):
        return dout * (self.z >= 0)


class ReLUPassesEverything(ReLUOutputMask):
    def backward(self, dout):
        return dout * (self.out >= 0)


class ReLUInvertedMask(ReLU):
    def backward(self, dout):
        return dout * (self.z < 0)


class ReLUTimesOutput(ReLU):
    def backward(self, dout):
        return dout * np.maximum(self.z, 0)


class ReLUIgnoresDout(ReLU):
    def backward(self, dout):
        return (self.z > 0).astype(float)


class ReLUMaskOnDout(ReLU):
    def backward(self, dout):
        return np.maximum(dout, 0)


class ReLUSign(ReLU):
    def backward(self, dout):
        return -dout * (self.z > 0)


class ReLUInPlaceDout(ReLU):
    # zeroes dout in place: the caller's upstream gradient is changed
    def backward(self, dout):
        dout[self.z <= 0] = 0
        return dout


class ReLUInPlaceForward(ReLU):
    # right gradient, but forward zeroes the caller's z
    def forward(self, z):
        z[z < 0] = 0
        self.z = z
        return z


class ReLUIntMask(ReLU):
    def backward(self, dout):
        return (dout * (self.z > 0)).astype(int)


# -- Softmax ------------------------------------------------------------------------------

class Softmax:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p = e / e.sum(axis=1, keepdims=True)
        return self.p

    def backward(self, dout):
        p = self.p
        return p * (dout - (dout * p).sum(axis=1, keepdims=True))


class SoftmaxJacobianLoop(Softmax):
    def backward(self, dout):
        dz = np.zeros_like(dout)
        for n, p in enumerate(self.p):
            J = np.diag(p) - np.outer(p, p)
            dz[n] = J.T @ dout[n]
        return dz


class SoftmaxEinsum(Softmax):
    def forward(self, z):
        e = np.exp(z)  # naive form: fine for moderate logits
        self.p = e / e.sum(axis=1)[:, None]
        return self.p

    def backward(self, dout):
        p = self.p
        J = np.einsum("ni,ij->nij", p, np.eye(p.shape[1])) - np.einsum("ni,nj->nij", p, p)
        return np.einsum("nij,nj->ni", J, dout)


class SoftmaxDiagonalOnly(Softmax):
    def backward(self, dout):
        return dout * self.p * (1 - self.p)


class SoftmaxMissingP(Softmax):
    def backward(self, dout):
        return dout - (dout * self.p).sum(axis=1, keepdims=True)


class SoftmaxWrongAxis(Softmax):
    def backward(self, dout):
        p = self.p
        return p * (dout - (dout * p).sum(axis=0, keepdims=True))


class SoftmaxPassesDout(Softmax):
    def backward(self, dout):
        return dout


class SoftmaxIgnoresDout(Softmax):
    def backward(self, dout):
        p = self.p
        ones = np.ones_like(p)
        return p * (ones - (ones * p).sum(axis=1, keepdims=True))


class SoftmaxSign(Softmax):
    def backward(self, dout):
        p = self.p
        return p * ((dout * p).sum(axis=1, keepdims=True) - dout)


class SoftmaxPOutsideSum(Softmax):
    def backward(self, dout):
        p = self.p
        return p * dout - p * dout.sum(axis=1, keepdims=True)


class SoftmaxSecondTermNoP(Softmax):
    def backward(self, dout):
        p = self.p
        return dout * p - (dout * p).sum(axis=1, keepdims=True)


class SoftmaxJacobianRowOuter(Softmax):
    # builds J = diag(p) - p p^T, then multiplies from the wrong side with a transposed dout block
    def backward(self, dout):
        dz = np.zeros_like(dout)
        for n, p in enumerate(self.p):
            J = np.diag(p) - np.outer(p, p)
            dz[n] = J @ np.ones_like(p) * dout[n]
        return dz


# -- losses -------------------------------------------------------------------------------

class MSE:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z, y):
        self.z, self.y = z, y
        return np.mean((z - y) ** 2)

    def backward(self, dout=1.0):
        return dout * 2 * (self.z - self.y) / self.z.size


class MSELoops(MSE):
    def forward(self, z, y):
        self.z, self.y = z, y
        total = 0.0
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                total += (z[i, j] - y[i, j]) ** 2
        return total / z.size

    def backward(self, dout=1.0):
        n, m = self.z.shape
        return 2.0 / (n * m) * (self.z - self.y) * dout


class MSEResidual(MSE):
    def forward(self, z, y):
        self.r = z - y
        return float((self.r**2).sum() / self.r.size)

    def backward(self, dout=1.0):
        return (2 * dout / self.r.size) * self.r


class MSEFacure(MSE):
    def backward(self, dout=1.0):
        return self.z - self.y


class MSEFacureTimesDout(MSE):
    def backward(self, dout=1.0):
        return dout * (self.z - self.y)


class MSEDroppedTwo(MSE):
    def backward(self, dout=1.0):
        return dout * (self.z - self.y) / self.z.size


class MSEIgnoresDout(MSE):
    def backward(self, dout=1.0):
        return 2 * (self.z - self.y) / self.z.size


class MSEMeanOverRows(MSE):
    def backward(self, dout=1.0):
        return dout * 2 * (self.z - self.y) / len(self.z)


class MSESum(MSE):
    def backward(self, dout=1.0):
        return dout * 2 * (self.z - self.y)


class MSESign(MSE):
    def backward(self, dout=1.0):
        return dout * 2 * (self.y - self.z) / self.z.size


class MSEPrecedence(MSE):
    def backward(self, dout=1.0):
        n, m = self.z.shape
        return dout * 2 * (self.z - self.y) / n * m


class MSENumerical(MSE):
    def backward(self, dout=1.0):
        y = self.y
        return _by_hand(lambda z: np.mean((z - y) ** 2), self.z, dout)


class MSEForwardSum(MSE):
    def forward(self, z, y):
        self.z, self.y = z, y
        return np.sum((z - y) ** 2)


class MSEForwardRoot(MSE):
    def forward(self, z, y):
        self.z, self.y = z, y
        return np.sqrt(np.mean((z - y) ** 2))


class MSEForwardNoSquare(MSE):
    def forward(self, z, y):
        self.z, self.y = z, y
        return np.mean(z - y)


class MSEForwardMeanRows(MSE):
    def forward(self, z, y):
        self.z, self.y = z, y
        return np.sum((z - y) ** 2) / len(z)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z, y):
        self.p, self.y = _softmax(z), y
        return -np.mean(np.log(self.p[np.arange(len(y)), y]))

    def backward(self, dout=1.0):
        dz = self.p.copy()
        dz[np.arange(len(self.y)), self.y] -= 1
        return dout * dz / len(self.y)


class CrossEntropyOneHot(SoftmaxCrossEntropy):
    def forward(self, z, y):
        n, c = z.shape
        self.onehot = np.eye(c)[y]
        log_p = z - z.max(axis=1, keepdims=True)
        log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        self.p = np.exp(log_p)
        return -(self.onehot * log_p).sum() / n

    def backward(self, dout=1.0):
        return dout * (self.p - self.onehot) / len(self.p)


class CrossEntropyLoop(SoftmaxCrossEntropy):
    def forward(self, z, y):
        self.z, self.y = z, y
        total = 0.0
        for row, label in zip(z, y):
            e = np.exp(row)  # naive form: fine for moderate logits
            total -= np.log(e[label] / e.sum())
        return total / len(y)

    def backward(self, dout=1.0):
        dz = np.zeros_like(self.z)
        for n, (row, label) in enumerate(zip(self.z, self.y)):
            e = np.exp(row)
            dz[n] = e / e.sum()
            dz[n, label] -= 1
        return dz * (dout / len(self.y))


class CrossEntropyPOnly(SoftmaxCrossEntropy):
    def backward(self, dout=1.0):
        return dout * self.p / len(self.y)


class CrossEntropyNoMean(SoftmaxCrossEntropy):
    def backward(self, dout=1.0):
        dz = self.p.copy()
        dz[np.arange(len(self.y)), self.y] -= 1
        return dout * dz


class CrossEntropySign(SoftmaxCrossEntropy):
    def backward(self, dout=1.0):
        dz = -self.p.copy()
        dz[np.arange(len(self.y)), self.y] += 1
        return dout * dz / len(self.y)


class CrossEntropyIgnoresDout(SoftmaxCrossEntropy):
    def backward(self, dout=1.0):
        dz = self.p.copy()
        dz[np.arange(len(self.y)), self.y] -= 1
        return dz / len(self.y)


class CrossEntropyLogits(SoftmaxCrossEntropy):
    def forward(self, z, y):
        self.z = z
        return super().forward(z, y)

    def backward(self, dout=1.0):
        dz = self.z.copy()
        dz[np.arange(len(self.y)), self.y] -= 1
        return dout * dz / len(self.y)


class CrossEntropyOneHotOnly(SoftmaxCrossEntropy):
    def backward(self, dout=1.0):
        dz = np.zeros_like(self.p)
        dz[np.arange(len(self.y)), self.y] = -1
        return dout * dz / len(self.y)


class CrossEntropyInPlaceCache(SoftmaxCrossEntropy):
    # subtracts 1 from the cached p itself: a second backward subtracts it again
    def backward(self, dout=1.0):
        self.p[np.arange(len(self.y)), self.y] -= 1
        return dout * self.p / len(self.y)


class CrossEntropyDiagonalSoftmax(SoftmaxCrossEntropy):
    # chains -1/p_r through the diagonal of softmax's Jacobian only
    def backward(self, dout=1.0):
        n = len(self.y)
        dz = np.zeros_like(self.p)
        rows = np.arange(n)
        pr = self.p[rows, self.y]
        dz[rows, self.y] = -1 / pr * pr * (1 - pr)
        return dout * dz / n


class CrossEntropyForwardLog10(SoftmaxCrossEntropy):
    def forward(self, z, y):
        super().forward(z, y)
        return -np.mean(np.log10(self.p[np.arange(len(y)), y]))


class CrossEntropyForwardNoMinus(SoftmaxCrossEntropy):
    def forward(self, z, y):
        super().forward(z, y)
        return np.mean(np.log(self.p[np.arange(len(y)), y]))


class CrossEntropyForwardSum(SoftmaxCrossEntropy):
    def forward(self, z, y):
        super().forward(z, y)
        return -np.sum(np.log(self.p[np.arange(len(y)), y]))


class CrossEntropyForwardAllClasses(SoftmaxCrossEntropy):
    def forward(self, z, y):
        super().forward(z, y)
        return -np.mean(np.log(self.p))


# -- the catalogue --------------------------------------------------------------------------

WRONG_BACKWARD = {
    "linear": {
        "dz = dout W (no transpose)": LinearDzNoTranspose,
        "dW = dout^T x (transposed)": LinearDwTransposed,
        "dW divided by N": LinearDwMean,
        "db is a mean": LinearDbMean,
        "db summed over the wrong axis": LinearDbWrongAxis,
        "db not summed": LinearDbNotSummed,
        "db is the first row": LinearDbFirstRow,
        "dz sign flipped": LinearSign,
        "dW times 2": LinearFactorTwo,
        "ignores dout": LinearIgnoresDout,
        "grads accumulate (+=)": LinearAccumulates,
        "forward caches the output": LinearCachesOutput,
        "updates W inside backward": LinearUpdatesWeights,
        "dW in float32": LinearFloat32,
        "W stored as (d_out, d_in)": LinearTransposedParams,
        "no params dict": LinearAttributes,
        "finite differences": LinearNumerical,
        "rebinds self.grads": LinearRebindsGrads,
    },
    "sigmoid": {
        "sigma' = sigma": SigmoidPrimeIsSigma,
        "s(1 - s) on the input": SigmoidFormulaOnInput,
        "ignores dout": SigmoidIgnoresDout,
        "sigmoid applied twice": SigmoidTwice,
        "sign flipped": SigmoidSign,
        "s(1 + s)": SigmoidOnePlus,
        "1 - s only": SigmoidOneMinusOnly,
        "changes its cache in backward": SigmoidInPlaceCache,
        "overwrites the input in forward": SigmoidInPlaceForward,
        "finite differences": SigmoidNumerical,
    },
    "tanh": {
        "1 - tanh": TanhNotSquared,
        "1 - z^2 on the input": TanhFormulaOnInput,
        "ignores dout": TanhIgnoresDout,
        "tanh' = tanh": TanhPrimeIsTanh,
        "sign flipped": TanhSign,
        "1 + tanh^2": TanhPlus,
        "(1 - tanh)^2": TanhSquaredWrong,
        "factor two": TanhFactorTwo,
        "changes its cache in backward": TanhInPlaceCache,
    },
    "relu": {
        "mask out >= 0 (passes everything)": ReLUPassesEverything,
        "inverted mask": ReLUInvertedMask,
        "dout * relu(z)": ReLUTimesOutput,
        "ignores dout": ReLUIgnoresDout,
        "max(dout, 0)": ReLUMaskOnDout,
        "sign flipped": ReLUSign,
        "zeroes dout in place": ReLUInPlaceDout,
        "zeroes z in place in forward": ReLUInPlaceForward,
        "integer result": ReLUIntMask,
    },
    "softmax": {
        "diagonal of the Jacobian only": SoftmaxDiagonalOnly,
        "factor p missing": SoftmaxMissingP,
        "sum over the wrong axis": SoftmaxWrongAxis,
        "passes dout": SoftmaxPassesDout,
        "ignores dout": SoftmaxIgnoresDout,
        "sign flipped": SoftmaxSign,
        "p outside the sum": SoftmaxPOutsideSum,
        "second term without p": SoftmaxSecondTermNoP,
        "J times ones": SoftmaxJacobianRowOuter,
    },
    "mse": {
        "Facure's z - y": MSEFacure,
        "dout * (z - y)": MSEFacureTimesDout,
        "dropped the 2": MSEDroppedTwo,
        "ignores dout": MSEIgnoresDout,
        "divided by N only": MSEMeanOverRows,
        "sum instead of mean": MSESum,
        "sign flipped": MSESign,
        "/ n * m precedence": MSEPrecedence,
        "finite differences": MSENumerical,
    },
    "softmax_cross_entropy": {
        "p instead of p - onehot": CrossEntropyPOnly,
        "missing 1/N": CrossEntropyNoMean,
        "sign flipped": CrossEntropySign,
        "ignores dout": CrossEntropyIgnoresDout,
        "z - onehot (logits)": CrossEntropyLogits,
        "onehot only": CrossEntropyOneHotOnly,
        "changes its cache in backward": CrossEntropyInPlaceCache,
        "diagonal softmax Jacobian": CrossEntropyDiagonalSoftmax,
    },
}

WRONG_FORWARD = {
    "linear": {"no bias": LinearNoBias, "W stored as (d_out, d_in)": LinearTransposedParams,
               "no params dict": LinearAttributes},
    "sigmoid": {"overwrites the input": SigmoidInPlaceForward},
    "relu": {"zeroes z in place": ReLUInPlaceForward},
    "mse": {"sum": MSEForwardSum, "root": MSEForwardRoot, "no square": MSEForwardNoSquare,
            "divided by N only": MSEForwardMeanRows},
    "softmax_cross_entropy": {"log10": CrossEntropyForwardLog10, "no minus": CrossEntropyForwardNoMinus,
                              "sum": CrossEntropyForwardSum, "all classes": CrossEntropyForwardAllClasses},
}

RIGHT = {
    "linear": {"textbook": Linear, "loops": LinearLoops, "einsum": LinearEinsum,
               "transposed back": LinearTransposedBack, "copies and np.dot": LinearCopies},
    "sigmoid": {"from the output": Sigmoid, "from the input": SigmoidFromInput,
                "tanh form": SigmoidTanhForm, "exp form": SigmoidExpForm},
    "tanh": {"from the output": Tanh, "1 / cosh^2": TanhCosh, "exp form": TanhExpForm},
    "relu": {"input mask": ReLU, "output mask": ReLUOutputMask, "copy and zero": ReLUCopyAndZero,
             "z >= 0 (equivalent away from 0)": ReLUGreaterEqual},
    "softmax": {"vectorised": Softmax, "Jacobian loop": SoftmaxJacobianLoop, "einsum, naive exp": SoftmaxEinsum},
    "mse": {"mean": MSE, "loops": MSELoops, "residual": MSEResidual},
    "softmax_cross_entropy": {"fused": SoftmaxCrossEntropy, "one-hot, log-softmax": CrossEntropyOneHot,
                              "loops, naive exp": CrossEntropyLoop},
}
