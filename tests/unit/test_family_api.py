"""What the lecture's and microgpt's Values have on top of micrograd's, on
both engines: label, _children, _local_grads, the constructor with local
gradients, weak references, attributes kept outside the object, and the
operators' graphs with a number on either side."""

import copy
import gc
import math
import pickle
import sys
import weakref

import pytest

from micrograd_fast import engine

import fixtures

reference = engine.load("pure")


def test_label_is_a_keyword_a_fourth_argument_and_an_attribute(Value):
    a = Value(2.0, label="a")
    b = Value(1.0, (), "", "b")
    assert (a.label, b.label, Value(3.0).label, (a * 2).label) == ("a", "b", "", "")
    c = a * b
    c.label = "c"
    assert c.label == "c" and c.data == 2.0
    del c.label
    assert c.label == ""


def test_a_label_costs_no_bytes_in_the_node(compiled):
    plain, labelled = compiled.Value(1.0), compiled.Value(1.0, label="x")
    assert sys.getsizeof(plain) == sys.getsizeof(labelled) == 80  # GC header included
    assert sys.getsizeof(plain * plain) == 80


def test_attributes_live_beside_the_node(Value):
    v = Value(1.0)
    v.m, v.label = 0.5, "v"
    assert (v.m, v.label) == (0.5, "v")
    assert vars(v)["m"] == 0.5 and vars(v)["label"] == "v"
    v.__dict__["n"] = 3
    assert v.n == 3
    v.relu = "shadowed"  # like any object: an instance attribute hides a method
    assert v.relu == "shadowed"
    del v.relu
    assert v.relu().data == 1.0
    with pytest.raises(AttributeError):
        del v.missing
    with pytest.raises(AttributeError):
        v.missing
    with pytest.raises(TypeError):
        setattr(v, 1, 2)


@pytest.mark.parametrize("close_cycle", [
    lambda v: setattr(v, "me", v),
    lambda v: setattr(v, "out", (v * 2).exp() + 1),  # nodes built before v had attributes
    lambda v: setattr(v, "outs", [1.0, v * 2, (v + 1, v)]),
    lambda v: (setattr(v, "label", "v"), setattr(v, "out", v * 2)),  # built after
    lambda v: setattr(v, "out", Value_with_label(v * 3)),
])
def test_a_cycle_through_attributes_is_collected(Value, close_cycle):
    v = Value(1.0)
    close_cycle(v)
    alive = weakref.ref(v)
    del v
    gc.collect()
    assert alive() is None


def Value_with_label(node):
    node.label = "labelled"
    return node


def test_weak_references(Value):
    v = Value(2.0)
    ref = weakref.ref(v)
    assert ref() is v
    died = []
    ref2 = weakref.ref(v * 3, lambda r: died.append(r))
    assert ref2() is None and died  # the product died at once
    cache = weakref.WeakValueDictionary({"v": v})
    del v
    assert ref() is None and "v" not in cache


def test_weak_references_to_a_deep_chain_are_cleared(Value):
    x = Value(0.0)
    for _ in range(100_000):
        x = x + 1.0
    refs = [weakref.ref(x), weakref.ref(x._children[0])]
    del x
    assert [r() for r in refs] == [None, None]


def test_children_in_order_and_local_grads(Value):
    a, b = Value(3.0), Value(-2.0)
    cases = [
        (a + b, (a, b), (1.0, 1.0)),
        (a * b, (a, b), (-2.0, 3.0)),
        (a**2, (a,), (6.0,)),
        (a.relu(), (a,), (1.0,)),
        (b.relu(), (b,), (0.0,)),
        (a.tanh(), (a,), (1 - math.tanh(3.0) ** 2,)),
        (a.exp(), (a,), (math.exp(3.0),)),
        (a.log(), (a,), (1 / 3.0,)),
        (a.sigmoid(), (a,), ((1 / (1 + math.exp(-3))) * (1 - 1 / (1 + math.exp(-3))),)),
        (a**b, (a, b), (-2.0 * 3.0**-3, 3.0**-2 * math.log(3.0))),
        (Value(5.0), (), ()),
    ]
    for out, children, grads in cases:
        assert out._children == children
        assert out._local_grads == pytest.approx(grads, rel=1e-15)


