# The batched tape: compile(root, batch=inputs) records root's graph once
# (a Tape: its order, its refusal of custom ops, a reference to every node)
# and compiles it to a flat program (csrc/batch/batch_program.h) replayed over a
# whole batch without the GIL (csrc/batch/batch_run.h). Python's part: the
# argument rules (micrograd_fast/batch_checks.py), copying the shared
# leaves' data in before a replay and adding the gradients to their .grad
# after, and the errors.

from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE,
                             PyBUF_C_CONTIGUOUS, PyBUF_FORMAT)
from micrograd_fast import batch_checks  # imports no engine

cdef extern from "batch/batch_run.h":
    # a batch of one row (csrc/batch/batch_one.c): run holding the GIL
    mg_berror mg_bone_forward(mg_bstate *s, PyObject *const *order, const double *X,
                              double *root_out)
    mg_berror mg_bone_evaluate(mg_bstate *s, PyObject *const *order, const double *X,
                               const Py_ssize_t *outs, Py_ssize_t n_out, double *Y)
    mg_berror mg_bone_backward(mg_bstate *s)
    void mg_bone_set_grads(const mg_bstate *s)

cdef object numpy_module = None
cdef object float64_dtype = None  # numpy's (a singleton)
cdef object ndarray_type = None
cdef object numpy_empty = None     # looked up once: a batch of one pays per call


cdef object numpy():
    global numpy_module, float64_dtype, ndarray_type, numpy_empty
    if numpy_module is None:
        import numpy
        numpy_module = numpy
        float64_dtype = numpy.dtype(numpy.float64)
        ndarray_type = numpy.ndarray
        numpy_empty = numpy.empty
    return numpy_module


cdef int data_of(object array, Py_buffer *view) except -1:
    """The first double of a C-contiguous float64 array (rows() made it so,
    or numpy.empty did), by the buffer protocol: a typed memoryview checks
    the format string and builds two objects per call, the larger part of a
    one-row replay's cost. The caller releases view."""
    PyObject_GetBuffer(array, view, PyBUF_SIMPLE)
    return 0


def _avx2_kernels(bint enabled):
    """Whether the batched kernels may run their AVX2 build (where the CPU
    has it); returns the previous setting. For the tests, which hold the
    baseline build to the same bits; not while a replay runs."""
    global mg_avx2_kernels
    previous = bool(mg_avx2_kernels)
    mg_avx2_kernels = enabled
    return previous


