# The Value type: micrograd's API over the C node (csrc/core/node.h). Ops build
# nodes with the C builders of csrc/core/value.h; csrc/core/value.c adds what Cython
# cannot express: dealloc, the GC slots, attributes kept outside the object
# (csrc/core/attributes.c) and micrograd's operators as the number slots.

# _op by op code, from csrc/ops/op_table.h
cdef tuple OP_NAMES = tuple([(<bytes>mg_op_names[i]).decode() for i in range(MG_NUM_OPS)])


cdef class Value:
    """Stores a single scalar value and its gradient."""

    cdef mg_node node  # first: csrc/core/node.h's mg_value has the same layout
    cdef object __weakref__

    __array_ufunc__ = None  # numpy scalars defer to our reflected operators

    def __init__(self, data, _children=(), _op='', label=''):
        """micrograd's Value(data, _children, _op), with the lecture's label.
        microgpt's Value(data, children, local_grads) works too: a tuple or
        list of numbers in _op's place are the children's local gradients.
        Everything is checked before anything is written."""
        if self.node.flags & MG_INITIALISED:
            raise RuntimeError("Value.__init__ may only run once")
        cdef tuple children = tuple(_children)
        for child in children:
            if not isinstance(child, Value):
                raise checks.must_be("children", "Values", child)
        cdef tuple local_grads = None
        if isinstance(_op, (tuple, list)):
            local_grads = checked_local_grads(_op, len(children))
            _op = ''
        cdef str op = _op if isinstance(_op, str) else str(_op)
        cdef type cls = type(self)
        if cls is not Value and overrides(cls, "data"):
            self.data = data  # upstream's self.data = data, through the subclass's property
        else:
            self.node.data = real_data(data, "Value")
        if cls is not Value and overrides(cls, "grad"):
            self.grad = 0.0
            global grad_property_seen
            grad_property_seen = True
        self.node.flags |= MG_INITIALISED
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

    # A Value whose __init__ never ran (a subclass's __init__ that skips
    # super().__init__()) has no data or grad, as upstream's has none.

    @property
    def data(self):
        if not self.node.flags & MG_INITIALISED:
            raise uninitialised(self, "data")
        return self.node.data

    @data.setter
    def data(self, value):
        self.node.data = real_data(value, "data")

    @property
    def grad(self):
        if not self.node.flags & MG_INITIALISED:
            raise uninitialised(self, "grad")
        return self.node.grad

    @grad.setter
    def grad(self, value):
        self.node.grad = real_data(value, "grad")

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
            raise checks.must_be("_backward", "callable", fn)
        mg_raise(mg_set_custom_backward(&self.node, <PyObject *>fn, <PyObject *>self._op))
        mg_track(self)  # the closure usually refers back to this node: a cycle

    # The operators are csrc/core/value.c's number slots; these names make them
    # callable as methods too (Value.__add__(a, b)), with the same results.

    def __add__(self, other):
        return mg_value_add(self, other)

    # The reflected forms are upstream's (self + other, other + (-self), ...):
    # given a Value as other, Python came here only because self's type is a
    # subclass, where upstream would have run other's (Value's) own method.

    def __radd__(self, other):  # other + self: upstream's self + other
        if type(self) is Value or isinstance(other, Value):
            return mg_value_add(other, self)
        return self + other

    def __sub__(self, other):  # self + (-other)
        return mg_value_subtract(self, other)

    def __rsub__(self, other):  # other + (-self)
        return mg_value_subtract(other, self)

    def __mul__(self, other):
        return mg_value_multiply(self, other)

    def __rmul__(self, other):  # other * self: upstream's self * other
        if type(self) is Value or isinstance(other, Value):
            return mg_value_multiply(other, self)
        return self * other

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

    # The unary ops (UNARY_OPS: relu, tanh, ..., step, sign; and __abs__): one
    # method per unary row of csrc/ops/op_table.h, made by csrc/core/unary_methods.c.

    def backward(self):
        ready(self)
        if grad_property_seen and backward_through_properties(self):
            return
        mg_raise(mg_backward(<PyObject *>self))

    def __repr__(self):  # through data and grad, as upstream's: a subclass's properties count
        return f"Value(data={self.data}, grad={self.grad})"

    def __reduce__(self):
        """Leaves pickle and copy (data, grad, attributes, and a subclass's
        __slots__ as Python's default pickling keeps them); an interior node
        would drag its whole graph along, so it is refused."""
        if self.node.op != MG_LEAF:
            raise checks.not_a_leaf(self._op)
        attrs = mg_value_attributes(self, False)
        state = (self.node.grad, dict(<dict>attrs) if attrs != NULL and <dict>attrs else None)
        slots = slot_values(self)
        return (_leaf, (type(self), self.node.data), state + (slots,) if slots else state)

    def __setstate__(self, state):
        """(grad, attributes[, slots]), each checked before any is written:
        on an error the Value is unchanged."""
        if type(state) is not tuple or len(state) not in (2, 3):
            raise checks.bad_pickle_state(state)
        grad = real_data(state[0], "grad")
        attrs = state[1] or {}
        slots = (state[2] if len(state) == 3 else None) or {}
        if type(attrs) is not dict or type(slots) is not dict:
            raise checks.bad_pickle_state(state)
        cdef type cls = type(self)
        for name, value in attrs.items():
            check_settable(cls, name, value)
        slot_names = copyreg._slotnames(cls)
        for name in slots:
            if name not in slot_names:
                raise checks.not_settable(cls, name)
        if cls is not Value and overrides(cls, "grad"):
            self.grad = grad
        else:
            self.node.grad = grad
        for name, value in attrs.items():
            setattr(self, name, value)
        for name, value in slots.items():
            setattr(self, name, value)


