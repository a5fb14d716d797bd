# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# cython: cdivision=True, embedsignature=True
"""The compiled engine: micrograd's Value over C nodes (csrc/).

Arithmetic on Values builds a node with no Python closure, set or tuple; each
op's forward and chain rule live in csrc/ops.h, backward() sorts and sweeps the
graph in C. Semantics are those of micrograd_fast/reference.py, bit for bit.
"""

cimport cython
import operator
from cpython.object cimport PyObject, PyTypeObject
from libc.math cimport sqrt
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport Py_DECREF, Py_INCREF, Py_XDECREF

BACKEND = "compiled"


cdef extern from "Python.h":
    double PyFloat_AsDouble(object) except? -1.0
    Py_ssize_t PySequence_Fast_GET_SIZE(object)
    PyObject *PySequence_Fast_GET_ITEM(object, Py_ssize_t)  # borrowed
    int PyObject_GenericSetAttr(object, object, PyObject *) except -1


cdef extern from "value_type.h":
    PyObject *mg_value_alloc(PyTypeObject *type) except NULL
    int mg_value_type_ready(PyTypeObject *type, object probe) except -1
    void mg_track(object o)
    void mg_track_if_dict(object o)
    void mg_untrack_new_leaf(object o)
    bint mg_is_real(object x)
    bint mg_is_integral(object x)


# _op strings, indexed by op code (MG_POW and MG_CUSTOM are computed)
cdef tuple _OP_NAMES = ('', '+', '*', None, '**', 'ReLU', 'tanh', 'exp', 'log',
                        'sigmoid', 'dot', 'sum', None)


cdef int raise_error(int err) except -1:
    """Raises what Python's float arithmetic raises for the C layer's error."""
    if err == MG_OK:
        return 0
    if err == MG_ERR_PYTHON:
        return -1  # the exception is already set
    if err == MG_ERR_NO_MEMORY:
        raise MemoryError()
    if err == MG_ERR_ZERO_POW:
        raise ZeroDivisionError("0.0 cannot be raised to a negative power")
    if err == MG_ERR_POW_RANGE:
        raise OverflowError(34, "Numerical result out of range")
    if err == MG_ERR_COMPLEX:
        raise ValueError("negative number cannot be raised to a fractional power")
    if err == MG_ERR_MATH_RANGE:
        raise OverflowError("math range error")
    if err == MG_ERR_MATH_DOMAIN:
        raise ValueError("math domain error")
    if err == MG_ERR_ZERO_DIVISION:
        raise ZeroDivisionError("float division by zero")
    if err == MG_ERR_STALE_TAPE:
        raise RuntimeError("the graph changed since it was compiled (a _backward was "
                           "assigned): compile it again")
    raise SystemError(f"micrograd_fast: unknown engine error {err}")


# ---------------------------------------------------------------------------
# Making nodes. An op's children and op code are set before anything can fail,
# so a failed op is simply deallocated: no existing Value is touched.

cdef inline Value new_node(int op):
    cdef Value out = <Value>mg_value_alloc(<PyTypeObject *>Value)
    Py_DECREF(out)  # the cast above took a second reference
    out.node.op = op
    return out


cdef inline Value leaf(double x):
    cdef Value out = new_node(MG_LEAF)
    out.node.data = x
    return out


cdef inline Value finish(Value out):
    """Computes out's data; under no_grad, forgets its children."""
    cdef int err = mg_forward(&out.node)
    if err != MG_OK:
        raise_error(err)
    if not mg_grad_enabled():
        mg_release_children(&out.node)
    return out


cdef inline Value binary(int op, Value a, Value b):
    cdef Value out = new_node(MG_LEAF)
    Py_INCREF(a)
    out.node.u.kids[0] = <PyObject *>a
    Py_INCREF(b)
    out.node.u.kids[1] = <PyObject *>b
    out.node.op = op
    return finish(out)


cdef inline Value unary(int op, Value a):
    cdef Value out = new_node(MG_LEAF)
    Py_INCREF(a)
    out.node.u.kids[0] = <PyObject *>a
    out.node.op = op
    return finish(out)


cdef inline Value power(Value a, double exponent, bint integral):
    cdef Value out = new_node(MG_LEAF)
    Py_INCREF(a)
    out.node.u.pow.base = <PyObject *>a
    out.node.u.pow.exponent = exponent
    out.node.op = MG_POW
    if integral:
        out.node.flags |= MG_INT_EXPONENT
    return finish(out)


