"""grad (issue 19), PyTorch's torch.autograd.grad over Values, on both
engines: the argument contract and its refusals, no .grad read or written,
backward()'s numbers bit for bit, and derivative graphs that are ordinary
graphs (differentiated again, taped, drawn, built or not under no_grad)."""

import math

import pytest
from outcomes import same_bits

import micrograd_fast as mf
from micrograd_fast import grad_checks, viz


def f_of(backend, a, b):
    """A graph over most kinds of node: ops, a fused dot, a softmax."""
    p = backend.softmax([a * b, b.tanh(), a.exp()])
    return backend.dot(p, [a, 2.0, b], (a - b).sigmoid()) + (a * a).log() * b**3


def all_nodes(root, backend):
    return backend.topo_order(root)


# --- the contract ------------------------------------------------------------------


def test_one_entry_per_input_each_a_fresh_leaf(backend, Value):
    a, b = Value(0.7), Value(-1.3)
    out = f_of(backend, a, b)
    ga, gb = backend.grad(out, [a, b])
    assert isinstance(ga, Value) and isinstance(gb, Value)
    assert ga._children == () and gb._children == () and ga is not gb
    [only] = backend.grad(out, a)  # a single Value for inputs
    assert only.data == ga.data
    assert [g.data for g in backend.grad([out], (a, b))] == [ga.data, gb.data]


def test_several_outputs_sum_weighted_by_grad_outputs(backend, Value):
    a, b = Value(0.7), Value(-1.3)
    f, g = a * b, (a + b).tanh()
    df, dg = backend.grad(f, [a]), backend.grad(g, [a])
    [both] = backend.grad([f, g], [a])
    assert both.data == pytest.approx(df[0].data + dg[0].data, rel=1e-15)
    [weighted] = backend.grad([f, g], [a], [2.0, 3])
    assert weighted.data == pytest.approx(2 * df[0].data + 3 * dg[0].data, rel=1e-15)
    np = pytest.importorskip("numpy")
    [scalar] = backend.grad(f, [a], np.float64(0.5))
    assert scalar.data == 0.5 * b.data
    [seeded] = backend.grad(f, [a], [Value(4.0)])
    assert seeded.data == 4.0 * b.data


def test_a_value_seed_stays_in_the_graph(backend, Value):
    a, b, s = Value(0.7), Value(-1.3), Value(2.5)
    [ga] = backend.grad((a * b).sin(), [a], [s], create_graph=True)
    assert ga.data == pytest.approx(2.5 * math.cos(0.7 * -1.3) * -1.3, rel=1e-14)
    [d_seed] = backend.grad(ga, [s])  # the result is linear in the seed
    assert d_seed.data == pytest.approx(math.cos(0.7 * -1.3) * -1.3, rel=1e-14)


@pytest.mark.parametrize("seeds, error", [([1.0, 2.0], ValueError), (["x"], TypeError), ([1j], TypeError)])
def test_bad_grad_outputs(backend, Value, seeds, error):
    a = Value(1.0)
    with pytest.raises(error):
        backend.grad(a * 2, [a], seeds)


def test_duplicates_in_inputs_and_outputs(backend, Value):
    a, b = Value(0.7), Value(-1.3)
    out = a * b
    g1, g2, g3 = backend.grad(out, [a, b, a])
    assert g1.data == g3.data == b.data and g1 is not g3
    [twice] = backend.grad([out, out], [a])
    assert twice.data == 2 * b.data


def test_an_input_that_is_an_output_gets_its_seed(backend, Value):
    a = Value(0.7)
    out = a * 3
    assert [g.data for g in backend.grad(out, [out, a])] == [1.0, 3.0]
    assert backend.grad(a, [a], [2.5])[0].data == 2.5


def test_unused_input(backend, Value):
    a, b, c = Value(0.7), Value(-1.3), Value(2.0)
    out = a * b
    with pytest.raises(ValueError, match=r"inputs\[1\] is not reached") as info:
        backend.grad(out, [a, c])
    assert str(info.value) == str(grad_checks.unused_input(1))
    ga, gc = backend.grad(out, [a, c], allow_unused=True)
    assert ga.data == b.data and gc is None
    assert backend.grad(out, [c], create_graph=True, allow_unused=True) == [None]


