"""Pictures: micrograd's graph drawing (graphviz) and decision boundaries and
loss curves (matplotlib). Both are imported only when used."""

MAX_NODES = 10_000  # beyond this graphviz takes minutes and draws a smudge


def _need(module, package):
    try:
        return __import__(module)
    except ImportError as exc:
        raise ImportError(f"{package} is needed for this: pip install \"micrograd_fast[examples]\"") from exc


def trace(root):
    """The nodes and edges reachable from root, without recursion."""
    nodes, edges, seen, stack = [], [], {id(root)}, [root]
    while stack:
        v = stack.pop()
        nodes.append(v)
        if len(nodes) > MAX_NODES:
            raise ValueError(f"draw_dot: the graph has more than {MAX_NODES} nodes; draw a smaller one")
        for child in sorted(v._prev, key=lambda c: (c.data, id(c))):
            edges.append((child, v))
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return nodes, edges


def draw_dot(root, format="svg", rankdir="LR"):
    """micrograd's draw_dot: a record per Value (label | data | grad), and an
    op node between each result and its children. Returns a graphviz.Digraph."""
    graphviz = _need("graphviz", "graphviz")
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    nodes, edges = trace(root)
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    for n in nodes:
        uid = str(id(n))
        label = getattr(n, "label", "")
        dot.node(name=uid, label=f"{{ {label} | data {n.data:.4f} | grad {n.grad:.4f} }}", shape="record")
        if n._op:
            dot.node(name=uid + n._op, label=n._op)
            dot.edge(uid + n._op, uid)
    for child, parent in edges:
        dot.edge(str(id(child)), str(id(parent)) + parent._op)
    return dot


def plot_decision_boundary(model, X, y, path=None, ax=None, h=0.05):
    """Colours the plane by model's prediction and scatters (X, y) on it.
    model maps an (n, 2) array to scores (n,) (sign) or (n, k) (argmax)."""
    np = _need("numpy", "numpy")
    matplotlib = _need("matplotlib", "matplotlib")
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X = np.asarray(X, dtype=np.float64)
    x0, x1 = X[:, 0].min() - 1, X[:, 0].max() + 1
    y0, y1 = X[:, 1].min() - 1, X[:, 1].max() + 1
    xx, yy = np.meshgrid(np.arange(x0, x1, h), np.arange(y0, y1, h))
    scores = np.asarray(model(np.c_[xx.ravel(), yy.ravel()]))
    labels = scores.argmax(axis=1) if scores.ndim == 2 and scores.shape[1] > 1 else (scores.ravel() > 0)
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    ax.contourf(xx, yy, labels.reshape(xx.shape).astype(float), cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=20, cmap=plt.cm.Spectral, edgecolors="k")
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    if path is not None:
        ax.figure.savefig(path, dpi=100, bbox_inches="tight")
    return ax


def plot_losses(history, path=None):
    """history: a list of losses, or a dict name -> list. Returns the Axes."""
    matplotlib = _need("matplotlib", "matplotlib")
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = history if isinstance(history, dict) else {"loss": history}
    _, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        ax.plot(list(values), label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    if path is not None:
        ax.figure.savefig(path, dpi=100, bbox_inches="tight")
    return ax
