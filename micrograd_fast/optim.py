"""SGD, Adam and AdamW with PyTorch's update rules, over Values of either
engine. The update loop is the parameters' engine's kernel (sgd_update,
adam_update): in C on the compiled engine, the same arithmetic step for step
in Python on the reference.

State is a flat buffer of doubles per kind (one entry per parameter, in
parameter order): the C loops update it in place, and state_dict() hands it
out as plain lists of floats, JSON-safe."""

from __future__ import annotations

import warnings
from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from . import engine


class Optimizer:
    """The parameter list and what every optimizer shares. Subclasses name
    their hyperparameters (`_hyper`) and per-parameter buffers (`_buffers`),
    which state_dict() saves along with the step count."""

    _hyper: ClassVar[tuple[str, ...]] = ("lr",)
    _buffers: ClassVar[tuple[str, ...]] = ()
    _check: ClassVar[Callable[..., dict[str, Any]]]  # the subclass's checks, by hyperparameter

    def __init__(self, params: Iterable[engine.Value], lr: float):
        # torch's checks: a lone Value or a set (whose order changes between
        # runs, and with it the meaning of the saved state) is a mistake
        value_types = engine.value_types()
        if isinstance(params, value_types):
            raise TypeError("params must be an iterable of Values, not a single "
                            f"{type(params).__name__}: wrap it in a list")
        if isinstance(params, (set, frozenset)):
            raise TypeError("params must be an ordered collection (a list), not a set: "
                            "the order of a set changes between runs")
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, value_types):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Value")
        kernels = engine.engine_of(self.params[0])
        if any(engine.engine_of(p) is not kernels for p in self.params):
            raise TypeError("parameters mix Values of the compiled and the reference engine")
        if len({id(p) for p in self.params}) != len(self.params):
            # tied weights listed twice would be stepped twice; torch warns too
            warnings.warn("optimizer got the same parameter more than once: it is updated once "
                          "per appearance", stacklevel=3)
        self.lr = lr  # a plain attribute: assign it between steps to schedule
        self.steps = 0

    @property
    def _kernels(self) -> engine.Engine:
        """The parameters' engine, whose update loops step them."""
        return engine.engine_of(self.params[0])

    def zero_grad(self) -> None:
        self._kernels.zero_grads(self.params)

    def _buffer(self) -> array[float]:
        return array("d", bytes(8 * len(self.params)))  # zeros

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters, the step count and the buffers, as plain floats,
        ints and lists: json.dumps takes it as it is."""
        state = {name: _plain(getattr(self, name)) for name in self._hyper}
        state["steps"] = self.steps
        state.update((name, getattr(self, name).tolist()) for name in self._buffers)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restores what state_dict() saved, for the same parameter list; on
        an error nothing has changed."""
        expected = set(self._hyper) | set(self._buffers) | {"steps"}
        if set(state) != expected:
            missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
            raise ValueError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                             f"unexpected keys {unexpected}")
        buffers = {}
        for name in self._buffers:
            if len(state[name]) != len(self.params):
                raise ValueError(f"{name}: {len(state[name])} entries for {len(self.params)} parameters")
            buffers[name] = array("d", state[name])
        steps = state["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a count (an int >= 0), not {steps!r}")
        hyper = self._check(**{name: state[name] for name in self._hyper})
        for name, value in {**hyper, **buffers, "steps": steps}.items():
            setattr(self, name, value)


def _plain(x: object) -> object:
    return list(x) if isinstance(x, tuple) else x


class SGD(Optimizer):
    """torch.optim.SGD with dampening 0 and no Nesterov:
    d = grad + weight_decay * p; buf = d at the first step, then
    momentum * buf + d; p -= lr * (buf if momentum else d)."""

    _hyper = ("lr", "momentum", "weight_decay")
    _buffers = ("momentum_buffer",)

    momentum: float
    weight_decay: float
    momentum_buffer: array[float]

    def __init__(self, params: Iterable[engine.Value], lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        vars(self).update(self._check(lr, momentum, weight_decay))
        self.momentum_buffer = self._buffer()

    @staticmethod
    def _check(lr: float, momentum: float, weight_decay: float) -> dict[str, Any]:
        """torch.optim.SGD's checks and messages; the hyperparameters by name."""
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        return {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}

    def step(self) -> None:
        self._kernels.sgd_update(self.params, self.lr, self.momentum, self.weight_decay,
                                 self.momentum_buffer, self.steps == 0)
        self.steps += 1


class Adam(Optimizer):
    """torch.optim.Adam: weight decay is L2, added to the gradient."""

    _hyper = ("lr", "betas", "eps", "weight_decay")
    _buffers = ("exp_avg", "exp_avg_sq")
    decoupled: ClassVar[bool] = False
    betas: tuple[float, float]
    eps: float
    weight_decay: float
    exp_avg: array[float]
    exp_avg_sq: array[float]

    def __init__(self, params: Iterable[engine.Value], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr)
        vars(self).update(self._check(lr, betas, eps, weight_decay))
        self.exp_avg = self._buffer()
        self.exp_avg_sq = self._buffer()

    @staticmethod
    def _check(lr: float, betas: Iterable[float], eps: float, weight_decay: float) -> dict[str, Any]:
        """torch.optim.Adam's checks and messages (`not 0 <= x` refuses NaN
        too); the hyperparameters by name."""
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        betas = tuple(betas)
        if len(betas) != 2:
            raise ValueError(f"Invalid betas: expected 2 values, got {len(betas)}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        return {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}

    def step(self) -> None:
        self.steps += 1  # torch counts the step before its bias corrections
        self._kernels.adam_update(self.params, self.lr, self.betas[0], self.betas[1], self.eps,
                                  self.weight_decay, self.decoupled, self.steps, self.exp_avg,
                                  self.exp_avg_sq)


class AdamW(Adam):
    """torch.optim.AdamW: decoupled weight decay, p *= 1 - lr * weight_decay
    before the Adam step. The defaults are the scalar-GPT teaching code's."""

    decoupled = True

    def __init__(self, params: Iterable[engine.Value], lr: float = 1e-1,
                 betas: tuple[float, float] = (0.9, 0.95), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, lr, betas, eps, weight_decay)
