"""The threaded replays tools/tsan_batch.sh runs under ThreadSanitizer: a
classifier and a graph of every op, forward, backward and evaluate on 4
threads (more than the chunks of a small batch, fewer than a large one's),
checked against 1 thread."""

import random
import threading

import numpy as np

from micrograd_fast import engine, losses, nn

engine.use("compiled")
E = engine.load("compiled")  # the compiled engine module (only the facade imports it)
random.seed(1337)
model = nn.MLP(2, [8, 3])
ins = [E.Value(0.0), E.Value(0.0), E.Value(0.0)]
loss = losses.cross_entropy(model(ins[:2]), ins[2])
rng = np.random.default_rng(0)
for B in (3, 200, 1000):
    X = np.column_stack([rng.normal(size=B), rng.normal(size=B), rng.integers(0, 3, B)]).astype(float)
    results = []
    for threads in (1, 4):
        for p in model.parameters():
            p.grad = 0.0
        tape = E.compile(loss, batch=ins, threads=threads)
        for _ in range(3):
            out = tape.forward(X)
            tape.backward()
            ev = tape.evaluate(X, [loss])
        results.append((out.tobytes(), ev.tobytes(), [p.grad for p in model.parameters()]))
        bad = X.copy()
        bad[-1, 2] = 7.0  # a target out of range in the last row
        try:
            tape.forward(bad)
        except IndexError:
            pass
        else:
            raise SystemExit("no IndexError")
        del tape  # joins its threads
    assert results[0] == results[1], B
print("tsan_replay: threaded replays equal one thread's")

# several Python threads replaying at once (the pool is shared: one gets it)

X = np.column_stack([rng.normal(size=700), rng.normal(size=700), rng.integers(0, 3, 700)]).astype(float)
tapes = [E.compile(loss, batch=ins, threads=3) for _ in range(3)]
expected = tapes[0].evaluate(X, [loss]).tobytes()
got = []
runners = [threading.Thread(target=lambda t=t: got.append(t.evaluate(X, [loss]).tobytes())) for t in tapes]
for r in runners:
    r.start()
for r in runners:
    r.join()
assert got == [expected] * 3
print("tsan_replay: concurrent Python threads too")
