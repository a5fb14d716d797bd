"""A batched tape's refusals (compile(root, batch=inputs)), on both
engines: bad X, batch, threads, reduction and outputs raise the exception
Python would, worded by micrograd_fast/batch_checks.py; an op error in any
row raises the scalar tape's exception naming the lowest failing row; and
none of them changes a Value's .data or .grad."""

import pytest

from test_batch_tape import close, graph_of, snapshot, unchanged

np = pytest.importorskip("numpy")


def two_inputs(backend):
    x, y, w = backend.Value(0.0), backend.Value(0.0), backend.Value(0.5)
    out = (x * w + y).tanh()
    return out, [x, y], backend.compile(out, batch=[x, y])


@pytest.mark.parametrize("X", [np.zeros((3, 3)), np.zeros((3,)), np.zeros((0, 2)), [], [[]], [[1.0, 2.0], [3.0]],
                               [1.0, 2.0], [[[1.0, 2.0]]], np.zeros((2, 2, 1))])
def test_X_of_the_wrong_shape(backend, X):
    out, inputs, tape = two_inputs(backend)
    for call in (tape.forward, lambda X: tape.evaluate(X, [out])):
        with pytest.raises(ValueError):
            call(X)
    with pytest.raises(RuntimeError):  # nothing ran
        tape.backward()


@pytest.mark.parametrize("item", ["1.0", 1j, None, b"1", [1.0], {}, np.complex128(1.0)])
def test_X_holding_something_not_a_real_number(backend, item):
    out, inputs, tape = two_inputs(backend)
    with pytest.raises(TypeError):
        tape.forward([[1.0, 2.0], [3.0, item]])
    with pytest.raises(TypeError):
        tape.evaluate([[item, 2.0]], [out])
    with pytest.raises(TypeError):
        tape.forward(np.array([[1.0, 2.0j]]))
    assert [v.data for v in inputs] == [0.0, 0.0] and out.data == 0.0


def test_numbers_of_any_real_type(backend):
    out, inputs, tape = two_inputs(backend)
    want = tape.forward([[1.0, 2.0], [3.0, 4.0]]).tolist()
    assert tape.forward(np.array([[1, 2], [3, 4]], dtype=np.int32)).tolist() == want
    assert tape.forward(((1, 2.0), (np.float32(3.0), 4))).tolist() == want


@pytest.mark.parametrize("X", [[[1, 2.0], [3.5, -4]], ((2**53 + 1, 0.1),), [(1.0, 2.0), [3, 4]]])
def test_plain_rows_of_ints_and_floats_are_converted_as_float_does(backend, X):
    """The common nested lists of ints and floats take batch_checks' fast
    conversion: the same numbers as the operand rule's float(x), item by item."""
    from micrograd_fast import batch_checks

    array = batch_checks._plain_floats(np, X, 2)
    assert array is not None
    assert batch_checks.rows(X, 2, "forward").tolist() == array.tolist()
    assert array.dtype == np.float64 and array.flags.c_contiguous
    assert array.tolist() == [[float(v) for v in row] for row in X]
    out, inputs, tape = two_inputs(backend)
    assert tape.forward(X).tolist() == tape.forward(array).tolist()


def test_an_int_too_large_for_a_float(backend):
    out, inputs, tape = two_inputs(backend)
    with pytest.raises(OverflowError):
        tape.forward([[10**400, 1.0]])
    assert [v.data for v in inputs] == [0.0, 0.0]


def test_bad_batch_arguments(backend):
    x, y = backend.Value(1.0), backend.Value(2.0)
    mid = x * y
    out = mid + 1.0
    for batch, error, words in [(x, TypeError, "list"), ({x}, TypeError, "list"), ([x, 1.0], TypeError, "float"),
                                ([x, x], ValueError, "twice"), ([x, mid], ValueError, r"batch\[1\]"),
                                ([out], ValueError, r"batch\[0\]")]:
        with pytest.raises(error, match=words):
            backend.compile(out, batch=batch)
    for threads, error in [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)]:
        with pytest.raises(error):
            backend.compile(out, batch=[x], threads=threads)
    with pytest.raises(TypeError, match="batch"):
        backend.compile(out, threads=2)  # threads without a batch
    with pytest.raises(TypeError):
        backend.compile(1.0, batch=[x])
    assert (x.data, y.data, mid.data, out.data) == (1.0, 2.0, 2.0, 3.0)


