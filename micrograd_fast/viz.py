"""Pictures: micrograd's graph drawing (graphviz) and decision boundaries and
loss curves (matplotlib). Both libraries are imported only when used, so the
engine never needs them."""

from __future__ import annotations

import importlib
import os
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from . import engine

if TYPE_CHECKING:
    import numpy.typing as npt
    from matplotlib.axes import Axes

MAX_NODES = 10_000  # beyond this graphviz takes minutes and draws a smudge
MAX_MESH_POINTS = 1_000_000  # a decision-boundary mesh larger than this is a mistaken h
RANKDIRS = ("LR", "RL", "TB", "BT")


def _need(module: str) -> types.ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f'{module} is needed for this: pip install "micrograd_fast[examples]"') from exc


# ---------------------------------------------------------------------------
# The computation graph, drawn as in micrograd's lecture.


def trace(root: engine.Value) -> tuple[list[engine.Value], list[tuple[engine.Value, engine.Value]]]:
    """The nodes reachable from root, parents before children (the engine's
    own topological order, reversed), and the (child, parent) edges."""
    kernels = engine.engine_of(root)
    if kernels is None:
        raise TypeError(f"draw_dot: expected a Value, not {type(root).__name__}")
    nodes = kernels.topo_order(root)[::-1]
    if len(nodes) > MAX_NODES:
        raise ValueError(f"draw_dot: the graph has more than {MAX_NODES:,} nodes ({len(nodes):,}); "
                         "graphviz cannot lay out a graph that size usefully, draw a smaller one")
    place = {id(v): i for i, v in enumerate(nodes)}  # _prev is a set: order it by the walk
    edges = [(child, v) for v in nodes for child in sorted(v._prev, key=lambda c: place[id(c)])]
    return nodes, edges


def _record_text(text: str) -> str:
    # { } | < > are record syntax in graphviz; a label like "a|b" must stay text
    for special in "\\{}|<>":
        text = text.replace(special, "\\" + special)
    return text


def draw_dot(root: engine.Value, format: str = "svg", rankdir: str = "LR") -> Any:  # noqa: A002 - micrograd's draw_dot names it format; a graphviz.Digraph
    """micrograd's draw_dot: a record per Value `{ label | data | grad }`, and
    an op node between each result and its children. Returns a graphviz.Digraph
    (call .render(name) or .pipe() to draw it)."""
    graphviz = _need("graphviz")
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, not {rankdir!r}")
    nodes, edges = trace(root)
    # names by visit order, not id(): the same graph gives the same source every run
    name = {id(v): f"v{i}" for i, v in enumerate(nodes)}
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    for v in nodes:
        label = _record_text(str(getattr(v, "label", "")))
        dot.node(name[id(v)], label=f"{{ {label} | data {v.data:.4f} | grad {v.grad:.4f} }}", shape="record")
        if v._op:
            dot.node(name[id(v)] + "_op", label=v._op)
            dot.edge(name[id(v)] + "_op", name[id(v)])
    for child, parent in edges:
        dot.edge(name[id(child)], name[id(parent)] + "_op")
    return dot


# ---------------------------------------------------------------------------
# Plots.


def _axes(ax: Axes | None, path: object, figsize: tuple[float, float]) -> Axes:
    """The Axes to draw on. With a path and no ax, a bare Figure that savefig
    renders with Agg: no display needed, pyplot's backend left as the user set
    it, and no figure piling up in pyplot when called in a loop."""
    if ax is not None:
        return ax
    made: Axes
    if path is not None:
        made = _need("matplotlib.figure").Figure(figsize=figsize).subplots()
    else:
        made = _need("matplotlib.pyplot").subplots(figsize=figsize)[1]
    return made


