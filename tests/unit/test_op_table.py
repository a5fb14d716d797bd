"""Every op of the op tables (issue 17), on both engines: the two engines name
the same ops; each unary op, read from the reference's table (so a new row
is tested without editing this file), is bit-identical to Python's math
forward with its errors, has the row's _op name, and a derivative that
matches central differences, PyTorch, _local_grads and the reference; every
op id can be built, run, differentiated and replayed on a tape."""

import importlib
import math
import random

import pytest
from outcomes import outcome, same_bits

from micrograd_fast import engine

inf, nan = math.inf, math.nan


def _reference_table():
    """(unary op ids, {id: row}, None) read from the reference engine's op
    table, or ((), {}, why not): a missing table must fail the tests that
    need it, not stop the collection of the whole suite."""
    try:
        reference = engine.load("pure")
        ops = importlib.import_module(engine.MODULES["pure"] + ".ops")
        unary = tuple(reference.UNARY_OPS)
        return unary, {op: ops.TABLE[op] for op in unary}, None
    except Exception as exc:  # noqa: BLE001 - any failure is reported by the tests
        return (), {}, f"the reference engine's op table is unusable: {type(exc).__name__}: {exc}"


def _all_op_ids():
    """Every op id either engine's OPS names (they must be the same set; a
    test below says so), or the reason there are none."""
    found, why = set(), []
    for name in engine.MODULES:
        try:
            found |= set(engine.load(name).OPS)
        except Exception as exc:  # noqa: BLE001
            why.append(f"{name}: {type(exc).__name__}: {exc}")
    return sorted(found), "; ".join(why) or None


UNARY, ROWS, TABLE_ERROR = _reference_table()
ALL_OPS, OPS_ERROR = _all_op_ids()
MISSING = "-missing-"
UNARY_PARAMS = UNARY or [pytest.param(MISSING, id="no-op-table")]
ALL_PARAMS = ALL_OPS or [pytest.param(MISSING, id="no-OPS")]

# the ops micrograd's family and the README promise: the engines may add to these
CONTRACT_OPS = {"add", "mul", "pow", "powv", "relu", "tanh", "exp", "log", "sigmoid", "sin", "cos",
                "abs", "sqrt", "dot", "sum", "rms_scale", "expsum", "softmax", "log_softmax", "nll", "embed"}
CONTRACT_UNARY = {"relu", "tanh", "exp", "log", "sigmoid", "sin", "cos", "abs", "sqrt"}
ROW_FIELDS = ("name", "arity", "forward", "local", "domain", "edges")
# inputs every unary op is tried at besides its row's edges
EXTREMES = (0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-300, -1e-300, 5e-324, 1e300, -1e300, 710.0, inf, -inf, nan)


def row_of(op):
    if op == MISSING:
        pytest.fail(TABLE_ERROR or "the reference engine exports no UNARY_OPS")
    return ROWS[op]


def python_forward(op):
    """The oracle: Python's math function of that name (abs is math.fabs),
    else the reference table's own forward."""
    if op == "abs":
        return math.fabs
    return getattr(math, op, None) or row_of(op).forward


def samples(op, n=24, bound=None):
    """n inputs drawn (seeded) from the row's domain, optionally inside
    [-bound, bound]."""
    lo, hi = row_of(op).domain
    limit = bound if bound is not None else 50.0
    lo, hi = max(lo, -limit), min(hi, limit)
    rnd = random.Random(op)
    return [rnd.uniform(lo, hi) for _ in range(n)]


def tried_inputs(op):
    return [*samples(op), *row_of(op).edges, *EXTREMES]






def apply(Value, op, x):
    return getattr(Value(x), op)()


def forward_of(Value, op, x):
    return apply(Value, op, x).data


def derivative_of(Value, op, x, weight=1.0):
    """x.grad after backward() from op(x) * weight, or the exception type."""
    leaf = Value(x)
    try:
        out = getattr(leaf, op)()
        (out * weight if weight != 1.0 else out).backward()
    except Exception as exc:  # noqa: BLE001
        return type(exc)
    return leaf.grad


# --- the two tables ------------------------------------------------------------


def test_both_engines_export_the_same_ops(compiled, reference):
    assert set(compiled.OPS) == set(reference.OPS)
    assert set(compiled.UNARY_OPS) == set(reference.UNARY_OPS)
    for module in (compiled, reference):
        assert len(set(module.OPS)) == len(module.OPS), "an op id is listed twice"
        assert set(module.UNARY_OPS) <= set(module.OPS)
        assert CONTRACT_OPS <= set(module.OPS) and CONTRACT_UNARY <= set(module.UNARY_OPS)
        assert all(callable(getattr(module.Value, op)) for op in module.UNARY_OPS)
    assert {"OPS", "UNARY_OPS"} <= set(engine.API)


