"""Losses over lists of Values (either engine): softmax, log_softmax,
cross_entropy, the micrograd demo's hinge loss, and mse."""

from . import reference

try:
    from . import _engine
except ImportError:  # pragma: no cover - the pure fallback
    _engine = reference


def _engine_of(v):
    """The engine module a Value belongs to, for its fused `sum` node."""
    if isinstance(v, _engine.Value):
        return _engine
    if isinstance(v, reference.Value):
        return reference
    raise TypeError(f"expected Values, not {type(v).__name__}")


def _nonempty(values, what):
    values = list(values)
    if not values:
        raise ValueError(f"{what}: empty input")
    return values


def _shifted(logits):
    """logits - max(logits), the max a constant: exp can then never overflow,
    and the gradient is unchanged (softmax is shift-invariant)."""
    logits = _nonempty(logits, "logits")
    for v in logits:
        _engine_of(v)  # a TypeError for anything but Values
    top = max(v.data for v in logits)
    return [v - top for v in logits]


def log_softmax(logits):
    shifted = _shifted(logits)
    log_total = _engine_of(shifted[0]).sum([s.exp() for s in shifted]).log()
    return [s - log_total for s in shifted]


def softmax(logits):
    exps = [s.exp() for s in _shifted(logits)]
    total = _engine_of(exps[0]).sum(exps)
    return [e / total for e in exps]


def cross_entropy(logits, target, reduction="mean"):
    """-log softmax(logits)[target] for one sample (a list of Values and an int
    class), or for a batch (a list of such lists and a list of ints), reduced
    by 'mean' or 'sum' like torch.nn.functional.cross_entropy."""
    if logits and isinstance(logits[0], (list, tuple)):
        targets = list(target)
        if len(targets) != len(logits):
            raise ValueError(f"cross_entropy: {len(logits)} samples but {len(targets)} targets")
        losses = [cross_entropy(row, t) for row, t in zip(logits, targets)]
        return _reduce(losses, reduction, "cross_entropy")
    logits = _nonempty(logits, "cross_entropy")
    if isinstance(target, bool) or not isinstance(target, int) and not hasattr(target, "__index__"):
        raise TypeError(f"cross_entropy: target must be an int class index, not {type(target).__name__}")
    t = target.__index__()
    if not 0 <= t < len(logits):
        raise IndexError(f"cross_entropy: target {t} out of range for {len(logits)} classes")
    shifted = _shifted(logits)
    log_total = _engine_of(shifted[0]).sum([s.exp() for s in shifted]).log()
    return log_total - shifted[t]


def hinge(scores, labels):
    """micrograd demo's SVM max-margin loss: mean of relu(1 - y * score), y in {-1, +1}."""
    scores, labels = _pair(scores, labels, "hinge")
    return _reduce([(1 + -y * s).relu() for s, y in zip(scores, labels)], "mean", "hinge")


def mse(predictions, targets):
    """Mean of (prediction - target) ** 2."""
    predictions, targets = _pair(predictions, targets, "mse")
    return _reduce([(p - t) ** 2 for p, t in zip(predictions, targets)], "mean", "mse")


def _pair(a, b, what):
    a, b = _nonempty(a, what), list(b)
    if len(a) != len(b):
        raise ValueError(f"{what}: {len(a)} predictions but {len(b)} targets")
    return a, b


def _reduce(losses, reduction, what):
    losses = _nonempty(losses, what)
    total = _engine_of(losses[0]).sum(losses)
    if reduction == "sum":
        return total
    if reduction == "mean":
        return total * (1.0 / len(losses))
    raise ValueError(f"{what}: reduction must be 'mean' or 'sum', not {reduction!r}")