def test_bad_backward_and_evaluate_arguments(backend):
    out, inputs, tape = two_inputs(backend)
    with pytest.raises(RuntimeError, match="forward"):
        tape.backward()
    tape.forward([[1.0, 2.0]])
    for reduction in ("max", None, "MEAN", 1):
        with pytest.raises(ValueError, match="reduction"):
            tape.backward(reduction)
    stranger = backend.Value(3.0)
    with pytest.raises(ValueError, match=r"outputs\[1\]"):
        tape.evaluate([[1.0, 2.0]], [out, stranger])
    with pytest.raises(ValueError, match=r"outputs\[0\]"):
        tape.evaluate([[1.0, 2.0]], [out + 1.0])  # made after compiling: not on the tape
    with pytest.raises(TypeError):
        tape.evaluate([[1.0, 2.0]], [out, 2.0])
    assert all(v.grad == 0.0 for v in backend.topo_order(out))


def test_custom_ops_and_changed_graphs(backend):
    x = backend.Value(1.0)
    custom = backend.Value(2.0, (x,), "mystery")
    custom._backward = lambda: None
    with pytest.raises(TypeError, match="mystery"):
        backend.compile(custom * 2, batch=[x])
    mid = x * 2
    tape = backend.compile(mid + 1, batch=[x])
    tape.forward([[1.0]])
    mid._backward = lambda: None  # a custom op now: it has no forward to replay
    with pytest.raises(RuntimeError, match="compile it again"):
        tape.forward([[1.0]])
    with pytest.raises(RuntimeError):
        tape.backward()
    other = backend.compile(x * 3 + 1, batch=[x])
    other.forward([[1.0]])
    unrelated = x * 5
    unrelated._backward = lambda: None  # another graph's node: this tape's ops are still its own
    assert other.forward([[2.0]]).tolist() == [7.0]
    with pytest.raises(RuntimeError, match="compile it again"):
        tape.evaluate([[1.0]], [mid])  # and the changed one stays refused


def test_an_op_error_names_the_lowest_failing_row_and_changes_nothing(backend):
    x, t, w = backend.Value(1.0), backend.Value(0.0), backend.Value(0.5)
    logits = [x.log() * w, x * w, w + 0.0]
    loss = backend.cross_entropy(logits, t) + backend.embedding([[w], [x]], t)[0]
    tape = backend.compile(loss, batch=[x, t])
    everything = graph_of(backend, loss, [x, t])
    w.grad = 0.125
    tape.forward([[2.0, 1.0], [3.0, 0.0]])
    before = snapshot(everything)
    for X, error, row in [([[2.0, 0.0], [1.0, 1.0], [-1.0, 0.0], [-2.0, 0.0]], ValueError, 2),  # log(-1)
                          ([[2.0, 0.0], [2.0, 3.0], [2.0, 0.0]], IndexError, 1),  # a target out of range
                          ([[2.0, 0.0], [2.0, 0.5]], ValueError, 1),  # not an integer
                          ([[0.0, 1.0]], ValueError, 0)]:  # log(0)
        with pytest.raises(error, match=rf"^row {row}:"):
            tape.forward(X)
        assert unchanged(everything, before)
        with pytest.raises(RuntimeError, match="forward"):  # the failed forward cleared what backward uses
            tape.backward()
        with pytest.raises(error, match=rf"^row {row}:"):
            tape.evaluate(X, [loss])
        assert unchanged(everything, before)


def test_a_backward_error_names_its_row_and_adds_nothing(backend):
    x, w = backend.Value(1.0), backend.Value(2.0)
    out = (x * w) ** 0.5  # its slope at 0 is 0.5 * 0 ** -0.5: Python raises
    scalar = backend.compile(out)
    x.data = 0.0
    scalar.forward()
    with pytest.raises(ArithmeticError) as raised:
        scalar.backward()
    tape = backend.compile(out, batch=[x])
    everything = graph_of(backend, out, [x])
    before = snapshot(everything)
    assert tape.forward([[1.0], [4.0], [0.0], [0.0]]).tolist() == [2.0**0.5, 8.0**0.5, 0.0, 0.0]
    with pytest.raises(type(raised.value), match=r"^row 2:"):
        tape.backward()
    assert unchanged(everything, before)
    tape.forward([[1.0], [4.0]])  # a good batch still works afterwards
    tape.backward("sum")
    assert close(w.grad, 0.5 * 2.0**-0.5 + 0.5 * 8.0**-0.5 * 4.0, 1.0)
