"""micrograd_fast: micrograd's scalar autograd engine, compiled.

Change one import: ``from micrograd_fast.engine import Value``.
"""

from .engine import (  # noqa: A004 - sum and compile are ours to export
    BACKEND, Value, assign, compile, cross_entropy, dense, dot, embedding, linear, log_softmax,
    rmsnorm, softmax, sum,
)
from .grad_mode import is_grad_enabled, no_grad
from .tape_cache import CompiledGraph, TapeCache

__all__ = ["BACKEND", "Value", "dot", "sum", "dense", "linear", "rmsnorm", "softmax", "log_softmax",
           "cross_entropy", "embedding", "compile", "assign", "TapeCache", "CompiledGraph", "no_grad",
           "is_grad_enabled"]
__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it from here
