"""The examples run end to end (a few steps each) and write their pictures;
digits, pinn and newton run as a user runs them and their claims are held to
(test accuracy, the error against sin, Newton's step count)."""

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


def run_example(tmp_path, *args):
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, args[0])] + list(args[1:]),
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_digits_reaches_95_percent(tmp_path):
    """The README's claim: at least 95% test accuracy from the default run,
    and both pictures drawn."""
    for module in ("numpy", "matplotlib", "tqdm", "sklearn"):
        pytest.importorskip(module)
    out = run_example(tmp_path, "digits.py")
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", out).group(1))
    assert accuracy >= 95.0, out
    for picture in ("digits_curves.png", "digits_misclassified.png"):
        assert (tmp_path / picture).stat().st_size > 1000


@pytest.mark.parametrize("mode", [[], ["--batched"]])
def test_pinn_learns_sine(tmp_path, mode):
    """The default run's curve is within 0.05 of sin x everywhere on [0, 2 pi],
    from the whole loss's tape and from the residual batched over the points."""
    for module in ("numpy", "matplotlib", "tqdm"):
        pytest.importorskip(module)
    out = run_example(tmp_path, "pinn.py", *mode)
    error = float(re.search(r"max \|u - sin\| on \[0, 2 pi\]: ([\d.]+)", out).group(1))
    assert error < 0.05, out
    assert (tmp_path / "pinn.png").stat().st_size > 1000


def test_newton_beats_gradient_descent(tmp_path):
    """Newton lands within 1e-8 of (1, 1) in under 10 steps; gradient
    descent needs over 10,000 to get there."""
    out = run_example(tmp_path, "newton.py")
    newton_steps = int(re.search(r"Newton \(mf.hessian\): (\d+) steps", out).group(1))
    descent = re.search(r"gradient descent \(lr [^)]*\): (\d+) steps to within", out)
    assert newton_steps < 10, out
    assert descent is not None and int(descent.group(1)) > 10_000, out


def test_gpt_batched_trains(tmp_path):
    """--batch 16: Adam steps over 16 names of one length from a batched tape:
    the loss falls and names come out."""
    pytest.importorskip("numpy")
    names = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "harper", "evelyn", "ella",
             "liam", "noah", "jack", "levi", "owen", "luca", "lily", "rose", "ruby", "zoe", "max", "leo"]
    (tmp_path / "names.txt").write_text("\n".join(names) + "\n")
    out = run_example(tmp_path, "gpt.py", "--steps", "120", "--batch", "16", "--data", "names.txt",
                      "--plot", "")
    first, last = map(float, re.search(r"first 50 steps ([\d.]+), last 50 ([\d.]+)", out).groups())
    assert last < first
    assert len(out.split("sampled names: ")[1].strip().split(", ")) == 20
