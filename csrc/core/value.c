/* The parts of the Value type that Cython cannot express: freeing without
 * recursion, the GC slots that see the C-level children, closure and
 * attributes, attribute access without a __dict__ pointer, micrograd's
 * operators, the fast path of Value(x); the unary ops' methods are
 * unary_methods.c's. */
#include <stddef.h>
#include "core/attributes.h"
#include "core/value.h"

PyTypeObject *mg_value_type = NULL;

/* Freeing a long chain would recurse through the children, one C frame per
 * node. Instead, a child whose last reference a dealloc drops goes on the
 * deferred list (process_state.h), and the outermost dealloc frees the list
 * in a loop: a 10^7-deep graph frees with constant stack depth. */
static inline void drop_child(PyObject *child)
{
    /* a leaf frees without touching anything else: no need to defer it */
    if (Py_REFCNT(child) == 1 && Py_TYPE(child) == mg_value_type && MG_NODE(child)->op != MG_LEAF) {
        struct mg_deferred_frees *d = &mg_deferred_frees;
        if (d->count == d->cap) {
            Py_ssize_t cap = d->cap ? 2 * d->cap : 256;
            PyObject **p = PyMem_Realloc(d->values, (size_t)cap * sizeof(PyObject *));
            if (p == NULL) {
                Py_DECREF(child);  /* out of memory: recurse, as CPython would */
                return;
            }
            d->values = p;
            d->cap = cap;
        }
        d->values[d->count++] = child;  /* our reference moves to the list */
        return;
    }
    Py_DECREF(child);
}

static void drop_attributes(PyObject *o)
{
    if (MG_NODE(o)->flags & MG_HAS_ATTRIBUTES) {
        PyObject *attrs = mg_attributes_take(o);
        MG_NODE(o)->flags &= ~MG_HAS_ATTRIBUTES;
        Py_XDECREF(attrs);
    }
}

static void value_dealloc(PyObject *o)
{
    if (mg_is_tracked(o))  /* most nodes never were: spare the call */
        PyObject_GC_UnTrack(o);
    if (((mg_value *)o)->weakrefs != NULL)
        PyObject_ClearWeakRefs(o);
    mg_release_children_with(MG_NODE(o), drop_child);
    drop_attributes(o);
    if (mg_free_values_count < MG_FREE_VALUES_MAX && Py_TYPE(o) == mg_value_type)
        mg_free_values[mg_free_values_count++] = o;
    else
        Py_TYPE(o)->tp_free(o);
    if (!mg_deferred_frees.draining) {
        mg_deferred_frees.draining = 1;
        while (mg_deferred_frees.count > 0)  /* each dealloc lists its own children */
            Py_DECREF(mg_deferred_frees.values[--mg_deferred_frees.count]);
        mg_deferred_frees.draining = 0;
    }
}

static int value_traverse(PyObject *o, visitproc visit, void *arg)
{
    if (MG_NODE(o)->flags & MG_HAS_ATTRIBUTES)
        Py_VISIT(mg_attributes_of(o));
    return mg_traverse_children(MG_NODE(o), visit, arg);
}

/* Breaks cycles through a closure or attributes; children stay (they cannot
 * form a cycle by themselves: a child is always older than its parent). */
static int value_clear(PyObject *o)
{
    mg_clear_closure(MG_NODE(o));
    drop_attributes(o);
    return 0;
}

/* --- attributes, kept in attributes.c's table (an exact Value has no
 * __dict__; a Python subclass's instances have their own and use it). As
 * for any object, a data descriptor of the type (data, grad, label, ...)
 * comes first, then the instance's attributes, then the rest of the type. */

/* A Python subclass's instances have a dict of their own. */
static int has_own_dict(PyTypeObject *type)
{
#ifdef Py_TPFLAGS_MANAGED_DICT
    if (type->tp_flags & Py_TPFLAGS_MANAGED_DICT)
        return 1;
#endif
    return type->tp_dictoffset != 0;
}

