"""The compiled batched tape's own promises (the both-engine parity suite is
test_batch_tape.py): the same bits on any number of threads, chunk edges,
a batch of one equal to the scalar tape, large batches, errors in the last
row of the last chunk, a 10^6-node chain, flat memory."""

import gc
import math
import random

import pytest

from micrograd_fast import engine, losses, nn

np = pytest.importorskip("numpy")


@pytest.fixture
def E():
    """The compiled engine, live (nn builds its Values)."""
    try:
        module = engine.load("compiled")
    except ImportError as exc:
        pytest.skip(f"compiled engine not importable: {exc}")
    previous = engine.use("compiled")
    yield module
    engine.use(previous)


def classifier(E, hidden=8, classes=3, seed=1337):
    """A yin-yang-shaped model: MLP 2-hidden-classes, cross-entropy against
    a Value target; inputs x0, x1, target."""
    random.seed(seed)
    model = nn.MLP(2, [hidden, classes])
    ins = [E.Value(0.0), E.Value(0.0), E.Value(0.0)]
    return model, ins, losses.cross_entropy(model(ins[:2]), ins[2])


def every_op(E):
    """One example's graph through every elementwise and fused op, with
    shared sub-graphs (a parameter's square, a constant), per-example and
    shared operands mixed; inputs x, y, index."""
    x, y, k = E.Value(0.0), E.Value(0.0), E.Value(1.0)
    w = [E.Value(0.3 * i - 0.4) for i in range(4)]
    table = [[E.Value(0.1 * (r + 1) * (c - 1)) for c in range(3)] for r in range(4)]
    w2 = w[0] * w[0] + 1.5  # shared only
    a = (x * w[1] + y.tanh() * w2).relu() + (x - y).sigmoid()
    b = (y * y + 1.0).log() + (x * 0.5).exp() + x.sin() * y.cos() + abs(x - 0.2) + (x * x + 0.1).sqrt()
    c = (a + 2.0) ** 1.5 + (b + 3.0) ** (w2 * 0.5)  # pow, powv with a shared exponent
    emb = E.embedding(table, k)
    d = E.dot(w[:3], emb, w[3]) + E.sum([a, b, w[2]])
    scaled = [v * s for v, s in zip([a, b, c], E.rmsnorm([a, b, c]))]
    sm = E.softmax([scaled[0], scaled[1], d])
    ls = E.log_softmax([c, d, w2])
    loss = E.cross_entropy([sm[0], sm[1] * 2.0, ls[2] + c * 0.01], k - 1.0)
    return [x, y, k], loss + 1e-3 * E.dot(w, w)


def every_op_rows(B, rng):
    return np.column_stack([rng.uniform(-1.5, 1.5, B), rng.uniform(-1.5, 1.5, B),
                            rng.integers(1, 4, B)]).astype(np.float64)


def shared_leaves(root, inputs):
    return [v for v in engine.engine_of(root).topo_order(root)
            if not v._prev and all(v is not i for i in inputs)]


def scalar_rows(E, root, inputs, X):
    """The oracle: the scalar tape row by row, and the gradients summed."""
    tape = E.compile(root)
    leaves = shared_leaves(root, inputs)
    saved = [(v.data, v.grad) for v in leaves + inputs]
    for v in leaves:
        v.grad = 0.0
    out = []
    for row in X:
        for v, number in zip(inputs, row):
            v.data = float(number)
        out.append(tape.forward())
        tape.backward()
    grads = [v.grad for v in leaves]
    for v, (d, g) in zip(leaves + inputs, saved):
        v.data, v.grad = d, g
    return np.array(out), np.array(grads), leaves


def batched(E, root, inputs, X, threads, reduction="sum"):
    leaves = shared_leaves(root, inputs)
    before = [v.grad for v in leaves]
    for v in leaves:
        v.grad = 0.0
    tape = E.compile(root, batch=inputs, threads=threads)
    out = tape.forward(X)
    tape.backward(reduction)
    grads = np.array([v.grad for v in leaves])
    for v, g in zip(leaves, before):
        v.grad = g
    return out, grads, tape


