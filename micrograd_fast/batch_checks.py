"""What a batched tape (compile(root, batch=inputs)) accepts, and the words
it refuses the rest with: written once, used by both engines' batched tapes
(src/batch_tape.pxi and micrograd_fast/reference/batch_tape.py)."""

from __future__ import annotations

import os
from typing import Any

from . import checks


def inputs_list(batch: object, value_type: type) -> list[Any]:
    """batch as a list of distinct Values of value_type (the per-example
    leaves, in the order of X's columns). Whether each is a leaf of the graph
    is the engine's to check (not_a_leaf_input)."""
    if not isinstance(batch, (list, tuple)):
        raise checks.must_be("compile: batch", "a list of input Values", batch)
    seen = set()
    for v in batch:
        if not isinstance(v, value_type):
            raise checks.holds("compile: batch", v, "Value")
        if id(v) in seen:
            raise ValueError("compile: batch lists the same Value twice")
        seen.add(id(v))
    return list(batch)


def not_a_leaf_input(index: int, op: str) -> ValueError:
    return ValueError(f"compile: batch[{index}] is made by an op ({op!r}); "
                      "the per-example inputs must be leaves")


def thread_count(threads: object) -> int:
    """threads as a positive int; None is every core this process may use."""
    if threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except (AttributeError, OSError):
            return max(1, os.cpu_count() or 1)
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise checks.must_be("compile: threads", "an int or None", threads)
    if threads < 1:
        raise ValueError(f"compile: threads must be at least 1, not {threads}")
    return threads


def threads_without_batch() -> TypeError:
    return TypeError("compile: threads applies to a batched tape only (pass batch=inputs)")


def _plain_floats(np: Any, X: object, n_inputs: int) -> Any:
    """X as float64 if it is the commonest batch, a list or tuple of lists
    or tuples of n_inputs ints and floats (features, token ids), which numpy
    converts as float() does, so the operand rule's per-item calls (and the
    object array, most of a small batch's replay) are not needed; else None
    (as for an int too large for a float: the checked path words the error)."""
    if type(X) is not list and type(X) is not tuple or not X:
        return None
    for row in X:
        if type(row) is not list and type(row) is not tuple or len(row) != n_inputs:
            return None
        for v in row:
            if type(v) is not float and type(v) is not int:
                return None
    try:
        return np.array(X, dtype=np.float64)
    except OverflowError:
        return None


def _checked_floats(np: Any, X: object, n_inputs: int, where: str) -> Any:
    """Nested sequences as float64, each item by the operand rule."""
    try:
        items = np.array(X, dtype=object)
    except ValueError as exc:  # ragged rows
        raise ValueError(f"{where}: X must be {n_inputs} numbers per row ({exc})") from None
    if items.ndim != 2:
        raise ValueError(f"{where}: X must have shape (B, {n_inputs}), not {items.shape}")
    flat = [checks.real_data(x, f"{where}: each item of X") for x in items.ravel().tolist()]
    return np.array(flat, dtype=np.float64).reshape(items.shape)


def rows(X: object, n_inputs: int, where: str) -> Any:
    """X as a C-contiguous float64 numpy array of shape (B, n_inputs), B >= 1:
    a numpy array of real numbers, or nested sequences of real numbers (each
    by the operand rule). ValueError for a wrong shape, TypeError for an item
    that is not a real number."""
    import numpy as np

    if isinstance(X, np.ndarray) and X.dtype.kind in "biuf":
        array = np.ascontiguousarray(X, dtype=np.float64)
    elif isinstance(X, np.ndarray) and X.dtype.kind == "c":
        raise checks.complex_refused(X)
    else:
        array = _plain_floats(np, X, n_inputs)
        if array is None:
            array = _checked_floats(np, X, n_inputs, where)
    if array.ndim != 2 or array.shape[1] != n_inputs or array.shape[0] == 0:
        raise ValueError(f"{where}: X must have shape (B, {n_inputs}) with B >= 1, not {array.shape}")
    return array


def reduction_kind(reduction: object) -> str:
    if reduction not in ("mean", "sum"):
        raise ValueError(f"backward: reduction must be 'mean' or 'sum', not {reduction!r}")
    return str(reduction)


def no_forward_yet() -> RuntimeError:
    return RuntimeError("backward: run forward(X) first; backward uses that batch's values")


def not_on_tape(index: int) -> ValueError:
    return ValueError(f"evaluate: outputs[{index}] is not a node of this tape")


def in_row(row: int, exc: BaseException) -> BaseException:
    """exc, the error an example raised, as the same type naming its row."""
    try:
        named = type(exc)(f"row {row}: {exc}")
    except Exception:  # noqa: BLE001 - an exception type with a constructor of its own
        return exc
    return named
