"""The pure-Python engine: micrograd's semantics, written to be read.

This is the oracle the compiled engine is tested against and the fallback when
the extension is missing. It is deliberately untuned. Differences from
micrograd 0.1.0, shared with the compiled engine:

- ``data`` and ``grad`` are floats (``Value(3).data == 3.0``);
- ``backward()`` sorts the graph with an explicit stack, so deep graphs work;
- each op's forward and local chain rule are plain functions over the node
  (no closures), so a node can be recomputed in place (the tape) and the graph
  holds no reference cycles;
- more ops: ``tanh``, ``exp``, ``log``, ``sigmoid``, ``Value ** Value``, and the
  fused n-ary nodes ``dot`` and ``sum``.
"""

import collections
import math
import operator
import threading

BACKEND = "pure"

# ---------------------------------------------------------------------------
# Python float arithmetic, with a ValueError where Python would go complex.


def _as_float(x):
    """float(x) for real numbers only: float('3') is a parse, not a number."""
    if isinstance(x, float):
        return x
    kind = type(x)
    if hasattr(kind, "__float__") or hasattr(kind, "__index__"):
        return float(x)
    raise TypeError(f"must be real number, not {kind.__name__}")


def _float_pow(base, exponent):
    """base ** exponent as Python floats compute it (ZeroDivisionError,
    OverflowError), but a ValueError where Python would go complex."""
    base, exponent = float(base), float(exponent)
    if base < 0 and math.isfinite(base) and math.isfinite(exponent) and exponent != math.floor(exponent):
        raise ValueError("negative number cannot be raised to a fractional power")
    return base**exponent


def _sigmoid(x):
    # Two branches so that exp never overflows.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _pow_exponent_slope(base, result):
    """d(base ** e)/de / (base ** e) = log(base), as PyTorch defines it at 0
    (zero) and for negative bases (nan)."""
    if base > 0 or math.isnan(base):
        return result * math.log(base)
    if base == 0:
        return 0.0
    return math.nan


# ---------------------------------------------------------------------------
# Ops: a forward that recomputes out.data from the children, the local chain
# rule that pushes out.grad into the children, and the local derivatives
# (out's with respect to each child: microgpt's _local_grads).

_Op = collections.namedtuple("_Op", "forward backward local_grads")


def _add_forward(out):
    a, b = out._children
    out.data = a.data + b.data


def _add_backward(out):
    a, b = out._children
    a.grad += out.grad
    b.grad += out.grad


def _mul_forward(out):
    a, b = out._children
    out.data = a.data * b.data


def _mul_backward(out):
    a, b = out._children
    a.grad += b.data * out.grad
    b.grad += a.data * out.grad


def _pow_forward(out):
    (a,) = out._children
    out.data = _float_pow(a.data, out._exponent)


def _pow_backward(out):
    (a,) = out._children
    e = out._exponent
    a.grad += (e * _float_pow(a.data, e - 1)) * out.grad


def _powv_forward(out):
    a, b = out._children
    out.data = _float_pow(a.data, b.data)


def _powv_backward(out):
    a, b = out._children
    a.grad += (b.data * _float_pow(a.data, b.data - 1)) * out.grad
    b.grad += _pow_exponent_slope(a.data, out.data) * out.grad


def _relu_forward(out):
    (a,) = out._children
    out.data = 0.0 if a.data < 0 else a.data


def _relu_backward(out):
    (a,) = out._children
    a.grad += (out.data > 0) * out.grad


def _tanh_forward(out):
    (a,) = out._children
    out.data = math.tanh(a.data)


def _tanh_backward(out):
    (a,) = out._children
    a.grad += (1.0 - out.data * out.data) * out.grad


def _exp_forward(out):
    (a,) = out._children
    out.data = math.exp(a.data)


def _exp_backward(out):
    (a,) = out._children
    a.grad += out.data * out.grad


def _log_forward(out):
    (a,) = out._children
    out.data = math.log(a.data)


def _log_backward(out):
    (a,) = out._children
    a.grad += out.grad / a.data


def _sigmoid_forward(out):
    (a,) = out._children
    out.data = _sigmoid(a.data)


def _sigmoid_backward(out):
    (a,) = out._children
    a.grad += (out.data * (1.0 - out.data)) * out.grad


def _dot_split(out):
    """A dot node's children: n weights, n inputs, then the bias if a Value."""
    n = out._pairs
    kids = out._children
    return kids[:n], kids[n : 2 * n], kids[2 * n :]


