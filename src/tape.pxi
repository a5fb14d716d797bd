# The graph as a whole: its topological order (the one sort backward() uses,
# exported for anything else that walks a graph), the Tape that replays it
# in C, and assign, which feeds a tape's inputs.


def topo_order(root):
    """Every node reachable from root, children before parents, in the order
    of micrograd's recursive build_topo (the order backward() sweeps)."""
    if not isinstance(root, Value):
        raise TypeError(f"topo_order: expected a Value, not {type(root).__name__}")
    cdef PyObject **order
    cdef Py_ssize_t i, cap, n = mg_topo_order(<PyObject *>root, &order, &cap)
    if n < 0:
        raise MemoryError()
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
    cdef Py_ssize_t n
    cdef readonly list leaves

    def __cinit__(self, Value root):
        cdef PyObject **borrowed
        cdef PyObject *const *kids
        cdef Py_ssize_t i, cap
        cdef int op
        self.n = mg_topo_order(<PyObject *>root, &borrowed, &cap)
        if self.n < 0:
            self.n = 0
            raise MemoryError()
        try:
            self.order = <PyObject **>PyMem_Malloc(self.n * sizeof(PyObject *))
            self.ops = <uint8_t *>PyMem_Malloc(self.n * sizeof(uint8_t))
            if self.order == NULL or self.ops == NULL:
                raise MemoryError()
            for i in range(self.n):
                op = MG_NODE(<object>borrowed[i]).op
                if op == MG_CUSTOM and (mg_children(MG_NODE(<object>borrowed[i]), &kids) > 0
                                        or MG_NODE(<object>borrowed[i]).u.nary.backward != NULL):
                    self.n = i
                    raise TypeError(
                        f"cannot compile a graph with a custom op ({(<object>borrowed[i])._op!r}): "
                        "its Python _backward has no forward to replay")
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

    def forward(self):
        """Recomputes every interior node from the leaves' current data;
        returns the root's new data."""
        mg_raise(mg_tape_forward(self.order, self.ops, self.n))
        return MG_NODE(<object>self.order[self.n - 1]).data

    def backward(self):
        """The root's backward() as on a freshly built graph: interior grads
        restart from 0, leaves accumulate."""
        mg_raise(mg_tape_backward(self.order, self.ops, self.n))

    def evaluate(self, inputs, X, outputs):
        """Runs forward once per row of X (shape (n, len(inputs))), writing the
        row into the inputs' data; returns the outputs' data, (n, len(outputs))."""
        import numpy as np

        cdef list ins = list(inputs), outs = list(outputs)
        for v in ins + outs:
            if not isinstance(v, Value):
                raise TypeError(f"evaluate: inputs and outputs must be Values, not {type(v).__name__}")
        rows = np.ascontiguousarray(X, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(ins):
            raise ValueError(f"evaluate: X must have shape (n, {len(ins)}), not {rows.shape}")
        result = np.empty((rows.shape[0], len(outs)), dtype=np.float64)
        cdef const double[:, ::1] x = rows
        cdef double[:, ::1] y = result
        cdef Py_ssize_t r, j
        cdef Py_ssize_t n_in = len(ins), n_out = len(outs)
        saved = [v.data for v in ins]
        try:
            for r in range(x.shape[0]):
                for j in range(n_in):
                    MG_NODE(ins[j]).data = x[r, j]
                mg_raise(mg_tape_forward(self.order, self.ops, self.n))
                for j in range(n_out):
                    y[r, j] = MG_NODE(outs[j]).data
        finally:
            for v, d in zip(ins, saved):
                v.data = d
        return result

    def __len__(self):
        return self.n

    def __repr__(self):
        return f"<Tape of {self.n} nodes, {len(self.leaves)} leaves>"


def compile(root):
    """Records root's graph for replay: see Tape."""
    if not isinstance(root, Value):
        raise TypeError(f"compile: expected a Value, not {type(root).__name__}")
    return Tape(root)


def assign(values, data):
    """Writes data (a numpy array or a sequence of numbers) into the .data of
    values (a list, or nested list, of Values), in row-major order. Checks
    everything first: on an error no Value has changed."""
    cdef list targets = flatten_values(values)
    cdef list numbers
    if hasattr(data, "ravel") and hasattr(data, "dtype"):
        numbers = data.ravel().tolist()
    else:
        numbers = flatten_numbers(data)
    if len(numbers) != len(targets):
        raise ValueError(f"assign: {len(targets)} Values but {len(numbers)} numbers")
    cdef Py_ssize_t i, n = len(targets)
    cdef double *buffer = <double *>PyMem_Malloc(max(n, 1) * sizeof(double))
    if buffer == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            buffer[i] = real_data(numbers[i], "assign: each number")
        for i in range(n):
            MG_NODE(targets[i]).data = buffer[i]
    finally:
        PyMem_Free(buffer)


cdef list flatten_values(values):
    cdef list out = []
    cdef list stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, Value):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            raise TypeError(f"assign: expected Values (or lists of them), not {type(item).__name__}")
    return out


cdef list flatten_numbers(data):
    cdef list out = []
    cdef list stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out