cdef inline Value nary(int op, Py_ssize_t n):
    """A node with room for n children, all NULL until filled."""
    cdef mg_extra *e = mg_extra_new(n)
    if e == NULL:
        raise MemoryError()
    cdef Value out = new_node(MG_LEAF)
    out.node.u.extra = e
    out.node.op = op
    return out


cdef inline double as_double(object x) except? -1.0:
    """float(x) for real numbers only: TypeError for str, None, complex."""
    if type(x) is float:
        return <double>x
    return PyFloat_AsDouble(x)


cdef inline object operand(object other):
    """The other side of a binary op as a Value (a new leaf for a number), or
    None when Python should try the reflected op."""
    if isinstance(other, Value):
        return other
    if mg_is_real(other):
        return leaf(as_double(other))
    return None


cdef int fill_items(mg_extra *e, Py_ssize_t at, Py_ssize_t count, object seq, str where) except -1:
    """Stores seq's items (numbers become leaves) as children at, at+1, ...,
    at+count-1, the slots the caller made for them. A number's __float__ may
    run any code, even code that resizes seq or another input: any length but
    count is caught, so no slot is overrun or left empty."""
    cdef Py_ssize_t i
    cdef PyObject *item
    if type(seq) is not list and type(seq) is not tuple:
        seq = tuple(seq)
    if at + count > e.n:
        raise SystemError(f"{where}: {count} children do not fit at {at} of {e.n}")
    for i in range(count):
        if PySequence_Fast_GET_SIZE(seq) != count:
            raise RuntimeError(f"{where}: an input changed size while it was read")
        item = PySequence_Fast_GET_ITEM(seq, i)
        if not isinstance(<object>item, Value):
            x = <object>item
            if not mg_is_real(x):
                raise TypeError(f"{where}: expected Values or real numbers, not {type(x).__name__}")
            x = leaf(as_double(x))
            item = <PyObject *>x
        Py_INCREF(<object>item)
        e.items[at + i] = item
    if PySequence_Fast_GET_SIZE(seq) != count:  # also when count is 0
        raise RuntimeError(f"{where}: an input changed size while it was read")
    return 0


cdef double real_operand(object x, str where) except? -1.0:
    if not mg_is_real(x):
        raise TypeError(f"{where}: expected a Value or a real number, not {type(x).__name__}")
    return as_double(x)


# ---------------------------------------------------------------------------