def test_fused_nodes_children_and_local_grads(backend):
    ws = [backend.Value(w) for w in (1.0, 2.0)]
    xs = [backend.Value(x) for x in (3.0, 4.0)]
    b = backend.Value(0.5)
    d = backend.dot(ws, xs, b)
    assert d._children == (*ws, *xs, b) and d._local_grads == (3.0, 4.0, 1.0, 2.0, 1.0)
    s = backend.sum(xs, b)
    assert s._children == (b, *xs) and s._local_grads == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("build", [
    lambda V, a, b: a * b + b**3, lambda V, a, b: (a / b).tanh() * a, lambda V, a, b: a.exp() - b.log(),
    lambda V, a, b: V.sigmoid(a * b) ** 2, lambda V, a, b: (a ** b).relu(), lambda V, a, b: 2.0 / (1.0 - a),
])
def test_local_grads_are_what_backward_applies(Value, build):
    """Walking the graph with _children and _local_grads, as microgpt's
    backward does, gives backward()'s gradients."""
    a, b = Value(0.7), Value(1.3)
    out = build(Value, a, b)
    out.backward()
    expected = (a.grad, b.grad)
    fixtures.backward_by_local_grads(out, engine.engine_of(out).topo_order(out))
    assert (a.grad, b.grad) == pytest.approx(expected, rel=1e-12)


def test_microgpt_constructor_takes_local_grads(Value):
    a, b = Value(2.0), Value(5.0)
    out = Value(a.data * b.data, (a, b), (b.data, a.data))  # microgpt's __mul__
    assert out._op == "" and out._local_grads == (5.0, 2.0) and out._children == (a, b)
    (out * 3).backward()
    assert (a.grad, b.grad) == (15.0, 6.0)
    with pytest.raises(ValueError, match="2 children but 1 local gradients"):
        Value(1.0, (a, b), [1.0])
    with pytest.raises(TypeError, match="local gradients must be real numbers"):
        Value(1.0, (a,), ["x"])
    assert Value(1.0, (), ())._children == ()


def test_a_micrograd_custom_op_has_no_known_local_grads(Value):
    x = Value(0.5)
    out = Value(2 * x.data, (x,), "double")

    def _backward():
        x.grad += 2 * out.grad
    out._backward = _backward
    assert out._local_grads is None and out._children == (x,)
    out.backward()
    assert x.grad == 2.0


def structure(v):
    """A Value graph as nested (op, data, children), children as a sorted
    multiset (micrograd's _prev is a set)."""
    return (v._op, v.data, sorted((structure(c) for c in v._prev), key=repr))


MIXED = {
    "v * 2.0": lambda v, w: v * 2.0, "2.0 * v": lambda v, w: 2.0 * v, "0 + v": lambda v, w: 0 + v,
    "v + 1": lambda v, w: v + 1, "v - 1.0": lambda v, w: v - 1.0, "1.0 - v": lambda v, w: 1.0 - v,
    "v - w": lambda v, w: v - w, "v / w": lambda v, w: v / w, "v / 2.0": lambda v, w: v / 2.0,
    "2.0 / v": lambda v, w: 2.0 / v, "v ** 2": lambda v, w: v**2, "v ** 0.5": lambda v, w: v**0.5,
    "-v": lambda v, w: -v, "2 ** v": lambda v, w: 2**v, "sum": lambda v, w: sum([v, w, v]),
}


