/* Whole-graph operations over nodes: topological order, backward, and the
 * bookkeeping of a node's children (release, GC traversal). */
#ifndef MG_GRAPH_H
#define MG_GRAPH_H

#include "node.h"

/* Every node reachable from root, children before parents, in the order of
 * micrograd's recursive build_topo. Returns the count and an array of
 * borrowed references in *order, of capacity *cap, to be handed back with
 * mg_free_order; or -1 if out of memory. */
Py_ssize_t mg_topo_order(PyObject *root, PyObject ***order, Py_ssize_t *cap);
void mg_free_order(PyObject **order, Py_ssize_t cap);

/* root.grad = 1, then every node's local chain rule in reverse topological order. */
int mg_backward(PyObject *root);

/* A new mg_extra for n children (items zeroed), or NULL if out of memory. */
mg_extra *mg_extra_new(Py_ssize_t n);

/* Makes n an MG_CUSTOM node (moving its children into an extra) and stores
 * the closure fn. Returns MG_OK or MG_ERR_NO_MEMORY. */
int mg_set_custom_backward(mg_node *n, PyObject *fn, PyObject *op_name);

/* Drops every reference n holds and makes it a leaf (no_grad, dealloc);
 * the _with form lets dealloc decide how each child is let go. It is inline
 * so that dealloc's drop, called per child, is inlined too. */
void mg_release_children(mg_node *n);

static inline void mg_release_children_with(mg_node *n, void (*drop)(PyObject *))
{
    switch (n->op) {
    case MG_LEAF:
        break;
    case MG_ADD: case MG_MUL: case MG_POWV:
        drop(n->u.kids[1]);
        /* fall through */
    case MG_POW: case MG_RELU: case MG_TANH: case MG_EXP: case MG_LOG: case MG_SIGMOID:
        drop(n->u.kids[0]);
        break;
    default: {
        mg_extra *e = n->u.extra;
        Py_ssize_t i;
        n->u.extra = NULL;
        if (e == NULL)
            break;
        for (i = 0; i < e->n; i++)
            if (e->items[i] != NULL)
                drop(e->items[i]);
        Py_XDECREF(e->backward);
        Py_XDECREF(e->op_name);
        PyMem_Free(e);
    }
    }
    n->op = MG_LEAF;
    n->flags &= MG_INITIALISED;
}

/* tp_traverse / tp_clear helpers: children, closure and op name. */
int mg_traverse_children(mg_node *n, visitproc visit, void *arg);
void mg_clear_closure(mg_node *n);

/* Per-thread recording switch (micrograd_fast.no_grad). Every op asks, so the
 * common answer comes from a plain global: no thread is inside no_grad. */
extern int mg_threads_without_grad;
int mg_thread_grad_enabled(void);
void mg_set_grad_enabled(int enabled);

static inline int mg_grad_enabled(void)
{
    return mg_threads_without_grad == 0 || mg_thread_grad_enabled();
}

#endif
