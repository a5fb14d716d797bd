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
