"""Value and the libraries used as micrograd's README, the lecture and
microgpt use them, for `mypy --strict` (make typecheck): each assert_type
states what an editor should show. tests/unit/test_typing_usage.py also runs
main() on both engines, so what is stated here also happens.

Not a test module (pytest collects test_*.py only).
"""

from __future__ import annotations

import math
import weakref
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union

import numpy as np

import micrograd_fast as mf
from micrograd_fast import datasets, losses, nn, optim
from micrograd_fast.engine import Value

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:
    def assert_type(value, _):  # typing.assert_type is 3.11+; at run time it checks nothing
        return value


def readme() -> None:
    a, b = Value(-4.0), Value(2.0)
    c = (a * b + b**3).relu() + (a - b).tanh()
    c.backward()
    assert_type(c, Value)
    assert_type(c.data, float)
    assert_type(a.grad, float)
    assert_type(mf.BACKEND, str)


def numbers_on_either_side() -> None:
    a = Value(3)
    for v in (a + 1, 1 + a, a - 2.5, 2.5 - a, a * 2, 2 * a, a / 4, 4 / a, a**2, 2**a, a**a, -a,
              a * np.float64(0.5), np.float64(0.5) * a, a + np.int64(1), np.float32(1.5) - a,
              Fraction(1, 3) * a, a + True, Value(np.float64(2.0)), Value(Fraction(1, 2))):
        assert_type(v, Value)
    for x in (a.relu(), a.tanh(), a.exp(), a.log(), a.sigmoid()):
        assert_type(x, Value)


def op_table() -> None:
    """The unary ops, each a method named by its id, and the engine's op ids."""
    a = Value(0.5)
    for x in (a.sin(), a.cos(), a.abs(), a.sqrt(), a.step(), a.sign(), abs(a), abs(-a)):
        assert_type(x, Value)
    assert_type(mf.engine.OPS, tuple[str, ...])
    assert_type(mf.engine.UNARY_OPS, tuple[str, ...])
    assert set(mf.engine.UNARY_OPS) <= set(mf.engine.OPS)
    for op in mf.engine.UNARY_OPS:
        assert isinstance(getattr(a, op)(), Value)


def properties() -> None:
    a = Value(2.0, label="a")
    b = Value(-3.0)
    b.label = "b"
    e = a * b
    e.label = "e"
    assert_type(a.label, str)  # (not e.label: pyright narrows it to the literal just assigned)
    e.data = 1  # data and grad take any real number and hold a float
    e.data += 0.5
    e.grad = np.float64(0.25)
    assert_type(e.data, float)
    assert_type(e._prev, set[Value])
    assert_type(e._children, tuple[Value, ...])
    assert_type(e._local_grads, Optional[tuple[float, ...]])
    assert_type(e._op, str)
    assert_type(e._backward, Callable[[], object])
    assert weakref.ref(e)() is e


def micrograd_custom_op() -> None:
    """micrograd's way of adding an op: a node, its _op, a closure as _backward."""
    x = Value(0.5)
    out = Value(math.tanh(x.data), (x,), "tanh")

    def _backward() -> None:
        x.grad += (1 - out.data**2) * out.grad
    out._backward = _backward
    out.backward()
    assert_type(x.grad, float)


def microgpt() -> None:
    """microgpt's Value(data, children, local_grads) and its fields."""
    a, b = Value(2.0), Value(3.0)
    c = Value(a.data * b.data, (a, b), (b.data, a.data))
    d = Value(c.data + 1, (c,), [1])
    d.backward()
    local = d._local_grads
    assert local is not None
    assert_type(local[0], float)
    for child, grad in zip(c._children, c._local_grads or ()):
        assert_type(child, Value)
        assert_type(grad, float)
    # builtins.sum over Values: typeshed says `Value | Literal[0]` without a start
    params = [Value(1.0), Value(2.0)]
    assert_type(sum(params), Union[Value, Literal[0]])
    assert_type(sum(params, Value(0.0)), Value)
    assert_type(mf.sum(params), Value)


def fused_ops() -> None:
    x: list[Value | float] = [Value(0.1), Value(-0.2), 0.3]  # (unannotated, mypy joins them: list[object])
    W = [[Value(0.5), Value(0.1), Value(0.2)], [Value(-0.3), Value(0.4), Value(0.6)]]
    assert_type(mf.dot(W[0], x), Value)
    assert_type(mf.dot(W[0], x, Value(1.0)), Value)
    assert_type(mf.sum(x, 1.0), Value)
    assert_type(mf.linear(x, W), list[Value])
    assert_type(mf.rmsnorm(x), list[Value])
    logits = mf.linear(x, W)
    assert_type(mf.softmax(logits), list[Value])
    assert_type(mf.log_softmax(logits), list[Value])
    assert_type(mf.cross_entropy(logits, 1), Value)
    assert_type(mf.cross_entropy(logits, Value(1.0)), Value)
    table = [[Value(float(i + j)) for j in range(3)] for i in range(4)]
    assert_type(mf.embedding(table, Value(2.0)), list[Value])
    assert_type(mf.embedding(table, 3), list[Value])


