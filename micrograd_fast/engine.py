"""The engine facade: the one module that imports an engine.

Two engines implement micrograd's Value and the kernels the libraries run
over many Values: the compiled one (``micrograd_fast._engine``, built from
src/ and csrc/) and the pure-Python reference (``micrograd_fast/reference/``,
the readable truth). Both export exactly the names in ``API``. This module
re-exports the live engine's; the libraries (nn, optim, losses, ...) reach an
engine only through it, at call time: the live one (``engine.Value``) or the
one a given Value belongs to (``engine.engine_of(v)``).

``MICROGRAD_FAST_PURE=1`` makes the reference live; so does a missing
extension, with a RuntimeWarning that says why and what to do. ``use(name)``
switches the live engine at run time (the tests run on both engines so).
"""

from __future__ import annotations

import importlib
import os
import sys
import types
import warnings
from typing import TYPE_CHECKING, cast, overload

if TYPE_CHECKING:
    # What type checkers see: the live engine's names, typed as the compiled
    # engine's (micrograd_fast/_engine.pyi; the star brings exactly the stub's
    # public names, which stubtest holds to the module's); use() rebinds them
    # at run time.
    from collections.abc import Sequence

    from . import _engine
    from ._engine import *  # noqa: F403

    class Engine:
        """An engine module as the libraries use it (what load() and
        engine_of() return), typed as the compiled one: the reference has
        the same names and semantics."""

        BACKEND: str
        OPS: tuple[str, ...]
        UNARY_OPS: tuple[str, ...]
        Value = _engine.Value
        DensePlan = _engine.DensePlan
        Tape = _engine.Tape
        BatchTape = _engine.BatchTape
        dot = staticmethod(_engine.dot)
        sum = staticmethod(_engine.sum)
        dense = staticmethod(_engine.dense)
        linear = staticmethod(_engine.linear)
        rmsnorm = staticmethod(_engine.rmsnorm)
        softmax = staticmethod(_engine.softmax)
        log_softmax = staticmethod(_engine.log_softmax)
        cross_entropy = staticmethod(_engine.cross_entropy)
        embedding = staticmethod(_engine.embedding)
        # the stub's two overloads, written out: staticmethod() of an
        # overloaded function keeps only its first for some mypy versions
        @overload
        @staticmethod
        def compile(root: _engine.Value, batch: None = None, threads: None = None) -> _engine.Tape: ...
        @overload
        @staticmethod
        def compile(root: _engine.Value, batch: Sequence[_engine.Value],
                    threads: int | None = None) -> _engine.BatchTape: ...
        @staticmethod
        def compile(root: _engine.Value, batch: Sequence[_engine.Value] | None = None,
                    threads: int | None = None) -> _engine.Tape | _engine.BatchTape: ...
        assign = staticmethod(_engine.assign)
        topo_order = staticmethod(_engine.topo_order)
        zero_grads = staticmethod(_engine.zero_grads)
        sgd_update = staticmethod(_engine.sgd_update)
        adam_update = staticmethod(_engine.adam_update)
        nll_rows = staticmethod(_engine.nll_rows)
        grad_enabled = staticmethod(_engine.grad_enabled)
        set_grad_enabled = staticmethod(_engine.set_grad_enabled)

        @staticmethod
        def grad(outputs: _engine.Value | Sequence[_engine.Value],
                 inputs: _engine.Value | Sequence[_engine.Value],
                 grad_outputs: float | _engine.Value | Sequence[float | _engine.Value] | None = None,
                 create_graph: bool = False, allow_unused: bool = False, *,
                 replayable: bool = True) -> list[_engine.Value | None]: ...
        hessian_vector_product = staticmethod(_engine.hessian_vector_product)
else:
    Engine = types.ModuleType  # at run time an engine is its module

# what every engine exports (test_engine_contract holds both to it):
# micrograd's Value, the op ids, the fused ops, the tape, the kernels the
# libraries call, grad (PyTorch's autograd.grad; autodiff.py builds on it) and the
# Hessian-vector product (autodiff.hvp's)
API = (
    "Value", "OPS", "UNARY_OPS", "dot", "sum", "dense", "linear", "rmsnorm", "softmax", "log_softmax",
    "cross_entropy", "embedding", "DensePlan", "compile", "Tape", "BatchTape", "assign", "topo_order",
    "zero_grads", "sgd_update", "adam_update", "nll_rows", "grad_enabled", "set_grad_enabled", "grad",
    "hessian_vector_product",
)

