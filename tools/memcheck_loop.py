"""A small training loop for valgrind (make valgrind): eager and taped steps,
micrograd's demo step, custom ops, no_grad, pickling, errors, a small GPT on
the fused ops from a tape per length, labels, attributes, weak references,
cycles through attributes, grad, hessian and hvp; every path that
allocates or frees. The model,
loss and step are the benchmark's (benchmarks/fixtures.py, loaded from its
file: benchmarks/ is not on sys.path), made small; the points are not its
moons, which need numpy, and importing numpy alone gives valgrind errors
inside numpy and ld.so."""

import gc
import importlib.util
import math
import os
import pickle
import random
import weakref

import micrograd_fast as mf
from micrograd_fast import engine, losses, nn, optim

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "benchmarks", "fixtures.py")
spec = importlib.util.spec_from_file_location("benchmark_fixtures", FIXTURES)
fixtures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fixtures)

random.seed(0)
X = [[random.uniform(-1, 1), random.uniform(-1, 1)] for _ in range(8)]
y = [1 if a * b > 0 else -1 for a, b in X]
model = fixtures.moons_model((4, 4, 1))
opt = optim.AdamW(model.parameters(), lr=0.05)

for _ in range(5):  # fused nodes: the one-call forward, hinge, dot
    loss = fixtures.moons_loss(engine, model, X, y)
    opt.zero_grad()
    loss.backward()
    opt.step()

inputs = [[mf.Value(a), mf.Value(b)] for a, b in X]
tape = mf.compile(fixtures.moons_loss(engine, model, inputs, y))
for _ in range(5):
    tape.forward()
    opt.zero_grad()
    tape.backward()
    opt.step()

for k in range(2):  # plain binary ops, as micrograd's notebook writes them
    fixtures.demo_step(mf.Value, model, X, y, k)

classifier = nn.MLP(2, [4, 3])  # one-call forward and batch cross-entropy
labels = [i % 3 for i in range(len(X))]
for _ in range(3):
    loss = losses.cross_entropy([classifier(list(map(mf.Value, row))) for row in X], labels)
    loss.backward()
classifier.layers[0].neurons.append(nn.Neuron(2))  # the plan steps aside: the layers raise
try:
    classifier(X[0])
except ValueError:
    pass


def sigmoid(v):
    s = 1 / (1 + math.exp(-v.data))
    out = mf.Value(s, (v,), "sigmoid")

    def _backward():
        v.grad += s * (1 - s) * out.grad
    out._backward = _backward
    return out


x = mf.Value(0.3)
x.label = "x"
(sigmoid(x) * x).backward()
with mf.no_grad():
    model([0.1, 0.2])
pickle.loads(pickle.dumps(model))
for bad in (lambda: mf.Value(0.0).log(), lambda: mf.Value(0.0) ** -1, lambda: mf.Value("a")):
    try:
        bad()
    except (ValueError, ZeroDivisionError, TypeError):
        pass
rng = random.Random(1)  # a small GPT's ops, eager and from a tape per document length
table = [[mf.Value(rng.gauss(0, 0.1)) for _ in range(4)] for _ in range(5)]
W = [[mf.Value(rng.gauss(0, 0.1)) for _ in range(4)] for _ in range(5)]


def gpt_like(tokens):
    losses_ = []
    for token, target in zip(tokens, tokens[1:]):
        x = mf.rmsnorm(mf.embedding(table, token))
        attention = mf.softmax([mf.dot(x, row) for row in W[:3]])
        logits = mf.linear([a * b for a, b in zip(x, attention + [attention[0]])], W)
        losses_.append(mf.cross_entropy(mf.log_softmax(logits), target))
    return mf.sum(losses_) * (1 / len(losses_))


def build(n):
    tokens = [mf.Value(0.0) for _ in range(n)]
    return gpt_like(tokens), tokens


tapes = mf.TapeCache(build, max_size=2)
gpt_opt = optim.Adam([p for rows in (table, W) for row in rows for p in row], lr=0.01)
for doc in ([0, 1, 2], [3, 4], [1, 2, 3, 4], [2, 0, 1], [4, 4, 4, 4]):
    graph = tapes[len(doc)]
    mf.assign(graph.inputs, doc)
    graph.tape.forward()
    graph.tape.backward()
    gpt_like([mf.Value(t) for t in doc]).backward()
    gpt_opt.step()
    gpt_opt.zero_grad()
mf.assign(tapes[2].inputs, [9, 0])
try:
    tapes[2].tape.forward()  # an index out of range on replay
except IndexError:
    pass
with mf.no_grad():
    mf.softmax(table[0])
v = mf.Value(1.0, label="v")  # attributes beside the node, weak references, cycles
v.out = [v * 2, (v + 1).exp()]
v.me = v
alive = weakref.ref(v)
del v
gc.collect()
assert alive() is None
labelled = [mf.Value(i, label=str(i)) for i in range(50)]
for a in labelled:
    del a.label
del labelled
deep = mf.Value(0.0)
for _ in range(20000):
    deep = deep + 1
deep.backward()
del deep
# derivatives: grad's numbers and graphs over every kind of node, a taped
# derivative, hessian's graphs, hvp's forward-over-reverse, and refusals
a, b, k = mf.Value(0.7), mf.Value(-0.4), mf.Value(1.0)
for _ in range(3):
    logits = [a * b, (a + 1.0).tanh(), b.exp(), (a * a + 1.0).log(), (b * b).sqrt()]
    scale = mf.rmsnorm(logits)
    f = (mf.cross_entropy(logits, k) + mf.dot(mf.softmax(logits), scale) + mf.log_softmax(logits)[0]
         + mf.embedding([[a, b], [b, a]], k)[1] * a.relu() + (a ** b).sigmoid() + b.abs() ** 2)
    numbers = mf.grad(f, [a, b])
    first = mf.grad(f, [a, b], create_graph=True)
    mf.grad(mf.sum(first), [a, b])
    mf.compile(first[0]).forward()
    mf.hessian(f, [a, b])
    mf.hvp(f, [a, b], [1.0, -2.0])
    mf.hvp(f, [logits[0], a], [0.5, 1.0])  # an interior input: hvp's graphs
m = mf.Value(0.5)
custom = mf.Value(m.data * 2, (m,), "double")
custom._backward = lambda: None
for second in (lambda: mf.grad(custom * 2, [m], create_graph=True), lambda: mf.hvp(custom * 2, [m], [1.0])):
    try:
        second()
    except TypeError:
        pass
print("memcheck loop done")
