"""What both engines accept, and the words they refuse the rest with.

Written once, used by the compiled engine (src/*.pxi, on its slow paths: an
exact float, int or Value never gets here) and by the reference engine
(micrograd_fast/reference/). Imports no engine.

The operand rule: an operand is a Value, or a real number as Python's float
arithmetic sees it:

- a float, or an instance of a float subclass (numpy.float64 among them), by
  its float value: float.__add__ reads the value, never the subclass's
  __float__;
- an int of any size, bool included, converted as float(int) converts it
  (OverflowError past the float range);
- any other numbers.Real (fractions.Fraction, numpy's other real scalars)
  and numpy.bool_, by float(x), which is what float arithmetic with them
  computes;
- a complex number (Python's, numpy's, any numbers.Complex) is refused with a
  TypeError: the engines compute in reals and never drop an imaginary part;
- anything else is not a number to us: an operator returns NotImplemented
  (so Python raises its own TypeError, as for 2.0 + obj), a function raises
  the TypeError of real_operand.

``.data`` and ``.grad`` are always plain floats.
"""

from __future__ import annotations

import numbers
import operator
import sys
from collections.abc import Set as AbstractSet
from typing import SupportsFloat, SupportsIndex, cast

__all__ = ["real_number", "real_operand", "complex_refused", "index_of", "class_index"]


def _is_numpy_bool(x: object) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(x, numpy.bool_)


def real_number(x: object) -> float | None:
    """x as a plain float if it is a real number by the operand rule; None if
    it is no number at all; TypeError for a complex number."""
    if isinstance(x, float):
        return float.__float__(x)  # the value, not a subclass's __float__
    if isinstance(x, int):
        return int.__float__(x)  # OverflowError past the float range, as float(int)
    if isinstance(x, numbers.Real) or _is_numpy_bool(x):
        value = float(cast(SupportsFloat, x))
        if type(value) is not float:  # a __float__ that returned a float subclass
            value = float.__float__(value)
        return value
    if isinstance(x, (complex, numbers.Complex)) or _is_numpy_complex(x):
        raise complex_refused(x)
    return None


def _is_numpy_complex(x: object) -> bool:
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(x, numpy.complexfloating)


def complex_refused(x: object) -> TypeError:
    return TypeError(f"a complex operand ({type(x).__name__}) has no place in a real-valued graph: "
                     "micrograd_fast computes in real numbers and will not drop an imaginary part")


def real_operand(x: object, where: str) -> float:
    """x as a plain float by the operand rule, else the TypeError a function
    (not an operator) raises."""
    value = real_number(x)
    if value is None:
        raise expected(where, "a Value or a real number", x)
    return value


def index_of(x: float, n: int, where: str | None = None) -> int:
    """A Value's data x as an index in [0, n) (an embedding's row, a
    cross_entropy's target): the rule csrc/core/fused.h's mg_as_index applies on
    every replay, worded. ValueError if x is not an integer, IndexError if it
    is out of range. where names the call that took the index; None is a
    tape's replay, worded as csrc/ops/errors.h words mg_as_index's codes."""
    if x != x or (x not in (float("inf"), float("-inf")) and x != int(x)):
        if where is None:
            raise ValueError(f"{_REPLAYED_INDEX} must hold an integer")
        raise ValueError(f"{where}: the index Value holds {x}, not an integer")
    if not 0.0 <= x < n:
        if where is None:
            raise IndexError(f"{_REPLAYED_INDEX} is out of range")
        raise IndexError(f"{where}: index {x:g} is out of range for {n}")
    return int(x)


_REPLAYED_INDEX = "a Value used as an index (an embedding's row, a cross_entropy's target)"


def class_index(index: object, n: int, where: str) -> int:
    """An int index given as a number (not a Value): operator.index of it in
    [0, n). A bool is not an index (torch refuses it too)."""
    if isinstance(index, bool) or not hasattr(type(index), "__index__"):
        raise TypeError(f"{where}: the index must be an int or a Value holding one, "
                        f"not {type(index).__name__}")
    i = operator.index(cast(SupportsIndex, index))
    if not 0 <= i < n:
        raise IndexError(f"{where}: index {i} is out of range for {n}")
    return i


# ---------------------------------------------------------------------------
# The public API's refusals, worded once (issue 17). Each function returns
# the exception and the caller raises it (`raise checks.expected(...)`), so a
# traceback ends in the function that refused; both engines raise these.


def real_data(x: object, what: str = "a Value's data") -> float:
    """x as a plain float by the operand rule, for what holds a number (data,
    grad, assign's numbers): TypeError for anything else, a Value included."""
    value = real_number(x)
    if value is None:
        raise TypeError(f"{what} must be a real number, not {type(x).__name__}")
    return value


def expected(where: str, what: str, x: object) -> TypeError:
    """'topo_order: expected a Value, not int'"""
    return TypeError(f"{where}: expected {what}, not {type(x).__name__}")


