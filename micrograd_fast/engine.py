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
from typing import TYPE_CHECKING, overload

from .api import ENGINE_API

if TYPE_CHECKING:
    # What type checkers see: the live engine's names, typed as the compiled
    # engine's (micrograd_fast/_engine.pyi; the star brings exactly the stub's
    # public names, which stubtest holds to the module's); use() rebinds them
    # at run time.
    from ._engine import *  # noqa: F403
    from ._engine import Value

# An engine is its module (what load() and engine_of() return); both have the
# stub's names and semantics.
Engine = types.ModuleType

# what every engine exports (test_engine_contract holds both to it): the
# stub's public names (api.py)
API = ENGINE_API

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
            _loaded[name] = _checked(importlib.import_module(MODULES[name]))
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
    the micrograd_fast package; returns the name that was live. A package
    name is rebound only where it holds the previous engine's object, so
    mf.grad (autodiff's, over either engine) stays what it is."""
    module = load(name)
    previous: str | None = globals().get("BACKEND")
    before = {n: globals()[n] for n in API if n in globals()}
    names = {n: getattr(module, n) for n in API}
    globals().update(names)
    package = sys.modules.get("micrograd_fast")
    if package is not None:
        for n, value in names.items():
            if n in before and getattr(package, n, None) is before[n]:
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
