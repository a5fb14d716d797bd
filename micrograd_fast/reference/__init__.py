"""The pure-Python engine: micrograd's semantics, written to be read.

It is the oracle the compiled engine is tested against and the fallback
when the extension is missing; deliberately untuned. Split by job as src/
is:

    ops.py      the elementwise ops, one row each: forward and derivative
    value.py    Value and backward(), micrograd's engine, made from ops.py;
                topo_order; the switch no_grad flips
    fused.py    dot, sum, dense, linear and the GPT's fused ops
    tape.py     Tape (compile) and assign
    batch_tape.py
                BatchTape (compile(root, batch=inputs)): the scalar tape, row by row
    derivatives.py  grad: PyTorch's autograd.grad, the derivative as numbers or as a graph;
                hessian_vector_product (hvp) by its definition
    kernels.py  what the libraries run over many Values: the optimizers'
                steps, DensePlan (an MLP in one call), nll_rows

Differences from micrograd 0.1.0, shared with the compiled engine: data and
grad are plain floats; backward() sorts with an explicit stack, so deep
graphs work, and leaves every grad as it was if it raises; a node keeps its
op's row, not a closure, so a tape can recompute it and the graph has no
reference cycles; more ops (ops.UNARY, Value ** Value, the fused ones).
"""

from ..api import ENGINE_API
from . import batch_tape, derivatives, fused, kernels, ops, tape, value
from .value import _leaf  # noqa: F401 - pickles name it

BACKEND = "pure"
OPS = tuple(ops.TABLE) + tuple(fused.FUSED)  # every op id, as csrc/ops/op_table.h names them
UNARY_OPS = ops.UNARY_OPS


def _definitions(names: tuple[str, ...]) -> dict[str, object]:
    """Each name of the engine API with the one object the modules above give
    it (a module may import another's: the same object); ImportError for a
    name none defines, or two define differently."""
    parts = (value, fused, tape, batch_tape, derivatives, kernels)
    found = {}
    for name in names:
        if name in globals():
            continue
        objects = {id(getattr(p, name)): getattr(p, name) for p in parts if hasattr(p, name)}
        if len(objects) != 1:
            raise ImportError(f"the reference engine {'lacks' if not objects else 'defines twice'} {name!r}")
        (found[name],) = objects.values()
    return found


globals().update(_definitions(ENGINE_API))
del _definitions, ENGINE_API
