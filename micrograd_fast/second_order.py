"""The Hessian-vector product by its definition, on either engine: the
gradient of dot(grad(output, inputs), v), both built as graphs. The
reference engine's hvp; the compiled engine's where an input is a node
(over leaves it runs forward-over-reverse in C, which a test holds equal to
this). Imports no engine: it is handed the engine's grad and dot."""

from __future__ import annotations

from typing import Any, Callable, Sequence


def hvp_by_graphs(grad: Callable[..., list[Any]], dot: Callable[..., Any], output: Any,
                  inputs: Sequence[Any], vector: Sequence[float]) -> list[float]:
    """H v, 0.0 where output does not reach an input; relu's and abs's
    slopes as this point's numbers (replayable=False), as hessian takes them."""
    first = grad(output, inputs, create_graph=True, allow_unused=True, replayable=False)
    used = [(g, v) for g, v in zip(first, vector) if g is not None]
    if not used:
        return [0.0] * len(first)
    product = dot([g for g, _ in used], [v for _, v in used])
    return [0.0 if d is None else d.data for d in grad(product, inputs, allow_unused=True)]
