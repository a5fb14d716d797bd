"""A microgpt-shaped program (WrittenOutGPT in benchmarks/fixtures.py: embedding
rows, rmsnorm, multi-head attention over a KV list, a ReLU MLP, softmax with
the max from .data, -log p, Adam written out) on our Value, against the same
program on a slotted pure-Python Value of microgpt's kind."""

import pytest

from micrograd_fast import engine

import fixtures

STEPS = 20


def losses_of(Value, steps=STEPS):
    chars = fixtures.characters(fixtures.NAMES)
    model = fixtures.WrittenOutGPT(Value, fixtures.gpt_weights(len(chars) + 1, seed=3))
    docs = [fixtures.tokenize(name, chars) for name in fixtures.NAMES]
    return [model.step(docs[i % len(docs)], total_steps=steps) for i in range(steps)], model


@pytest.fixture(scope="module")
def slotted_losses():
    return losses_of(fixtures.SlottedValue)[0]


def test_twenty_steps_give_the_slotted_values_losses(Value, slotted_losses):
    ours, model = losses_of(Value)
    assert ours == pytest.approx(slotted_losses, rel=1e-9)
    assert ours[-1] < ours[0]
    assert all(type(p) is Value for p in model.params)


def test_microgpts_own_backward_over_our_graph(Value):
    """microgpt's backward walks _children and _local_grads itself: over our
    graph it gives backward()'s gradients."""
    chars = fixtures.characters(fixtures.NAMES)
    model = fixtures.WrittenOutGPT(Value, fixtures.gpt_weights(len(chars) + 1, seed=4))
    loss = model.loss(fixtures.tokenize("sophia", chars))
    loss.backward()
    expected = [p.grad for p in model.params]
    fixtures.backward_by_local_grads(loss, engine.engine_of(loss).topo_order(loss))
    assert [p.grad for p in model.params] == pytest.approx(expected, rel=1e-9, abs=1e-15)
