"""viz: graph drawing on both engines (fused nodes included), and the plots."""

import html
import math
import shutil
import sys

import pytest

from micrograd_fast import viz

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def needs_dot():
    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("graphviz's `dot` binary is not installed")


def svg_of(root):
    return html.unescape(viz.draw_dot(root).pipe(format="svg").decode())


def neuron(backend):
    """The lecture's neuron through a fused dot node, every node kept by name."""
    Value = backend.Value
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735870195432)
    for v, name in ((x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b")):
        v.label = name
    n = backend.dot([w1, w2], [x1, x2], b)
    o = n.tanh()
    o.backward()
    return o, [x1, x2, w1, w2, b, n, o]


def test_draw_dot_names_every_node(backend):
    needs_dot()
    o, nodes = neuron(backend)
    svg = svg_of(o)
    # written out, not taken from viz.trace, so a node the walk missed fails here
    expected = {"x1": (2.0, -1.5), "x2": (0.0, 0.5), "w1": (-3.0, 1.0), "w2": (1.0, 0.0), "b": (6.8814, 0.5)}
    for name, (data, grad) in expected.items():
        assert f">{name}<" in svg and f"data {data:.4f}" in svg and f"grad {grad:.4f}" in svg
    for v in nodes:
        assert f"data {v.data:.4f}" in svg and f"grad {v.grad:.4f}" in svg
    assert f"data {math.tanh(0.8813735870195432):.4f}" in svg  # o = tanh(n), 0.7071
    assert ">dot<" in svg and ">tanh<" in svg  # the op nodes, as their own text
    assert len(viz.trace(o)[0]) == 7


def test_draw_dot_structure(backend):
    pytest.importorskip("graphviz")
    Value = backend.Value
    a, b = Value(2.0), Value(-3.0)
    c = a * b + a
    source = viz.draw_dot(c).source
    # 4 value records, 2 op nodes; each op node feeds its result, each child its parent's op
    assert source.count("shape=record") == 4
    assert source.count("->") == 2 + 4
    assert 'label="+"' in source and 'label="*"' in source
    assert "rankdir=LR" in source and "rankdir=TB" in viz.draw_dot(c, rankdir="TB").source
    assert viz.draw_dot(c, format="png").format == "png"


def test_draw_dot_many_children(backend):
    pytest.importorskip("graphviz")
    xs = [backend.Value(float(i)) for i in range(200)]
    total = backend.sum(xs)
    nodes, edges = viz.trace(total)
    assert len(nodes) == 201 and len(edges) == 200
    source = viz.draw_dot(total).source
    assert source.count("-> v0_op") == 200 and 'label=sum' in source


def test_draw_dot_is_deterministic(backend):
    """Two separately built graphs, equal leaves included, give one source:
    the _prev set's hash order and the nodes' ids do not leak into it."""
    pytest.importorskip("graphviz")

    def build():
        leaves = [backend.Value(1.0) for _ in range(5)] + [backend.Value(-2.0), backend.Value(3.0)]
        out = backend.sum([leaves[0] * leaves[5], leaves[1] + leaves[6]] + leaves[2:5]).relu()
        out.backward()
        return out

    assert viz.draw_dot(build()).source == viz.draw_dot(build()).source


def test_draw_dot_deep_chain_needs_no_recursion(backend):
    pytest.importorskip("graphviz")
    x = backend.Value(1.0)
    for _ in range(5000):
        x = x.relu()
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk would die well before 5000 levels
    try:
        source = viz.draw_dot(x).source
    finally:
        sys.setrecursionlimit(old)
    assert source.count("shape=record") == 5001


def test_draw_dot_escapes_record_syntax(backend):
    needs_dot()
    v = backend.Value(1.5)
    v.label = "a|b {c}"
    svg = svg_of(v * 2)
    assert "a|b {c}" in svg


def test_draw_dot_refuses_huge_graphs(backend):
    pytest.importorskip("graphviz")
    x = backend.Value(0.0)
    for _ in range(viz.MAX_NODES):  # each step adds the constant 1.0 and the sum
        x = x + 1.0
    with pytest.raises(ValueError, match=r"more than 10,000 nodes \(20,001\)"):
        viz.draw_dot(x)


def test_draw_dot_size_limit_is_inclusive(backend):
    pytest.importorskip("graphviz")
    x = backend.Value(0.0)
    for _ in range(viz.MAX_NODES - 1):
        x = x.relu()
    assert len(viz.trace(x)[0]) == viz.MAX_NODES


def test_draw_dot_rejects_bad_rankdir(backend):
    pytest.importorskip("graphviz")
    with pytest.raises(ValueError, match="rankdir"):
        viz.draw_dot(backend.Value(1.0), rankdir="sideways")


def test_missing_library_says_what_to_install(monkeypatch, backend):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(ImportError, match=r'pip install "micrograd_fast\[examples\]"'):
        viz.draw_dot(backend.Value(1.0))


@pytest.fixture
def points():
    np = pytest.importorskip("numpy")
    pytest.importorskip("matplotlib")
    X = np.random.default_rng(0).normal(size=(30, 2))
    return X, (X[:, 0] > 0).astype(int)


def is_png(path):
    return path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000


def test_decision_boundary_writes_png(points, tmp_path):
    X, y = points
    ax = viz.plot_decision_boundary(lambda P: P[:, 0], X, y, path=tmp_path / "sign.png", h=0.2)
    assert is_png(tmp_path / "sign.png")
    assert type(ax).__name__ == "Axes"
    three = X[:, 0].argsort().argsort() % 3  # three classes: (n, 3) scores, argmax
    viz.plot_decision_boundary(lambda P: P @ [[1, 0, -1], [0, 1, -1]], X, three, path=tmp_path / "k.png", h=0.2)
    assert is_png(tmp_path / "k.png")


def test_decision_boundary_colours_by_prediction(points, tmp_path):
    pytest.importorskip("numpy")
    X, y = points
    ax = viz.plot_decision_boundary(lambda P: P[:, 0] - 0.5, X, y, path=tmp_path / "b.png", h=0.1)
    bands = ax.collections[0]  # the filled contour: one band per class
    assert list(bands.levels) == [-0.5, 0.5, 1.5]
    class_1 = bands.get_paths()[1].vertices
    assert class_1[:, 0].min() > 0.5 - 0.1 - 1e-9  # class 1 is painted only where x > 0.5
    assert list(ax.collections[1].get_array()) == list(y)  # the points, coloured by their label


def test_plots_with_a_path_leave_pyplot_alone(points, tmp_path):
    import matplotlib.pyplot as plt

    X, y = points
    before = plt.get_fignums()
    viz.plot_decision_boundary(lambda P: P[:, 0], X, y, path=tmp_path / "b.png", h=0.5)
    viz.plot_losses([3, 2, 1], path=tmp_path / "l.png")
    assert plt.get_fignums() == before  # no figure left open per call in a training loop


def test_decision_boundary_on_a_given_axes(points, tmp_path):
    import matplotlib.pyplot as plt

    X, y = points
    fig, ax = plt.subplots()
    assert viz.plot_decision_boundary(lambda P: P[:, 1], X, y, ax=ax, h=0.5) is ax
    plt.close(fig)


def test_decision_boundary_bad_input(points):
    X, y = points
    with pytest.raises(ValueError, match="h"):
        viz.plot_decision_boundary(lambda P: P[:, 0], X, y, h=0)
    with pytest.raises(ValueError, match="limit"):
        viz.plot_decision_boundary(lambda P: P[:, 0], X, y, h=1e-4)
    with pytest.raises(ValueError, match="scores of shape"):
        viz.plot_decision_boundary(lambda P: P[:5, 0], X, y, h=0.5)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        viz.plot_decision_boundary(lambda P: P[:, 0], X[:, :1], y)


def test_plot_losses_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    ax = viz.plot_losses({"train": [3.0, 2.0, 1.0], "val": [3.5, 2.5, 2.0]}, path=tmp_path / "l.png")
    assert is_png(tmp_path / "l.png")
    assert [line.get_label() for line in ax.get_lines()] == ["train", "val"]
    ax = viz.plot_losses([1.0, 0.5, 0.25], path=tmp_path / "one.png")
    assert is_png(tmp_path / "one.png")
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, 0.5, 0.25]


def test_a_long_loss_curve_gets_its_moving_average(tmp_path):
    pytest.importorskip("matplotlib")
    losses = [float(i % 7) for i in range(200)]
    ax = viz.plot_losses(losses, path=tmp_path / "long.png", ylabel="nats")
    raw, average = ax.get_lines()
    assert list(raw.get_ydata()) == losses
    assert average.get_label() == "loss, moving average (10 steps)"
    assert list(average.get_ydata())[:3] == [0.0, 0.5, 1.0]
    assert list(average.get_ydata())[-1] == pytest.approx(sum(losses[-10:]) / 10)
    assert ax.get_ylabel() == "nats"
    assert viz.moving_average([1.0, 2.0, 3.0, 4.0], 2) == [1.0, 1.5, 2.5, 3.5]
