"""A microgpt-shaped program (micrograd_fast.testing.WrittenOutGPT: embedding
rows, rmsnorm, multi-head attention over a KV list, a ReLU MLP, softmax with
the max from .data, -log p, Adam written out) on our Value, against the same
program on a slotted pure-Python Value of microgpt's kind."""

import pytest

from micrograd_fast import engine, testing

STEPS = 20


def losses_of(Value, steps=STEPS):
    chars = testing.characters(testing.NAMES)
    model = testing.WrittenOutGPT(Value, testing.gpt_weights(len(chars) + 1, seed=3))
    docs = [testing.tokenize(name, chars) for name in testing.NAMES]
    return [model.step(docs[i % len(docs)], total_steps=steps) for i in range(steps)], model


@pytest.fixture(scope="module")
def slotted_losses():
    return losses_of(testing.SlottedValue)[0]


def test_twenty_steps_give_the_slotted_values_losses(Value, slotted_losses):
    ours, model = losses_of(Value)
    assert ours == pytest.approx(slotted_losses, rel=1e-9)
    assert ours[-1] < ours[0]
    assert all(type(p) is Value for p in model.params)


def test_microgpts_own_backward_over_our_graph(Value):
    """microgpt's backward walks _children and _local_grads itself: over our
    graph it gives backward()'s gradients."""
    chars = testing.characters(testing.NAMES)
    model = testing.WrittenOutGPT(Value, testing.gpt_weights(len(chars) + 1, seed=4))
    loss = model.loss(testing.tokenize("sophia", chars))
    loss.backward()
    expected = [p.grad for p in model.params]
    testing.backward_by_local_grads(loss, engine.engine_of(loss).topo_order(loss))
    assert [p.grad for p in model.params] == pytest.approx(expected, rel=1e-9, abs=1e-15)
