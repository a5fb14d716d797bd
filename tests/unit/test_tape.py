"""The tape: replaying a recorded graph equals rebuilding it eagerly."""

import math
import random

import pytest

from micrograd_fast import nn

import fixtures

np = pytest.importorskip("numpy")


@pytest.mark.parametrize("model_kind", ["fused", "binary"])
def test_moons_replay_equals_eager(backend, model_kind):
    """micrograd's demo (benchmarks/fixtures.py), eager and taped, on our
    MLP (fused nodes) and on micrograd's own (plain binary ops)."""
    Value = backend.Value
    X, y = fixtures.moons(40)
    if model_kind == "binary":
        pytest.importorskip("micrograd.nn")
    make = {"fused": lambda: fixtures.moons_model((8, 8, 1)),
            "binary": lambda: fixtures.micrograd_model(Value, (8, 8, 1))}[model_kind]
    eager, taped = make(), make()  # each seeded alike

    inputs = [[Value(0.0), Value(0.0)] for _ in range(len(X))]
    backend.assign(inputs, X)
    tape = backend.compile(fixtures.demo_loss(taped, inputs, y))
    for step in range(15):
        eager_loss = fixtures.demo_loss(eager, [list(map(Value, row)) for row in X], y)
        eager.zero_grad()
        eager_loss.backward()
        replayed = tape.forward()
        taped.zero_grad()
        tape.backward()
        assert replayed == pytest.approx(eager_loss.data, rel=1e-12)
        for p, q in zip(taped.parameters(), eager.parameters()):
            assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-15)
        fixtures.demo_update(eager, step)
        fixtures.demo_update(taped, step)
    for p, q in zip(taped.parameters(), eager.parameters()):
        assert p.data == pytest.approx(q.data, rel=1e-12)


def cross_entropy(logits, target):
    m = max(v.data for v in logits)
    exps = [(v - m).exp() for v in logits]
    return -((logits[target] - m) - sum(exps).log())


def test_yinyang_style_replay_equals_eager(backend):
    """Cross-entropy over three classes: exp, log, sum, division, constants."""
    Value = backend.Value
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, size=(24, 2))
    labels = rng.integers(0, 3, size=24).tolist()
    random.seed(3)
    eager = nn.MLP(2, [6, 3])
    random.seed(3)
    taped = nn.MLP(2, [6, 3])

    def loss_of(model, inputs):
        losses = [cross_entropy(model(row), t) for row, t in zip(inputs, labels)]
        return backend.sum(losses) / len(losses)

    inputs = [[Value(a), Value(b)] for a, b in X.tolist()]
    tape = backend.compile(loss_of(taped, inputs))
    for _ in range(10):
        e = loss_of(eager, [list(map(Value, row)) for row in X.tolist()])
        eager.zero_grad()
        e.backward()
        taped.zero_grad()
        r = tape.forward()
        tape.backward()
        assert r == pytest.approx(e.data, rel=1e-12)
        for p, q in zip(taped.parameters(), eager.parameters()):
            assert p.grad == pytest.approx(q.grad, rel=1e-12, abs=1e-15)
            p.data -= 0.1 * p.grad
            q.data -= 0.1 * q.grad


def test_len_leaves_repr(backend):
    Value = backend.Value
    a, b = Value(2.0), Value(3.0)
    out = (a * b + a).tanh()
    tape = backend.compile(out)
    assert len(tape) == 5
    assert set(tape.leaves) == {a, b}
    assert repr(tape) == "<Tape of 5 nodes, 2 leaves>"
    a.data = 0.5
    assert tape.forward() == math.tanh(0.5 * 3.0 + 0.5) == out.data


def test_backward_semantics_match_root_backward(backend):
    Value = backend.Value
    a = Value(1.5)
    out = a * a + a
    tape = backend.compile(out)
    tape.backward()
    tape.backward()  # leaves accumulate, interior restarts from 0
    assert a.grad == 2 * (2 * 1.5 + 1)
    assert out.grad == 1.0


def test_custom_op_cannot_be_compiled(backend):
    Value = backend.Value
    x = Value(1.0)
    out = Value(2.0, (x,), "mystery")
    out._backward = lambda: None
    with pytest.raises(TypeError, match="mystery"):
        backend.compile(out * 2)
    with pytest.raises(TypeError):
        backend.compile(3.0)


def test_stale_tape_raises(backend):
    Value = backend.Value
    a = Value(1.0)
    mid = a * 2
    tape = backend.compile(mid + 1)
    mid._backward = lambda: None
    with pytest.raises(RuntimeError, match="compile it again"):
        tape.forward()
    with pytest.raises(RuntimeError):
        tape.backward()


def test_evaluate_matches_per_point_eager(backend):
    Value = backend.Value
    random.seed(2)
    model = nn.MLP(2, [5, 2])
    inputs = [Value(0.0), Value(0.0)]
    outputs = model(inputs)
    tape = backend.compile(backend.sum(outputs))
    mesh = np.random.default_rng(0).uniform(-1, 1, size=(50, 2))
    got = tape.evaluate(inputs, mesh, outputs)
    assert got.shape == (50, 2)
    for row, out in zip(mesh.tolist(), got.tolist()):
        assert out == [v.data for v in model(row)]
    assert [v.data for v in inputs] == [0.0, 0.0]  # restored
    with pytest.raises(ValueError, match="shape"):
        tape.evaluate(inputs, np.zeros((3, 3)), outputs)


def test_assign(backend):
    Value = backend.Value
    vs = [[Value(0.0), Value(0.0)], [Value(0.0), Value(0.0)]]
    backend.assign(vs, np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert [[v.data for v in row] for row in vs] == [[1.0, 2.0], [3.0, 4.0]]
    backend.assign(vs[0], [5, 6.5])
    assert [v.data for v in vs[0]] == [5.0, 6.5]
    with pytest.raises(ValueError):
        backend.assign(vs, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        backend.assign(vs[0], [1.0, "x"])
    with pytest.raises(TypeError):
        backend.assign([1.0], [1.0])
    assert [v.data for v in vs[0]] == [5.0, 6.5]  # nothing changed by the failures
