"""The operand rule (issue 20, micrograd_fast/checks.py), on both engines: a
table of operand kinds crossed with every operator on either side of a
Value and with every number argument of the fused ops, assign, the
constructor and the data/grad setters. Each gives the number Python's float
arithmetic gives (bit for bit, as a plain float), or the exception it raises;
a complex number is refused with a TypeError, never has its imaginary part
dropped."""

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from outcomes import outcome, same_bits


class FSub(float):
    """A float subclass whose __float__ lies: its float value counts."""

    def __float__(self):
        return 99.0


class OnlyFloat:
    """Not a number to Python's float arithmetic, though float() takes it."""

    def __float__(self):
        return 2.0


# kind: (the operand, its value as Python's float arithmetic sees it, or the
# exception every use of it raises)
KINDS = {
    "int": (3, 3.0),
    "int0": (0, 0.0),
    "negative_int": (-7, -7.0),
    "huge_int": (10**400, OverflowError),
    "bool": (True, 1.0),
    "float": (0.1, 0.1),
    "minus_zero": (-0.0, -0.0),
    "inf": (math.inf, math.inf),
    "nan": (math.nan, math.nan),
    "FSub": (FSub(0.75), 0.75),
    "np.float64": (np.float64(0.1), 0.1),
    "np.float32": (np.float32(0.1), 0.10000000149011612),
    "np.int64": (np.int64(-5), -5.0),
    "np.uint64_max": (np.uint64(2**64 - 1), 18446744073709551615.0),
    "np.True_": (np.True_, 1.0),
    "Fraction": (Fraction(1, 3), 1 / 3),
    "Decimal": (Decimal("1"), TypeError),
    "Decimal_snan": (Decimal("snan"), TypeError),
    "only__float__": (OnlyFloat(), TypeError),
    "complex": (1 + 2j, TypeError),
    "np.complex64": (np.complex64(1 + 2j), TypeError),
    "np.complex128": (np.complex128(3 + 4j), TypeError),
    "str": ("3", TypeError),
    "None": (None, TypeError),
}
COMPLEX = {"complex", "np.complex64", "np.complex128"}






def real_pow(base, exponent):
    """Python's float ** as the engines compute it: a ValueError where
    Python would go complex."""
    result = base**exponent
    if isinstance(result, complex):
        raise ValueError("a complex result")
    return result


A = 2.0  # the Value's data
# operator: (it written with v a Value and x the operand, micrograd's
# definition of it in floats: a the Value's data, f the operand's float value)
OPERATORS = {
    "add": (lambda v, x: v + x, lambda a, f: a + f),
    "radd": (lambda v, x: x + v, lambda a, f: f + a),
    "sub": (lambda v, x: v - x, lambda a, f: a + -f),  # self + (-other)
    "rsub": (lambda v, x: x - v, lambda a, f: f + a * -1.0),  # other + (-self)
    "mul": (lambda v, x: v * x, lambda a, f: a * f),
    "rmul": (lambda v, x: x * v, lambda a, f: f * a),
    "div": (lambda v, x: v / x, lambda a, f: a * real_pow(f, -1)),  # self * other**-1
    "rdiv": (lambda v, x: x / v, lambda a, f: f * real_pow(a, -1)),
    "pow": (lambda v, x: v**x, lambda a, f: real_pow(a, f)),
    "rpow": (lambda v, x: x**v, lambda a, f: real_pow(f, a)),
}


def expected(kind, definition):
    operand, value = KINDS[kind]
    return value if isinstance(value, type) else outcome(definition, value)


def test_the_table_is_pythons_float_arithmetic():
    """The kinds' values are what 2.0 + x computes with (float(x) where numpy
    answers with its own scalar); Python keeps a complex operand's imaginary
    part, which is why the engines refuse it rather than drop it."""
    for kind, (x, value) in KINDS.items():
        if kind in COMPLEX:
            assert (2.0 + x).imag != 0
        elif isinstance(value, type):
            with pytest.raises(value):
                2.0 + x
        elif type(2.0 + x) is float:
            assert same_bits(2.0 + x, 2.0 + value), kind
        else:
            assert same_bits(float(x), value), kind


