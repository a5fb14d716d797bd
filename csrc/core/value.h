/* The Value type's C side: making nodes (inline: every op does it), and the
 * slots and state that value.c keeps (free list, deferred frees, fast paths).
 * The type itself is src/value.pxi's cdef class; mg_value_type_ready installs
 * the slots on it once, at import. */
#ifndef MG_VALUE_H
#define MG_VALUE_H

#include <string.h>
#include "core/graph.h"
#include "core/grad_mode.h"
#include "core/ops.h"
#include "core/process_state.h"  /* the free list */

/* The exact Value type (Python subclasses are made the ordinary way). */
extern PyTypeObject *mg_value_type;

/* Checks the Cython-made type's layout against mg_value and installs the
 * slots below; called once, before any Value exists. 0, or -1 with an
 * exception. */
int mg_value_type_ready(PyTypeObject *type);

/* Adds a method per unary op (v.relu(), ...) and __abs__ to the type
 * (unary_methods.c). 0, or -1 with an exception. */
int mg_add_unary_methods(PyTypeObject *type);

/* micrograd's operators, with a Value on either side and a Value or a real
 * number on the other (NotImplemented otherwise), building micrograd's exact
 * graph: a - b is a + (b * -1), a / b is a * b**-1, -a is a * -1. They are
 * the type's number slots; value.pxi's __add__ etc. call them too. */
PyObject *mg_value_add(PyObject *a, PyObject *b);
PyObject *mg_value_subtract(PyObject *a, PyObject *b);
PyObject *mg_value_multiply(PyObject *a, PyObject *b);
PyObject *mg_value_true_divide(PyObject *a, PyObject *b);
PyObject *mg_value_power(PyObject *a, PyObject *b, PyObject *modulo);
PyObject *mg_value_negative(PyObject *a);

/* o's attribute dict (borrowed): a subclass instance's own __dict__, or
 * attributes.c's entry; NULL if it has none, unless make, which makes one
 * (GC-tracking o: a dict can close a cycle); NULL with an exception if that
 * fails. */
PyObject *mg_value_attributes(PyObject *o, int make);

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
    v->weakrefs = NULL;
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

static inline int mg_is_tracked(PyObject *o);
static inline int mg_has_tracked_child(PyObject *o);

/* out with its children in place: computes its data and, under no_grad,
 * forgets its children; else tracks it if a child is tracked (see "the GC"
 * below). 0, or -1 with an exception and out's data unchanged. */
static inline int mg_compute_with(PyObject *out, int tracked_child)
{
    int err = mg_forward(MG_NODE(out));
    if (err != MG_OK)
        return mg_raise(err);
    if (!mg_grad_enabled())
        mg_release_children(MG_NODE(out));
    else if (tracked_child)
        PyObject_GC_Track(out);
    return 0;
}

/* mg_compute_with, for a node whose children are not at hand (n-ary). */
static inline int mg_compute(PyObject *out)
{
    return mg_compute_with(out, mg_has_tracked_child(out));
}