cdef class Value:
    """Stores a single scalar value and its gradient."""

    __array_ufunc__ = None  # numpy scalars defer to our reflected operators

    def __init__(self, data, _children=(), _op=''):
        if self.node.flags & MG_INITIALISED:
            raise RuntimeError("Value.__init__ may only run once")
        cdef double x = as_double(data)
        cdef tuple children = tuple(_children)
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"children must be Values, not {type(child).__name__}")
        cdef str op = _op if isinstance(_op, str) else str(_op)
        self.node.data = x
        self.node.flags = MG_INITIALISED
        if children or op:
            e = mg_extra_new(len(children))
            if e == NULL:
                raise MemoryError()
            fill_items(e, 0, len(children), children, "Value")
            Py_INCREF(op)
            e.op_name = <PyObject *>op
            self.node.u.extra = e
            self.node.op = MG_CUSTOM
        mg_untrack_new_leaf(self)

    def __setattr__(self, name, value):
        PyObject_GenericSetAttr(self, name, <PyObject *>value)
        mg_track_if_dict(self)

    def __delattr__(self, name):
        PyObject_GenericSetAttr(self, name, NULL)

    @property
    def data(self):
        return self.node.data

    @data.setter
    def data(self, value):
        self.node.data = as_double(value)

    @property
    def grad(self):
        return self.node.grad

    @grad.setter
    def grad(self, value):
        self.node.grad = as_double(value)

    @property
    def _prev(self):
        cdef PyObject *const *kids
        cdef Py_ssize_t i, n = mg_children(&self.node, &kids)
        return {<object>kids[i] for i in range(n)}

    @property
    def _op(self):
        cdef int op = self.node.op
        if op == MG_POW:
            e = self.node.u.pow.exponent
            return f"**{int(e)}" if self.node.flags & MG_INT_EXPONENT else f"**{e}"
        if op == MG_CUSTOM:
            return <object>self.node.u.extra.op_name
        return _OP_NAMES[op]

    @property
    def _backward(self):
        """This node's local chain rule: out.grad into its children's grads."""
        if self.node.op == MG_CUSTOM and self.node.u.extra.backward != NULL:
            return <object>self.node.u.extra.backward
        return LocalChainRule(self)

    @_backward.setter
    def _backward(self, fn):
        if not callable(fn):
            raise TypeError(f"_backward must be callable, not {type(fn).__name__}")
        raise_error(mg_set_custom_backward(&self.node, <PyObject *>fn, <PyObject *>self._op))
        mg_track(self)  # the closure usually refers back to this node: a cycle

    def __add__(self, other):
        o = operand(other)
        return NotImplemented if o is None else binary(MG_ADD, self, o)

    def __radd__(self, other):  # other + self
        o = operand(other)
        return NotImplemented if o is None else binary(MG_ADD, self, o)

    def __mul__(self, other):
        o = operand(other)
        return NotImplemented if o is None else binary(MG_MUL, self, o)

    def __rmul__(self, other):  # other * self
        o = operand(other)
        return NotImplemented if o is None else binary(MG_MUL, self, o)

    def __neg__(self):  # self * -1
        return binary(MG_MUL, self, leaf(-1.0))

    def __sub__(self, other):  # self + (-other)
        if isinstance(other, Value):
            return binary(MG_ADD, self, -other)
        if mg_is_real(other):
            return binary(MG_ADD, self, leaf(-as_double(other)))
        return NotImplemented

    def __rsub__(self, other):  # other + (-self)
        if not mg_is_real(other):
            return NotImplemented
        return binary(MG_ADD, -self, leaf(as_double(other)))

    def __truediv__(self, other):  # self * other**-1
        cdef int err = MG_OK
        cdef double inverse
        if isinstance(other, Value):
            return binary(MG_MUL, self, power(other, -1.0, True))
        if not mg_is_real(other):
            return NotImplemented
        inverse = mg_pow(as_double(other), -1.0, &err)
        if err != MG_OK:
            raise_error(err)
        return binary(MG_MUL, self, leaf(inverse))

    def __rtruediv__(self, other):  # other * self**-1
        if not mg_is_real(other):
            return NotImplemented
        return binary(MG_MUL, power(self, -1.0, True), leaf(as_double(other)))

    def __pow__(self, other, modulo):
        if modulo is not None:
            return NotImplemented
        if isinstance(other, Value):
            return binary(MG_POWV, self, other)
        if not mg_is_real(other):
            return NotImplemented
        return power(self, as_double(other), mg_is_integral(other))

    def __rpow__(self, other, modulo):  # other ** self
        if modulo is not None or not mg_is_real(other):
            return NotImplemented
        return binary(MG_POWV, leaf(as_double(other)), self)

    def relu(self):
        return unary(MG_RELU, self)

    def tanh(self):
        return unary(MG_TANH, self)

    def exp(self):
        return unary(MG_EXP, self)

    def log(self):
        return unary(MG_LOG, self)

    def sigmoid(self):
        return unary(MG_SIGMOID, self)

    def backward(self):
        cdef int err = mg_backward(<PyObject *>self)
        if err != MG_OK:
            raise_error(err)

    def __repr__(self):
        return f"Value(data={self.node.data}, grad={self.node.grad})"

    def __reduce__(self):
        """Leaves pickle and deep-copy (data, grad, attributes); an interior
        node would drag its whole graph along, so it is refused."""
        if self.node.op != MG_LEAF:
            raise TypeError(f"cannot pickle or copy a Value made by an op ({self._op!r}): "
                            "only leaves (parameters, inputs) can be; rebuild the graph from them")
        cdef PyObject *attrs = (<mg_value *><PyObject *>self).dict
        return (_leaf, (type(self), self.node.data), (self.node.grad, <object>attrs if attrs != NULL else None))

    def __setstate__(self, state):
        grad, attrs = state
        self.node.grad = as_double(grad)
        for name, value in (attrs or {}).items():
            setattr(self, name, value)


def _leaf(cls, data):
    """Unpickles a leaf of class cls, whatever cls's own __init__ takes."""
    v = cls.__new__(cls)
    Value.__init__(v, data)
    return v


@cython.final
cdef class LocalChainRule:
    """What a Value's _backward reads as: calling it applies that node's
    local chain rule once, as micrograd's closures do."""

    cdef Value out

    def __cinit__(self, Value out):
        self.out = out

    def __call__(self):
        cdef int err = mg_backward_local(&self.out.node)
        if err != MG_OK:
            raise_error(err)

    def __repr__(self):
        return f"<chain rule of {self.out._op or 'leaf'} node {self.out!r}>"


