"""The tests, in folders by what they check:

- unit/: one op or API at a time (engine ops and Value conventions, the
  lecture's and microgpt's Value API, nn, optim, losses, datasets, tape,
  tensor, viz, pickle, bad input, the engine contract), each against its own
  oracle: hand-written rules, finite differences, the reference, upstream
  micrograd or torch.
- parity/: whole programs run by two implementations and compared: fuzzed
  programs, micrograd's demo against upstream micrograd and the tensor
  engine, the lecture's workflow and a microgpt-shaped program against
  plain-Python Values, the examples end to end. parity/programs.py is the
  one hypothesis program generator and interpreter; every fuzzed test draws
  from it (HYPOTHESIS_PROFILE=thorough for many more examples).
- stress/: deep and huge graphs, threads, interrupts, memory soaks; the
  longest are marked slow (-m "not slow" leaves them out).

There are no __init__.py files: pytest imports each test file by its
basename (so basenames are unique across the folders) with its folder on
sys.path, which is how test_programs.py imports programs; this folder is on
sys.path too (pytest puts conftest.py's there), which is how every test file
imports fixtures.py: the set-ups the tests share (the moons, micrograd's
models, the demo's loss and step, scalar and tensor, the microgpt-shaped GPT).
Those the benchmark times too live in benchmarks/fixtures.py, which
fixtures.py loads and re-exports; none of them ships in the wheel.

One fixture, two engines: every engine test runs on the compiled engine and
on the pure-Python reference in the same pytest run, switched through the one
facade (micrograd_fast.engine.use), so the libraries follow too."""

import os

import pytest

from micrograd_fast import engine

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the fuzzed tests then fail to import, and say why
    pass
else:
    # the default profile for every run draws the same examples each time
    # (derandomized: a suite that passed on a commit passes again on it, on
    # any machine); "thorough" draws 5000 new ones per test, to go looking
    for name, examples, fixed in (("ci", 300, True), ("thorough", 5000, False)):
        settings.register_profile(name, max_examples=examples, deadline=None, derandomize=fixed,
                                  suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def load_engine(name):
    try:
        return engine.load(name)
    except ImportError as exc:
        pytest.skip(f"{name} engine not importable: {exc}")


@pytest.fixture(params=list(engine.MODULES))
def backend(request):
    """The engine module under test (Value, dot, sum, ...), made the live
    engine for the test: nn, optim, losses and micrograd_fast.Value use it."""
    module = load_engine(request.param)
    previous = engine.use(request.param)
    yield module
    engine.use(previous)


@pytest.fixture
def Value(backend):
    return backend.Value


@pytest.fixture
def compiled():
    """The compiled engine, for tests that only make sense compiled."""
    return load_engine("compiled")


@pytest.fixture
def reference():
    """The pure-Python reference engine, the oracle."""
    return load_engine("pure")
