"""micrograd's nn.py over the engines: the same API, the same weights for
the same seed, the same numbers; each neuron is one fused `dot` node instead
of 2n binary nodes. Parameters are made by the live engine; a model computes
with the engine its parameters belong to."""

import operator
import random
import weakref

from . import engine


class Module:

    # An MLP calls a plan made from its parts (engine.DensePlan). Rebinding
    # an attribute of any of those parts (a neuron's w or b, a layer's
    # neurons, the model's layers) drops the plan of each model it was made
    # for, and only theirs; the plan itself sees the lists' contents change.

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)
        _drop_plans_made_from(self)

    def __delattr__(self, name):
        object.__delattr__(self, name)
        _drop_plans_made_from(self)

    def __getstate__(self):  # pickle and copy: plans are remade on the next call
        state = dict(self.__dict__)
        state.pop("_plan", None)
        state.pop("_in_plans_of", None)
        return state

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

    def __call__(self, x):
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act = _engine_of(self).dot(self.w, x, self.b)  # == sum((wi*xi for ...), self.b), bit for bit
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

    def __call__(self, x):
        neurons = self.neurons
        if len(x) != len(neurons[0].w):
            raise ValueError(f"{neurons[0]!r} takes {len(neurons[0].w)} inputs, got {len(x)}")
        if _one_dense_call(neurons):  # the same nodes as calling each neuron, in one C call
            out = _engine_of(neurons[0]).dense([n.w for n in neurons], [n.b for n in neurons], x,
                                               neurons[0].nonlin)
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


def _engine_of(neuron):
    """The engine of a neuron's parameters (the live one for a number bias)."""
    return engine.engine_of(neuron.b) or engine


def _one_dense_call(neurons):
    """Whether neurons can be computed as one dense call: plain Neurons (none
    with its own __call__), all ReLU or all linear."""
    kinds = set(map(type, neurons))  # C-speed passes: a Layer call pays little for this
    return (all(kind.__call__ is Neuron.__call__ for kind in kinds)
            and len(set(map(_NONLIN, neurons))) == 1)


_NONLIN = operator.attrgetter("nonlin")


def _fits_one_plan(layers):
    """Whether calling layers in turn can be one DensePlan call: plain Layers
    of plain Neurons whose parameters are plain Values of one engine, each
    layer but the last with more than one output (with one, it passes a
    Value, not a list, to the next layer)."""
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
    kernels = engine.engine_of(layers[0].neurons[0].b)
    return kernels is not None and all(type(n.b) is kernels.Value and type(n.w) is list
                                       for layer in layers for n in layer.neurons)


def _drop_plans_made_from(part):
    for model in part.__dict__.get("_in_plans_of", ()):
        model.__dict__.pop("_plan", None)


_NO_PLAN_YET = object()


class MLP(Module):

    def __init__(self, nin, nouts):
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x):
        plan = self.__dict__.get("_plan", _NO_PLAN_YET)
        if plan is _NO_PLAN_YET:
            plan = self._make_plan()
        if plan is not None:
            out = plan(x)  # all the layers in one engine call
            if out is not None:
                return out
        for layer in self.layers:
            x = layer(x)
        return x

    def _make_plan(self):
        """A DensePlan of the model as it is now (None if it does not fit
        one), kept until an attribute of a part it was made from changes."""
        layers = self.layers
        plan = None
        if _fits_one_plan(layers):
            kernels = engine.engine_of(layers[0].neurons[0].b)
            plan = kernels.DensePlan([layers] + [layer.neurons for layer in layers],
                                     [[n.w for n in layer.neurons] for layer in layers],
                                     [[n.b for n in layer.neurons] for layer in layers],
                                     [layer.neurons[0].nonlin for layer in layers])
        self.__dict__["_plan"] = plan  # not an attribute change: nothing to drop
        parts = [self]
        if type(layers) is list:
            parts += [layer for layer in layers if isinstance(layer, Module)]
        for layer in parts[1:]:
            neurons = getattr(layer, "neurons", None)
            if type(neurons) is list:
                parts += [n for n in neurons if isinstance(n, Module)]
        for part in parts:
            part.__dict__.setdefault("_in_plans_of", weakref.WeakSet()).add(self)
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
