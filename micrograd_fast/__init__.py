"""micrograd_fast: micrograd's scalar autograd engine, compiled.

Change one import: ``from micrograd_fast.engine import Value``.
"""

from .engine import BACKEND, Value, assign, compile, dense, dot, sum  # noqa: A004
from .grad_mode import is_grad_enabled, no_grad

__all__ = ["BACKEND", "Value", "dot", "sum", "dense", "compile", "assign", "no_grad", "is_grad_enabled"]
__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it from here
