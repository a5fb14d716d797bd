/* Whole-graph operations over nodes: topological order, backward, and the
 * bookkeeping of a node's children (child lists, release, GC traversal). */
#ifndef MG_GRAPH_H
#define MG_GRAPH_H

#include "core/node.h"

/* A loop over user input that can run for seconds (a sort, sweep or replay
 * of millions of nodes, assign's walk) looks for Ctrl-C this often: a
 * KeyboardInterrupt, and what was changed is put back. */
#define MG_SIGNAL_EVERY_MASK (((Py_ssize_t)1 << 18) - 1)

/* For a hot path that must not become a call (the compiler would not
 * inline a helper that several paths share). */
#if defined(__GNUC__) || defined(__clang__)
#define MG_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MG_ALWAYS_INLINE inline
#endif

/* Every node reachable from root, children before parents, in the order of
 * micrograd's recursive build_topo. Returns the count and an array of
 * borrowed references in *order, of capacity *cap, to be handed back with
 * mg_free_order; or -1 with an exception (MemoryError, or Ctrl-C's
 * KeyboardInterrupt: a long sort looks for signals). */
Py_ssize_t mg_topo_order(PyObject *root, PyObject ***order, Py_ssize_t *cap);
void mg_free_order(PyObject **order, Py_ssize_t cap);

/* root.grad = 1, then every node's local chain rule in reverse topological
 * order. On an error (a code, or MG_ERR_PYTHON with the exception set: a
 * custom _backward's, a KeyboardInterrupt) every grad of the graph is put
 * back as it was before the call. */
int mg_backward(PyObject *root);

/* A new child list for count children (all NULL), or NULL if out of memory. */
mg_nary *mg_nary_new(Py_ssize_t count);

/* Makes n an MG_CUSTOM node (moving its children into a child list) and
 * stores the closure fn. Returns MG_OK or MG_ERR_NO_MEMORY. */
int mg_set_custom_backward(mg_node *n, PyObject *fn, PyObject *op_name);

/* Drops every reference n holds and makes it a leaf (no_grad, dealloc);
 * the _with form lets dealloc decide how each child is let go. It is inline
 * so that dealloc's drop, called per child, is inlined too. */
void mg_release_children(mg_node *n);

static inline void mg_release_children_with(mg_node *n, void (*drop)(PyObject *))
{
    switch (mg_op_layout[n->op]) {
    case MG_TWO_CHILDREN:
        drop(n->u.kids[1]);
        /* fall through */
    case MG_ONE_CHILD:
        drop(n->u.kids[0]);
        break;
    case MG_BASE_AND_EXPONENT:
        drop(n->u.pow.base);
        break;
    case MG_CHILD_LIST: {
        mg_nary *e = n->u.nary;
        Py_ssize_t i;
        n->u.nary = NULL;
        if (e == NULL)
            break;
        for (i = 0; i < e->count; i++)
            if (e->children[i] != NULL)
                drop(e->children[i]);
        Py_XDECREF(e->backward);
        Py_XDECREF(e->op_name);
        Py_XDECREF(e->local_grads);
        PyMem_Free(e);
        break;
    }
    default:
        break;
    }
    n->op = MG_LEAF;
    n->flags &= MG_INITIALISED | MG_HAS_ATTRIBUTES;  /* the op's flags go; the node's stay */
}

/* tp_traverse / tp_clear helpers: children, closure and op name. */
int mg_traverse_children(mg_node *n, visitproc visit, void *arg);
void mg_clear_closure(mg_node *n);

#endif