@pytest.mark.parametrize("build", ["classifier", "every_op"])
def test_threads_give_the_same_bits(E, build):
    rng = np.random.default_rng(5)
    if build == "classifier":
        _, inputs, root = classifier(E)
        X = np.column_stack([rng.uniform(-2, 2, 1000), rng.uniform(-2, 2, 1000),
                             rng.integers(0, 3, 1000)]).astype(np.float64)
    else:
        inputs, root = every_op(E)
        X = every_op_rows(1000, rng)
    results = {t: batched(E, root, inputs, X, t) for t in (1, 2, 7)}
    out1, g1, tape1 = results[1]
    ev1 = tape1.evaluate(X, [root, inputs[0]])
    for t in (2, 7):
        out, g, tape = results[t]
        assert out.tobytes() == out1.tobytes()
        assert g.tobytes() == g1.tobytes()
        assert tape.evaluate(X, [root, inputs[0]]).tobytes() == ev1.tobytes()
    assert ev1[:, 0].tobytes() == out1.tobytes()
    assert ev1[:, 1].tobytes() == X[:, 0].tobytes()


@pytest.mark.parametrize("B", [1, 2, 15, 16, 17, 63, 64, 65, 129, 200])
def test_chunk_edges_match_the_scalar_tape(E, B):
    inputs, root = every_op(E)
    X = every_op_rows(B, np.random.default_rng(B))
    ref_out, ref_grads, _ = scalar_rows(E, root, inputs, X)
    out, grads, _ = batched(E, root, inputs, X, threads=3)
    assert out.tobytes() == ref_out.tobytes()  # every row bit for bit
    np.testing.assert_allclose(grads, ref_grads, rtol=1e-12, atol=1e-14)


def test_a_batch_of_one_is_the_scalar_tape(E):
    model, inputs, root = classifier(E)
    row = [0.3, -1.2, 2.0]
    ref_out, ref_grads, _ = scalar_rows(E, root, inputs, [row])
    for reduction in ("mean", "sum"):
        out, grads, _ = batched(E, root, inputs, np.array([row]), threads=1, reduction=reduction)
        assert out.tobytes() == ref_out.tobytes()
        assert grads.tobytes() == ref_grads.tobytes()


def test_mean_is_the_sum_over_B(E):
    _, inputs, root = classifier(E)
    rng = np.random.default_rng(2)
    X = np.column_stack([rng.normal(size=300), rng.normal(size=300),
                         rng.integers(0, 3, 300)]).astype(np.float64)
    _, g_sum, _ = batched(E, root, inputs, X, threads=2, reduction="sum")
    _, g_mean, _ = batched(E, root, inputs, X, threads=2, reduction="mean")
    np.testing.assert_allclose(g_mean, g_sum / 300, rtol=1e-15)


def test_a_large_batch(E):
    _, inputs, root = classifier(E, hidden=4)
    rng = np.random.default_rng(9)
    B = 100_000
    X = np.column_stack([rng.uniform(-2, 2, B), rng.uniform(-2, 2, B),
                         rng.integers(0, 3, B)]).astype(np.float64)
    ref_out, ref_grads, _ = scalar_rows(E, root, inputs, X)
    out, grads, _ = batched(E, root, inputs, X, threads=2)
    assert out.tobytes() == ref_out.tobytes()
    np.testing.assert_allclose(grads, ref_grads, rtol=1e-11, atol=1e-12)


def state_of(values):
    return [(v.data, v.grad) for v in values]


def test_an_error_in_the_last_row_changes_nothing(E):
    x, w = E.Value(1.0), E.Value(0.5)
    root = (x * w).log() + (x * w) ** 0.5
    everything = E.topo_order(root)
    B = 64 * 3 + 5
    X = np.linspace(0.1, 2.0, B).reshape(B, 1)
    tape = E.compile(root, batch=[x], threads=2)
    first = tape.forward(X)
    before = state_of(everything)
    bad = X.copy()
    bad[-1, 0] = -1.0  # log of a negative, in the last row of the last chunk
    with pytest.raises(ValueError, match=f"row {B - 1}: math domain error"):
        tape.forward(bad)
    assert state_of(everything) == before
    with pytest.raises(RuntimeError, match="run forward"):
        tape.backward()  # the failed forward kept nothing
    assert state_of(everything) == before
    assert tape.forward(X).tobytes() == first.tobytes()


