"""viz: graph drawing on both engines (fused nodes included), and the plots."""

import html
import shutil

import pytest

from micrograd_fast import viz


def needs_dot():
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("graphviz's `dot` binary is not installed")


def test_draw_dot_names_every_node(backend):
    needs_dot()
    Value = backend.Value
    a, b = Value(2.0), Value(-3.0)
    a.label = "a"
    n = backend.dot([a, b], [Value(0.5), 1.5], Value(0.25)).tanh()
    n.backward()
    svg = html.unescape(viz.draw_dot(n).pipe(format="svg").decode())
    nodes, _ = viz.trace(n)
    assert len(nodes) == 7
    for v in nodes:
        assert f"data {v.data:.4f}" in svg
    assert "tanh" in svg and "dot" in svg and "a |" in viz.draw_dot(n).source


def test_draw_dot_refuses_huge_graphs(backend):
    pytest.importorskip("graphviz")
    x = backend.Value(0.0)
    for _ in range(viz.MAX_NODES + 1):
        x = x + 1.0
    with pytest.raises(ValueError, match="more than"):
        viz.draw_dot(x)


def test_plots_write_pngs(tmp_path):
    np = pytest.importorskip("numpy")
    pytest.importorskip("matplotlib")
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    viz.plot_decision_boundary(lambda P: P[:, 0], X, y, path=tmp_path / "b.png", h=0.2)
    viz.plot_losses({"train": [3, 2, 1]}, path=tmp_path / "l.png")
    assert (tmp_path / "b.png").stat().st_size > 1000 and (tmp_path / "l.png").stat().st_size > 1000