def _dot_forward(out):
    ws, xs, bias = _dot_split(out)
    acc = bias[0].data if bias else out._start
    for w, x in zip(ws, xs):
        acc = acc + w.data * x.data
    out.data = acc


def _dot_backward(out):
    ws, xs, bias = _dot_split(out)
    g = out.grad
    for w, x in zip(ws, xs):
        w.grad += x.data * g
        x.grad += w.data * g
    for b in bias:
        b.grad += g


def _sum_forward(out):
    # _start is None when the first child is the start Value itself
    values = out._children
    if out._start is None:
        acc, values = values[0].data, values[1:]
    else:
        acc = out._start
    for v in values:
        acc = acc + v.data
    out.data = acc


def _sum_backward(out):
    for v in out._children:
        v.grad += out.grad


def _add_local_grads(out):
    return (1.0, 1.0)


def _mul_local_grads(out):
    a, b = out._children
    return (b.data, a.data)


def _pow_local_grads(out):
    (a,) = out._children
    return (out._exponent * _float_pow(a.data, out._exponent - 1),)


def _powv_local_grads(out):
    a, b = out._children
    return (b.data * _float_pow(a.data, b.data - 1), _pow_exponent_slope(a.data, out.data))


def _relu_local_grads(out):
    return (float(out.data > 0),)


def _tanh_local_grads(out):
    return (1.0 - out.data * out.data,)


def _exp_local_grads(out):
    return (out.data,)


def _log_local_grads(out):
    (a,) = out._children
    return (1.0 / a.data,)


def _sigmoid_local_grads(out):
    return (out.data * (1.0 - out.data),)


def _dot_local_grads(out):
    ws, xs, bias = _dot_split(out)
    return tuple(x.data for x in xs) + tuple(w.data for w in ws) + (1.0,) * len(bias)


def _sum_local_grads(out):
    return (1.0,) * len(out._children)


_ADD = _Op(_add_forward, _add_backward, _add_local_grads)
_MUL = _Op(_mul_forward, _mul_backward, _mul_local_grads)
_POW = _Op(_pow_forward, _pow_backward, _pow_local_grads)
_POWV = _Op(_powv_forward, _powv_backward, _powv_local_grads)
_RELU = _Op(_relu_forward, _relu_backward, _relu_local_grads)
_TANH = _Op(_tanh_forward, _tanh_backward, _tanh_local_grads)
_EXP = _Op(_exp_forward, _exp_backward, _exp_local_grads)
_LOG = _Op(_log_forward, _log_backward, _log_local_grads)
_SIGMOID = _Op(_sigmoid_forward, _sigmoid_backward, _sigmoid_local_grads)
_DOT = _Op(_dot_forward, _dot_backward, _dot_local_grads)
_SUM = _Op(_sum_forward, _sum_backward, _sum_local_grads)


# The fused ops of a small GPT: one node where written-out code makes many,
# the same arithmetic in the same order (the compiled engine's csrc/fused.h
# says which code each replaces).


def _index_of(x, n):
    """A Value's data as an index in [0, n), as the compiled engine takes it."""
    if math.isnan(x) or (math.isfinite(x) and x != math.floor(x)):
        raise ValueError("a Value used as an index (an embedding's row, a cross_entropy's target) "
                         "must hold an integer")
    if not 0.0 <= x < n:
        raise IndexError("a Value used as an index (an embedding's row, a cross_entropy's target) "
                         "is out of range")
    return int(x)


def _sum_of_exps(values, shift):
    total = 0.0
    for v in values:
        total = total + math.exp(v.data + (-shift))
    return total


def _rms_forward(out):
    # (sum(x * x for x in xs) / len(xs) + eps) ** -0.5
    acc = 0.0
    for x in out._children:
        acc = acc + x.data * x.data
    mean_square = acc * _float_pow(len(out._children), -1)
    out.data = _float_pow(mean_square + out._eps, -0.5)
    out._mean_square = mean_square


def _rms_slope(out):
    """d scale / d (x * x), through ** -0.5, + eps and / n."""
    return _float_pow(len(out._children), -1) * (-0.5 * _float_pow(out._mean_square + out._eps, -1.5))


def _rms_backward(out):
    a = (-0.5 * _float_pow(out._mean_square + out._eps, -1.5)) * out.grad
    a = _float_pow(len(out._children), -1) * a
    for x in out._children:
        x.grad += x.data * a  # x * x: once for each factor
        x.grad += x.data * a


