"""tests/typing/usage.py, the file `make typecheck` checks with mypy --strict,
runs on both engines: what its types state is what the code does."""

import pathlib
import runpy

USAGE = pathlib.Path(__file__).resolve().parents[1] / "typing" / "usage.py"


def test_the_typed_usage_runs(backend):
    namespace = runpy.run_path(str(USAGE))  # imported now: its Value is the live engine's
    assert namespace["Value"] is backend.Value
    namespace["main"]()
