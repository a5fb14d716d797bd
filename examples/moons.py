"""micrograd's demo: a 2-16-16-1 MLP learns the moons with an SVM loss.

    python examples/moons.py [--tape] [--steps 100] [--out moons.png]
"""

import argparse
import random

import micrograd_fast as mf
from micrograd_fast import losses, nn, viz
from micrograd_fast.datasets import make_moons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0])
    parser.add_argument("--tape", action="store_true", help="record the graph once and replay it")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--out", default="moons.png", help="decision boundary picture")
    args = parser.parse_args()
    from tqdm import trange

    X, y01 = make_moons(n_samples=100, noise=0.1, seed=0)
    y = (2 * y01 - 1).tolist()  # labels in {-1, +1}
    random.seed(1337)
    model = nn.MLP(2, [16, 16, 1])
    params = model.parameters()

    def loss_of(inputs: list[list[mf.Value]]) -> tuple[mf.Value, list[mf.Value]]:
        scores = [model(row) for row in inputs]
        return losses.hinge(scores, y) + 1e-4 * mf.dot(params, params), scores

    if args.tape:
        inputs = [[mf.Value(0.0), mf.Value(0.0)] for _ in range(len(X))]
        mf.assign(inputs, X)
        total, scores = loss_of(inputs)
        tape = mf.compile(total)

    bar = trange(args.steps, desc="moons")
    for k in bar:
        if args.tape:
            tape.forward()
            model.zero_grad()
            tape.backward()
        else:
            total, scores = loss_of([list(map(mf.Value, row)) for row in X.tolist()])
            model.zero_grad()
            total.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in params:
            p.data -= lr * p.grad
        accuracy = sum((s.data > 0) == (yi > 0) for s, yi in zip(scores, y)) / len(y)
        bar.set_postfix(loss=f"{total.data:.4f}", accuracy=f"{accuracy:.0%}")
    print(f"step {args.steps}: loss {total.data:.4f}, training accuracy {accuracy:.0%}")

    # the model's graph for one point, replayed over the whole mesh in one batched call
    point = [mf.Value(0.0), mf.Value(0.0)]
    score = model(point)
    mesh_tape = mf.compile(score, batch=point)
    viz.plot_decision_boundary(lambda P: mesh_tape.evaluate(P, [score])[:, 0], X, y01, path=args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
