"""The engine contract (micrograd_fast/engine.py): both engines export exactly
engine.API, and no module but engine.py imports an engine."""

import ast
import pathlib
import types

import pytest

from micrograd_fast import engine

ROOT = pathlib.Path(__file__).resolve().parents[2]  # tests/unit/ -> the repository
ENGINE_MODULES = set(engine.MODULES.values())
FACADE = ROOT / "micrograd_fast" / "engine.py"


def public_names(module):
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and not isinstance(value, types.ModuleType)}


@pytest.mark.parametrize("name", list(engine.MODULES))
def test_each_engine_exports_exactly_the_api(name):
    try:
        module = engine.load(name)
    except ImportError as exc:
        pytest.skip(str(exc))
    assert public_names(module) == set(engine.API)
    assert module.BACKEND == name


def test_the_two_engines_export_the_same_names(compiled, reference):
    assert public_names(compiled) == public_names(reference)


def test_the_api_is_the_stubs_public_names():
    import micrograd_fast
    from micrograd_fast import api
    assert engine.API == api.public_names(api.STUB.read_text())
    assert {"Value", "grad", "compile", "BACKEND"} <= set(engine.API)
    assert api.public_names("x: int\n_y = 1\ndef f(): ...\ndef f(): ...\nclass C: ...") == ("x", "f", "C")
    # the package's own names are exactly what it imports, once
    assert set(micrograd_fast.__all__) >= {"Value", "grad", "hvp", "TapeCache", "no_grad"}
    assert all(hasattr(micrograd_fast, n) for n in micrograd_fast.__all__)


def test_use_rebinds_only_the_engines_names(compiled, reference):
    """use() rebinds a package name only where it holds the live engine's
    object: mf.grad is autodiff's (over either engine) on both engines."""
    import micrograd_fast as mf
    from micrograd_fast import autodiff
    previous = engine.use("pure")
    try:
        assert mf.Value is reference.Value and mf.dot is reference.dot and mf.BACKEND == "pure"
        assert mf.grad is autodiff.grad and mf.hvp is autodiff.hvp
        engine.use("compiled")
        assert mf.Value is compiled.Value and mf.compile is compiled.compile
        assert mf.grad is autodiff.grad
    finally:
        engine.use(previous)


def engine_imports(source, package):
    """The engine modules a source file imports: import statements, and
    import_module / __import__ calls with a literal name. package is the
    file's own package, for relative imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            # `from . import part` inside an engine's package imports its
            # parts, not the engine
            found += [base] * (base != package) + [f"{base}.{alias.name}" for alias in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", ""))
              in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)):
            found.append(str(node.args[0].value))
    return sorted(set(found) & ENGINE_MODULES)


def test_the_import_check_can_fail():
    assert engine_imports("from micrograd_fast import _engine", "x") == ["micrograd_fast._engine"]
    assert engine_imports("from . import reference", "micrograd_fast") == ["micrograd_fast.reference"]
    assert engine_imports("from .reference import Value", "micrograd_fast") == ["micrograd_fast.reference"]
    assert engine_imports("from ..reference import Value", "micrograd_fast.tensor") == [
        "micrograd_fast.reference"]
    assert engine_imports("import micrograd_fast._engine as e", "x") == ["micrograd_fast._engine"]
    assert engine_imports("importlib.import_module('micrograd_fast.reference')", "x") == [
        "micrograd_fast.reference"]
    assert engine_imports("from micrograd_fast import engine, nn", "x") == []
    assert engine_imports("from . import tape, value", "micrograd_fast.reference") == []


def python_files():
    for folder in ("micrograd_fast", "benchmarks", "examples", "tools", "tests"):
        yield from sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", [p for p in python_files() if p != FACADE],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_facade_imports_an_engine(path):
    package = ".".join(path.relative_to(ROOT).parent.parts)
    assert engine_imports(path.read_text(), package) == []



def test_an_unbuilt_checkout_falls_back_and_says_why(tmp_path):
    """A source checkout without its built extension, first on sys.path,
    imports the reference engine with a warning that names the checkout and
    the fix; an installed copy is never blamed on a checkout."""
    import shutil
    import subprocess
    import sys

    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "micrograd_fast", checkout / "micrograd_fast",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "__pycache__"))
    (checkout / "src").mkdir()
    (checkout / "src" / "_engine.pyx").write_text("# the source, unbuilt\n")
    code = "import micrograd_fast as m; print(m.BACKEND)"
    # -S: no site-packages and no editable install's import hook, so the
    # directory Python starts in is what `import micrograd_fast` finds
    command = [sys.executable, "-S", "-c", code]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pure"
    assert "RuntimeWarning" in done.stderr and f"not built in the source checkout at {checkout}" in done.stderr
    assert "pip install -e ." in done.stderr and "run from another directory" in done.stderr
    (checkout / "src" / "_engine.pyx").unlink()  # not a checkout: a broken install
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
    assert done.stdout.strip() == "pure" and "Reinstall micrograd_fast" in done.stderr