def dot(ws, xs, bias=0.0):
    """bias + ws[0]*xs[0] + ws[1]*xs[1] + ... as ONE node, summed left to right
    exactly as micrograd's Neuron does with sum(generator, bias)."""
    ws = ws if type(ws) is list or type(ws) is tuple else list(ws)
    xs = xs if type(xs) is list or type(xs) is tuple else list(xs)
    cdef Py_ssize_t n = len(ws)
    if len(xs) != n:
        raise ValueError(f"dot: {n} weights but {len(xs)} inputs")
    cdef bint has_bias = isinstance(bias, Value)
    cdef double start = 0.0 if has_bias else real_operand(bias, "dot bias")
    cdef Value out = nary(MG_DOT, 2 * n + has_bias)
    cdef mg_extra *e = out.node.u.extra
    e.pairs = n
    e.start = start
    fill_items(e, 0, n, ws, "dot")
    fill_items(e, n, n, xs, "dot")
    if has_bias:
        Py_INCREF(bias)
        e.items[2 * n] = <PyObject *>bias
    return finish(out)


def dense(list weights, list biases, xs, bint relu):
    """A layer of neurons in one call: [dot(w, xs, b), relu'd if asked, for
    each row w of weights and b of biases]. Number inputs become leaves once,
    shared by every neuron."""
    cdef Py_ssize_t j, k = len(weights)
    if len(biases) != k:
        raise ValueError(f"dense: {k} weight rows but {len(biases)} biases")
    cdef list inputs = [x if isinstance(x, Value) else leaf(real_operand(x, "dense input")) for x in xs]
    for j in range(k):
        if len(weights[j]) != len(inputs):
            raise ValueError(f"dense: neuron {j} has {len(weights[j])} weights for {len(inputs)} inputs")
        if not isinstance(biases[j], Value):
            raise TypeError(f"dense: bias {j} is a {type(biases[j]).__name__}, not a Value")
    return dense_nodes(weights, biases, inputs, relu)


cdef list dense_nodes(weights, biases, list inputs, bint relu):
    """dense's nodes. weights and biases are lists or tuples, inputs a list of
    Values that only the caller can reach; the caller has checked that every
    row of weights has len(inputs) entries and that every bias is a Value.
    (A weight that is a number runs its __float__, which could change
    weights or biases: hence the checks in the loop.)"""
    cdef Py_ssize_t i, j, k = PySequence_Fast_GET_SIZE(weights), n = len(inputs)
    cdef list out = [None] * k
    cdef Value node
    cdef mg_extra *e
    cdef PyObject *x
    for j in range(k):
        if PySequence_Fast_GET_SIZE(weights) != k:
            raise RuntimeError("dense: the weights changed while the layer was computed")
        node = nary(MG_DOT, 2 * n + 1)
        e = node.node.u.extra
        e.pairs = n
        fill_items(e, 0, n, <object>PySequence_Fast_GET_ITEM(weights, j), "dense")
        for i in range(n):
            x = PySequence_Fast_GET_ITEM(inputs, i)
            Py_INCREF(<object>x)
            e.items[n + i] = x
        if (PySequence_Fast_GET_SIZE(biases) != k
                or not isinstance(<object>PySequence_Fast_GET_ITEM(biases, j), Value)):
            raise RuntimeError("dense: the biases changed while the layer was computed")
        x = PySequence_Fast_GET_ITEM(biases, j)
        Py_INCREF(<object>x)
        e.items[2 * n] = x
        finish(node)
        out[j] = unary(MG_RELU, node) if relu else node
    return out