@pytest.mark.parametrize("op", UNARY_PARAMS)
def test_the_reference_row_has_what_the_tests_read(op):
    row = row_of(op)
    missing = [field for field in ROW_FIELDS if not hasattr(row, field)]
    assert not missing, f"the {op} row lacks {missing}"
    assert row.arity == 1 and isinstance(row.name, str)
    assert callable(row.forward) and callable(row.local)
    lo, hi = row.domain
    assert lo < hi and all(type(x) in (int, float) for x in row.edges)


# --- each unary op: forward ----------------------------------------------------------


@pytest.mark.parametrize("op", UNARY_PARAMS)
def test_forward_is_bit_identical_to_python(Value, op):
    oracle = python_forward(op)
    for x in tried_inputs(op):
        ours, theirs = outcome(forward_of, Value, op, x), outcome(oracle, x)
        assert same_bits(ours, theirs), f"{op}({x!r}): {ours!r}, Python: {theirs!r}"
        if not isinstance(ours, type):
            assert type(ours) is float


@pytest.mark.parametrize("op, x, error", [
    ("sqrt", -1.0, ValueError), ("sqrt", -inf, ValueError), ("sin", inf, ValueError),
    ("sin", -inf, ValueError), ("cos", inf, ValueError), ("log", 0.0, ValueError),
    ("log", -1.0, ValueError), ("exp", 1000.0, OverflowError),
])
def test_pythons_exception_where_math_raises(Value, op, x, error):
    with pytest.raises(error):
        getattr(math, op)(x)
    leaf = Value(x)
    with pytest.raises(error):
        getattr(leaf, op)()
    assert (leaf.data, leaf.grad) == (x, 0.0)


@pytest.mark.parametrize("op", UNARY_PARAMS)
def test_op_name_is_the_rows(Value, op):
    x = samples(op, 1)[0]
    out = apply(Value, op, x)
    assert out._op == row_of(op).name
    assert len(out._prev) == 1 and out._children[0].data == x


def test_abs_is_also_the_builtin(Value):
    v = Value(-1.5)
    out = abs(v)
    assert (out.data, out._op) == (1.5, v.abs()._op)
    out.backward()
    assert v.grad == -1.0


# --- each unary op: derivative --------------------------------------------------------


@pytest.mark.parametrize("op", UNARY_PARAMS)
def test_derivative_matches_central_differences(Value, op):
    edges = [e for e in row_of(op).edges if math.isfinite(e)]
    checked = 0
    for x in samples(op, bound=20.0):
        if any(abs(x - e) < 1e-2 for e in edges):
            continue  # a kink or domain edge between x - h and x + h
        h = 1e-6 * max(1.0, abs(x))
        up, down = outcome(forward_of, Value, op, x + h), outcome(forward_of, Value, op, x - h)
        if isinstance(up, type) or isinstance(down, type) or not math.isfinite(up - down):
            continue
        numeric = (up - down) / (2 * h)
        assert derivative_of(Value, op, x) == pytest.approx(numeric, rel=1e-5, abs=1e-6), f"{op}'({x})"
        checked += 1
    assert checked >= 10, f"only {checked} of {op}'s samples could be checked: widen its domain"


@pytest.mark.parametrize("op", UNARY_PARAMS)
def test_forward_and_derivative_match_torch(Value, op):
    torch = pytest.importorskip("torch")
    function = getattr(torch, op, None)
    if function is None:
        pytest.skip(f"torch has no {op}")
    for x in [*samples(op), *row_of(op).edges]:
        if x != x or isinstance(outcome(python_forward(op), x), type):
            continue  # torch's nan slopes differ (relu's is 1), and torch returns nan where math raises
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        y = function(t)
        y.backward()
        ours = derivative_of(Value, op, x)
        assert forward_of(Value, op, x) == pytest.approx(y.item(), rel=1e-13, abs=1e-300, nan_ok=True), f"{op}({x})"
        assert ours == pytest.approx(t.grad.item(), rel=1e-12, abs=1e-300, nan_ok=True), f"{op}'({x})"


@pytest.mark.parametrize("op", UNARY_PARAMS)
def test_local_grads_are_what_backward_accumulates(Value, op):
    """microgpt's rule child.grad += local * out.grad, at samples and edges."""
    for x in tried_inputs(op):
        out = outcome(apply, Value, op, x)
        if isinstance(out, type):
            continue  # the forward raised: the forward test checks which error
        local = outcome(lambda: out._local_grads)
        if isinstance(local, type):
            assert derivative_of(Value, op, x) is local
            continue
        assert len(local) == 1 and type(local[0]) is float
        # the leaf's grad starts at 0.0: 0.0 + local * g (a -0.0 local reads as 0.0)
        assert same_bits(derivative_of(Value, op, x), 0.0 + local[0] * 1.0), f"{op}'({x})"
        assert same_bits(derivative_of(Value, op, x, 3.0), 0.0 + local[0] * 3.0), f"3 * {op}'({x})"


