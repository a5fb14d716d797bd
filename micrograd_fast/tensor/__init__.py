"""micrograd over arrays: a numpy Tensor whose ops are Function classes with
a forward and a backward, attached to Tensor by register(), as tinygrad began."""

from . import functions as _functions  # noqa: F401 - registers the ops on Tensor
from . import nn
from .autograd import Context, Function, Tensor, register

__all__ = ["Tensor", "Function", "Context", "register", "nn"]