def must_be(what: str, kind: str, x: object) -> TypeError:
    """'_backward must be callable, not int', 'linear: W must be a list of rows, not dict'"""
    return TypeError(f"{what} must be {kind}, not {type(x).__name__}")


def is_not(what: str, x: object, kind: str) -> TypeError:
    """'dense: bias 1 is a float, not a Value'"""
    return TypeError(f"{what} is a {type(x).__name__}, not {kind}")


def holds(what: str, x: object, kind: str) -> TypeError:
    """'embedding: the table holds a float, not a Value'"""
    return TypeError(f"{what} holds a {type(x).__name__}, not {kind}")


def lengths_differ(where: str, n: int, these: str, m: int, those: str) -> ValueError:
    """'dot: 2 weights but 3 inputs'"""
    return ValueError(f"{where}: {n} {these} but {m} {those}")


def weights_for_inputs(what: str, n: int, m: int) -> ValueError:
    """'dense: neuron 1 has 3 weights for 2 inputs'"""
    return ValueError(f"{what} has {n} weights for {m} inputs")


def empty(where: str, what: str = "input") -> ValueError:
    """'softmax: empty input', 'embedding: empty table'"""
    return ValueError(f"{where}: empty {what}")


def ragged_table(row: int, n: int, first: int) -> ValueError:
    """An embedding table's rows must all be as long as row 0."""
    return ValueError(f"embedding: row {row} has {n} entries, row 0 has {first}")


def plan_layers_differ() -> ValueError:
    return ValueError("DensePlan: weights, biases and relus must have one entry per layer")


def plan_layer_unmatched() -> ValueError:
    return ValueError("DensePlan: each layer needs as many weight lists as biases, at least one")


def rows_shape(n_inputs: int, shape: object) -> ValueError:
    """Tape.evaluate's X is one row of input data per example."""
    return ValueError(f"evaluate: X must have shape (n, {n_inputs}), not {shape}")


def not_a_leaf(op: str) -> TypeError:
    """Only leaves pickle or copy."""
    return TypeError(f"cannot pickle or copy a Value made by an op ({op!r}): "
                     "only leaves (parameters, inputs) can be; rebuild the graph from them")


def custom_op_on_tape(op: str) -> TypeError:
    return TypeError(f"cannot compile a graph with a custom op ({op!r}): "
                     "its Python _backward has no forward to replay")


def tape_changed() -> RuntimeError:
    """csrc/ops/errors.h's MG_ERR_STALE_TAPE."""
    return RuntimeError("the graph changed since it was compiled (a _backward was assigned): "
                        "compile it again")


def expsum_replaced() -> RuntimeError:
    """csrc/ops/errors.h's MG_ERR_NOT_EXPSUM."""
    return RuntimeError("a softmax's expsum node was given a _backward of its own: "
                        "build the softmax again")


# What a Value is made of on both engines: a pickle's attributes may not set
# these (each engine adds its own internal names).
VALUE_ATTRIBUTES = frozenset(("data", "grad", "_op", "_prev", "_children", "_backward",
                              "_local_grads", "__dict__", "__class__"))


def leaf_state(state: object, engine_names: AbstractSet[str]) -> tuple[float, dict[str, object]]:
    """A pickled leaf's state, (grad, attributes), checked whole before
    __setstate__ writes any of it: grad a real number, attributes None or a
    dict of the user's own attributes (and a subclass's slots), none named
    in engine_names. Returns grad as a float and the attributes as a dict."""
    if type(state) is not tuple or len(state) != 2:
        raise TypeError(f"a Value's pickled state is (grad, attributes), not {type(state).__name__}")
    grad, attrs = state
    grad = real_data(grad)
    if attrs is None:
        attrs = {}
    if not isinstance(attrs, dict):
        raise must_be("a Value's pickled attributes", "a dict", attrs)
    for name in attrs:
        if not isinstance(name, str):
            raise must_be("an attribute name", "a str", name)
        if name in engine_names:
            raise AttributeError(f"a Value's pickled attributes cannot set {name!r}: it is the engine's own")
    return grad, dict(attrs)


def bad_pickle_state(state: object) -> TypeError:
    return TypeError(f"Value.__setstate__: expected (grad, attributes[, slots]) with dicts or None, "
                     f"not {type(state).__name__} {state!r:.80}")


def not_settable(cls: type, name: str) -> AttributeError:
    """A pickled state naming what an instance of cls cannot be given."""
    return AttributeError(f"Value.__setstate__: '{cls.__name__}' has no settable attribute {name!r}")


def nested_too_deep(where: str, limit: int) -> ValueError:
    """A nested list deeper than numpy's 64 dimensions, which is also how a
    list that holds itself shows: it has no end to flatten."""
    return ValueError(f"{where}: nesting deeper than {limit} levels, or a list that contains itself")
