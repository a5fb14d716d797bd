"""hessian, hvp, gradcheck and gradgradcheck (micrograd_fast/autodiff.py,
written once over each engine's grad), on both engines: exact Hessians of
quadratics, symmetry, Hessian-vector products equal to the Hessian times the
vector, and checks that pass on right derivatives and name the worst entry
of a wrong one."""

import math
import random

import pytest

import micrograd_fast as mf
from micrograd_fast import autodiff


def quadratic(backend, xs, coefficients, linear):
    """sum c_ij x_i x_j (i <= j) + sum b_i x_i: its Hessian is exact in floats."""
    terms = [c * xs[i] * xs[j] for (i, j), c in coefficients.items()]
    return backend.sum(terms) + backend.dot(xs, linear)


def test_hessian_of_a_quadratic_is_exact(backend, Value):
    rnd = random.Random(3)
    n = 4
    coefficients = {(i, j): float(rnd.randint(-5, 5)) for i in range(n) for j in range(i, n)}
    xs = [Value(rnd.uniform(-2, 2)) for _ in range(n)]
    H = mf.hessian(quadratic(backend, xs, coefficients, [1.0, -2.0, 0.5, 3.0]), xs)
    for i in range(n):
        for j in range(n):
            c = coefficients[(min(i, j), max(i, j))]
            assert H[i][j] == (2 * c if i == j else c), (i, j)


def nonlinear(backend, x, y, z):
    p = backend.softmax([x * y, y.tanh(), z.exp()])
    return backend.dot(p, [x, y, z]) + (x * x + 1.0).log() * z.sin() + (y * z).sigmoid() ** 2


def test_hessian_is_symmetric_and_matches_central_differences(backend, Value):
    xs = [Value(0.3), Value(-1.1), Value(0.7)]
    H = mf.hessian(nonlinear(backend, *xs), xs)
    for i in range(3):
        for j in range(3):
            assert H[i][j] == pytest.approx(H[j][i], rel=1e-12, abs=1e-15)
    assert mf.gradgradcheck(lambda *v: nonlinear(backend, *v), xs)


