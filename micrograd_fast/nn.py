"""micrograd's nn.py over the live engine: the same API, the same weights for
the same seed, the same numbers; each neuron is one fused `dot` node instead
of 2n binary nodes."""

import random

from . import engine


class Module:

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0

    def parameters(self):
        return []

    def state_dict(self):
        """The parameters' data, nested like the model, as plain JSON-safe floats."""
        return {}

    def load_state_dict(self, state):
        """Assigns data saved by state_dict(); the structure must match."""


class Neuron(Module):

    def __init__(self, nin, nonlin=True):
        if not isinstance(nin, int) or isinstance(nin, bool) or nin < 1:
            raise ValueError(f"Neuron: nin must be a positive int, got {nin!r}")
        self.w = [engine.Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = engine.Value(0)
        self.nonlin = nonlin
        self._dot = engine.dot  # the engine that made the weights computes with them

    def __call__(self, x):
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act = self._dot(self.w, x, self.b)  # == sum((wi*xi for ...), self.b), bit for bit
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]

    def state_dict(self):
        return {"w": [p.data for p in self.w], "b": self.b.data}

    def load_state_dict(self, state):
        w, b = state["w"], state["b"]
        if len(w) != len(self.w):
            raise ValueError(f"{self!r}: state has {len(w)} weights, expected {len(self.w)}")
        data = [float(x) for x in w] + [float(b)]  # validate everything before assigning
        for p, x in zip(self.parameters(), data):
            p.data = x

    def __repr__(self):
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin, nout, **kwargs):
        if not isinstance(nout, int) or isinstance(nout, bool) or nout < 1:
            raise ValueError(f"Layer: nout must be a positive int, got {nout!r}")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]
        self._dense = engine.dense

    def __call__(self, x):
        # one C call for the whole layer: the same nodes as calling each neuron
        neurons = self.neurons
        if len(x) != len(neurons[0].w):
            raise ValueError(f"{neurons[0]!r} takes {len(neurons[0].w)} inputs, got {len(x)}")
        out = self._dense([n.w for n in neurons], [n.b for n in neurons], x, neurons[0].nonlin)
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def state_dict(self):
        return {"neurons": [n.state_dict() for n in self.neurons]}

    def load_state_dict(self, state):
        _load_each(self, self.neurons, state["neurons"], "neurons")

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):

    def __init__(self, nin, nouts):
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def state_dict(self):
        return {"layers": [layer.state_dict() for layer in self.layers]}

    def load_state_dict(self, state):
        _load_each(self, self.layers, state["layers"], "layers")

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def _load_each(owner, parts, states, what):
    if len(states) != len(parts):
        raise ValueError(f"{type(owner).__name__}: state has {len(states)} {what}, expected {len(parts)}")
    for part, state in zip(parts, states):
        part.load_state_dict(state)
