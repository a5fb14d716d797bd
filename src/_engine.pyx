# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True, embedsignature=True
"""The compiled engine: micrograd's Value over C nodes (csrc/).

Arithmetic on Values builds a node with no Python closure, set or tuple; each
elementwise op is a row of csrc/ops/op_table.h (its forward and local derivatives,
from which csrc/core/ops.h makes the forward, the chain rule and _local_grads),
backward() sorts and sweeps the graph in C. Semantics are those of the
reference engine (micrograd_fast/reference/), bit for bit.

One module, split by job (the .pxi files are pasted in here by Cython):
  nodes.pxi    making nodes from Python objects: numbers, lists of children
  value.pxi    the Value type
  fused.pxi    n-ary nodes: dot, sum, dense, linear, and DensePlan (a model in
               one call)
  transformer.pxi  a small GPT's fused ops: rmsnorm, softmax, log_softmax,
               cross_entropy, embedding
  tape.pxi     topological order, Tape and compile, assign
  kernels.pxi  what the libraries run over many Values: optimizer updates,
               batch cross-entropy, the no_grad switch
  grad.pxi     grad(outputs, inputs, ...): derivatives as numbers or graphs
Its public names are exactly micrograd_fast.engine.API, as the reference's
are (micrograd_fast/reference/); only micrograd_fast/engine.py imports
either.
"""

cimport cython
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.math cimport sqrt
from libc.stdint cimport uint8_t

from mg_core cimport *

BACKEND = "compiled"


include "nodes.pxi"
include "value.pxi"
include "fused.pxi"
include "transformer.pxi"
include "tape.pxi"
include "batch_tape.pxi"
include "kernels.pxi"
include "grad.pxi"

mg_value_type_ready(<PyTypeObject *>Value)  # before any Value exists; makes the op ids

# The ops' ids, from csrc/ops/op_table.h: every op that computes, and the unary
# ones, which are also Value's methods.
OPS = mg_computing_op_ids()
UNARY_OPS = mg_unary_op_ids()