def _rms_local_grads(out):
    a = _rms_slope(out)
    return tuple(2.0 * x.data * a for x in out._children)


def _expsum_forward(out):
    # sum((x - max_x).exp() for x in xs), the max taken here
    shift = max(v.data for v in out._children)
    out.data = _sum_of_exps(out._children, shift)
    out._shift = shift


def _expsum_backward(out):
    for v in out._children:
        v.grad += math.exp(v.data + (-out._shift)) * out.grad


def _expsum_local_grads(out):
    return tuple(math.exp(v.data + (-out._shift)) for v in out._children)


def _expsum_of(out):
    """A softmax output's expsum node (its second child)."""
    total = out._children[1]
    if total._rule is not _EXPSUM or total._custom_backward is not None:
        raise RuntimeError("a softmax's expsum node was given a _backward of its own: "
                           "build the softmax again")
    return total


def _softmax_forward(out):
    # e / total, e = (x - max_x).exp()
    x, total = out._children[0], _expsum_of(out)
    out.data = math.exp(x.data + (-total._shift)) * _float_pow(total.data, -1)


def _softmax_backward(out):
    x, total = out._children[0], _expsum_of(out)
    e = math.exp(x.data + (-total._shift))
    x.grad += e * (_float_pow(total.data, -1) * out.grad)
    total.grad += (-1.0 * _float_pow(total.data, -2)) * (e * out.grad)


def _softmax_local_grads(out):
    x, total = out._children[0], _expsum_of(out)
    e = math.exp(x.data + (-total._shift))
    return (e * _float_pow(total.data, -1), -e * _float_pow(total.data, -2))


def _log_softmax_forward(out):
    # (x - max_x) - total.log()
    x, total = out._children[0], _expsum_of(out)
    out.data = (x.data + (-total._shift)) + math.log(total.data) * -1.0


def _log_softmax_backward(out):
    x, total = out._children[0], _expsum_of(out)
    x.grad += out.grad
    total.grad += (-1.0 * out.grad) / total.data


def _log_softmax_local_grads(out):
    return (1.0, -1.0 / _expsum_of(out).data)


def _nll_forward(out):
    # total.log() - (x_t - max_x): the logits, then the target
    logits, target = out._children[:-1], out._children[-1]
    t = _index_of(target.data, len(logits))
    shift = max(v.data for v in logits)
    total = _sum_of_exps(logits, shift)
    out.data = math.log(total) + (logits[t].data + (-shift)) * -1.0
    out._shift, out._total = shift, total


def _nll_backward(out):
    logits, target = out._children[:-1], out._children[-1]
    t = _index_of(target.data, len(logits))
    a = out.grad / out._total
    for v in logits:
        v.grad += math.exp(v.data + (-out._shift)) * a
    logits[t].grad += -1.0 * out.grad


def _nll_local_grads(out):
    logits, target = out._children[:-1], out._children[-1]
    t = _index_of(target.data, len(logits))
    return tuple(math.exp(v.data + (-out._shift)) / out._total - (i == t)
                 for i, v in enumerate(logits)) + (0.0,)


def _embed_forward(out):
    # column[int(index.data)]: a column of the table, then the index
    column, index = out._children[:-1], out._children[-1]
    out.data = column[_index_of(index.data, len(column))].data


def _embed_backward(out):
    column, index = out._children[:-1], out._children[-1]
    column[_index_of(index.data, len(column))].grad += out.grad


def _embed_local_grads(out):
    column, index = out._children[:-1], out._children[-1]
    row = _index_of(index.data, len(column))
    return tuple(float(i == row) for i in range(len(column))) + (0.0,)


_RMS = _Op(_rms_forward, _rms_backward, _rms_local_grads)
_EXPSUM = _Op(_expsum_forward, _expsum_backward, _expsum_local_grads)
_SOFTMAX = _Op(_softmax_forward, _softmax_backward, _softmax_local_grads)
_LOG_SOFTMAX = _Op(_log_softmax_forward, _log_softmax_backward, _log_softmax_local_grads)
_NLL = _Op(_nll_forward, _nll_backward, _nll_local_grads)
_EMBED = _Op(_embed_forward, _embed_backward, _embed_local_grads)