def test_the_lowest_failing_row_is_reported(E):
    x = E.Value(5.0)
    root = (x + 10.0).log() + (x - 1.0).log()  # the second fails later, for more rows
    tape = E.compile(root, batch=[x], threads=2)
    X = np.full((300, 1), 5.0)
    X[200, 0] = -20.0  # fails at the first log
    X[150, 0] = 0.5    # fails at the second: a lower row, a later node
    with pytest.raises(ValueError, match="row 150: math domain error"):
        tape.forward(X)


def test_a_backward_error_changes_no_grad(E):
    x, w = E.Value(1.0), E.Value(1.0)
    root = (x * w) ** 0.5  # slope 0.5 * 0 ** -0.5 at 0: ZeroDivisionError
    tape = E.compile(root, batch=[x], threads=2)
    B = 130
    X = np.linspace(1.0, 2.0, B).reshape(B, 1)
    X[-1, 0] = 0.0
    tape.forward(X)
    w.grad = 0.25
    with pytest.raises(ZeroDivisionError, match=f"row {B - 1}:"):
        tape.backward()
    assert w.grad == 0.25


def test_a_shared_node_that_fails_fails_row_0(E):
    x, w = E.Value(0.0), E.Value(1.0)
    root = x * w.log()
    tape = E.compile(root, batch=[x])
    w.data = -1.0  # shared leaves are read at each call
    with pytest.raises(ValueError, match="row 0: math domain error"):
        tape.forward(np.ones((100, 1)))


def test_a_changed_graph_is_refused(E):
    x, w = E.Value(0.0), E.Value(2.0)
    mid = x * w
    tape = E.compile(mid + 1.0, batch=[x])
    tape.forward([[1.0]])
    mid._backward = lambda: None
    with pytest.raises(RuntimeError, match="compile it again"):
        tape.forward([[1.0]])


def test_evaluate_keeps_what_backward_needs(E):
    _, inputs, root = classifier(E)
    rng = np.random.default_rng(4)
    X1 = np.column_stack([rng.normal(size=90), rng.normal(size=90), rng.integers(0, 3, 90)])
    X2 = np.column_stack([rng.normal(size=40), rng.normal(size=40), rng.integers(0, 3, 40)])
    _, expected, _ = batched(E, root, inputs, X1, threads=2)
    leaves = shared_leaves(root, inputs)
    for v in leaves:
        v.grad = 0.0
    tape = E.compile(root, batch=inputs, threads=2)
    tape.forward(X1)
    tape.evaluate(X2.astype(np.float64), [root])
    tape.backward("sum")
    assert np.array([v.grad for v in leaves]).tobytes() == expected.tobytes()


def test_a_million_node_chain(E):
    x, w = E.Value(0.0), E.Value(1.0000001)
    y = x
    for _ in range(500_000):
        y = y * w + 1e-7  # two nodes a step: 10^6 interior nodes
    tape = E.compile(y, batch=[x], threads=2)
    assert len(tape) > 1_000_000
    X = np.array([[0.5], [1.5], [2.5]])
    out = tape.forward(X)
    scalar = E.compile(y)
    for r, row in enumerate(X):
        x.data = float(row[0])
        assert out[r] == scalar.forward()
    w.grad = 0.0
    tape.backward("sum")
    assert math.isfinite(w.grad) and w.grad > 0


def rss_kb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="Linux only")
@pytest.mark.skipif("libasan" in __import__("os").environ.get("LD_PRELOAD", ""),
                    reason="AddressSanitizer's quarantine keeps freed memory resident (make valgrind checks leaks)")
def test_memory_is_flat_over_compiles_and_replays(E):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=500), rng.normal(size=500), rng.integers(0, 3, 500)])

    def rounds(n):
        for _ in range(n):
            _, inputs, root = classifier(E)
            tape = E.compile(root, batch=inputs, threads=2)
            for _ in range(5):
                tape.forward(X)
                tape.backward()
                tape.evaluate(X, [root])
        gc.collect()

    rounds(30)
    start = rss_kb()
    rounds(300)
    assert rss_kb() - start < 4096


