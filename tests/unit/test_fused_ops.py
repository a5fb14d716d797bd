"""The fused ops of a small GPT (linear, rmsnorm, softmax, log_softmax,
cross_entropy, embedding), on both engines: each against the scalar code it
replaces (forward bit for bit, gradients to 1e-12), its local gradients,
replay on a tape with new data, no_grad, and bad input."""

import math
import random

import pytest

import micrograd_fast

REL = 1e-12


def values(Value, xs):
    return [Value(x) for x in xs]


def grads(vs):
    return [v.grad for v in vs]


def datas(vs):
    return repr([v.data for v in vs])


def pull(outputs, seed=0):
    """A scalar of the outputs with distinct weights, to backpropagate from."""
    rng = random.Random(seed)
    return sum(out * rng.uniform(-2, 2) for out in outputs)


# the written-out code each fused op replaces, microgpt's way


def linear_written(x, W):
    return [sum(w * xi for w, xi in zip(row, x)) for row in W]


def rmsnorm_written(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def softmax_written(logits):
    top = max(v.data for v in logits)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def log_softmax_written(logits):
    top = max(v.data for v in logits)
    shifted = [v - top for v in logits]
    log_total = sum(s.exp() for s in shifted).log()
    return [s - log_total for s in shifted]


def cross_entropy_written(logits, t):
    top = max(v.data for v in logits)
    shifted = [v - top for v in logits]
    return sum(s.exp() for s in shifted).log() - shifted[t]


LOGITS = [0.5, -1.25, 3.0, 0.0, 2.75]
ROWS = [[0.25, -0.5, 1.0, 0.75, -1.0], [1.5, 0.0, -0.25, 0.5, 2.0]]
CASES = {  # name: (the fused op, the code it replaces), each over an engine and the inputs
    "linear": (lambda b, x: b.linear(x, ROWS), lambda b, x: linear_written(x, ROWS)),
    "rmsnorm": (lambda b, x: b.rmsnorm(x), lambda b, x: rmsnorm_written(x)),
    "softmax": (lambda b, x: b.softmax(x), lambda b, x: softmax_written(x)),
    "log_softmax": (lambda b, x: b.log_softmax(x), lambda b, x: log_softmax_written(x)),
    "cross_entropy": (lambda b, x: [b.cross_entropy(x, 3)], lambda b, x: [cross_entropy_written(x, 3)]),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("inputs", [LOGITS, [1e300, -1e300, 0.0, 5.0, 5.0], [-3.5] * 5, [2.0, 1e-300, -7.0, 7.0, 0.1]])
def test_a_fused_op_is_its_written_out_code(backend, name, inputs):
    fused, written = CASES[name]
    ours, theirs = values(backend.Value, inputs), values(backend.Value, inputs)
    out, expected = fused(backend, ours), written(backend, theirs)
    assert datas(out) == datas(expected)  # the same arithmetic in the same order: the same bits
    pull(out).backward()
    pull(expected).backward()
    assert grads(ours) == pytest.approx(grads(theirs), rel=REL, abs=1e-300)


def test_linear_weights_get_the_written_out_gradients(backend):
    V = backend.Value
    rng = random.Random(2)
    W1 = [[V(rng.uniform(-1, 1)) for _ in range(4)] for _ in range(3)]
    W2 = [[V(w.data) for w in row] for row in W1]
    x1, x2 = values(V, [0.5, -1.0, 2.0, 0.25]), values(V, [0.5, -1.0, 2.0, 0.25])
    out1, out2 = backend.linear(x1, W1), linear_written(x2, W2)
    assert datas(out1) == datas(out2) and all(o._op == "dot" and len(o._children) == 8 for o in out1)
    pull(out1).backward()
    pull(out2).backward()
    assert [w.grad for row in W1 for w in row] == pytest.approx([w.grad for row in W2 for w in row], rel=REL)
    assert grads(x1) == pytest.approx(grads(x2), rel=REL)


def test_embedding_is_the_row_and_only_the_row_learns(backend):
    V = backend.Value
    table = [values(V, [r + 0.1 * j for j in range(3)]) for r in range(4)]
    index = V(2.0)
    out = backend.embedding(table, index)
    assert [v.data for v in out] == [v.data for v in table[2]]
    assert all(v._op == "embedding" and len(v._children) == 5 for v in out)
    pull(out).backward()
    expected = values(V, [v.data for v in table[2]])
    pull(expected).backward()
    assert [[v.grad for v in row] for row in table] == [[0.0] * 3, [0.0] * 3, grads(expected), [0.0] * 3]
    assert index.grad == 0.0
    assert [v.data for v in backend.embedding(table, 3)] == [v.data for v in table[3]]


def test_cross_entropy_takes_a_target_value(backend):
    V = backend.Value
    a, b = values(V, LOGITS), values(V, LOGITS)
    target = V(4.0)
    ours, theirs = backend.cross_entropy(a, target), cross_entropy_written(b, 4)
    assert repr(ours.data) == repr(theirs.data) and ours._children[-1] is target
    ours.backward()
    theirs.backward()
    assert grads(a) == pytest.approx(grads(b), rel=REL) and target.grad == 0.0


@pytest.mark.parametrize("build", [
    lambda b, x: b.rmsnorm(x), lambda b, x: b.softmax(x), lambda b, x: b.log_softmax(x),
    lambda b, x: [b.cross_entropy(x, 1)], lambda b, x: b.embedding([x, [v * 2 for v in x]], 1),
])
def test_local_grads_are_what_each_node_backpropagates(backend, build):
    """For every node a fused op makes, _local_grads is what its _backward
    gives its children for a grad of 1."""
    outs = build(backend, values(backend.Value, LOGITS))
    nodes = {id(n): n for out in outs for n in backend.topo_order(out) if n._children}
    for node in nodes.values():
        children = node._children
        for c in children:
            c.grad = 0.0
        node.grad = 1.0
        node._backward()
        assert list(node._local_grads) == pytest.approx([c.grad for c in children], rel=REL, abs=1e-300)


def test_a_tape_replays_new_indices_targets_and_maxima(backend):
    """The structure never depends on the data: a tape replays an embedding
    with a new row, a cross_entropy with a new target and a softmax whose
    largest logit moved, as building them again would."""
    V = backend.Value
    rng = random.Random(3)
    table = [[V(rng.uniform(-1, 1)) for _ in range(4)] for _ in range(5)]
    index, target = V(0.0), V(0.0)

    def loss(index, target):
        x = backend.rmsnorm(backend.embedding(table, index))
        probs = backend.softmax(x)
        return backend.cross_entropy(backend.log_softmax(x), target) + probs[2] * 3

    tape = backend.compile(loss(index, target))
    for row, t in [(3, 1), (1, 3), (4, 0), (3, 2)]:
        backend.assign([index, target], [row, t])
        taped = tape.forward()
        for p in (p for r in table for p in r):
            p.grad = 0.0
        tape.backward()
        taped_grads = [p.grad for r in table for p in r]
        for p in (p for r in table for p in r):
            p.grad = 0.0
        eager = loss(V(float(row)), V(float(t)))
        eager.backward()
        assert repr(taped) == repr(eager.data)
        assert taped_grads == pytest.approx([p.grad for r in table for p in r], rel=REL)


def test_a_replayed_index_out_of_range_raises_and_the_tape_goes_on(backend):
    V = backend.Value
    table = [values(V, [1.0, 2.0]), values(V, [3.0, 4.0])]
    index = V(0.0)
    tape = backend.compile(backend.sum(backend.embedding(table, index)))
    backend.assign([index], [2])
    with pytest.raises(IndexError, match="out of range"):
        tape.forward()
    backend.assign([index], [0.5])
    with pytest.raises(ValueError, match="must hold an integer"):
        tape.forward()
    backend.assign([index], [1])
    assert tape.forward() == 7.0


def test_under_no_grad_the_outputs_are_leaves(backend):
    x = values(backend.Value, LOGITS)
    with micrograd_fast.no_grad():
        outs = [backend.softmax(x), backend.log_softmax(x), backend.rmsnorm(x), [backend.cross_entropy(x, 0)],
                backend.embedding([x], 0), backend.linear(x, [x])]
    expected = [softmax_written(x), log_softmax_written(x), rmsnorm_written(x), [cross_entropy_written(x, 0)],
                x, linear_written(x, [x])]
    for got, want in zip(outs, expected):
        assert datas(got) == datas(want) and all(v._children == () for v in got)


BAD = [
    (lambda b, V: b.linear([V(1.0)], [[V(1.0), V(2.0)]]), ValueError, "row 0 of W has 2 weights for 1 inputs"),
    (lambda b, V: b.linear([V(1.0)], V(1.0)), TypeError, "W must be a list of rows"),
    (lambda b, V: b.linear([V(1.0)], [V(1.0)]), TypeError, "row 0 of W is a Value"),
    (lambda b, V: b.linear(["x"], [[V(1.0)]]), TypeError, "expected a Value or a real number"),
    (lambda b, V: b.rmsnorm([]), ValueError, "rmsnorm: empty input"),
    (lambda b, V: b.rmsnorm([V(1.0)], eps="x"), TypeError, "rmsnorm eps"),
    (lambda b, V: b.softmax([]), ValueError, "softmax: empty input"),
    (lambda b, V: b.log_softmax([V(1.0), None]), TypeError, "expected a Value or a real number, not NoneType"),
    (lambda b, V: b.cross_entropy([V(1.0), V(2.0)], 2), IndexError, "index 2 is out of range for 2"),
    (lambda b, V: b.cross_entropy([V(1.0), V(2.0)], -1), IndexError, "out of range"),
    (lambda b, V: b.cross_entropy([V(1.0), V(2.0)], V(0.5)), ValueError, "holds 0.5, not an integer"),
    (lambda b, V: b.cross_entropy([V(1.0), V(2.0)], V(math.nan)), ValueError, "not an integer"),
    (lambda b, V: b.cross_entropy([V(1.0), V(2.0)], V(math.inf)), IndexError, "out of range"),
    (lambda b, V: b.cross_entropy([V(1.0), V(2.0)], True), TypeError, "not bool"),
    (lambda b, V: b.cross_entropy([V(1.0), V(2.0)], "0"), TypeError, "not str"),
    (lambda b, V: b.embedding([[V(1.0)], [V(2.0)]], 2), IndexError, "index 2 is out of range for 2"),
    (lambda b, V: b.embedding([[V(1.0)], [V(2.0)]], V(-1.0)), IndexError, "out of range"),
    (lambda b, V: b.embedding([[V(1.0)], [V(2.0)]], V(1.5)), ValueError, "not an integer"),
    (lambda b, V: b.embedding([[V(1.0)], [V(2.0)]], 1.0), TypeError, "not float"),
    (lambda b, V: b.embedding(V(1.0), 0), TypeError, "table must be a list of rows"),
    (lambda b, V: b.embedding([], 0), ValueError, "empty table"),
    (lambda b, V: b.embedding([[V(1.0)], V(2.0)], 0), TypeError, "row 1 is a Value"),
    (lambda b, V: b.embedding([[V(1.0)], [V(2.0), V(3.0)]], 0), ValueError, "row 1 has 2 entries"),
    (lambda b, V: b.embedding([[V(1.0)], [2.0]], 0), TypeError, "the table holds a float"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[m for _, _, m in BAD])
def test_bad_input_is_refused_and_changes_nothing(backend, call, error, message):
    V = backend.Value
    witness = V(1.0)
    with pytest.raises(error, match=message):
        call(backend, V)
    assert (witness.data, witness.grad, witness._children) == (1.0, 0.0, ())


def test_a_changed_expsum_is_caught(backend):
    """A _backward assigned to a softmax's shared node cannot silently feed
    the outputs wrong numbers."""
    out = backend.softmax(values(backend.Value, [1.0, 2.0]))
    total = out[0]._children[1]
    total._backward = lambda: None
    with pytest.raises(RuntimeError, match="expsum node was given a _backward"):
        out[0].backward()
