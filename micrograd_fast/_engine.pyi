# Types of the compiled engine (src/_engine.pyx and its .pxi files), which a
# type checker cannot read. The reference engine (micrograd_fast/reference/) has the same
# names and semantics; micrograd_fast.engine re-exports whichever is live, typed
# as this one. `python -m mypy.stubtest micrograd_fast._engine` checks this file
# against the built module (`make typecheck`).

from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar, SupportsFloat, SupportsIndex, TypeAlias, TypeVar, final, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, disjoint_base

# A real number: what Value(x), the operators and the fused ops take besides
# Values (float, int, bool, numpy scalars, Fraction, ...; not str or complex).
_Real: TypeAlias = SupportsFloat | SupportsIndex
_Operand: TypeAlias = Value | _Real
# assign's arguments: a Value (a number) or lists and tuples of them, nested.
# Sequence, as list is invariant (a list[list[Value]] is no list[_NestedValues]);
# so a str passes here, and fails at run time.
_NestedValues: TypeAlias = Value | Sequence[_NestedValues]
_NestedReals: TypeAlias = _Real | Sequence[_NestedReals]
# an optimizer's per-parameter state, written in place
_DoubleBuffer: TypeAlias = array[float] | npt.NDArray[np.float64]
_Row = TypeVar("_Row", bound=Sequence[_Operand])

BACKEND: str
# every computing op's id (its C code's name without MG_, lowercased), in the
# op table's order; the unary ones are also Value's methods
OPS: tuple[str, ...]
UNARY_OPS: tuple[str, ...]

@disjoint_base  # a C type: no class has it and another such base
class Value:
    """Stores a single scalar value and its gradient."""

    __array_ufunc__: ClassVar[None]  # numpy scalars defer to the reflected operators
    def __init__(
        self,
        data: _Real,
        _children: Iterable[Value] = (),
        _op: str | Sequence[_Real] = "",  # numbers: microgpt's local gradients, one per child
        label: str = "",
    ) -> None: ...
    @property
    def data(self) -> float: ...
    @data.setter
    def data(self, value: _Real) -> None: ...
    @property
    def grad(self) -> float: ...
    @grad.setter
    def grad(self, value: _Real) -> None: ...
    @property
    def label(self) -> str: ...
    @label.setter
    def label(self, value: str) -> None: ...
    @label.deleter
    def label(self) -> None: ...
    @property
    def _prev(self) -> set[Value]: ...
    @property
    def _children(self) -> tuple[Value, ...]: ...
    @property
    def _local_grads(self) -> tuple[float, ...] | None: ...
    @property
    def _op(self) -> str: ...
    @property
    def _backward(self) -> Callable[[], object]: ...
    @_backward.setter
    def _backward(self, fn: Callable[[], object]) -> None: ...
    def __add__(self, other: _Operand) -> Value: ...
    def __radd__(self, other: _Real) -> Value: ...
    def __sub__(self, other: _Operand) -> Value: ...
    def __rsub__(self, other: _Real) -> Value: ...
    def __mul__(self, other: _Operand) -> Value: ...
    def __rmul__(self, other: _Real) -> Value: ...
    def __truediv__(self, other: _Operand) -> Value: ...
    def __rtruediv__(self, other: _Real) -> Value: ...
    def __pow__(self, other: _Operand, modulo: None = None, /) -> Value: ...
    def __rpow__(self, other: _Real, modulo: None = None, /) -> Value: ...
    def __neg__(self) -> Value: ...
    # the unary ops (UNARY_OPS), one row each of csrc/ops/op_table.h
    def relu(self) -> Value: ...
    def tanh(self) -> Value: ...
    def exp(self) -> Value: ...
    def log(self) -> Value: ...
    def sigmoid(self) -> Value: ...
    def sin(self) -> Value: ...
    def cos(self) -> Value: ...
    def abs(self) -> Value: ...
    def sqrt(self) -> Value: ...
    def step(self) -> Value: ...
    def sign(self) -> Value: ...
    def __abs__(self) -> Value: ...
    def backward(self) -> None: ...
    def __reduce__(self) -> tuple[Any, ...]: ...
    def __setstate__(self, state: tuple[_Real, dict[str, Any] | None]) -> None: ...

# Fused n-ary nodes (src/fused.pxi). Numbers among the inputs become leaves.

def dot(ws: Iterable[_Operand], xs: Iterable[_Operand], bias: _Operand = 0.0) -> Value:
    """bias + ws[0]*xs[0] + ws[1]*xs[1] + ... as one node."""

def sum(values: Iterable[_Operand], start: _Operand = 0.0) -> Value:
    """start + values[0] + values[1] + ... as one node."""

def dense(weights: list[_Row], biases: list[Value], xs: Iterable[_Operand], relu: bool) -> list[Value]:
    """[dot(w, xs, b), relu'd if asked, for each row w of weights and b of biases]."""

def linear(x: Iterable[_Operand], W: Sequence[Sequence[_Operand]]) -> list[Value]:
    """[dot(row, x) for row in W]; W a list (or tuple) of lists (or tuples)."""

