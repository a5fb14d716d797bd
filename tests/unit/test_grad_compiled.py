"""The compiled engine's grad (src/grad.pxi, csrc/derivative_*.c): its
numbers against backward() bit for bit, its derivative graphs' data against
those numbers, second derivatives of every op against torch and central
differences, and what is the compiled engine's own business: 10^6-node
chains without recursion, memory flat over many calls, no Python call per
node, no .grad read or written. (Both engines' grad against each other and
torch on random programs: tests/parity/test_higher_order.py.)"""

import gc
import math
import random
import sys
import tracemalloc
import weakref

import pytest

from micrograd_fast import engine, grad_checks

torch = pytest.importorskip("torch")
try:
    E = engine.load("compiled")  # this file is about the compiled engine only
except ImportError as exc:
    pytest.skip(f"compiled engine not importable: {exc}", allow_module_level=True)
V = E.Value


class MF:
    """The ops as the compiled engine spells them."""
    tanh = staticmethod(lambda v: v.tanh())
    exp = staticmethod(lambda v: v.exp())
    log = staticmethod(lambda v: v.log())
    relu = staticmethod(lambda v: v.relu())
    sigmoid = staticmethod(lambda v: v.sigmoid())
    sin = staticmethod(lambda v: v.sin())
    cos = staticmethod(lambda v: v.cos())
    abs = staticmethod(abs)
    sqrt = staticmethod(lambda v: v.sqrt())
    dot = staticmethod(E.dot)
    sum = staticmethod(E.sum)
    rmsnorm = staticmethod(E.rmsnorm)
    softmax = staticmethod(E.softmax)
    log_softmax = staticmethod(E.log_softmax)
    cross_entropy = staticmethod(E.cross_entropy)
    embedding = staticmethod(E.embedding)


def _t_dot(ws, xs, bias=0.0):
    total = bias
    for w, x in zip(ws, xs):
        total = total + w * x
    return total


def _t_sum(values, start=0.0):
    total = start
    for v in values:
        total = total + v
    return total


def _t_rmsnorm(xs, eps=1e-5):
    scale = (_t_sum([x * x for x in xs]) / len(xs) + eps) ** -0.5
    return [x * scale for x in xs]


class TO:
    """The same ops in torch (float64 scalars)."""
    tanh, exp, log, relu, sigmoid = torch.tanh, torch.exp, torch.log, torch.relu, torch.sigmoid
    sin, cos, abs, sqrt = torch.sin, torch.cos, torch.abs, torch.sqrt
    dot, sum, rmsnorm = staticmethod(_t_dot), staticmethod(_t_sum), staticmethod(_t_rmsnorm)
    softmax = staticmethod(lambda xs: list(torch.softmax(torch.stack(xs), 0)))
    log_softmax = staticmethod(lambda xs: list(torch.log_softmax(torch.stack(xs), 0)))
    cross_entropy = staticmethod(lambda xs, t: -torch.log_softmax(torch.stack(xs), 0)[t])
    embedding = staticmethod(lambda table, i: list(table[i]))


C3 = [0.3, -0.7, 1.1]

