"""RSS growth per node while building a chain, each engine in a fresh
interpreter so that none inherits another's freed memory.

per_node() runs this file as a script, by its path: Python then puts this
folder (not the current directory, not the source checkout) first on
sys.path, so the child imports the same installed micrograd_fast as the
parent.

    python benchmarks/memory.py ENGINE STEPS    # prints bytes per node
"""

import os
import subprocess
import sys


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def per_node(engine, steps):
    """Bytes of RSS per node of a 2 * steps node chain on engine (a name in
    adapters.engines()), measured in a child process."""
    out = subprocess.run([sys.executable, os.path.abspath(__file__), engine, str(steps)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"measuring memory per node on {engine} failed:\n{out.stderr}")
    return float(out.stdout.split()[-1])


def main(engine, steps):
    import gc

    from adapters import engines
    from workloads import chain

    Value = engines()[engine]
    gc.collect()
    chain(Value, 10)
    before = rss_bytes()
    root = chain(Value, steps)  # noqa: F841 - alive while RSS is read
    after = rss_bytes()
    print((after - before) / (2 * steps))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
