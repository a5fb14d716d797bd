"""micrograd_fast: micrograd's scalar autograd engine, compiled.

Change one import: ``from micrograd_fast.engine import Value``.
"""

from .engine import BACKEND, Value, dot, sum  # noqa: A004

__all__ = ["BACKEND", "Value", "dot", "sum"]
__version__ = "0.1.0"
