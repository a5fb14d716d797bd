"""Linear layers and an MLP over Tensors, initialised exactly as the scalar
micrograd_fast.nn.MLP: the same seed gives the same weights."""

import random

import numpy as np

from .autograd import Tensor


class Linear:
    """x @ W + b, relu'd unless it is the last layer. Column j of W is neuron
    j's weights, drawn neuron by neuron as the scalar Layer draws them."""

    def __init__(self, nin, nout, nonlin=True):
        columns = [[random.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)]
        self.W = Tensor(np.array(columns).T.reshape(nin, nout))
        self.b = Tensor(np.zeros(nout))
        self.nonlin = nonlin

    def __call__(self, x):
        out = x @ self.W + self.b
        return out.relu() if self.nonlin else out

    def parameters(self):
        return [self.W, self.b]

    def __repr__(self):
        return f"Linear({self.W.shape[0]}, {self.W.shape[1]}, {'ReLU' if self.nonlin else 'linear'})"


class MLP:

    def __init__(self, nin, nouts):
        sizes = [nin] + list(nouts)
        self.layers = [Linear(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def __repr__(self):
        return f"MLP of [{', '.join(map(repr, self.layers))}]"