@cython.final
cdef class DensePlan:
    """A stack of dense layers called as one: micrograd_fast.nn's MLP makes
    one from its parts and calls it instead of each Layer in turn. Calling it
    returns what the layers would, or None when it no longer applies: the
    lists it was made from (model.layers, each layer.neurons) now hold other
    parts, a weight list changed length, or x is not a list of Values and
    numbers of the right size. nn.py then calls the layers one by one, which
    also words the errors."""
    cdef tuple parts      # the lists that must keep their contents...
    cdef tuple contents   # ...and those contents, as tuples
    cdef tuple weights    # per layer, a tuple of each neuron's weight list
    cdef tuple biases     # per layer, a tuple of each neuron's bias Value
    cdef tuple relus      # per layer, whether its neurons are ReLU'd

    def __cinit__(self, parts, weights, biases, relus):
        self.parts = tuple(parts)
        for p in self.parts:
            if type(p) is not list:
                raise TypeError(f"DensePlan: parts must be lists, not {type(p).__name__}")
        self.contents = tuple([tuple(p) for p in self.parts])
        self.weights = tuple([tuple(w) for w in weights])
        self.biases = tuple([tuple(b) for b in biases])
        self.relus = tuple([bool(r) for r in relus])
        if not len(self.weights) == len(self.biases) == len(self.relus):
            raise ValueError("DensePlan: weights, biases and relus must have one entry per layer")
        for ws, bs in zip(self.weights, self.biases):
            if len(ws) == 0 or len(ws) != len(bs):
                raise ValueError("DensePlan: each layer needs as many weight lists as biases, at least one")
            for b in bs:
                if not isinstance(b, Value):
                    raise TypeError(f"DensePlan: bias is a {type(b).__name__}, not a Value")

    def __call__(self, xs):
        cdef Py_ssize_t i, j
        cdef list x
        for i in range(len(self.parts)):
            if not same_items(self.parts[i], self.contents[i]):
                return None
        if type(xs) is not list and type(xs) is not tuple:
            return None
        for v in xs:
            if type(v) is not Value and not (type(v) is float or type(v) is int):
                return None
        x = [v if type(v) is Value else leaf(as_double(v)) for v in xs]
        cdef tuple ws
        for i in range(len(self.weights)):
            ws = self.weights[i]
            for j in range(len(ws)):
                if type(ws[j]) is not list or len(<list>ws[j]) != len(x):
                    return None
            x = dense_nodes(ws, self.biases[i], x, self.relus[i])
        return x[0] if len(x) == 1 else x


cdef bint same_items(list now, tuple then):
    cdef Py_ssize_t i, n = len(then)
    if len(now) != n:
        return False
    for i in range(n):
        if <PyObject *>now[i] != <PyObject *>then[i]:
            return False
    return True


def sum(values, start=0.0):
    """start + values[0] + values[1] + ... as ONE node, left to right."""
    values = values if type(values) is list or type(values) is tuple else list(values)
    cdef bint start_is_child = isinstance(start, Value)
    cdef double start_data = 0.0 if start_is_child else real_operand(start, "sum start")
    cdef Value out = nary(MG_SUM, len(values) + start_is_child)
    cdef mg_extra *e = out.node.u.extra
    e.start = start_data
    if start_is_child:
        Py_INCREF(start)
        e.items[0] = <PyObject *>start
        out.node.flags |= MG_START_IS_CHILD
    fill_items(e, start_is_child, len(values), values, "sum")
    return finish(out)


def nll_rows(list rows, list targets):
    """-log_softmax(row)[t] for each row and target, as losses.cross_entropy
    builds it from Value operators (the same nodes, the same numbers), made in
    one C loop. Returns None unless every row is a list of C plain Values (C
    the same for all) and every target an int in [0, C): losses.py then takes
    its own path, which handles everything else and words the errors."""
    cdef Py_ssize_t i, j, c, n = len(rows)
    cdef list out, frozen
    cdef tuple row
    cdef double top
    cdef Value total, shifted_t
    if n == 0 or len(targets) != n or type(rows[0]) is not list:
        return None
    c = len(<list>rows[0])
    if c == 0:
        return None
    cdef Py_ssize_t *index = <Py_ssize_t *>PyMem_Malloc(n * sizeof(Py_ssize_t))
    if index == NULL:
        raise MemoryError()
    try:
        for i in range(n):  # first, as an __index__ may run any code
            if not class_index(targets[i], c, &index[i]):
                return None
        frozen = [None] * n  # tuples: nothing can change them while nodes are made
        for i in range(n):
            if type(rows[i]) is not list or len(<list>rows[i]) != c:
                return None
            row = tuple(<list>rows[i])
            for j in range(c):
                if type(row[j]) is not Value:
                    return None
            frozen[i] = row
        out = [None] * n
        for i in range(n):
            row = frozen[i]
            # the steps of losses._nll: shift by the max, exp, sum, log, minus the target's
            top = (<Value>row[0]).node.data
            for j in range(1, c):
                if (<Value>row[j]).node.data > top:  # max()'s rule, NaN included
                    top = (<Value>row[j]).node.data
            total = nary(MG_SUM, c)
            shifted_t = None
            for j in range(c):
                shifted = binary(MG_ADD, <Value>row[j], leaf(-top))
                if j == index[i]:
                    shifted_t = shifted
                exp = unary(MG_EXP, shifted)
                Py_INCREF(exp)
                total.node.u.extra.items[j] = <PyObject *>exp
            finish(total)
            out[i] = binary(MG_ADD, unary(MG_LOG, total), binary(MG_MUL, shifted_t, leaf(-1.0)))
        return out
    finally:
        PyMem_Free(index)


