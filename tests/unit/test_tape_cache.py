"""micrograd_fast.TapeCache: one compiled tape per graph structure, on both
engines."""

import pytest

import micrograd_fast as mf


def build_sum_of_squares(backend, made):
    def build(n):
        made.append(n)
        xs = [backend.Value(0.0) for _ in range(n)]
        return backend.sum([x * x for x in xs]), xs
    return build


def test_compiles_once_per_key_and_replays_new_data(backend):
    made = []
    tapes = mf.TapeCache(build_sum_of_squares(backend, made))
    for data in ([1.0, 2.0], [3.0], [0.5, 0.5], [2.0, -1.0, 4.0], [3.0, 4.0]):
        graph = tapes[len(data)]
        mf.assign(graph.inputs, data)
        assert graph.tape.forward() == sum(x * x for x in data) == graph.root.data
        graph.tape.backward()
        assert [x.grad for x in graph.inputs] == [2 * x for x in data]
        for x in graph.inputs:
            x.grad = 0.0
    assert made == [2, 1, 3] and len(tapes) == 3 and 2 in tapes and 4 not in tapes
    assert isinstance(tapes[2].tape, backend.Tape)


def test_keeps_the_most_recently_used(backend):
    made = []
    tapes = mf.TapeCache(build_sum_of_squares(backend, made), max_size=2)
    for n in (1, 2, 1, 3, 1, 2):
        tapes[n]
    assert made == [1, 2, 3, 2] and sorted(k for k in (1, 2, 3) if k in tapes) == [1, 2]
    tapes.clear()
    assert len(tapes) == 0 and "0 tapes" in repr(tapes)


def test_bad_builds_and_arguments(backend):
    with pytest.raises(TypeError, match="build must be callable"):
        mf.TapeCache(3)
    with pytest.raises(ValueError, match="max_size must be a positive int"):
        mf.TapeCache(lambda n: None, max_size=0)
    with pytest.raises(TypeError, match="must return"):
        mf.TapeCache(lambda n: backend.Value(1.0))[1]
    with pytest.raises(TypeError, match="returned a float as its root"):
        mf.TapeCache(lambda n: (1.0, []))[1]
    x = backend.Value(1.0)
    custom = backend.Value(2.0, (x,), "custom")
    custom._backward = lambda: None
    tapes = mf.TapeCache(lambda n: (custom * 2, [x]))
    with pytest.raises(TypeError, match="custom op"):
        tapes[1]
    assert len(tapes) == 0  # nothing kept from a failed build


# ---------------------------------------------------------------------------
# batch=True: a batched tape per key, over the inputs build returned


def build_names(backend, made):
    """A GPT-shaped loss over a name of n tokens: each position embeds its
    token and predicts the next with cross_entropy (a Value target). The
    inputs are nested, one list per position; the table is shared. Five
    logits: the three columns and two constants."""
    table = [[backend.Value((3 * i + j) % 7 / 7 - 0.4) for j in range(3)] for i in range(5)]

    def build(n):
        made.append(n)
        tokens = [[backend.Value(0.0)] for _ in range(n + 1)]
        losses = [backend.cross_entropy(backend.embedding(table, tokens[i][0]) + [backend.Value(0.1)] * 2,
                                        tokens[i + 1][0]) for i in range(n)]
        return backend.sum(losses) / n, tokens
    return build, [v for row in table for v in row]


def test_batched_compiles_once_per_key_and_equals_the_scalar_tapes(backend):
    made = []
    build, params = build_names(backend, made)
    batched, scalar = mf.TapeCache(build, batch=True), mf.TapeCache(build)
    names = {2: [[1, 2, 0], [3, 3, 1], [0, 4, 2]], 3: [[4, 1, 1, 0]]}
    for _ in range(2):
        for n, rows in names.items():
            graph = batched[n]
            assert isinstance(graph.tape, backend.BatchTape) and graph.tape.inputs == [v for [v] in graph.inputs]
            losses = graph.tape.forward(rows)
            for p in params:
                p.grad = 0.0
            graph.tape.backward("sum")
            got = [p.grad for p in params]
            for p in params:
                p.grad = 0.0
            for row, loss in zip(rows, losses.tolist()):
                one = scalar[n]
                mf.assign(one.inputs, row)
                assert loss == one.tape.forward()  # bit for bit
                one.tape.backward()
            assert got == pytest.approx([p.grad for p in params], rel=1e-12, abs=1e-15)
            assert any(g != 0.0 for g in got)
    assert sorted(set(made)) == [2, 3] and made.count(2) == 2 and len(batched) == 2  # once per cache
    assert "2 batched tapes" in repr(batched)


def test_batched_threads_and_bad_arguments(backend):
    made = []
    build, _ = build_names(backend, made)
    assert mf.TapeCache(build, batch=True, threads=2)[1].tape.threads == 2
    with pytest.raises(TypeError, match="batch"):
        mf.TapeCache(build, threads=2)  # threads without batch, refused as compile refuses it
    with pytest.raises(ValueError):
        mf.TapeCache(build, batch=True, threads=0)
    with pytest.raises(TypeError, match="batch must be True or False"):
        mf.TapeCache(build, batch=1)
    x = backend.Value(1.0)
    y = x * 2
    for inputs, error in [([x, y], ValueError), ([[x], 3.0], TypeError), ([x, [x]], ValueError)]:
        tapes = mf.TapeCache(lambda n, inputs=inputs: (y + 1, inputs), batch=True)
        with pytest.raises(error):
            tapes[1]
        assert len(tapes) == 0  # nothing kept from a failed compile
    looped = [x]
    looped.append(looped)
    with pytest.raises(ValueError, match="contain themselves"):
        mf.TapeCache(lambda n: (y + 1, looped), batch=True)[1]
    single = mf.TapeCache(lambda n: (y + 1, x), batch=True)[1]  # one Value: one column
    assert single.tape.forward([[1.0], [2.0]]).tolist() == [3.0, 5.0]
