"""micrograd's nn.py over the live engine: the same API, the same weights for
the same seed, the same numbers; each neuron is one fused `dot` node instead
of 2n binary nodes."""

import operator
import random

from . import engine

try:
    from ._engine import DensePlan, Value as CompiledValue
except ImportError:  # pragma: no cover - the pure fallback
    DensePlan = CompiledValue = None

# Counts attribute assignments on every Module. An MLP keeps its DensePlan only
# while this is unchanged, so rebinding a neuron's w or b, a layer's neurons or
# a model's layers is never missed (DensePlan itself sees the lists' contents).
_edits = 0


class Module:

    def __setattr__(self, name, value):
        global _edits
        _edits += 1
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        global _edits
        _edits += 1
        object.__delattr__(self, name)

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
        neurons = self.neurons
        if len(x) != len(neurons[0].w):
            raise ValueError(f"{neurons[0]!r} takes {len(neurons[0].w)} inputs, got {len(x)}")
        if _one_dense_call(neurons):  # the same nodes as calling each neuron, in one C call
            out = self._dense([n.w for n in neurons], [n.b for n in neurons], x, neurons[0].nonlin)
        else:
            out = [n(x) for n in neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def state_dict(self):
        return {"neurons": [n.state_dict() for n in self.neurons]}

    def load_state_dict(self, state):
        _load_each(self, self.neurons, state["neurons"], "neurons")

    def __repr__(self):
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


def _one_dense_call(neurons):
    """Whether neurons can be computed as one dense call: plain Neurons (none
    with its own __call__), all ReLU or all linear."""
    kinds = set(map(type, neurons))  # C-speed passes: a Layer call pays little for this
    return (all(kind.__call__ is Neuron.__call__ for kind in kinds)
            and len(set(map(_NONLIN, neurons))) == 1)


_NONLIN = operator.attrgetter("nonlin")


def _one_plan(layers):
    """Whether calling layers in turn can be one DensePlan call: plain Layers
    of plain compiled Neurons, each layer but the last with more than one
    output (with one, it passes a Value, not a list, to the next layer)."""
    if type(layers) is not list or not layers:
        return False
    for i, layer in enumerate(layers):
        neurons = layer.neurons
        if type(layer).__call__ is not Layer.__call__ or type(neurons) is not list or not neurons:
            return False
        if len(neurons) == 1 and i < len(layers) - 1:
            return False
        if not _one_dense_call(neurons):
            return False
        if not all(type(n.b) is CompiledValue and type(n.w) is list for n in neurons):
            return False
    return True


class MLP(Module):

    _plan = (None, -1)  # a DensePlan or None, and the _edits count it was made at

    def __init__(self, nin, nouts):
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        plan, made_at = self._plan
        if made_at != _edits:
            plan = self._make_plan()
        if plan is not None:
            out = plan(x)  # all the layers in one C call
            if out is not None:
                return out
        for layer in self.layers:
            x = layer(x)
        return x

    def __getstate__(self):  # pickle and copy: the plan is remade on the next call
        state = dict(self.__dict__)
        state.pop("_plan", None)
        return state

    def _make_plan(self):
        plan = None
        layers = self.layers
        if DensePlan is not None and _one_plan(layers):
            plan = DensePlan([layers] + [layer.neurons for layer in layers],
                             [[n.w for n in layer.neurons] for layer in layers],
                             [[n.b for n in layer.neurons] for layer in layers],
                             [layer.neurons[0].nonlin for layer in layers])
        object.__setattr__(self, "_plan", (plan, _edits))  # not an edit: no _edits bump
        return plan

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