cdef bint class_index(object target, Py_ssize_t classes, Py_ssize_t *index) except -1:
    """Stores operator.index(target) and says whether it is a class index in
    [0, classes); a bool is not one (torch refuses it too)."""
    if type(target) is not int:
        if isinstance(target, bool):
            return False
        try:
            target = operator.index(target)  # numpy's integers
        except TypeError:
            return False
    if not 0 <= target < classes:
        return False
    index[0] = target
    return True


# ---------------------------------------------------------------------------
# The tape


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
                                        or MG_NODE(<object>borrowed[i]).u.extra.backward != NULL):
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
        raise_error(mg_tape_forward(self.order, self.ops, self.n))
        return MG_NODE(<object>self.order[self.n - 1]).data

    def backward(self):
        """The root's backward() as on a freshly built graph: interior grads
        restart from 0, leaves accumulate."""
        raise_error(mg_tape_backward(self.order, self.ops, self.n))

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
                raise_error(mg_tape_forward(self.order, self.ops, self.n))
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
            buffer[i] = as_double(numbers[i])
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


# ---------------------------------------------------------------------------
# Optimizer updates (micrograd_fast.optim): the same arithmetic as the Python
# loops in optim.py, over the parameter list in C.


cdef inline mg_node *param_node(list params, Py_ssize_t i) except NULL:
    p = params[i]
    if type(p) is not Value and not isinstance(p, Value):
        raise TypeError(f"parameter {i} is a {type(p).__name__}, not a compiled Value")
    return MG_NODE(p)


def zero_grads(list params):
    """p.grad = 0 for every parameter."""
    cdef Py_ssize_t i
    for i in range(len(params)):
        param_node(params, i).grad = 0.0


def sgd_update(list params, double lr, double momentum, double weight_decay,
               double[::1] buf, bint first):
    cdef Py_ssize_t i, n = len(params)
    cdef mg_node *p
    cdef double d
    if buf.shape[0] != n:
        raise ValueError(f"sgd_update: {buf.shape[0]} buffer entries for {n} parameters")
    for i in range(n):
        p = param_node(params, i)
        d = p.grad
        if weight_decay != 0.0:
            d = d + weight_decay * p.data
        if momentum != 0.0:
            buf[i] = d if first else buf[i] * momentum + d
            d = buf[i]
        p.data = p.data - lr * d


def adam_update(list params, double lr, double beta1, double beta2, double eps,
                double weight_decay, bint decoupled, long step, double[::1] m, double[::1] v):
    cdef Py_ssize_t i, n = len(params)
    cdef mg_node *p
    cdef double g, x, denom
    if m.shape[0] != n or v.shape[0] != n:
        raise ValueError(f"adam_update: moment buffers do not match {n} parameters")
    cdef int err = MG_OK
    cdef double bias_correction1 = 1.0 - mg_pow(beta1, step, &err)
    cdef double bias_correction2_sqrt = sqrt(1.0 - mg_pow(beta2, step, &err))
    raise_error(err)
    cdef double step_size = lr / bias_correction1
    for i in range(n):
        p = param_node(params, i)
        g = p.grad
        x = p.data
        if weight_decay != 0.0:
            if decoupled:
                x = x * (1.0 - lr * weight_decay)
            else:
                g = g + weight_decay * x
        m[i] = m[i] + (1.0 - beta1) * (g - m[i])
        v[i] = v[i] * beta2 + (1.0 - beta2) * g * g
        denom = sqrt(v[i]) / bias_correction2_sqrt + eps
        p.data = x - step_size * (m[i] / denom)


def grad_enabled():
    """Whether ops on this thread record their children (see no_grad)."""
    return bool(mg_grad_enabled())


def set_grad_enabled(enabled):
    mg_set_grad_enabled(1 if enabled else 0)


mg_value_type_ready(<PyTypeObject *>Value, Value.__new__(Value))