def tapes() -> None:
    inputs = [[Value(0.0), Value(0.0)] for _ in range(3)]
    mf.assign(inputs, np.arange(6.0).reshape(3, 2))
    mf.assign(inputs, [[1, 2], [3.0, 4.0], (5, 6)])
    w = [Value(0.5), Value(-1.0)]
    out = mf.sum([mf.dot(w, row) for row in inputs])
    tape = mf.compile(out)
    assert_type(tape.forward(), float)
    tape.backward()
    assert_type(tape.leaves, list[Value])
    assert_type(len(tape), int)
    values = tape.evaluate(inputs[0], np.zeros((5, 2)), [out])
    assert values.shape == (5, 1)

    def build(n: int) -> tuple[Value, list[Value]]:
        tokens = [Value(0.0) for _ in range(n)]
        return mf.sum(tokens), tokens
    cache = mf.TapeCache(build)
    graph = cache[3]
    assert_type(graph, mf.CompiledGraph)
    assert_type(graph.tape, Union[mf.engine.Tape, mf.engine.BatchTape])  # a BatchTape with batch=True
    assert_type(graph.root, Value)
    mf.assign(graph.inputs, [1, 2, 3])
    assert isinstance(graph.tape, mf.engine.Tape)
    assert graph.tape.forward() == 6.0


def grad_mode() -> None:
    with mf.no_grad():
        assert_type(mf.is_grad_enabled(), bool)
        assert not (Value(1.0) * 2)._children

    @mf.no_grad()
    def evaluate(v: Value) -> float:
        return (v * 2).data
    assert_type(evaluate(Value(1.0)), float)


def derivatives() -> None:
    """grad (PyTorch's autograd.grad), derivatives of derivatives, and the
    checks built on it."""
    x, y = Value(0.5), Value(-1.5)
    f = (x * y).tanh() + x**3
    dx, dy = mf.grad(f, [x, y])
    assert_type(dx, Value)
    assert_type(mf.grad([f, x * 2], [x], [1.0, Value(2.0)]), list[Value])
    [d1] = mf.grad(f, [x], create_graph=True)
    [d2] = mf.grad(d1, [x])
    assert_type(d2.data, float)
    maybe = mf.grad(f, [x, Value(0.0)], allow_unused=True)
    assert_type(maybe, list[Optional[Value]])
    assert maybe[1] is None
    assert_type(mf.hessian(f, [x, y]), list[list[float]])
    assert_type(mf.hvp(f, [x, y], [1.0, 0.0]), list[float])

    def fn(a: Value, b: Value) -> Value:
        return (a * b).sin()
    assert_type(mf.gradcheck(fn, [x, y]), bool)
    assert_type(mf.gradgradcheck(fn, [x, y], eps=1e-5, raise_exception=False), bool)
    try:
        mf.gradcheck(lambda a: Value(a.data, (a,), (2.0,)), [x])
    except mf.GradcheckError as exc:
        assert_type(exc, mf.GradcheckError)


def libraries() -> None:
    X, y = datasets.make_moons(20, noise=0.1, seed=0)
    model = nn.MLP(2, [4, 1])
    params = model.parameters()
    assert_type(params, list[Value])
    opt = optim.AdamW(params, lr=1e-1)
    scores = [model(row) for row in X.tolist()]  # a Value per row: the model has one output
    loss = losses.hinge(scores, (2 * y - 1).tolist())
    assert_type(loss, Value)
    opt.zero_grad()
    loss.backward()
    opt.step()
    opt.lr = 0.05
    neuron = nn.Neuron(2, nonlin=False)
    assert_type(neuron([1.0, Value(2.0)]), Value)
    layer = nn.Layer(2, 3)
    assert_type(layer.parameters(), list[Value])
    state: dict[str, Any] = model.state_dict()
    model.load_state_dict(state)
    for opt_ in (optim.SGD(params, lr=0.1, momentum=0.9), optim.Adam(params)):
        opt_.step()
    logits = [[Value(0.1), Value(0.2), Value(0.3)], [Value(0.0), Value(1.0), Value(-1.0)]]
    assert_type(losses.cross_entropy(logits[0], 2), Value)
    assert_type(losses.cross_entropy(logits, [2, 0]), Value)
    assert_type(losses.cross_entropy(logits, [2, 0], reduction="none"), list[Value])
    assert_type(losses.softmax(logits[0]), list[Value])
    assert_type(losses.mse(logits[0], [1.0, Value(0.0), 2]), Value)


def subclassing() -> None:
    class Named(Value):
        def __init__(self, data: float, name: str) -> None:
            super().__init__(data, label=name)
    n = Named(1.0, "n")
    assert_type(n * 2, Value)
    assert_type(n.label, str)


def rejected() -> None:
    """What the types refuse (each line would fail at run time too); never
    run. strict mypy reports an unused ignore if a line stops being an error."""
    Value("3")  # type: ignore[arg-type]
    Value(1j)  # type: ignore[arg-type]
    Value(1.0) + "x"  # type: ignore[operator]
    Value(1.0).data = None  # type: ignore[assignment]
    Value(1.0, (1.0,))  # type: ignore[arg-type]
    Value(1.0, label=3)  # type: ignore[arg-type]
    Value(1.0).relu(2)  # type: ignore[call-arg]
    mf.cross_entropy([Value(1.0)], 0.5)  # type: ignore[arg-type]
    mf.compile([Value(1.0)])  # type: ignore[call-overload]
    mf.grad(Value(1.0), [1.0])  # type: ignore[list-item]
    mf.hessian([Value(1.0)], [Value(1.0)])  # type: ignore[arg-type]


def main() -> None:
    for part in (readme, numbers_on_either_side, op_table, properties, micrograd_custom_op, microgpt,
                 fused_ops, tapes, grad_mode, derivatives, libraries, subclassing):
        part()


if __name__ == "__main__":
    main()
