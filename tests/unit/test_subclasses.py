"""Subclasses of Value are honoured (issue 20), on both engines, with
upstream micrograd 0.1.0 subclassed the same way as the oracle: the
composite operators (-, /, the reflected forms, -x) go through a subclass's
own __add__/__mul__/__pow__/__neg__ exactly as micrograd's Python
definitions do, a data or grad property on the subclass is used, and a Value
whose __init__ never ran raises AttributeError when read."""

import collections

import pytest
from outcomes import outcome


def recording(base, overridden, calls):
    """A subclass of base overriding the methods named in overridden, each
    recording its call in calls and delegating to super()."""

    def override(name):
        def method(self, *args):
            calls.append(name)
            return getattr(super(Recorded, self), f"__{name}__")(*args)
        method.__name__ = f"__{name}__"
        return method

    Recorded = type("Recorded", (base,), {f"__{name}__": override(name) for name in overridden})
    return Recorded


OVERRIDES = {"add": ["add"], "mul": ["mul"], "pow": ["pow"], "neg": ["neg"], "all": ["add", "mul", "pow", "neg"]}
# a is the subclass's, b the other operand (a subclass's or a plain Value)
OPERATORS = {
    "a-b": lambda a, b: a - b, "b-a": lambda a, b: b - a, "a/b": lambda a, b: a / b,
    "b/a": lambda a, b: b / a, "a+b": lambda a, b: a + b, "b+a": lambda a, b: b + a,
    "a*b": lambda a, b: a * b, "b*a": lambda a, b: b * a, "a-2.0": lambda a, b: a - 2.0,
    "2.0-a": lambda a, b: 2.0 - a, "2-a": lambda a, b: 2 - a, "a/2": lambda a, b: a / 2,
    "2/a": lambda a, b: 2 / a, "2.0/a": lambda a, b: 2.0 / a, "a+2": lambda a, b: a + 2,
    "2.0+a": lambda a, b: 2.0 + a, "a*2.0": lambda a, b: a * 2.0, "3*a": lambda a, b: 3 * a,
    "a**2": lambda a, b: a**2, "a**-1": lambda a, b: a**-1, "-a": lambda a, b: -a,
}




def run(base, overridden, operator, other):
    """What operator does with a subclass of base: the overrides it called
    (as a multiset), the result's data, whether the result is of the
    subclass, and the operands' grads after backward(); or the exception."""
    calls = []
    Recorded = recording(base, overridden, calls)
    a = Recorded(1.5)
    b = Recorded(-0.75) if other == "subclass" else base(-0.75)
    result = outcome(OPERATORS[operator], a, b)
    if isinstance(result, type):
        return result, collections.Counter(calls)
    made = collections.Counter(calls)
    result.backward()
    return made, result.data, isinstance(result, Recorded), a.grad, b.grad


@pytest.mark.parametrize("other", ["subclass", "plain"])
@pytest.mark.parametrize("operator", OPERATORS)
@pytest.mark.parametrize("override", OVERRIDES)
def test_operators_call_the_overrides_micrograd_calls(Value, override, operator, other):
    upstream = pytest.importorskip("micrograd.engine")
    ours = run(Value, OVERRIDES[override], operator, other)
    theirs = run(upstream.Value, OVERRIDES[override], operator, other)
    assert ours == theirs


def test_the_issues_cases(Value):
    """V2(1.0) / 1 and 2 / V2(2.0) call the overrides; 2 - V2(2.0) and
    Value(1.0) / V2(2.0) work."""
    calls = []
    V2 = recording(Value, ["add", "mul", "pow", "neg"], calls)
    assert (V2(1.0) / 1).data == 1.0 and calls == ["mul"]
    calls.clear()
    assert (2 / V2(2.0)).data == 1.0 and calls == ["pow"]
    calls.clear()
    assert (2 - V2(2.0)).data == 0.0 and collections.Counter(calls) == {"neg": 1, "mul": 1}
    calls.clear()
    assert (Value(1.0) / V2(2.0)).data == 0.5 and calls == ["pow"]


# --- subclasses that change what data and grad are ---------------------------------


def no_init(base):
    class NoInit(base):
        def __init__(self, data):  # never calls super().__init__()
            self.given = data
    return NoInit


def read_only_data(base):
    class ReadOnly(base):
        @property
        def data(self):
            return 42.0
    return ReadOnly


def stored(base, name):
    """A subclass whose data or grad (name) is a property kept in a list
    of its own, self.<name>_box."""
    box = f"{name}_box"
    kept = property(lambda self: getattr(self, box)[0], lambda self, x: setattr(self, box, [x]))
    return type(f"Stored_{name}", (base,), {name: kept})


USES = {  # what is done with an instance
    "read data": lambda v: v.data, "read grad": lambda v: v.grad, "v + 1": lambda v: (v + 1).data,
    "2 * v": lambda v: (2 * v).data, "-v": lambda v: (-v).data, "v / 2": lambda v: (v / 2).data,
    "repr": repr, "backward": lambda v: v.backward(), "v.relu()": lambda v: v.relu().data,
}


@pytest.mark.parametrize("use", USES)
def test_a_value_whose_init_never_ran_raises_attribute_error(Value, use):
    upstream = pytest.importorskip("micrograd.engine")
    ours = outcome(USES[use], no_init(Value)(1.0))
    theirs = outcome(USES[use], no_init(upstream.Value)(1.0))
    assert theirs is AttributeError and ours is theirs


def test_every_unary_op_of_a_value_whose_init_never_ran_raises_attribute_error(backend):
    """The ops upstream lacks (exp, sin, abs(v), ...) refuse such a Value too."""
    uses = [lambda v, op=op: getattr(v, op)() for op in backend.UNARY_OPS] + [abs]
    for use in uses:
        assert outcome(use, no_init(backend.Value)(1.0)) is AttributeError


def test_a_read_only_data_property_fails_as_upstream(Value):
    upstream = pytest.importorskip("micrograd.engine")

    def scenario(base):
        r = read_only_data(base)(1.0)
        return r.data, (r * 2).data, (r + 1).data

    theirs = outcome(scenario, upstream.Value)
    assert theirs is AttributeError  # micrograd's __init__ assigns self.data
    assert outcome(scenario, Value) is theirs


def test_a_data_property_storing_elsewhere_is_what_operators_use(Value):
    upstream = pytest.importorskip("micrograd.engine")

    def scenario(base):
        s = stored(base, "data")(1.5)
        first = (s.data, s.data_box)
        s.data_box = [7.0]  # behind the engine's back: only the property knows
        product = s * s
        product.backward()
        s.data = 3.0
        summed, scaled = s + 1, -s
        return first, product.data, s.grad, s.data_box, summed.data, scaled.data

    theirs = scenario(upstream.Value)
    assert theirs == (((1.5, [1.5])), 49.0, 14.0, [3.0], 4.0, -3.0)
    assert scenario(Value) == theirs


def test_a_grad_property_storing_elsewhere_is_what_backward_uses(Value):
    upstream = pytest.importorskip("micrograd.engine")

    def scenario(base):
        s = stored(base, "grad")(2.0)
        first = s.grad_box
        out = s * 3.0 + s
        out.backward()
        return first, s.grad, s.grad_box, out.data

    theirs = scenario(upstream.Value)
    assert theirs == ([0], 4.0, [4.0], 8.0)
    assert scenario(Value) == theirs
