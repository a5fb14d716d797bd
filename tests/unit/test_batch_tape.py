"""compile(root, batch=inputs): a batched tape equals the scalar tape row by
row, on both engines. Forward bit for bit; backward (mean or sum) to 1e-12
against the loop over rows (assign a row, scalar forward and backward, sum
the shared leaves' grads). Random programs come from parity/programs.py,
with heads of every fused op on top (dense, linear, rmsnorm, softmax,
log_softmax, cross_entropy with a Value target, embedding with a Value
index). Refusals and op errors: test_batch_tape_refusals.py."""

import math
import random
import struct
import sys

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from micrograd_fast import nn, optim

import fixtures

np = pytest.importorskip("numpy")
programs = sys.modules.get("programs") or fixtures.load_file("programs", "tests/parity/programs.py")


def same_bits(a, b):
    """a and b are the same double (0.0 and -0.0 differ); any NaN is a NaN."""
    return (a != a and b != b) or struct.pack("<d", a) == struct.pack("<d", b)


def close(got, want, scale):
    """got is want to 1e-12 relative to the size of the terms summed (scale):
    an engine may add them in another order (a node of shared leaves only
    sums its gradient over the batch before its children see it)."""
    if not math.isfinite(scale):
        return True  # terms that overflow or underflow: any order's sum is as right
    if not math.isfinite(want):
        return same_bits(got, want)
    # below 2.2e-308 (subnormal results) a rounding errs by up to 2.5e-324
    # absolute, not relative, so sums in two orders may differ by that per op
    # (on CPython 3.12 hypothesis found grads of 1e-312 apart by more than
    # 1e-12 relative)
    return math.isclose(got, want, rel_tol=1e-12, abs_tol=max(1e-12 * scale, 1e-318))


def path_sizes(order):
    """id -> the sum, over the paths from the root (order[-1]) to that
    node, of |the product of the local grads along the path|: the size of
    the terms the node's gradient adds up, whatever the order."""
    size = {id(order[-1]): 1.0}
    for v in reversed(order):
        if size.get(id(v), 0.0):
            for child, local in zip(v._children, v._local_grads):
                size[id(child)] = size.get(id(child), 0.0) + abs(local) * size[id(v)]
    return size


def snapshot(values):
    return [(v.data, v.grad) for v in values]


def unchanged(values, before):
    return all(same_bits(d, v.data) and same_bits(g, v.grad) for v, (d, g) in zip(values, before))


def row_loop(scalar, inputs, shared, rows, everything):
    """The oracle: per row, write it to the inputs and run the scalar tape.
    Returns (failure, roots, each shared leaf's grad summed over the rows and
    its path_sizes summed); failure is None or (stage, row, exception type) of
    the first row that fails, all forwards first. everything (graph_of's:
    the tape's order, then unreached inputs) is put back."""
    before = snapshot(everything)
    roots, sums, sizes = [], [0.0] * len(shared), [0.0] * len(shared)
    try:
        for stage in ("forward", "backward"):
            for r, row in enumerate(rows):
                for v, x in zip(inputs, row):
                    v.data = x
                try:
                    root = scalar.forward()
                    if stage == "backward":
                        for v in scalar.leaves:
                            v.grad = 0.0
                        scalar.backward()
                except (ArithmeticError, LookupError, ValueError) as exc:
                    return (stage, r, type(exc)), roots, sums, sizes
                if stage == "forward":
                    roots.append(root)
                    continue
                paths = path_sizes(everything[:len(scalar)])
                # a gradient that passed through a subnormal number kept a
                # few bits: the batched tape, which sums the rows before a
                # shared node's backward, rounds it otherwise (hypothesis on
                # 3.12: x / x's x * g at 2e-323, times x ** -2 = 6e144)
                underflow = any(0.0 < abs(v.grad) < sys.float_info.min for v in everything[:len(scalar)])
                for k, v in enumerate(shared):
                    sums[k] += v.grad
                    sizes[k] += math.inf if underflow else paths.get(id(v), 0.0)
        return None, roots, sums, sizes
    finally:
        for v, (d, g) in zip(everything, before):
            v.data, v.grad = d, g


def per_row(scalar, inputs, rows, outputs, everything):
    """outputs' data after the scalar tape's forward for each row, flat."""
    before = snapshot(everything)
    found = []
    for row in rows:
        for v, x in zip(inputs, row):
            v.data = x
        scalar.forward()
        found += [v.data for v in outputs]
    for v, (d, _) in zip(everything, before):
        v.data = d
    return found