# ---------------------------------------------------------------------------
# Recording switch (micrograd_fast.no_grad): per thread, like PyTorch's.

_recording = threading.local()


def grad_enabled():
    return getattr(_recording, "enabled", True)


def set_grad_enabled(enabled):
    _recording.enabled = bool(enabled)


# ---------------------------------------------------------------------------


class Value:
    """Stores a single scalar value and its gradient."""

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
                raise TypeError(f"children must be Values, not {type(child).__name__}")
        self._given_local_grads = None
        if isinstance(_op, (tuple, list)):
            self._given_local_grads = _checked_local_grads(_op, len(self._children))
            _op = ""
        self._op = str(_op)
        self._rule = None  # an Op for engine-made nodes; None for leaves and custom ops
        self._custom_backward = None
        if label != "":
            self.label = label

    # data and grad are always floats
    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, x):
        self._data = _as_float(x)

    @property
    def grad(self):
        return self._grad

    @grad.setter
    def grad(self, x):
        self._grad = _as_float(x)

    @property
    def _prev(self):
        return set(self._children)

    @property
    def _backward(self):
        """This node's local chain rule: out.grad into its children's grads."""
        if self._custom_backward is not None:
            return self._custom_backward
        if self._given_local_grads is not None:
            return lambda: _apply_local_grads(self)
        if self._rule is None:
            return _no_backward
        return lambda: self._rule.backward(self)

    @property
    def _local_grads(self):
        """microgpt's: the derivative of this node with respect to each child,
        at the children's current data, in _children's order; None for a
        micrograd-style custom op, whose _backward is the user's own code."""
        if self._rule is not None:
            return self._rule.local_grads(self)
        if self._given_local_grads is not None:
            return self._given_local_grads
        if not self._children and self._custom_backward is None:
            return ()
        return None

    @_backward.setter
    def _backward(self, fn):
        if not callable(fn):
            raise TypeError(f"_backward must be callable, not {type(fn).__name__}")
        self._custom_backward = fn

    @classmethod
    def _make(cls, rule, children, op, **params):
        """A node computed by `rule` from `children` (a leaf under no_grad)."""
        out = Value.__new__(Value)
        out._grad = 0.0
        out._children = tuple(children)
        out._rule = rule
        out._custom_backward = None
        out._given_local_grads = None
        out._op = op
        for name, value in params.items():
            setattr(out, name, value)
        rule.forward(out)
        if not grad_enabled():
            out._children, out._rule = (), None
        return out

    def __add__(self, other):
        other = _operand(other)
        if other is NotImplemented:
            return other
        return Value._make(_ADD, (self, other), "+")

    def __mul__(self, other):
        other = _operand(other)
        if other is NotImplemented:
            return other
        return Value._make(_MUL, (self, other), "*")

    def __pow__(self, other, modulo=None):
        if modulo is not None:
            return NotImplemented
        if isinstance(other, Value):
            return Value._make(_POWV, (self, other), "**")
        if not _is_real(other):
            return NotImplemented
        exponent = _as_float(other)
        label = f"**{int(other)}" if _is_integral(other) else f"**{exponent}"
        return Value._make(_POW, (self,), label, _exponent=exponent)

    def __rpow__(self, other):
        other = _operand(other)
        if other is NotImplemented:
            return other
        return other**self

    def relu(self):
        return Value._make(_RELU, (self,), "ReLU")

    def tanh(self):
        return Value._make(_TANH, (self,), "tanh")

    def exp(self):
        return Value._make(_EXP, (self,), "exp")

    def log(self):
        return Value._make(_LOG, (self,), "log")

    def sigmoid(self):
        return Value._make(_SIGMOID, (self,), "sigmoid")

    def backward(self):
        topo = topo_order(self)
        self.grad = 1.0
        for v in reversed(topo):
            v._backward()

    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        if not isinstance(other, Value) and not _is_real(other):
            return NotImplemented
        return self + (-other)

    def __rsub__(self, other):  # other - self
        if not _is_real(other):
            return NotImplemented
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        if isinstance(other, Value):
            return self * other**-1
        if not _is_real(other):
            return NotImplemented
        return self * _float_pow(_as_float(other), -1)

    def __rtruediv__(self, other):  # other / self
        if not _is_real(other):
            return NotImplemented
        return other * self**-1

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"

    _INTERNAL = ("_data", "_grad", "_children", "_op", "_rule", "_custom_backward", "_given_local_grads")

    def __reduce__(self):
        """Leaves pickle and deep-copy (data, grad, attributes); an interior
        node would drag its whole graph along, so it is refused."""
        if self._children or self._rule is not None or self._custom_backward is not None:
            raise TypeError(f"cannot pickle or copy a Value made by an op ({self._op!r}): "
                            "only leaves (parameters, inputs) can be; rebuild the graph from them")
        attrs = {k: v for k, v in vars(self).items() if k not in self._INTERNAL}
        return (_leaf, (type(self), self.data), (self.grad, attrs or None))

    def __setstate__(self, state):
        grad, attrs = state
        self.grad = grad
        for name, value in (attrs or {}).items():
            setattr(self, name, value)