/* mg_compute_with, for a new node: returns out, or frees it and returns NULL. */
static inline PyObject *mg_computed(PyObject *out, int tracked_child)
{
    if (mg_compute_with(out, tracked_child) < 0) {
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
    return mg_computed(out, mg_is_tracked(a) || mg_is_tracked(b));
}

static inline PyObject *mg_new_unary(int op, PyObject *a)
{
    PyObject *out = mg_value_alloc(mg_value_type);
    if (out == NULL)
        return NULL;
    Py_INCREF(a);
    MG_NODE(out)->u.kids[0] = a;
    MG_NODE(out)->op = op;
    return mg_computed(out, mg_is_tracked(a));
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
    return mg_computed(out, mg_is_tracked(base));
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

/* --- the GC. A child is always older than its parent, so nodes alone make
 * no cycle and an ordinary node stays untracked. A node is tracked when it
 * can be on a cycle: it has attributes or a closure (which may lead back to
 * it), or a tracked child (whose attributes or closure may lead back to
 * this node). */

/* Whether the GC tracks o, a Value: the GC header's _gc_next is set, as
 * CPython's own _PyObject_GC_IS_TRACKED reads it on 3.9-3.13 with the GIL;
 * elsewhere the API call. */
static inline int mg_is_tracked(PyObject *o)
{
#if PY_VERSION_HEX >= 0x03090000 && PY_VERSION_HEX < 0x030E0000 && !defined(Py_GIL_DISABLED)
    return ((const uintptr_t *)o)[-2] != 0;
#else
    return PyObject_GC_IsTracked(o);
#endif
}

static inline void mg_track(PyObject *o)
{
    if (!mg_is_tracked(o))
        PyObject_GC_Track(o);
}

static inline int mg_has_tracked_child(PyObject *o)
{
    PyObject *const *kids;
    Py_ssize_t i, n = mg_children(MG_NODE(o), &kids);
    for (i = 0; i < n; i++)
        if (kids[i] != NULL && mg_is_tracked(kids[i]))
            return 1;
    return 0;
}

/* After Value(...): tp_new made a tracked object; a plain Value needs no
 * tracking (see above). Subclass instances stay tracked: their own slots
 * and dict may hold anything. */
static inline void mg_untrack_new_leaf(PyObject *o)
{
    if (Py_TYPE(o) == mg_value_type && !(MG_NODE(o)->flags & MG_HAS_ATTRIBUTES)
        && mg_is_tracked(o) && !mg_has_tracked_child(o))
        PyObject_GC_UnTrack(o);
}

/* --- the operand rule (micrograd_fast/checks.py): a Value, or a real number
 * as Python's float arithmetic sees it. */

/* o is a Value (or a subclass's instance). */
static inline int mg_is_value(PyObject *o)
{
    return Py_TYPE(o) == mg_value_type || PyObject_TypeCheck(o, mg_value_type);
}

/* Hands the C side checks.real_number and checks.real_operand (for a
 * number that is not a float or an int); src/nodes.pxi calls it at import. */
void mg_set_operand_rule(PyObject *real_number, PyObject *real_operand);

/* The rest of mg_as_real (operators.c): anything not a float or an int. */
int mg_as_real_by_checks(PyObject *x, double *out);

/* x by the operand rule: 1 with *out set; 0 if x is no number at all (an
 * operator then returns NotImplemented); -1 with an exception (TypeError for
 * a complex number, OverflowError for an int past the float range). A float
 * subclass counts by its C value, as float.__add__ reads it, never by its
 * __float__; an int (bool included) as float(int) converts it. */
static inline int mg_as_real(PyObject *x, double *out)
{
    /* in this order: PyFloat_Check walks the bases, the others read flags */
    if (PyFloat_CheckExact(x)) {
        *out = PyFloat_AS_DOUBLE(x);
        return 1;
    }
    if (PyLong_Check(x)) {
        *out = PyLong_AsDouble(x);
        return (*out == -1.0 && PyErr_Occurred()) ? -1 : 1;
    }
    if (PyFloat_Check(x)) {
        *out = PyFloat_AS_DOUBLE(x);
        return 1;
    }
    return mg_as_real_by_checks(x, out);
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

/* The rest of mg_value_ready (operators.c): a Value a subclass made, or one
 * whose __init__ never ran. AttributeError if its __init__ never ran (as
 * upstream's self.data was never assigned); a data property of the
 * subclass is read (by the operand rule) into the node, what the C ops read.
 * 0, or -1 with an exception. */
int mg_value_ready_slow(PyObject *v);

/* v, a Value, as an operand of an op: an exact, initialised Value costs one
 * flag test. 0, or -1 with an exception. */
static inline int mg_value_ready(PyObject *v)
{
    if (Py_TYPE(v) == mg_value_type && (MG_NODE(v)->flags & MG_INITIALISED))
        return 0;
    return mg_value_ready_slow(v);
}

#endif
