"""The workloads: what is measured, at which size, on which engines, against
which baseline. Each is a function of the run's Settings returning table rows;
WORKLOADS lists them in the order of the table. To add one, write its
function and add it to WORKLOADS."""

import dataclasses
import gc
import time

import adapters
import batched
import fixtures
import memory
import peers_jax
import peers_torch
from harness import measure, timed, timed_steps

ENGINES = adapters.engines()  # name -> Value class: upstream, reference, compiled
# speed-ups are against upstream micrograd where it can run the workload
BASELINE = "upstream" if "upstream" in ENGINES else "reference"


@dataclasses.dataclass(frozen=True)
class Settings:
    quick: bool = False  # fewer repeats and smaller graphs

    @property
    def repeats(self):
        return 3 if self.quick else 9


# --- graphs of Values, any engine ----------------------------------------------------


def per_op_seconds(Value, expression, n, tries=3):
    """A run timing `expression` (over Values a = v = 1.5 and b = w = 2.5)
    n times in a loop, minus the same loop empty: seconds per op, with no
    function call per op. The loop is compiled from source so that each
    expression is timed inline, as a program writes it. Each loop is timed
    `tries` times, alternately, and the fastest of each kept: a busy neighbour
    on a shared machine that stalls one empty loop of a few milliseconds would
    otherwise make an op's time negative."""
    source = (f"def run(a, b, v, w, n, tries, clock):\n"
              f"    loop = range(n)\n"
              f"    busy = empty = float('inf')\n"
              f"    for _ in range(tries):\n"
              f"        start = clock()\n"
              f"        for _ in loop:\n"
              f"            {expression}\n"
              f"        middle = clock()\n"
              f"        for _ in loop:\n"
              f"            pass\n"
              f"        end = clock()\n"
              f"        busy, empty = min(busy, middle - start), min(empty, end - middle)\n"
              f"    return (busy - empty) / n\n")
    namespace = {}
    exec(compile(source, f"<per op: {expression}>", "exec"), namespace)
    loop, a, b = namespace["run"], Value(1.5), Value(2.5)
    return lambda: loop(a, b, a, b, n, tries, time.perf_counter)


def chain(Value, n):
    """y = y * c + d, n times: 2n nodes in a chain."""
    y, c, d = Value(1.0), Value(0.999999), Value(1e-6)
    for _ in range(n):
        y = y * c + d
    return y


def backward_per_node(Value, steps):
    root = chain(Value, steps)
    nodes = 2 * steps

    def run():
        start = time.perf_counter()
        try:
            root.backward()
        except RecursionError:
            return None
        return (time.perf_counter() - start) / nodes

    return run


def deep_chain_seconds(Value, depth):
    def run():
        start = time.perf_counter()
        x = Value(0.0)
        y = x
        for _ in range(depth):
            y = y * 1.0 + 1.0
        try:
            y.backward()
        except RecursionError:
            return None
        return time.perf_counter() - start
    return run


# --- the workloads ---------------------------------------------------------------------


CHAIN_STEPS = 500_000  # 10^6 nodes


# one operator each, as micrograd programs write them: Value with Value, and
# Value with a plain number on either side
OPS = ["a + b", "a * b", "v * 2.0", "2.0 * v", "0 + v", "v + 1", "v - 1.0", "1.0 - v",
       "v - w", "v / w", "v / 2.0", "2.0 / v", "v ** 2", "-v"]


