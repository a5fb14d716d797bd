"""The engine API, written once: the public names of the compiled engine's
stub, micrograd_fast/_engine.pyi (stubtest holds the stub to the built
module, `make typecheck`).

Both engines export exactly these names (tests/unit/test_engine_contract.py):
engine.py re-exports the live engine's, and the reference engine's package
collects them from its modules. Adding a name to the engines is writing it in
the stub and defining it in each engine; no list elsewhere changes.
"""

from __future__ import annotations

import ast
import pathlib

STUB = pathlib.Path(__file__).with_name("_engine.pyi")


def public_names(source: str) -> tuple[str, ...]:
    """The public top-level names a stub's source defines, in its order
    (an overloaded function once)."""
    names: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found = [node.name]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found = [node.target.id]
        elif isinstance(node, ast.Assign):
            found = [t.id for t in node.targets if isinstance(t, ast.Name)]
        else:
            found = []
        names += [n for n in found if not n.startswith("_") and n not in names]
    return tuple(names)


ENGINE_API = public_names(STUB.read_text(encoding="utf-8"))
