"""The workloads: what is measured, at which size, on which engines, against
which baseline. Each is a function of the run's Settings returning table rows;
WORKLOADS lists them in the order of the table. To add one, write its
function and add it to WORKLOADS."""

import dataclasses
import gc
import time

import adapters
import fixtures
import memory
from harness import measure, timed_steps

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


def yinyang_large(s):
    X, y = adapters.yinyang(1250)
    steps = {"tape": adapters.yinyang_scalar(adapters.compiled, X, y, taped=True),
             "tensor": adapters.yinyang_tensor(X, y), "torch": adapters.yinyang_torch(X, y)}
    return measure("yin-yang step (1000 points, AdamW)", timed_steps(steps), s.repeats, "torch")


def mesh(s):
    import numpy as np

    xs = np.linspace(-2, 3, int(round((2_500 if s.quick else 10_000) ** 0.5)))
    points = np.array([[a, b] for a in xs for b in xs])
    runs = {"upstream": adapters.mesh_upstream(points), "tape": adapters.mesh_tape(points)}
    return measure("mesh evaluation (per point)", runs, s.repeats, BASELINE)


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
             yinyang_large, mesh, deep_chain, microgpt_step, gpt_step]
