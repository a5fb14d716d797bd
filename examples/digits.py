"""Handwritten digits (scikit-learn's load_digits: 1,797 8x8 images) with an
MLP 64-32-10 written for ONE example with micrograd_fast.nn, trained by
minibatch from a batched tape: the graph of one image's loss is recorded once
and replayed over 128 images per step in C, on every core.

    pip install ".[examples]"
    python examples/digits.py [--steps 400] [--batch 128] [--threads N] [--out digits]

Writes digits_curves.png (the loss per step with its moving average, and the
train and test accuracy) and digits_misclassified.png (the test images it
gets wrong).
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

import numpy as np
import numpy.typing as npt

import micrograd_fast as mf
from micrograd_fast import losses, nn, optim
from micrograd_fast.viz import moving_average

Array = npt.NDArray[Any]


def load(seed: int = 0, test_fraction: float = 0.2) -> tuple[Array, Array, Array, Array]:
    """Train and test splits: pixels scaled to [0, 1] (64 per image) and the
    digit (0-9); a fixed shuffle so every run sees the same split."""
    from sklearn.datasets import load_digits  # pip install scikit-learn

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target.astype(np.float64)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


class Classifier:
    """The model and a batched tape of one image's loss. The tape's inputs
    are the 64 pixel Values and the target Value: a row of X is an image's
    pixels followed by its digit."""

    def __init__(self, seed: int = 0, threads: int | None = None):
        random.seed(seed)  # micrograd's init: random.uniform(-1, 1) per weight
        self.model = nn.MLP(64, [32, 10])
        self.pixels = [mf.Value(0.0) for _ in range(64)]
        self.target = mf.Value(0.0)
        self.logits: list[mf.Value] = self.model(self.pixels)  # written as for one example
        self.loss = losses.cross_entropy(self.logits, self.target)
        self.tape = mf.compile(self.loss, batch=self.pixels + [self.target], threads=threads)

    @staticmethod
    def rows(X: Array, y: Array) -> Array:
        return np.column_stack([X, y])

    def step_loss(self, X: Array, y: Array) -> float:
        """The minibatch's mean loss; its gradient added into the parameters' .grad."""
        losses_ = self.tape.forward(self.rows(X, y))
        self.tape.backward("mean")
        return float(losses_.mean())

    def predict(self, X: Array) -> Array:
        """The predicted digit of each image: the logits evaluated batched
        (the target column is not read by the logits)."""
        scores = self.tape.evaluate(self.rows(X, np.zeros(len(X))), self.logits)
        return np.asarray(scores.argmax(axis=1))


def plot_curves(losses_: list[float], checks: list[int], train_acc: list[float], test_acc: list[float],
                path: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4))
    left, right = fig.subplots(1, 2)
    left.plot(losses_, color="tab:blue", alpha=0.3, linewidth=0.8, label="minibatch loss")
    left.plot(moving_average(losses_, 20), color="tab:blue", linewidth=2, label="moving average (20 steps)")
    left.set_yscale("log")
    left.set_xlabel("step")
    left.set_ylabel("cross-entropy (log scale)")
    left.set_title("training loss")
    left.legend()
    right.plot(checks, [100 * a for a in train_acc], marker="o", markersize=3, label="train")
    right.plot(checks, [100 * a for a in test_acc], marker="o", markersize=3, label="test")
    right.axhline(95, color="gray", linestyle="--", linewidth=0.8, label="95%")
    right.set_ylim(min(50.0, 100 * min(test_acc)), 100.5)
    right.set_xlabel("step")
    right.set_ylabel("accuracy (%)")
    right.set_title("accuracy")
    right.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def plot_misclassified(X: Array, y: Array, predicted: Array, path: str, most: int = 24) -> None:
    from matplotlib.figure import Figure

    wrong = np.flatnonzero(predicted != y)[:most]
    columns = 8
    rows = max(1, -(-len(wrong) // columns))
    fig = Figure(figsize=(columns * 1.2, rows * 1.6 + 0.5))
    fig.suptitle(f"misclassified test digits: {len(np.flatnonzero(predicted != y))} of {len(y)}"
                 + (f" (first {most} shown)" if len(wrong) == most else ""))
    for k in range(rows * columns):
        ax = fig.add_subplot(rows, columns, k + 1)
        ax.set_axis_off()
        if k < len(wrong):
            i = wrong[k]
            ax.imshow(X[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"true {int(y[i])}\npredicted {int(predicted[i])}", fontsize=8)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch", type=int, default=128, help="images per minibatch")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--threads", type=int, default=None, help="replay threads (default: every core)")
    parser.add_argument("--out", default="digits", help="prefix of the two PNGs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from tqdm import trange

    Xtr, ytr, Xte, yte = load(args.seed)
    clf = Classifier(args.seed, args.threads)
    opt = optim.Adam(clf.model.parameters(), lr=args.lr)
    print(f"{len(Xtr)} training and {len(Xte)} test images; {len(clf.model.parameters())} parameters, "
          f"a tape of {len(clf.tape)} nodes per image on {clf.tape.threads} threads")

    rng = np.random.default_rng(args.seed)
    order: list[int] = []
    history: list[float] = []
    checks: list[int] = []
    train_acc: list[float] = []
    test_acc: list[float] = []
    start = time.perf_counter()
    bar = trange(args.steps, desc="digits")
    for step in bar:
        if len(order) < args.batch:  # a new epoch: every image once, in a new order
            order += rng.permutation(len(Xtr)).tolist()
        chosen, order = order[:args.batch], order[args.batch:]
        opt.zero_grad()
        history.append(clf.step_loss(Xtr[chosen], ytr[chosen]))
        opt.step()
        if step % 20 == 19 or step == args.steps - 1:
            checks.append(step + 1)
            train_acc.append(float((clf.predict(Xtr) == ytr).mean()))
            test_acc.append(float((clf.predict(Xte) == yte).mean()))
            bar.set_postfix(loss=f"{moving_average(history, 20)[-1]:.3f}", test=f"{test_acc[-1]:.1%}")
    elapsed = time.perf_counter() - start
    predicted = clf.predict(Xte)
    print(f"{args.steps} steps of {args.batch} images in {elapsed:.1f} s: "
          f"train accuracy {train_acc[-1]:.1%}, test accuracy {test_acc[-1]:.1%}")
    plot_curves(history, checks, train_acc, test_acc, f"{args.out}_curves.png")
    plot_misclassified(Xte, yte, predicted, f"{args.out}_misclassified.png")
    print(f"wrote {args.out}_curves.png and {args.out}_misclassified.png")


if __name__ == "__main__":
    main()
