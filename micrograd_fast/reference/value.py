"""Value and backward(): micrograd's engine, its ops made from the table in
ops.py.

Where micrograd gives each node a closure, a node here keeps its rule (a row
of ops.py, or a fused op of fused.py) and its constants, so a tape can
recompute it in place and the graph holds no reference cycles. A node's
state is in slots: vars(Value(1.0)) == {}, and what a user adds (the
lecture's label) goes to its own __dict__.
"""

import functools
import threading

from .. import checks
from .ops import TABLE, UNARY_OPS

ADD, MUL, POW, POWV = TABLE["add"], TABLE["mul"], TABLE["pow"], TABLE["powv"]


class Value:
    """stores a single scalar value and its gradient"""

    __slots__ = (
        "_data", "_grad",    # plain floats, always (the data and grad properties)
        "_children",         # a tuple, in order: microgpt's _children
        "_op",               # micrograd's name of the op that made it: '+', '**2', 'ReLU'
        "_rule",             # that op (ops.Op, fused.Fused); None for leaves and custom ops
        "_arg",              # the rule's constants (pow's exponent), or microgpt's local grads
        "_saved",            # what the rule's forward keeps for its backward (softmax's max)
        "_user_backward",    # a _backward the user assigned (micrograd's custom ops), or None
        "__dict__", "__weakref__",  # a user's attributes, weak references
    )

    __array_ufunc__ = None  # numpy scalars defer to our reflected operators
    label = ""  # the lecture's name for a node in drawings

    def __init__(self, data, _children=(), _op="", label=""):
        """micrograd's Value(data, _children, _op), with the lecture's label.
        microgpt's Value(data, children, local_grads) works too: a tuple or
        list of numbers in _op's place are the children's local gradients."""
        self.data = data
        self.grad = 0.0
        self._children = tuple(_children)
        for child in self._children:
            if not isinstance(child, Value):
                raise checks.must_be("children", "Values", child)
        self._arg = None
        if isinstance(_op, (tuple, list)):
            self._arg = _checked_local_grads(_op, len(self._children))
            _op = ""
        self._op = str(_op)
        self._rule = self._saved = self._user_backward = None
        if label != "":
            self.label = label

    # data and grad are plain floats, by checks.py's operand rule
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, x):
        self._data = x if type(x) is float else checks.real_data(x)

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, x):
        self._grad = x if type(x) is float else checks.real_data(x)

    @property
    def _prev(self):
        return set(self._children)

    @property
    def _backward(self):
        """This node's local chain rule: out.grad into its children's grads."""
        if self._user_backward is not None:
            return self._user_backward
        return functools.partial(chain_rule, self)

    @_backward.setter
    def _backward(self, fn):
        """A custom op, micrograd's way: the node's rule is fn from now on."""
        if not callable(fn):
            raise checks.must_be("_backward", "callable", fn)
        if self._rule is not None:
            self._rule = self._arg = self._saved = None
        self._user_backward = fn

    @property
    def _local_grads(self):
        """microgpt's: the derivative of this node with respect to each child,
        at the children's current data, in _children's order; None for a
        micrograd-style custom op, whose _backward is the user's own code."""
        if self._rule is not None:
            return self._rule.local_grads(self)
        if self._arg is not None:
            return self._arg
        if not self._children and self._user_backward is None:
            return ()
        return None

    def __add__(self, other):
        other = _operand(other)
        if other is NotImplemented:
            return other
        return make(ADD, (self, other))

    def __mul__(self, other):
        other = _operand(other)
        if other is NotImplemented:
            return other
        return make(MUL, (self, other))

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            return NotImplemented
        if isinstance(other, Value):
            return make(POWV, (self, other))
        exponent = checks.real_number(other)
        if exponent is None:
            return NotImplemented
        op = f"**{int(other)}" if hasattr(type(other), "__index__") else f"**{exponent}"
        return make(POW, (self,), (exponent,), op)

    def __rpow__(self, other):  # other ** self
        other = _operand(other)
        if other is NotImplemented:
            return other
        return other**self

    # the unary ops (ops.UNARY_OPS: relu, tanh, ..., step, sign): from ops.UNARY (below)

    def backward(self):
        topo = topo_order(self)
        before = [v.grad for v in topo]  # an error anywhere below puts these back
        try:
            self.grad = 1.0
            for v in reversed(topo):
                chain_rule(v)
        except BaseException:
            for v, grad in zip(topo, before):
                v.grad = grad
            raise

    # micrograd's composite operators, through the operand's own methods (a
    # subclass's __add__, __mul__, __pow__, __neg__); a number is made a
    # plain float first, so -np.uint64(x) never wraps
    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        other = _value_or_float(other)
        if other is NotImplemented:
            return other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        if _value_or_float(other) is NotImplemented:
            return NotImplemented
        return other + (-self)  # the number itself, as upstream's, meets -self

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        other = _value_or_float(other)
        if other is NotImplemented:
            return other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        if _value_or_float(other) is NotImplemented:
            return NotImplemented
        return other * self**-1  # the number itself, as upstream's

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    def __reduce__(self):
        """Leaves pickle and copy (data, grad, attributes, a subclass's
        slots); an interior node would drag its whole graph along, so it is
        refused."""
        if self._children or self._rule is not None or self._user_backward is not None:
            raise checks.not_a_leaf(self._op)
        return (_leaf, (type(self), self.data), (self.grad, _own_attributes(self) or None))

    def __setstate__(self, state):
        grad, attrs = checks.leaf_state(state, ENGINE_NAMES)  # all checked before anything is written
        self.grad = grad
        for name, value in attrs.items():
            setattr(self, name, value)