@pytest.mark.parametrize("op", UNARY_PARAMS)
def test_derivative_is_the_references(Value, op):
    reference = engine.load("pure")
    for x in tried_inputs(op):
        ours, theirs = derivative_of(Value, op, x), derivative_of(reference.Value, op, x)
        assert same_bits(ours, theirs), f"{op}'({x}): {ours!r}, reference {theirs!r}"


@pytest.mark.parametrize("op, x", [("abs", 0.0), ("abs", -0.0), ("relu", 0.0), ("relu", -0.0)])
def test_slope_at_a_kink_is_pytorchs_zero(Value, op, x):
    assert derivative_of(Value, op, x) == 0.0
    assert apply(Value, op, x)._local_grads == (0.0,)


@pytest.mark.parametrize("exponent", [0, 0.0])
@pytest.mark.parametrize("x", [0.0, -0.0, 2.0, -3.0, 1e-300, inf, nan])
def test_slope_of_x_to_the_zero_is_zero_everywhere(Value, x, exponent):
    """PyTorch's: micrograd's 0 * x ** -1 divides by zero at 0 and is nan at nan."""
    leaf = Value(x)
    out = leaf**exponent
    assert out.data == 1.0 and out._local_grads == (0.0,)
    (out * 2.0).backward()
    assert leaf.grad == 0.0


# --- every op id, built through the public API ------------------------------------------

# how to reach each op that is not a unary method; a new op id needs a line here
BUILDERS = {
    "add": lambda e, a, b, c: a + b,
    "mul": lambda e, a, b, c: a * b,
    "pow": lambda e, a, b, c: a**3,
    "powv": lambda e, a, b, c: a**b,
    "dot": lambda e, a, b, c: e.dot([a, b], [b, 2.0], c),
    "sum": lambda e, a, b, c: e.sum([a, b, 1.5], c),
    "rms_scale": lambda e, a, b, c: e.dot(e.rmsnorm([a, b, c]), [1.0, -2.0, 0.5]),
    "expsum": lambda e, a, b, c: e.dot(e.softmax([a, b, c]), [1.0, -2.0, 0.5]),
    "softmax": lambda e, a, b, c: e.dot(e.softmax([a, b, c]), [1.0, -2.0, 0.5]),
    "log_softmax": lambda e, a, b, c: e.dot(e.log_softmax([a, b, c]), [1.0, -2.0, 0.5]),
    "nll": lambda e, a, b, c: e.cross_entropy([a, b, c], 1),
    "embed": lambda e, a, b, c: e.dot(e.embedding([[a, b], [c, a]], 1), [b, 3.0]),
}


def build(backend, op, numbers=(0.7, 1.3, 0.4)):
    if op == MISSING:
        pytest.fail(OPS_ERROR or "no engine exports OPS")
    leaves = [backend.Value(x) for x in numbers]
    if op in getattr(backend, "UNARY_OPS", ()):
        a, b, c = leaves
        return getattr(a * b, op)() * c, leaves
    assert op in BUILDERS, (f"op {op!r} has no builder in test_op_table.BUILDERS: add one that "
                            f"reaches it through the public API")
    return BUILDERS[op](backend, *leaves), leaves


@pytest.mark.parametrize("op", ALL_PARAMS)
def test_every_op_runs_forward_backward_and_on_a_tape(backend, op):
    assert op in backend.OPS
    root, leaves = build(backend, op)
    assert math.isfinite(root.data)
    root.backward()
    grads = [v.grad for v in leaves]
    order = backend.topo_order(root)
    for node in order:
        if node._children:
            local = node._local_grads
            assert len(local) == len(node._children) and all(type(g) is float for g in local), node._op
    # microgpt's backward over _children and _local_grads gives backward()'s grads
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        for child, local in zip(node._children, node._local_grads or ()):
            child.grad += local * node.grad
    assert [v.grad for v in leaves] == pytest.approx(grads, rel=1e-12, abs=1e-15)
    # a tape replays the graph: new leaf data give what a graph built on them gives
    tape = backend.compile(root)
    fresh, fresh_leaves = build(backend, op, (0.9, 1.1, 0.3))
    fresh.backward()
    for v, x in zip(leaves, (0.9, 1.1, 0.3)):
        v.data = x
    assert tape.forward() == root.data == fresh.data
    for node in order:
        node.grad = 0.0
    tape.backward()
    assert [v.grad for v in leaves] == [v.grad for v in fresh_leaves]


def test_a_new_op_without_a_builder_fails_clearly(backend):
    with pytest.raises(AssertionError, match="no builder"):
        build(type("Engine", (), {"Value": backend.Value, "UNARY_OPS": ()}), "frobnicate")
