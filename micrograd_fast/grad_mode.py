"""no_grad: ops compute values without recording their children, per thread,
like torch.no_grad; for evaluating a model on many points cheaply."""

from __future__ import annotations

import contextlib
import threading
from typing import Literal

from . import engine


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: inside it, results are leaves, on
    every engine."""

    def __init__(self) -> None:
        self._saved = threading.local()  # one decorator instance serves many threads

    def __enter__(self) -> no_grad:
        engines = engine.available().values()
        stack = self._saved.__dict__.setdefault("stack", [])
        stack.append([(e, e.grad_enabled()) for e in engines])
        for e in engines:
            e.set_grad_enabled(False)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        for e, enabled in self._saved.stack.pop():
            e.set_grad_enabled(enabled)
        return False


def is_grad_enabled() -> bool:
    """Whether ops of the live engine record their children on this thread."""
    return engine.grad_enabled()
