"""Side-by-side benchmark of the engines, in one process.

    pip install ".[bench]"
    python benchmarks/bench.py [--quick] [--json PATH]

Each workload runs on each engine interleaved (A B A B ...) after a warm-up,
under Python's default GC, and the table gives the median, the min-max and the
ratio to upstream micrograd (or to the reference where upstream cannot run the
workload). Compare ratios from one run, never absolute times across runs.
"""

import os

# one thread everywhere: numpy's BLAS threads would otherwise spin beside the
# engine under test on a small machine, and torch is pinned to one below
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import inspect
import json  # noqa: E402
import platform
import random
import statistics
import subprocess
import sys
import time

from micrograd_fast import engine as facade

reference = facade.load("pure")
compiled = facade.available().get("compiled")

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


def moons(n=100):
    from micrograd_fast.datasets import make_moons

    X, y = make_moons(n_samples=n, noise=0.1, seed=0)
    return X, (2 * y - 1).astype(float)  # labels in {-1, +1}, as the demo


def demo_step(Value, model, X, y, k=0):
    """One step of micrograd's demo.ipynb, written as the notebook writes it."""
    inputs = [list(map(Value, xrow)) for xrow in X]
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


def timed(step, budget=0.005):
    """A run of `step` for interleaved(): seconds per step, over as many steps
    back to back as fill about `budget` seconds (the first, warm-up, run
    counts them). Back to back is how a training loop runs them; one step
    alone, just after another engine's, would time refilling the CPU caches."""
    count = 1

    def run():
        nonlocal count
        start = time.perf_counter()
        for _ in range(count):
            step()
        elapsed = time.perf_counter() - start
        per_step = elapsed / count
        if elapsed < budget:
            count = max(count, int(budget / max(per_step, 1e-9)))
        return per_step
    return run


def micrograd_model(Value, nouts):
    random.seed(1337)
    return micrograd_nn_over(Value)["MLP"](2, nouts)


def fast_model(nouts):
    from micrograd_fast import nn

    random.seed(1337)
    return nn.MLP(2, nouts)


def moons_fused_loss(mf, model, inputs, y):
    """The demo's loss on fused nodes: one sum node, one dot node for L2."""
    scores = [model(row) for row in inputs]
    data_loss = mf.sum([(1 + -yi * si).relu() for yi, si in zip(y, scores)]) * (1.0 / len(scores))
    params = model.parameters()
    return data_loss + 1e-4 * mf.dot(params, params)


def moons_runners(found, X, y):
    import micrograd_fast as mf
    from micrograd_fast import optim

    Xl, yl = X.tolist(), y.tolist()
    runs = {}
    for name, Value in found.items():
        model = micrograd_model(Value, [16, 16, 1])
        runs[name] = timed(lambda V=Value, m=model: demo_step(V, m, Xl, yl))
    if compiled is not None:
        model = fast_model([16, 16, 1])
        sgd = optim.SGD(model.parameters(), lr=1.0)

        def nn_step():
            loss = moons_fused_loss(mf, model, [list(map(mf.Value, row)) for row in Xl], yl)
            sgd.zero_grad()
            loss.backward()
            sgd.step()
        runs["nn"] = timed(nn_step)

        tape_model = fast_model([16, 16, 1])
        inputs = [[mf.Value(0.0), mf.Value(0.0)] for _ in Xl]
        mf.assign(inputs, X)
        tape = mf.compile(moons_fused_loss(mf, tape_model, inputs, yl))
        tape_sgd = optim.SGD(tape_model.parameters(), lr=1.0)

        def tape_step():
            tape.forward()
            tape_sgd.zero_grad()
            tape.backward()
            tape_sgd.step()
        runs["tape"] = timed(tape_step)
    runs["tensor"] = timed(tensor_moons_step(X, y))
    torch_step = torch_moons_step(X, y)
    if torch_step is not None:
        runs["torch"] = timed(torch_step)
    return runs


def tensor_moons_step(X, y):
    from micrograd_fast.tensor import Tensor
    from micrograd_fast.tensor import nn as tnn

    random.seed(1337)
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


