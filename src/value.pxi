# The Value type: micrograd's API over the C node (csrc/node.h). Ops build
# nodes with the C builders of csrc/value.h; csrc/value.c adds what Cython
# cannot express: dealloc, the GC slots, attributes kept outside the object
# (csrc/attributes.c) and micrograd's operators as the number slots.

# _op by op code, from csrc/op_table.h
cdef tuple OP_NAMES = tuple([(<bytes>mg_op_names[i]).decode() for i in range(MG_NUM_OPS)])


cdef class Value:
    """Stores a single scalar value and its gradient."""

    cdef mg_node node  # first: csrc/node.h's mg_value has the same layout
    cdef object __weakref__

    __array_ufunc__ = None  # numpy scalars defer to our reflected operators

    def __init__(self, data, _children=(), _op='', label=''):
        """micrograd's Value(data, _children, _op), with the lecture's label.
        microgpt's Value(data, children, local_grads) works too: a tuple or
        list of numbers in _op's place are the children's local gradients."""
        if self.node.flags & MG_INITIALISED:
            raise RuntimeError("Value.__init__ may only run once")
        cdef double x = as_double(data)
        cdef tuple children = tuple(_children)
        for child in children:
            if not isinstance(child, Value):
                raise TypeError(f"children must be Values, not {type(child).__name__}")
        cdef tuple local_grads = None
        if isinstance(_op, (tuple, list)):
            local_grads = checked_local_grads(_op, len(children))
            _op = ''
        cdef str op = _op if isinstance(_op, str) else str(_op)
        self.node.data = x
        self.node.flags = MG_INITIALISED
        cdef mg_nary *e
        if children or op:
            e = mg_nary_new(len(children))
            if e == NULL:
                raise MemoryError()
            Py_INCREF(op)
            e.op_name = <PyObject *>op
            if local_grads is not None:
                Py_INCREF(local_grads)
                e.local_grads = <PyObject *>local_grads
            self.node.u.nary = e
            self.node.op = MG_CUSTOM
            fill_children(e, 0, len(children), children, "Value")
        if label != '':
            self.label = label
        mg_untrack_new_leaf(self)

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
    def label(self):
        """The lecture's name for the node in drawings; '' unless set."""
        attrs = mg_value_attributes(self, False)
        if attrs == NULL:
            return ''
        return (<dict>attrs).get('label', '')

    @label.setter
    def label(self, value):
        attributes_made(self)['label'] = value

    @label.deleter
    def label(self):
        attrs = mg_value_attributes(self, False)
        if attrs == NULL or 'label' not in <dict>attrs:
            raise AttributeError("label")
        del (<dict>attrs)['label']

    @property
    def __dict__(self):
        """The Value's own attributes (kept outside the object)."""
        return attributes_made(self)

    @property
    def _prev(self):
        """micrograd's: the set of children."""
        cdef PyObject *const *kids
        cdef Py_ssize_t i, n = mg_children(&self.node, &kids)
        return {<object>kids[i] for i in range(n)}

    @property
    def _children(self):
        """microgpt's: the children, in order."""
        cdef PyObject *const *kids
        cdef Py_ssize_t i, n = mg_children(&self.node, &kids)
        return tuple([<object>kids[i] for i in range(n)])

    @property
    def _local_grads(self):
        """microgpt's: the derivative of this node with respect to each child,
        at the children's current data, in _children's order; None for a
        micrograd-style custom op, whose _backward is the user's own code."""
        cdef PyObject *const *kids
        cdef Py_ssize_t i, n = mg_children(&self.node, &kids)
        cdef mg_nary *custom
        if self.node.op == MG_CUSTOM:
            custom = self.node.u.nary
            if custom != NULL and custom.local_grads != NULL:
                return <tuple>custom.local_grads
            if n == 0 and (custom == NULL or custom.backward == NULL):
                return ()
            return None
        cdef double *d = <double *>PyMem_Malloc(max(n, 1) * sizeof(double))
        if d == NULL:
            raise MemoryError()
        try:
            mg_raise(mg_local_grads(&self.node, d))
            return tuple([d[i] for i in range(n)])
        finally:
            PyMem_Free(d)

    @property
    def _op(self):
        cdef int op = self.node.op
        if op == MG_POW:
            e = self.node.u.pow.exponent
            return f"**{int(e)}" if self.node.flags & MG_INT_EXPONENT else f"**{e}"
        if op == MG_CUSTOM:
            return <object>self.node.u.nary.op_name
        return OP_NAMES[op]

    @property
    def _backward(self):
        """This node's local chain rule: out.grad into its children's grads."""
        if self.node.op == MG_CUSTOM and self.node.u.nary.backward != NULL:
            return <object>self.node.u.nary.backward
        return _LocalChainRule(self)

    @_backward.setter
    def _backward(self, fn):
        if not callable(fn):
            raise TypeError(f"_backward must be callable, not {type(fn).__name__}")
        mg_raise(mg_set_custom_backward(&self.node, <PyObject *>fn, <PyObject *>self._op))
        mg_track(self)  # the closure usually refers back to this node: a cycle

    # The operators are csrc/value.c's number slots; these names make them
    # callable as methods too (Value.__add__(a, b)), with the same results.

    def __add__(self, other):
        return mg_value_add(self, other)

    def __radd__(self, other):  # other + self
        return mg_value_add(other, self)

    def __sub__(self, other):  # self + (-other)
        return mg_value_subtract(self, other)

    def __rsub__(self, other):  # other + (-self)
        return mg_value_subtract(other, self)

    def __mul__(self, other):
        return mg_value_multiply(self, other)

    def __rmul__(self, other):  # other * self
        return mg_value_multiply(other, self)

    def __truediv__(self, other):  # self * other**-1
        return mg_value_true_divide(self, other)

    def __rtruediv__(self, other):  # other * self**-1
        return mg_value_true_divide(other, self)

    def __pow__(self, other, modulo):
        return mg_value_power(self, other, modulo)

    def __rpow__(self, other, modulo):  # other ** self
        return mg_value_power(other, self, modulo)

    def __neg__(self):  # self * -1
        return mg_value_negative(self)

    # relu, tanh, exp, log, sigmoid, sin, cos, abs, sqrt (and __abs__): one
    # method per unary row of csrc/op_table.h, made by csrc/unary_methods.c.

    def backward(self):
        mg_raise(mg_backward(<PyObject *>self))

    def __repr__(self):
        return f"Value(data={self.node.data}, grad={self.node.grad})"

    def __reduce__(self):
        """Leaves pickle and deep-copy (data, grad, attributes); an interior
        node would drag its whole graph along, so it is refused."""
        if self.node.op != MG_LEAF:
            raise TypeError(f"cannot pickle or copy a Value made by an op ({self._op!r}): "
                            "only leaves (parameters, inputs) can be; rebuild the graph from them")
        attrs = mg_value_attributes(self, False)
        return (_leaf, (type(self), self.node.data),
                (self.node.grad, dict(<dict>attrs) if attrs != NULL and <dict>attrs else None))

    def __setstate__(self, state):
        grad, attrs = state
        self.node.grad = as_double(grad)
        for name, value in (attrs or {}).items():
            setattr(self, name, value)