cdef object uninitialised(Value v, str name):
    """What reading a field of a Value whose __init__ never ran raises."""
    return AttributeError(f"'{type(v).__name__}' object has no attribute '{name}'")


cdef object class_attribute(type cls, str name):
    """(owner, attribute) as attribute lookup on an instance of cls finds
    name on the type, or (None, None)."""
    for klass in cls.__mro__:
        found = klass.__dict__.get(name, _MISSING)
        if found is not _MISSING:
            return klass, found
    return None, None


cdef object _MISSING = object()


# Whether a Value of a class that keeps grad in a property of its own was
# ever made: until one is, backward() never looks for them.
cdef bint grad_property_seen = False


cdef bint backward_through_properties(Value root) except -1:
    """upstream's backward, every grad read and written as an attribute,
    when root's graph holds a node whose class keeps grad in a property of
    its own (the C sweep would bypass it); False if it holds none. As the C
    sweep: microgpt's rule, child.grad += local * out.grad, and on an error
    every grad put back."""
    topo = topo_order(root)
    if not any(type(v) is not Value and overrides(type(v), "grad") for v in topo):
        return False
    before = [v.grad for v in topo]
    try:
        root.grad = 1.0
        for v in reversed(topo):
            local_grads = v._local_grads
            if local_grads is None:  # a custom op's own closure
                v._backward()
                continue
            g = v.grad
            for child, local in zip(v._children, local_grads):
                child.grad += local * g
    except BaseException:
        for v, grad in zip(topo, before):
            v.grad = grad
        raise
    return True


cdef bint overrides(type cls, str name):
    """Whether a subclass cls defines name (data, grad) for itself."""
    return class_attribute(cls, name)[0] is not Value


# Value's own attributes that a pickled state may write; its other data
# descriptors (_op, _prev, _children, ...) are read-only.
cdef tuple WRITABLE = ("data", "grad", "label", "_backward")


cdef int check_settable(type cls, object name, object value) except -1:
    """Raises what setattr(instance of cls, name, value) would for a name
    it could not set, before anything is set."""
    if not isinstance(name, str):
        raise TypeError(f"attribute name must be string, not '{type(name).__name__}'")
    owner, found = class_attribute(cls, name)
    if owner is None or not hasattr(type(found), "__set__"):
        return 0  # the instance's own attribute
    if owner is Value:
        if name not in WRITABLE:
            raise checks.not_settable(cls, name)
        if name == "data" or name == "grad":
            real_data(value, name)
        elif name == "_backward" and not callable(value):
            raise checks.must_be("_backward", "callable", value)
    elif isinstance(found, property) and found.fset is None:
        raise checks.not_settable(cls, name)
    return 0


cdef object slot_values(Value v):
    """The values of v's subclass __slots__ that are set, by name, or None."""
    names = copyreg._slotnames(type(v))
    if not names:
        return None
    out = {}
    for name in names:
        try:
            out[name] = getattr(v, name)
        except AttributeError:
            pass
    return out or None


cdef dict attributes_made(Value v):
    """v's attribute dict, made if it has none."""
    cdef PyObject *attrs = mg_value_attributes(v, True)
    if attrs == NULL:
        raise MemoryError()
    return <dict>attrs


cdef tuple checked_local_grads(object grads, Py_ssize_t count):
    """microgpt's local_grads as a tuple of floats, one per child."""
    cdef tuple out = tuple([local_grad(g) for g in grads])
    if len(out) != count:
        raise checks.lengths_differ("Value", count, "children", len(out), "local gradients")
    return out


cdef double local_grad(object g) except? -1.0:
    if PyFloat_Check(g):
        return PyFloat_AS_DOUBLE(g)
    x = checks.real_number(g)
    if x is None:
        raise checks.must_be("Value: local gradients", "real numbers", g)
    return <double>x


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