def per_op(s):
    n = 100_000 if s.quick else 300_000
    rows = []
    for expression in OPS:
        gc.collect()
        runs = {name: per_op_seconds(V, expression, n if name == "compiled" else n // 10)
                for name, V in ENGINES.items()}
        rows += measure(f"{expression} (per op)", runs, s.repeats, BASELINE)
    return rows


def backward(s):
    # upstream's recursive sort cannot reach the bottom of a chain this deep
    runs = {name: backward_per_node(V, CHAIN_STEPS if name == "compiled" else CHAIN_STEPS // 10)
            for name, V in ENGINES.items()}
    return measure("backward, 10^6-node chain (per node)", runs, s.repeats, "reference")


def memory_per_node(s):
    rows = []
    for name in ENGINES:
        per_node = memory.per_node(name, CHAIN_STEPS if name == "compiled" else CHAIN_STEPS // 5)
        rows.append({"workload": "memory per node (RSS)", "engine": name, "unit": "bytes",
                     "median_s": per_node, "min_s": per_node, "max_s": per_node, "ratio": None})
    return rows


def moons_step(s):
    X, y = fixtures.moons()
    steps = {name: adapters.moons_demo(V, X, y) for name, V in ENGINES.items()}
    steps.update(nn=adapters.moons_nn(X, y), tape=adapters.moons_tape(X, y),
                 tensor=adapters.moons_tensor(X, y), torch=adapters.moons_torch(X, y))
    return measure("moons demo step (100 points)", timed_steps(steps), s.repeats, BASELINE)


def yinyang_step(s):
    X, y = adapters.yinyang(100)
    steps = {"reference": adapters.yinyang_scalar(adapters.reference, X, y),
             "nn": adapters.yinyang_scalar(adapters.compiled, X, y),
             "tape": adapters.yinyang_scalar(adapters.compiled, X, y, taped=True),
             "tensor": adapters.yinyang_tensor(X, y), "torch": adapters.yinyang_torch(X, y)}
    return measure("yin-yang step (80 points, AdamW)", timed_steps(steps), s.repeats, "reference")


def yinyang_taped(s):
    """The same taped step on both engines: what compile() buys on each."""
    X, y = adapters.yinyang(100)
    steps = {"reference": adapters.yinyang_scalar(adapters.reference, X, y, taped=True),
             "tape": adapters.yinyang_scalar(adapters.compiled, X, y, taped=True)}
    return measure("yin-yang step, taped on both", timed_steps(steps), s.repeats, "reference")


THREADS = peers_torch.all_threads()  # the "all threads" rows; none when there is one core


def threaded(name, make):
    """{name: make(1)}, and {f"{name} {THREADS}": make(THREADS)} beside it
    when there is more than one core: a row per thread count."""
    steps = {name: make(1)}
    if THREADS > 1:
        steps[f"{name} {THREADS}"] = make(THREADS)
    return steps


def torch_on(runs):
    """The runs named "torch N" get torch's pool widened to N threads for
    their own duration (peers_torch.on_threads); the others stay on one."""
    return {name: peers_torch.on_threads(run, int(name.split()[1])) if name.startswith("torch ") else run
            for name, run in runs.items()}


def per(runs, count):
    """Each run's seconds divided by count (per name of a batch of count)."""
    def divided(run):
        def run_per():
            t = run()
            return None if t is None else t / count
        return run_per
    return {name: None if run is None else divided(run) for name, run in runs.items()}


def yinyang_large(s):
    """1,000 points: the scalar tape, the batched tape of one point's loss on
    one thread and on all, the tensor engine, PyTorch on one and all, JAX."""
    X, y = adapters.yinyang(1250)
    steps = {"tape": adapters.yinyang_scalar(adapters.compiled, X, y, taped=True)}
    steps.update(threaded("batched", lambda n: batched.yinyang(X, y, n)))
    steps["tensor"] = adapters.yinyang_tensor(X, y)
    steps.update(threaded("torch", lambda n: adapters.yinyang_torch(X, y)))
    steps["jax"] = peers_jax.yinyang(X, y)
    return measure("yin-yang step (1000 points, AdamW)", torch_on(timed_steps(steps)), s.repeats, "torch")


def digits_step(s):
    """scikit-learn's digits, MLP 64-32-10, one Adam step on a minibatch of
    128 (no rows without scikit-learn: bench.py says how to add it)."""
    batches = batched.digits_data(128)
    if batches is None:
        return []
    steps = threaded("batched", lambda n: batched.digits(batches, n))
    steps.update(threaded("torch", lambda n: peers_torch.digits(batches)))
    return measure("digits step (128 images, Adam)", torch_on(timed_steps(steps)), s.repeats, "torch")


def gpt_batch_step(s):
    """examples/gpt.py's model, per name: one name per step on the scalar
    tape (the baseline) and on the batched tape, and 16 same-length names
    per step on the batched tape and in PyTorch batched."""
    if adapters.compiled is None:
        return []
    docs, vocab_size = adapters.gpt_documents(count=64)
    groups = [docs[i:i + 16] for i in range(0, len(docs) - 15, 16)]
    _, _, weights = adapters.gpt_fused_model(vocab_size)
    # today's scalar tape, and the batched tape fed one name a step (its fast path for one example)
    runs = timed_steps({"tape": adapters.gpt_fused(docs, vocab_size, taped=True),
                        "batch of 1": batched.gpt([[doc] for doc in docs], vocab_size, 1)})
    batch_steps = threaded("batched", lambda n: batched.gpt(groups, vocab_size, n))
    batch_steps.update(threaded("torch", lambda n: peers_torch.gpt_batch(groups, weights)))
    runs.update(per(torch_on(timed_steps(batch_steps)), 16))
    return measure("GPT step per name (16 6-letter names)", runs, s.repeats, "tape")


def back_to_back(run, budget=0.005):
    """A run of seconds per point, repeated back to back for about `budget`
    seconds: the mean, as mesh after mesh (a plot redrawn, a sweep) sees it.
    One call alone, after the other engines', would time waking a thread
    pool and refilling the caches."""
    if run is None:
        return None

    def repeated():
        total, calls, start = 0.0, 0, time.perf_counter()
        while calls == 0 or time.perf_counter() - start < budget:
            total += run()
            calls += 1
        return total / calls
    return repeated


def mesh(s):
    import numpy as np

    xs = np.linspace(-2, 3, int(round((2_500 if s.quick else 10_000) ** 0.5)))
    points = np.array([[a, b] for a in xs for b in xs])
    runs = {"upstream": adapters.mesh_upstream(points), "tape": adapters.mesh_tape(points)}
    runs.update(threaded("batched", lambda n: batched.mesh(points, n)))
    runs.update(threaded("torch", lambda n: peers_torch.mesh(points)))
    runs["jax"] = peers_jax.mesh(points)
    runs = torch_on({name: back_to_back(run) for name, run in runs.items()})
    return measure("mesh evaluation (per point)", runs, s.repeats, BASELINE)


def demo_hvp(s):
    """micrograd's demo loss (hinge + L2, 100 moons points): H v over its 337
    parameters. Ours: mf.hvp, and the graph of v . grad taped; torch:
    autograd.grad twice; jax: jit(jvp(grad))."""
    X, y = fixtures.moons()
    steps = {"hvp": batched.demo_hvp(X, y, taped=False), "hvp tape": batched.demo_hvp(X, y, taped=True),
             "torch": peers_torch.demo_hvp(X, y), "jax": peers_jax.demo_hvp(X, y)}
    return measure("demo loss Hessian-vector product", timed_steps(steps), s.repeats, "torch")


def derivative_build(s):
    """Building a derivative graph against building the forward graph, per
    node, on the demo loss: grad(loss, params, create_graph=True)."""
    X, y = fixtures.moons()
    runs = {"forward": batched.demo_build(X, y), "create_graph": batched.demo_build(X, y, True)}
    return measure("demo loss graph build (per node)", runs, s.repeats, "forward")


def demo_hessian(s):
    """The same loss's full 337 x 337 Hessian: mf.hessian, torch.func.hessian,
    jit(jax.hessian). One call per run: each takes milliseconds."""
    X, y = fixtures.moons()
    steps = {"hessian": batched.demo_hessian(X, y), "torch": peers_torch.demo_hessian(X, y),
             "jax": peers_jax.demo_hessian(X, y)}
    runs = {name: None if step is None else timed(step, budget=0.0) for name, step in steps.items()}
    return measure("demo loss full Hessian (337 x 337)", runs, max(3, s.repeats // 2), "torch")


def pinn_step(s):
    """examples/pinn.py: u'' = -u at 32 points, MLP 1-16-16-1 tanh, Adam:
    our tape of the loss (u'' built by mf.grad), the residual batched over
    the points, and PyTorch eager."""
    import numpy as np

    points = batched.example("pinn").collocation(32)
    steps = {"tape": batched.pinn(points)}
    steps.update(threaded("batched", lambda n: batched.pinn(points, threads=n)))
    steps["torch"] = peers_torch.pinn(np.array(points))
    return measure("PINN step (32 points, Adam)", timed_steps(steps), s.repeats, "torch")


def deep_chain(s):
    depth = 100_000
    runs = {name: deep_chain_seconds(V, depth if name != "reference" or not s.quick else depth // 10)
            for name, V in ENGINES.items()}
    return measure("10^5-deep chain: build + backward", runs, max(2, s.repeats // 3), "reference")


def microgpt_step(s):
    """microgpt's program as written, on microgpt's own kind of pure-Python
    Value (slotted) and on ours: what one changed import buys."""
    docs, vocab_size = adapters.gpt_documents()
    weights = fixtures.gpt_weights(vocab_size)
    steps = {"slotted": adapters.gpt_written_out(fixtures.SlottedValue, docs, weights),
             "reference": adapters.gpt_written_out(adapters.reference.Value, docs, weights)}
    if adapters.compiled is not None:
        steps["compiled"] = adapters.gpt_written_out(adapters.compiled.Value, docs, weights)
    return measure("microgpt step, written out (6-letter name)", timed_steps(steps), s.repeats, "slotted")


def gpt_step(s):
    """The same GPT five ways: written out with plain Value ops on the
    reference engine (the baseline) and on ours (the drop-in), on the fused
    ops built eagerly and replayed from a tape, and in PyTorch."""
    if adapters.compiled is None:
        return []
    docs, vocab_size = adapters.gpt_documents()
    _, _, weights = adapters.gpt_fused_model(vocab_size)
    steps = {"reference": adapters.gpt_written_out(adapters.reference.Value, docs, weights),
             "compiled": adapters.gpt_written_out(adapters.compiled.Value, docs, weights),
             "fused": adapters.gpt_fused(docs, vocab_size, taped=False),
             "tape": adapters.gpt_fused(docs, vocab_size, taped=True),
             "torch": adapters.gpt_torch(docs, weights)}
    return measure("GPT step (6-letter name, Adam)", timed_steps(steps), s.repeats, "reference")


WORKLOADS = [per_op, backward, memory_per_node, moons_step, yinyang_step, yinyang_taped,
             yinyang_large, digits_step, mesh, deep_chain, microgpt_step, gpt_step, gpt_batch_step,
             derivative_build, demo_hvp, demo_hessian, pinn_step]
