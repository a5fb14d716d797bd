"""Derivatives of derivatives (issue 19) on both engines: first, second and
third derivatives of random programs over every op (programs.py's
generator) against torch.autograd.grad(create_graph=True) where torch is
installed, and against central differences everywhere; grad's numbers equal
to backward()'s bit for bit; each op's second derivative at its row's edge
points and each fused op's Hessian against torch's."""

import importlib
import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from programs import OPS, programs

import micrograd_fast as mf
from micrograd_fast import engine

ENGINES = list(engine.MODULES)
W1, W2 = (1.0, -0.5, 0.25, 2.0), (0.75, 1.5, -1.0, 0.5)  # the directions orders 2 and 3 are taken along
FAILS = (ArithmeticError, ValueError)  # Python's float errors, where torch returns inf or nan


def same_bits(x, y):
    """Equal as floats down to the sign of zero (a NaN equals a NaN)."""
    if x != x or y != y:
        return x != x and y != y
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)


def engine_named(name):
    try:
        return engine.load(name)
    except ImportError as exc:
        pytest.skip(f"{name} engine not importable: {exc}")


def build(backend, program, leaves=None):
    """The program's nodes on backend (a module, or the torch stand-in)."""
    data, steps, _ = program
    nodes = [backend.Value(x) for x in (data if leaves is None else leaves)]
    for op, args, number in steps:
        make = TORCH_BUILDERS.get(op, OPS[op][1]) if backend is TorchEngine else OPS[op][1]
        nodes.append(make(backend, [nodes[i] for i in args], number))
    return nodes


def number(g):
    """A derivative (a Value, a tensor or None for unused) as a float."""
    return 0.0 if g is None else float(g.data)


def orders(grad, dot, root, leaves):
    """[g1, g2, g3]: g1 the gradient of root, g(k+1) the gradient of
    W_k . g_k (a Hessian-vector product, then a third-derivative one), each
    a list of numbers; zeros where nothing reaches a leaf."""
    found, scalar = [], root
    for k in range(3):
        gs = [None] * len(leaves) if scalar is None else grad(scalar, leaves, k < 2)
        found.append([number(g) for g in gs])
        pairs = [(g, w) for g, w in zip(gs, (W1, W2)[k % 2]) if g is not None]
        scalar = dot(pairs) if pairs and k < 2 else None
    return found


def our_orders(backend, root, leaves, sizes=None):
    """orders() on backend; sizes, if a list, gains the |data| of every node
    of every derivative graph (the terms a cancelling entry was summed from)."""
    def grad(out, xs, create):
        gs = backend.grad(out, xs, create_graph=create, allow_unused=True)
        if sizes is not None and create:
            sizes.extend(abs(v.data) for g in gs if g is not None for v in backend.topo_order(g))
        return gs
    return orders(grad, lambda pairs: backend.dot([g for g, _ in pairs], [w for _, w in pairs]), root, leaves)


# --- torch -----------------------------------------------------------------------------


class TorchEngine:
    """Just enough of an engine for programs.py's builders, over float64 tensors."""

    torch = None

    @classmethod
    def Value(cls, x):
        return cls.torch.tensor(float(x), dtype=cls.torch.float64, requires_grad=True)

    @staticmethod
    def dot(ws, xs, start=0.0):
        acc = start
        for w, x in zip(ws, xs):
            acc = acc + w * x
        return acc

    @staticmethod
    def sum(xs, start=0.0):
        acc = start
        for x in xs:
            acc = acc + x
        return acc


TORCH_BUILDERS = {"iadd": lambda e, xs, c: xs[0] + xs[1]}  # += on a tensor would write in place
# our unary ops that a tensor has no method for: torch.heaviside has no
# derivative, so step is a comparison (no graph: slope 0, as ours)
TORCH_UNARY = {"step": lambda t: (t > 0).to(t.dtype)}
TORCH_BUILDERS.update({op: (lambda f: lambda e, xs, c: f(xs[0]))(f) for op, f in TORCH_UNARY.items()})


def torch_orders(root, leaves):
    torch = TorchEngine.torch

    def grad(out, xs, create):
        if not out.requires_grad:
            return [None] * len(xs)
        return torch.autograd.grad(out, xs, create_graph=create, allow_unused=True)
    return orders(grad, lambda pairs: TorchEngine.sum([g * w for g, w in pairs]), root, leaves)


def need_torch():
    TorchEngine.torch = pytest.importorskip("torch")
    return TorchEngine.torch


@pytest.fixture
def torch():
    return need_torch()


