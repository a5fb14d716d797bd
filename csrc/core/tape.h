/* Replaying a recorded graph: the topological order captured once, then
 * forward and backward passes over it with no Python object made per node. */
#ifndef MG_TAPE_H
#define MG_TAPE_H

#include "core/node.h"

/* Recomputes every interior node of order[0..n) from its children, in order.
 * ops[i] is the op code order[i] had when recorded: a node whose op changed
 * since (a _backward assigned) makes it stop with MG_ERR_STALE_TAPE. With
 * saved (room for n doubles), an error (a code, or MG_ERR_PYTHON for a
 * KeyboardInterrupt: a long replay looks for signals) puts every node's
 * data back as it was; without, the caller does (evaluate). */
int mg_tape_forward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n, double *saved);

/* Zeroes the interior grads, sets the root's (order[n-1]) to 1 and applies
 * every node's chain rule in reverse: root.backward() on a fresh graph. On
 * an error every grad is put back from saved (room for n doubles). */
int mg_tape_backward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n, double *saved);

#endif