def _leaf(cls, data):
    """Unpickles a leaf of class cls, whatever cls's own __init__ takes."""
    v = cls.__new__(cls)
    Value.__init__(v, data)
    return v


def _no_backward():
    pass


def _apply_local_grads(out):
    """microgpt's chain rule, for a node made with its local gradients."""
    for child, local_grad in zip(out._children, out._given_local_grads):
        child.grad += local_grad * out.grad


def _checked_local_grads(grads, count):
    """microgpt's local_grads as a tuple of floats, one per child."""
    out = []
    for g in grads:
        if not _is_real(g):
            raise TypeError(f"Value: local gradients must be real numbers, not {type(g).__name__}")
        out.append(_as_float(g))
    if len(out) != count:
        raise ValueError(f"Value: {count} children but {len(out)} local gradients")
    return tuple(out)


def _is_real(x):
    kind = type(x)
    return not isinstance(x, (str, bytes, complex)) and (
        hasattr(kind, "__float__") or hasattr(kind, "__index__")
    )


def _is_integral(x):
    return hasattr(type(x), "__index__")


def _operand(other):
    """A Value for the other side of a binary op, or NotImplemented."""
    if isinstance(other, Value):
        return other
    if _is_real(other):
        return Value(other)
    return NotImplemented


def topo_order(root):
    """Every node reachable from root, children before parents: the order of
    micrograd's recursive build_topo, computed with an explicit stack."""
    if not isinstance(root, Value):
        raise TypeError(f"topo_order: expected a Value, not {type(root).__name__}")
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


def dot(ws, xs, bias=0.0):
    """bias + ws[0]*xs[0] + ws[1]*xs[1] + ... as ONE node, summed left to right
    exactly as micrograd's Neuron does with sum(generator, bias)."""
    ws = [_value_operand(w, "dot") for w in ws]
    xs = [_value_operand(x, "dot") for x in xs]
    if len(ws) != len(xs):
        raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs")
    children = ws + xs
    start = 0.0
    if isinstance(bias, Value):
        children.append(bias)
    else:
        start = _real_operand(bias, "dot bias")
    return Value._make(_DOT, children, "dot", _pairs=len(ws), _start=start)


def dense(weights, biases, xs, relu):
    """A layer of neurons in one call: dot(w, xs, b) for each row w of weights
    and b of biases, relu'd if asked. Number inputs become leaves once."""
    if len(weights) != len(biases):
        raise ValueError(f"dense: {len(weights)} weight rows but {len(biases)} biases")
    inputs = [x if isinstance(x, Value) else Value(_real_operand(x, "dense input")) for x in xs]
    out = []
    for j, (ws, b) in enumerate(zip(weights, biases)):
        if len(ws) != len(inputs):
            raise ValueError(f"dense: neuron {j} has {len(ws)} weights for {len(inputs)} inputs")
        if not isinstance(b, Value):
            raise TypeError(f"dense: bias {j} is a {type(b).__name__}, not a Value")
        act = dot(ws, inputs, b)
        out.append(act.relu() if relu else act)
    return out


def sum(values, start=0.0):  # noqa: A001 - mirrors builtins.sum's signature
    """start + values[0] + values[1] + ... as ONE node, left to right."""
    children = [_value_operand(v, "sum") for v in values]
    if isinstance(start, Value):
        return Value._make(_SUM, [start] + children, "sum", _start=None)
    return Value._make(_SUM, children, "sum", _start=_real_operand(start, "sum start"))