def close(ours, theirs, scale, rel):
    """Equal to rounding: rel relative, or rel times the scale of the order
    (summation orders differ, so a cancelling entry keeps only absolute
    accuracy)."""
    return ours == theirs or abs(ours - theirs) <= rel * max(abs(theirs), scale)


@pytest.mark.parametrize("name", ENGINES)
@settings(max_examples=40)
@given(program=programs(passes=st.just(["backward"])))
@example(program=([6.723099277730076e-68], [("div", (0, 0), None)], ["backward"]))  # x / x: huge terms cancel
@example(program=([0.0], [("relu", (0,), None), ("sqrt", (1,), None)], ["backward"]))  # inf * 0: skipped
@example(program=([0.0], [("step", (0,), None), ("radd", (0,), -1.0), ("pow_value", (2, 1), None)], ["backward"]))
def test_three_orders_match_torch(name, program):
    need_torch()
    backend = engine_named(name)
    try:
        nodes = build(backend, program)
        sizes = [abs(v.data) for v in nodes]
        ours = our_orders(backend, nodes[-1], nodes[: len(program[0])], sizes)
    except FAILS:
        return  # Python's float errors: torch has an inf or a nan there instead
    if not all(math.isfinite(v.data) for v in nodes):
        return
    if not all(math.isfinite(t) for t in sizes):
        # a slope of inf (sqrt at 0) or nan (a ** b's by b at a < 0) that micrograd's arithmetic
        # multiplies by a zero slope (relu's, step's), nan, where torch masks or cuts the path
        return
    theirs_nodes = build(TorchEngine, program)
    theirs = torch_orders(theirs_nodes[-1], theirs_nodes[: len(program[0])])
    # cancellation leaves only absolute accuracy, relative to the sizes
    # around: every node's data, every node of the derivative graphs (x / x's
    # third derivative cancels terms of size x ** -4) and every derivative
    scale = max(t for t in sizes + [abs(t) for order in theirs for t in order] if math.isfinite(t))
    for k, (mine, other) in enumerate(zip(ours, theirs)):
        for j, (a, t) in enumerate(zip(mine, other)):
            if math.isfinite(t):
                assert close(a, t, scale, 1e-12), f"order {k + 1}, leaf {j}: ours {a!r}, torch {t!r}"
    # hvp (forward-over-reverse on the compiled engine) is the second order's H W1
    n = len(program[0])
    hv = mf.hvp(nodes[-1], nodes[:n], [W1[i] if i < len(W1) else 0.0 for i in range(n)])
    for j, (a, t) in enumerate(zip(hv, theirs[1])):
        if math.isfinite(t):
            assert close(a, t, scale, 1e-12), f"hvp, leaf {j}: ours {a!r}, torch {t!r}"


def scalar_of_order(backend, program, leaves, k):
    """S_k at the given leaf data: the root (k = 0), W1 . g1 (k = 1), W2 . g2 (k = 2)."""
    nodes = build(backend, program, leaves)
    root, xs = nodes[-1], nodes[: len(leaves)]
    scalar = root
    for i in range(k):
        gs = backend.grad(scalar, xs, create_graph=True, allow_unused=True)
        pairs = [(g, w) for g, w in zip(gs, (W1, W2)[i]) if g is not None]
        if not pairs:
            return 0.0
        scalar = backend.dot([g for g, _ in pairs], [w for _, w in pairs])
    return scalar.data


def differences(backend, program, k, j, h):
    """S_k's central difference in leaf j with steps h and h / 2, and its
    one-sided ones with step h (they differ where a kink is within h: a
    piecewise-linear S has central differences that agree at any step)."""
    def at(offset):
        x = list(program[0])
        x[j] += offset
        return scalar_of_order(backend, program, x, k)
    values = down, half_down, mid, half_up, up = [at(o) for o in (-h, -h / 2, 0.0, h / 2, h)]
    if max(map(abs, values)) > 1e6:
        return (math.nan,) * 4  # a difference of huge numbers keeps few digits: no estimate
    return (up - down) / (2 * h), (half_up - half_down) / h, (up - mid) / h, (mid - down) / h


def near_a_branch(nodes):
    """Whether a node's input is at (or within differencing reach of) a
    point where its slope is a convention, PyTorch's, not a limit: relu and
    abs at 0 (relu(x * x) at 0 has slope 0 there, though its values are x * x
    around it), step and sign at 0 (a jump), sqrt at 0 (its slope the
    constant inf, so sqrt(x - x) has slope inf * 0 = nan where its values
    are 0 around it), Value ** Value at a base of 0 or an exponent of 0, 1, 2 or 3
    (its derivative graphs hold a ** (b - k), whose slope in a at b - k == 0
    is the constant 0 also in PyTorch, though its derivative in b is not)."""
    for v in nodes:
        kids = v._children
        if v._op in ("ReLU", "abs", "step", "sign", "sqrt") and abs(kids[0].data) < 1e-3:
            return True
        if v._op == "**" and len(kids) == 2 and (abs(kids[0].data) < 1e-3 or
                                                  min(abs(kids[1].data - k) for k in range(4)) < 1e-3):
            return True
    return False


