"""Stress: deep and huge graphs, threads, interrupts and memory soaks. No
engine may crash, overflow the C stack, leak or lose state; the longest
tests are marked slow."""

import gc
import os
import random
import threading

import pytest

import micrograd_fast as mf
from micrograd_fast import optim

import fixtures
from micrograd_fast.tensor import Tensor


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- deep and huge graphs ------------------------------------------------------


@pytest.mark.slow
def test_ten_million_node_chain(compiled):
    x = compiled.Value(0.5)
    y = x
    for _ in range(10_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0 and y.data == 10_000_000.5
    del y  # freed in a loop, not by recursion
    assert x.data == 0.5


def test_one_node_shared_by_a_million_parents(compiled):
    x = compiled.Value(2.0)
    parents = [x * 1.0 for _ in range(1_000_000)]
    total = compiled.sum(parents)
    total.backward()
    assert x.grad == 1_000_000.0
    del parents, total


def test_million_node_chain_backward_and_free(compiled):
    Value = compiled.Value
    x = Value(0.0)
    root = x
    for _ in range(1_000_000):
        root = root + 1
    root.backward()
    assert root.data == 1_000_000.0 and x.grad == 1.0
    del root  # must not overflow the C stack


def test_million_node_product_chain(compiled):
    Value = compiled.Value
    x = Value(1.0)
    c = Value(1.0000001)
    y = x
    for _ in range(1_000_000):
        y = y * c
    y.backward()
    assert x.grad == pytest.approx(1.0000001**1_000_000, rel=1e-6)
    del y


def test_deep_chain_on_reference(reference):
    x = reference.Value(0.0)
    root = x
    for _ in range(20_000):  # far past the recursion limit of micrograd's build_topo
        root = root + 1
    root.backward()
    assert x.grad == 1.0


def test_deep_tensor_chain_has_no_recursion():
    x = Tensor(0.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert x.grad.item() == 1.0


# --- threads and interrupts ----------------------------------------------------


def test_two_threads_backward_disjoint_graphs(Value):
    results = {}

    def work(name, seed):
        rnd = random.Random(seed)
        xs = [Value(rnd.uniform(-1, 1)) for _ in range(50)]
        for _ in range(200):
            out = xs[0]
            for x in xs[1:]:
                out = (out * x + x).tanh()
            for x in xs:
                x.grad = 0.0
            out.backward()
        results[name] = [x.grad for x in xs]

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in (("a", 1), ("b", 2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    work("a_alone", 1)
    work("b_alone", 2)
    assert results["a"] == results["a_alone"] and results["b"] == results["b_alone"]


def test_keyboard_interrupt_while_building_leaves_engine_usable(Value):
    def build(n, interrupt_at):
        x = Value(1.0)
        y = x
        for i in range(n):
            if i == interrupt_at:
                raise KeyboardInterrupt
            y = y * 1.0 + 0.0
        return y

    with pytest.raises(KeyboardInterrupt):
        build(100_000, 50_000)
    y = build(1000, -1)
    y.backward()
    assert y.data == 1.0


# --- memory soaks --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("use_tape", [False, True])
def test_rss_stays_flat_over_ten_thousand_moons_steps(compiled, use_tape):
    if mf.BACKEND != "compiled":
        pytest.skip("the live engine is the reference")
    X, y = fixtures.moons()
    model = fixtures.moons_model()
    sgd = optim.SGD(model.parameters(), lr=0.05)
    if use_tape:
        inputs = [[mf.Value(0.0), mf.Value(0.0)] for _ in range(len(X))]
        mf.assign(inputs, X)
        tape = mf.compile(fixtures.moons_loss(compiled, model, inputs, y))

    def step():
        if use_tape:
            tape.forward()
            sgd.zero_grad()
            tape.backward()
        else:
            loss = fixtures.moons_loss(compiled, model, [list(map(mf.Value, row)) for row in X], y)
            sgd.zero_grad()
            loss.backward()
        sgd.step()

    for _ in range(2000):  # warm-up: free lists, scratch buffers, pymalloc pools
        step()
    gc.collect()
    before = rss_bytes()
    for _ in range(10_000):
        step()
    gc.collect()
    growth = rss_bytes() - before
    print(f"RSS growth over 10,000 steps ({'tape' if use_tape else 'eager'}): {growth / 1e6:.3f} MB")
    assert growth < 2 * 1024 * 1024, f"RSS grew {growth / 1e6:.1f} MB"