def linear(x, W):
    """[sum(w * xi for w, xi in zip(row, x)) for row in W], each row one dot
    node (no bias; the same bits as that code)."""
    if not isinstance(W, (list, tuple)):
        raise TypeError(f"linear: W must be a list of rows, not {type(W).__name__}")
    inputs = [v if isinstance(v, Value) else Value(_real_operand(v, "linear input")) for v in x]
    for j, row in enumerate(W):
        if not isinstance(row, (list, tuple)):
            raise TypeError(f"linear: row {j} of W is a {type(row).__name__}, not a list")
        if len(row) != len(inputs):
            raise ValueError(f"linear: row {j} of W has {len(row)} weights for {len(inputs)} inputs")
    return [Value._make(_DOT, [_value_operand(w, "linear") for w in row] + inputs, "dot",
                        _pairs=len(inputs), _start=0.0) for row in W]


def rmsnorm(x, eps=1e-5):
    """[xi * scale for xi in x], scale = (sum(xi * xi) / len(x) + eps) ** -0.5
    one node (microgpt's rmsnorm, the same bits)."""
    xs = _values_of(x, "rmsnorm")
    scale = Value._make(_RMS, xs, "rmsnorm", _eps=_real_operand(eps, "rmsnorm eps"))
    return [v * scale for v in xs]


def softmax(logits):
    """[e / total for e in exps], exps = [(v - max_v).exp() ...], total =
    sum(exps): the same bits, with the max taken inside a shared expsum node
    (one node per output and that one)."""
    return _over_expsum(_SOFTMAX, "softmax", logits)


def log_softmax(logits):
    """[(v - max_v) - log(total) ...] as softmax builds it: one node per
    output and a shared expsum node."""
    return _over_expsum(_LOG_SOFTMAX, "log_softmax", logits)


def _over_expsum(rule, name, logits):
    xs = _values_of(logits, name)
    recording = grad_enabled()
    set_grad_enabled(True)  # the outputs read the expsum's max: it must be made whole
    try:
        total = Value._make(_EXPSUM, xs, "expsum")
        outs = [Value._make(rule, (v, total), name) for v in xs]
    finally:
        set_grad_enabled(recording)
    if not recording:  # under no_grad the outputs are leaves
        for out in outs:
            out._children, out._rule = (), None
    return outs


def cross_entropy(logits, target):
    """-log_softmax(logits)[target] as one node. target is an int class index
    or a Value holding one: a tape replays the node with the Value's new data."""
    xs = _values_of(logits, "cross_entropy")
    t = _index_value(target, len(xs), "cross_entropy target")
    return Value._make(_NLL, xs + [t], "cross_entropy")


def embedding(table, index):
    """table[int(index.data)] as one node per column, each over the whole
    column and the index, so a tape replays it with a new index; only the
    selected row gets a gradient."""
    if not isinstance(table, (list, tuple)):
        raise TypeError(f"embedding: the table must be a list of rows, not {type(table).__name__}")
    rows = list(table)
    if not rows:
        raise ValueError("embedding: empty table")
    for r, row in enumerate(rows):
        if not isinstance(row, (list, tuple)):
            raise TypeError(f"embedding: row {r} is a {type(row).__name__}, not a list of Values")
        if len(row) != len(rows[0]) or not row:
            raise ValueError(f"embedding: row {r} has {len(row)} entries, row 0 has {len(rows[0])}")
        for v in row:
            if not isinstance(v, Value):
                raise TypeError(f"embedding: the table holds a {type(v).__name__}, not a Value")
    i = _index_value(index, len(rows), "embedding")
    return [Value._make(_EMBED, [row[j] for row in rows] + [i], "embedding") for j in range(len(rows[0]))]


def _values_of(xs, where):
    """xs as a new non-empty list of Values, numbers made leaves."""
    out = [v if isinstance(v, Value) else Value(_real_operand(v, where)) for v in xs]
    if not out:
        raise ValueError(f"{where}: empty input")
    return out


def _index_value(index, n, where):
    """index as a Value holding an integer in [0, n): a Value is checked, an
    int made a leaf."""
    if isinstance(index, Value):
        x = index.data
        if math.isnan(x) or (math.isfinite(x) and x != math.floor(x)):
            raise ValueError(f"{where}: the index Value holds {x}, not an integer")
        if not 0 <= x < n:
            raise IndexError(f"{where}: index {x:g} is out of range for {n}")
        return index
    if isinstance(index, bool) or not hasattr(type(index), "__index__"):
        raise TypeError(f"{where}: the index must be an int or a Value holding one, "
                        f"not {type(index).__name__}")
    i = operator.index(index)
    if not 0 <= i < n:
        raise IndexError(f"{where}: index {i} is out of range for {n}")
    return Value(float(i))