@pytest.mark.parametrize("name", ENGINES)
@settings(max_examples=25)
@given(program=programs(passes=st.just(["backward"])))
@example(program=([1.515657615575493e-72], [("div", (0, 0), None)], ["backward"]))  # huge terms: skipped
def test_three_orders_match_central_differences(name, program):
    """g(k+1)_j against central differences of S_k in leaf j; a leaf where the
    step sizes or the two sides disagree (a kink or a pole within the step)
    is left out."""
    backend = engine_named(name)
    try:
        nodes = build(backend, program)
        if near_a_branch(nodes) or any(abs(v.data) > 1e100 or 0 < abs(v.data) < 1e-100 for v in nodes):
            return  # conventions, or derivatives that overflow (x / (x * 1e300): 0 * inf) where S is tame
        sizes = []
        ours = our_orders(backend, nodes[-1], nodes[: len(program[0])], sizes)
        if any(t > 1e100 for t in sizes):
            return  # terms of a derivative graph that huge cancel to noise (x / x's: x ** -4 at 1e-72)
        for k in range(3):
            for j, x in enumerate(program[0]):
                estimates = coarse, fine, forward, backward = differences(backend, program, k, j, 1e-4 * max(1.0, abs(x)))
                if not all(map(math.isfinite, estimates)):
                    continue
                scale = max(1.0, *map(abs, estimates))  # the estimates', never ours: ours must not widen it
                if not close(coarse, fine, scale, 1e-5) or not close(forward, backward, scale, 1e-2):
                    continue
                assert close(ours[k][j], fine, scale, 1e-4), f"order {k + 1}, leaf {j}: {ours[k][j]!r} vs {fine!r}"
    except FAILS:
        return


@pytest.mark.parametrize("name", ENGINES)
@settings(max_examples=60)
@given(program=programs(passes=st.just(["backward"])))
def test_grad_is_backward_bit_for_bit(name, program):
    backend = engine_named(name)
    try:
        nodes = build(backend, program)
        leaves = nodes[: len(program[0])]
        got = [None if g is None else g.data for g in backend.grad(nodes[-1], leaves, allow_unused=True)]
        nodes[-1].backward()
    except FAILS:
        return  # backward() and grad run the same rules: both raise
    for g, v in zip(got, leaves):
        assert same_bits(0.0 if g is None else g, v.grad)


# --- each op at its edges -------------------------------------------------------------------


def _rows():
    ops = importlib.import_module(engine.MODULES["pure"] + ".ops")
    return ops.TABLE


ROWS = _rows()
# where our second derivative is deliberately not torch's: sqrt's first
# derivative at 0 is the constant inf (its slope, as the row's local says), so
# its derivative is 0 where torch's is -inf or nan
DIFFERENT = {("sqrt", 0.0), ("sqrt", -0.0), ("sqrt", 5e-324)}


def unary_cases():
    return [(op, x) for op in engine.load("pure").UNARY_OPS for x in ROWS[op].edges]


def second_derivative(grad_fn, out, x):
    [d1] = grad_fn(out, [x], True)
    if d1 is None:
        return 0.0, 0.0
    [d2] = grad_fn(d1, [x], False)
    return number(d1), number(d2)


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("op, x", unary_cases())
def test_second_derivative_at_each_edge_matches_torch(torch, name, op, x):
    backend = engine_named(name)
    v = backend.Value(x)
    try:
        out = getattr(v, op)()
        ours = second_derivative(lambda o, xs, c: backend.grad(o, xs, create_graph=c, allow_unused=True), out, v)
    except FAILS:
        return  # Python's error where torch returns nan (checked by test_op_table for the forward)
    t = TorchEngine.Value(x)
    tout = TORCH_UNARY[op](t) if op in TORCH_UNARY else getattr(t, op)()
    theirs = second_derivative(
        lambda o, xs, c: torch.autograd.grad(o, xs, create_graph=c, allow_unused=True) if o.requires_grad
        else [None], tout, t)
    if x != x:
        return  # torch's slopes at nan differ by op (relu's is 1); ours are nan or the kink's constant
    checked = [theirs[0]] + ([] if (op, x) in DIFFERENT else [theirs[1]])
    for a, b in zip(ours, checked):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-300, nan_ok=True), f"{op} at {x}: ours {ours}, torch {theirs}"


