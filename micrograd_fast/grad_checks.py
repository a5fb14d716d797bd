"""What grad(outputs, inputs, grad_outputs, ...) accepts, and the words it
refuses the rest with: written once, used by both engines' grad
(src/grad.pxi and micrograd_fast/reference/derivatives.py)."""

from __future__ import annotations

from typing import Any

from . import checks


def _values(x: object, value_type: type, what: str) -> list[Any]:
    if isinstance(x, value_type):
        return [x]
    if not isinstance(x, (list, tuple)):
        raise checks.must_be(f"grad: {what}", "a Value or a list of Values", x)
    for item in x:
        if not isinstance(item, value_type):
            raise checks.holds(f"grad: {what}", item, "Value")
    if not x:
        raise checks.empty("grad", what)
    return list(x)


def arguments(outputs: object, inputs: object, grad_outputs: object,
              value_type: type) -> tuple[list[Any], list[Any], list[Any]]:
    """(outputs, inputs, grad_outputs) as lists: outputs and inputs Values of
    value_type (one Value or a list or tuple of them); grad_outputs one entry
    per output, 1.0 each by default, each a float or a Value (a Value stays
    one: with create_graph the result depends on it)."""
    outs = _values(outputs, value_type, "outputs")
    ins = _values(inputs, value_type, "inputs")
    if grad_outputs is None:
        return outs, ins, [1.0] * len(outs)
    if isinstance(grad_outputs, (list, tuple)):
        given = list(grad_outputs)
    else:
        given = [grad_outputs]
    if len(given) != len(outs):
        raise checks.lengths_differ("grad", len(given), "grad_outputs", len(outs), "outputs")
    seeds = [g if isinstance(g, value_type) else checks.real_operand(g, "grad: grad_outputs")
             for g in given]
    return outs, ins, seeds


def unused_input(index: int) -> ValueError:
    return ValueError(f"grad: inputs[{index}] is not reached from the outputs; "
                      "pass allow_unused=True to get None for it")


def custom_op(op: str) -> TypeError:
    """A micrograd-style custom op: its derivative is a Python _backward that
    writes .grad, which grad neither reads nor writes, and is no graph."""
    return TypeError(f"grad: the custom op {op!r} has a Python _backward, which grad cannot use "
                     "(it works through .grad) nor differentiate again; use backward() for it")


def numbers_only(op: str) -> TypeError:
    """A node made as Value(data, children, local_grads): its local grads are
    numbers, with no graph to differentiate again."""
    return TypeError(f"grad: create_graph=True over the custom op {op!r}, whose local grads are "
                     "numbers with no graph; its derivative cannot be differentiated again")


def derivative_mismatch(check: str, failing: int, total: int, entry: str, analytic: float,
                        numerical: float, atol: float, rtol: float) -> str:
    """gradcheck's and gradgradcheck's report: how many entries fail
    |analytic - numerical| <= atol + rtol * |numerical| (numpy's allclose,
    PyTorch's test), and the worst of them."""
    return (f"{check}: {failing} of {total} derivatives differ from central differences; the worst, "
            f"{entry}: analytic {analytic!r}, numerical {numerical!r}, |difference| "
            f"{abs(analytic - numerical):.6g} > atol + rtol * |numerical| = "
            f"{atol + rtol * abs(numerical):.6g}")