class DensePlan:
    """A stack of dense layers called as one: micrograd_fast.nn's MLP makes
    one from its parts and calls it instead of each Layer in turn. Calling it
    returns what the layers would, or None when it no longer applies: the
    lists it was made from (model.layers, each layer.neurons) now hold other
    parts, a weight list changed length, or x is not a list of Values and
    numbers of the right size. nn.py then calls the layers one by one, which
    also words the errors."""

    def __init__(self, parts, weights, biases, relus):
        parts = tuple(parts)
        for p in parts:
            if type(p) is not list:
                raise TypeError(f"DensePlan: parts must be lists, not {type(p).__name__}")
        self._parts = [(p, tuple(p)) for p in parts]  # each list, and what it must keep holding
        self._weights = [tuple(w) for w in weights]
        self._biases = [tuple(b) for b in biases]
        self._relus = [bool(r) for r in relus]
        if not len(self._weights) == len(self._biases) == len(self._relus):
            raise ValueError("DensePlan: weights, biases and relus must have one entry per layer")
        for ws, bs in zip(self._weights, self._biases):
            if len(ws) == 0 or len(ws) != len(bs):
                raise ValueError("DensePlan: each layer needs as many weight lists as biases, at least one")
            for b in bs:
                if not isinstance(b, Value):
                    raise TypeError(f"DensePlan: bias is a {type(b).__name__}, not a Value")

    def __call__(self, xs):
        for part, contents in self._parts:
            if len(part) != len(contents) or any(now is not then for now, then in zip(part, contents)):
                return None
        if type(xs) is not list and type(xs) is not tuple:
            return None
        if any(type(v) is not Value and type(v) is not float and type(v) is not int for v in xs):
            return None
        x = [v if type(v) is Value else Value(v) for v in xs]
        for ws, bs, relu in zip(self._weights, self._biases, self._relus):
            if any(type(w) is not list or len(w) != len(x) for w in ws):
                return None
            x = dense(ws, bs, x, relu)
        return x[0] if len(x) == 1 else x


def _value_operand(x, where):
    if isinstance(x, Value):
        return x
    if _is_real(x):
        return Value(x)
    raise TypeError(f"{where}: expected Values or real numbers, not {type(x).__name__}")


def _real_operand(x, where):
    if _is_real(x):
        return _as_float(x)
    raise TypeError(f"{where}: expected a Value or a real number, not {type(x).__name__}")


# ---------------------------------------------------------------------------
# The tape: a graph's topological order, recorded once and replayed.


