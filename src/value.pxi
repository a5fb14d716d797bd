# The Value type: micrograd's API over the C node (csrc/node.h). Ops build
# nodes with the C builders of csrc/value.h; csrc/value.c adds the slots
# Cython cannot express (dealloc, GC, the a + b and a * b fast paths).

cdef extern from "Python.h":
    int PyObject_GenericSetAttr(object, object, PyObject *) except -1

# _op by op code, from csrc/op_table.h
cdef tuple OP_NAMES = tuple([(<bytes>mg_op_names[i]).decode() for i in range(MG_NUM_OPS)])


cdef class Value:
    """Stores a single scalar value and its gradient."""

    cdef mg_node node  # first: csrc/node.h's mg_value has the same layout
    cdef dict __dict__

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
        cdef mg_nary *e
        if children or op:
            e = mg_nary_new(len(children))
            if e == NULL:
                raise MemoryError()
            Py_INCREF(op)
            e.op_name = <PyObject *>op
            self.node.u.nary = e
            self.node.op = MG_CUSTOM
            fill_children(e, 0, len(children), children, "Value")
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

    def __add__(self, other):
        o = operand(other)
        return NotImplemented if o is None else mg_new_binary(MG_ADD, self, o)

    def __radd__(self, other):  # other + self
        o = operand(other)
        return NotImplemented if o is None else mg_new_binary(MG_ADD, self, o)

    def __mul__(self, other):
        o = operand(other)
        return NotImplemented if o is None else mg_new_binary(MG_MUL, self, o)

    def __rmul__(self, other):  # other * self
        o = operand(other)
        return NotImplemented if o is None else mg_new_binary(MG_MUL, self, o)

    def __neg__(self):  # self * -1
        return mg_new_binary(MG_MUL, self, leaf(-1.0))

    def __sub__(self, other):  # self + (-other)
        if isinstance(other, Value):
            return mg_new_binary(MG_ADD, self, -other)
        if mg_is_real(other):
            return mg_new_binary(MG_ADD, self, leaf(-as_double(other)))
        return NotImplemented

    def __rsub__(self, other):  # other + (-self)
        if not mg_is_real(other):
            return NotImplemented
        return mg_new_binary(MG_ADD, -self, leaf(as_double(other)))

    def __truediv__(self, other):  # self * other**-1
        cdef int err = MG_OK
        cdef double inverse
        if isinstance(other, Value):
            return mg_new_binary(MG_MUL, self, mg_new_pow(other, -1.0, True))
        if not mg_is_real(other):
            return NotImplemented
        inverse = mg_pow(as_double(other), -1.0, &err)
        if err != MG_OK:
            mg_raise(err)
        return mg_new_binary(MG_MUL, self, leaf(inverse))

    def __rtruediv__(self, other):  # other * self**-1
        if not mg_is_real(other):
            return NotImplemented
        return mg_new_binary(MG_MUL, mg_new_pow(self, -1.0, True), leaf(as_double(other)))

    def __pow__(self, other, modulo):
        if modulo is not None:
            return NotImplemented
        if isinstance(other, Value):
            return mg_new_binary(MG_POWV, self, other)
        if not mg_is_real(other):
            return NotImplemented
        return mg_new_pow(self, as_double(other), mg_is_integral(other))

    def __rpow__(self, other, modulo):  # other ** self
        if modulo is not None or not mg_is_real(other):
            return NotImplemented
        return mg_new_binary(MG_POWV, leaf(as_double(other)), self)

    def relu(self):
        return mg_new_unary(MG_RELU, self)

    def tanh(self):
        return mg_new_unary(MG_TANH, self)

    def exp(self):
        return mg_new_unary(MG_EXP, self)

    def log(self):
        return mg_new_unary(MG_LOG, self)

    def sigmoid(self):
        return mg_new_unary(MG_SIGMOID, self)

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

