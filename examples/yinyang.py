"""A 2-8-3 MLP learns the yin-yang ("taiji") with cross-entropy and AdamW.

    python examples/yinyang.py [--steps 100] [--out yinyang.png]
"""

import argparse
import random

import numpy as np

import micrograd_fast as mf
from micrograd_fast import losses, nn, optim, viz
from micrograd_fast.datasets import make_yinyang


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--out", default="yinyang.png", help="decision boundary picture")
    args = parser.parse_args()
    from tqdm import trange

    (Xtr, ytr), (Xva, yva), (Xte, yte) = make_yinyang(1000, seed=0)
    random.seed(42)
    model = nn.MLP(2, [8, 3])
    opt = optim.AdamW(model.parameters(), lr=1e-1, weight_decay=1e-4)

    # the training graph is the same every step: record it once
    inputs = [[mf.Value(a), mf.Value(b)] for a, b in Xtr.tolist()]
    train_loss = losses.cross_entropy([model(row) for row in inputs], ytr.tolist())
    tape = mf.compile(train_loss)

    def evaluate(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        with mf.no_grad():
            logits = [model(row) for row in X.tolist()]
            loss = losses.cross_entropy(logits, y.tolist()).data
        predicted = np.array([[v.data for v in row] for row in logits]).argmax(axis=1)
        return loss, (predicted == y).mean()

    history: dict[str, list[float]] = {"train": [], "val": []}
    bar = trange(args.steps, desc="yin-yang")
    for _ in bar:
        loss = tape.forward()
        opt.zero_grad()
        tape.backward()
        opt.step()
        val_loss, _ = evaluate(Xva, yva)
        history["train"].append(loss)
        history["val"].append(val_loss)
        bar.set_postfix(train=f"{loss:.4f}", val=f"{val_loss:.4f}")
    test_loss, test_acc = evaluate(Xte, yte)
    print(f"train loss {history['train'][-1]:.4f}, val loss {history['val'][-1]:.4f}, "
          f"test loss {test_loss:.4f}, test accuracy {test_acc:.0%}")

    # the model's graph for one point, replayed over the whole mesh in one batched call
    point = [mf.Value(0.0), mf.Value(0.0)]
    logits = model(point)
    mesh_tape = mf.compile(mf.sum(logits), batch=point)
    viz.plot_decision_boundary(lambda P: mesh_tape.evaluate(P, logits), Xtr, ytr, path=args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