@final
class DensePlan:
    """A stack of dense layers called as one (micrograd_fast.nn's MLP)."""

    def __new__(
        cls,
        parts: Iterable[list[Any]],
        weights: Iterable[Iterable[Any]],
        biases: Iterable[Iterable[Value]],
        relus: Iterable[object],
    ) -> Self: ...
    def __call__(self, xs: object) -> Value | list[Value] | None: ...

# A small GPT's fused ops (src/transformer.pxi).

def rmsnorm(x: Iterable[_Operand], eps: _Real = 1e-5) -> list[Value]:
    """[xi * scale for xi in x], scale = (sum(xi * xi) / len(x) + eps) ** -0.5."""

def softmax(logits: Iterable[_Operand]) -> list[Value]:
    """exp(x_i - max) / sum_j exp(x_j - max), one node per output and a shared one."""

def log_softmax(logits: Iterable[_Operand]) -> list[Value]:
    """(x_i - max) - log(sum_j exp(x_j - max)), one node per output and a shared one."""

def cross_entropy(logits: Iterable[_Operand], target: Value | SupportsIndex) -> Value:
    """-log_softmax(logits)[target] as one node; target an int or a Value holding one."""

def embedding(table: Sequence[Sequence[Value]], index: Value | SupportsIndex) -> list[Value]:
    """table[index] as one node per column; index an int or a Value holding one."""

# The graph as a whole (src/tape.pxi).

def topo_order(root: Value) -> list[Value]:
    """Every node reachable from root, children before parents."""

@final
class Tape:
    """A graph recorded once (compile(root)) and replayed in C."""

    def __new__(cls, root: Value) -> Self: ...
    @property
    def leaves(self) -> list[Value]: ...
    def forward(self) -> float:
        """Recomputes every interior node from the leaves' data; the root's new data."""
    def backward(self) -> None:
        """The root's backward() as on a freshly built graph."""
    def evaluate(
        self, inputs: Iterable[Value], X: npt.ArrayLike, outputs: Iterable[Value]
    ) -> npt.NDArray[np.float64]:
        """forward() once per row of X written into inputs; the outputs' data per row."""
    def __len__(self) -> int: ...

def _avx2_kernels(enabled: bool) -> bool:
    """Whether the batched kernels may run their AVX2 build; the previous setting."""

@final
class BatchTape:
    """A graph compiled for a batch (compile(root, batch=inputs)): each row of
    X holds one example's values of the inputs; the other leaves are shared."""

    def __new__(cls, root: Value, inputs: list[Value], threads: int) -> Self: ...
    @property
    def threads(self) -> int: ...
    @property
    def inputs(self) -> list[Value]: ...
    @property
    def root(self) -> Value: ...
    def forward(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Each row's root value, bit for bit the scalar tape's; kept for backward."""
    def evaluate(self, X: npt.ArrayLike, outputs: Sequence[Value]) -> npt.NDArray[np.float64]:
        """The outputs' values per row, (B, len(outputs)); forward only."""
    def backward(self, reduction: str = "mean") -> None:
        """Adds the gradient of the rows' mean (or sum) to the shared leaves' .grad."""
    def __len__(self) -> int: ...

# Records root's graph for replay: a Tape, or with batch a BatchTape.
@overload
def compile(root: Value, batch: None = None, threads: None = None) -> Tape: ...
@overload
def compile(root: Value, batch: Sequence[Value], threads: int | None = None) -> BatchTape: ...

def assign(values: _NestedValues, data: _NestedReals | npt.NDArray[Any]) -> None:
    """Writes data into the .data of values (nested lists of Values), in row-major order."""

# Kernels the libraries run over many Values (src/kernels.pxi).

def zero_grads(params: list[Value]) -> None: ...
def sgd_update(
    params: list[Value], lr: float, momentum: float, weight_decay: float, buf: _DoubleBuffer, first: bool
) -> None: ...
def adam_update(
    params: list[Value],
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled: bool,
    step: int,
    m: _DoubleBuffer,
    v: _DoubleBuffer,
) -> None: ...
def nll_rows(rows: list[Any], targets: list[Any]) -> list[Value] | None:
    """cross_entropy(row, t) per row, or None when it does not apply."""

def grad_enabled() -> bool: ...
def set_grad_enabled(enabled: bool) -> None: ...

# Derivatives (src/grad.pxi): PyTorch's torch.autograd.grad for Values.

def grad(
    outputs: Value | Sequence[Value],
    inputs: Value | Sequence[Value],
    grad_outputs: _Operand | Sequence[_Operand] | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
    *,
    replayable: bool = True,
) -> list[Value | None]:
    """For each input, sum(grad_output * d output / d input); reads and writes no .grad."""
def hessian_vector_product(output: Value, inputs: Sequence[Value], vector: Sequence[float]) -> list[float]:
    """The Hessian of output over inputs times vector, by forward-over-reverse over leaves."""