def test_row_0s_first_failure_is_the_scalar_tapes(E):
    """A shared node that fails fails every row; row 0's error is still the
    first in its order: a per-example node before it that fails wins."""
    x, w = E.Value(1.0), E.Value(1.0)
    root = x ** -1.0 + w.log()
    tape = E.compile(root, batch=[x])
    w.data = -1.0
    with pytest.raises(ZeroDivisionError, match="row 0:"):
        tape.forward([[0.0], [1.0]])
    with pytest.raises(ValueError, match="row 0: math domain error"):
        tape.forward([[2.0], [0.0]])


def test_ctrl_c_during_a_replay_changes_nothing(E):
    """A signal that arrives while the replay runs without the GIL is seen
    right after it: forward then keeps nothing, backward adds no grad."""
    import signal
    import time

    x, w = E.Value(1.0), E.Value(1.0000001)
    y = x
    for _ in range(40_000):
        y = y * w + 1e-7
    tape = E.compile(y, batch=[x], threads=2)
    X = np.linspace(0.0, 1.0, 1024).reshape(1024, 1)
    start = time.perf_counter()
    tape.forward(X)
    middle = time.perf_counter()
    tape.backward()
    forward, backward = middle - start, time.perf_counter() - middle
    if min(forward, backward) < 0.01:
        pytest.skip("the replay is too fast to interrupt reliably here")

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    def interrupted(replay, alarm):
        """Whether the alarm stopped replay (else it ended first, the alarm
        then caught in the sleep after it: a busy machine's timing)."""
        finished = []
        signal.setitimer(signal.ITIMER_REAL, alarm)
        with pytest.raises(KeyboardInterrupt):
            replay()
            finished.append(True)
            time.sleep(1.0)
        return not finished

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        if not interrupted(lambda: tape.forward(X), forward / 8):
            pytest.skip("the forward ended before the alarm")
        with pytest.raises(RuntimeError, match="run forward"):
            tape.backward()
        tape.forward(X)
        w.grad = 0.5
        if not interrupted(tape.backward, backward / 8):
            pytest.skip("the backward ended before the alarm")
        assert w.grad == 0.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_replays_from_several_python_threads(E):
    """The GIL is released during a replay, so Python threads replay at the
    same time (one gets the worker threads, the others run alone): each
    gets the bits it gets alone."""
    import threading

    _, inputs, root = classifier(E)
    rng = np.random.default_rng(3)
    batches = [np.column_stack([rng.normal(size=500), rng.normal(size=500),
                                rng.integers(0, 3, 500)]).astype(np.float64) for _ in range(4)]
    tapes = [E.compile(root, batch=inputs, threads=3) for _ in batches]
    alone = [t.evaluate(X, [root]) for t, X in zip(tapes, batches)]
    results = [None] * len(batches)

    def run(i):
        for _ in range(20):
            results[i] = tapes[i].evaluate(batches[i], [root])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, expected in zip(results, alone):
        assert got.tobytes() == expected.tobytes()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_replays_on_threads_of_its_own(E):
    """fork() copies none of the worker threads: the child's threaded replay
    must not wait for them (multiprocessing forks by default on Linux)."""
    import os

    _, inputs, root = classifier(E)
    tape = E.compile(root, batch=inputs, threads=2)
    X = np.column_stack([np.linspace(-1, 1, 500), np.linspace(1, -1, 500),
                         np.arange(500) % 3]).astype(np.float64)
    expected = tape.forward(X)
    pid = os.fork()
    if pid == 0:  # the child: exit status 0 if it replays the same bits
        same = False
        try:
            same = tape.forward(X).tobytes() == expected.tobytes()
        finally:
            os._exit(0 if same else 3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_ctrl_c_stops_a_long_replay_between_chunks(E):
    """The calling thread looks at signals between its chunks, so a long
    replay ends soon after Ctrl-C, not when the whole batch is done; and the
    interrupted call is all-or-nothing (no forward kept, no grad added)."""
    import signal
    import time

    x, w = E.Value(1.0), E.Value(1.0000001)
    y = x
    for _ in range(4_000):
        y = y * w + 1e-7
    tape = E.compile(y, batch=[x], threads=2)
    for rows in (4_096, 16_384, 65_536):  # long enough to stop early, on any machine
        X = np.linspace(0.0, 1.0, rows).reshape(-1, 1)
        tape.forward(X)  # warm: the first replay of a size also allocates, so it times long
        tape.backward()
        start = time.perf_counter()
        tape.forward(X)
        forward = time.perf_counter() - start
        tape.backward()
        backward = time.perf_counter() - start - forward
        if min(forward, backward) >= 0.15:
            break
    if min(forward, backward) < 0.15:
        pytest.skip("the replay is too short to see it stop early")

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, forward / 10)
        start = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            tape.forward(X)
        assert time.perf_counter() - start < 0.6 * forward
        with pytest.raises(RuntimeError, match="run forward"):
            tape.backward()
        tape.forward(X)
        w.grad = 0.5
        signal.setitimer(signal.ITIMER_REAL, backward / 10)
        start = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            tape.backward()
        assert time.perf_counter() - start < 0.6 * backward
        assert w.grad == 0.5
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def one_row_cases(E):
    """(inputs, root, rows): graphs through every op and fused op, each row
    replayed as a batch of one."""
    _, c_in, c_root = classifier(E)
    e_in, e_root = every_op(E)
    x, w = E.Value(0.0), E.Value(0.7)
    chain = ((x * w).tanh() * w.exp() + w ** 2.0).sigmoid()  # a shared leaf used thrice
    return [(c_in, c_root, [[0.3, -1.2, 2.0], [-1.7, 0.4, 0.0]]),
            (e_in, e_root, every_op_rows(6, np.random.default_rng(8)).tolist()),
            ([x], chain, [[0.5], [-2.0]])]


