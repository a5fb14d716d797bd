"""The pure-Python engine: micrograd's semantics, written to be read.

It is the oracle the compiled engine is tested against and the fallback
when the extension is missing; deliberately untuned. Split by job as src/
is:

    ops.py      the elementwise ops, one row each: forward and derivative
    value.py    Value and backward(), micrograd's engine, made from ops.py
    fused.py    dot, sum, dense, linear, DensePlan and the GPT's fused ops
    tape.py     Tape (compile) and assign
    kernels.py  the optimizers' steps, zero_grads, the no_grad switch

Differences from micrograd 0.1.0, shared with the compiled engine: data and
grad are plain floats; backward() sorts with an explicit stack, so deep
graphs work, and leaves every grad as it was if it raises; a node keeps its
op's row, not a closure, so a tape can recompute it and the graph has no
reference cycles; more ops (ops.UNARY, Value ** Value, the fused ones).
"""

from .fused import FUSED, DensePlan, cross_entropy, dense, dot, embedding, linear, log_softmax, nll_rows
from .fused import rmsnorm, softmax, sum  # noqa: A004 - the API's names
from .kernels import adam_update, grad_enabled, set_grad_enabled, sgd_update, zero_grads
from .ops import TABLE, UNARY_OPS
from .tape import Tape, assign, compile  # noqa: A004
from .value import Value, _leaf, topo_order  # noqa: F401 - _leaf: pickles of Values name it

BACKEND = "pure"
OPS = tuple(TABLE) + tuple(FUSED)  # every op id, as csrc/op_table.h names them
del TABLE, FUSED
