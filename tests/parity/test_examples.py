"""The examples run end to end (a few steps each) and write their pictures."""

import os
import re
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


@pytest.mark.parametrize("mode", [[], ["--eager"]])
def test_gpt_example_trains_and_samples(tmp_path, mode):
    """examples/gpt.py on a names file of its own: the loss falls, the loss
    curve is drawn, and 20 names come out made of the file's letters."""
    pytest.importorskip("matplotlib")
    names = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "ella"]
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, "gpt.py"), "--steps", "200", "--data",
                           "names.txt", "--plot", "loss.png"] + mode,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, last = map(float, re.search(r"first 50 steps ([\d.]+), last 50 ([\d.]+)", done.stdout).groups())
    assert last < first
    sampled = done.stdout.split("sampled names: ")[1].strip().split(", ")
    assert len(sampled) == 20 and all(set(name) <= set("".join(names)) for name in sampled)
    assert (tmp_path / "loss.png").stat().st_size > 1000