PyObject *mg_value_attributes(PyObject *o, int make)
{
    PyObject *attrs;
    if (has_own_dict(Py_TYPE(o))) {  /* the GC sees it through the subclass */
        attrs = PyObject_GenericGetDict(o, NULL);
        Py_XDECREF(attrs);  /* o holds it */
        return attrs;
    }
    if (MG_NODE(o)->flags & MG_HAS_ATTRIBUTES)
        return mg_attributes_of(o);
    if (!make)
        return NULL;
    attrs = mg_attributes_make(o);
    if (attrs == NULL)
        return NULL;
    MG_NODE(o)->flags |= MG_HAS_ATTRIBUTES;
    mg_track(o);
    return attrs;
}

/* Whether the name is the type's own business: not a str (Python words the
 * error), an instance with a dict of its own, or a data descriptor. */
static int handled_by_type(PyObject *o, PyObject *name)
{
    PyObject *descr;
    if (!PyUnicode_Check(name) || has_own_dict(Py_TYPE(o)))
        return 1;
    descr = _PyType_Lookup(Py_TYPE(o), name);
    return descr != NULL && Py_TYPE(descr)->tp_descr_set != NULL;
}

/* data and grad, what a training loop reads and writes for every parameter,
 * straight from the node when the name is the interned string a program's
 * code passes; only for the exact type, as a subclass may redefine them. */
static PyObject *name_data, *name_grad;

static double *number_field(PyObject *o, PyObject *name)
{
    /* a subclass, or a Value whose __init__ never ran: the properties' business */
    if (Py_TYPE(o) != mg_value_type || !(MG_NODE(o)->flags & MG_INITIALISED))
        return NULL;
    if (name == name_data)
        return &MG_NODE(o)->data;
    if (name == name_grad)
        return &MG_NODE(o)->grad;
    return NULL;
}

