"""Bad input to the fused nodes and the tape: Python's exception types, a
message naming the problem, and no existing Value changed."""

import fractions

import pytest


def snapshot(values):
    return [(v.data, v.grad) for v in values]


def test_dot_and_sum_reject_bad_input(backend):
    V = backend.Value
    ws, xs = [V(1.0), V(2.0)], [V(3.0), V(4.0)]
    before = snapshot(ws + xs)
    with pytest.raises(ValueError, match="2 weights but 1 inputs"):
        backend.dot(ws, xs[:1])
    with pytest.raises(TypeError, match="str"):
        backend.dot(ws, [V(1.0), "x"])
    with pytest.raises(TypeError, match="bias"):
        backend.dot(ws, xs, bias="b")
    with pytest.raises(TypeError, match="NoneType"):
        backend.sum([V(1.0), None])
    with pytest.raises(TypeError, match="start"):
        backend.sum(ws, start=[1])
    with pytest.raises(TypeError):
        backend.dot(ws, 5)
    assert snapshot(ws + xs) == before
    assert backend.sum([]).data == 0.0 and backend.dot([], [], 2.0).data == 2.0


def test_dense_rejects_bad_input(backend):
    V = backend.Value
    w = [[V(1.0), V(2.0)]]
    with pytest.raises(ValueError, match="1 weight rows but 2 biases"):
        backend.dense(w, [V(0.0), V(0.0)], [1.0, 2.0], True)
    with pytest.raises(ValueError, match="2 weights for 3 inputs"):
        backend.dense(w, [V(0.0)], [1.0, 2.0, 3.0], True)
    with pytest.raises(TypeError, match="bias 0"):
        backend.dense(w, [0.0], [1.0, 2.0], True)


def test_compile_and_evaluate_reject_bad_input(backend):
    V = backend.Value
    a = V(1.0)
    out = a * 2
    tape = backend.compile(out)
    with pytest.raises(TypeError):
        backend.compile([out])
    with pytest.raises(TypeError, match="must be Values"):
        tape.evaluate([1.0], [[1.0]], [out])
    with pytest.raises(ValueError, match="shape"):
        tape.evaluate([a], [1.0, 2.0], [out])
    assert (a.data, out.data) == (1.0, 2.0)


def test_failed_forward_replay_raises_python_errors(backend):
    V = backend.Value
    a = V(1.0)
    tape = backend.compile(a.log())
    a.data = -1.0
    with pytest.raises(ValueError, match="math domain error"):
        tape.forward()


def test_dense_plan_rejects_bad_input(compiled):
    V = compiled.Value
    w = [[V(1.0), V(2.0)]]
    plan = compiled.DensePlan([[1]], [w], [[V(0.0)]], [True])
    assert plan([1.0, 2.0]).data == 5.0  # relu(0 + 1*1 + 2*2)
    for x in ([1.0], [1.0, "2"], "ab", None, [1.0, 2.0, 3.0]):
        assert plan(x) is None  # the caller then calls the layers, which word the error
    with pytest.raises(TypeError, match="parts must be lists"):
        compiled.DensePlan([(1,)], [w], [[V(0.0)]], [True])
    with pytest.raises(ValueError, match="one entry per layer"):
        compiled.DensePlan([], [w], [[V(0.0)]], [True, False])
    with pytest.raises(ValueError, match="as many weight lists as biases"):
        compiled.DensePlan([], [w], [[V(0.0), V(1.0)]], [True])
    with pytest.raises(TypeError, match="bias is a float"):
        compiled.DensePlan([], [w], [[0.0]], [True])


def test_an_input_resized_by_a_numbers_float_raises(backend):
    """A weight's __float__ that empties the inputs mid-read: an exception,
    never a node with a missing child (the compiled engine used to crash)."""
    V = backend.Value
    xs = [1.0, 2.0]

    class Shrinker(fractions.Fraction):  # a real number, so its __float__ is what counts
        def __float__(self):
            xs.clear()
            return 1.0

    with pytest.raises((ValueError, RuntimeError)):
        backend.dot([Shrinker(), V(1.0)], xs)
    xs[:] = [V(1.0), V(2.0)]
    with pytest.raises((ValueError, RuntimeError)):
        backend.dense([[Shrinker(), V(1.0)], xs], [V(0.0), V(0.0)], [V(3.0), V(4.0)], True)


def test_a_list_shrunk_while_summed_raises(compiled):
    """The reference, iterating in Python, sums what is left, as builtins.sum
    would; the compiled node has made room for every item, so it must refuse."""
    values = []

    class Shrinker(fractions.Fraction):
        def __float__(self):
            values.clear()
            return 1.0

    values += [Shrinker(), 1.0, 2.0]
    with pytest.raises(RuntimeError, match="changed size"):
        compiled.sum(values)
