"""The one generator of random programs, used by every fuzzed test, and the
one interpreter that runs a program on any micrograd-like engine.

A program is (leaves, steps, passes):
- leaves: the numbers of the first nodes;
- steps: (op, args, number), each making a new node from earlier ones (args
  are node indices; any earlier node may be picked again, so nodes are
  shared); number is the constant, exponent, dot bias or sum start where the
  op takes one, else None;
- passes: what happens after building: "backward" (from the last node) or
  "reset" (every grad set to 0), one to three of them, so repeated backward
  calls and grad resets are covered.

run() returns the data of every node and every node's grad after each pass,
or the type of the exception raised (an ArithmeticError or ValueError).
"""

import builtins
import math

import pytest
from hypothesis import strategies as st


def _iadd(x, y):
    out = x
    out += y  # a new node, as micrograd's += is: x itself must not change
    return out


# op: (its kind, how it is built from (engine, nodes, number))
OPS = {
    "add": ("binary", lambda e, xs, c: xs[0] + xs[1]),
    "sub": ("binary", lambda e, xs, c: xs[0] - xs[1]),
    "mul": ("binary", lambda e, xs, c: xs[0] * xs[1]),
    "div": ("binary", lambda e, xs, c: xs[0] / xs[1]),
    "pow_value": ("binary", lambda e, xs, c: xs[0] ** xs[1]),
    "iadd": ("binary", lambda e, xs, c: _iadd(xs[0], xs[1])),
    "neg": ("unary", lambda e, xs, c: -xs[0]),
    "pow_const": ("unary", lambda e, xs, c: xs[0] ** c),  # c: one of the exponents
    "radd": ("constant", lambda e, xs, c: c + xs[0]),
    "rsub": ("constant", lambda e, xs, c: c - xs[0]),
    "rmul": ("constant", lambda e, xs, c: c * xs[0]),
    "rdiv": ("constant", lambda e, xs, c: c / xs[0]),
    "add_c": ("constant", lambda e, xs, c: xs[0] + c),
    "sub_c": ("constant", lambda e, xs, c: xs[0] - c),
    "mul_c": ("constant", lambda e, xs, c: xs[0] * c),
    "div_c": ("constant", lambda e, xs, c: xs[0] / c),
    "dot": ("fused", lambda e, xs, c: e.dot(xs[: len(xs) // 2], xs[len(xs) // 2:], c)),
    "sum": ("fused", lambda e, xs, c: e.sum(xs, c)),
}


def _unary_ops():
    """The engines' unary op ids (their op table's UNARY_OPS, also the Value
    method names), so a new op is fuzzed without an edit here; micrograd's
    five while an engine exports no table."""
    try:
        from micrograd_fast import engine
        return tuple(engine.load("pure").UNARY_OPS)
    except (ImportError, AttributeError):
        return ("relu", "tanh", "exp", "log", "sigmoid")


for _op in _unary_ops():
    OPS.setdefault(_op, ("unary", lambda e, xs, c, op=_op: getattr(xs[0], op)()))


# the fused nodes written out as micrograd's Neuron and builtins.sum would
WRITTEN_OUT = {
    "dot": lambda e, xs, c: builtins.sum((w * x for w, x in zip(xs[: len(xs) // 2], xs[len(xs) // 2:])), c),
    "sum": lambda e, xs, c: builtins.sum(xs, c),
}

ALL_OPS = list(OPS)
# what upstream micrograd 0.1.0's Value has: no Value exponent, no tanh, exp,
# log or sigmoid, no fused nodes
UPSTREAM_OPS = ["add", "sub", "mul", "div", "iadd", "neg", "relu", "pow_const",
                "radd", "rsub", "rmul", "rdiv", "add_c", "sub_c", "mul_c", "div_c"]

NUMBERS = st.floats(min_value=-4.0, max_value=4.0, allow_nan=False, allow_infinity=False)  # 0 and tiny ones too
# for comparisons to rounding: away from 0, where a different summation
# order can turn a cancellation into a relative error of any size
AWAY_FROM_ZERO = st.floats(min_value=-3, max_value=3, allow_nan=False).filter(lambda x: abs(x) > 1e-3)
EXPONENTS = st.sampled_from([2, 3, -1, 0.5, -0.5, 1.5, 0, 2.0])
PASSES = st.lists(st.sampled_from(["backward", "reset", "backward"]), min_size=1, max_size=3)


@st.composite
def programs(draw, ops=ALL_OPS, numbers=NUMBERS, exponents=EXPONENTS, passes=PASSES):
    """Programs of up to 25 steps over 1 to 4 leaves, using only ops. A
    step's kind is drawn first, then its op, so each kind is as likely."""
    kinds = {}
    for op in ops:
        kinds.setdefault(OPS[op][0], []).append(op)
    leaves = draw(st.lists(numbers, min_size=1, max_size=4))
    steps = []
    for i in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(sorted(kinds)))
        op = draw(st.sampled_from(kinds[kind]))
        pick = st.integers(0, len(leaves) + i - 1)
        arity = {"binary": 2, "fused": 2 * draw(st.integers(1, 4))}.get(kind, 1)
        args = tuple(draw(pick) for _ in range(arity))
        number = exponents if op == "pow_const" else {"constant": numbers, "fused": numbers}.get(kind)
        steps.append((op, args, None if number is None else draw(number)))
    return leaves, steps, draw(passes)


def run(engine, program, fused=True):
    """Runs program on engine (a module or namespace with Value, and dot and
    sum if the program has fused steps; with fused=False they are written
    out in plain ops instead)."""
    leaves, steps, passes = program
    nodes = [engine.Value(x) for x in leaves]
    trace = []
    try:
        for op, args, number in steps:
            build = OPS[op][1] if fused else WRITTEN_OUT.get(op, OPS[op][1])
            nodes.append(build(engine, [nodes[i] for i in args], number))
        for what in passes:
            if what == "reset":
                for v in nodes:
                    v.grad = 0
            else:
                nodes[-1].backward()
            trace.append([v.grad for v in nodes])
    except (ArithmeticError, ValueError) as exc:
        return type(exc)
    except TypeError:
        if went_complex(nodes):
            return ValueError  # upstream went complex where our engines raise ValueError
        raise
    if went_complex(nodes):
        return ValueError
    return [v.data for v in nodes], trace


def went_complex(nodes):
    return any(isinstance(v.data, complex) for v in nodes)


def assert_close(ours, theirs):
    """Two runs agree to rounding: both raise, or the same data and grads up
    to summation order (a NaN matches a NaN)."""
    if isinstance(ours, type) or isinstance(theirs, type):
        # micrograd keeps ints where we keep floats, so a few errors differ
        # in kind (int 0 ** -1 vs float); both must still fail
        assert isinstance(ours, type) == isinstance(theirs, type)
        return
    (data, grads), (their_data, their_grads) = ours, theirs
    assert data == pytest.approx(their_data, rel=1e-12, abs=1e-12, nan_ok=True)
    assert len(grads) == len(their_grads)
    for mine, other in zip(grads, their_grads):
        for g, h in zip(mine, other):
            assert g == h or math.isclose(g, h, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(g) and math.isnan(h))
