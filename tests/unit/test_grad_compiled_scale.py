"""The compiled engine's grad at scale and at its edges: 10^6-node chains
without recursion, memory flat over 10^4 create_graph calls, derivative
graphs freed when dropped, no Python call per node, seeds, unused inputs,
custom ops, no_grad, errors that change nothing, results usable as ordinary
Values, and micrograd's demo loss (numbers, graph data, HVP vs torch).
Per op: test_grad_compiled.py."""

import gc
import math
import sys
import tracemalloc
import weakref

import pytest

import micrograd_fast as mf
from micrograd_fast import engine, grad_checks

torch = pytest.importorskip("torch")
try:
    E = engine.load("compiled")  # this file is about the compiled engine only
except ImportError as exc:
    pytest.skip(f"compiled engine not importable: {exc}", allow_module_level=True)
V = E.Value


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
        out = (E.cross_entropy([xs[0], xs[1] * xs[2], xs[2]], 1) * xs[0] + (xs[0] * xs[1]).tanh()
               + E.dot(E.rmsnorm([xs[0], xs[1] * xs[2], xs[2]]), [0.3, -0.7, 1.1]))
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
def test_demo_loss_numbers_graphs_and_hvp():
    """micrograd's demo loss: grad's numbers are backward()'s bits, its
    graph's data within 1e-12, the Hessian-vector product torch's."""
    import fixtures

    previous = engine.use("compiled")  # the model's Values are the compiled engine's
    try:
        model = fixtures.moons_model()
    finally:
        engine.use(previous)
    X, y = fixtures.moons()
    params = model.parameters()
    loss = fixtures.demo_loss(model, [list(map(V, row)) for row in X], y)
    numbers = [r.data for r in E.grad(loss, params)]
    g = E.grad(loss, params, create_graph=True)
    assert all(math.isclose(a.data, b, rel_tol=1e-12, abs_tol=1e-300) for a, b in zip(g, numbers))
    vec = [math.sin(k) for k in range(len(params))]
    hvp = [0.0 if r is None else r.data for r in E.grad(E.dot(g, vec), params, allow_unused=True)]
    model.zero_grad()
    loss.backward()
    assert numbers == [p.grad for p in params]
    p = torch.tensor([q.data for q in params], dtype=torch.float64, requires_grad=True)
    h, at = torch.tensor(X, dtype=torch.float64), 0
    for k, layer in enumerate(model.layers):
        nout, nin = len(layer.neurons), len(layer.neurons[0].w)
        wb = p[at:at + nout * (nin + 1)].reshape(nout, nin + 1)
        at += nout * (nin + 1)
        h = h @ wb[:, :nin].T + wb[:, nin]
        h = torch.relu(h) if k < len(model.layers) - 1 else h
    tloss = torch.relu(1 - torch.tensor(y, dtype=torch.float64) * h[:, 0]).mean() + 1e-4 * (p * p).sum()
    (tg,) = torch.autograd.grad(tloss, p, create_graph=True)
    (thvp,) = torch.autograd.grad(tg @ torch.tensor(vec, dtype=torch.float64), p)
    assert all(math.isclose(a, b.item(), rel_tol=1e-10, abs_tol=1e-13) for a, b in zip(hvp, thvp))
    # forward-over-reverse: torch's too, and the graphs' to rounding
    fast = mf.hvp(loss, params, vec)
    assert all(math.isclose(a, b.item(), rel_tol=1e-10, abs_tol=1e-13) for a, b in zip(fast, thvp))
    assert all(math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(fast, hvp))
