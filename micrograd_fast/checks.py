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

import numbers
import operator
import sys

__all__ = ["real_number", "real_operand", "complex_refused", "index_of", "class_index"]


def _is_numpy_bool(x):
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(x, numpy.bool_)


def real_number(x):
    """x as a plain float if it is a real number by the operand rule; None if
    it is no number at all; TypeError for a complex number."""
    if isinstance(x, float):
        return float.__float__(x)  # the value, not a subclass's __float__
    if isinstance(x, int):
        return int.__float__(x)  # OverflowError past the float range, as float(int)
    if isinstance(x, numbers.Real) or _is_numpy_bool(x):
        value = float(x)
        if type(value) is not float:  # a __float__ that returned a float subclass
            value = float.__float__(value)
        return value
    if isinstance(x, (complex, numbers.Complex)) or _is_numpy_complex(x):
        raise complex_refused(x)
    return None


def _is_numpy_complex(x):
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(x, numpy.complexfloating)


def complex_refused(x):
    return TypeError(f"a complex operand ({type(x).__name__}) has no place in a real-valued graph: "
                     "micrograd_fast computes in real numbers and will not drop an imaginary part")


def real_operand(x, where):
    """x as a plain float by the operand rule, else the TypeError a function
    (not an operator) raises."""
    value = real_number(x)
    if value is None:
        raise TypeError(f"{where}: expected a Value or a real number, not {type(x).__name__}")
    return value


def index_of(x, n, where):
    """A Value's data x as an index in [0, n) (an embedding's row, a
    cross_entropy's target): the rule csrc/fused.h's mg_as_index applies on
    every replay, worded. ValueError if x is not an integer, IndexError if it
    is out of range."""
    if x != x or (x not in (float("inf"), float("-inf")) and x != int(x)):
        raise ValueError(f"{where}: the index Value holds {x}, not an integer")
    if not 0.0 <= x < n:
        raise IndexError(f"{where}: index {x:g} is out of range for {n}")
    return int(x)


def class_index(index, n, where):
    """An int index given as a number (not a Value): operator.index of it in
    [0, n). A bool is not an index (torch refuses it too)."""
    if isinstance(index, bool) or not hasattr(type(index), "__index__"):
        raise TypeError(f"{where}: the index must be an int or a Value holding one, "
                        f"not {type(index).__name__}")
    i = operator.index(index)
    if not 0 <= i < n:
        raise IndexError(f"{where}: index {i} is out of range for {n}")
    return i


# --- Words of the compiled engine (src/*.pxi) that the reference engine says
# too: each returns the exception, the caller raises it.

def real_data(x, what):
    """x as a plain float by the operand rule, for what holds a number (data,
    grad, assign's numbers): TypeError for anything else, a Value included."""
    value = real_number(x)
    if value is None:
        raise TypeError(f"{what} must be a real number, not {type(x).__name__}")
    return value


def local_grad_refused(g):
    return TypeError(f"Value: local gradients must be real numbers, not {type(g).__name__}")


def not_callable_backward(fn):
    return TypeError(f"_backward must be callable, not {type(fn).__name__}")


def only_leaves_pickle(op):
    return TypeError(f"cannot pickle or copy a Value made by an op ({op!r}): "
                     "only leaves (parameters, inputs) can be; rebuild the graph from them")


def bad_pickle_state(state):
    return TypeError(f"Value.__setstate__: expected (grad, attributes[, slots]) with dicts or None, "
                     f"not {type(state).__name__} {state!r:.80}")


def not_settable(cls, name):
    """A pickled state naming what an instance of cls cannot be given."""
    return AttributeError(f"Value.__setstate__: '{cls.__name__}' has no settable attribute {name!r}")


def nested_too_deep(where, limit):
    return ValueError(f"{where}: nesting deeper than {limit} levels, or a list that contains itself")
