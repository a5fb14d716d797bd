/* Replaying a recorded graph: the topological order captured once, then
 * forward and backward passes over it with no Python object made per node. */
#ifndef MG_TAPE_H
#define MG_TAPE_H

#include "node.h"

/* Recomputes every interior node of order[0..n) from its children, in order.
 * ops[i] is the op code order[i] had when recorded: a node whose op changed
 * since (a _backward assigned) makes it stop with MG_ERR_STALE_TAPE. */
int mg_tape_forward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n);

/* Zeroes the interior grads, sets the root's (order[n-1]) to 1 and applies
 * every node's chain rule in reverse: root.backward() on a fresh graph. */
int mg_tape_backward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n);

#endif
