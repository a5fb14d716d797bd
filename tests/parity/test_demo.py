"""micrograd's demo (benchmarks/fixtures.py: the moons, the seeded
MLP(2, [16, 16, 1]), the notebook's SVM loss, L2 and SGD) run by two
implementations and compared step by step: our nn against upstream
micrograd, micrograd's own nn.py over our Value against upstream micrograd,
and the tensor engine against the scalar one."""

import functools

import numpy as np
import pytest

from micrograd_fast import engine

import fixtures
from micrograd_fast.tensor import Tensor

STEPS = 10


def demo_losses(Value, model, steps=STEPS):
    X, y = fixtures.moons()
    return [fixtures.demo_step(Value, model, X, y, k) for k in range(steps)]


@functools.lru_cache(maxsize=None)
def upstream_losses():
    """Upstream micrograd 0.1.0 running the demo: the same for every test
    and engine, and slow (it walks sets, recursively), so run once."""
    from micrograd.engine import Value

    return demo_losses(Value, fixtures.micrograd_model(Value))


def test_ten_demo_steps_match_upstream_micrograd(backend):
    pytest.importorskip("micrograd.engine")
    ours = demo_losses(backend.Value, fixtures.moons_model())
    assert ours == pytest.approx(upstream_losses(), rel=1e-9)
    assert ours[-1] < ours[0]


def test_micrograds_own_nn_over_our_value_matches_upstream(backend):
    """The drop-in promise: micrograd's nn.py with only its Value swapped."""
    pytest.importorskip("micrograd.engine")
    ours = demo_losses(backend.Value, fixtures.micrograd_model(backend.Value))
    assert ours == pytest.approx(upstream_losses(), rel=1e-9)


def test_same_seed_same_weights_and_moons_losses():
    """The scalar MLP and the tensor MLP train micrograd's demo to the same losses."""
    scalar, tensor = fixtures.moons_model(), fixtures.tensor_moons_model()
    W1 = tensor.layers[0].W.data
    assert W1[:, 3].tolist() == [w.data for w in scalar.layers[0].neurons[3].w]

    scalar_losses = demo_losses(engine.Value, scalar)
    X, y = fixtures.moons()
    X, y = Tensor(np.array(X), requires_grad=False), Tensor(np.array(y, dtype=float), requires_grad=False)
    tensor_losses = [fixtures.tensor_demo_step(tensor, X, y, k) for k in range(STEPS)]
    assert tensor_losses == pytest.approx(scalar_losses, rel=1e-9)
