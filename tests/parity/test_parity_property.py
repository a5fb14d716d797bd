"""Random expression DAGs, run on the compiled engine and on the reference:
the same data, the same grads (bit for bit), the same exception types."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from micrograd_fast import engine

reference = engine.load("pure")
try:
    compiled = engine.load("compiled")
except ImportError:
    pytest.skip("the compiled engine is not built", allow_module_level=True)

BINARY = ["add", "sub", "mul", "div", "pow_value"]
UNARY = ["relu", "tanh", "exp", "log", "sigmoid", "neg", "pow_const"]
CONSTANT_SIDE = ["radd", "rsub", "rmul", "rdiv", "add_c", "sub_c", "mul_c", "div_c"]

finite = st.floats(min_value=-4.0, max_value=4.0, allow_nan=False, allow_infinity=False)
exponents = st.sampled_from([2, 3, -1, 0.5, -0.5, 1.5, 0, 2.0])


@st.composite
def programs(draw):
    """A list of steps; each step makes a new node from earlier ones (shared
    subexpressions arise because any earlier node can be reused)."""
    n_leaves = draw(st.integers(1, 4))
    leaves = [draw(finite) for _ in range(n_leaves)]
    steps = []
    for i in range(draw(st.integers(1, 25))):
        available = n_leaves + i
        kind = draw(st.sampled_from(["binary", "unary", "constant", "fused"]))
        pick = st.integers(0, available - 1)
        if kind == "binary":
            steps.append((draw(st.sampled_from(BINARY)), draw(pick), draw(pick)))
        elif kind == "unary":
            steps.append((draw(st.sampled_from(UNARY)), draw(pick), draw(exponents)))
        elif kind == "constant":
            steps.append((draw(st.sampled_from(CONSTANT_SIDE)), draw(pick), draw(finite)))
        else:
            k = draw(st.integers(1, 4))
            steps.append((draw(st.sampled_from(["dot", "sum"])), [draw(pick) for _ in range(2 * k)], draw(finite)))
    return leaves, steps


def run(engine, program):
    """Builds and backpropagates the program; returns the data and grads of
    every node, or the type of the exception raised."""
    Value = engine.Value
    leaves, steps = program
    nodes = [Value(x) for x in leaves]
    try:
        for op, a, b in steps:
            nodes.append(apply(engine, op, nodes, a, b))
        root = nodes[-1]
        root.backward()
    except (ArithmeticError, ValueError) as exc:
        return type(exc)
    return [(repr(v.data), repr(v.grad)) for v in nodes]


def apply(engine, op, nodes, a, b):
    x = nodes[a] if isinstance(a, int) else None
    if op in BINARY:
        y = nodes[b]
        if op == "add":
            return x + y
        if op == "sub":
            return x - y
        if op == "mul":
            return x * y
        return x / y if op == "div" else x**y
    if op == "neg":
        return -x
    if op == "pow_const":
        return x**b
    if op in UNARY:
        return getattr(x, op)()
    if op == "radd":
        return b + x
    if op == "rsub":
        return b - x
    if op == "rmul":
        return b * x
    if op == "rdiv":
        return b / x
    if op == "add_c":
        return x + b
    if op == "sub_c":
        return x - b
    if op == "mul_c":
        return x * b
    if op == "div_c":
        return x / b
    picked = [nodes[i] for i in a]
    half = len(picked) // 2
    if op == "dot":
        return engine.dot(picked[:half], picked[half:], b)
    return engine.sum(picked, b)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_compiled_equals_reference(program):
    assert run(compiled, program) == run(reference, program)