class Tape:
    """Replays root's graph over the same Value objects: forward() recomputes
    interior nodes from the leaves' current data, backward() is root.backward()
    on a freshly built graph. The structure is fixed when recorded: code whose
    graph shape depends on the data must compile again."""

    def __init__(self, root):
        if not isinstance(root, Value):
            raise TypeError(f"compile: expected a Value, not {type(root).__name__}")
        self._order = topo_order(root)
        for v in self._order:
            if v._custom_backward is not None or (v._rule is None and v._children):
                raise TypeError(f"cannot compile a graph with a custom op ({v._op!r}): "
                                "its Python _backward has no forward to replay")
        self.leaves = [v for v in self._order if not v._children]

    def _check_unchanged(self):
        for v in self._order:
            if v._custom_backward is not None:
                raise RuntimeError("the graph changed since it was compiled (a _backward was "
                                   "assigned): compile it again")

    def forward(self):
        self._check_unchanged()
        for v in self._order:
            if v._rule is not None:
                v._rule.forward(v)
        return self._order[-1].data

    def backward(self):
        self._check_unchanged()
        for v in self._order:
            if v._children:
                v.grad = 0.0
        self._order[-1].grad = 1.0
        for v in reversed(self._order):
            v._backward()

    def evaluate(self, inputs, X, outputs):
        import numpy as np

        inputs, outputs = list(inputs), list(outputs)
        for v in inputs + outputs:
            if not isinstance(v, Value):
                raise TypeError(f"evaluate: inputs and outputs must be Values, not {type(v).__name__}")
        rows = np.ascontiguousarray(X, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(inputs):
            raise ValueError(f"evaluate: X must have shape (n, {len(inputs)}), not {rows.shape}")
        result = np.empty((rows.shape[0], len(outputs)))
        saved = [v.data for v in inputs]
        try:
            for r, row in enumerate(rows.tolist()):
                for v, x in zip(inputs, row):
                    v.data = x
                self.forward()
                result[r] = [v.data for v in outputs]
        finally:
            for v, x in zip(inputs, saved):
                v.data = x
        return result

    def __len__(self):
        return len(self._order)

    def __repr__(self):
        return f"<Tape of {len(self._order)} nodes, {len(self.leaves)} leaves>"


def compile(root):  # noqa: A001 - the public name, micrograd_fast.compile
    """Records root's graph for replay: see Tape."""
    return Tape(root)


def assign(values, data):
    """Writes data (a numpy array or a sequence of numbers) into the .data of
    values (a list, or nested list, of Values), in row-major order; on an
    error no Value has changed."""
    targets = _flatten(values, lambda v: isinstance(v, Value), "Values (or lists of them)")
    if hasattr(data, "ravel") and hasattr(data, "dtype"):
        numbers = data.ravel().tolist()
    else:
        numbers = _flatten(data, lambda x: not isinstance(x, (list, tuple)), "numbers")
    if len(numbers) != len(targets):
        raise ValueError(f"assign: {len(targets)} Values but {len(numbers)} numbers")
    floats = [_as_float(x) for x in numbers]
    for v, x in zip(targets, floats):
        v.data = x


def _flatten(nested, is_item, what):
    out, stack = [], [nested]
    while stack:
        item = stack.pop()
        if is_item(item):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            raise TypeError(f"assign: expected {what}, not {type(item).__name__}")
    return out


# ---------------------------------------------------------------------------
# Kernels: what the libraries run over many Values at once. The compiled
# engine runs the same arithmetic in C, step for step (tests compare the two
# bit for bit).


def zero_grads(params):
    """p.grad = 0 for every parameter."""
    for p in params:
        p.grad = 0.0


def sgd_update(params, lr, momentum, weight_decay, buf, first):
    """torch.optim.SGD's step (dampening 0, no Nesterov); buf holds the
    momentum per parameter, first says whether this is the first step."""
    for i, p in enumerate(params):
        d = p.grad
        if weight_decay != 0.0:
            d = d + weight_decay * p.data
        if momentum != 0.0:
            buf[i] = d if first else buf[i] * momentum + d
            d = buf[i]
        p.data = p.data - lr * d


def adam_update(params, lr, beta1, beta2, eps, weight_decay, decoupled, step, m, v):
    """torch.optim.Adam's step (AdamW's if decoupled), step counted from 1;
    m and v hold the moments per parameter."""
    bias_correction1 = 1.0 - beta1**step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2**step)
    step_size = lr / bias_correction1
    for i, p in enumerate(params):
        g = p.grad
        x = p.data
        if weight_decay != 0.0:
            if decoupled:
                x = x * (1.0 - lr * weight_decay)
            else:
                g = g + weight_decay * x
        m[i] = m[i] + (1.0 - beta1) * (g - m[i])  # torch's exp_avg.lerp_(g, 1 - beta1)
        v[i] = v[i] * beta2 + (1.0 - beta2) * g * g
        denom = math.sqrt(v[i]) / bias_correction2_sqrt + eps
        p.data = x - step_size * (m[i] / denom)


def nll_rows(rows, targets):
    """cross_entropy(row, t) for each row and target, one node each. Returns
    None unless every row is a list of C plain Values (C the same for all)
    and every target an int in [0, C): losses.py then takes its own path,
    which handles everything else and words the errors."""
    if not rows or len(targets) != len(rows) or type(rows[0]) is not list or not rows[0]:
        return None
    classes = len(rows[0])
    index = [_class_index(t, classes) for t in targets]  # first: an __index__ may run any code
    if None in index:
        return None
    frozen = [tuple(row) for row in rows if type(row) is list and len(row) == classes]
    if len(frozen) != len(rows) or any(type(v) is not Value for row in frozen for v in row):
        return None
    return [Value._make(_NLL, row + (Value(float(t)),), "cross_entropy") for row, t in zip(frozen, index)]


def _class_index(target, classes):
    """operator.index(target) if it is a class index in [0, classes), else
    None; a bool is not one (torch refuses it too)."""
    if isinstance(target, bool):
        return None
    try:
        t = operator.index(target)
    except TypeError:
        return None
    return t if 0 <= t < classes else None
