"""The ops, each a Function with a forward and a backward over numpy arrays,
registered as Tensor methods."""

import numpy as np

from .autograd import Function, register


def broadcast_shape(x, y):
    try:
        return np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(f"shapes {x.shape} and {y.shape} cannot be broadcast together") from None


def unbroadcast(grad, shape):
    """Sums grad over the axes broadcasting added or stretched, back to shape."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Add(Function):
    inputs = 2

    @staticmethod
    def forward(ctx, x, y):
        broadcast_shape(x, y)
        ctx.shapes = x.shape, y.shape
        return x + y

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.shapes[0]), unbroadcast(g, ctx.shapes[1])


class Sub(Function):
    inputs = 2

    @staticmethod
    def forward(ctx, x, y):
        broadcast_shape(x, y)
        ctx.shapes = x.shape, y.shape
        return x - y

    @staticmethod
    def backward(ctx, g):
        return unbroadcast(g, ctx.shapes[0]), unbroadcast(-g, ctx.shapes[1])


class Mul(Function):
    inputs = 2

    @staticmethod
    def forward(ctx, x, y):
        broadcast_shape(x, y)
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return unbroadcast(g * y, x.shape), unbroadcast(g * x, y.shape)


class Div(Function):
    inputs = 2

    @staticmethod
    def forward(ctx, x, y):
        broadcast_shape(x, y)
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return unbroadcast(g / y, x.shape), unbroadcast(-g * x / (y * y), y.shape)


class Pow(Function):
    """x ** exponent, the exponent a number."""

    @staticmethod
    def forward(ctx, x, exponent):
        if isinstance(exponent, (bool, complex)) or not np.isscalar(exponent):
            raise TypeError(f"pow: the exponent must be a number, not {type(exponent).__name__}")
        ctx.save_for_backward(x)
        ctx.exponent = float(exponent)
        return x ** ctx.exponent

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.exponent * x ** (ctx.exponent - 1)


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, g):
        return -g


class MatMul(Function):
    inputs = 2

    @staticmethod
    def forward(ctx, x, y):
        if x.ndim == 0 or y.ndim == 0 or x.shape[-1] != y.shape[0 if y.ndim == 1 else -2]:
            raise ValueError(f"matmul: shapes {x.shape} and {y.shape} do not match")
        ctx.save_for_backward(x, y)
        return x @ y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g2 = g.reshape(x2.shape[:-1] + y2.shape[-1:])
        gx = (g2 @ np.swapaxes(y2, -1, -2)).reshape(x.shape)
        gy = (np.swapaxes(x2, -1, -2) @ g2).reshape(y.shape)
        return gx, gy


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, g):
        if ctx.axis is not None and not ctx.keepdims:
            g = np.expand_dims(g, ctx.axis)
        return np.broadcast_to(g, ctx.shape).copy()


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axis=None, keepdims=False):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        out = np.mean(x, axis=axis, keepdims=keepdims)
        ctx.count = x.size // max(1, np.size(out))  # how many inputs each output averages
        return out

    @staticmethod
    def backward(ctx, g):
        return Sum.backward(ctx, g) / ctx.count


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0.0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x > 0)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        t = np.tanh(x)
        ctx.save_for_backward(t)
        return t

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        return g * (1.0 - t * t)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        e = np.exp(x)
        ctx.save_for_backward(e)
        return e

    @staticmethod
    def backward(ctx, g):
        (e,) = ctx.saved_tensors
        return g * e


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g / x


class LogSoftmax(Function):
    """x - logsumexp(x) along axis, with the max subtracted first."""

    @staticmethod
    def forward(ctx, x, axis=-1):
        shifted = x - np.max(x, axis=axis, keepdims=True)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, g):
        (out,) = ctx.saved_tensors
        return g - np.exp(out) * np.sum(g, axis=ctx.axis, keepdims=True)


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape)


class Transpose(Function):
    @staticmethod
    def forward(ctx, x, axes=None):
        ctx.axes = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, g):
        return np.transpose(g, None if ctx.axes is None else np.argsort(ctx.axes))


for _name, _function in [("add", Add), ("sub", Sub), ("mul", Mul), ("div", Div), ("pow", Pow),
                         ("neg", Neg), ("matmul", MatMul), ("dot", MatMul), ("sum", Sum),
                         ("mean", Mean), ("relu", ReLU), ("tanh", Tanh), ("exp", Exp), ("log", Log),
                         ("log_softmax", LogSoftmax), ("reshape", Reshape), ("transpose", Transpose)]:
    register(_name, _function)