def graph_of(backend, root, inputs):
    """Every Value a replay of root's graph over inputs writes."""
    order = backend.topo_order(root)
    on_tape = {id(v) for v in order}
    return order + [v for v in inputs if id(v) not in on_tape]


# ---------------------------------------------------------------------------
# random programs with fused heads

HEADS = ["dense", "linear", "rmsnorm", "softmax", "log_softmax", "cross_entropy", "embedding"]


@st.composite
def head(draw, n_nodes):
    kind = draw(st.sampled_from(HEADS))
    width, outs = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    args = draw(st.lists(st.integers(0, n_nodes - 1), min_size=width * outs, max_size=width * outs))
    weights = draw(st.lists(programs.NUMBERS, min_size=width * outs + outs, max_size=width * outs + outs))
    return kind, width, outs, args, weights


@st.composite
def batched_programs(draw):
    """(program, heads, varying leaves, X) with 1 to 4 rows; an index
    column (a target, an embedding's row) mostly holds a valid index."""
    leaves, steps, _ = draw(programs.programs(passes=st.just(["backward"])))
    heads = draw(st.lists(head(len(leaves) + len(steps)), max_size=3))
    varying = draw(st.lists(st.integers(0, len(leaves) - 1), unique=True, max_size=len(leaves)))
    n_rows = draw(st.integers(1, 4))
    columns = [draw(st.lists(programs.NUMBERS, min_size=n_rows, max_size=n_rows)) for _ in varying]
    for kind, width, outs, _, _ in heads:
        if kind in ("cross_entropy", "embedding"):
            n = width if kind == "cross_entropy" else outs
            index = st.sampled_from(list(range(n)) * 8 + [n, -1.0, 0.5])
            columns.append(draw(st.lists(index, min_size=n_rows, max_size=n_rows)))
    outputs = draw(st.lists(st.integers(0, 1000), max_size=3))
    return (leaves, steps, heads), varying, [list(row) for row in zip(*columns)] or [[]] * n_rows, outputs


def build(e, program, varying):
    """(root, inputs) on engine e; inputs are the varying leaves, then one
    index leaf per cross_entropy or embedding head."""
    leaves, steps, heads = program
    nodes = [e.Value(x) for x in leaves]
    for op, args, number in steps:
        nodes.append(programs.OPS[op][1](e, [nodes[i] for i in args], number))
    inputs = [nodes[i] for i in varying]
    terms = [nodes[-1]]
    for kind, width, outs, args, numbers in heads:
        xs = [nodes[i] for i in args]
        params = [e.Value(x) for x in numbers]
        if kind == "dense":
            w = [params[j * width:(j + 1) * width] for j in range(outs)]
            terms += e.dense(w, params[width * outs:], xs[:width], outs == 2)  # relu'd if 2
        elif kind == "linear":
            terms += e.linear(xs[:width], [params[j * width:(j + 1) * width] for j in range(outs)])
        elif kind in ("rmsnorm", "softmax", "log_softmax"):
            terms += getattr(e, kind)(xs[:width])
        elif kind == "cross_entropy":
            inputs.append(e.Value(0.0))
            terms.append(e.cross_entropy(xs[:width], inputs[-1]))
        else:  # embedding: a table of outs rows and width columns over program nodes
            inputs.append(e.Value(0.0))
            table = [xs[j * width:(j + 1) * width] for j in range(outs)]
            terms += e.embedding(table, inputs[-1])
    return e.sum(terms), inputs


