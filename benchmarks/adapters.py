"""The engines and frameworks side by side: one training step (or one
evaluation) of a task, written the way each of them is used.

    upstream    micrograd 0.1.0's engine and its own nn.py
    reference   our pure-Python engine under micrograd's own nn.py
    compiled    our compiled engine under micrograd's own nn.py (the drop-in)
    nn          micrograd_fast.nn on the compiled engine (fused dot/sum nodes)
    tape        the same graph compiled once to a tape and replayed
    tensor      micrograd_fast.tensor (numpy arrays)
    torch       PyTorch, float64, one thread ("torch N": on all N cores)
    batched     the graph of one example replayed over the batch (batched.py)
    jax         JAX jit, float64 (peers_jax.py)

Each maker returns a zero-argument step (the mesh makers: a run returning
seconds per point), or None when its engine or framework is not installed
here; the harness then leaves that row out. Engines are reached only through
the facade, micrograd_fast.engine.
"""

import contextlib
import functools
import importlib.metadata
import importlib.util
import os
import random
import time

import micrograd_fast
from micrograd_fast import engine as facade
from micrograd_fast import optim

import fixtures

reference = facade.load("pure")
compiled = facade.available().get("compiled")

try:
    import micrograd.engine as upstream_engine
except ImportError:  # pragma: no cover
    upstream_engine = None


def engines():
    """name -> Value class, for the engines present."""
    found = {}
    if upstream_engine is not None:
        found["upstream"] = upstream_engine.Value
    found["reference"] = reference.Value
    if compiled is not None:
        found["compiled"] = compiled.Value
    return found


def measured():
    """Which micrograd_fast this process measures: the installed copy it
    imported (its file) and its live engine."""
    return {"file": micrograd_fast.__file__, "version": micrograd_fast.__version__,
            "backend": micrograd_fast.BACKEND}


def not_compiled_warning():
    """A line saying why the compiled engine is not live, or None if it is."""
    if micrograd_fast.BACKEND == "compiled":
        return None
    if compiled is None:
        try:
            facade.load("compiled")
        except ImportError as exc:
            why = str(exc)
        return (f"WARNING: the compiled engine is not live, so these numbers are for the pure-Python "
                f"reference (no compiled, nn or tape rows): {why}. The RuntimeWarning on stderr says why "
                f"and what to do.")
    pure = os.environ.get("MICROGRAD_FAST_PURE")
    return (f"WARNING: the live engine is the pure-Python reference (MICROGRAD_FAST_PURE={pure}); "
            f"the compiled, nn and tape rows load the compiled engine explicitly.")


@contextlib.contextmanager
def live(kernels):
    """Makes the engine module `kernels` the live one for the block: models
    built inside take their parameters from it."""
    previous = facade.use(kernels.BACKEND)
    try:
        yield kernels
    finally:
        facade.use(previous)


# What gets rows only when installed: module -> (the rows it brings, how to
# install it). torch's version is the one the README measured, pinned by
# micrograd_fast's "torch" extra (pyproject.toml); jax is in no extra (CI
# installs none of it); scikit-learn's digits are in the bench extra.
PEERS = {"torch": ("torch", lambda: pinned("torch")),
         "jax": ("jax", lambda: "jax jaxlib"),
         "sklearn": ("digits", lambda: "scikit-learn")}


def missing_peers():
    """One line per peer not installed here (its rows are left out of the
    table), saying how to add it."""
    return [f"{module} is not installed, so the table has no {rows} rows: pip install {install()}"
            for module, (rows, install) in PEERS.items() if importlib.util.find_spec(module) is None]


def pinned(extra):
    """The requirement micrograd_fast's `extra` names ("torch==2.13.0"), read
    from the installed metadata so that the version is written once."""
    try:
        requirements = importlib.metadata.requires("micrograd_fast") or []
    except importlib.metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        name, _, marker = requirement.partition(";")
        if marker.replace(" ", "").replace("'", '"') == f'extra=="{extra}"':
            return name.strip()
    return extra


def torch_or_none():
    """torch pinned to one thread, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def torch_mlp(torch, nouts):
    layers, sizes = [], [2] + nouts
    for i in range(len(nouts)):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1], dtype=torch.float64))
        if i != len(nouts) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


# --- micrograd's demo: moons, MLP(2, [16, 16, 1]), SVM loss + L2, SGD ----------------


def moons_model():
    """micrograd_fast.nn's MLP(2, [16, 16, 1]) on the compiled engine, with
    the demo's seeded weights."""
    with live(compiled):
        return fixtures.moons_model()


