/* The node: one scalar of the autograd graph, embedded in each Python Value.
 *
 * (csrc/README.md says what each folder of the C holds.)
 *
 * Children are strong references to other Values, and a child is always
 * older than its parent, so the graph itself has no cycles. Ordinary nodes are
 * therefore invisible to Python's cyclic GC; only nodes that carry a Python
 * closure or attributes (which can close a cycle) are tracked.
 */
#ifndef MG_NODE_H
#define MG_NODE_H

#include <Python.h>
#include <stdint.h>
#include "ops/op_table.h"
#include "ops/errors.h"

/* flags */
enum {
    MG_INITIALISED = 1,     /* __init__ ran (it may not run twice) */
    MG_INT_EXPONENT = 2,    /* MG_POW: exponent was an int, so _op is '**2' not '**2.0' */
    MG_START_IS_CHILD = 4,  /* MG_SUM: children[0] is the start Value */
    MG_HAS_ATTRIBUTES = 8,  /* attributes.c holds an attribute dict for it */
};

/* The children of a node with the MG_CHILD_LIST layout, and its constants. */
typedef struct mg_nary {
    Py_ssize_t count;       /* number of children */
    Py_ssize_t pairs;       /* MG_DOT: (w, x) pairs; children are ws, xs[, bias] */
    union {                 /* the op's numbers */
        double start;       /* MG_DOT, MG_SUM: the number the sum starts from */
        struct { double eps, mean_square; } rms;  /* MG_RMS_SCALE; mean_square:
                                                     from the last forward */
        struct { double shift, total; } exps;     /* MG_EXPSUM, MG_NLL: max(x)
                                 and sum(exp(x - max(x))), from the last forward */
    };
    PyObject *backward;     /* MG_CUSTOM: the Python _backward, or NULL */
    PyObject *op_name;      /* MG_CUSTOM: the _op string */
    PyObject *local_grads;  /* MG_CUSTOM made as Value(data, children, local_grads),
                               microgpt's way: a tuple of floats, or NULL */
    PyObject *children[];   /* strong references */
} mg_nary;

typedef struct mg_node {
    double data;
    double grad;
    uint64_t op : 8;
    uint64_t flags : 8;
    uint64_t epoch : 48;  /* last topological sort that reached this node */
    union {               /* per the op's layout in op_table.h */
        PyObject *kids[2];                               /* one or two children */
        struct { PyObject *base; double exponent; } pow; /* base and exponent */
        mg_nary *nary;                                   /* a child list */
    } u;
} mg_node;

/* The C layout of the Value type (src/value.pxi declares the same fields in
 * the same order; the type's set-up checks the offsets at import). With the
 * GC's header that is 16 + 16 + 40 + 8 = 80 bytes, one pymalloc size class;
 * attributes live outside it (attributes.h). */
typedef struct mg_value {
    PyObject_HEAD
    mg_node node;
    PyObject *weakrefs;  /* __weakref__ */
} mg_value;

#define MG_NODE(o) (&((mg_value *)(o))->node)

/* The children of n, in the order the graph walks them. */
static inline Py_ssize_t mg_children(const mg_node *n, PyObject *const **kids)
{
    switch ((enum mg_children_layout)mg_op_layout[n->op]) {
    case MG_NO_CHILDREN:
        return 0;
    case MG_ONE_CHILD:
        *kids = n->u.kids;
        return 1;
    case MG_TWO_CHILDREN:
        *kids = n->u.kids;
        return 2;
    case MG_BASE_AND_EXPONENT:
        *kids = &n->u.pow.base;
        return 1;
    case MG_CHILD_LIST:
        if (n->u.nary == NULL)
            return 0;
        *kids = n->u.nary->children;
        return n->u.nary->count;
    }
    return 0;
}

#endif
