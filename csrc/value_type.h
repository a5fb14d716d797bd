/* The parts of the Value type that Cython cannot express: the GC slots that
 * see the C-level children and closure, the layout check that lets csrc/
 * reach the node inside a Value, and Python's "is this a real number" test. */
#ifndef MG_VALUE_TYPE_H
#define MG_VALUE_TYPE_H

#include <stddef.h>
#include <string.h>
#include "graph.h"

/* Freed Values kept for reuse: an op whose result dies at once (a + b in a
 * loop, the temporaries of a training step) then costs no trip through the
 * allocator and the GC's allocation count. Only the GIL's holder touches it. */
#define MG_FREELIST_SIZE 1024
static PyObject *mg_freelist[MG_FREELIST_SIZE];
static int mg_freelist_len = 0;

/* A new Value of exactly this C type, zeroed, not tracked by the GC: the fast
 * path every op takes (tp_new would track it and parse an argument tuple). */
static inline PyObject *mg_value_alloc(PyTypeObject *type)
{
    mg_value *v;
    if (mg_freelist_len > 0) {
        v = (mg_value *)mg_freelist[--mg_freelist_len];
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

/* Freeing a long chain recurses through the children; the trashcan bounds
 * that recursion (it defers objects past a fixed depth), so a 10^7-deep
 * graph frees on any C stack. */
static void mg_value_dealloc(PyObject *o)
{
    PyObject_GC_UnTrack(o);
    Py_TRASHCAN_BEGIN(o, mg_value_dealloc)
    mg_release_children(MG_NODE(o));
    Py_CLEAR(((mg_value *)o)->dict);
    if (mg_freelist_len < MG_FREELIST_SIZE && Py_TYPE(o)->tp_dealloc == mg_value_dealloc)
        mg_freelist[mg_freelist_len++] = o;
    else
        Py_TYPE(o)->tp_free(o);
    Py_TRASHCAN_END
}

static int mg_value_traverse(PyObject *o, visitproc visit, void *arg)
{
    Py_VISIT(((mg_value *)o)->dict);
    return mg_traverse_children(MG_NODE(o), visit, arg);
}

/* Breaks cycles through a closure or the dict; children stay (they cannot
 * form a cycle by themselves: a child is always older than its parent). */
static int mg_value_clear(PyObject *o)
{
    mg_clear_closure(MG_NODE(o));
    Py_CLEAR(((mg_value *)o)->dict);
    return 0;
}

/* Installs the slots above and checks the layout; 0, or -1 with an exception. */
static int mg_value_type_ready(PyTypeObject *type, PyObject *probe)
{
    if ((char *)MG_NODE(probe) - (char *)probe != offsetof(mg_value, node)
        || type->tp_dictoffset != (Py_ssize_t)offsetof(mg_value, dict)
        || type->tp_basicsize != (Py_ssize_t)sizeof(mg_value)
        || !(type->tp_flags & Py_TPFLAGS_HAVE_GC)) {
        PyErr_SetString(PyExc_ImportError,
                        "micrograd_fast._engine: Value layout does not match csrc/node.h");
        return -1;
    }
    type->tp_dealloc = mg_value_dealloc;
    type->tp_traverse = mg_value_traverse;
    type->tp_clear = mg_value_clear;
    return 0;
}

/* Ordinary nodes are untracked; one that gains a dict or closure may close a
 * cycle and must be seen by the GC. */
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
    if (Py_TYPE(o)->tp_dealloc != mg_value_dealloc)
        return;
    if (v->dict != NULL && PyDict_CheckExact(v->dict) && PyDict_GET_SIZE(v->dict) == 0)
        Py_CLEAR(v->dict);
    if (v->dict == NULL)
        PyObject_GC_UnTrack(o);
}

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