def as_arrays(X, y):
    """fixtures.moons()'s lists as float64 arrays, for tensor and torch."""
    import numpy as np

    return np.array(X, dtype=float), np.array(y, dtype=float)


def moons_demo(Value, X, y):
    """micrograd's demo step, its own nn.py over Value."""
    model = fixtures.micrograd_model(Value)
    return lambda: fixtures.demo_step(Value, model, X, y)


def moons_nn(X, y):
    """The demo's step on micrograd_fast.nn and optim, building the graph."""
    if compiled is None:
        return None
    from micrograd_fast import optim

    model = moons_model()
    sgd = optim.SGD(model.parameters(), lr=1.0)

    def step():
        loss = fixtures.moons_loss(compiled, model, [list(map(compiled.Value, row)) for row in X], y)
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    return step


def moons_tape(X, y):
    """The same step replaying a tape of its graph."""
    if compiled is None:
        return None
    from micrograd_fast import optim

    model = moons_model()
    inputs = [[compiled.Value(0.0), compiled.Value(0.0)] for _ in X]
    compiled.assign(inputs, X)
    tape = compiled.compile(fixtures.moons_loss(compiled, model, inputs, y))
    sgd = optim.SGD(model.parameters(), lr=1.0)

    def step():
        tape.forward()
        sgd.zero_grad()
        tape.backward()
        sgd.step()
    return step


def moons_tensor(X, y):
    from micrograd_fast.tensor import Tensor
    from micrograd_fast.tensor import nn as tnn

    X, y = as_arrays(X, y)
    random.seed(fixtures.SEED)
    model = tnn.MLP(2, [16, 16, 1])
    tX, ty = Tensor(X, requires_grad=False), Tensor(y, requires_grad=False)

    def step():
        scores = model(tX).reshape((len(y),))
        loss = (1.0 - ty * scores).relu().mean()
        loss = loss + 1e-4 * sum(((p * p).sum() for p in model.parameters()), Tensor(0.0))
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 1.0 * p.grad
    return step


def moons_torch(X, y):
    torch = torch_or_none()
    if torch is None:
        return None
    X, y = as_arrays(X, y)
    model = torch_mlp(torch, [16, 16, 1])
    sgd = torch.optim.SGD(model.parameters(), lr=1.0)
    tX, ty = torch.tensor(X), torch.tensor(y)

    def step():
        scores = model(tX).squeeze(1)
        loss = torch.relu(1 - ty * scores).mean() + 1e-4 * sum((p * p).sum() for p in model.parameters())
        sgd.zero_grad()
        loss.backward()
        sgd.step()
    return step


# --- yin-yang: MLP(2, [8, 3]), cross-entropy, AdamW ------------------------------------


def yinyang(n):
    """make_yinyang(n)'s training split (80% of n points), as arrays."""
    from micrograd_fast.datasets import make_yinyang

    (X, y), _, _ = make_yinyang(n, seed=0)
    return X, y


def yinyang_scalar(kernels, X, y, taped=False):
    """One AdamW step on the mean cross-entropy over the points, on the
    engine module `kernels` with micrograd_fast.nn: building the graph each
    step, or replaying a tape of it."""
    if kernels is None:
        return None
    from micrograd_fast import losses, nn, optim

    with live(kernels):
        random.seed(fixtures.SEED)
        model = nn.MLP(2, [8, 3])
    opt = optim.AdamW(model.parameters(), lr=1e-1, weight_decay=1e-4)
    Xl, yl = X.tolist(), y.tolist()
    if taped:
        inputs = [list(map(kernels.Value, row)) for row in Xl]
        tape = kernels.compile(losses.cross_entropy([model(row) for row in inputs], yl))

        def step():
            tape.forward()
            opt.zero_grad()
            tape.backward()
            opt.step()
        return step

    def step():
        logits = [model(list(map(kernels.Value, row))) for row in Xl]
        loss = losses.cross_entropy(logits, yl)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def yinyang_tensor(X, y):
    """Cross-entropy with AdamW's update written out over arrays."""
    import numpy as np
    from micrograd_fast.tensor import Tensor
    from micrograd_fast.tensor import nn as tnn

    random.seed(fixtures.SEED)
    model = tnn.MLP(2, [8, 3])
    tX = Tensor(X, requires_grad=False)
    onehot = Tensor(np.eye(3)[y], requires_grad=False)
    params = model.parameters()
    m = [np.zeros_like(p.data) for p in params]
    v = [np.zeros_like(p.data) for p in params]
    lr, b1, b2, eps, wd, step_count = 1e-1, 0.9, 0.95, 1e-8, 1e-4, [0]

    def step():
        loss = -(model(tX).log_softmax(axis=-1) * onehot).sum() / len(y)
        model.zero_grad()
        loss.backward()
        step_count[0] += 1
        t = step_count[0]
        for p, mi, vi in zip(params, m, v):
            p.data *= 1 - lr * wd
            mi += (1 - b1) * (p.grad - mi)
            vi *= b2
            vi += (1 - b2) * p.grad * p.grad
            p.data -= (lr / (1 - b1**t)) * mi / (np.sqrt(vi) / np.sqrt(1 - b2**t) + eps)
    return step


