# Declarations of the C layer (csrc/) and of the Value type.
from cpython.object cimport PyObject
from libc.stdint cimport uint8_t, uint64_t


cdef extern from "node.h":
    enum mg_op:
        MG_LEAF, MG_ADD, MG_MUL, MG_POW, MG_POWV, MG_RELU, MG_TANH, MG_EXP,
        MG_LOG, MG_SIGMOID, MG_DOT, MG_SUM, MG_CUSTOM, MG_NUM_OPS

    enum:
        MG_INITIALISED, MG_INT_EXPONENT, MG_START_IS_CHILD

    enum mg_error:
        MG_OK, MG_ERR_PYTHON, MG_ERR_NO_MEMORY, MG_ERR_ZERO_POW,
        MG_ERR_POW_RANGE, MG_ERR_COMPLEX, MG_ERR_MATH_RANGE,
        MG_ERR_MATH_DOMAIN, MG_ERR_ZERO_DIVISION, MG_ERR_STALE_TAPE

    ctypedef struct mg_extra:
        PyObject *backward
        PyObject *op_name
        double start
        Py_ssize_t pairs
        Py_ssize_t n
        PyObject *items[1]  # really a flexible array of n

    ctypedef struct mg_pow_t:
        PyObject *base
        double exponent

    ctypedef union mg_children_t:
        PyObject *kids[2]
        mg_pow_t pow
        mg_extra *extra

    ctypedef struct mg_node:
        double data
        double grad
        uint64_t op
        uint64_t flags
        uint64_t epoch
        mg_children_t u

    ctypedef struct mg_value:
        mg_node node
        PyObject *dict

    mg_node *MG_NODE(object o)
    Py_ssize_t mg_children(const mg_node *n, PyObject *const **kids)


cdef extern from "ops.h":
    int mg_forward(mg_node *out)
    int mg_backward_local(mg_node *out)


cdef extern from "float_math.h":
    double mg_pow(double x, double y, int *err)


cdef extern from "graph.h":
    Py_ssize_t mg_topo_order(PyObject *root, PyObject ***order, Py_ssize_t *cap)
    void mg_free_order(PyObject **order, Py_ssize_t cap)
    int mg_backward(PyObject *root)
    mg_extra *mg_extra_new(Py_ssize_t n)
    int mg_set_custom_backward(mg_node *n, PyObject *fn, PyObject *op_name)
    void mg_release_children(mg_node *n)
    int mg_grad_enabled()
    void mg_set_grad_enabled(int enabled)


cdef extern from "tape.h":
    int mg_tape_forward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n)
    int mg_tape_backward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n)


cdef class Value:
    cdef mg_node node  # first field: csrc/node.h's mg_value mirrors this layout
    cdef dict __dict__