def test_hessian_is_zero_where_independent(backend, Value):
    x, y, z = Value(1.5), Value(-2.0), Value(4.0)
    assert mf.hessian(x * x + y, [x, y, z]) == [[2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    assert mf.hessian(x + y, [x, y]) == [[0.0, 0.0], [0.0, 0.0]]


def test_hvp_is_the_hessian_times_the_vector(backend, Value):
    xs = [Value(0.3), Value(-1.1), Value(0.7)]
    vector = [0.5, -2.0, 1.25]
    H = mf.hessian(nonlinear(backend, *xs), xs)
    expected = [math.fsum(H[i][j] * vector[j] for j in range(3)) for i in range(3)]
    assert mf.hvp(nonlinear(backend, *xs), xs, vector) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert mf.hvp(xs[0] + xs[1], xs, vector) == [0.0, 0.0, 0.0]


def test_hessian_and_hvp_under_no_grad(backend, Value):
    """no_grad records no graph, but a Hessian is made of graphs: they are
    recorded for the call (the numbers are those outside no_grad)."""
    xs = [Value(0.3), Value(-1.1), Value(0.7)]
    out = nonlinear(backend, *xs)
    H, Hv = mf.hessian(out, xs), mf.hvp(out, xs, [1.0, 2.0, 3.0])
    with mf.no_grad():
        assert mf.hessian(out, xs) == H and mf.hvp(out, xs, [1.0, 2.0, 3.0]) == Hv
        assert not backend.grad_enabled()
    assert any(h != 0.0 for h in Hv)


def test_hvp_over_nodes_is_grad_of_grad(backend, Value):
    """An input that is a node of the graph (it depends on another input):
    hvp is the definition, the gradient of dot(grad(output, inputs), v)."""
    a, b = Value(0.7), Value(-0.4)
    m = (a * b).tanh()
    out = m * m * a + (m * b).exp()
    v = [0.5, -1.5, 2.0]
    first = backend.grad(out, [m, a, b], create_graph=True)
    expected = [g.data for g in backend.grad(backend.dot(first, v), [m, a, b])]
    assert mf.hvp(out, [m, a, b], v) == pytest.approx(expected, rel=1e-14)


def kinked(backend, xs):
    """A relu layer with dead units and an abs: kinks on both sides."""
    ws = [[0.7, -1.3, 0.4], [-0.9, 0.2, -0.6], [1.1, 0.5, -0.8], [-0.3, -0.7, 0.9]]
    hidden = [backend.dot(w, xs).relu() for w in ws]
    return backend.sum([h * h * x for h, x in zip(hidden, xs + [xs[0]])]) + (xs[1] * xs[2]).abs() * xs[0]


def replayable_hessian(backend, output, xs):
    """hessian from grad's replayable graph (step and sign nodes), for comparison."""
    first = backend.grad(output, xs, create_graph=True)
    return [[0.0 if d is None else d.data for d in backend.grad(g, xs, allow_unused=True)] for g in first]


def test_hessian_and_hvp_equal_the_replayable_graphs(backend, Value):
    """hessian and hvp take relu's and abs's slopes as numbers (replayable=False),
    dropping dead units' terms: the same numbers from a smaller graph."""
    xs = [Value(0.8), Value(-0.5), Value(1.2)]
    out = kinked(backend, xs)
    H = mf.hessian(out, xs)
    assert H == replayable_hessian(backend, out, xs)
    vector = [0.5, -2.0, 1.5]
    assert mf.hvp(out, xs, vector) == pytest.approx([sum(h * v for h, v in zip(row, vector)) for row in H], rel=1e-12)
    size = {}
    for replayable in (True, False):
        first = backend.grad(out, xs, create_graph=True, replayable=replayable)
        size[replayable] = len(backend.topo_order(backend.sum(first)))
        assert [g.data for g in first] == [g.data for g in backend.grad(out, xs)]
    assert size[False] < size[True]


def test_hvp_and_hessian_refuse_bad_input(backend, Value):
    x = Value(1.0)
    with pytest.raises(ValueError):
        mf.hvp(x * x, [x], [1.0, 2.0])
    with pytest.raises(TypeError):
        mf.hvp(x * x, [x], ["a"])
    with pytest.raises(TypeError):
        mf.hessian(1.0, [x])
    with pytest.raises(TypeError):
        mf.hessian(x * x, [1.0])


def test_nothing_is_changed(backend, Value):
    xs = [Value(0.3), Value(-1.1), Value(0.7)]
    out = nonlinear(backend, *xs)
    nodes = backend.topo_order(out)
    before = [(v.data, v.grad) for v in nodes]
    mf.hessian(out, xs)
    mf.hvp(out, xs, [1.0, 2.0, 3.0])
    mf.gradcheck(lambda *v: nonlinear(backend, *v), xs)
    assert [(v.data, v.grad) for v in nodes] == before


# --- gradcheck ------------------------------------------------------------------------


def test_gradcheck_passes_right_derivatives(backend, Value):
    xs = [Value(0.3), Value(-1.1), Value(0.7)]
    assert mf.gradcheck(lambda *v: nonlinear(backend, *v), xs) is True
    assert mf.gradcheck(lambda a, b: backend.cross_entropy([a, b, a * b], 1), xs[:2])
    assert mf.gradcheck(lambda a: a * 2.0, [Value(1.0)])


def wrong_slope(Value):
    """x * y with a microgpt-style node whose slope in y is off by 10%."""
    def fn(x, y):
        return Value(x.data * y.data, (x, y), (y.data, 1.1 * x.data)) + x
    return fn


def test_gradcheck_names_the_worst_entry(backend, Value):
    xs = [Value(0.5), Value(2.0)]
    with pytest.raises(mf.GradcheckError, match=r"1 of 2 .*d output / d inputs\[1\]: analytic 0\.55") as info:
        mf.gradcheck(wrong_slope(Value), xs)
    assert isinstance(info.value, RuntimeError)
    assert mf.gradcheck(wrong_slope(Value), xs, raise_exception=False) is False
    assert mf.gradcheck(wrong_slope(Value), xs, atol=0.1, raise_exception=False) is True
    assert [x.data for x in xs] == [0.5, 2.0]


def test_gradcheck_refuses_bad_input(backend, Value):
    x = Value(1.0)
    with pytest.raises(TypeError):
        mf.gradcheck(3, [x])
    with pytest.raises(TypeError):
        mf.gradcheck(lambda v: 2.0, [x])
    with pytest.raises(TypeError):
        mf.gradcheck(lambda v: v, [1.0])
    with pytest.raises(TypeError):
        mf.gradcheck(lambda v: v, x)


def test_gradgradcheck_passes_and_fails(backend, Value, monkeypatch):
    xs = [Value(0.3), Value(-1.1)]

    def fn(a, b):
        return (a * b).tanh() * a.exp() + (a * a * b).sin()
    assert mf.gradgradcheck(fn, xs) is True
    right = mf.hessian(fn(*xs), xs)
    wrong = [row[:] for row in right]
    wrong[1][0] += 0.5
    monkeypatch.setattr(autodiff, "hessian", lambda out, inputs: wrong)
    with pytest.raises(mf.GradcheckError, match=r"d2 output / d inputs\[1\] d inputs\[0\]"):
        mf.gradgradcheck(fn, xs)
    assert mf.gradgradcheck(fn, xs, raise_exception=False) is False


def test_grad_goes_to_the_engine_of_the_values(backend, Value):
    """autodiff.grad (mf.grad at import) serves both engines' Values,
    whichever engine is live, and refuses what is no Value in grad's words."""
    for module in mf.engine.available().values():
        a = module.Value(1.5)
        [g] = autodiff.grad(a * a, [a])
        assert type(g) is module.Value and g.data == 3.0
    with pytest.raises(TypeError):
        autodiff.grad(2.0, [Value(1.0)])
