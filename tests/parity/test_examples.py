"""The examples run end to end (a few steps each) and write their pictures."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "examples")


@pytest.mark.parametrize("args, picture", [
    (["moons.py", "--steps", "3"], "moons.png"),
    (["moons.py", "--steps", "3", "--tape"], "moons.png"),
    (["yinyang.py", "--steps", "3"], "yinyang.png"),
    (["trace_graph.py"], "neuron.svg"),
])
def test_example_runs(tmp_path, args, picture):
    for module in ("numpy", "matplotlib", "tqdm", "graphviz"):
        pytest.importorskip(module)
    if args[0] == "trace_graph.py":
        import shutil
        if shutil.which("dot") is None:
            pytest.skip("graphviz's `dot` binary is not installed")
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, args[0])] + args[1:],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / picture).stat().st_size > 1000
