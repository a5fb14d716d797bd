"""Draws one neuron's graph with its data and gradients, as the lecture does.

    python examples/trace_graph.py [--out neuron]   # writes neuron.svg and neuron.png
"""

import argparse

from micrograd_fast import Value
from micrograd_fast.viz import draw_dot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0])
    parser.add_argument("--out", default="neuron", help="file name without extension")
    args = parser.parse_args()

    x1, x2 = Value(2.0), Value(0.0)
    w1, w2 = Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    for v, name in ((x1, "x1"), (x2, "x2"), (w1, "w1"), (w2, "w2"), (b, "b")):
        v.label = name
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()

    for fmt in ("svg", "png"):
        path = draw_dot(o, format=fmt).render(args.out, cleanup=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