@settings(max_examples=max(10, settings().max_examples // 4),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much])
@given(batched_programs())
@example(drawn=(([0.0, 0.0, 4.2398144977875944e-73, 0.0], [("div", (2, 2), None), ("add", (0, 0), None),
                 ("add", (0, 0), None), ("rmul", (4,), 5.625707927038658e-251)], []), [], [[], [], []], []))
def test_random_programs_equal_the_scalar_tape_row_by_row(backend, drawn):
    program, varying, X, picks = drawn
    try:
        root, inputs = build(backend, program, varying)
    except (ArithmeticError, ValueError):
        event("the program fails on its leaves' own numbers")
        return  # nothing to replay
    scalar = backend.compile(root)
    tape = backend.compile(root, batch=inputs)
    everything = graph_of(backend, root, inputs)
    is_input = {id(v) for v in inputs}
    shared = [v for v in scalar.leaves if id(v) not in is_input]
    before = snapshot(everything)
    failure, want_roots, sums, sizes = row_loop(scalar, inputs, shared, X, everything)
    assert unchanged(everything, before)
    event(f"the scalar tape fails in {failure[0]}" if failure else "replayed")

    if failure and failure[0] == "forward":
        _, r, kind = failure
        with pytest.raises(kind, match=rf"^row {r}:"):
            tape.forward(X)
        assert unchanged(everything, before)
        with pytest.raises(RuntimeError):  # the failed forward left nothing to differentiate
            tape.backward()
        with pytest.raises(kind, match=rf"^row {r}:"):
            tape.evaluate(X, [root])
        assert unchanged(everything, before)
        return
    roots = tape.forward(X)
    assert roots.dtype == np.float64 and roots.shape == (len(X),)
    assert all(same_bits(a, b) for a, b in zip(roots.tolist(), want_roots))
    assert unchanged(everything, before)

    order = everything[:len(tape)]
    outputs = [order[i % len(order)] for i in picks]  # interior nodes, leaves, the root
    values = tape.evaluate(X, outputs)
    assert values.shape == (len(X), len(outputs))
    want = per_row(scalar, inputs, X, outputs, everything)
    assert all(same_bits(a, b) for a, b in zip(values.ravel().tolist(), want))

    is_shared = {id(v) for v in shared}
    for reduction in ("mean", "sum"):
        if failure:
            _, r, kind = failure
            with pytest.raises(kind, match=rf"^row {r}:"):
                tape.backward(reduction)
            assert unchanged(everything, before)
            continue
        n = len(X) if reduction == "mean" else 1
        tape.backward(reduction)
        for v, (d, g) in zip(everything, before):
            assert same_bits(d, v.data)
            if id(v) not in is_shared:  # interior nodes' and inputs' grads are untouched
                assert same_bits(g, v.grad)
        grad_before = {id(v): g for v, (_, g) in zip(everything, before)}
        for v, total, size in zip(shared, sums, sizes):
            g = grad_before[id(v)]
            assert close(v.grad, g + total / n, abs(g) + size / n)
        for v, (_, g) in zip(everything, before):
            v.grad = g


# ---------------------------------------------------------------------------
# the GPT's ops, a model from nn, an optimizer


def small_gpt(e):
    """One position of a tiny GPT: the token's embedding, rmsnorm, a linear
    map to logits, softmax's and log_softmax's maxima, cross_entropy against
    a target Value. Its inputs are the token and the target (indices)."""
    rng = random.Random(5)
    param = lambda: e.Value(rng.uniform(-1, 1))  # noqa: E731
    table = [[param() for _ in range(3)] for _ in range(4)]
    W = [[param() for _ in range(3)] for _ in range(4)]
    token, target = e.Value(0.0), e.Value(0.0)
    x = e.rmsnorm(e.embedding(table, token))
    logits = e.linear(x, W)
    probs, logp = e.softmax(logits), e.log_softmax(logits)
    loss = e.cross_entropy(logits, target) + e.sum(probs) * 0.5 + logp[1] * 0.25
    return loss, [token, target], [p for row in table + W for p in row], logits


def check_against_row_loop(backend, root, inputs, X, reduction="mean"):
    """forward(X) bit for bit and backward(reduction) to 1e-12 vs row_loop."""
    scalar, tape = backend.compile(root), backend.compile(root, batch=inputs)
    everything = graph_of(backend, root, inputs)
    shared = [v for v in scalar.leaves if all(v is not u for u in inputs)]
    failure, roots, sums, sizes = row_loop(scalar, inputs, shared, X, everything)
    assert failure is None
    assert all(same_bits(a, b) for a, b in zip(tape.forward(X).tolist(), roots))
    grads = [v.grad for v in shared]
    tape.backward(reduction)
    n = len(X) if reduction == "mean" else 1
    for v, g, total, size in zip(shared, grads, sums, sizes):
        assert close(v.grad, g + total / n, abs(g) + size / n)
    return tape, shared


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gpt_ops_with_value_target_and_index(backend, reduction):
    loss, inputs, params, _ = small_gpt(backend)
    X = [[t, (t * 3 + 1) % 4] for t in (0, 1, 2, 3, 2, 0, 1)]
    _, shared = check_against_row_loop(backend, loss, inputs, X, reduction)
    assert all(any(p is v for v in shared) for p in params)
    assert sum(p.grad != 0.0 for p in params) > len(params) // 2  # the grads reached the table and W


def test_the_kernels_baseline_build_gives_the_avx2_builds_bits(compiled):
    """The batched kernels are built for AVX2 and for the baseline, the
    same source: the same roots and gradients, bit for bit, over a layer's
    terms (shared weight, per-example input; its dots run in pairs),
    per-example products (an attention score), 16-lane blocks and the lanes
    after them; and each root the scalar tape's."""
    rng = random.Random(11)
    xs = [compiled.Value(0.0) for _ in range(5)]
    W = [[compiled.Value(rng.uniform(-1, 1)) for _ in range(5)] for _ in range(6)]
    hidden = [compiled.dot(row, xs, compiled.Value(rng.uniform(-1, 1))).tanh() for row in W]
    score = compiled.dot(hidden[:3], hidden[3:], 0.5)
    loss = compiled.dot(hidden, xs + [score], 0.0) ** 2
    params = [w for row in W for w in row]
    X = [[rng.uniform(-2, 2) for _ in xs] for _ in range(37)]
    results = []
    for avx2 in (True, False):
        previous = compiled._avx2_kernels(avx2)
        try:
            tape = compiled.compile(loss, batch=xs)
            for p in params:
                p.grad = 0.0
            roots = tape.forward(X).tolist()
            tape.backward("sum")
            results.append((roots, [p.grad for p in params]))
        finally:
            compiled._avx2_kernels(previous)
    (roots_a, grads_a), (roots_b, grads_b) = results
    assert all(same_bits(a, b) for a, b in zip(roots_a + grads_a, roots_b + grads_b))
    assert any(g != 0.0 for g in grads_a)
    scalar = compiled.compile(loss)  # and each row the scalar tape's (layer dots run in pairs)
    for row, root in zip(X, roots_a):
        for v, number in zip(xs, row):
            v.data = number
        assert same_bits(scalar.forward(), root)


def test_every_op_of_the_table(backend):
    """Each unary op, operator and fused op once, over two inputs in (0, 1),
    where every op is defined."""
    x, y, w = backend.Value(0.5), backend.Value(0.5), backend.Value(0.75)
    z = x * w + y * 0.5
    terms = [getattr(z, op)() for op in backend.UNARY_OPS]
    terms += [x ** y, z ** 3, x / y, 1.5 - y, 2.0 / z, -x, backend.dot([w, y], [x, z], 0.25)]
    terms += backend.softmax([x, y, z]) + backend.log_softmax([z, w]) + backend.rmsnorm([x, z])
    X = [[0.1, 0.9], [0.5, 0.25], [0.875, 0.125], [0.3, 0.3]]
    check_against_row_loop(backend, backend.sum(terms, z), [x, y], X, "sum")


def test_batch_of_one_equals_the_scalar_tape(backend):
    loss, inputs, params, _ = small_gpt(backend)
    scalar = backend.compile(loss)
    backend.assign(inputs, [2, 3])
    want = scalar.forward()
    scalar.backward()
    want_grads = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    tape = backend.compile(loss, batch=inputs)
    backend.assign(inputs, [0, 0])
    assert same_bits(tape.forward(np.array([[2, 3]])).item(), want)
    tape.backward()  # the mean of one row
    assert all(close(p.grad, g, abs(g)) for p, g in zip(params, want_grads))


def mlp_and_loss(backend, seed):
    """micrograd's MLP with a hinge loss on one point and its +-1 label."""
    random.seed(seed)
    model = nn.MLP(2, [6, 4, 1])
    x, label = [backend.Value(0.0), backend.Value(0.0)], backend.Value(0.0)
    return model, (1 + -label * model(x)).relu(), x + [label]


def test_an_optimizer_trains_from_the_batched_gradient(backend):
    """Adam on the batched tape's mean gradient equals Adam on the row loop's."""
    X = np.random.default_rng(0).uniform(-2, 2, size=(12, 2))
    data = np.column_stack([X, np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)])
    batched, loss, inputs = mlp_and_loss(backend, 1)
    looped, loss2, inputs2 = mlp_and_loss(backend, 1)
    tape, scalar = backend.compile(loss, batch=inputs), backend.compile(loss2)
    opt, opt2 = optim.Adam(batched.parameters(), lr=0.05), optim.Adam(looped.parameters(), lr=0.05)
    start = [p.data for p in batched.parameters()]
    for _ in range(4):
        opt.zero_grad()
        tape.forward(data)
        tape.backward()
        opt.step()
        opt2.zero_grad()
        for row in data.tolist():
            backend.assign(inputs2, row)
            scalar.forward()
            scalar.backward()
        for p in looped.parameters():
            p.grad /= len(data)
        opt2.step()
    got, want = [p.data for p in batched.parameters()], [p.data for p in looped.parameters()]
    assert got == pytest.approx(want, rel=1e-10, abs=1e-12)
    assert got != pytest.approx(start, abs=1e-3)


# ---------------------------------------------------------------------------
# what forward reads, what backward adds to, evaluate


def test_shared_leaves_are_read_when_forward_runs(backend):
    x, w = backend.Value(0.0), backend.Value(2.0)
    out = (x * w).exp()
    tape = backend.compile(out, batch=[x])
    assert tape.forward([[1.0], [0.5]]).tolist() == [math.exp(2.0), math.exp(1.0)]
    w.data = 3.0
    assert tape.forward([[1.0], [0.5]]).tolist() == [math.exp(3.0), math.exp(1.5)]
    w.data = 10.0  # after forward: backward differentiates at what forward saw
    tape.backward("sum")
    assert close(w.grad, math.exp(3.0) * 1.0 + math.exp(1.5) * 0.5, 1e-300 + math.exp(3.0) * 2)
    assert (x.data, w.data, out.data, x.grad, out.grad) == (0.0, 10.0, 1.0, 0.0, 0.0)


def test_backward_accumulates_into_grad(backend):
    x, w, b = backend.Value(0.0), backend.Value(1.5), backend.Value(-0.5)
    tape = backend.compile(x * w + b, batch=[x])
    tape.forward([[1.0], [2.0], [4.0]])
    w.grad, b.grad = 0.25, 1.0
    tape.backward("mean")
    assert (w.grad, b.grad) == pytest.approx((0.25 + 7.0 / 3, 2.0), rel=1e-12)
    tape.backward("sum")  # the same forward again, adding again
    assert (w.grad, b.grad) == pytest.approx((0.25 + 7.0 / 3 + 7.0, 5.0), rel=1e-12)


def test_evaluate_keeps_what_backward_uses(backend):
    loss, inputs, params, logits = small_gpt(backend)
    tape = backend.compile(loss, batch=inputs)
    tape.forward([[1, 2], [3, 0]])
    got = tape.evaluate([[0, 1], [1, 1], [2, 3]], logits + [loss])
    assert got.shape == (3, 5) and got.dtype == np.float64
    for row, values in zip([[0, 1], [1, 1], [2, 3]], got.tolist()):
        backend.assign(inputs, row)
        backend.compile(loss).forward()
        assert all(same_bits(a, v.data) for a, v in zip(values, logits + [loss]))
    backend.assign(inputs, [0, 0])
    tape.backward("sum")  # from [[1, 2], [3, 0]], not from evaluate's rows
    batched = [p.grad for p in params]
    for p in params:
        p.grad = 0.0
    scalar = backend.compile(loss)
    for row in ([1, 2], [3, 0]):
        backend.assign(inputs, row)
        scalar.forward()
        scalar.backward()
    assert all(close(g, p.grad, abs(p.grad)) for g, p in zip(batched, params))
    assert tape.evaluate([[0, 0]], []).shape == (1, 0)


def test_attributes(backend):
    x, y, unused = backend.Value(0.0), backend.Value(0.0), backend.Value(7.0)
    out = x * y + 1.0
    tape = backend.compile(out, batch=[x, y, unused], threads=3)
    assert isinstance(tape, backend.BatchTape) and tape.threads == 3 and tape.root is out
    assert tape.inputs == [x, y, unused] and isinstance(tape.inputs, list)
    assert len(tape) == len(backend.compile(out)) and "BatchTape" in repr(tape)
    assert backend.compile(out, batch=(x,)).threads >= 1  # every core by default
    assert tape.forward([[2.0, 3.0, 100.0], [1.0, -1.0, 0.0]]).tolist() == [7.0, 0.0]  # unused: ignored
    assert unused.data == 7.0 and unused.grad == 0.0

