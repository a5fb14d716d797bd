"""The live engine: the compiled one, or the pure-Python reference.

``MICROGRAD_FAST_PURE=1`` in the environment selects the reference; a missing
extension falls back to it with a RuntimeWarning. ``BACKEND`` says which is live.
"""

import os
import warnings

if os.environ.get("MICROGRAD_FAST_PURE") == "1":
    from .reference import Value, assign, compile, dense, dot, sum  # noqa: A004
    BACKEND = "pure"
else:
    try:
        from ._engine import Value, assign, compile, dense, dot, sum  # noqa: A004
        BACKEND = "compiled"
    except ImportError as exc:  # pragma: no cover - depends on the install
        warnings.warn(
            f"micrograd_fast: compiled engine unavailable ({exc}); using the pure-Python reference",
            RuntimeWarning,
            stacklevel=2,
        )
        from .reference import Value, assign, compile, dense, dot, sum  # noqa: A004
        BACKEND = "pure"

__all__ = ["Value", "dot", "sum", "dense", "compile", "assign", "BACKEND"]
