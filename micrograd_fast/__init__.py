"""micrograd_fast: micrograd's scalar autograd engine, compiled.

Change one import: ``from micrograd_fast.engine import Value``.

The package, all Python (the compiled engine is built from src/ and csrc/):
    engine       the facade: the live engine's names; the only importer of one
    reference    the pure-Python engine, the readable truth the tests hold to
    checks       what both engines accept as a number or an index, and their errors
    nn, optim, losses, datasets, viz, grad_mode, tape_cache
                 micrograd's nn, PyTorch's optimizers, losses, data sets,
                 drawings, no_grad, and a tape per graph structure
    autodiff     grad (PyTorch's autograd.grad), hessian, hvp, gradcheck, gradgradcheck
    tensor/      the same ideas over numpy arrays

Only what users import ships: the tests' and the benchmark's set-ups are
tests/fixtures.py and benchmarks/fixtures.py in the source tree.
"""

from .engine import (  # noqa: A004 - sum and compile are ours to export
    BACKEND, Value, assign, compile, cross_entropy, dense, dot, embedding, linear, log_softmax,
    rmsnorm, softmax, sum,
)
from .autodiff import GradcheckError, grad, gradcheck, gradgradcheck, hessian, hvp
from .grad_mode import is_grad_enabled, no_grad
from .tape_cache import CompiledGraph, TapeCache

__all__ = ["BACKEND", "Value", "dot", "sum", "dense", "linear", "rmsnorm", "softmax", "log_softmax",
           "cross_entropy", "embedding", "compile", "assign", "TapeCache", "CompiledGraph", "no_grad",
           "is_grad_enabled", "grad", "hessian", "hvp", "gradcheck", "gradgradcheck", "GradcheckError"]
__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it from here
