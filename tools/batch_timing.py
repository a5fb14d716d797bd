"""Times the compiled batched tape on issue 18's figures (one process,
interleaved, medians): the yin-yang step's forward + backward on 1,000
points (MLP 2-8-3, cross-entropy) on 1 and 2 threads, the moons mesh
(MLP 2-16-16-1, forward only) per point on 1 and 2 threads over 10,000
points, and a batch of one row against the scalar tape's forward +
backward. Usage: PYTHONPATH=. python tools/batch_timing.py [rounds]"""

import random
import statistics
import sys
import time

import numpy as np

from micrograd_fast import engine, losses, nn
from micrograd_fast.datasets import make_yinyang

engine.use("compiled")
E = engine.load("compiled")  # the compiled engine module (only the facade imports it)


def yinyang_tapes():
    (X, y), _, _ = make_yinyang(1250, seed=0)
    random.seed(1337)
    model = nn.MLP(2, [8, 3])
    x0, x1, t = E.Value(0.0), E.Value(0.0), E.Value(0.0)
    loss = losses.cross_entropy(model([x0, x1]), t)
    rows = np.column_stack([X, y]).astype(np.float64)
    # the same step on today's scalar tape: the whole 1,000-point graph
    whole = E.compile(losses.cross_entropy([model(list(map(E.Value, r))) for r in X.tolist()], y.tolist()))
    tapes = {th: E.compile(loss, batch=[x0, x1, t], threads=th) for th in (1, 2)}
    tapes["scalar"] = whole
    return rows, tapes, loss, (x0, x1, t)


def moons_tapes(n):
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    x = [E.Value(0.0), E.Value(0.0)]
    out = model(x)
    g = np.linspace(-2, 3, int(n ** 0.5))
    mesh = np.array([[a, b] for a in g for b in g])
    return mesh, {th: E.compile(out, batch=x, threads=th) for th in (1, 2)}, out


def gpt_tapes():
    """examples/gpt.py's model over a 6-letter name (7 positions), its tokens
    the inputs: the batched tape at batch 16 and 1, and the scalar tape."""
    import importlib.util
    import os

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "gpt.py")
    spec = importlib.util.spec_from_file_location("gpt_example", path)
    gpt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpt)
    vocab = 27
    model = gpt.GPT(vocab)
    tokens = [E.Value(0.0) for _ in range(8)]
    loss = model.loss(tokens)
    rng = np.random.default_rng(0)
    docs = rng.integers(0, vocab, size=(16, 8)).astype(np.float64)
    for v, t in zip(tokens, docs[0]):
        v.data = float(t)
    return docs, loss, tokens


def timed(fn, repeat):
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main(rounds):
    rows, yy, loss, ins = yinyang_tapes()
    mesh, mm, out = moons_tapes(10_000)
    scalar = E.compile(loss)
    one = rows[:1]
    one_batch = E.compile(loss, batch=list(ins), threads=1)
    for v, x in zip(ins, one[0]):
        v.data = float(x)

    docs, gloss, tokens = gpt_tapes()
    g16 = E.compile(gloss, batch=tokens, threads=1)
    g1 = E.compile(gloss, batch=tokens, threads=1)
    gscalar = E.compile(gloss)

    def step(tape):
        return lambda: (tape.forward(rows), tape.backward())

    runs = {
        "yin-yang fwd+bwd 1000 pts, 1 thread (us)": (step(yy[1]), 20, 1e6),
        "yin-yang fwd+bwd 1000 pts, 2 threads (us)": (step(yy[2]), 20, 1e6),
        "yin-yang fwd+bwd, scalar tape of 1000 pts (us)": (
            lambda: (yy["scalar"].forward(), yy["scalar"].backward()), 5, 1e6),
        "yin-yang forward only, 1 thread (us)": (lambda: yy[1].forward(rows), 20, 1e6),
        "mesh 10k pts evaluate, 1 thread (ns/pt)": (lambda: mm[1].evaluate(mesh, [out]), 5, 1e9 / len(mesh)),
        "mesh 10k pts evaluate, 2 threads (ns/pt)": (lambda: mm[2].evaluate(mesh, [out]), 5, 1e9 / len(mesh)),
        "GPT batch 16 fwd+bwd, 1 thread (us per name)": (
            lambda: (g16.forward(docs), g16.backward()), 3, 1e6 / 16),
        "GPT batch 1 fwd+bwd (us)": (lambda: (g1.forward(docs[:1]), g1.backward()), 5, 1e6),
        "GPT scalar tape fwd+bwd (us)": (lambda: (gscalar.forward(), gscalar.backward()), 5, 1e6),
        "batch of 1 row fwd+bwd (us)": (lambda: (one_batch.forward(one), one_batch.backward()), 200, 1e6),
        "scalar tape fwd+bwd, same row (us)": (lambda: (scalar.forward(), scalar.backward()), 200, 1e6),
    }
    samples = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (fn, repeat, scale) in runs.items():  # interleaved
            samples[name].append(timed(fn, repeat) * scale)
    for name, s in samples.items():
        print(f"{name:45s} median {statistics.median(s):9.2f}  min {min(s):9.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