def torch_mlp(torch, nouts):
    layers, sizes = [], [2] + nouts
    for i in range(len(nouts)):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1], dtype=torch.float64))
        if i != len(nouts) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def torch_moons_step(X, y):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
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


# --- yin-yang: MLP(2, [8, 3]), cross-entropy over 80 points, AdamW ---------------------


def yinyang_runners(found, n=100, eager=True):
    from micrograd_fast.datasets import make_yinyang

    (X, y), _, _ = make_yinyang(n, seed=0)
    Xl, yl = X.tolist(), y.tolist()
    runs = {}
    if eager:
        runs["reference"] = timed(yinyang_step(reference, Xl, yl))
    if compiled is not None and eager:
        runs["nn"] = timed(yinyang_step(compiled, Xl, yl))
    if compiled is not None:
        runs["tape"] = timed(yinyang_step(compiled, Xl, yl, taped=True))
    runs["tensor"] = timed(tensor_yinyang_step(X, y))
    try:
        import torch
    except ImportError:
        return runs
    torch.set_num_threads(1)
    tmodel = torch_mlp(torch, [8, 3])
    topt = torch.optim.AdamW(tmodel.parameters(), lr=1e-1, betas=(0.9, 0.95), weight_decay=1e-4)
    tX, ty = torch.tensor(X), torch.tensor(y)

    def torch_step():
        loss = torch.nn.functional.cross_entropy(tmodel(tX), ty)
        topt.zero_grad()
        loss.backward()
        topt.step()
    runs["torch"] = timed(torch_step)
    return runs


def yinyang_model(backend):
    """MLP(2, [8, 3]) from micrograd_fast.nn, its weights made by `backend`."""
    from micrograd_fast import nn

    previous = facade.use(backend.BACKEND)
    try:
        random.seed(1337)
        return nn.MLP(2, [8, 3])
    finally:
        facade.use(previous)


def yinyang_step(backend, Xl, yl, taped=False):
    """One AdamW step on the mean cross-entropy over the points, on `backend`:
    building the graph each step, or replaying a tape of it."""
    from micrograd_fast import losses, optim

    model = yinyang_model(backend)
    opt = optim.AdamW(model.parameters(), lr=1e-1, weight_decay=1e-4)
    if taped:
        inputs = [list(map(backend.Value, row)) for row in Xl]
        tape = backend.compile(losses.cross_entropy([model(row) for row in inputs], yl))

        def step():
            tape.forward()
            opt.zero_grad()
            tape.backward()
            opt.step()
        return step

    def step():
        logits = [model(list(map(backend.Value, row))) for row in Xl]
        loss = losses.cross_entropy(logits, yl)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def yinyang_tape_runners():
    """The same taped step on both engines: what compile() buys on each."""
    from micrograd_fast.datasets import make_yinyang

    (X, y), _, _ = make_yinyang(100, seed=0)
    Xl, yl = X.tolist(), y.tolist()
    runs = {"reference": timed(yinyang_step(reference, Xl, yl, taped=True))}
    if compiled is not None:
        runs["tape"] = timed(yinyang_step(compiled, Xl, yl, taped=True))
    return runs


def tensor_yinyang_step(X, y):
    """Cross-entropy with AdamW's update written out over arrays."""
    import numpy as np
    from micrograd_fast.tensor import Tensor
    from micrograd_fast.tensor import nn as tnn

    random.seed(1337)
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


# --- a decision-boundary mesh: 10^4 points through the moons MLP -------------------------


