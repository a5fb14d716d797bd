/* The unary ops' methods, v.relu(), v.sin(), ...: one per row of op_table.h's
 * MG_UNARY_OPS, named by the op's id; abs(v) too (value.c's nb_absolute).
 *
 * Each method is an object of our own small type, bound the way a Python
 * function is (v.relu is a bound method; Value.relu the method itself). With
 * the Value type's own tp_getattro, a call v.relu() makes a bound object
 * whatever the method is; this type's call then goes straight to its op's
 * builder (a vectorcall per op, flattened down to its forward), where a
 * builtin method descriptor would make a costlier bound builtin and call
 * through one more layer. */
#include "core/value.h"
#include <stddef.h>
#include <structmember.h>  /* T_OBJECT, READONLY */

#if defined(__GNUC__) || defined(__clang__)
#define MG_FLATTEN __attribute__((flatten))
#define MG_NOINLINE __attribute__((noinline))
#else
#define MG_FLATTEN
#define MG_NOINLINE
#endif

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *name;       /* the op's id, or __abs__ */
    PyObject *qualname;   /* Value.<name> */
    PyObject *doc;
} unary_method;

/* The Value a call was given, or NULL with the TypeError a method gives. */
static MG_NOINLINE PyObject *checked_self(PyObject *method, PyObject *const *args, size_t nargsf,
                                          PyObject *kwnames)
{
    PyObject *name = ((unary_method *)method)->name;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) {
        PyErr_Format(PyExc_TypeError, "Value.%U() takes no keyword arguments", name);
        return NULL;
    }
    if (nargs == 0) {  /* Value.relu(): Python's words for a method descriptor */
        PyErr_Format(PyExc_TypeError, "unbound method Value.%U() needs an argument", name);
        return NULL;
    }
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "Value.%U() takes no arguments (%zd given)", name, nargs - 1);
        return NULL;
    }
    if (!mg_is_value(args[0])) {
        PyErr_Format(PyExc_TypeError, "Value.%U() needs a Value, not %.100s", name,
                     Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    return args[0];
}

#define MG_UNARY_CALL(code, name, layout, forward, local, doc)                               \
    static MG_FLATTEN PyObject *call_##code(PyObject *method, PyObject *const *args,         \
                                             size_t nargsf, PyObject *kwnames)               \
    {                                                                                        \
        PyObject *self;                                                                      \
        if (PyVectorcall_NARGS(nargsf) == 1 && kwnames == NULL && Py_TYPE(args[0]) == mg_value_type \
                && (MG_NODE(args[0])->flags & MG_INITIALISED))                               \
            return mg_new_unary(code, args[0]);                                              \
        self = checked_self(method, args, nargsf, kwnames);                                  \
        return self == NULL || mg_value_ready(self) < 0 ? NULL : mg_new_unary(code, self);   \
    }
MG_UNARY_OPS(MG_UNARY_CALL)
#undef MG_UNARY_CALL

static PyObject *method_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None) {  /* Value.relu: the method itself */
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

static void method_dealloc(PyObject *self)
{
    unary_method *m = (unary_method *)self;
    Py_XDECREF(m->name);
    Py_XDECREF(m->qualname);
    Py_XDECREF(m->doc);
    PyObject_Free(self);
}

static PyObject *method_repr(PyObject *self)
{
    return PyUnicode_FromFormat("<method '%U' of micrograd_fast Value objects>",
                                ((unary_method *)self)->name);
}

static PyObject *text_signature(PyObject *self, void *closure)
{
    (void)self;
    (void)closure;
    return PyUnicode_FromString("(self, /)");
}

static PyMemberDef method_members[] = {
    {"__name__", T_OBJECT, offsetof(unary_method, name), READONLY, NULL},
    {"__qualname__", T_OBJECT, offsetof(unary_method, qualname), READONLY, NULL},
    {"__doc__", T_OBJECT, offsetof(unary_method, doc), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef method_getset[] = {
    {"__text_signature__", text_signature, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject unary_method_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "micrograd_fast._engine.unary_method",
    .tp_basicsize = sizeof(unary_method),
    .tp_dealloc = method_dealloc,
    .tp_vectorcall_offset = offsetof(unary_method, vectorcall),
    .tp_repr = method_repr,
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "A unary op's method of Value (csrc/ops/op_table.h's row).",
    .tp_members = method_members,
    .tp_getset = method_getset,
    .tp_descr_get = method_get,
};

/* type.name = a method calling call, documented by doc. */
static int add_method(PyTypeObject *type, const char *name, vectorcallfunc call, const char *doc)
{
    unary_method *m = PyObject_New(unary_method, &unary_method_type);
    int r;
    if (m == NULL)
        return -1;
    m->vectorcall = call;
    m->name = PyUnicode_FromString(name);
    m->qualname = PyUnicode_FromFormat("Value.%s", name);
    m->doc = PyUnicode_FromString(doc);
    r = m->name && m->qualname && m->doc ? PyDict_SetItem(type->tp_dict, m->name, (PyObject *)m) : -1;
    Py_DECREF(m);
    return r;
}

int mg_add_unary_methods(PyTypeObject *type)
{
    if (PyType_Ready(&unary_method_type) < 0)
        return -1;
#define MG_ADD_UNARY_METHOD(code, name, layout, forward, local, doc)                         \
    if (add_method(type, mg_op_ids[code], call_##code, doc) < 0)                             \
        return -1;
    MG_UNARY_OPS(MG_ADD_UNARY_METHOD)
#undef MG_ADD_UNARY_METHOD
    return add_method(type, "__abs__", call_MG_ABS, "abs(self): the abs op's node.");
}
