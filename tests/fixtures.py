"""Set-ups the tests share: the programs the benchmark times (micrograd's
demo, micrograd's own nn.py over any Value, the microgpt-shaped GPT, the same
GPT in torch), which live in benchmarks/fixtures.py and are imported from
there, so that the tests check the very code the benchmark times; and the
tests' own (the demo on the tensor engine, microgpt's backward by hand).

Test files import this module by name (`import fixtures`): pytest puts
conftest.py's folder, this one, on sys.path. benchmarks/ stays off
sys.path (its modules' names, harness, memory, adapters, are too plain to
share a path with), so its fixtures are loaded from their file."""

import importlib.util
import os
import random
import sys

CHECKOUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)


def load_file(name, path):
    """The module in the file at path (relative to the checkout), imported
    under name: for benchmarks/ and examples/, which are not on sys.path."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(CHECKOUT, path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # imported once a run, and by name below
    spec.loader.exec_module(module)
    return module


load_file("benchmark_fixtures", "benchmarks/fixtures.py")
from benchmark_fixtures import (  # noqa: E402, F401 - re-exported for the tests
    NAMES, SEED, SlottedValue, TorchGPT, WrittenOutGPT, characters, demo_loss, demo_step, demo_update,
    gpt_weights, micrograd_model, moons, moons_loss, moons_model, tokenize,
)


def tensor_moons_model(nouts=(16, 16, 1)):
    """micrograd_fast.tensor's MLP(2, nouts) with the demo's seed: the same
    weights as moons_model's."""
    from micrograd_fast.tensor import nn as tensor_nn

    random.seed(SEED)
    return tensor_nn.MLP(2, list(nouts))


def tensor_demo_step(model, X, y, k=0):
    """demo_step on the tensor engine: X an (n, 2) and y an (n,) Tensor of
    the moons and their +-1 labels; returns the loss."""
    from micrograd_fast.tensor import Tensor

    scores = model(X).reshape((len(y.data),))
    data_loss = (1.0 - y * scores).relu().mean()
    total_loss = data_loss + 1e-4 * sum(((p * p).sum() for p in model.parameters()), Tensor(0.0))
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return total_loss.item()


def backward_by_local_grads(root, order):
    """microgpt's backward, written over _children and _local_grads: root's
    graph (its nodes in topological order) gets root.backward()'s gradients
    from a fresh start."""
    for v in order:
        v.grad = 0.0
    root.grad = 1.0
    for v in reversed(order):
        for child, local_grad in zip(v._children, v._local_grads):
            child.grad += local_grad * v.grad
