/* The Value type's C side: making nodes (inline: every op does it), and the
 * slots and state that value.c keeps (free list, deferred frees, fast paths).
 * The type itself is src/value.pxi's cdef class; mg_value_type_ready installs
 * the slots on it once, at import. */
#ifndef MG_VALUE_H
#define MG_VALUE_H

#include <string.h>
#include "graph.h"
#include "grad_mode.h"
#include "ops.h"

/* The exact Value type (Python subclasses are made the ordinary way). */
extern PyTypeObject *mg_value_type;

/* Freed Values kept for reuse: an op whose result dies at once (a + b in a
 * loop, the temporaries of a training step) then costs no trip through the
 * allocator and the GC's allocation count. Only the GIL's holder touches it. */
#define MG_FREE_VALUES_MAX 65536  /* at most 5 MB kept */
extern PyObject *mg_free_values[MG_FREE_VALUES_MAX];
extern int mg_free_values_count;

/* Installs the slots on the Cython-made type and checks its layout against
 * mg_value; 0, or -1 with an exception. */
int mg_value_type_ready(PyTypeObject *type, PyObject *probe);

/* A new leaf of exactly this C type, zeroed, not tracked by the GC: the fast
 * path every op takes (tp_new would track it and parse an argument tuple). */
static inline PyObject *mg_value_alloc(PyTypeObject *type)
{
    mg_value *v;
    if (mg_free_values_count > 0) {
        v = (mg_value *)mg_free_values[--mg_free_values_count];
        (void)PyObject_Init((PyObject *)v, type);
    } else {
        v = PyObject_GC_New(mg_value, type);
        if (v == NULL)
            return NULL;
    }
    memset(&v->node, 0, sizeof(mg_node));
    v->node.flags = MG_INITIALISED;
    v->dict = NULL;
    return (PyObject *)v;
}

/* --- making nodes. Children and op are stored before anything can fail, so
 * a failed op simply frees its node: no existing Value is touched. Each
 * returns a new reference, or NULL with an exception set. */

static inline PyObject *mg_new_leaf(double x)
{
    PyObject *out = mg_value_alloc(mg_value_type);
    if (out != NULL)
        MG_NODE(out)->data = x;
    return out;
}

/* out with its children in place: computes its data and, under no_grad,
 * forgets its children. 0, or -1 with an exception and out's data unchanged. */
static inline int mg_compute(PyObject *out)
{
    int err = mg_forward(MG_NODE(out));
    if (err != MG_OK)
        return mg_raise(err);
    if (!mg_grad_enabled())
        mg_release_children(MG_NODE(out));
    return 0;
}

/* mg_compute, for a new node: returns out, or frees it and returns NULL. */
static inline PyObject *mg_computed(PyObject *out)
{
    if (mg_compute(out) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static inline PyObject *mg_new_binary(int op, PyObject *a, PyObject *b)
{
    PyObject *out = mg_value_alloc(mg_value_type);
    mg_node *n;
    if (out == NULL)
        return NULL;
    n = MG_NODE(out);
    Py_INCREF(a);
    Py_INCREF(b);
    n->u.kids[0] = a;
    n->u.kids[1] = b;
    n->op = op;
    return mg_computed(out);
}

static inline PyObject *mg_new_unary(int op, PyObject *a)
{
    PyObject *out = mg_value_alloc(mg_value_type);
    if (out == NULL)
        return NULL;
    Py_INCREF(a);
    MG_NODE(out)->u.kids[0] = a;
    MG_NODE(out)->op = op;
    return mg_computed(out);
}

static inline PyObject *mg_new_pow(PyObject *base, double exponent, int integral)
{
    PyObject *out = mg_value_alloc(mg_value_type);
    mg_node *n;
    if (out == NULL)
        return NULL;
    n = MG_NODE(out);
    Py_INCREF(base);
    n->u.pow.base = base;
    n->u.pow.exponent = exponent;
    n->op = MG_POW;
    if (integral)
        n->flags |= MG_INT_EXPONENT;
    return mg_computed(out);
}

/* A node with room for count children, all NULL until the caller fills
 * them; then mg_compute. */
static inline PyObject *mg_new_nary(int op, Py_ssize_t count)
{
    mg_nary *e = mg_nary_new(count);
    PyObject *out;
    if (e == NULL)
        return PyErr_NoMemory();
    out = mg_value_alloc(mg_value_type);
    if (out == NULL) {
        PyMem_Free(e);
        return NULL;
    }
    MG_NODE(out)->u.nary = e;
    MG_NODE(out)->op = op;
    return out;
}

/* --- the GC. Ordinary nodes are untracked; one that gains a dict or a
 * closure may close a cycle and must be seen. */

static inline void mg_track(PyObject *o)
{
    if (!PyObject_GC_IsTracked(o))
        PyObject_GC_Track(o);
}

static inline void mg_track_if_dict(PyObject *o)
{
    if (((mg_value *)o)->dict != NULL)
        mg_track(o);
}

/* After Value(...): tp_new made a tracked object with an empty dict; a plain
 * Value needs neither until it is given an attribute. Subclass instances stay
 * tracked: their own slots may hold anything. */
static inline void mg_untrack_new_leaf(PyObject *o)
{
    mg_value *v = (mg_value *)o;
    if (Py_TYPE(o) != mg_value_type)
        return;
    if (v->dict != NULL && PyDict_CheckExact(v->dict) && PyDict_GET_SIZE(v->dict) == 0)
        Py_CLEAR(v->dict);
    if (v->dict == NULL)
        PyObject_GC_UnTrack(o);
}

/* --- Python's number rules. */

/* What PyFloat_AsDouble accepts: floats, ints, and any type with __float__
 * or __index__ (numpy scalars, Fraction, Decimal, bool). */
static inline int mg_is_real(PyObject *x)
{
    PyNumberMethods *nb;
    if (PyFloat_Check(x) || PyLong_Check(x))
        return 1;
    nb = Py_TYPE(x)->tp_as_number;
    return nb != NULL && (nb->nb_float != NULL || nb->nb_index != NULL);
}

/* An int-like exponent, so that _op reads '**2' as micrograd's does. */
static inline int mg_is_integral(PyObject *x)
{
    PyNumberMethods *nb;
    if (PyLong_Check(x))
        return 1;
    if (PyFloat_Check(x))
        return 0;
    nb = Py_TYPE(x)->tp_as_number;
    return nb != NULL && nb->nb_index != NULL;
}

#endif
