"""Side-by-side benchmark of the engines, each workload in a process of its own.

    pip install ".[bench]"
    python benchmarks/bench.py [--quick] [--json PATH] [--plot PATH] [--quiet] [--only NAME]

Each workload runs in a fresh Python (this command, for that workload alone),
on each engine interleaved (A B A B ...) after a warm-up, under Python's
default GC, and the table gives the median, the min-max and the ratio to
upstream micrograd (or to the reference where upstream cannot run the
workload). A fresh process per workload, as a training script has: in one
process for all, a graph's nodes land wherever the workloads before it freed
memory, and a tape's replay of the same graph took 2-5x as long after some of
them. Compare ratios from one run, never absolute times across runs.

It measures the installed micrograd_fast: run as a script, Python puts this
folder first on sys.path, never the source checkout, so its siblings import
by name and micrograd_fast is whatever pip installed.

    bench.py      this command line
    harness.py    timing (interleaved runs, back-to-back steps), summaries,
                  table, JSON, plot, progress bar; knows no engine
    workloads.py  the workloads (sizes, engines, baselines), one function each,
                  listed in WORKLOADS
    adapters.py   each engine and framework doing a workload's task: upstream
                  micrograd, our two engines, micrograd_fast.nn, the tape,
                  micrograd_fast.tensor, PyTorch
    batched.py    our batched tapes (compile(root, batch=inputs, threads=n))
                  and second derivatives (grad, hvp, hessian) doing theirs
    peers_torch.py, peers_jax.py
                  PyTorch (one thread and all) and JAX (jit), float64, doing
                  the batched and second-order workloads' tasks
    fixtures.py   the programs timed as their authors write them: micrograd's
                  demo, its nn.py over any Value, a microgpt-shaped GPT (the
                  tests import them too; they are not in the package)
    memory.py     RSS per node, in a child process per engine
"""

import os

# one thread everywhere: numpy's BLAS threads would otherwise spin beside the
# engine under test on a small machine, and torch is pinned to one in adapters
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# and JAX's XLA on one thread: its CPU thread pool otherwise keeps spinning
# after a step returns, and the rows timed after it run on a busy core
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse
import gc
import json
import subprocess
import sys
import tempfile

import adapters
import harness
import workloads


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller graphs (about two minutes)")
    parser.add_argument("--json", metavar="PATH", help="write every figure as JSON")
    parser.add_argument("--plot", metavar="PATH", help="write a PNG bar chart of the ratios")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--only", metavar="NAME", action="append",
                        choices=[w.__name__ for w in workloads.WORKLOADS],
                        help="run only this workload (repeatable): " +
                             ", ".join(w.__name__ for w in workloads.WORKLOADS))
    parser.add_argument("--rows-to", metavar="PATH", help=argparse.SUPPRESS)  # a child's: its rows as JSON
    args = parser.parse_args(argv)
    if args.rows_to:
        return run_here(args)

    measured = adapters.measured()
    print(f"measuring micrograd_fast {measured['version']} at {measured['file']} "
          f"(BACKEND={measured['backend']})", flush=True)
    warning = adapters.not_compiled_warning()
    if warning:
        print(warning, flush=True)
        measured["warning"] = warning
    measured["missing_peers"] = adapters.missing_peers()
    for line in measured["missing_peers"]:
        print(line, flush=True)

    rows = []
    chosen = [w for w in workloads.WORKLOADS if not args.only or w.__name__ in args.only]
    for workload in harness.progress(chosen, args.quiet):
        rows += run_alone(workload.__name__, args.quick)

    harness.print_table(rows)
    if args.json:
        harness.write_json(args.json, rows, measured)
    if args.plot:
        harness.plot(rows, args.plot)


def run_alone(name, quick):
    """The rows of workload `name`, measured by this command in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "rows.json")
        command = [sys.executable, os.path.abspath(__file__), "--only", name, "--quiet", "--rows-to", path]
        subprocess.run(command + (["--quick"] if quick else []), check=True, stdout=subprocess.DEVNULL)
        with open(path) as f:
            return json.load(f)


def run_here(args):
    """A child's work: its workloads, their rows written to args.rows_to."""
    # Everything imported up to here (numpy, matplotlib, micrograd, torch) is
    # frozen out of the cyclic GC's sight: a full collection then walks only
    # what the workloads make, as in a program of one engine's own. Without
    # this, importing torch alone makes every full collection of the
    # pure-Python engines, whose nodes the GC tracks, several times dearer.
    adapters.torch_or_none()
    gc.collect()
    gc.freeze()
    settings = workloads.Settings(quick=args.quick)
    rows = []
    for workload in workloads.WORKLOADS:
        if workload.__name__ in args.only:
            gc.collect()
            rows += workload(settings)
    with open(args.rows_to, "w") as f:
        json.dump(rows, f)


if __name__ == "__main__":
    main()
