"""The compiled engine's grad (src/grad.pxi, csrc/derivative/): its
numbers against backward() bit for bit for every op and fused op, its
derivative graphs' data against those numbers and against each row's local
derivative, second and third derivatives of every op against torch (and
central differences), the kinks, and no .grad read or written. At scale and
at the edges: test_grad_compiled_scale.py. (Both engines' grad on random
programs against torch: tests/parity/test_higher_order.py.)"""

import math
import random

import pytest

from micrograd_fast import engine

torch = pytest.importorskip("torch")
try:
    E = engine.load("compiled")  # this file is about the compiled engine only
except ImportError as exc:
    pytest.skip(f"compiled engine not importable: {exc}", allow_module_level=True)
V = E.Value


class MF:
    """The ops as the compiled engine spells them."""
    abs = staticmethod(abs)
    dot, sum, rmsnorm, softmax = staticmethod(E.dot), staticmethod(E.sum), staticmethod(E.rmsnorm), staticmethod(E.softmax)
    log_softmax, cross_entropy = staticmethod(E.log_softmax), staticmethod(E.cross_entropy)
    embedding = staticmethod(E.embedding)


for _name in ("tanh", "exp", "log", "relu", "sigmoid", "sin", "cos", "sqrt", "step", "sign"):
    setattr(MF, _name, staticmethod((lambda n: lambda v: getattr(v, n)())(_name)))


def _t_rmsnorm(xs, eps=1e-5):
    scale = (sum((x * x for x in xs), 0.0) / len(xs) + eps) ** -0.5
    return [x * scale for x in xs]


class TO:
    """The same ops in torch (float64 scalars)."""
    tanh, exp, log, relu, sigmoid = torch.tanh, torch.exp, torch.log, torch.relu, torch.sigmoid
    sin, cos, abs, sqrt, sign = torch.sin, torch.cos, torch.abs, torch.sqrt, torch.sign
    step = staticmethod(lambda t: (t > 0).to(torch.float64))  # torch.heaviside has no derivative
    dot = staticmethod(lambda ws, xs, bias=0.0: sum((w * x for w, x in zip(ws, xs)), bias))
    sum, rmsnorm = staticmethod(lambda vs, start=0.0: sum(vs, start)), staticmethod(_t_rmsnorm)
    softmax = staticmethod(lambda xs: list(torch.softmax(torch.stack(xs), 0)))
    log_softmax = staticmethod(lambda xs: list(torch.log_softmax(torch.stack(xs), 0)))
    cross_entropy = staticmethod(lambda xs, t: -torch.log_softmax(torch.stack(xs), 0)[t])
    embedding = staticmethod(lambda table, i: list(table[i]))


C3 = [0.3, -0.7, 1.1]

# op id -> (f(ops, xs) -> scalar, number of inputs, unused); each
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
    "step": (lambda M, x: M.step(x[0] * x[1] + 0.1) * x[0] * x[1], 2, None),
    "sign": (lambda M, x: M.sign(x[0] * x[1] + 0.3) * x[0] * x[1], 2, None),
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
        # the slope a step or sign node over x (it recomputes on a tape), whose slope is 0
        assert g.data == 0.0 and g._children and E.grad(g, [x])[0].data == 0.0
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




# One op at a time: the graph rule (csrc/derivative/derivative_rules.c) against the
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


def test_taped_derivatives_of_data_driven_ops_replay_new_data():
    """First and second derivatives through an embedding index, a
    cross_entropy target and the softmax family's max (the rows picked by
    embedding nodes over the index Values, the sums of exps rebuilt with
    one shared constant shift), taped once and replayed on data that moves
    the max, the target and the row, equal derivative graphs built anew."""
    def loss(x, y, t, i):
        row = E.embedding([[x, y], [y * 2, x * 3], [x + y, y * y]], i)
        logits = [row[0] * x, row[1].tanh(), (x * y).sin(), row[1] * 0.5]
        return (E.cross_entropy(logits, t) + E.dot(E.log_softmax(logits), [1.0, -0.5, 2.0, 0.25])
                + E.dot(E.softmax(logits), [0.3, 0.0, 1.0, -2.0]))

    def derivatives(x, y, t, i):
        gx, gy = E.grad(loss(x, y, t, i), [x, y], create_graph=True)
        [hxy] = E.grad(gx, [y], create_graph=True)
        return gx, gy, hxy

    leaves = [V(0.3), V(-0.8), V(2.0), V(0.0)]
    tapes = [E.compile(g) for g in derivatives(*leaves)]
    rng = random.Random(11)
    for _ in range(20):
        data = [rng.uniform(-3, 3), rng.uniform(-3, 3), float(rng.randrange(4)), float(rng.randrange(3))]
        for v, d in zip(leaves, data):
            v.data = d
        fresh = [g.data for g in derivatives(*[V(d) for d in data])]
        for tape, want in zip(tapes, fresh):
            assert math.isclose(tape.forward(), want, rel_tol=1e-9, abs_tol=1e-12), (data, tape.forward(), want)
