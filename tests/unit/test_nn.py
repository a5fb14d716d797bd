"""micrograd_fast.nn: micrograd's API, init order and numbers, on fused nodes.
(Training micrograd's demo against upstream is in parity/test_demo.py.)"""

import json
import random
import threading

import pytest

import micrograd_fast
from micrograd_fast import nn

import fixtures


def test_api_and_reprs(backend):
    random.seed(0)
    model = nn.MLP(2, [3, 1])
    assert repr(model) == "MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2), ReLUNeuron(2)], Layer of [LinearNeuron(3)]]"
    assert len(model.parameters()) == 3 * 3 + 4
    out = model([1.0, -2.0])
    assert isinstance(out, backend.Value) and out._op == "dot"
    assert isinstance(nn.Layer(2, 2)([1.0, 2.0]), list)
    assert isinstance(model.parameters()[0], backend.Value)


def test_weights_match_upstream_for_the_same_seed(backend):
    upstream = pytest.importorskip("micrograd.engine")
    ours, theirs = fixtures.moons_model(), fixtures.micrograd_model(upstream.Value)
    assert [p.data for p in ours.parameters()] == [float(p.data) for p in theirs.parameters()]
    assert repr(ours) == repr(theirs)


def test_neuron_forward_is_bit_identical_to_sum_of_products(backend):
    random.seed(3)
    neuron = nn.Neuron(5)
    neuron.b.data = 0.37
    x = [random.uniform(-2, 2) for _ in range(5)]
    expect = sum((wi * xi for wi, xi in zip(neuron.w, x)), neuron.b).relu()
    assert neuron(x).data == expect.data


def test_state_dict_round_trips_through_json(backend):
    random.seed(5)
    a = nn.MLP(3, [4, 2])
    state = json.loads(json.dumps(a.state_dict()))
    random.seed(6)
    b = nn.MLP(3, [4, 2])
    b.load_state_dict(state)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]
    with pytest.raises(ValueError):
        nn.MLP(3, [5, 2]).load_state_dict(state)


def test_bad_input(backend):
    model = nn.MLP(2, [3, 1])
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        model([1.0, 2.0, 3.0])
    with pytest.raises(TypeError):
        model(["a", "b"])
    with pytest.raises(ValueError):
        nn.Neuron(0)
    with pytest.raises(ValueError):
        nn.Layer(2, 0)


def test_no_grad_makes_leaves(backend):
    a = backend.Value(2.0)
    with micrograd_fast.no_grad():
        b = a * 3 + 1
        c = backend.dot([a], [b], 1.0)
        assert not micrograd_fast.is_grad_enabled() or backend.BACKEND != micrograd_fast.BACKEND
    assert b.data == 7.0 and b._prev == set() and c._prev == set() and c.data == 15.0
    d = a * 3
    assert d._prev  # recording again outside


def test_no_grad_decorator_nests_and_is_per_thread(backend):
    seen = {}

    @micrograd_fast.no_grad()
    def evaluate():
        with micrograd_fast.no_grad():
            pass
        seen["inside"] = (backend.Value(1.0) + 1)._prev
        other = threading.Thread(target=lambda: seen.setdefault("thread", (backend.Value(1.0) + 1)._prev))
        other.start()
        other.join()

    evaluate()
    assert seen["inside"] == set() and len(seen["thread"]) == 2
    assert len((backend.Value(1.0) + 1)._prev) == 2


# ---------------------------------------------------------------------------
# MLP.__call__ runs all its layers in one engine call when it can; it must
# give what calling each neuron in turn gives, and notice every change


def neuron_by_neuron(model, x):
    for layer in model.layers:
        out = [n(x) for n in layer.neurons]
        x = out[0] if len(out) == 1 else out
    return x


def numbers(out):
    return [v.data for v in out] if isinstance(out, list) else out.data


class TanhNeuron(nn.Neuron):
    """A neuron with its own __call__: a layer must call it, not fuse it."""

    def __call__(self, x):
        return super().__call__(x).tanh()


def test_mlp_call_is_its_neurons_in_turn(backend):
    random.seed(3)
    model = nn.MLP(3, [4, 4, 2])
    x = [0.5, -1.5, 2.0]
    ours, theirs = model(x), neuron_by_neuron(model, x)
    assert numbers(ours) == numbers(theirs)
    (ours[0] * 2 + ours[1]).backward()
    expected = [p.grad for p in model.parameters()]
    model.zero_grad()
    (theirs[0] * 2 + theirs[1]).backward()
    assert [p.grad for p in model.parameters()] == expected


