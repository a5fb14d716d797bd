"""Kernels: what the libraries run over many Values at once: optim's steps,
nn's MLP called as one (DensePlan), losses' batch of cross-entropies. The
compiled engine runs the same arithmetic in C, step for step (tests compare
the two bit for bit). DensePlan and nll_rows return None where they do not
apply; the library then takes its own path, which also words the errors."""

import math

from .. import checks
from .fused import FUSED, dense
from .value import Value, make

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


# ---------------------------------------------------------------------------
# cross_entropy over a batch


def nll_rows(rows, targets):
    """cross_entropy(row, t) for each row and target, one node each: the
    kernel losses.py calls for a batch. Returns None unless every row is a
    list of C plain Values (C the same for all) and every target an int in
    [0, C): losses.py then takes its own path, which handles everything else
    and words the errors."""
    if not rows or len(targets) != len(rows) or type(rows[0]) is not list or not rows[0]:
        return None
    classes = len(rows[0])
    index = [_class_index_or_none(t, classes) for t in targets]  # first: an __index__ may run any code
    if None in index:
        return None
    frozen = [tuple(row) for row in rows if type(row) is list and len(row) == classes]
    if len(frozen) != len(rows) or any(type(v) is not Value for row in frozen for v in row):
        return None
    return [make(FUSED["nll"], row + (Value(float(t)),)) for row, t in zip(frozen, index)]


def _class_index_or_none(target, classes):
    """checks.class_index(target, classes), or None where it refuses."""
    try:
        return checks.class_index(target, classes, "cross_entropy")
    except (TypeError, IndexError):
        return None


# ---------------------------------------------------------------------------
# nn's MLP in one call


class DensePlan:
    """A stack of dense layers called as one: micrograd_fast.nn's MLP makes
    one from its parts and calls it instead of each Layer in turn. Calling it
    returns what the layers would, or None when it no longer applies: the
    lists it was made from (model.layers, each layer.neurons) now hold other
    parts, a weight list changed length, or x is not a list of Values and
    numbers of the right size. nn.py then calls the layers one by one, which
    also words the errors."""

    def __init__(self, parts, weights, biases, relus):
        parts = tuple(parts)
        for p in parts:
            if type(p) is not list:
                raise checks.must_be("DensePlan: parts", "lists", p)
        self._parts = [(p, tuple(p)) for p in parts]  # each list, and what it must keep holding
        self._weights = [tuple(w) for w in weights]
        self._biases = [tuple(b) for b in biases]
        self._relus = [bool(r) for r in relus]
        if not len(self._weights) == len(self._biases) == len(self._relus):
            raise checks.plan_layers_differ()
        for ws, bs in zip(self._weights, self._biases):
            if len(ws) == 0 or len(ws) != len(bs):
                raise checks.plan_layer_unmatched()
            for b in bs:
                if not isinstance(b, Value):
                    raise checks.is_not("DensePlan: bias", b, "a Value")

    def __call__(self, xs):
        for part, contents in self._parts:
            if len(part) != len(contents) or any(now is not then for now, then in zip(part, contents)):
                return None
        if type(xs) is not list and type(xs) is not tuple:
            return None
        if any(type(v) is not Value and type(v) is not float and type(v) is not int for v in xs):
            return None
        x = [v if type(v) is Value else Value(v) for v in xs]
        for ws, bs, relu in zip(self._weights, self._biases, self._relus):
            if any(type(w) is not list or len(w) != len(x) for w in ws):
                return None
            x = dense(ws, bs, x, relu)
        return x[0] if len(x) == 1 else x
