"""One fixture, two engines: every engine test runs on the compiled backend and
on the pure-Python reference in the same pytest run."""

import importlib

import pytest

BACKENDS = {"compiled": "micrograd_fast._engine", "pure": "micrograd_fast.reference"}


def load_backend(name):
    try:
        return importlib.import_module(BACKENDS[name])
    except ImportError as exc:
        pytest.skip(f"{name} backend not importable: {exc}")


@pytest.fixture(params=list(BACKENDS))
def backend(request):
    """The engine module under test: exposes Value, dot, sum, ..."""
    return load_backend(request.param)


@pytest.fixture
def Value(backend):
    return backend.Value


@pytest.fixture
def compiled():
    """The compiled engine, for tests that only make sense compiled."""
    return load_backend("compiled")


@pytest.fixture
def live(backend, monkeypatch):
    """Makes `backend` the engine that micrograd_fast.nn and friends build on."""
    from micrograd_fast import engine

    for name in ("Value", "dot", "sum", "dense", "compile", "assign"):
        monkeypatch.setattr(engine, name, getattr(backend, name))
    return backend
