"""Hidden-unit permutation symmetry: many weight settings compute the same function.

Swap two hidden units of a layer, that is two columns of its W and two
entries of its b, and swap the two matching rows of the next layer's W: the
next layer receives the same sum in another order, so the network's output
does not change. A layer of H hidden units gives H! weight settings of one
function, so two trainings that end at the "same" network can still end at
different weights.

The networks here are :class:`backproplab.layers.Sequential` models whose
Linear layers are separated by elementwise activations.
"""

import copy
import itertools

import numpy as np

from backproplab.layers import Linear
from backproplab.messages import text
from backproplab.training import flat_parameters


def linear_layers(model):
    """The Linear layers of a Sequential model, in order."""
    return [layer for layer in model.layers if isinstance(layer, Linear)]


def permute_units(model, k, perm):
    """A copy of ``model`` whose k-th Linear layer's outputs (hidden units) are reordered by perm.

    With W_k (D, H), b_k (H,) and the next Linear W_{k+1} (H, M):
    W_k <- W_k[:, perm], b_k <- b_k[perm], W_{k+1} <- W_{k+1}[perm, :].
    The output of the copy equals the output of ``model`` for every input.
    """
    out = copy.deepcopy(model)
    linears = linear_layers(out)
    if not 0 <= k < len(linears) - 1:
        raise ValueError(text("symmetry.bad_layer", k=k, hidden=len(linears) - 1))
    perm = np.asarray(perm)
    units = linears[k].params["b"].size
    if sorted(perm.tolist()) != list(range(units)):
        raise ValueError(text("symmetry.bad_perm", units=units, got=perm.tolist()))
    first, second = linears[k], linears[k + 1]
    first.params["W"][...] = first.params["W"][:, perm]
    first.params["b"][...] = first.params["b"][perm]
    second.params["W"][...] = second.params["W"][perm, :]
    return out


def distance(a, b):
    """Euclidean distance between all the parameters of two models of the same shape."""
    return float(np.linalg.norm(flat_parameters(a) - flat_parameters(b)))


def closest_permutation(a, b):
    """(distance, perms): the reordering of b's hidden units that brings b closest to a.

    Tries every permutation of every hidden layer (the product of H_k! cases, so
    only for small networks); perms[k] reorders the k-th hidden layer of b.
    """
    hidden = [layer.params["b"].size for layer in linear_layers(b)[:-1]]
    best = (np.inf, None)
    for perms in itertools.product(*(itertools.permutations(range(h)) for h in hidden)):
        candidate = b
        for k, perm in enumerate(perms):
            candidate = permute_units(candidate, k, perm)
        best = min(best, (distance(a, candidate), perms), key=lambda pair: pair[0])
    return best
