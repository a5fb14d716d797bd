"""Newton's method with mf.hessian against gradient descent, on Rosenbrock's
banana f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1); the minimum is
at (1, 1), at the end of a long curved valley where the gradient is tiny.

    python examples/newton.py [--tol 1e-8] [--lr 1e-3] [--max-steps 200000]

Newton steps by H^-1 g (mf.grad for g, mf.hessian for H: second derivatives
of the same graph) and lands in a handful of steps; gradient descent needs
tens of thousands, each cheap (a tape of f replayed), creeping along the valley.
"""

from __future__ import annotations

import argparse

import micrograd_fast as mf


def rosenbrock(x: mf.Value, y: mf.Value) -> mf.Value:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def distance(x: float, y: float) -> float:
    return float(((x - 1.0) ** 2 + (y - 1.0) ** 2) ** 0.5)


def newton(start: tuple[float, float], tol: float, max_steps: int = 100) -> list[tuple[float, float]]:
    """The points Newton's method visits until within tol of (1, 1)."""
    path = [start]
    while distance(*path[-1]) > tol and len(path) <= max_steps:
        x, y = mf.Value(path[-1][0]), mf.Value(path[-1][1])
        f = rosenbrock(x, y)
        gx, gy = (g.data for g in mf.grad(f, [x, y]))
        (hxx, hxy), (hyx, hyy) = mf.hessian(f, [x, y])
        det = hxx * hyy - hxy * hyx  # the 2x2 system H d = g, solved by Cramer's rule
        dx, dy = (hyy * gx - hxy * gy) / det, (hxx * gy - hyx * gx) / det
        path.append((x.data - dx, y.data - dy))
    return path


def gradient_descent(start: tuple[float, float], tol: float, lr: float, max_steps: int) -> tuple[int, float, float]:
    """Steps of x -= lr * grad f until within tol of (1, 1) (or max_steps):
    the step count and where it stopped. f's graph is the same every step,
    so it is taped once and replayed."""
    x, y = mf.Value(start[0]), mf.Value(start[1])
    tape = mf.compile(rosenbrock(x, y))
    steps = 0
    while distance(x.data, y.data) > tol and steps < max_steps:
        tape.forward()
        x.grad = y.grad = 0.0
        tape.backward()
        x.data -= lr * x.grad
        y.data -= lr * y.grad
        steps += 1
    return steps, x.data, y.data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-8, help="stop within this distance of (1, 1)")
    parser.add_argument("--lr", type=float, default=1e-3, help="gradient descent's step size")
    parser.add_argument("--max-steps", type=int, default=200_000, help="gradient descent's limit")
    args = parser.parse_args()
    start = (-1.2, 1.0)

    path = newton(start, args.tol)
    print(f"Newton (mf.hessian): {len(path) - 1} steps to within {args.tol:g} of (1, 1)")
    for k, (x, y) in enumerate(path):
        print(f"  step {k}: ({x:+.12f}, {y:+.12f})  distance {distance(x, y):.3e}")
    steps, x, y = gradient_descent(start, args.tol, args.lr, args.max_steps)
    reached = "to within" if distance(x, y) <= args.tol else "and still not within"
    print(f"gradient descent (lr {args.lr:g}): {steps} steps {reached} {args.tol:g} of (1, 1): "
          f"({x:+.12f}, {y:+.12f}), distance {distance(x, y):.3e}")


if __name__ == "__main__":
    main()
