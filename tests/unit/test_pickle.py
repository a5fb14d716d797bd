"""Pickle and deepcopy: leaves, models and optimizer state round-trip on both
engines; interior nodes are refused with a clear error, deep graphs included."""

import copy
import pickle
import random

import pytest

from micrograd_fast import nn, optim


@pytest.mark.parametrize("clone", [lambda v: pickle.loads(pickle.dumps(v)), copy.deepcopy])
def test_leaf_round_trip(Value, clone):
    v = Value(2.5)
    v.grad = -1.0
    v.label = "w"
    w = clone(v)
    assert (type(w), w.data, w.grad, w.label) == (Value, 2.5, -1.0, "w")
    assert w is not v
    out = w * 3
    out.backward()
    assert w.grad == 2.0


def test_interior_node_is_refused_even_when_deep(Value):
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1
    with pytest.raises(TypeError, match="only leaves"):
        pickle.dumps(y)
    with pytest.raises(TypeError, match="only leaves"):
        copy.deepcopy(x * 2)


def test_model_and_optimizer_round_trip(backend):
    random.seed(0)
    model = nn.MLP(2, [4, 1])
    opt = optim.AdamW(model.parameters(), lr=0.05)
    for _ in range(2):
        opt.zero_grad()
        model([0.5, -1.0]).backward()
        opt.step()
    model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    model3, opt3 = copy.deepcopy((model, opt))
    for m, o in ((model2, opt2), (model3, opt3)):
        assert [p.data for p in m.parameters()] == [p.data for p in model.parameters()]
        assert o.params[0] is m.parameters()[0]  # shared, not copied twice
        assert list(o.exp_avg) == list(opt.exp_avg) and o.steps == 2
    # the copies train on exactly as the original does
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        m([0.5, -1.0]).backward()
        o.step()
    assert [p.data for p in model2.parameters()] == [p.data for p in model.parameters()]


def test_subclass_leaf_round_trip(Value):
    w = pickle.loads(pickle.dumps(Named(4.0, "n")))
    assert (type(w).__name__, w.data, w.name) == ("Named", 4.0, "n")


class Named:  # replaced per backend below: pickle needs a module-level class
    pass


@pytest.fixture(autouse=True)
def _named_subclass(Value):
    global Named

    class Named(Value):
        def __init__(self, data, name):
            super().__init__(data)
            self.name = name

    Named.__qualname__ = "Named"
    yield