static PyObject *value_getattro(PyObject *o, PyObject *name)
{
    double *field = number_field(o, name);
    if (field != NULL)
        return PyFloat_FromDouble(*field);
    if ((MG_NODE(o)->flags & MG_HAS_ATTRIBUTES) && !handled_by_type(o, name)) {
        PyObject *found = PyDict_GetItemWithError(mg_attributes_of(o), name);
        if (found != NULL) {
            Py_INCREF(found);
            return found;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    return PyObject_GenericGetAttr(o, name);
}

/* Tracks each node of root's graph that has a tracked child, children
 * first: an attribute that holds a node built from its owner before the
 * owner had attributes closes a cycle through nodes the GC cannot see. */
static int track_nodes_over_tracked(PyObject *root)
{
    PyObject **order;
    Py_ssize_t i, cap, n;
    if (!mg_is_value(root))
        return 0;
    n = mg_topo_order(root, &order, &cap);
    if (n < 0)  /* with its exception */
        return -1;
    for (i = 0; i < n; i++)
        if (!mg_is_tracked(order[i]) && mg_has_tracked_child(order[i]))
            PyObject_GC_Track(order[i]);
    mg_free_order(order, cap);
    return 0;
}

/* ... for an attribute that is a Value, or lists, tuples and dicts of them
 * nested up to a few levels (what a program stores on a node). */
static int track_nodes_held_by(PyObject *value, int depth)
{
    PyObject *key, *item;
    Py_ssize_t i = 0;
    if (depth > 8)
        return 0;
    if (PyList_Check(value) || PyTuple_Check(value)) {
        for (i = 0; i < PySequence_Fast_GET_SIZE(value); i++)
            if (track_nodes_held_by(PySequence_Fast_GET_ITEM(value, i), depth + 1) < 0)
                return -1;
        return 0;
    }
    if (PyDict_Check(value)) {
        while (PyDict_Next(value, &i, &key, &item))
            if (track_nodes_held_by(item, depth + 1) < 0)
                return -1;
        return 0;
    }
    return track_nodes_over_tracked(value);
}

static int value_setattro(PyObject *o, PyObject *name, PyObject *value)
{
    PyObject *attrs;
    double *field = number_field(o, name), x;
    /* a float or an int as the properties take it; other numbers, and the
     * errors, are theirs (the operand rule of checks.py) */
    if (field != NULL && value != NULL
            && (PyFloat_CheckExact(value) || PyLong_Check(value) || PyFloat_Check(value))) {
        if (mg_as_real(value, &x) < 0)
            return -1;
        *field = x;
        return 0;
    }
    if (handled_by_type(o, name)) {
        if (PyObject_GenericSetAttr(o, name, value) == 0)
            return 0;
        /* Cython's properties refuse deletion with NotImplementedError; a
         * Python property says AttributeError */
        if (value == NULL && PyErr_ExceptionMatches(PyExc_NotImplementedError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_AttributeError, "property '%U' of '%.100s' object has no deleter",
                         name, Py_TYPE(o)->tp_name);
        }
        return -1;
    }
    attrs = mg_value_attributes(o, value != NULL);
    if (value != NULL) {
        if (attrs == NULL || PyDict_SetItem(attrs, name, value) < 0)
            return -1;
        return track_nodes_held_by(value, 0);
    }
    if (attrs != NULL && PyDict_DelItem(attrs, name) == 0)
        return 0;
    if (attrs != NULL && !PyErr_ExceptionMatches(PyExc_KeyError))
        return -1;
    PyErr_Clear();
    PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%U'",
                 Py_TYPE(o)->tp_name, name);
    return -1;
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

static PyObject *value_absolute(PyObject *v)  /* abs(v): the abs op's node */
{
    if (mg_value_ready(v) < 0)
        return NULL;
    return mg_new_unary(MG_ABS, v);
}

int mg_value_type_ready(PyTypeObject *type)
{
    PyNumberMethods *nb = type->tp_as_number;
    /* the node fills the bytes between the object's head and the weakref list */
    if (type->tp_basicsize != (Py_ssize_t)sizeof(mg_value)
        || type->tp_weaklistoffset != (Py_ssize_t)offsetof(mg_value, weakrefs)
        || offsetof(mg_value, weakrefs) - offsetof(mg_value, node) != sizeof(mg_node)
        || type->tp_dictoffset != 0 || nb == NULL) {
        PyErr_Format(PyExc_ImportError,
                     "micrograd_fast._engine: the Value type (size %zd, weakref list at %zd, "
                     "dict at %zd) does not match csrc/core/node.h's mg_value (size %zd, weakref "
                     "list at %zd, no dict)", type->tp_basicsize, type->tp_weaklistoffset,
                     type->tp_dictoffset, (Py_ssize_t)sizeof(mg_value),
                     (Py_ssize_t)offsetof(mg_value, weakrefs));
        return -1;
    }
    name_data = PyUnicode_InternFromString("data");
    name_grad = PyUnicode_InternFromString("grad");
    if (name_data == NULL || name_grad == NULL || mg_op_table_ready() < 0
        || mg_add_unary_methods(type) < 0)
        return -1;
    mg_value_type = type;
    /* Cython makes a type with no object fields one the GC does not know;
     * ours must be known (a node with a closure or attributes can be in a
     * cycle). No instance exists yet, so the GC's allocator can be chosen. */
    type->tp_flags |= Py_TPFLAGS_HAVE_GC;
    type->tp_free = PyObject_GC_Del;
    type->tp_dealloc = value_dealloc;
    type->tp_traverse = value_traverse;
    type->tp_clear = value_clear;
    type->tp_getattro = value_getattro;
    type->tp_setattro = value_setattro;
    type->tp_vectorcall = value_vectorcall;
    nb->nb_add = mg_value_add;
    nb->nb_subtract = mg_value_subtract;
    nb->nb_multiply = mg_value_multiply;
    nb->nb_true_divide = mg_value_true_divide;
    nb->nb_power = mg_value_power;
    nb->nb_negative = mg_value_negative;
    nb->nb_absolute = value_absolute;
    PyType_Modified(type);
    return 0;
}