# op id -> (f(ops, xs) -> scalar, number of inputs, sampler of a point); each
# program makes its op's second derivative matter (the op over a nonlinear
# inner expression, or times an input)
CASES = {
    "add": (lambda M, x: (x[0] * x[1] + x[0] * x[0]) * x[1], 2, None),
    "mul": (lambda M, x: (x[0] * x[1]) * (x[0] * x[0]), 2, None),
    "pow": (lambda M, x: (x[0] * x[1]) ** 3 + (x[0] * x[0] + 1) ** -1.5 + x[1] ** 0 + x[1] ** 1
            + x[0] ** 2, 2, None),
    "powv": (lambda M, x: (x[0] * x[0] + 0.5) ** (x[1] * x[0]), 2, None),
    "relu": (lambda M, x: M.relu(x[0] * x[1] + 0.1) * x[0], 2, None),
    "tanh": (lambda M, x: M.tanh(x[0] * x[1] + 0.3) * x[0], 2, None),
    "exp": (lambda M, x: M.exp(x[0] * x[1] + 0.3) * x[0], 2, None),
    "log": (lambda M, x: M.log(x[0] * x[0] + x[1] * x[1] + 0.1) * x[0], 2, None),
    "sigmoid": (lambda M, x: M.sigmoid(x[0] * x[1] + 0.3) * x[0], 2, None),
    "sin": (lambda M, x: M.sin(x[0] * x[1] + 0.3) * x[0], 2, None),
    "cos": (lambda M, x: M.cos(x[0] * x[1] + 0.3) * x[0], 2, None),
    "abs": (lambda M, x: M.abs(x[0] * x[1] + 0.3) * x[0], 2, None),
    "sqrt": (lambda M, x: M.sqrt(x[0] * x[0] + x[1] * x[1] + 0.1) * x[0], 2, None),
    "dot": (lambda M, x: M.dot([x[0], x[1], x[2]], [x[1], x[2], x[0]], x[0] * x[1]) * x[2], 3, None),
    "sum": (lambda M, x: M.sum([x[0] * x[1], x[1] * x[1], x[2]], x[0]) * x[2], 3, None),
    "rms_scale": (lambda M, x: M.dot(M.rmsnorm([x[0], x[1] * x[2], x[2]]), C3), 3, None),
    "expsum": (lambda M, x: M.dot(M.softmax([x[0], x[1] * x[2], x[2]]), C3), 3, None),
    "softmax": (lambda M, x: M.dot(M.softmax([x[0] * x[1], x[1], x[2]]), C3), 3, None),
    "log_softmax": (lambda M, x: M.dot(M.log_softmax([x[0], x[1] * x[2], x[2]]), C3), 3, None),
    "nll": (lambda M, x: M.cross_entropy([x[0], x[1] * x[2], x[2]], 1) * x[0], 3, None),
    "embed": (lambda M, x: (lambda r: r[0] * r[1] * x[0])(M.embedding([[x[0], x[1]], [x[1] * x[2], x[2]]], 1)),
              3, None),
}


def points(n, count=4, seed=0):
    rng = random.Random(seed)
    return [[rng.uniform(-1.5, 1.5) for _ in range(n)] for _ in range(count)]


def graph_nodes(root):
    return E.topo_order(root)


def test_every_op_has_a_case():
    assert set(CASES) == set(E.OPS)


@pytest.mark.parametrize("op", sorted(CASES))
def test_numbers_are_backwards_bits_and_graphs_data_within_1e_12(op):
    f, n, _ = CASES[op]
    for point in points(n):
        xs = [V(a) for a in point]
        out = f(MF, xs)
        numbers = [r.data for r in E.grad(out, xs)]
        graph = [r.data for r in E.grad(out, xs, create_graph=True)]
        out.backward()
        assert numbers == [x.grad for x in xs]  # bit for bit
        for g, want in zip(graph, numbers):
            assert math.isclose(g, want, rel_tol=1e-12, abs_tol=1e-300)


def hessian_mf(f, point):
    xs = [V(a) for a in point]
    g = E.grad(f(MF, xs), xs, create_graph=True)
    return [[0.0 if r is None else r.data for r in E.grad(gi, xs, allow_unused=True)] for gi in g]


def hessian_torch(f, point):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in point]
    g = torch.autograd.grad(f(TO, ts), ts, create_graph=True)
    return [[0.0 if r is None else r.item() for r in torch.autograd.grad(gi, ts, allow_unused=True, retain_graph=True)]
            if gi.requires_grad else [0.0] * len(ts) for gi in g]


