# Declarations of the C layer (csrc/) for src/_engine.pyx: nothing but what
# the C headers define. Named apart from the module on purpose: Cython would
# take a file called _engine.pxd as the module's own declarations.
from cpython.object cimport PyObject, PyTypeObject
from libc.stdint cimport int32_t, uint8_t, uint64_t


cdef extern from "ops/op_table.h":
    # the op codes named in src/ (values from the header's MG_OP_TABLE; the
    # other codes are C's business only)
    enum mg_op:
        MG_LEAF, MG_MUL, MG_POW, MG_RELU, MG_CUSTOM, MG_DOT, MG_SUM, MG_RMS_SCALE,
        MG_EXPSUM, MG_SOFTMAX, MG_LOG_SOFTMAX, MG_NLL, MG_EMBED
    enum:
        MG_NUM_OPS
    const char *const mg_op_names[]
    # the ids of the ops that compute, and of the unary ones (new tuples)
    object mg_computing_op_ids()
    object mg_unary_op_ids()


cdef extern from "ops/errors.h":
    enum mg_error:
        MG_OK, MG_ERR_INDEX_RANGE, MG_ERR_NOT_INTEGRAL, MG_ERR_STALE_TAPE
    int mg_raise(int err) except -1


cdef extern from "core/node.h":
    enum:
        MG_INITIALISED, MG_INT_EXPONENT, MG_START_IS_CHILD, MG_HAS_ATTRIBUTES

    # the members of mg_nary's anonymous union of per-op numbers
    ctypedef struct mg_rms_numbers:
        double eps
        double mean_square

    ctypedef struct mg_exps_numbers:
        double shift
        double total

    ctypedef struct mg_nary:
        Py_ssize_t count
        Py_ssize_t pairs
        double start
        mg_rms_numbers rms
        mg_exps_numbers exps
        PyObject *backward
        PyObject *op_name
        PyObject *local_grads
        PyObject *children[1]  # really a flexible array of count

    ctypedef struct mg_pow_operands:
        PyObject *base
        double exponent

    ctypedef union mg_node_children:
        PyObject *kids[2]
        mg_pow_operands pow
        mg_nary *nary

    ctypedef struct mg_node:
        double data
        double grad
        uint64_t op
        uint64_t flags
        uint64_t epoch
        mg_node_children u

    ctypedef struct mg_value:
        mg_node node
        PyObject *weakrefs

    mg_node *MG_NODE(object o)
    Py_ssize_t mg_children(const mg_node *n, PyObject *const **kids)


cdef extern from "ops/float_math.h":
    double mg_pow(double x, double y, int *err)


cdef extern from "core/ops.h":
    int mg_forward(mg_node *out)
    int mg_backward_local(mg_node *out)
    int mg_local_grads(const mg_node *out, double *d)


cdef extern from "core/fused.h":
    int mg_as_index(double x, Py_ssize_t n, Py_ssize_t *index)


cdef extern from "core/grad_mode.h":
    int mg_grad_enabled()
    void mg_set_grad_enabled(int enabled)


cdef extern from "core/graph.h":
    const Py_ssize_t MG_SIGNAL_EVERY_MASK
    Py_ssize_t mg_topo_order(PyObject *root, PyObject ***order, Py_ssize_t *cap) except -1
    void mg_free_order(PyObject **order, Py_ssize_t cap)
    int mg_backward(PyObject *root)
    mg_nary *mg_nary_new(Py_ssize_t count)
    int mg_set_custom_backward(mg_node *n, PyObject *fn, PyObject *op_name)
    void mg_release_children(mg_node *n)


cdef extern from "core/tape.h":
    int mg_tape_forward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n, double *saved)
    int mg_tape_backward(PyObject *const *order, const uint8_t *ops, Py_ssize_t n, double *saved)


cdef extern from "core/value.h":
    int mg_value_type_ready(PyTypeObject *type) except -1
    # each returns a new reference, or NULL with an exception set
    object mg_new_leaf(double x)
    object mg_new_binary(int op, object a, object b)
    object mg_new_unary(int op, object a)
    object mg_new_pow(object base, double exponent, bint integral)
    object mg_new_nary(int op, Py_ssize_t count)  # children filled by the caller, then:
    int mg_compute(object out) except -1
    void mg_track(object o)
    void mg_untrack_new_leaf(object o)
    PyObject *mg_value_attributes(object o, bint make)  # borrowed; NULL: none (or an error if make)
    # micrograd's operators (NotImplemented for what they do not take)
    object mg_value_add(object a, object b)
    object mg_value_subtract(object a, object b)
    object mg_value_multiply(object a, object b)
    object mg_value_true_divide(object a, object b)
    object mg_value_power(object a, object b, object modulo)
    object mg_value_negative(object a)
    bint mg_is_integral(object x)


cdef extern from "batch/batch_program.h":
    ctypedef struct mg_bprog:
        Py_ssize_t n_nodes
        Py_ssize_t n_shared
        Py_ssize_t n_per
        Py_ssize_t n_leaves
        Py_ssize_t *leaf_node
        int32_t *leaf_slot
        int32_t *node_slot
        uint8_t *node_shared
    mg_bprog *mg_bprog_build(PyObject *const *order, Py_ssize_t n, PyObject *const *inputs,
                             Py_ssize_t n_in)
    void mg_bprog_free(mg_bprog *p)
    void mg_bprog_read_leaves(const mg_bprog *p, PyObject *const *order, double *sv)
    void mg_bprog_add_grads(const mg_bprog *p, PyObject *const *order, const double *sg,
                            double divisor)
    Py_ssize_t mg_bprog_first_stale(PyObject *const *order, const uint8_t *ops, Py_ssize_t n)
    Py_ssize_t mg_bprog_find(const mg_bprog *p, PyObject *node)


cdef extern from "batch/batch_run.h":
    ctypedef struct mg_bstate:
        double *sv
        double *sv_eval
        double *sg
        int has_forward
        Py_ssize_t B
    ctypedef struct mg_berror:
        Py_ssize_t row
        int code
    mg_bstate *mg_bstate_new(const mg_bprog *p, int threads)
    void mg_bstate_free(mg_bstate *s) nogil
    mg_berror mg_batch_forward(mg_bstate *s, const double *X, Py_ssize_t B, double *root_out) nogil
    mg_berror mg_batch_evaluate(mg_bstate *s, const double *X, Py_ssize_t B,
                                const Py_ssize_t *outs, Py_ssize_t n_out, double *Y) nogil
    mg_berror mg_batch_backward(mg_bstate *s) nogil

cdef extern from "core/process_state.h":
    int mg_avx2_kernels
    unsigned long long mg_op_changes


cdef extern from "derivative/derivative.h":
    enum:
        MG_GRAD_CUSTOM_OP, MG_GRAD_NUMBERS_ONLY
    ctypedef struct mg_grad_request:
        PyObject *const *outputs
        Py_ssize_t n_outputs
        PyObject *const *seed_values
        const double *seed_numbers
        PyObject *const *inputs
        Py_ssize_t n_inputs
        int create_graph
        int kinks_as_numbers
        const double *tangents
    # 0, a refusal (> 0, the node in *bad), or -1 with an exception
    int mg_grad(const mg_grad_request *request, PyObject **results, PyObject **bad) except -1