def switch_to_linear(neuron):
    """Makes neuron linear, with a bias that its ReLU would have cut to 0."""
    neuron.b.data = -100.0
    neuron.nonlin = False


def test_mlp_sees_every_change_to_its_parts(backend):
    random.seed(4)
    model = nn.MLP(2, [3, 2])
    x = [0.5, -1.5]
    V = backend.Value
    changes = [
        lambda: setattr(model.layers[0].neurons[1], "b", V(0.75)),
        lambda: model.layers[0].neurons[2].w.__setitem__(0, V(3.0)),
        lambda: setattr(model.layers[1].neurons[0], "w", [V(0.5), V(-0.25), V(2.0)]),
        lambda: model.layers[1].neurons.__setitem__(1, nn.Neuron(3, nonlin=False)),
        lambda: model.layers[1].neurons.append(nn.Neuron(3, nonlin=False)),
        lambda: switch_to_linear(model.layers[0].neurons[0]),
        lambda: model.layers[1].neurons.__setitem__(0, TanhNeuron(3)),
        lambda: model.layers.append(nn.Layer(3, 2, nonlin=False)),
        lambda: delattr(model.layers[0].neurons[0], "nonlin"),  # the class has none: AttributeError
    ]
    assert numbers(model(x)) == numbers(neuron_by_neuron(model, x))
    for change in changes[:-1]:
        before = numbers(model(x))
        change()
        after = numbers(model(x))
        assert after == numbers(neuron_by_neuron(model, x)) and after != before
    changes[-1]()
    with pytest.raises(AttributeError):
        model(x)


def test_mlp_input_and_weight_errors_match_the_layers(backend):
    random.seed(5)
    model = nn.MLP(2, [3, 1])
    assert model((0.5, 1.0)).data == model([backend.Value(0.5), 1]).data
    np = pytest.importorskip("numpy")
    assert model(np.array([0.5, 1.0])).data == model([0.5, 1.0]).data
    with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
        model([0.5])
    with pytest.raises(TypeError):
        model([0.5, None])
    model.layers[0].neurons[1].w.append(backend.Value(1.0))
    with pytest.raises(ValueError, match="neuron 1 has 3 weights for 2 inputs"):
        model([0.5, 1.0])


def test_mlp_under_no_grad_keeps_no_graph(backend):
    random.seed(6)
    model = nn.MLP(2, [3, 1])
    with micrograd_fast.no_grad():
        out = model([0.5, 1.0])
    assert out._prev == set() and out.data == neuron_by_neuron(model, [0.5, 1.0]).data


def test_a_plain_model_is_called_as_one_plan(backend):
    model = nn.MLP(2, [3, 1])
    model([0.5, 1.0])
    assert isinstance(model._plan, backend.DensePlan)
    model.layers[0].neurons.append(TanhNeuron(2))  # the plan steps aside at once...
    with pytest.raises(ValueError, match="takes 3 inputs, got 4"):  # ...and the layers word the error
        model([0.5, 1.0])


def test_a_change_drops_only_the_plans_made_from_that_part(backend):
    first, second = nn.MLP(2, [3, 1]), nn.MLP(2, [3, 1])
    shared = nn.Layer(3, 1, nonlin=False)
    third = nn.MLP(2, [3, 1])
    third.layers[1] = shared  # a list item: the plan sees it; third makes a new plan below
    first.layers = [first.layers[0], shared]
    for model in (first, second, third):
        model([0.5, 1.0])
    plans = [m._plan for m in (first, second, third)]
    assert all(isinstance(p, backend.DensePlan) for p in plans)
    second.layers[0].neurons[0].b = backend.Value(2.0)  # second's alone
    assert "_plan" not in vars(second) and first._plan is plans[0] and third._plan is plans[2]
    shared.neurons[0].b = backend.Value(-1.0)  # in first's and third's plans
    assert "_plan" not in vars(first) and "_plan" not in vars(third)
    for model in (first, second, third):
        x = [0.5, 1.0]
        assert model(x).data == neuron_by_neuron(model, x).data