@pytest.mark.parametrize("op", sorted(CASES))
def test_second_derivatives_against_torch_and_central_differences(op):
    f, n, _ = CASES[op]
    eps = 1e-6
    for point in points(n, seed=1):
        h = hessian_mf(f, point)
        ht = hessian_torch(f, point)
        for i in range(n):
            for j in range(n):
                assert math.isclose(h[i][j], ht[i][j], rel_tol=1e-12, abs_tol=1e-13), (i, j, h, ht)
                up, down = list(point), list(point)
                up[j] += eps
                down[j] -= eps
                xu, xd = [V(a) for a in up], [V(a) for a in down]
                cd = (E.grad(f(MF, xu), xu)[i].data - E.grad(f(MF, xd), xd)[i].data) / (2 * eps)
                assert math.isclose(h[i][j], cd, rel_tol=1e-5, abs_tol=1e-6), (i, j, h[i][j], cd)


def test_kinks_as_pytorch():
    x = V(0.0)
    for make in (lambda v: v.relu(), abs):
        g = E.grad(make(x), [x], create_graph=True)[0]
        assert g.data == 0.0
        assert E.grad(g, [x], allow_unused=True)[0] in (None,) or E.grad(g, [x], allow_unused=True)[0].data == 0.0
    y = V(0.0)
    assert E.grad(y ** 0, [y])[0].data == 0.0
    assert E.grad(y ** 0, [y], create_graph=True)[0].data == 0.0
    assert E.grad(y.sqrt(), [y], create_graph=True)[0].data == math.inf
    z = V(2.0)
    assert E.grad(z ** V(0.0), [z], create_graph=True)[0].data == 0.0  # x ** y: 0 in x at y == 0


def every_grad(roots):
    seen = {}
    for r in roots:
        for v in E.topo_order(r):
            seen[id(v)] = v
    return list(seen.values())


@pytest.mark.parametrize("op", sorted(CASES))
def test_grad_reads_and_writes_no_grad(op):
    f, n, _ = CASES[op]
    xs = [V(a) for a in points(n)[0]]
    out = f(MF, xs)
    nodes = every_grad([out])
    for k, v in enumerate(nodes):
        v.grad = 1000.0 + k  # grad would give other numbers if it read these
    want = None
    for create_graph in (False, True, False):
        got = [r.data for r in E.grad(out, xs, create_graph=create_graph)]
        assert [v.grad for v in nodes] == [1000.0 + k for k in range(len(nodes))]
        want = want or got
        assert all(math.isclose(a, b, rel_tol=1e-12) for a, b in zip(got, want))
    g = E.grad(out, xs, create_graph=True)
    new = every_grad(g)
    assert all(v.grad == 0.0 for v in new if id(v) not in {id(u) for u in nodes})
    E.grad(g, xs, allow_unused=True)
    assert all(v.grad == 0.0 for v in new if id(v) not in {id(u) for u in nodes})


def test_million_node_chain_first_and_second_order():
    n = 10 ** 6
    x = V(1.0000001)
    y = x
    for _ in range(n - 1):
        y = y * x  # x ** n as n - 1 products
    g = E.grad(y, [x])[0].data
    gg = E.grad(y, [x], create_graph=True)[0]
    assert math.isclose(gg.data, g, rel_tol=1e-12)
    assert math.isclose(g, n * 1.0000001 ** (n - 1), rel_tol=1e-8)
    h = E.grad(gg, [x])[0].data
    assert math.isclose(h, n * (n - 1) * 1.0000001 ** (n - 2), rel_tol=1e-8)
    y.backward()
    assert x.grad == g
    del y, gg


def test_million_node_tanh_chain():
    x = V(0.5)
    y = x
    for _ in range(10 ** 6):
        y = y.tanh()
    g = E.grad(y, [x])[0].data
    gg = E.grad(y, [x], create_graph=True)[0]
    assert math.isclose(gg.data, g, rel_tol=1e-12)
    assert gg.data > 0


