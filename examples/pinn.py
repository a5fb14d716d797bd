"""A physics-informed network: an MLP u(x) learns the solution of
u'' = -u with u(0) = 0 and u'(0) = 1 on [0, 2 pi] (the exact answer is
sin x) from the equation alone, no samples of the answer. The loss holds u's
own derivatives: mf.grad(..., create_graph=True) builds du/dx and d2u/dx2 as
graphs of ordinary ops, so the loss can be differentiated again for its
parameters, and since its structure is fixed it is recorded once as a tape.

    python examples/pinn.py [--steps 3000] [--points 32] [--batched] [--out pinn.png]

--batched records the residual's graph for ONE x instead and replays it over
the points as a batched tape (compile(..., batch=[x])), beside a small tape of
the initial conditions: the same loss and numbers to rounding, the points
computed side by side.
"""

from __future__ import annotations

import argparse
import math
import random
import time

import micrograd_fast as mf
from micrograd_fast import engine, optim

Layer = tuple[list[list[mf.Value]], list[mf.Value]]  # weight rows and biases


class Net:
    """An MLP 1-w-w-1 with tanh (smooth: relu's second derivative is 0
    everywhere, and the equation needs u''). The input is mapped from
    [0, 2 pi] to [-1, 1] inside the graph, so the derivatives see it."""

    def __init__(self, width: int = 16, seed: int = 0):
        rng = random.Random(seed)
        sizes = [1, width, width, 1]
        self.layers: list[Layer] = []
        for nin, nout in zip(sizes, sizes[1:]):
            std = 1.0 / math.sqrt(nin)  # keeps tanh out of saturation at the start
            rows = [[mf.Value(rng.gauss(0.0, std)) for _ in range(nin)] for _ in range(nout)]
            self.layers.append((rows, [mf.Value(0.0) for _ in range(nout)]))

    def parameters(self) -> list[mf.Value]:
        return [p for rows, bias in self.layers for p in [w for row in rows for w in row] + bias]

    def __call__(self, x: mf.Value) -> mf.Value:
        h = [x * (1 / math.pi) - 1.0]
        for i, (rows, bias) in enumerate(self.layers):
            h = [mf.dot(row, h, b) for row, b in zip(rows, bias)]
            if i != len(self.layers) - 1:
                h = [v.tanh() for v in h]
        return h[0]


def derivatives(net: Net, x: mf.Value) -> tuple[mf.Value, mf.Value, mf.Value]:
    """u(x), u'(x) and u''(x) as graphs reaching back to x and the weights."""
    u = net(x)
    (du,) = mf.grad(u, [x], create_graph=True)
    (d2u,) = mf.grad(du, [x], create_graph=True)
    return u, du, d2u


def loss_graph(net: Net, points: list[float]) -> mf.Value:
    """The mean squared residual u'' + u at the collocation points, plus the
    two initial conditions u(0) = 0 and u'(0) = 1."""
    residuals = []
    for p in points:
        u, _, d2u = derivatives(net, mf.Value(p))
        residuals.append((d2u + u) ** 2)
    u0, du0, _ = derivatives(net, mf.Value(0.0))
    return mf.sum(residuals, 0.0) * (1 / len(points)) + u0**2 + (du0 - 1.0) ** 2


class BatchedLoss:
    """The same loss as two tapes: the squared residual at one x, batched
    over the points (its backward("mean") is the mean's gradient), and the
    initial conditions."""

    def __init__(self, net: Net, points: list[float], threads: int | None = None):
        x = mf.Value(0.0)
        u, _, d2u = derivatives(net, x)
        self.residuals = mf.compile((d2u + u) ** 2, batch=[x], threads=threads)
        u0, du0, _ = derivatives(net, mf.Value(0.0))
        self.initial = mf.compile(u0**2 + (du0 - 1.0) ** 2)
        self.X = [[p] for p in points]

    def forward(self) -> float:
        return float(self.residuals.forward(self.X).mean() + self.initial.forward())

    def backward(self) -> None:
        self.residuals.backward("mean")
        self.initial.backward()


def collocation(n: int) -> list[float]:
    """n points spread evenly over [0, 2 pi]."""
    return [2 * math.pi * (i + 0.5) / n for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--points", type=int, default=32, help="collocation points")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--batched", action="store_true", help="the residual for one x, batched over the points")
    parser.add_argument("--out", default="pinn.png", help="the learned curve against sin")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from tqdm import trange

    net = Net(seed=args.seed)
    params = net.parameters()
    tape: engine.Tape | BatchedLoss
    if args.batched:
        batched = BatchedLoss(net, collocation(args.points))
        tape, size = batched, f"a batched tape of {len(batched.residuals)} nodes per point"
    else:
        whole = mf.compile(loss_graph(net, collocation(args.points)))  # derivative graphs are ordinary nodes
        tape, size = whole, f"a tape of {len(whole)} nodes"
    opt = optim.Adam(params, lr=args.lr)
    print(f"{len(params)} parameters, {args.points} collocation points, {size}")

    history: list[float] = []
    start = time.perf_counter()
    bar = trange(args.steps, desc="pinn")
    for step in bar:
        opt.lr = args.lr * (0.1 ** (step / args.steps))  # decays tenfold over the run
        history.append(tape.forward())
        opt.zero_grad()
        tape.backward()
        opt.step()
        if step % 100 == 0:
            bar.set_postfix(loss=f"{history[-1]:.2e}")
    elapsed = time.perf_counter() - start

    # u on a fine grid, one batched replay of the network's graph for one x
    x = mf.Value(0.0)
    curve = mf.compile(net(x), batch=[x])
    grid = [2 * math.pi * i / 400 for i in range(401)]
    learned = curve.forward([[g] for g in grid]).tolist()
    exact = [math.sin(g) for g in grid]
    error = max(abs(a - b) for a, b in zip(learned, exact))
    print(f"{args.steps} steps in {elapsed:.1f} s: loss {history[-1]:.2e}, "
          f"max |u - sin| on [0, 2 pi]: {error:.4f}")

    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    left.plot(grid, exact, color="black", linewidth=3, alpha=0.35, label="exact: sin x")
    left.plot(grid, learned, color="tab:red", linewidth=1.5, label="learned u(x)")
    points = collocation(args.points)
    left.plot(points, [0.0] * len(points), "|", color="gray", markersize=8, label="collocation points")
    left.set_xlabel("x")
    left.set_ylabel("u(x)")
    left.set_title(f"u'' = -u, u(0) = 0, u'(0) = 1 (max error {error:.3f})")
    left.legend(loc="lower left")
    right.plot(history, color="tab:blue", linewidth=0.8)
    right.set_yscale("log")
    right.set_xlabel("step")
    right.set_ylabel("physics loss (log scale)")
    right.set_title("training")
    fig.tight_layout()
    fig.savefig(args.out, dpi=100)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
