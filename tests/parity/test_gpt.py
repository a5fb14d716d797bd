"""examples/gpt.py's model (the fused ops, a tape per document length)
against the same model built eagerly every step, and against microgpt's
program written out with plain Value ops on the reference engine."""

import pytest

import micrograd_fast as mf
from micrograd_fast import engine, optim

import fixtures


@pytest.fixture(scope="module")
def gpt():
    return fixtures.load_file("gpt_example", "examples/gpt.py")


def documents(count):
    """Names of varying length, as token lists, and the vocabulary size."""
    names = fixtures.NAMES
    chars = fixtures.characters(names)
    return [fixtures.tokenize(names[(7 * i) % len(names)], chars) for i in range(count)], len(chars) + 1


def adam(model):
    return optim.Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)


def test_fifty_taped_steps_over_varying_lengths_equal_rebuilding(backend, gpt):
    docs, vocab_size = documents(50)
    assert len({len(d) for d in docs}) >= 5
    taped, eager = gpt.GPT(vocab_size, seed=5), gpt.GPT(vocab_size, seed=5)
    taped_opt, eager_opt = adam(taped), adam(eager)

    def build(n):
        tokens = [backend.Value(0.0) for _ in range(n + 1)]
        return taped.loss(tokens), tokens
    tapes = mf.TapeCache(build)
    for doc in docs:
        graph = tapes[len(doc) - 1]
        mf.assign(graph.inputs, doc)
        taped_loss = graph.tape.forward()
        graph.tape.backward()
        eager_loss = eager.loss([backend.Value(t) for t in doc])
        eager_loss.backward()
        assert taped_loss == pytest.approx(eager_loss.data, rel=1e-12)
        assert [p.grad for p in taped.parameters()] == pytest.approx(
            [p.grad for p in eager.parameters()], rel=1e-12, abs=1e-300)
        for opt in (taped_opt, eager_opt):
            opt.step()
            opt.zero_grad()
    assert len(tapes) == len({len(d) for d in docs})


def test_twenty_taped_steps_give_the_written_out_programs_losses(backend, gpt):
    """The fused, taped model and microgpt's written-out program on the
    reference engine, from the same weights, with the same Adam and rate."""
    docs, vocab_size = documents(20)
    model = gpt.GPT(vocab_size, seed=6)
    weights = {name: [[p.data for p in row] for row in rows] for name, rows in model.state.items()}
    written = fixtures.WrittenOutGPT(engine.load("pure").Value, weights)
    opt = adam(model)

    def build(n):
        tokens = [backend.Value(0.0) for _ in range(n + 1)]
        return model.loss(tokens), tokens
    tapes = mf.TapeCache(build)
    ours, theirs = [], []
    for step, doc in enumerate(docs):
        graph = tapes[len(doc) - 1]
        mf.assign(graph.inputs, doc)
        ours.append(graph.tape.forward())
        graph.tape.backward()
        opt.lr = 0.01 * (1 - step / len(docs))
        opt.step()
        opt.zero_grad()
        theirs.append(written.step(doc, total_steps=len(docs)))
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert sum(ours[-5:]) < sum(ours[:5])


def test_the_same_model_in_torch_gives_the_same_loss_and_gradients(backend, gpt):
    pytest.importorskip("torch")
    docs, vocab_size = documents(3)
    model = gpt.GPT(vocab_size, seed=7)
    weights = {name: [[p.data for p in row] for row in rows] for name, rows in model.state.items()}
    theirs = fixtures.TorchGPT(weights)
    for doc in docs:
        loss = model.loss([backend.Value(t) for t in doc])
        loss.backward()
        torch_loss = theirs.loss(doc)
        torch_loss.backward()
        assert loss.data == pytest.approx(torch_loss.item(), rel=1e-12)
        torch_grads = [g for name in model.state for g in theirs.w[name].grad.flatten().tolist()]
        assert [p.grad for p in model.parameters()] == pytest.approx(torch_grads, rel=1e-9, abs=1e-14)
        model_params = model.parameters()
        for p in model_params:
            p.grad = 0.0
        for w in theirs.w.values():
            w.grad = None