@cython.final
cdef class BatchTape:
    """root's graph compiled for a batch: each row of X is one example's
    values of the inputs (the per-example leaves); every other leaf (the
    parameters, constants) is shared by the batch and read at each call.
    forward(X) gives each row's root, bit for bit the scalar tape's;
    backward() adds the gradient of the rows' mean (or sum) to the shared
    leaves' .grad; evaluate(X, outputs) gives chosen nodes' values per row.
    No Value's .data is written."""

    cdef Tape tape
    cdef mg_bprog *prog
    cdef mg_bstate *state
    cdef readonly int threads
    cdef list input_list
    cdef Py_ssize_t n_inputs
    cdef unsigned long long ops_seen  # mg_op_changes when the ops were last found fresh

    def __cinit__(self, Value root, list inputs, int threads):
        cdef Py_ssize_t i
        cdef PyObject **ins
        self.tape = Tape(root)  # refuses custom ops, as compile(root) does
        self.ops_seen = mg_op_changes  # the ops are the recorded ones now
        self.input_list = list(inputs)
        self.n_inputs = len(self.input_list)
        self.threads = threads
        ins = <PyObject **>PyMem_Malloc(max(self.n_inputs, 1) * sizeof(PyObject *))
        if ins == NULL:
            raise MemoryError()
        for i in range(self.n_inputs):
            ins[i] = <PyObject *>self.input_list[i]
        self.prog = mg_bprog_build(self.tape.order, self.tape.n, ins, self.n_inputs)
        PyMem_Free(ins)
        if self.prog == NULL:
            raise MemoryError()
        self.state = mg_bstate_new(self.prog, threads)
        if self.state == NULL:
            raise MemoryError()

    def __dealloc__(self):
        if self.state != NULL:
            with nogil:  # joins the worker threads, which never take the GIL
                mg_bstate_free(self.state)
        mg_bprog_free(self.prog)

    @property
    def inputs(self):
        """The per-example leaves, in the order of X's columns (a new list)."""
        return list(self.input_list)

    @property
    def root(self):
        return <object>self.tape.order[self.tape.n - 1]

    def __len__(self):
        return self.tape.n

    def __repr__(self):
        return (f"<BatchTape of {self.tape.n} nodes, {self.n_inputs} inputs, "
                f"{self.threads} thread{'s' if self.threads != 1 else ''}>")

    cdef int check_fresh(self) except -1:
        """The graph's ops are the recorded ones (a _backward assigned since
        makes a node another op): else the scalar tape's stale-tape error.
        The nodes are walked only if some node anywhere changed op since the
        last look: a replay of one example then reads none of them."""
        if self.ops_seen == mg_op_changes:
            return 0
        if mg_bprog_first_stale(self.tape.order, self.tape.ops, self.tape.n) >= 0:
            mg_raise(MG_ERR_STALE_TAPE)
        self.ops_seen = mg_op_changes
        return 0

    cdef int raise_for(self, mg_berror r) except -1:
        """The lowest failing row's error, as the scalar tape raises it for
        that row, named by batch_checks.in_row."""
        if r.code == MG_OK:
            return 0
        if r.row < 0:
            return mg_raise(r.code)
        try:
            mg_raise(r.code)
        except BaseException as exc:
            raise batch_checks.in_row(r.row, exc) from None
        return -1

    cdef object take(self, X, str where, Py_buffer *view):
        """X by batch_checks.rows, its buffer held in view (the caller
        releases it). An ndarray that already is what rows returns
        (C-contiguous native float64, B >= 1 rows of len(inputs)) is taken
        as it is, checked on the one buffer request: its dtype, shape and
        flags attributes each made objects, a one-row replay's larger cost."""
        numpy()
        if type(X) is ndarray_type:
            try:
                PyObject_GetBuffer(X, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
            except BufferError:
                pass
            else:
                if (view.ndim == 2 and view.format != NULL and view.format[0] == b'd'
                        and view.format[1] == 0 and view.shape[0] > 0
                        and view.shape[1] == self.n_inputs):
                    return X
                PyBuffer_Release(view)
        x = batch_checks.rows(X, self.n_inputs, where)
        data_of(x, view)
        return x

    def forward(self, X):
        """The root of each row of X (B rows of len(inputs) numbers): a
        float64 array of B values. Keeps what backward needs; on an error
        (the lowest failing row's, named) it keeps nothing."""
        cdef Py_buffer xb, ob
        cdef mg_berror r
        cdef Py_ssize_t B
        cdef double root
        x = self.take(X, "forward", &xb)
        try:
            self.check_fresh()
            self.state.has_forward = 0
            PyErr_CheckSignals()
        except BaseException:
            PyBuffer_Release(&xb)
            raise
        B = xb.len // (8 * self.n_inputs) if self.n_inputs > 0 else len(x)
        cdef const double *xp = <const double *>xb.buf if self.n_inputs > 0 else NULL
        if B == 1:  # one row: the scalar tape's loop (batch_one.c), with the GIL
            r = mg_bone_forward(self.state, self.tape.order, xp, &root)
            PyBuffer_Release(&xb)
            self.raise_for(r)
            try:
                out = numpy_empty(1)
                out[0] = root
            except BaseException:
                self.state.has_forward = 0  # no result: as if it had not run
                raise
            return out
        mg_bprog_read_leaves(self.prog, self.tape.order, self.state.sv)
        try:
            out = numpy_empty(B)
            data_of(out, &ob)
        except BaseException:
            PyBuffer_Release(&xb)
            raise
        with nogil:
            r = mg_batch_forward(self.state, xp, B, <double *>ob.buf)
        PyBuffer_Release(&ob)
        PyBuffer_Release(&xb)
        self.raise_for(r)
        try:
            PyErr_CheckSignals()
        except BaseException:
            self.state.has_forward = 0  # interrupted: as if it had not run
            raise
        return out

    def evaluate(self, X, outputs):
        """The values of outputs (nodes of this tape) for each row of X:
        a (B, len(outputs)) float64 array. Forward only: what the last
        forward kept for backward stays."""
        cdef Py_buffer xb
        x = self.take(X, "evaluate", &xb)
        try:
            return self.evaluate_rows(x, &xb, outputs)
        finally:
            PyBuffer_Release(&xb)

    cdef object evaluate_rows(self, object x, Py_buffer *xb, outputs):
        if type(outputs) is not list and type(outputs) is not tuple:
            raise checks.must_be("evaluate: outputs", "a list of Values", outputs)
        cdef Py_ssize_t i, n_out = len(outputs), at
        for i in range(n_out):
            if not isinstance(outputs[i], Value):
                raise checks.holds("evaluate: outputs", outputs[i], "a Value")
        self.check_fresh()
        cdef Py_ssize_t B = xb.len // (8 * self.n_inputs) if self.n_inputs > 0 else len(x)
        cdef const double *xp = <const double *>xb.buf if self.n_inputs > 0 else NULL
        cdef Py_ssize_t *outs = <Py_ssize_t *>PyMem_Malloc(max(n_out, 1) * sizeof(Py_ssize_t))
        cdef mg_berror r
        if outs == NULL:
            raise MemoryError()
        try:
            for i in range(n_out):
                at = mg_bprog_find(self.prog, <PyObject *>outputs[i])
                if at < 0:
                    raise batch_checks.not_on_tape(i)
                outs[i] = at
            result = numpy_empty((B, n_out))
            if n_out == 0:
                return result
            PyErr_CheckSignals()
            if B > 1:  # (batch_one.c reads them itself)
                mg_bprog_read_leaves(self.prog, self.tape.order, self.state.sv_eval)
            r = self.evaluate_into(xp, B, outs, n_out, result)
            self.raise_for(r)
            PyErr_CheckSignals()
            return result
        finally:
            PyMem_Free(outs)

    cdef mg_berror evaluate_into(self, const double *xp, Py_ssize_t B, const Py_ssize_t *outs,
                                 Py_ssize_t n_out, object result):
        cdef Py_buffer yb
        cdef mg_berror r
        data_of(result, &yb)
        if B == 1:  # one row: batch_one.c, with the GIL
            r = mg_bone_evaluate(self.state, self.tape.order, xp, outs, n_out, <double *>yb.buf)
        else:
            with nogil:
                r = mg_batch_evaluate(self.state, xp, B, outs, n_out, <double *>yb.buf)
        PyBuffer_Release(&yb)
        return r

    def backward(self, reduction="mean"):
        """Adds the gradient of the mean (or, reduction="sum", the sum) of
        the last forward's roots to every shared leaf's .grad, as backward()
        adds to leaves. On an error (the lowest failing row's) no .grad
        changes."""
        # the two spellings taken without the Python call (a batch of one
        # pays for every call); anything else by the rule, which raises
        cdef bint mean
        if type(reduction) is str and (reduction == "mean" or reduction == "sum"):
            mean = reduction == "mean"
        else:
            mean = batch_checks.reduction_kind(reduction) == "mean"
        if not self.state.has_forward:
            raise batch_checks.no_forward_yet()
        self.check_fresh()
        cdef mg_berror r
        cdef double rows = <double>self.state.B
        PyErr_CheckSignals()
        if self.state.B == 1:  # forward ran batch_one.c's: its backward, the scalar tape's sums
            r = mg_bone_backward(self.state)
            self.raise_for(r)
            PyErr_CheckSignals()  # interrupted: no .grad has changed yet
            mg_bone_set_grads(self.state)
            return
        with nogil:
            r = mg_batch_backward(self.state)
        self.raise_for(r)
        PyErr_CheckSignals()  # interrupted: no .grad has changed yet
        mg_bprog_add_grads(self.prog, self.tape.order, self.state.sg, rows if mean else 1.0)