MODULES = {"compiled": "micrograd_fast._engine", "pure": "micrograd_fast.reference"}

_loaded: dict[str, Engine | ImportError] = {}  # name -> module, or the ImportError that stopped it
_engine_by_type: dict[type, Engine] = {}  # Value class (or subclass) -> its engine module


def _unbuilt_checkout() -> str | None:
    """The source checkout this package is imported from if its extension
    was never built there, else None (an installed copy, or a built one)."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    built = any(name.startswith("_engine.") and name.endswith((".so", ".pyd")) for name in os.listdir(here))
    return root if os.path.exists(os.path.join(root, "src", "_engine.pyx")) and not built else None


def _unavailable_message(exc: BaseException) -> str:
    checkout = _unbuilt_checkout()
    if checkout is not None:
        return (f"micrograd_fast: the compiled engine is not built in the source checkout at "
                f"{checkout}, which is first on sys.path (the current directory or PYTHONPATH) "
                f"and so shadows any installed copy; using the slow pure-Python reference. "
                f"Build it in place with `pip install -e .` in {checkout}, or run from "
                f"another directory. ({exc})")
    return (f"micrograd_fast: the compiled engine could not be loaded ({exc}); using the slow "
            f"pure-Python reference. Reinstall micrograd_fast for this Python "
            f"({sys.version.split()[0]}).")


def load(name: str) -> Engine:
    """The engine module called name ('compiled' or 'pure'); ImportError if
    it cannot be loaded."""
    if name not in MODULES:
        raise ValueError(f"no engine called {name!r}: choose from {', '.join(MODULES)}")
    if name not in _loaded:
        try:
            _loaded[name] = cast("Engine", _checked(importlib.import_module(MODULES[name])))
        except ImportError as exc:
            _loaded[name] = exc
    found = _loaded[name]
    if isinstance(found, ImportError):
        raise ImportError(f"the {name} engine is unavailable: {found}") from found
    return found


def _checked(module: types.ModuleType) -> types.ModuleType:
    """module, if it exports the whole API; an extension built from older
    sources may not, and is then no engine (ImportError: rebuild it)."""
    missing = [n for n in API if not hasattr(module, n)]
    if missing:
        raise ImportError(f"{module.__name__} lacks {', '.join(missing)}: it was built from older "
                          f"sources than this package's; rebuild it (pip install -e .)")
    return module


def available() -> dict[str, Engine]:
    """name -> module, for every engine that loads here."""
    found: dict[str, Engine] = {}
    for name in MODULES:
        try:
            found[name] = load(name)
        except ImportError:
            pass
    return found


def value_types() -> tuple[type[Value], ...]:
    """The Value classes of every engine that loads here."""
    return tuple(module.Value for module in available().values())


@overload
def engine_of(value: Value) -> Engine: ...  # a Value's engine is loaded: it made the Value
@overload
def engine_of(value: object) -> Engine | None: ...
def engine_of(value: object) -> Engine | None:
    """The engine module that made value (for its fused ops and kernels), or
    None if value is not a Value."""
    module = _engine_by_type.get(type(value))
    if module is not None:
        return module
    for module in available().values():
        if isinstance(value, module.Value):
            _engine_by_type[type(value)] = module
            return module
    return None


def use(name: str) -> str | None:
    """Makes engine name ('compiled' or 'pure') the live one, here and in
    the micrograd_fast package; returns the name that was live."""
    global BACKEND
    module = load(name)
    previous: str | None = globals().get("BACKEND")
    names = {n: getattr(module, n) for n in API}
    names["BACKEND"] = name
    globals().update(names)
    package = sys.modules.get("micrograd_fast")
    if package is not None:
        for n, value in names.items():
            if hasattr(package, n):
                setattr(package, n, value)
    return previous


def _start() -> str | None:
    if os.environ.get("MICROGRAD_FAST_PURE") == "1":
        return use("pure")
    try:
        return use("compiled")
    except ImportError as exc:
        warnings.warn(_unavailable_message(exc.__cause__ or exc), RuntimeWarning, stacklevel=4)
        return use("pure")


_start()