def test_memory_flat_over_ten_thousand_create_graph_calls():
    xs = [V(0.3), V(-0.8), V(1.2)]

    def step():
        out = CASES["nll"][0](MF, xs) + CASES["tanh"][0](MF, xs) + CASES["rms_scale"][0](MF, xs)
        g = E.grad(out, xs, create_graph=True)
        E.grad(E.sum(g), xs)

    for _ in range(500):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(10 ** 4):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 64 * 1024, grown


def test_derivative_graph_freed_when_dropped():
    x = V(0.4)
    g = E.grad((x * x).tanh() * x, [x], create_graph=True)[0]
    alive = weakref.ref(g)
    del g
    assert alive() is None


def calls_during(fn):
    count = [0]

    def profile(frame, event, arg):
        if event in ("call", "c_call"):
            count[0] += 1

    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return count[0]


def test_no_python_call_per_node():
    def chain(n):
        x = V(0.3)
        y = x
        for _ in range(n):
            y = (y * 1.01).tanh() + y.sin()
        return x, y

    small, big = chain(10), chain(2000)
    counts = [calls_during(lambda: E.grad(y, [x], create_graph=True)) for x, y in (small, big)]
    assert counts[0] == counts[1]


def test_seeds_outputs_inputs():
    x, y = V(1.5), V(-2.0)
    a, b = x * y, x + y
    got = E.grad([a, b], [x, y, x], grad_outputs=[2.0, 3.0])
    assert [r.data for r in got] == [2.0 * -2.0 + 3.0, 2.0 * 1.5 + 3.0, 2.0 * -2.0 + 3.0]
    assert E.grad(x, [x], grad_outputs=2.5)[0].data == 2.5  # an input that is an output
    s = V(4.0)
    g = E.grad(a, [x], grad_outputs=[s], create_graph=True)[0]
    assert g.data == -8.0
    assert E.grad(g, [s])[0].data == -2.0  # the result depends on a Value seed


def test_unused_inputs():
    x, y = V(1.0), V(2.0)
    with pytest.raises(ValueError) as info:
        E.grad(x * 3.0, [x, y])
    assert str(info.value) == str(grad_checks.unused_input(1))
    assert E.grad(x * 3.0, [x, y], allow_unused=True)[1] is None
    assert E.grad(x * 3.0, [x, y], allow_unused=True, create_graph=True)[1] is None


def test_custom_ops():
    x = V(2.0)
    out = V(x.data * 3.0, (x,), "triple")

    def backward():
        x.grad += 3.0 * out.grad

    out._backward = backward
    for create_graph in (False, True):
        with pytest.raises(TypeError) as info:
            E.grad(out * 2.0, [x], create_graph=create_graph)
        assert str(info.value) == str(grad_checks.custom_op("triple"))
    assert x.grad == 0.0
    m = V(x.data ** 2, (x,), (2 * x.data,))  # microgpt's Value(data, children, local_grads)
    assert E.grad(m * 2.0, [x])[0].data == 8.0
    with pytest.raises(TypeError) as info:
        E.grad(m * 2.0, [x], create_graph=True)
    assert str(info.value) == str(grad_checks.numbers_only(""))


def test_no_grad_builds_no_graph():
    x = V(0.7)
    out = (x * x).tanh()
    E.set_grad_enabled(False)
    try:
        g = E.grad(out, [x], create_graph=True)[0]
    finally:
        E.set_grad_enabled(True)
    assert g._prev == set() or len(g._prev) == 0
    assert g.data == E.grad(out, [x])[0].data


def test_an_error_changes_nothing():
    x = V(2.0)
    out = x.log() * x
    out.grad = 5.0
    x.data = 0.0  # the log's slope 1 / x now divides by zero
    for create_graph in (False, True):
        with pytest.raises(ZeroDivisionError):
            E.grad(out, [x], create_graph=create_graph)
    assert out.grad == 5.0 and x.grad == 0.0


