"""micrograd's nn.py over the engines: the same API, the same weights for
the same seed, the same numbers; each neuron is one fused `dot` node instead
of 2n binary nodes. Parameters are made by the live engine; a model computes
with the engine its parameters belong to."""

from __future__ import annotations

import operator
import random
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from . import engine


class Module:

    # An MLP calls a plan made from its parts (engine.DensePlan). Rebinding
    # an attribute of any of those parts (a neuron's w or b, a layer's
    # neurons, the model's layers) drops the plan of each model it was made
    # for, and only theirs; the plan itself sees the lists' contents change.

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        _drop_plans_made_from(self)

    def __delattr__(self, name: str) -> None:
        object.__delattr__(self, name)
        _drop_plans_made_from(self)

    def __getstate__(self) -> dict[str, Any]:  # pickle and copy: plans are remade on the next call
        state = dict(self.__dict__)
        state.pop("_plan", None)
        state.pop("_in_plans_of", None)
        return state

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[engine.Value]:
        return []

    def state_dict(self) -> dict[str, Any]:
        """The parameters' data, nested like the model, as plain JSON-safe floats."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Assigns data saved by state_dict(); the structure must match."""


class Neuron(Module):

    def __init__(self, nin: int, nonlin: bool = True):
        if not isinstance(nin, int) or isinstance(nin, bool) or nin < 1:
            raise ValueError(f"Neuron: nin must be a positive int, got {nin!r}")
        self.w = [engine.Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = engine.Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[engine.Value | float]) -> engine.Value:
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act: engine.Value = _engine_of(self).dot(self.w, x, self.b)  # == sum((wi*xi for ...), self.b), bit for bit
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[engine.Value]:
        return self.w + [self.b]

    def state_dict(self) -> dict[str, Any]:
        return {"w": [p.data for p in self.w], "b": self.b.data}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        w, b = state["w"], state["b"]
        if len(w) != len(self.w):
            raise ValueError(f"{self!r}: state has {len(w)} weights, expected {len(self.w)}")
        data = [float(x) for x in w] + [float(b)]  # validate everything before assigning
        for p, x in zip(self.parameters(), data):
            p.data = x

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):

    def __init__(self, nin: int, nout: int, **kwargs: Any):
        if not isinstance(nout, int) or isinstance(nout, bool) or nout < 1:
            raise ValueError(f"Layer: nout must be a positive int, got {nout!r}")
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    # A Value for one neuron, else a list of Values (micrograd's API): Any,
    # as which one it is depends on the sizes, not the types.
    def __call__(self, x: Sequence[engine.Value | float]) -> Any:
        neurons = self.neurons
        if len(x) != len(neurons[0].w):
            raise ValueError(f"{neurons[0]!r} takes {len(neurons[0].w)} inputs, got {len(x)}")
        if _one_dense_call(neurons):  # the same nodes as calling each neuron, in one C call
            out = _engine_of(neurons[0]).dense([n.w for n in neurons], [n.b for n in neurons], x,
                                               neurons[0].nonlin)
        else:
            out = [n(x) for n in neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[engine.Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def state_dict(self) -> dict[str, Any]:
        return {"neurons": [n.state_dict() for n in self.neurons]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        _load_each(self, self.neurons, state["neurons"], "neurons")

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


_LIVE: engine.Engine = engine  # the facade: the live engine's names, rebound by use()


def _engine_of(neuron: Neuron) -> engine.Engine:
    """The engine of a neuron's parameters (the live one for a number bias)."""
    return engine.engine_of(neuron.b) or _LIVE


def _one_dense_call(neurons: list[Neuron]) -> bool:
    """Whether neurons can be computed as one dense call: plain Neurons (none
    with its own __call__), all ReLU or all linear."""
    kinds = set(map(type, neurons))  # C-speed passes: a Layer call pays little for this
    return (all(kind.__call__ is Neuron.__call__ for kind in kinds)
            and len(set(map(_NONLIN, neurons))) == 1)


_NONLIN = operator.attrgetter("nonlin")


def _plan_engine(layers: object) -> engine.Engine | None:
    """The engine whose DensePlan can call layers in turn in one call, if
    they fit one: plain Layers of plain Neurons whose parameters are plain
    Values of that engine, each layer but the last with more than one output
    (with one, it passes a Value, not a list, to the next layer); else None."""
    if type(layers) is not list or not layers:
        return None
    for i, layer in enumerate(layers):
        neurons = layer.neurons
        if type(layer).__call__ is not Layer.__call__ or type(neurons) is not list or not neurons:
            return None
        if len(neurons) == 1 and i < len(layers) - 1:
            return None
        if not _one_dense_call(neurons):
            return None
    kernels = engine.engine_of(layers[0].neurons[0].b)
    fits = kernels is not None and all(type(n.b) is kernels.Value and type(n.w) is list
                                       for layer in layers for n in layer.neurons)
    return kernels if fits else None


def _drop_plans_made_from(part: Module) -> None:
    for model in part.__dict__.get("_in_plans_of", ()):
        model.__dict__.pop("_plan", None)


_NO_PLAN_YET = object()


class MLP(Module):

    def __init__(self, nin: int, nouts: Sequence[int]):
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x: Sequence[engine.Value | float]) -> Any:  # as Layer's
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

    def _make_plan(self) -> engine.DensePlan | None:
        """A DensePlan of the model as it is now (None if it does not fit
        one), kept until an attribute of a part it was made from changes."""
        layers = self.layers
        plan = None
        kernels = _plan_engine(layers)
        if kernels is not None:
            plan = kernels.DensePlan([layers] + [layer.neurons for layer in layers],
                                     [[n.w for n in layer.neurons] for layer in layers],
                                     [[n.b for n in layer.neurons] for layer in layers],
                                     [layer.neurons[0].nonlin for layer in layers])
        self.__dict__["_plan"] = plan  # not an attribute change: nothing to drop
        parts: list[Module] = [self]
        if type(layers) is list:
            parts += [layer for layer in layers if isinstance(layer, Module)]
        for layer in parts[1:]:
            neurons = getattr(layer, "neurons", None)
            if type(neurons) is list:
                parts += [n for n in neurons if isinstance(n, Module)]
        for part in parts:
            part.__dict__.setdefault("_in_plans_of", weakref.WeakSet()).add(self)
        return plan

    def parameters(self) -> list[engine.Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def state_dict(self) -> dict[str, Any]:
        return {"layers": [layer.state_dict() for layer in self.layers]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        _load_each(self, self.layers, state["layers"], "layers")

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def _load_each(owner: Module, parts: Sequence[Module], states: Sequence[Mapping[str, Any]],
               what: str) -> None:
    if len(states) != len(parts):
        raise ValueError(f"{type(owner).__name__}: state has {len(states)} {what}, expected {len(parts)}")
    for part, state in zip(parts, states):
        part.load_state_dict(state)
