"""no_grad: ops compute values without recording their children, per thread,
like torch.no_grad; for evaluating a model on many points cheaply."""

import contextlib
import threading

from . import reference


def _backends():
    try:
        from . import _engine
    except ImportError:  # pragma: no cover - the pure fallback
        return (reference,)
    return (_engine, reference)


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator: inside it, results are leaves."""

    def __init__(self):
        self._saved = threading.local()  # one decorator instance serves many threads

    def __enter__(self):
        stack = self._saved.__dict__.setdefault("stack", [])
        stack.append([(b, b.grad_enabled()) for b in _backends()])
        for b in _backends():
            b.set_grad_enabled(False)
        return self

    def __exit__(self, *exc):
        for backend, enabled in self._saved.stack.pop():
            backend.set_grad_enabled(enabled)
        return False


def is_grad_enabled():
    from .engine import BACKEND
    backend = reference if BACKEND == "pure" else _backends()[0]
    return backend.grad_enabled()
