/* The parts of the Value type that Cython cannot express: freeing without
 * recursion, the GC slots that see the C-level children and closure, and
 * the fast paths of a + b, a * b and Value(x). */
#include <stddef.h>
#include "value.h"

PyTypeObject *mg_value_type = NULL;
PyObject *mg_free_values[MG_FREE_VALUES_MAX];
int mg_free_values_count = 0;

/* Freeing a long chain would recurse through the children, one C frame per
 * node. Instead, a child whose last reference a dealloc drops goes on this
 * list, and the outermost dealloc frees the list in a loop: a 10^7-deep
 * graph frees with constant stack depth. Only the GIL's holder touches it. */
static PyObject **doomed = NULL;
static Py_ssize_t doomed_count = 0, doomed_cap = 0;
static int freeing_doomed = 0;

static inline void drop_child(PyObject *child)
{
    if (Py_REFCNT(child) == 1 && Py_TYPE(child) == mg_value_type) {
        if (doomed_count == doomed_cap) {
            Py_ssize_t cap = doomed_cap ? 2 * doomed_cap : 256;
            PyObject **p = PyMem_Realloc(doomed, (size_t)cap * sizeof(PyObject *));
            if (p == NULL) {
                Py_DECREF(child);  /* out of memory: recurse, as CPython would */
                return;
            }
            doomed = p;
            doomed_cap = cap;
        }
        doomed[doomed_count++] = child;  /* our reference moves to the list */
        return;
    }
    Py_DECREF(child);
}

static void value_dealloc(PyObject *o)
{
    PyObject_GC_UnTrack(o);
    mg_release_children_with(MG_NODE(o), drop_child);
    Py_CLEAR(((mg_value *)o)->dict);
    if (mg_free_values_count < MG_FREE_VALUES_MAX && Py_TYPE(o) == mg_value_type)
        mg_free_values[mg_free_values_count++] = o;
    else
        Py_TYPE(o)->tp_free(o);
    if (!freeing_doomed) {
        freeing_doomed = 1;
        while (doomed_count > 0)
            Py_DECREF(doomed[--doomed_count]);  /* its dealloc lists its own children */
        freeing_doomed = 0;
    }
}

static int value_traverse(PyObject *o, visitproc visit, void *arg)
{
    Py_VISIT(((mg_value *)o)->dict);
    return mg_traverse_children(MG_NODE(o), visit, arg);
}

/* Breaks cycles through a closure or the dict; children stay (they cannot
 * form a cycle by themselves: a child is always older than its parent). */
static int value_clear(PyObject *o)
{
    mg_clear_closure(MG_NODE(o));
    Py_CLEAR(((mg_value *)o)->dict);
    return 0;
}

/* a + b and a * b on two plain Values, the ops a training step is made of,
 * straight from the number slots; anything else goes to Cython's slots. */
static binaryfunc cython_nb_add, cython_nb_multiply;

static PyObject *value_nb_add(PyObject *a, PyObject *b)
{
    if (Py_TYPE(a) == mg_value_type && Py_TYPE(b) == mg_value_type)
        return mg_new_binary(MG_ADD, a, b);
    return cython_nb_add(a, b);
}

static PyObject *value_nb_multiply(PyObject *a, PyObject *b)
{
    if (Py_TYPE(a) == mg_value_type && Py_TYPE(b) == mg_value_type)
        return mg_new_binary(MG_MUL, a, b);
    return cython_nb_multiply(a, b);
}

/* Value(x) for one float or int, what a training loop calls per input: a
 * leaf straight from the free list, past tp_new's argument tuple and
 * __init__'s parsing; Value(x) for anything else goes through type.__call__
 * as before. Only the exact Value type has this: tp_vectorcall is never
 * inherited, so subclasses are made the ordinary way. */
static PyObject *call_type_generically(PyObject *type, PyObject *const *args, Py_ssize_t nargs,
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

static PyObject *value_vectorcall(PyObject *type, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *out;
    double x;
    if (nargs != 1 || kwnames != NULL || (!PyFloat_CheckExact(args[0]) && !PyLong_CheckExact(args[0])))
        return call_type_generically(type, args, nargs, kwnames);
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

int mg_value_type_ready(PyTypeObject *type, PyObject *probe)
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
    cython_nb_add = type->tp_as_number->nb_add;
    cython_nb_multiply = type->tp_as_number->nb_multiply;
    type->tp_as_number->nb_add = value_nb_add;
    type->tp_as_number->nb_multiply = value_nb_multiply;
    type->tp_dealloc = value_dealloc;
    type->tp_traverse = value_traverse;
    type->tp_clear = value_clear;
    type->tp_vectorcall = value_vectorcall;
    return 0;
}
