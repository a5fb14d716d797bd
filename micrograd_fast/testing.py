"""Set-ups shared by the tests, the benchmark and tools/: micrograd's demo
(the moons, its model, its training step, written as its notebook writes
them) and micrograd's own nn.py over any Value class.

They live in the package, not beside the tests, so that the benchmark
measures an installed copy with them and no source tree on sys.path.
"""

import inspect
import random

from . import losses, nn
from .datasets import make_moons

SEED = 1337  # micrograd's demo seeds its weights so


def moons(n=100, seed=0):
    """micrograd demo's data: n points as lists of two floats, and labels in
    {-1, +1} as lists of ints (the demo's hinge loss takes these)."""
    X, y01 = make_moons(n, noise=0.1, seed=seed)
    return X.tolist(), (2 * y01 - 1).tolist()


def moons_model(nouts=(16, 16, 1)):
    """micrograd_fast.nn.MLP(2, nouts) with the demo's seeded weights, made by
    the live engine."""
    random.seed(SEED)
    return nn.MLP(2, list(nouts))


def demo_step(Value, model, X, y, k=0):
    """One step of micrograd's demo.ipynb, written as the notebook writes it
    (SVM max-margin loss, L2, SGD with a decaying rate); returns the loss."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses_ = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses_) * (1.0 / len(losses_))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return total_loss.data


def moons_loss(kernels, model, inputs, y):
    """The demo's loss on fused nodes (hinge, and L2 as one dot node); the
    kernels are an engine module's (its dot)."""
    params = model.parameters()
    return losses.hinge([model(row) for row in inputs], y) + 1e-4 * kernels.dot(params, params)


def micrograd_nn_over(Value):
    """micrograd's own nn.py (the installed micrograd 0.1.0) with only its
    Value swapped for this one: the drop-in promise. Returns its namespace
    (Module, Neuron, Layer, MLP)."""
    import micrograd.nn as upstream_nn

    source = inspect.getsource(upstream_nn).replace("from micrograd.engine import Value\n", "")
    namespace = {"Value": Value, "__name__": f"micrograd_nn_over_{Value.__module__}"}
    exec(compile(source, "micrograd/nn.py", "exec"), namespace)
    return namespace


def micrograd_model(Value, nouts=(16, 16, 1)):
    """micrograd's own MLP(2, nouts) over Value, with the demo's seed."""
    random.seed(SEED)
    return micrograd_nn_over(Value)["MLP"](2, list(nouts))
