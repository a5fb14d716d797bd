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

import types as _types

# Each public name once: `name as name` marks it re-exported for type
# checkers (mypy --strict), and __all__ is made from what is here.
from .autodiff import GradcheckError as GradcheckError
from .autodiff import grad as grad
from .autodiff import gradcheck as gradcheck
from .autodiff import gradgradcheck as gradgradcheck
from .autodiff import hessian as hessian
from .autodiff import hvp as hvp
from .engine import BACKEND as BACKEND
from .engine import Value as Value
from .engine import assign as assign
from .engine import compile as compile  # noqa: A004 - ours to export
from .engine import cross_entropy as cross_entropy
from .engine import dense as dense
from .engine import dot as dot
from .engine import embedding as embedding
from .engine import linear as linear
from .engine import log_softmax as log_softmax
from .engine import rmsnorm as rmsnorm
from .engine import softmax as softmax
from .engine import sum as sum  # noqa: A004 - ours to export
from .grad_mode import is_grad_enabled as is_grad_enabled
from .grad_mode import no_grad as no_grad
from .tape_cache import CompiledGraph as CompiledGraph
from .tape_cache import TapeCache as TapeCache

__all__ = sorted(name for name, value in list(globals().items())
                 if not name.startswith("_") and not isinstance(value, _types.ModuleType))
__version__ = "0.1.0"  # the one place the version is written: pyproject.toml reads it from here