cdef dict attributes_made(Value v):
    """v's attribute dict, made if it has none."""
    cdef PyObject *attrs = mg_value_attributes(v, True)
    if attrs == NULL:
        raise MemoryError()
    return <dict>attrs


cdef tuple checked_local_grads(object grads, Py_ssize_t count):
    """microgpt's local_grads as a tuple of floats, one per child."""
    cdef tuple out = tuple([as_double(g) if mg_is_real(g) else bad_local_grad(g) for g in grads])
    if len(out) != count:
        raise ValueError(f"Value: {count} children but {len(out)} local gradients")
    return out


cdef object bad_local_grad(object g):
    raise TypeError(f"Value: local gradients must be real numbers, not {type(g).__name__}")


def _leaf(cls, data):
    """Unpickles a leaf of class cls, whatever cls's own __init__ takes."""
    v = cls.__new__(cls)
    Value.__init__(v, data)
    return v


@cython.final
cdef class _LocalChainRule:
    """What a Value's _backward reads as: calling it applies that node's
    local chain rule once, as micrograd's closures do."""

    cdef Value out

    def __cinit__(self, Value out):
        self.out = out

    def __call__(self):
        mg_raise(mg_backward_local(&self.out.node))

    def __repr__(self):
        return f"<chain rule of {self.out._op or 'leaf'} node {self.out!r}>"