# (outputs, inputs) from (out, a): what is no Value is a TypeError, an empty list a ValueError
REFUSED = {
    "number output": (lambda out, a: (1.0, [a]), TypeError),
    "number input": (lambda out, a: (out, [1.0]), TypeError),
    "dict inputs": (lambda out, a: (out, {"x": a}), TypeError),
    "None input": (lambda out, a: (out, [a, None]), TypeError),
    "number among outputs": (lambda out, a: ([out, 2], [a]), TypeError),
    "no outputs": (lambda out, a: ([], [a]), ValueError),
    "no inputs": (lambda out, a: (out, []), ValueError),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refuses_what_is_not_values(backend, Value, case):
    a = Value(1.0)
    make, error = REFUSED[case]
    outs, ins = make(a * 2, a)
    with pytest.raises(error):
        backend.grad(outs, ins)


def test_values_of_the_other_engine_are_refused(compiled, reference):
    with pytest.raises(TypeError):
        reference.grad(compiled.Value(1.0), [reference.Value(1.0)])


def test_a_custom_op_with_a_python_backward_is_refused(backend, Value):
    x = Value(0.5)
    out = Value(math.tanh(x.data), (x,), "mytanh")

    def _backward():
        x.grad += (1 - out.data**2) * out.grad
    out._backward = _backward
    for create_graph in (False, True):
        with pytest.raises(TypeError, match="mytanh") as info:
            backend.grad(out * 2, [x], create_graph=create_graph)
        assert str(info.value) == str(grad_checks.custom_op("mytanh"))
    for second in (lambda: mf.hvp(out * 2, [x], [1.0]), lambda: mf.hessian(out * 2, [x])):
        with pytest.raises(TypeError, match="mytanh"):
            second()
    y = Value(2.0)  # off the path to the input: not needed, not refused
    assert backend.grad(out * y, [y])[0].data == out.data


def test_microgpt_local_grads_are_numbers_only(backend, Value):
    a, b = Value(2.0), Value(3.0)
    c = Value(a.data * b.data, (a, b), (b.data, a.data))
    out = (c + a).tanh()
    ga, gb = backend.grad(out, [a, b])
    out.backward()
    assert (ga.data, gb.data) == (a.grad, b.grad)
    with pytest.raises(TypeError) as info:
        backend.grad(out, [a], create_graph=True)
    assert str(info.value) == str(grad_checks.numbers_only(c._op))
    with pytest.raises(TypeError) as info:
        mf.hvp(out, [a], [1.0])
    assert str(info.value) == str(grad_checks.numbers_only(c._op))


# --- no .grad read or written ------------------------------------------------------


@pytest.mark.parametrize("create_graph", [False, True])
def test_no_grad_is_read_or_written_and_twice_is_the_same(backend, Value, create_graph):
    a, b = Value(0.7), Value(-1.3)
    out = f_of(backend, a, b)
    nodes = all_nodes(out, backend)
    for i, v in enumerate(nodes):
        v.grad = 100.0 + i  # what grad must neither read nor change
    first = [g.data for g in backend.grad(out, [a, b], create_graph=create_graph)]
    second = [g.data for g in backend.grad(out, [a, b], create_graph=create_graph)]
    assert first == second
    assert [v.grad for v in nodes] == [100.0 + i for i in range(len(nodes))]


def backward_grads(backend, build, leaves_data):
    leaves = [backend.Value(x) for x in leaves_data]
    build(backend, leaves).backward()
    return [v.grad for v in leaves]


FUSED_GRAPHS = {
    "mix": lambda e, xs: f_of(e, xs[0], xs[1]),
    "rmsnorm": lambda e, xs: e.dot(e.rmsnorm(xs), [1.0, -2.0, 0.5, xs[0]]),
    "log_softmax": lambda e, xs: e.dot(e.log_softmax(xs), [1.0, -2.0, 0.5, 3.0]),
    "cross_entropy": lambda e, xs: e.cross_entropy([x * x for x in xs], 2),
    "embedding": lambda e, xs: e.sum([v * v for v in e.embedding([xs[:2], xs[2:]], 1)]),
    "linear": lambda e, xs: e.sum([y.relu() for y in e.linear(xs, [xs[::-1], [1.0, 2.0, xs[1], -1.0]])]),
}


@pytest.mark.parametrize("name", list(FUSED_GRAPHS))
def test_equal_to_backward_bit_for_bit_on_the_fused_ops(backend, name):
    data = [0.7, -1.3, 0.4, 2.2]
    leaves = [backend.Value(x) for x in data]
    out = FUSED_GRAPHS[name](backend, leaves)
    ours = [g.data for g in backend.grad(out, leaves, allow_unused=True) if g is not None]
    graph = [g.data for g in backend.grad(out, leaves, create_graph=True, allow_unused=True) if g is not None]
    theirs = [g for g, v in zip(backward_grads(backend, FUSED_GRAPHS[name], data), leaves)
              if backend.grad(out, [v], allow_unused=True)[0] is not None]
    assert all(same_bits(x, y) for x, y in zip(ours, theirs)) and len(ours) == len(theirs)
    assert graph == pytest.approx(ours, rel=1e-12, abs=1e-300)


# --- derivative graphs -------------------------------------------------------------------


def test_create_graph_results_differentiate_again(backend, Value):
    x = Value(1.7)
    [d1] = backend.grad(x**3, [x], create_graph=True)
    [d2] = backend.grad(d1, [x], create_graph=True)
    [d3] = backend.grad(d2, [x], create_graph=True)
    assert (d1.data, d2.data, d3.data) == pytest.approx((3 * 1.7**2, 6 * 1.7, 6.0), rel=1e-15)
    [d4] = backend.grad(d3, [x], allow_unused=True)  # x ** 0.0 may still be a node over x
    assert d4 is None or d4.data == 0.0


def test_create_graph_data_are_the_numbers(backend, Value):
    a, b = Value(0.7), Value(-1.3)
    out = f_of(backend, a, b)
    numbers = [g.data for g in backend.grad(out, [a, b])]
    graphs = backend.grad(out, [a, b], create_graph=True)
    assert [g.data for g in graphs] == pytest.approx(numbers, rel=1e-12)
    assert all(g._children for g in graphs)


def new_nodes(result, forward):
    """The interior nodes of result's graph that are not in forward's."""
    old = {id(v) for v in forward}
    return [v for v in result if id(v) not in old and v._children]


def test_a_derivative_graph_has_no_node_for_the_seed_and_one_per_subtraction(backend, Value):
    """d tanh(w * x) / dx = w * (1 - t*t): three nodes, t*t, 1 - t*t as one
    dot node, and the product (the default seed 1.0 multiplies nothing); and
    d (x * w) / dx a node of its own (w * 1), not the user's w."""
    x, w = Value(0.4), Value(-1.5)
    t = (w * x).tanh()
    [gx] = backend.grad(t, [x], create_graph=True)
    built = new_nodes(backend.topo_order(gx), backend.topo_order(t))
    assert sorted(v._op for v in built) == ["*", "*", "dot"]
    assert gx.data == w.data * (1.0 - t.data * t.data)
    [gy] = backend.grad(x * w, [x], create_graph=True)
    assert gy is not w and gy.data == w.data and gy._children  # a fresh node over w
    [one] = backend.grad(x, [x], create_graph=True)
    [again] = backend.grad(x, [x], create_graph=True)
    assert one.data == 1.0 and one is not again and not one._children  # fresh leaves


def test_a_derivative_graph_is_taped_and_replays_new_data(backend, Value):
    """A tape of d loss / d x, loss over every data-dependent op (a softmax's
    max, a cross_entropy target and an embedding row as Values), replayed on
    new data equals a derivative graph built on that data."""
    x, y, t, i = Value(0.3), Value(-0.8), Value(2.0), Value(0.0)

    def loss(x, y, t, i):
        row = backend.embedding([[x, y], [y * 2, x * 3], [x + y, y]], i)
        logits = [row[0] * x, row[1].tanh(), (x * y).sin()]
        return backend.cross_entropy(logits, t) + backend.dot(backend.softmax(logits), [1.0, 0.0, 2.0])

    [gx] = backend.grad(loss(x, y, t, i), [x], create_graph=True)
    tape = backend.compile(gx)
    for data in [(1.1, 3.0, 0.0, 2.0), (-2.0, 0.5, 1.0, 1.0)]:
        for v, d in zip((x, y, t, i), data):
            v.data = d
        fresh = [Value(d) for d in data]
        [expected] = backend.grad(loss(*fresh), [fresh[0]], create_graph=True)
        assert tape.forward() == pytest.approx(expected.data, rel=1e-12)


def test_a_derivative_graph_is_drawable_and_usable_in_a_loss(backend, Value):
    pytest.importorskip("graphviz")
    x = Value(0.5)
    [gx] = backend.grad((x * x).tanh(), [x], create_graph=True)
    source = viz.draw_dot(gx).source
    assert "tanh" in source
    penalty = (gx - 1.0) ** 2  # a gradient penalty, trained by backward()
    penalty.backward()
    h = 1e-6
    numeric = []
    for d in (0.5 + h, 0.5 - h):
        v = Value(d)
        [g] = backend.grad((v * v).tanh(), [v])
        numeric.append((g.data - 1.0) ** 2)
    assert x.grad == pytest.approx((numeric[0] - numeric[1]) / (2 * h), rel=1e-6)


def test_under_no_grad_create_graph_builds_no_graph(backend, Value):
    x = Value(0.5)
    out = (x * x).sin()
    with mf.no_grad():
        [g] = backend.grad(out, [x], create_graph=True)
    assert g._children == () and g.data == pytest.approx(2 * 0.5 * math.cos(0.25), rel=1e-15)


@pytest.mark.parametrize("op, x", [("relu", 0.0), ("relu", -0.0), ("abs", 0.0), ("abs", -0.0)])
def test_kinks_are_pytorchs(backend, Value, op, x):
    v = Value(x)
    [d1] = backend.grad(getattr(v, op)(), [v], create_graph=True)
    assert d1.data == 0.0
    [d2] = backend.grad(d1, [v], allow_unused=True)
    assert d2 is None or d2.data == 0.0


@pytest.mark.parametrize("x, log_x", [(0.0, 0.0), (2.0, math.log(2.0)), (-3.0, math.nan)])
def test_x_to_the_zero_has_slope_zero_at_every_order(backend, Value, x, log_x):
    """PyTorch's x ** y at y == 0: slope 0 in x, whose derivatives are 0; the
    slope in y is log(x) (0 at x == 0, nan below)."""
    v, e = Value(x), Value(0.0)
    d_base, d_exp = backend.grad(v**e, [v, e], create_graph=True)
    assert d_base.data == 0.0
    assert same_bits(d_exp.data, log_x) or d_exp.data == log_x
    assert all(g is None or g.data == 0.0 for g in backend.grad(d_base, [v, e], allow_unused=True))
    [d] = backend.grad(v**0, [v], create_graph=True)
    assert d.data == 0.0
    assert all(g is None or g.data == 0.0 for g in backend.grad(d, [v], allow_unused=True))


def test_a_long_chain(backend, Value):
    x = Value(0.5)
    out = x
    for _ in range(20_000):  # 4 * 10^4 nodes: far deeper than any recursion goes
        out = out * 1.0 + 0.0
    assert backend.grad(out, [x])[0].data == 1.0
    [d] = backend.grad(out, [x], create_graph=True)
    assert d.data == 1.0


def test_python_heap_flat_over_many_create_graph_calls(backend, Value):
    """Derivative graphs are ordinary nodes, freed when dropped (no cycles)."""
    import gc
    import tracemalloc
    x, y = Value(0.3), Value(-0.7)

    def step():
        [g] = backend.grad((x * y).tanh() * backend.softmax([x, y, x * y])[0], [x], create_graph=True)
        backend.grad(g, [y])
    for _ in range(100):
        step()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            step()
        gc.collect()
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert growth < 64 * 1024, f"{growth} bytes kept after 2000 calls"


def _op_ids():
    from test_op_table import ALL_PARAMS, BUILDERS
    return ALL_PARAMS, BUILDERS


@pytest.mark.parametrize("op", _op_ids()[0])
def test_every_op_has_a_derivative_graph(backend, op):
    """Each op id, reached as test_op_table reaches it: its Hessian (grad of
    grad) against central differences of grad, and its third derivative
    along (1, 1, 1) against central differences of the Hessian."""
    builders = _op_ids()[1]

    def fn(a, b, c):
        if op in backend.UNARY_OPS:
            return getattr(a * b, op)() * c
        return builders[op](backend, a, b, c)
    point = (0.7, 1.3, 0.4)
    xs = [backend.Value(x) for x in point]
    assert mf.gradgradcheck(fn, xs)
    H = mf.hessian(fn(*xs), xs)
    flat = [H[i][j] for i in range(3) for j in range(3)]
    assert flat == pytest.approx([H[j][i] for i in range(3) for j in range(3)], rel=1e-12, abs=1e-15)
    v = [0.5, -2.0, 1.25]  # hvp (forward-over-reverse on the compiled engine) is H v
    assert mf.hvp(fn(*xs), xs, v) == pytest.approx([math.fsum(h * w for h, w in zip(row, v)) for row in H],
                                                   rel=1e-12, abs=1e-14)

    def third(at):  # d/dx of 1 . (H 1): T(1, 1, .) as numbers, from three sweeps
        vs = [backend.Value(x) for x in at]
        used = [g for g in backend.grad(fn(*vs), vs, create_graph=True, allow_unused=True) if g is not None]
        hv = [g for g in backend.grad(backend.sum(used), vs, create_graph=True, allow_unused=True) if g is not None]
        if not hv:
            return [0.0] * 3, mf.hvp(fn(*vs), vs, [1.0] * 3)
        return [0.0 if g is None else g.data for g in backend.grad(backend.sum(hv), vs, allow_unused=True)], \
            mf.hvp(fn(*vs), vs, [1.0] * 3)
    h = 1e-5
    exact, _ = third(point)
    _, up = third([x + h for x in point])
    _, down = third([x - h for x in point])
    assert exact == pytest.approx([(u - d) / (2 * h) for u, d in zip(up, down)], rel=1e-4, abs=1e-6)


def test_an_interior_input(backend, Value):
    a, b = Value(0.7), Value(-1.3)
    m = a * b
    out = m.tanh() * a
    gm, ga = backend.grad(out, [m, a])
    assert gm.data == pytest.approx((1 - math.tanh(m.data) ** 2) * 0.7, rel=1e-15)
    assert ga.data == pytest.approx(math.tanh(m.data) + gm.data * b.data, rel=1e-15)


def kinked_loss(x, w):
    """A loss through relu and abs whose kinks each input's sign moves."""
    return (x * w).relu() * x + (x * x - 1.0).abs() * w + (x - 0.2).relu().relu() * (x + w).abs()


def test_a_taped_derivative_through_relu_and_abs_replays_across_the_kinks(backend, Value):
    """relu's and abs's slopes in a derivative graph are step and sign nodes
    (not constants of the build's numbers): a tape of d loss / dx, scalar
    and batched, recorded at x = 0.5 and replayed at inputs of both signs,
    equals the derivative graph built anew at each point."""
    x, w = Value(0.5), Value(1.3)
    [g] = backend.grad(kinked_loss(x, w), [x], create_graph=True)
    [g2] = backend.grad(g, [x], create_graph=True)
    tape, batched = backend.compile(g), backend.compile(g, batch=[x])
    points = [0.5, -0.7, 1.5, -2.0, 0.9, -0.3, 3.0, -1.2, 0.1]
    expected = []
    for d in points:
        fresh = Value(d)
        [want] = backend.grad(kinked_loss(fresh, Value(1.3)), [fresh], create_graph=True)
        [want2] = backend.grad(want, [fresh], allow_unused=True)
        expected.append(want.data)
        x.data = d
        assert tape.forward() == want.data, f"x = {d}"
        assert backend.compile(g2).forward() == pytest.approx(want2.data, rel=1e-12), f"x = {d}"
    assert list(batched.forward([[d] for d in points])) == expected
    # the slopes are nodes that recompute, with PyTorch's second derivative 0
    v = Value(-0.5)
    [dr] = backend.grad(v.relu(), [v], create_graph=True)
    [da] = backend.grad(v.abs(), [v], create_graph=True)
    assert (dr.data, da.data) == (0.0, -1.0)
    assert [d.data for d in backend.grad([dr, da], [v])] == [0.0]
    rt, at = backend.compile(dr), backend.compile(da)
    v.data = 2.0
    assert (rt.forward(), at.forward()) == (1.0, 1.0)


@pytest.mark.parametrize("x", [0.0, -0.0, 2.0, -3.0, 5e-324, math.inf, -math.inf, math.nan])
def test_step_and_sign_are_relu_and_abs_slopes(backend, Value, x):
    """step and sign are exactly the slopes backward() uses (relu's at its
    output, abs's at its input), and their own slope is 0."""
    v = Value(x)
    relu_slope, abs_slope = v.relu()._local_grads[0], v.abs()._local_grads[0]
    assert same_bits(Value(v.relu().data).step().data, relu_slope)
    assert same_bits(v.sign().data, abs_slope)
    assert v.step()._op == "step" and v.sign()._op == "sign"
    assert v.step()._local_grads == (0.0,) and v.sign()._local_grads == (0.0,)