def mesh_runners(found, n_points):
    import numpy as np
    import micrograd_fast as mf

    xs = np.linspace(-2, 3, int(round(n_points ** 0.5)))
    mesh = np.array([[a, b] for a in xs for b in xs])
    runs = {}
    if "upstream" in found:
        model = micrograd_model(found["upstream"], [16, 16, 1])
        few = mesh[: max(1, len(mesh) // 20)].tolist()  # it is slow: time a slice, per point

        def upstream_mesh(model=model):
            start = time.perf_counter()
            for row in few:
                model(list(map(found["upstream"], row)))
            return (time.perf_counter() - start) / len(few)
        runs["upstream"] = upstream_mesh
    if compiled is not None:
        model = fast_model([16, 16, 1])
        inputs = [mf.Value(0.0), mf.Value(0.0)]
        out = model(inputs)
        tape = mf.compile(out)

        def tape_mesh():
            start = time.perf_counter()
            tape.evaluate(inputs, mesh, [out])
            return (time.perf_counter() - start) / len(mesh)
        runs["tape"] = tape_mesh
    return runs


def deep_chain_runner(Value, depth):
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


def progress(items, quiet):
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, disable=quiet, leave=False, file=sys.stderr)


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [r for r in rows if r.get("ratio")]
    labels = [f"{r['workload']}\n{r['engine']}" for r in shown]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(shown) + 1))
    ax.barh(range(len(shown)), [r["ratio"] for r in shown], color="tab:blue")
    ax.set_yticks(range(len(shown)), labels, fontsize=6)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("speed-up over the baseline (log)")
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller graphs (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG bar chart of the ratios")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    found = engines()
    repeats = 3 if args.quick else 9
    baseline = "upstream" if "upstream" in found else "reference"
    op_n = 100_000 if args.quick else 300_000
    steps = 500_000  # 10^6 nodes
    X, y = moons()

    def ops(op):
        runs = {name: per_op_seconds(V, op, op_n if name == "compiled" else op_n // 10)
                for name, V in found.items()}
        return summarise(f"a {'+' if op == 'add' else '*'} b (per op)", "s", interleaved(runs, repeats), baseline)

    def backward():
        # upstream's recursive sort cannot reach the bottom of a chain this deep
        runs = {name: backward_per_node(V, steps if name == "compiled" else steps // 10)
                for name, V in found.items()}
        return summarise("backward, 10^6-node chain (per node)", "s", interleaved(runs, repeats), "reference")

    def memory():
        rows = []
        for name in found:
            per_node = memory_per_node(name, steps if name == "compiled" else steps // 5)
            rows.append({"workload": "memory per node (RSS)", "engine": name, "unit": "bytes",
                         "median_s": per_node, "min_s": per_node, "max_s": per_node, "ratio": None})
        return rows

    def moons_step():
        return summarise("moons demo step (100 points)", "s", interleaved(moons_runners(found, X, y), repeats), baseline)

    def yinyang_step():
        return summarise("yin-yang step (80 points, AdamW)", "s",
                         interleaved(yinyang_runners(found), repeats), "reference")

    def yinyang_taped():
        return summarise("yin-yang step, taped on both", "s",
                         interleaved(yinyang_tape_runners(), repeats), "reference")

    def yinyang_large():
        return summarise("yin-yang step (1000 points, AdamW)", "s",
                         interleaved(yinyang_runners(found, n=1250, eager=False), repeats), "torch")

    def mesh():
        runs = mesh_runners(found, 2_500 if args.quick else 10_000)
        return summarise("mesh evaluation (per point)", "s", interleaved(runs, repeats), baseline)

    def deep():
        depth = 100_000
        runs = {name: deep_chain_runner(V, depth if name != "reference" or not args.quick else depth // 10)
                for name, V in found.items()}
        rows = summarise("10^5-deep chain: build + backward", "s", interleaved(runs, max(2, repeats // 3)), "reference")
        return rows

    workloads = [lambda: ops("add"), lambda: ops("mul"), backward, memory, moons_step, yinyang_step,
                 yinyang_taped, yinyang_large, mesh, deep]
    rows = []
    for workload in progress(workloads, args.quiet):
        gc.collect()
        rows += workload()

    print_table(rows)
    if args.json:
        machine = {"python": sys.version.split()[0], "platform": platform.platform(),
                   "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
        with open(args.json, "w") as f:
            json.dump({"machine": machine, "results": rows}, f, indent=1)
    if args.plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    sys.path.insert(0, ROOT)
    main()
