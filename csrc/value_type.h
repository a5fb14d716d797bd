/* The parts of the Value type that Cython cannot express: the GC slots that
 * see the C-level children and closure, the layout check that lets csrc/
 * reach the node inside a Value, and Python's "is this a real number" test. */
#ifndef MG_VALUE_TYPE_H
#define MG_VALUE_TYPE_H

#include <stddef.h>
#include <string.h>
#include "graph.h"
#include "ops.h"

/* Freed Values kept for reuse: an op whose result dies at once (a + b in a
 * loop, the temporaries of a training step) then costs no trip through the
 * allocator and the GC's allocation count. Only the GIL's holder touches it. */
#define MG_FREELIST_SIZE 65536  /* at most 5 MB kept */
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

/* Freeing a long chain would recurse through the children, one C frame per
 * node. Instead, a child whose last reference a dealloc drops goes on this
 * list, and the outermost dealloc frees the list in a loop: a 10^7-deep
 * graph frees with constant stack depth. Only the GIL's holder touches it. */
static PyObject **mg_doomed = NULL;
static Py_ssize_t mg_doomed_len = 0, mg_doomed_cap = 0;
static int mg_freeing = 0;
static PyTypeObject *mg_value_type;

static inline void mg_drop_child(PyObject *child)
{
    if (Py_REFCNT(child) == 1 && Py_TYPE(child) == mg_value_type) {
        if (mg_doomed_len == mg_doomed_cap) {
            Py_ssize_t cap = mg_doomed_cap ? 2 * mg_doomed_cap : 256;
            PyObject **p = PyMem_Realloc(mg_doomed, (size_t)cap * sizeof(PyObject *));
            if (p == NULL) {
                Py_DECREF(child);  /* out of memory: recurse, as CPython would */
                return;
            }
            mg_doomed = p;
            mg_doomed_cap = cap;
        }
        mg_doomed[mg_doomed_len++] = child;  /* our reference moves to the list */
        return;
    }
    Py_DECREF(child);
}

static void mg_value_dealloc(PyObject *o)
{
    PyObject_GC_UnTrack(o);
    mg_release_children_with(MG_NODE(o), mg_drop_child);
    Py_CLEAR(((mg_value *)o)->dict);
    if (mg_freelist_len < MG_FREELIST_SIZE && Py_TYPE(o) == mg_value_type)
        mg_freelist[mg_freelist_len++] = o;
    else
        Py_TYPE(o)->tp_free(o);
    if (!mg_freeing) {
        mg_freeing = 1;
        while (mg_doomed_len > 0)
            Py_DECREF(mg_doomed[--mg_doomed_len]);  /* its dealloc lists its own children */
        mg_freeing = 0;
    }
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

/* a + b and a * b on two plain Values, the ops a training step is made of,
 * straight from the number slots; anything else goes to Cython's slots. */
static binaryfunc mg_cython_nb_add, mg_cython_nb_multiply;

static PyObject *mg_binary(int op, PyObject *a, PyObject *b)
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
    (void)mg_forward(n);  /* + and * cannot fail */
    if (!mg_grad_enabled())
        mg_release_children(n);
    return out;
}

static PyObject *mg_nb_add(PyObject *a, PyObject *b)
{
    if (Py_TYPE(a) == mg_value_type && Py_TYPE(b) == mg_value_type)
        return mg_binary(MG_ADD, a, b);
    return mg_cython_nb_add(a, b);
}

static PyObject *mg_nb_multiply(PyObject *a, PyObject *b)
{
    if (Py_TYPE(a) == mg_value_type && Py_TYPE(b) == mg_value_type)
        return mg_binary(MG_MUL, a, b);
    return mg_cython_nb_multiply(a, b);
}

/* Value(x) for one float or int, what a training loop calls per input: a
 * leaf straight from the free list, past tp_new's argument tuple and
 * __init__'s parsing; Value(x) for anything else goes through type.__call__
 * as before. Only the exact Value type has this: tp_vectorcall is never
 * inherited, so subclasses are made the ordinary way. */
static PyObject *mg_value_call_generic(PyObject *type, PyObject *const *args, Py_ssize_t nargs,
                                       PyObject *kwnames)
{
    PyObject *argtuple, *kwargs = NULL, *out = NULL;
    Py_ssize_t i;
    argtuple = PyTuple_New(nargs);
    if (argtuple == NULL)
        return NULL;
    for (i = 0; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(argtuple, i, args[i]);
    }
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) {
        kwargs = PyDict_New();
        if (kwargs == NULL)
            goto done;
        for (i = 0; i < PyTuple_GET_SIZE(kwnames); i++)
            if (PyDict_SetItem(kwargs, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0)
                goto done;
    }
    out = PyType_Type.tp_call(type, argtuple, kwargs);
done:
    Py_DECREF(argtuple);
    Py_XDECREF(kwargs);
    return out;
}

static PyObject *mg_value_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                                     PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *out;
    double x;
    if (nargs != 1 || kwnames != NULL || (!PyFloat_CheckExact(args[0]) && !PyLong_CheckExact(args[0])))
        return mg_value_call_generic(type, args, nargs, kwnames);
    if (PyFloat_CheckExact(args[0])) {
        x = PyFloat_AS_DOUBLE(args[0]);
    } else {
        x = PyLong_AsDouble(args[0]);  /* OverflowError as float(int) gives */
        if (x == -1.0 && PyErr_Occurred())
            return NULL;
    }
    out = mg_value_alloc((PyTypeObject *)type);
    if (out != NULL)
        MG_NODE(out)->data = x;
    return out;
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
    mg_value_type = type;
    mg_cython_nb_add = type->tp_as_number->nb_add;
    mg_cython_nb_multiply = type->tp_as_number->nb_multiply;
    type->tp_as_number->nb_add = mg_nb_add;
    type->tp_as_number->nb_multiply = mg_nb_multiply;
    type->tp_dealloc = mg_value_dealloc;
    type->tp_traverse = mg_value_traverse;
    type->tp_clear = mg_value_clear;
    type->tp_vectorcall = mg_value_vectorcall;
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
    if (Py_TYPE(o) != mg_value_type)
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
