"""How the benchmark times and reports: interleaved runs, back-to-back steps,
medians and ratios, the table, JSON and the PNG plot. Knows no engine."""

import gc
import json
import os
import platform
import statistics
import sys
import time


# --- timing -----------------------------------------------------------------------


def interleaved(runs, repeats, warmup=1):
    """runs: name -> zero-argument callable returning seconds, or None when it
    cannot run; a run that is None itself (its framework is not installed) is
    left out. Calls them A B A B ... and returns name -> list of seconds."""
    runs = {name: run for name, run in runs.items() if run is not None}
    times = {name: [] for name in runs}
    for i in range(warmup + repeats):
        for name, run in runs.items():
            if times[name] is None:
                continue
            gc.collect()
            t = run()
            if t is None:
                times[name] = None
            elif i >= warmup:
                times[name].append(t)
    return times


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


def timed_steps(steps):
    """name -> step (or None) as name -> timed run, for interleaved()."""
    return {name: None if step is None else timed(step) for name, step in steps.items()}


# --- figures ----------------------------------------------------------------------


def summarise(workload, unit, times, baseline):
    """One row per engine: median, min, max, and the ratio baseline/median
    (how many times faster than the baseline)."""
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


def measure(workload, runs, repeats, baseline):
    """summarise() of interleaved(runs): a workload's rows, in seconds."""
    return summarise(workload, "s", interleaved(runs, repeats), baseline)


# --- report -----------------------------------------------------------------------


def fmt_seconds(s):
    if s is None:
        return "-"
    for scale, name in ((1e-9, "ns"), (1e-6, "us"), (1e-3, "ms"), (1.0, "s")):
        if s < scale * 1000:
            return f"{s / scale:.1f} {name}"
    return f"{s:.1f} s"


def print_table(rows):
    width = max([34] + [len(r["workload"]) for r in rows])
    print(f"{'workload':<{width}} {'engine':<10} {'median':>11} {'min-max':>23} {'speed-up':>10}")
    for r in rows:
        head = f"{r['workload']:<{width}} {r['engine']:<10}"
        if r["median_s"] is None and r.get("note"):
            print(f"{head} {r['note']:>11}")
            continue
        if r["unit"] == "bytes":
            print(f"{head} {r['median_s']:>9.0f} B")
            continue
        span = f"{fmt_seconds(r['min_s'])} - {fmt_seconds(r['max_s'])}"
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] else ""
        print(f"{head} {fmt_seconds(r['median_s']):>11} {span:>23} {ratio:>10}")


def write_json(path, rows, measured):
    """Every row, the machine, and `measured` (what was benchmarked)."""
    machine = {"python": sys.version.split()[0], "platform": platform.platform(),
               "processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()}
    with open(path, "w") as f:
        json.dump({"machine": machine, "measured": measured, "results": rows}, f, indent=1)


def plot(rows, path):
    """A PNG bar chart of every row's ratio, on a log scale."""
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


def progress(items, quiet):
    """items with a progress bar on stderr (tqdm, when installed)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return tqdm(items, disable=quiet, leave=False, file=sys.stderr)
