"""Losses over lists of Values: softmax, log_softmax, cross_entropy (the API of
torch.nn.functional.cross_entropy), the micrograd demo's hinge loss, and mse.

They work on Values of either engine, compiled or reference: every node is
built from the inputs' own operators and their own engine's fused `sum`, never
from the live engine's class, so the two are never mixed in one graph."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, SupportsIndex, TypeVar, Union, overload

from . import checks, engine

REDUCTIONS = ("mean", "sum", "none")
_SIGNS = {1, -1}
_engine_of = engine.engine_of

_T = TypeVar("_T")
_Target = Union[SupportsIndex, "engine.Value"]  # a class index, or a Value holding one


def _nll_rows(rows: list[Any], targets: list[Any]) -> list[engine.Value] | None:
    """The engine's one call for a whole batch (the same nodes as _nll makes
    row by row), or None when it does not apply."""
    first = rows[0][0] if rows and type(rows[0]) is list and rows[0] else None
    kernels = _engine_of(first)
    return kernels.nll_rows(rows, targets) if kernels is not None else None


def _values(values: Iterable[engine.Value], what: str) -> tuple[list[engine.Value], engine.Engine]:
    """values as a non-empty list of Values of one engine, and that engine."""
    values = values if type(values) is list else list(values)
    if not values:
        raise ValueError(f"{what}: empty input")
    kernels = _engine_of(values[0])
    # the common case, all of one engine's own class, in one C-speed pass
    if kernels is not None and len(set(map(type, values))) == 1:
        return values, kernels
    for i, v in enumerate(values):
        kind = _engine_of(v)
        if kind is None:
            raise TypeError(f"{what}: element {i} is a {type(v).__name__}, not a Value")
        if kind is not kernels:
            raise TypeError(f"{what}: element {i} is a Value of another engine than element 0's")
    return values, kernels


def softmax(logits: Iterable[engine.Value]) -> list[engine.Value]:
    """exp(x_i) / sum_j exp(x_j), as a list of Values: the engine's fused
    softmax (the max subtracted inside, so exp never overflows)."""
    logits, kernels = _values(logits, "softmax")
    probabilities: list[engine.Value] = kernels.softmax(logits)
    return probabilities


def log_softmax(logits: Iterable[engine.Value]) -> list[engine.Value]:
    """x_i - log(sum_j exp(x_j)), as a list of Values; steadier than
    softmax(...)[i].log() when a probability underflows."""
    logits, kernels = _values(logits, "log_softmax")
    log_probabilities: list[engine.Value] = kernels.log_softmax(logits)
    return log_probabilities


@overload
def cross_entropy(input: Iterable[engine.Value], target: _Target, reduction: str = ...) -> engine.Value: ...
@overload
def cross_entropy(input: Iterable[Iterable[engine.Value]], target: Iterable[_Target],
                  reduction: Literal["mean", "sum"] = ...) -> engine.Value: ...
@overload
def cross_entropy(input: Iterable[Iterable[engine.Value]], target: Iterable[_Target],
                  reduction: Literal["none"]) -> list[engine.Value]: ...
def cross_entropy(input: Any, target: Any, reduction: str = "mean") -> Any:  # noqa: A002 - torch's names
    """-log_softmax(logits)[target], like torch.nn.functional.cross_entropy.

    One sample: `input` a list of C logit Values, `target` an int in [0, C)
    or a Value holding one (a tape replays it with the Value's new data);
    returns a Value. A batch: `input` a list of N such lists, `target` N
    targets; returns their mean ('mean'), sum ('sum'), or the list of N
    losses ('none'). Each loss is one fused node of the logits' engine.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, not {reduction!r}")
    rows = list(input)
    if not rows:
        raise ValueError("cross_entropy: empty input")
    if _engine_of(rows[0]) is not None or not hasattr(rows[0], "__iter__"):
        # one sample: a single loss whatever the reduction, as torch gives for (C,) logits
        losses = _nll_rows([rows], [target])
        return losses[0] if losses is not None else _nll(rows, target, "cross_entropy")
    if isinstance(target, (str, bytes)) or not hasattr(target, "__iter__"):
        raise TypeError(f"cross_entropy: a batch of {len(rows)} samples needs a list of "
                        f"{len(rows)} targets, not {type(target).__name__}")
    targets = list(target)
    if len(targets) != len(rows):
        raise ValueError(f"cross_entropy: {len(rows)} samples but {len(targets)} targets")
    losses = _nll_rows(rows, targets)  # the engine's one call, when it applies
    if losses is not None:
        return _reduce(losses, reduction)
    losses = []
    classes = None
    for i, (row, t) in enumerate(zip(rows, targets)):
        if type(row) is not list:
            if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
                raise TypeError(f"cross_entropy: sample {i} is a {type(row).__name__}, "
                                "not a list of logit Values")
            row = list(row)
        classes = len(row) if classes is None else classes
        if len(row) != classes:  # torch's (N, C) shape: a ragged batch is a bug
            raise ValueError(f"cross_entropy: sample {i} has {len(row)} logits, sample 0 has {classes}")
        losses.append(_nll(row, t, f"cross_entropy: sample {i}"))
    return _reduce(losses, reduction)


def _nll(logits: Iterable[engine.Value], target: _Target, what: str) -> engine.Value:
    """-log softmax(logits)[target] for one sample: one node of its engine."""
    logits, kernels = _values(logits, what)
    target_engine = _engine_of(target)
    if target_engine is None:  # a class index: the one index rule, worded with the sample
        target = checks.class_index(target, len(logits), f"{what} target")
    elif target_engine is not kernels:
        raise TypeError(f"{what}: the target is a Value of another engine than the logits'")
    loss: engine.Value = kernels.cross_entropy(logits, target)
    return loss


def hinge(scores: Iterable[engine.Value], labels: Iterable[float]) -> engine.Value:
    """The micrograd demo's SVM max-margin loss: the mean over the batch of
    relu(1 - y_i * score_i), labels y_i in {-1, +1}. Written as the demo
    writes it, so the numbers are the demo's to the last bit."""
    scores, labels = _pair(scores, labels, "hinge")
    # 0/1 labels (the data sets' own) would silently train nonsense. A Value
    # label fails this too: Values compare by identity.
    try:
        ok = set(labels) <= _SIGNS  # the fast check, in C
    except TypeError:  # unhashable labels
        ok = False
    if not ok:  # find the culprit, or labels that equal +-1 but hash otherwise
        for i, y in enumerate(labels):
            if not (y == 1 or y == -1):
                raise ValueError(f"hinge: label {i} is {y!r}; labels must be -1 or +1")
    return _reduce([(1 + -y * s).relu() for s, y in zip(scores, labels)], "mean")


def mse(predictions: Iterable[engine.Value], targets: Iterable[engine.Value | float]) -> engine.Value:
    """Mean of (prediction - target) ** 2; targets are numbers or Values."""
    predictions, targets = _pair(predictions, targets, "mse")
    return _reduce([(p - t) ** 2 for p, t in zip(predictions, targets)], "mean")


def _pair(predictions: Iterable[engine.Value], targets: Iterable[_T],
          what: str) -> tuple[list[engine.Value], list[_T]]:
    predictions, _ = _values(predictions, what)
    targets = list(targets)
    if len(predictions) != len(targets):
        raise ValueError(f"{what}: {len(predictions)} predictions but {len(targets)} targets")
    return predictions, targets


@overload
def _reduce(losses: list[engine.Value], reduction: Literal["mean", "sum"]) -> engine.Value: ...
@overload
def _reduce(losses: list[engine.Value], reduction: str) -> engine.Value | list[engine.Value]: ...
def _reduce(losses: list[engine.Value], reduction: str) -> engine.Value | list[engine.Value]:
    if reduction == "none":
        return losses
    total: engine.Value = _engine_of(losses[0]).sum(losses)
    if reduction == "sum":
        return total
    # sum * (1 / n) as the micrograd demo averages its losses
    return total * (1.0 / len(losses))
