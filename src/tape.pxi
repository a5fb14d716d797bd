# The graph as a whole: its topological order (the one sort backward() uses,
# exported for anything else that walks a graph), the Tape that replays it
# in C, and assign, which feeds a tape's inputs.


def topo_order(root):
    """Every node reachable from root, children before parents, in the order
    of micrograd's recursive build_topo (the order backward() sweeps)."""
    if not isinstance(root, Value):
        raise checks.expected("topo_order", "a Value", root)
    cdef PyObject **order
    cdef Py_ssize_t i, cap, n = mg_topo_order(<PyObject *>root, &order, &cap)
    try:
        return [<object>order[i] for i in range(n)]
    finally:
        mg_free_order(order, cap)


@cython.final
cdef class Tape:
    """A graph's topological order recorded once as flat C arrays; forward()
    and backward() replay it over the same Value objects. The tape holds a
    reference to every node, so none can be freed under it."""

    cdef PyObject **order   # strong references, children before parents
    cdef uint8_t *ops       # each node's op code when recorded
    cdef double *saved      # room for n numbers: what a failed replay puts back
    cdef Py_ssize_t n
    cdef readonly list leaves

    def __cinit__(self, Value root):
        cdef PyObject **borrowed
        cdef PyObject *const *kids
        cdef Py_ssize_t i, cap
        cdef int op
        cdef Py_ssize_t n = mg_topo_order(<PyObject *>root, &borrowed, &cap)
        self.n = n
        try:
            self.order = <PyObject **>PyMem_Malloc(self.n * sizeof(PyObject *))
            self.ops = <uint8_t *>PyMem_Malloc(self.n * sizeof(uint8_t))
            self.saved = <double *>PyMem_Malloc(max(self.n, 1) * sizeof(double))
            if self.order == NULL or self.ops == NULL or self.saved == NULL:
                raise MemoryError()
            for i in range(self.n):
                op = MG_NODE(<object>borrowed[i]).op
                if op == MG_CUSTOM and (mg_children(MG_NODE(<object>borrowed[i]), &kids) > 0
                                        or MG_NODE(<object>borrowed[i]).u.nary.backward != NULL):
                    self.n = i
                    raise checks.custom_op_on_tape((<object>borrowed[i])._op)
                Py_INCREF(<object>borrowed[i])
                self.order[i] = borrowed[i]
                self.ops[i] = op
        finally:
            mg_free_order(borrowed, cap)
        self.leaves = [<object>self.order[i] for i in range(self.n)
                       if self.ops[i] == MG_LEAF or self.ops[i] == MG_CUSTOM]

    def __dealloc__(self):
        cdef Py_ssize_t i
        if self.order != NULL:
            for i in range(self.n):
                Py_XDECREF(self.order[i])
        PyMem_Free(self.order)
        PyMem_Free(self.ops)
        PyMem_Free(self.saved)

    def forward(self):
        """Recomputes every interior node from the leaves' current data;
        returns the root's new data. On an error no node has changed."""
        mg_raise(mg_tape_forward(self.order, self.ops, self.n, self.saved))
        return MG_NODE(<object>self.order[self.n - 1]).data

    def backward(self):
        """The root's backward() as on a freshly built graph: interior grads
        restart from 0, leaves accumulate. On an error no grad has changed."""
        mg_raise(mg_tape_backward(self.order, self.ops, self.n, self.saved))

    def evaluate(self, inputs, X, outputs):
        """Runs forward once per row of X (shape (n, len(inputs))), writing the
        row into the inputs' data; returns the outputs' data, (n, len(outputs)).
        Every node's data is left as it was, on success and on an error."""
        import numpy as np

        cdef list ins = list(inputs), outs = list(outputs)
        for v in ins + outs:
            if not isinstance(v, Value):
                raise checks.must_be("evaluate: inputs and outputs", "Values", v)
        rows = np.ascontiguousarray(X, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(ins):
            raise checks.rows_shape(len(ins), rows.shape)
        result = np.empty((rows.shape[0], len(outs)), dtype=np.float64)
        cdef const double[:, ::1] x = rows
        cdef double[:, ::1] y = result
        cdef Py_ssize_t r, j, i
        cdef Py_ssize_t n_in = len(ins), n_out = len(outs)
        saved = [MG_NODE(v).data for v in ins]  # inputs need not be on the tape
        for i in range(self.n):
            self.saved[i] = MG_NODE(<object>self.order[i]).data
        try:
            for r in range(x.shape[0]):
                PyErr_CheckSignals()
                for j in range(n_in):
                    MG_NODE(ins[j]).data = x[r, j]
                mg_raise(mg_tape_forward(self.order, self.ops, self.n, NULL))
                for j in range(n_out):
                    y[r, j] = MG_NODE(outs[j]).data
        finally:
            for i in range(self.n):
                MG_NODE(<object>self.order[i]).data = self.saved[i]
            for j in range(n_in):
                MG_NODE(ins[j]).data = saved[j]
        return result

    def __len__(self):
        return self.n

    def __repr__(self):
        return f"<Tape of {self.n} nodes, {len(self.leaves)} leaves>"


def compile(root, batch=None, threads=None):
    """Records root's graph for replay: a Tape; with batch (the per-example
    input leaves, X's columns) a BatchTape replaying it over many examples
    at once on threads threads (None: every core)."""
    if not isinstance(root, Value):
        raise checks.expected("compile", "a Value", root)
    if batch is None:
        if threads is not None:
            raise batch_checks.threads_without_batch()
        return Tape(root)
    cdef list inputs = batch_checks.inputs_list(batch, Value)
    cdef Py_ssize_t i
    for i in range(len(inputs)):
        if MG_NODE(inputs[i]).op != MG_LEAF:
            raise batch_checks.not_a_leaf_input(i, inputs[i]._op)
    return BatchTape(root, inputs, batch_checks.thread_count(threads))


def assign(values, data):
    """Writes data (a numpy array or a sequence of numbers) into the .data of
    values (a list, or nested list, of Values), in row-major order. Checks
    everything first: on an error no Value has changed. A list nested too
    deep (or containing itself) is a ValueError, as numpy gives for it."""
    cdef list targets = [], numbers
    flatten(values, targets, 0, True)
    if hasattr(data, "ravel") and hasattr(data, "dtype"):
        numbers = data.ravel().tolist()
    else:
        numbers = []
        flatten(data, numbers, 0, False)
    if len(numbers) != len(targets):
        raise checks.lengths_differ("assign", len(targets), "Values", len(numbers), "numbers")
    cdef Py_ssize_t i, n = len(targets)
    cdef double *buffer = <double *>PyMem_Malloc(max(n, 1) * sizeof(double))
    if buffer == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            if (i & MG_SIGNAL_EVERY_MASK) == 0:
                PyErr_CheckSignals()
            buffer[i] = real_data(numbers[i], "assign: each item of data")
        for i in range(n):
            MG_NODE(targets[i]).data = buffer[i]
    finally:
        PyMem_Free(buffer)


# numpy's limit on dimensions; a list that contains itself reaches it at once
cdef int MAX_NESTING = 64
cdef Py_ssize_t flatten_steps = 0


cdef int flatten(object item, list out, int depth, bint values) except -1:
    """Appends the items of item, a list or tuple nested any way up to
    MAX_NESTING levels, to out in row-major order: Values if values (a
    TypeError for anything else), else whatever is there (numbers, checked
    later)."""
    global flatten_steps
    flatten_steps += 1
    if (flatten_steps & MG_SIGNAL_EVERY_MASK) == 0:  # lists shared many times over can take long
        PyErr_CheckSignals()
    if isinstance(item, (list, tuple)):
        if depth == MAX_NESTING:
            raise checks.nested_too_deep("assign", MAX_NESTING)
        for x in item:
            flatten(x, out, depth + 1, values)
        return 0
    if values and not isinstance(item, Value):
        raise checks.expected("assign", "Values (or lists of them)", item)
    out.append(item)
    return 0
