/* The node: one scalar of the autograd graph, embedded in each Python Value.
 *
 * Children are strong references to other Values, and a child is always
 * older than its parent, so the graph itself has no cycles. Ordinary nodes are
 * therefore invisible to Python's cyclic GC; only nodes that carry a Python
 * closure or an attribute dict (which can close a cycle) are tracked.
 */
#ifndef MG_NODE_H
#define MG_NODE_H

#include <Python.h>
#include <stdint.h>

/* Op codes. Keep in step with _OP_NAMES in src/_engine.pyx. */
enum mg_op {
    MG_LEAF = 0,
    MG_ADD,     /* a + b */
    MG_MUL,     /* a * b */
    MG_POW,     /* a ** exponent, exponent a constant */
    MG_POWV,    /* a ** b, b a Value */
    MG_RELU,
    MG_TANH,
    MG_EXP,
    MG_LOG,
    MG_SIGMOID,
    MG_DOT,     /* start + w0*x0 + w1*x1 + ...: n-ary */
    MG_SUM,     /* start + v0 + v1 + ...: n-ary */
    MG_CUSTOM,  /* built by Value(data, children, op): a Python _backward, no forward */
    MG_NUM_OPS
};

/* flags */
enum {
    MG_INITIALISED = 1,     /* __init__ ran (it may not run twice) */
    MG_INT_EXPONENT = 2,    /* MG_POW: exponent was an int, so _op is '**2' not '**2.0' */
    MG_START_IS_CHILD = 4,  /* MG_SUM: items[0] is the start Value */
};

/* Storage for nodes with any number of children (dot, sum, custom ops). */
typedef struct mg_extra {
    PyObject *backward;   /* MG_CUSTOM: the Python closure, or NULL */
    PyObject *op_name;    /* MG_CUSTOM: the _op string */
    double start;         /* MG_DOT, MG_SUM: the constant the sum starts from */
    Py_ssize_t pairs;     /* MG_DOT: number of (w, x) pairs; items = ws, xs[, bias] */
    Py_ssize_t n;         /* number of children */
    PyObject *items[];    /* the children, strong references */
} mg_extra;

typedef struct mg_node {
    double data;
    double grad;
    uint64_t op : 8;
    uint64_t flags : 8;
    uint64_t epoch : 48;  /* last topological sort that reached this node */
    union {
        PyObject *kids[2];                              /* unary and binary ops */
        struct { PyObject *base; double exponent; } pow; /* MG_POW */
        mg_extra *extra;                                 /* dot, sum, custom */
    } u;
} mg_node;

/* The layout of the Cython Value type; _engine.pyx checks it at import. */
typedef struct mg_value {
    PyObject_HEAD
    mg_node node;
    PyObject *dict;
} mg_value;

#define MG_NODE(o) (&((mg_value *)(o))->node)

static inline int mg_is_nary(const mg_node *n)
{
    return n->op >= MG_DOT;
}

/* The children of n, in the order the graph walks them. */
static inline Py_ssize_t mg_children(const mg_node *n, PyObject *const **kids)
{
    switch (n->op) {
    case MG_LEAF:
        return 0;
    case MG_ADD: case MG_MUL: case MG_POWV:
        *kids = n->u.kids;
        return 2;
    case MG_DOT: case MG_SUM: case MG_CUSTOM:
        if (n->u.extra == NULL)
            return 0;
        *kids = n->u.extra->items;
        return n->u.extra->n;
    default:  /* unary */
        *kids = n->u.kids;
        return 1;
    }
}

/* Error codes of the C layer; _engine.pyx turns them into Python exceptions
 * of the type Python's own float arithmetic raises. */
enum mg_error {
    MG_OK = 0,
    MG_ERR_PYTHON,        /* a Python exception is already set */
    MG_ERR_NO_MEMORY,
    MG_ERR_ZERO_POW,      /* 0.0 ** negative: ZeroDivisionError */
    MG_ERR_POW_RANGE,     /* ** overflowed: OverflowError */
    MG_ERR_COMPLEX,       /* negative ** fractional: ValueError */
    MG_ERR_MATH_RANGE,    /* math.exp overflowed: OverflowError */
    MG_ERR_MATH_DOMAIN,   /* math.log outside its domain: ValueError */
    MG_ERR_ZERO_DIVISION, /* x / 0.0: ZeroDivisionError */
    MG_ERR_STALE_TAPE,    /* a recorded node changed op since compile: RuntimeError */
};

#endif
