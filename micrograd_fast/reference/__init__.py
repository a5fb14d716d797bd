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

from .batch_tape import BatchTape
from .derivatives import grad, hessian_vector_product
from .fused import FUSED, cross_entropy, dense, dot, embedding, linear, log_softmax, rmsnorm, softmax
from .fused import sum  # noqa: A004 - the API's name
from .kernels import DensePlan, adam_update, nll_rows, sgd_update, zero_grads
from .ops import TABLE, UNARY_OPS
from .tape import Tape, assign, compile  # noqa: A004
from .value import Value, _leaf, grad_enabled, set_grad_enabled, topo_order  # noqa: F401 - pickles name _leaf

BACKEND = "pure"
OPS = tuple(TABLE) + tuple(FUSED)  # every op id, as csrc/ops/op_table.h names them
del TABLE, FUSED