@pytest.mark.parametrize("operator", OPERATORS)
@pytest.mark.parametrize("kind", KINDS)
def test_operators(Value, kind, operator):
    write, definition = OPERATORS[operator]
    v = Value(A)
    want = expected(kind, lambda f: definition(A, f))
    got = outcome(write, v, KINDS[kind][0])
    if isinstance(want, type) or isinstance(got, type):
        assert got is want, f"{operator} with x = {kind}: {got}, Python: {want}"
    else:
        assert isinstance(got, Value) and type(got.data) is float
        assert same_bits(got.data, want), f"{operator} with x = {kind}: {got.data!r}, Python: {want!r}"
        got.backward()
        assert type(v.grad) is float
    assert (v.data, type(v.data)) == (A, float)


# where a number goes into the fused ops, assign, Value(x) and the setters:
# (what it computes, given the engine, the operand and a Value only assign
# and the setters change; the same in floats, given the operand's value)
ARGUMENTS = {
    "dot_input": (lambda e, x, t: e.dot([e.Value(2.0)], [x]).data, lambda f: 0.0 + 2.0 * f),
    "dot_weight": (lambda e, x, t: e.dot([x], [e.Value(2.0)]).data, lambda f: 0.0 + f * 2.0),
    "dot_bias": (lambda e, x, t: e.dot([e.Value(2.0)], [e.Value(3.0)], x).data, lambda f: f + 6.0),
    "sum_entry": (lambda e, x, t: e.sum([e.Value(2.0), x]).data, lambda f: 0.0 + 2.0 + f),
    "sum_start": (lambda e, x, t: e.sum([e.Value(2.0)], x).data, lambda f: f + 2.0),
    "linear_input": (lambda e, x, t: e.linear([x], [[e.Value(2.0)]])[0].data, lambda f: 0.0 + 2.0 * f),
    "rmsnorm_eps": (lambda e, x, t: e.rmsnorm([e.Value(3.0), e.Value(4.0)], x)[0].data,
                    lambda f: 3.0 * real_pow(12.5 + f, -0.5)),
    "assign": (lambda e, x, t: (e.assign([t], [x]), t.data)[1], lambda f: f),
    "Value_x": (lambda e, x, t: e.Value(x).data, lambda f: f),
    "set_data": (lambda e, x, t: (setattr(t, "data", x), t.data)[1], lambda f: f),
    "set_grad": (lambda e, x, t: (setattr(t, "grad", x), t.grad)[1], lambda f: f),
}


@pytest.mark.parametrize("argument", ARGUMENTS)
@pytest.mark.parametrize("kind", KINDS)
def test_number_arguments(backend, kind, argument):
    compute, definition = ARGUMENTS[argument]
    target = backend.Value(0.25)
    want = expected(kind, definition)
    got = outcome(compute, backend, KINDS[kind][0], target)
    if isinstance(want, type) or isinstance(got, type):
        assert got is want, f"{argument} = {kind}: {got}, Python: {want}"
        assert (target.data, target.grad) == (0.25, 0.0), "a refused number changed the Value"
    elif argument == "rmsnorm_eps":  # the engine's own order of operations: equal to rounding
        assert type(got) is float and got == pytest.approx(want, rel=1e-15, nan_ok=True)
    else:
        assert type(got) is float
        assert same_bits(got, want), f"{argument} = {kind}: {got!r}, Python: {want!r}"


@pytest.mark.parametrize("kind", sorted(COMPLEX))
def test_a_complex_operand_is_refused_not_truncated(backend, kind, recwarn):
    x = KINDS[kind][0]
    v = backend.Value(2.0)
    for use in (lambda: v + x, lambda: x * v, lambda: backend.dot([v], [x]),
                lambda: backend.sum([v, x]), lambda: backend.linear([x], [[v]]),
                lambda: backend.rmsnorm([v], x), lambda: backend.assign([v], [x])):
        with pytest.raises(TypeError, match="complex"):
            use()
    assert v.data == 2.0
    assert not [w for w in recwarn if "imaginary" in str(w.message)], "a complex value was cast to real"