def plot_decision_boundary(model_or_fn: Callable[[npt.NDArray[Any]], npt.ArrayLike], X: npt.ArrayLike,
                           y: npt.ArrayLike, path: str | os.PathLike[str] | None = None,
                           ax: Axes | None = None, h: float = 0.05) -> Axes:
    """Colours the plane by the model's predicted class and scatters (X, y)
    on it. model_or_fn maps an (n, 2) float array to scores: (n,) for two
    classes (class 1 where the score is > 0) or (n, k) (class = argmax).
    Saves a PNG to path if given; returns the matplotlib Axes."""
    np = _need("numpy")
    matplotlib = _need("matplotlib")
    points = np.asarray(X, dtype=np.float64)
    labels = np.asarray(y)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"X must be a non-empty (n, 2) array, got shape {points.shape}")
    if labels.shape != (len(points),):
        raise ValueError(f"y must have shape ({len(points)},), got {labels.shape}")
    if not h > 0:
        raise ValueError(f"h (the mesh step) must be > 0, got {h}")
    xs = np.arange(points[:, 0].min() - 1, points[:, 0].max() + 1, h)
    ys = np.arange(points[:, 1].min() - 1, points[:, 1].max() + 1, h)
    if len(xs) * len(ys) > MAX_MESH_POINTS:
        raise ValueError(
            f"h={h} makes a mesh of {len(xs) * len(ys):,} points (limit {MAX_MESH_POINTS:,}); use a larger h"
        )
    xx, yy = np.meshgrid(xs, ys)
    scores = np.asarray(model_or_fn(np.c_[xx.ravel(), yy.ravel()]), dtype=np.float64)
    if len(scores) != xx.size or scores.ndim > 2:
        raise ValueError(
            f"model_or_fn gave scores of shape {scores.shape} for {xx.size} points; want (n,) or (n, k)"
        )
    if scores.ndim == 2 and scores.shape[1] > 1:
        n_classes, predicted, point_class = scores.shape[1], scores.argmax(axis=1), labels
    else:  # a sign: labels may be 0/1 or -1/+1 (micrograd's SVM demo), colour both alike
        n_classes, predicted, point_class = 2, (scores.ravel() > 0).astype(int), (labels > 0).astype(int)
    # one colour band per class, and the same colour scale for the points
    levels = np.arange(n_classes + 1) - 0.5
    cmap = matplotlib.colormaps["Spectral"]
    ax = _axes(ax, path, figsize=(5, 5))
    ax.contourf(xx, yy, predicted.reshape(xx.shape), levels=levels, cmap=cmap, alpha=0.8)
    ax.scatter(points[:, 0], points[:, 1], c=point_class, s=20, cmap=cmap, vmin=levels[0], vmax=levels[-1],
               edgecolors="k")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    if path is not None:  # an Axes of a SubFigure has a .figure with no savefig: known, not handled
        ax.figure.savefig(path, dpi=100, bbox_inches="tight")  # type: ignore[union-attr]
    return ax


def moving_average(values: list[float], width: int) -> list[float]:
    """The mean of each value and the width - 1 before it (fewer at the start)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= width:
            total -= values[i - width]
        out.append(total / min(i + 1, width))
    return out


def plot_losses(history: Iterable[float] | dict[str, list[float]],
                path: str | os.PathLike[str] | None = None, ax: Axes | None = None, *,
                average: int | None = None, ylabel: str = "loss") -> Axes:
    """Loss curves: history is a list of losses, or a dict name -> list
    (e.g. {"train": [...], "val": [...]}). A per-step loss is noisy, so a
    curve of 100 steps or more is drawn faint with its moving average over
    it (average: its width in steps; default a twentieth of the curve).
    Saves a PNG to path if given; returns the matplotlib Axes."""
    _need("matplotlib")
    named = history if isinstance(history, dict) else {"loss": history}
    curves = {name: [float(v) for v in values] for name, values in named.items()}
    ax = _axes(ax, path, figsize=(6, 4))
    for name, values in curves.items():
        width = average if average is not None else (len(values) // 20 if len(values) >= 100 else 1)
        if width <= 1:
            ax.plot(values, label=str(name))
            continue
        (raw,) = ax.plot(values, alpha=0.3, linewidth=0.8, label=f"{name}, per step")
        ax.plot(moving_average(values, width), color=raw.get_color(), linewidth=2,
                label=f"{name}, moving average ({width} steps)")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if curves:
        ax.legend()
    if path is not None:
        ax.figure.savefig(path, dpi=100, bbox_inches="tight")  # type: ignore[union-attr]  # as above
    return ax