def yinyang_torch(X, y):
    torch = torch_or_none()
    if torch is None:
        return None
    model = torch_mlp(torch, [8, 3])
    opt = torch.optim.AdamW(model.parameters(), lr=1e-1, betas=(0.9, 0.95), weight_decay=1e-4)
    tX, ty = torch.tensor(X), torch.tensor(y)

    def step():
        loss = torch.nn.functional.cross_entropy(model(tX), ty)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


# --- a decision-boundary mesh through the moons MLP: runs give seconds per point ------


def mesh_upstream(mesh):
    """micrograd's MLP called point by point; it is slow, so a twentieth of
    the mesh is timed."""
    if upstream_engine is None:
        return None
    Value = upstream_engine.Value
    model = fixtures.micrograd_model(Value)
    few = mesh[: max(1, len(mesh) // 20)].tolist()

    def run():
        start = time.perf_counter()
        for row in few:
            model(list(map(Value, row)))
        return (time.perf_counter() - start) / len(few)
    return run


def mesh_tape(mesh):
    """A tape of the model's graph evaluated over every point in one call."""
    if compiled is None:
        return None
    model = moons_model()
    inputs = [compiled.Value(0.0), compiled.Value(0.0)]
    out = model(inputs)
    tape = compiled.compile(out)

    def run():
        start = time.perf_counter()
        tape.evaluate(inputs, mesh, [out])
        return (time.perf_counter() - start) / len(mesh)
    return run


# --- a microgpt-shaped GPT: one name per Adam step -------------------------------------


def gpt_documents(length=6, count=50):
    """Names of one length (so every step builds a graph of one size, and
    engines that run different numbers of steps per repeat time the same
    work) as token lists, and the vocabulary size."""
    try:
        names = gpt_example().load_names()  # the census names examples/gpt.py trains on
    except ImportError:  # the `names` package is not installed: a short list
        names = list(fixtures.NAMES)
    chars = fixtures.characters(names)
    same_length = [name for name in names if len(name) == length]
    random.Random(0).shuffle(same_length)
    return [fixtures.tokenize(name, chars) for name in same_length[:count]], len(chars) + 1


def cycling(step, docs):
    """A zero-argument step taking the documents in turn."""
    turn = iter(range(10**9))
    return lambda: step(docs[next(turn) % len(docs)])


def gpt_written_out(Value, docs, weights):
    """microgpt's step written out with plain Value ops, over Value."""
    return cycling(fixtures.WrittenOutGPT(Value, weights).step, docs)


@functools.lru_cache(maxsize=None)
def gpt_example():
    """examples/gpt.py, the model on the fused ops, loaded from its file
    beside this folder (the examples are not part of the package)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples", "gpt.py")
    spec = importlib.util.spec_from_file_location("gpt_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gpt_fused_model(vocab_size):
    """examples/gpt.py's GPT on the compiled engine, its Adam (microgpt's
    betas), and its weights as floats for the other implementations."""
    with live(compiled):
        model = gpt_example().GPT(vocab_size)
    weights = {name: [[p.data for p in row] for row in rows] for name, rows in model.state.items()}
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
    return model, opt, weights


def gpt_fused(docs, vocab_size, taped):
    """The fused model's step: the graph built eagerly, or replayed from a
    tape per document length (micrograd_fast.TapeCache)."""
    model, opt, _ = gpt_fused_model(vocab_size)

    def build(n):
        tokens = [compiled.Value(0.0) for _ in range(n + 1)]
        return model.loss(tokens), tokens
    tapes = micrograd_fast.TapeCache(build)

    def step(doc):
        if taped:
            graph = tapes[len(doc) - 1]
            micrograd_fast.assign(graph.inputs, doc)
            graph.tape.forward()
            graph.tape.backward()
        else:
            model.loss([compiled.Value(t) for t in doc]).backward()
        opt.step()
        opt.zero_grad()
    return cycling(step, docs)


def gpt_torch(docs, weights):
    torch = torch_or_none()
    return None if torch is None else cycling(fixtures.TorchGPT(weights).step, docs)
