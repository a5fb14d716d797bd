"""Tensor, Context, Function and register: the machinery; the ops themselves
are in functions.py."""

import inspect

import numpy as np


class Context:
    """What an op keeps between its forward and its backward."""

    def __init__(self, function, parents):
        self.function = function
        self.parents = parents  # the input Tensors, in argument order
        self.saved_tensors = ()

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays


class Function:
    """An op: forward(ctx, *arrays, **options) -> array, and
    backward(ctx, grad_output) -> one gradient (or None) per input."""

    inputs = 1  # how many of forward's arguments are arrays

    @staticmethod
    def forward(ctx, *arrays, **options):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad_output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **options):
        parents = tuple(x if isinstance(x, Tensor) else Tensor(x, requires_grad=False) for x in inputs)
        ctx = Context(cls, parents)
        data = cls.forward(ctx, *(p.data for p in parents), **options)
        out = Tensor(data, requires_grad=any(p.requires_grad for p in parents))
        if out.requires_grad:
            out._ctx = ctx
        return out


def register(name, function):
    """Makes `function` callable as the Tensor method `name`. Its forward's
    first `function.inputs` array arguments are Tensors (self first); the
    arguments after them are options (an axis, a shape, an exponent)."""
    params = list(inspect.signature(function.forward).parameters)[1:]  # after ctx
    option_names = params[function.inputs:]

    def method(self, *args, **options):
        tensors, extra = args[: function.inputs - 1], args[function.inputs - 1:]
        if len(extra) > len(option_names):
            raise TypeError(f"{name}() takes at most {len(option_names)} options, got {len(extra)}")
        options.update(zip(option_names, extra))
        return function.apply(self, *tensors, **options)

    method.__name__ = name
    method.__doc__ = function.__doc__
    setattr(Tensor, name, method)


def _as_float_array(data):
    array = np.array(data, dtype=object if isinstance(data, str) else None)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor data must be numbers, not {type(data).__name__} ({array.dtype})")
    return array.astype(np.float64)


class Tensor:
    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, data, requires_grad=True):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _as_float_array(data)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None

    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def item(self):
        return self.data.item()

    def __repr__(self):
        return f"Tensor({self.data!r}, grad={self.grad!r})"

    def backward(self, grad=None):
        """Seeds this tensor's grad (ones for a scalar), then applies each op's
        backward in reverse topological order; grads accumulate with +=."""
        if grad is None:
            if self.size != 1:
                raise RuntimeError(f"backward() needs a grad for a non-scalar tensor of shape {self.shape}")
            grad = np.ones_like(self.data)
        grad = np.broadcast_to(np.asarray(grad, dtype=np.float64), self.shape).copy()
        self.grad = grad
        for t in reversed(_topo_order(self)):
            ctx = t._ctx
            if ctx is None or t.grad is None:
                continue
            grads = ctx.function.backward(ctx, t.grad)
            if not isinstance(grads, tuple):
                grads = (grads,)
            for parent, g in zip(ctx.parents, grads):
                if g is None or not parent.requires_grad:
                    continue
                parent.grad = g.copy() if parent.grad is None else parent.grad + g

    # numpy-style conversions between scalar Values and Tensors

    @staticmethod
    def from_values(values, requires_grad=True):
        """A Tensor holding the data of a (nested) list of Values."""
        def data_of(x):
            return [data_of(v) for v in x] if isinstance(x, (list, tuple)) else x.data
        return Tensor(data_of(values), requires_grad)

    def to_values(self):
        """A nested list, shaped like this tensor, of fresh leaf Values."""
        from ..engine import Value

        def build(x):
            return [build(v) for v in x] if isinstance(x, list) else Value(x)
        return build(self.data.tolist())

    # Python's operators onto the registered ops
    def __add__(self, other): return self.add(other)
    def __radd__(self, other): return Tensor(other, requires_grad=False).add(self)
    def __sub__(self, other): return self.sub(other)
    def __rsub__(self, other): return Tensor(other, requires_grad=False).sub(self)
    def __mul__(self, other): return self.mul(other)
    def __rmul__(self, other): return Tensor(other, requires_grad=False).mul(self)
    def __truediv__(self, other): return self.div(other)
    def __rtruediv__(self, other): return Tensor(other, requires_grad=False).div(self)
    def __pow__(self, exponent): return self.pow(exponent=exponent)
    def __matmul__(self, other): return self.matmul(other)
    def __rmatmul__(self, other): return Tensor(other, requires_grad=False).matmul(self)
    def __neg__(self): return self.neg()


def _topo_order(root):
    """Tensors reachable from root, inputs before outputs, without recursion:
    a node is finished (its entry popped a second time) after all its inputs."""
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        t, finished = stack.pop()
        if finished:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        for parent in reversed(t._ctx.parents if t._ctx else ()):
            if id(parent) not in seen:
                stack.append((parent, False))
    return order
