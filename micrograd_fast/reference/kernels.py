"""Kernels: what the libraries run over many Values at once (nn, optim), and
the switch no_grad flips. The compiled engine runs the same arithmetic in C,
step for step (src/kernels.pxi; tests compare the two bit for bit).
cross_entropy's kernel for a batch, nll_rows, is with the fused ops."""

import math
import threading

# ---------------------------------------------------------------------------
# Recording switch (micrograd_fast.no_grad): per thread, like PyTorch's.

_recording = threading.local()


def grad_enabled():
    """Whether ops on this thread record their children (see no_grad)."""
    return getattr(_recording, "enabled", True)


def set_grad_enabled(enabled):
    _recording.enabled = bool(enabled)


# ---------------------------------------------------------------------------
# The optimizers' steps


def zero_grads(params):
    """p.grad = 0 for every parameter."""
    for p in params:
        p.grad = 0.0


def sgd_update(params, lr, momentum, weight_decay, buf, first):
    """torch.optim.SGD's step (dampening 0, no Nesterov); buf holds the
    momentum per parameter, first says whether this is the first step."""
    for i, p in enumerate(params):
        d = p.grad
        if weight_decay != 0.0:
            d = d + weight_decay * p.data
        if momentum != 0.0:
            buf[i] = d if first else buf[i] * momentum + d
            d = buf[i]
        p.data = p.data - lr * d


def adam_update(params, lr, beta1, beta2, eps, weight_decay, decoupled, step, m, v):
    """torch.optim.Adam's step (AdamW's if decoupled), step counted from 1;
    m and v hold the moments per parameter."""
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
        m[i] = m[i] + (1.0 - beta1) * (g - m[i])  # torch's exp_avg.lerp_(g, 1 - beta1)
        v[i] = v[i] * beta2 + (1.0 - beta2) * g * g
        denom = math.sqrt(v[i]) / bias_correction2_sqrt + eps
        p.data = x - step_size * (m[i] / denom)