@pytest.mark.parametrize("name", MIXED)
def test_mixed_number_ops_build_micrographs_graph(Value, name):
    upstream = pytest.importorskip("micrograd.engine")
    f = MIXED[name]
    ours = f(Value(1.5), Value(-0.75))
    if name == "2 ** v":  # micrograd has no number ** Value: the reference is our truth
        theirs = f(reference.Value(1.5), reference.Value(-0.75))
    else:
        theirs = f(upstream.Value(1.5), upstream.Value(-0.75))
    assert structure(ours) == structure(theirs)
    assert structure(ours) == structure(f(reference.Value(1.5), reference.Value(-0.75)))


@pytest.mark.parametrize("name", MIXED)
def test_mixed_number_ops_gradients_match_the_reference(Value, name):
    f = MIXED[name]
    v, w = Value(1.5), Value(-0.75)
    rv, rw = reference.Value(1.5), reference.Value(-0.75)
    out, rout = f(v, w), f(rv, rw)
    out.backward()
    rout.backward()
    assert (out.data, v.grad, w.grad) == (rout.data, rv.grad, rw.grad)


def test_numbers_of_every_kind_on_either_side(Value):
    np = pytest.importorskip("numpy")
    from fractions import Fraction
    v = Value(2.0)
    for x in (3, 3.0, True, Fraction(3, 1), np.float64(3.0), np.int64(3), np.float32(3.0)):
        assert (v + x).data == (x + v).data == 2.0 + float(x)
        assert (v * x).data == (x * v).data == 2.0 * float(x)
        assert (v - x).data == 2.0 - float(x) and (x - v).data == float(x) - 2.0
        assert (v / x).data == 2.0 * float(x) ** -1 and (x / v).data == float(x) * 2.0**-1
    for bad in ("3", None, 3j, [1.0]):
        with pytest.raises(TypeError):
            v + bad
        with pytest.raises(TypeError):
            bad * v
    with pytest.raises(OverflowError):
        v + 10**400
    with pytest.raises(ZeroDivisionError):
        v / 0
    with pytest.raises(TypeError):
        pow(v, 2, 3)


def test_division_takes_the_c_librarys_power_as_python_does(Value):
    """x / y is x * y**-1 and Python's y ** -1 is the C library's pow, which
    for 0.9999999999999999 gives 1.0, not 1 / y (a compiler would fold one
    into the other)."""
    x = Value(0.95)
    y = x / x
    assert y.data == 0.95 * 0.95**-1
    assert (x / y).data == 0.95 * y.data**-1 == 0.95
    assert (x / 0.9999999999999999).data == 0.95 * 0.9999999999999999**-1


def test_operators_are_methods_too(Value):
    a, b = Value(2.0), Value(3.0)
    assert Value.__add__(a, b).data == 5.0 and a.__radd__(1.0).data == 3.0
    assert a.__rsub__(1.0).data == -1.0 and a.__rtruediv__(1.0).data == 0.5
    assert a.__mul__("x") is NotImplemented and a.__pow__(2, 3) is NotImplemented


def test_a_freed_nodes_attributes_go_with_it(Value):
    # the compiled engine reuses a freed Value's memory for the next one, and
    # keeps attributes in a table keyed by address: none may outlive their node
    for make in (lambda: Value(1.0, label="old"), lambda: Value(1.0, label="old") * 2):
        for _ in range(50):
            old = make()
            old.label = "old"
            del old
            new = Value(2.0) * 3
            new.extra = 1
            assert vars(new) == {"extra": 1} and new.label == ""


def test_subclass_instances_keep_their_own_dict(Value):
    class Named(Value):
        pass
    n = Named(1.0, label="n")
    n.extra = 5
    assert (n.label, n.extra, vars(n)) == ("n", 5, {"label": "n", "extra": 5})
    assert vars(Value(1.0)) == {} and vars(n * 2) == {}  # a node's own state is not in its __dict__
    assert copy.deepcopy(n).extra == 5 and pickle.loads(pickle.dumps(Value(2.0, label="p"))).label == "p"
    assert type(n + 1) is Value