def _unary(op_id):
    """The method v.<op_id>() of a one-child op of the table."""
    rule = TABLE[op_id]

    def method(self):
        return make(rule, (self,))

    method.__name__, method.__qualname__ = op_id, f"Value.{op_id}"
    method.__doc__ = f"{op_id}(self.data) as a new node (ops.UNARY[{op_id!r}])"
    return method


for _id in UNARY_OPS:
    setattr(Value, _id, _unary(_id))
Value.__abs__ = Value.abs  # abs(v) is v.abs()
Value.__module__ = "micrograd_fast.reference"  # what pickles name (reference.py was a module)

ENGINE_NAMES = checks.VALUE_ATTRIBUTES | set(Value.__slots__)  # a pickle may not set these


# The recording switch that micrograd_fast.no_grad flips: per thread, like
# PyTorch's. Off, an op's result is a leaf.
_recording = threading.local()


def grad_enabled():
    """Whether ops on this thread record their children (see no_grad)."""
    return getattr(_recording, "enabled", True)


def set_grad_enabled(enabled):
    _recording.enabled = bool(enabled)


def make(rule, children, arg=(), op=None):
    """The node rule computes from children (a leaf under no_grad)."""
    out = Value.__new__(Value)
    out._grad = 0.0
    out._children = tuple(children)
    out._op = rule.name if op is None else op
    out._rule, out._arg, out._saved, out._user_backward = rule, arg, None, None
    rule.compute(out)
    return out if grad_enabled() else forget_children(out)


def forget_children(out):
    """out as a leaf, keeping its data: what an op makes under no_grad."""
    out._children, out._op, out._rule, out._arg, out._saved = (), "", None, None, None
    return out


def chain_rule(v):
    """v's grad into its children's: its rule's, the user's _backward, or
    microgpt's local grads (child.grad += local * out.grad)."""
    if v._rule is not None:
        v._rule.backward(v)
    elif v._user_backward is not None:
        v._user_backward()
    elif v._arg is not None:
        for child, local in zip(v._children, v._arg):
            child.grad += local * v.grad


def topo_order(root):
    """Every node reachable from root, children before parents: the order of
    micrograd's recursive build_topo, computed with an explicit stack (so
    deep graphs work)."""
    if not isinstance(root, Value):
        raise checks.expected("topo_order", "a Value", root)
    topo = []
    visited = {id(root)}
    stack = [(root, iter(root._children))]
    while stack:
        node, children = stack[-1]
        for child in children:
            if id(child) not in visited:
                visited.add(id(child))
                stack.append((child, iter(child._children)))
                break
        else:
            stack.pop()
            topo.append(node)
    return topo


def _operand(x):
    """The other side of a binary op as a Value, or NotImplemented."""
    if isinstance(x, Value):
        return x
    x = checks.real_number(x)
    return NotImplemented if x is None else Value(x)


def _value_or_float(x):
    """x if a Value, a plain float if a real number, else NotImplemented."""
    if isinstance(x, Value):
        return x
    x = checks.real_number(x)
    return NotImplemented if x is None else x


def _checked_local_grads(grads, count):
    """microgpt's local_grads as a tuple of floats, one per child."""
    out = []
    for g in grads:
        x = checks.real_number(g)
        if x is None:
            raise checks.must_be("Value: local gradients", "real numbers", g)
        out.append(x)
    if len(out) != count:
        raise checks.lengths_differ("Value", count, "children", len(out), "local gradients")
    return tuple(out)


def _leaf(cls, data):
    """Unpickles a leaf of class cls, whatever cls's own __init__ takes."""
    v = cls.__new__(cls)
    Value.__init__(v, data)
    return v


_leaf.__module__ = Value.__module__


def _own_attributes(v):
    """A leaf's attributes for its pickle: its __dict__ and the slots its
    subclass declares (Python's own pickling keeps both)."""
    attrs = dict(v.__dict__)
    for cls in type(v).__mro__:
        if cls is Value:
            break
        slots = cls.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{cls.__name__.lstrip('_')}{name}"  # a private slot, name-mangled
            if name not in ("__dict__", "__weakref__") and hasattr(v, name):
                attrs[name] = getattr(v, name)
    return attrs