def test_graphs_results_are_ordinary_values():
    x, y = V(0.3), V(0.9)
    g = E.grad((x * y).tanh(), [x, y], create_graph=True)
    loss = g[0] * g[0] + g[1]
    loss.backward()  # usable in a loss, differentiable by backward() too
    tape = E.compile(loss)
    tape.forward()
    assert math.isclose(loss.data, g[0].data ** 2 + g[1].data, rel_tol=1e-15)


# One op at a time: the graph rule (csrc/derivative_rules.c) against the
# row's number (op_table.h, as _local_grads gives it) at many points,
# edges included: each op's derivative graph has the data of its row.
EDGES = [0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -2.5, 1e-3, 30.0, -30.0]


def elementwise_ops():
    unary = [(name, (lambda n: lambda a: getattr(a, n)())(name))
             for name in E.UNARY_OPS if name != "abs"] + [("abs", abs)]
    binary = [("add", lambda a, b: a + b), ("mul", lambda a, b: a * b), ("powv", lambda a, b: a ** b)]
    pows = [(f"pow{k}", (lambda k: lambda a: a ** k)(k)) for k in (0, 1, 2, 3, -1, 0.5, -1.5, 2.5)]
    return unary + pows, binary


def domain_ok(name, a, b=None):
    if name in ("log",) and a <= 0 or name == "sqrt" and a < 0:
        return False
    if name.startswith("pow") and name != "powv":
        k = float(name[3:])
        return not (a == 0 and k < 1) and not (a < 0 and k != int(k))
    if name == "powv":
        return a > 0 or (a == 0 and b > 1)
    if name == "exp":
        return a < 700
    return True


def test_every_graph_rule_has_its_rows_data_at_many_points():
    unary, binary = elementwise_ops()
    assert {n for n, _ in unary if not n.startswith("pow")} == set(E.UNARY_OPS)
    rng = random.Random(7)
    pts = EDGES + [rng.uniform(-4, 4) for _ in range(60)]
    checked = 0
    for name, f in unary:
        for a in pts:
            if not domain_ok(name, a):
                continue
            x = V(a)
            out = f(x)
            row = out._local_grads[0]
            got = E.grad(out, [x], create_graph=True)[0].data
            assert got == row or math.isclose(got, row, rel_tol=1e-12) or (math.isnan(got) and math.isnan(row)), \
                (name, a, got, row)
            checked += 1
    for name, f in binary:
        for a in pts[:30]:
            for b in pts[:30]:
                if not domain_ok(name, a, b):
                    continue
                x, y = V(a), V(b)
                out = f(x, y)
                rows = out._local_grads
                got = [r.data for r in E.grad(out, [x, y], create_graph=True)]
                for g, r in zip(got, rows):
                    assert g == r or math.isclose(g, r, rel_tol=1e-12), (name, a, b, got, rows)
                checked += 1
    assert checked > 1000


def third(f, point, T):
    if T is None:
        xs = [V(a) for a in point]
        g = E.grad(f(MF, xs), xs, create_graph=True)[0]
        h = E.grad(g, xs, create_graph=True, allow_unused=True)[0]
        if h is None:
            return [0.0] * len(xs)
        return [0.0 if r is None else r.data for r in E.grad(h, xs, allow_unused=True)]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in point]
    g = torch.autograd.grad(f(TO, ts), ts, create_graph=True)[0]
    h = torch.autograd.grad(g, ts, create_graph=True, allow_unused=True)[0]
    if h is None or not h.requires_grad:
        return [0.0] * len(ts)
    return [0.0 if r is None else r.item() for r in torch.autograd.grad(h, ts, allow_unused=True)]


@pytest.mark.parametrize("op", sorted(CASES))
def test_third_derivatives_against_torch(op):
    f, n, _ = CASES[op]
    for point in points(n, count=2, seed=3):
        got, want = third(f, point, None), third(f, point, torch)
        for a, b in zip(got, want):
            assert math.isclose(a, b, rel_tol=1e-11, abs_tol=1e-12), (op, got, want)