OPERATORS = {"add": lambda xs, e: xs[0] + xs[1], "mul": lambda xs, e: xs[0] * xs[1],
             "pow": lambda xs, e: xs[0] ** e, "powv": lambda xs, e: xs[0] ** xs[1]}


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("op_id", list(OPERATORS))
def test_operator_hessians_at_their_edges_match_torch(torch, name, op_id):
    backend = engine_named(name)
    for pair in ROWS[op_id].edges:
        n = 1 if op_id == "pow" else 2  # pow's exponent is a number, not an input
        xs = [backend.Value(c) for c in pair[:n]]
        try:
            ours = mf.hessian(OPERATORS[op_id](xs, pair[1]), xs)
        except FAILS:
            continue
        theirs = torch.autograd.functional.hessian(lambda t: OPERATORS[op_id]([t[i] for i in range(n)], pair[1]),
                                                   _tensor(list(pair[:n])))
        for i in range(n):
            for j in range(n):
                t = theirs[i][j].item()
                if math.isfinite(t):
                    assert ours[i][j] == pytest.approx(t, rel=1e-12, abs=1e-300), (op_id, pair, ours, theirs)


# --- the fused ops' Hessians ----------------------------------------------------------------

# each fused op in a scalar function of three inputs, ours and torch's written out
FUSED = {
    "dot": (lambda e, a, b, c: e.dot([a, b, c], [c, a, 2.0], b),
            lambda a, b, c: b + a * c + b * a + c * 2.0),
    "sum": (lambda e, a, b, c: e.sum([a * a, b * c, c], 1.5).tanh(),
            lambda a, b, c: (1.5 + a * a + b * c + c).tanh()),
    "linear": (lambda e, a, b, c: e.sum([y.tanh() for y in e.linear([a, b, c], [[a, b, c], [1.0, 2.0, b]])]),
               lambda a, b, c: (a * a + b * b + c * c).tanh() + (a + 2 * b + b * c).tanh()),
    "rmsnorm": (lambda e, a, b, c: e.dot(e.rmsnorm([a, b, c]), [1.0, -2.0, 0.5]),
                lambda a, b, c: (a - 2 * b + 0.5 * c) * ((a * a + b * b + c * c) / 3 + 1e-5) ** -0.5),
    "softmax": (lambda e, a, b, c: e.dot(e.softmax([a, b * a, c]), [1.0, -2.0, 0.5]),
                lambda a, b, c: _torch_softmax([a, b * a, c]) @ _tensor([1.0, -2.0, 0.5])),
    "log_softmax": (lambda e, a, b, c: e.dot(e.log_softmax([a, b * a, c]), [1.0, -2.0, 0.5]),
                    lambda a, b, c: _torch_softmax([a, b * a, c]).log() @ _tensor([1.0, -2.0, 0.5])),
    "cross_entropy": (lambda e, a, b, c: e.cross_entropy([a, b * a, c], 1),
                      lambda a, b, c: -_torch_softmax([a, b * a, c]).log()[1]),
    "cross_entropy Value target": (lambda e, a, b, c: e.cross_entropy([a, b * c, c], e.Value(2.0)),
                                   lambda a, b, c: -_torch_softmax([a, b * c, c]).log()[2]),
    "embedding": (lambda e, a, b, c: e.sum([v * v * c for v in e.embedding([[a, b], [c, a * b]], e.Value(1.0))]),
                  lambda a, b, c: c * c * c + (a * b) * (a * b) * c),
}


def _tensor(xs):
    return TorchEngine.torch.tensor(xs, dtype=TorchEngine.torch.float64)


def _torch_softmax(xs):
    return TorchEngine.torch.softmax(TorchEngine.torch.stack(xs), 0)


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("case", list(FUSED))
def test_fused_op_hessians_match_torch(torch, name, case):
    backend = engine_named(name)
    ours_fn, torch_fn = FUSED[case]
    for point in ((0.3, -1.1, 0.7), (1.5, 0.4, -2.0)):
        xs = [backend.Value(x) for x in point]
        ours = mf.hessian(ours_fn(backend, *xs), xs)
        theirs = torch.autograd.functional.hessian(lambda t: torch_fn(t[0], t[1], t[2]), _tensor(list(point)))
        for i in range(3):
            for j in range(3):
                assert ours[i][j] == pytest.approx(theirs[i][j].item(), rel=1e-12, abs=1e-13), (case, point, i, j)
        assert mf.gradgradcheck(lambda *v: ours_fn(backend, *v), xs)
