"""Side-by-side benchmark of the engines, in one process.

    pip install ".[bench]"
    python benchmarks/bench.py [--quick] [--json PATH]

Each workload runs on each engine interleaved (A B A B ...) after a warm-up,
under Python's default GC, and the table gives the median, the min-max and the
ratio to upstream micrograd (or to the reference where upstream cannot run the
workload). Compare ratios from one run, never absolute times across runs.
"""

import argparse
import gc
import importlib
import inspect
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

from micrograd_fast import reference

try:
    from micrograd_fast import _engine as compiled
except ImportError:  # pragma: no cover
    compiled = None

try:
    import micrograd.engine as upstream_engine
    import micrograd.nn as upstream_nn
except ImportError:  # pragma: no cover
    upstream_engine = upstream_nn = None


# --- engines -------------------------------------------------------------------


def micrograd_nn_over(Value):
    """micrograd's own nn.py with only `Value` swapped: the drop-in promise."""
    source = inspect.getsource(upstream_nn).replace("from micrograd.engine import Value\n", "")
    namespace = {"Value": Value, "__name__": f"micrograd_nn_over_{Value.__module__}"}
    exec(compile(source, "micrograd/nn.py", "exec"), namespace)
    return namespace


def engines():
    """name -> Value class, for the engines present."""
    found = {}
    if upstream_engine is not None:
        found["upstream"] = upstream_engine.Value
    found["reference"] = reference.Value
    if compiled is not None:
        found["compiled"] = compiled.Value
    return found


# --- timing -----------------------------------------------------------------------


def interleaved(runs, repeats, warmup=1):
    """runs: name -> zero-argument callable returning seconds (or None when it
    cannot run). Calls them A B A B ... and returns name -> list of seconds."""
    times = {name: [] for name in runs}
    for i in range(warmup + repeats):
        for name, run in runs.items():
            if times[name] is None:
                continue
            t = run()
            if t is None:
                times[name] = None
            elif i >= warmup:
                times[name].append(t)
    return times


def per_op_seconds(Value, op, n):
    a, b = Value(1.5), Value(2.5)

    def run():
        loop = range(n)
        start = time.perf_counter()
        if op == "add":
            for _ in loop:
                a + b
        else:
            for _ in loop:
                a * b
        busy = time.perf_counter() - start
        start = time.perf_counter()
        for _ in loop:
            pass
        empty = time.perf_counter() - start
        return (busy - empty) / n

    return run


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


def memory_per_node(engine, steps):
    """RSS growth per node while building a chain, in a fresh interpreter so
    that no engine inherits another's freed memory."""
    code = (
        "import gc, sys; sys.path[:0] = {path!r}\n"
        "from benchmarks.bench import engines, chain, rss_bytes\n"
        "V = engines()[{engine!r}]; gc.collect(); chain(V, 10)\n"
        "before = rss_bytes(); root = chain(V, {steps}); after = rss_bytes()\n"
        "print((after - before) / (2 * {steps}))\n"
    ).format(path=sys.path[:1] + [ROOT], engine=engine, steps=steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# --- micrograd's demo: moons, MLP(2, [16, 16, 1]), SVM loss + L2, SGD ----------------


def moons(n=100, noise=0.1, seed=0):
    from micrograd_fast.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=noise, seed=seed)
    return X.tolist(), [2 * int(t) - 1 for t in y]  # labels in {-1, +1}, as the demo


def demo_step(nn, X, y, k=0):
    """One step of micrograd's demo.ipynb, written as the notebook writes it."""
    model = nn["_model"]
    inputs = [list(map(nn["Value"], xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    total_loss = data_loss + reg_loss
    model.zero_grad()
    total_loss.backward()
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad
    return total_loss.data


def demo_step_runner(Value, X, y):
    nn = micrograd_nn_over(Value)
    random.seed(1337)
    nn["_model"] = nn["MLP"](2, [16, 16, 1])

    def run():
        start = time.perf_counter()
        demo_step(nn, X, y)
        return time.perf_counter() - start

    return run


# --- report -------------------------------------------------------------------------


def summarise(workload, unit, times, baseline):
    rows = []
    base = statistics.median(times[baseline]) if times.get(baseline) else None
    for engine, ts in times.items():
        if ts is None:
            rows.append({"workload": workload, "engine": engine, "unit": unit, "median_s": None,
                         "min_s": None, "max_s": None, "ratio": None, "note": "cannot run"})
            continue
        med = statistics.median(ts)
        rows.append({"workload": workload, "engine": engine, "unit": unit, "median_s": med,
                     "min_s": min(ts), "max_s": max(ts),
                     "ratio": (base / med) if base else None, "baseline": baseline})
    return rows


def fmt_seconds(s):
    if s is None:
        return "-"
    for scale, name in ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1.0, "s")):
        if s < scale * 1000:
            return f"{s / scale:.1f} {name}"
    return f"{s:.1f} s"


def print_table(rows):
    print(f"{'workload':<34} {'engine':<10} {'median':>11} {'min-max':>23} {'speed-up':>10}")
    for r in rows:
        if r["median_s"] is None and r.get("note"):
            print(f"{r['workload']:<34} {r['engine']:<10} {r['note']:>11}")
            continue
        if r["unit"] == "bytes":
            print(f"{r['workload']:<34} {r['engine']:<10} {r['median_s']:>9.0f} B")
            continue
        span = f"{fmt_seconds(r['min_s'])} - {fmt_seconds(r['max_s'])}"
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] else ""
        print(f"{r['workload']:<34} {r['engine']:<10} {fmt_seconds(r['median_s']):>11} {span:>23} {ratio:>10}")


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller graphs")
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    args = parser.parse_args(argv)

    found = engines()
    repeats = 3 if args.quick else 7
    baseline = "upstream" if "upstream" in found else "reference"
    rows = []

    op_n = 100_000 if args.quick else 300_000
    for op in ("add", "mul"):
        runs = {name: per_op_seconds(V, op, op_n if name == "compiled" else op_n // 10)
                for name, V in found.items()}
        rows += summarise(f"a {'+' if op == 'add' else '*'} b (per op)", "s", interleaved(runs, repeats), baseline)

    steps = 500_000  # 10^6 nodes; upstream's recursive sort cannot reach the bottom
    runs = {name: backward_per_node(V, steps if name == "compiled" else steps // 10)
            for name, V in found.items()}
    rows += summarise("backward, 10^6-node chain (per node)", "s", interleaved(runs, repeats),
                      "reference")

    for name in found:
        per_node = memory_per_node(name, steps if name == "compiled" else steps // 5)
        rows.append({"workload": "memory per node (RSS)", "engine": name, "unit": "bytes",
                     "median_s": per_node, "min_s": per_node, "max_s": per_node, "ratio": None})

    if upstream_nn is not None:
        X, y = moons()
        runs = {name: demo_step_runner(V, X, y) for name, V in found.items()}
        rows += summarise("micrograd demo step (its own nn)", "s", interleaved(runs, repeats), baseline)

    print_table(rows)
    if args.json:
        machine = {"python": sys.version.split()[0], "platform": platform.platform(),
                   "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "results": rows}, f, indent=1)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
