"""SGD, Adam and AdamW with PyTorch's update rules, over Values of either
engine. On the compiled engine the update loop runs in C over the parameter
list (micrograd_fast._engine.sgd_update / adam_update); the Python loops below
are the same arithmetic, step for step, for the reference engine."""

import math
from array import array

from . import reference

try:
    from . import _engine
except ImportError:  # pragma: no cover - the pure fallback
    _engine = None


class Optimizer:

    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        kinds = {type(p) for p in self.params}
        for i, p in enumerate(self.params):
            if not isinstance(p, (reference.Value,) + ((_engine.Value,) if _engine else ())):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Value")
        self._compiled = _engine is not None and all(isinstance(p, _engine.Value) for p in self.params)
        if not self._compiled and not all(isinstance(p, reference.Value) for p in self.params):
            raise TypeError(f"parameters mix Values of two engines: {sorted(k.__name__ for k in kinds)}")
        if lr < 0:
            raise ValueError(f"Invalid learning rate: {lr}")
        self.lr = lr

    def zero_grad(self):
        if self._compiled:
            _engine.zero_grads(self.params)
        else:
            for p in self.params:
                p.grad = 0.0

    def _buffer(self):
        return array("d", bytes(8 * len(self.params)))

    def state_dict(self):
        return {name: (list(value) if isinstance(value, array) else value)
                for name, value in vars(self).items() if name not in ("params", "_compiled")}

    def load_state_dict(self, state):
        for name, value in state.items():
            current = getattr(self, name)
            if isinstance(current, array):
                if len(value) != len(current):
                    raise ValueError(f"{name}: {len(value)} entries for {len(current)} parameters")
                value = array("d", value)
            setattr(self, name, value)


class SGD(Optimizer):
    """torch.optim.SGD (dampening 0, no Nesterov)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        if momentum < 0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.momentum_buffer = self._buffer()
        self.steps = 0

    def step(self):
        first = self.steps == 0
        if self._compiled:
            _engine.sgd_update(self.params, self.lr, self.momentum, self.weight_decay,
                               self.momentum_buffer, first)
        else:
            sgd_update(self.params, self.lr, self.momentum, self.weight_decay,
                       self.momentum_buffer, first)
        self.steps += 1


class Adam(Optimizer):
    """torch.optim.Adam: weight decay is L2, added to the gradient."""

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        if weight_decay < 0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        self.betas = tuple(betas)
        self.eps = eps
        self.weight_decay = weight_decay
        self.exp_avg = self._buffer()
        self.exp_avg_sq = self._buffer()
        self.steps = 0

    def step(self):
        self.steps += 1
        update = _engine.adam_update if self._compiled else adam_update
        update(self.params, self.lr, self.betas[0], self.betas[1], self.eps, self.weight_decay,
               self.decoupled, self.steps, self.exp_avg, self.exp_avg_sq)


class AdamW(Adam):
    """torch.optim.AdamW: decoupled weight decay, p -= lr * wd * p first."""

    decoupled = True

    def __init__(self, params, lr=1e-1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, betas, eps, weight_decay)


# The update loops for the reference engine; _engine.pyx has the same in C.


def sgd_update(params, lr, momentum, weight_decay, buf, first):
    for i, p in enumerate(params):
        d = p.grad
        if weight_decay != 0.0:
            d = d + weight_decay * p.data
        if momentum != 0.0:
            buf[i] = d if first else buf[i] * momentum + d
            d = buf[i]
        p.data = p.data - lr * d


def adam_update(params, lr, beta1, beta2, eps, weight_decay, decoupled, step, m, v):
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    step_size = lr / bias_correction1
    for i, p in enumerate(params):
        g = p.grad
        x = p.data
        if weight_decay != 0.0:
            if decoupled:
                x = x * (1.0 - lr * weight_decay)
            else:
                g = g + weight_decay * x
        m[i] = m[i] + (1.0 - beta1) * (g - m[i])
        v[i] = v[i] * beta2 + (1.0 - beta2) * g * g
        denom = math.sqrt(v[i]) / bias_correction2_sqrt + eps
        p.data = x - step_size * (m[i] / denom)
