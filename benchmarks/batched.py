"""Our engine doing the batched and second-order workloads' tasks: a graph
written for one example, compiled with batch=its inputs and replayed over the
batch (compile(root, batch=inputs, threads=n)); Hessian-vector products and
Hessians through micrograd_fast.grad(..., create_graph=True); the PINN's
loss, derivatives included, as one scalar tape.

Each maker returns a zero-argument step (the mesh maker: a run returning
seconds per point), or None when the compiled engine is not here (or is one
without batched tapes or grad, an older build).
"""

import os
import random
import time

import micrograd_fast
from micrograd_fast import losses, nn, optim

import adapters
import fixtures
from adapters import compiled, live


def batched_available():
    """The compiled engine, if it has batched tapes."""
    if compiled is None:
        return None
    try:
        x = compiled.Value(0.0)
        compiled.compile(x * 2.0, batch=[x], threads=1)
    except TypeError:  # a build from before batched tapes
        return None
    return compiled


def grad_available():
    return compiled if compiled is not None and hasattr(compiled, "grad") else None


def example(name):
    """examples/<name>.py, loaded from its file beside this folder."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"{name}_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- yin-yang: one point's loss, replayed over the 1,000 points -------------------------


def yinyang(X, y, threads):
    kernels = batched_available()
    if kernels is None:
        return None
    import numpy as np

    with live(kernels):
        random.seed(fixtures.SEED)
        model = nn.MLP(2, [8, 3])
    opt = optim.AdamW(model.parameters(), lr=1e-1, weight_decay=1e-4)
    point, target = [kernels.Value(0.0), kernels.Value(0.0)], kernels.Value(0.0)
    tape = kernels.compile(losses.cross_entropy(model(point), target), batch=point + [target], threads=threads)
    rows = np.column_stack([X, y]).astype(np.float64)

    def step():
        tape.forward(rows)
        opt.zero_grad()
        tape.backward("mean")
        opt.step()
    return step


# --- digits: examples/digits.py's classifier, one minibatch per step --------------------


def digits_data(batch=128, count=8):
    """count minibatches of the training split, as (X, y) arrays, or None
    without scikit-learn."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return None
    import numpy as np

    Xtr, ytr, _, _ = example("digits").load()
    order = np.random.default_rng(0).permutation(len(Xtr))
    return [(Xtr[order[i * batch:(i + 1) * batch]], ytr[order[i * batch:(i + 1) * batch]]) for i in range(count)]


def digits(batches, threads, lr=1e-2):
    if batched_available() is None or batches is None:
        return None
    with live(compiled):
        clf = example("digits").Classifier(threads=threads)
    opt = optim.Adam(clf.model.parameters(), lr=lr)
    rows = [clf.rows(X, y) for X, y in batches]
    turn = iter(range(10**12))

    def step():
        clf.tape.forward(rows[next(turn) % len(rows)])
        opt.zero_grad()
        clf.tape.backward("mean")
        opt.step()
    return step


# --- the GPT: examples/gpt.py's model, a batch of same-length names per step ------------


def gpt(batches, vocab_size, threads):
    """One Adam step over a batch of same-length names from the batched tape
    of that length (a TapeCache with batch=True, as examples/gpt.py --batch)."""
    if batched_available() is None:
        return None
    model, opt, _ = adapters.gpt_fused_model(vocab_size)

    def build(n):
        tokens = [compiled.Value(0.0) for _ in range(n + 1)]
        return model.loss(tokens), tokens
    tapes = micrograd_fast.TapeCache(build, batch=True, threads=threads)
    turn = iter(range(10**12))

    def step():
        batch = batches[next(turn) % len(batches)]
        tape = tapes[len(batch[0]) - 1].tape
        tape.forward(batch)
        tape.backward("mean")
        opt.step()
        opt.zero_grad()
    return step


# --- a decision-boundary mesh through the moons MLP, seconds per point ------------------


def mesh(points, threads):
    if batched_available() is None:
        return None
    model = adapters.moons_model()
    inputs = [compiled.Value(0.0), compiled.Value(0.0)]
    out = model(inputs)
    tape = compiled.compile(out, batch=inputs, threads=threads)

    def run():
        start = time.perf_counter()
        tape.evaluate(points, [out])
        return (time.perf_counter() - start) / len(points)
    return run


# --- micrograd's demo loss, differentiated twice ----------------------------------------


def demo_loss(X, y):
    """The demo's loss on fused nodes over fixed inputs, and the 337 parameters."""
    model = adapters.moons_model()
    inputs = [[compiled.Value(a), compiled.Value(b)] for a, b in X]
    return fixtures.moons_loss(compiled, model, inputs, y), model.parameters()


def demo_build(X, y, derivative=False):
    """Seconds per node of building the demo loss's graph: the forward (the
    model over the 100 points, inputs made beforehand), or the derivative,
    grad(loss, params, create_graph=True) over it, per node of the
    derivative graph it builds (the nodes the forward lacks)."""
    if grad_available() is None:
        return None
    model = adapters.moons_model()
    params = model.parameters()
    inputs = [[compiled.Value(a), compiled.Value(b)] for a, b in X]
    loss = fixtures.moons_loss(compiled, model, inputs, y)
    forward = {id(v) for v in compiled.topo_order(loss)}
    grads = compiled.grad(loss, params, create_graph=True)
    made = {id(v) for g in grads for v in compiled.topo_order(g) if id(v) not in forward}
    nodes = len(made) if derivative else len(forward) - len(params) - 2 * len(X)
    del grads

    def run():
        start = time.perf_counter()
        if derivative:
            compiled.grad(loss, params, create_graph=True)
        else:
            fixtures.moons_loss(compiled, model, inputs, y)
        return (time.perf_counter() - start) / nodes
    return run


def demo_hvp(X, y, taped):
    """micrograd_fast.hvp on the loss graph (a derivative graph built per
    call), or taped: the graph of v . grad(loss) built once with
    create_graph=True and compiled; its backward leaves H v in the
    parameters' .grad."""
    if grad_available() is None:
        return None
    loss, params = demo_loss(X, y)
    vector = [1.0] * len(params)
    if not taped:
        return lambda: micrograd_fast.hvp(loss, params, vector)
    grads = compiled.grad(loss, params, create_graph=True)
    tape = compiled.compile(compiled.dot(grads, vector))

    def step():
        tape.forward()
        for p in params:
            p.grad = 0.0
        tape.backward()
        return [p.grad for p in params]
    return step


def demo_hessian(X, y):
    if grad_available() is None:
        return None
    loss, params = demo_loss(X, y)
    return lambda: micrograd_fast.hessian(loss, params)


# --- the PINN: examples/pinn.py's loss (u and its derivatives at the points), taped -----


def pinn(points, lr=1e-2, threads=None):
    """The whole loss as one scalar tape, or examples/pinn.py's BatchedLoss:
    the residual's graph for one x as a batched tape over the points beside
    a scalar tape of the initial conditions (the same loss), on `threads`."""
    if grad_available() is None or (threads and batched_available() is None):
        return None
    module = example("pinn")
    with live(compiled):
        net = module.Net()
        if threads:
            tape = module.BatchedLoss(net, list(points), threads)
        else:
            tape = compiled.compile(module.loss_graph(net, list(points)))
    opt = optim.Adam(net.parameters(), lr=lr)

    def step():
        tape.forward()
        opt.zero_grad()
        tape.backward()
        opt.step()
    return step