@pytest.mark.parametrize("case", [0, 1, 2])
def test_one_row_is_the_scalar_tape_bit_for_bit(E, case):
    """batch_one.c: forward, evaluate and grads the scalar tape's bits, also
    accumulated over grads that were not 0 (a shared leaf's adjoint starts
    from its .grad, as the scalar tape adds into it)."""
    inputs, root, rows = one_row_cases(E)[case]
    leaves, tape = shared_leaves(root, inputs), E.compile(root)
    one = E.compile(root, batch=inputs, threads=2)
    for k, row in enumerate(rows):
        start = [0.0 if k == 0 else 0.1 * i - 0.3 for i in range(len(leaves))]
        for v, g in zip(leaves, start):
            v.grad = g
        out = one.forward(np.array([row]))
        ev = one.evaluate([row], [root, inputs[0]])
        one.backward("mean" if k % 2 else "sum")
        got = [v.grad for v in leaves]
        for v, g in zip(leaves, start):
            v.grad = g
        for v, number in zip(inputs, row):
            v.data = float(number)
        assert out.tobytes() == np.array([tape.forward()]).tobytes()
        assert ev.tobytes() == np.array([[tape.forward(), row[0]]]).tobytes()
        tape.backward()
        assert np.array(got).tobytes() == np.array([v.grad for v in leaves]).tobytes()


@pytest.mark.parametrize("bad", ["log", "target", "index", "shared", "backward"])
def test_one_rows_error_is_the_scalar_tapes_and_changes_nothing(E, bad):
    x, t, w = E.Value(1.0), E.Value(0.0), E.Value(0.5)
    logits = [x * w, x + w, E.embedding([[w, x], [x * x, w * 2.0]], t)[0]]
    root = E.cross_entropy(logits, t) + (x + 3.0).log() + w.log() + (x * x) ** 0.5
    row = {"log": [-4.0, 1.0], "target": [1.0, 3.0], "index": [1.0, 0.5],
           "shared": [1.0, 1.0], "backward": [0.0, 1.0]}[bad]
    tape, one = E.compile(root), E.compile(root, batch=[x, t])
    everything = E.topo_order(root)
    one.forward([[1.0, 1.0]])
    w.data = -1.0 if bad == "shared" else 0.5
    x.data, t.data = row
    with pytest.raises(Exception) as scalar:
        tape.forward()
        tape.backward()
    x.data, t.data = 1.0, 0.0
    before = state_of(everything)
    with pytest.raises(type(scalar.value), match="row 0: " + str(scalar.value)[:8]):
        one.forward(np.array([row]))
        one.backward()
    assert state_of(everything) == before
    if bad != "backward":  # a failed forward keeps nothing
        with pytest.raises(RuntimeError):
            one.backward()
    w.data = 0.5
