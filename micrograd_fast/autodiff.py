"""What is built on grad, written once for both engines: each call goes to
the grad of the engine that made the Values (engine.engine_of).

    grad           PyTorch's torch.autograd.grad (the engine's own)
    hessian        the matrix of second derivatives, a row per input
    hvp            the Hessian times a vector, without forming the Hessian
    gradcheck      grad against central differences (PyTorch's gradcheck)
    gradgradcheck  hessian against central differences of grad
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union, overload

from . import checks, engine, grad_checks

if TYPE_CHECKING:
    from .engine import Engine, Value

    Seeds = Union[float, Value, Sequence[Union[float, Value]], None]


class GradcheckError(RuntimeError):
    """A derivative differs from central differences (a RuntimeError, as
    PyTorch's GradcheckError is)."""


def _engine_for(values: object) -> Engine:
    """The engine that made values (a Value, or the first of a list); the
    live one otherwise, whose grad then refuses them in its own words."""
    first = values[0] if isinstance(values, (list, tuple)) and values else values
    return engine.engine_of(first) or engine.load(engine.BACKEND)


@overload
def grad(outputs: Value | Sequence[Value], inputs: Value | Sequence[Value], grad_outputs: Seeds = None,
         create_graph: bool = False, allow_unused: Literal[False] = False) -> list[Value]: ...
@overload
def grad(outputs: Value | Sequence[Value], inputs: Value | Sequence[Value], grad_outputs: Seeds = None,
         create_graph: bool = False, allow_unused: bool = False) -> list[Value | None]: ...
def grad(outputs: Value | Sequence[Value], inputs: Value | Sequence[Value], grad_outputs: Seeds = None,
         create_graph: bool = False, allow_unused: bool = False) -> list[Any]:
    """For each input, the sum over outputs of grad_output * d output /
    d input (PyTorch's torch.autograd.grad): fresh leaves holding the
    numbers, or with create_graph=True nodes that can be differentiated
    again. Reads and writes no .grad. An input no output reaches:
    ValueError, or None with allow_unused=True."""
    found: list[Any] = _engine_for(outputs).grad(outputs, inputs, grad_outputs, create_graph, allow_unused)
    return found


def _numbers(derivatives: Sequence[Value | None]) -> list[float]:
    return [0.0 if d is None else d.data for d in derivatives]


def _scalar(output: object, where: str) -> Engine:
    module = engine.engine_of(output)
    if module is None:
        raise checks.expected(where, "a Value", output)
    return module


@contextlib.contextmanager
def _recording(module: Engine) -> Iterator[None]:
    """Graphs recorded inside, under no_grad too: the derivative graphs a
    Hessian is made of are this call's own, dropped when it returns."""
    enabled = module.grad_enabled()
    module.set_grad_enabled(True)
    try:
        yield
    finally:
        module.set_grad_enabled(enabled)


def hessian(output: Value, inputs: Sequence[Value]) -> list[list[float]]:
    """[[d2 output / d inputs[i] d inputs[j] for j] for i], 0.0 where a
    derivative does not depend on an input: each row the gradient of one
    entry of the gradient graph."""
    module = _scalar(output, "hessian")
    with _recording(module):
        first = module.grad(output, inputs, create_graph=True, allow_unused=True, replayable=False)
        return [[0.0] * len(first) if g is None else _numbers(module.grad(g, inputs, allow_unused=True))
                for g in first]


def hvp(output: Value, inputs: Sequence[Value], vector: Sequence[float]) -> list[float]:
    """The Hessian of output times vector, without forming the Hessian: the
    gradient of dot(grad(output, inputs), vector) (the compiled engine
    computes it by forward-over-reverse, building no graph)."""
    module = _scalar(output, "hvp")
    numbers = [checks.real_operand(v, "hvp: vector") for v in vector]
    xs = grad_checks.arguments(output, inputs, None, module.Value)[1]
    if len(numbers) != len(xs):
        raise checks.lengths_differ("hvp", len(numbers), "vector entries", len(xs), "inputs")
    with _recording(module):
        product: list[float] = module.hessian_vector_product(output, xs, numbers)
    return product


def _checked(fn: object, inputs: object, where: str) -> list[Value]:
    if not callable(fn):
        raise checks.must_be(f"{where}: fn", "callable", fn)
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise checks.must_be(f"{where}: inputs", "a non-empty list of Values", inputs)
    for x in inputs:
        if engine.engine_of(x) is None:
            raise checks.holds(f"{where}: inputs", x, "a Value")
    return list(inputs)


def _call(fn: Callable[..., Value], inputs: list[Value], where: str) -> Value:
    out = fn(*inputs)
    if engine.engine_of(out) is None:
        raise checks.expected(f"{where}: fn(*inputs)", "a Value", out)
    return out


def _central(f: Callable[[], float], x: Value, eps: float) -> float:
    """(f(x + eps) - f(x - eps)) / (2 eps), x's data put back after."""
    saved = x.data
    try:
        x.data = saved + eps
        up = f()
        x.data = saved - eps
        down = f()
    finally:
        x.data = saved
    return (up - down) / (2 * eps)


def _gradient(fn: Callable[..., Value], inputs: list[Value], where: str) -> list[float]:
    out = _call(fn, inputs, where)
    return _numbers(_scalar(out, where).grad(out, inputs, allow_unused=True))


def _verdict(where: str, entries: list[tuple[str, float, float]], atol: float, rtol: float,
             raise_exception: bool) -> bool:
    """True if every (name, analytic, numerical) is within numpy's allclose
    tolerance (nan only against nan); else GradcheckError naming the worst,
    or False."""
    def excess(a: float, n: float) -> float:
        if math.isnan(a) or math.isnan(n):
            return 0.0 if math.isnan(a) and math.isnan(n) else math.inf
        if a == n:
            return 0.0  # equal infinities too
        return abs(a - n) - (atol + rtol * abs(n))
    scored = [(excess(a, n), name, a, n) for name, a, n in entries]
    failing = [s for s in scored if s[0] > 0]
    if not failing:
        return True
    _, name, a, n = max(failing, key=lambda s: s[0])
    if raise_exception:
        raise GradcheckError(grad_checks.derivative_mismatch(where, len(failing), len(entries), name, a, n,
                                                             atol, rtol))
    return False


def gradcheck(fn: Callable[..., Value], inputs: Sequence[Value], eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """grad(fn(*inputs), inputs) against central differences with step eps
    (PyTorch's gradcheck: fn rebuilds its graph from the inputs' data):
    True, or GradcheckError naming the worst entry (False if
    raise_exception=False). Leaves every input's data as it was."""
    xs = _checked(fn, inputs, "gradcheck")
    analytic = _gradient(fn, xs, "gradcheck")
    entries = []
    for i, x in enumerate(xs):
        numerical = _central(lambda: _call(fn, xs, "gradcheck").data, x, eps)
        entries.append((f"d output / d inputs[{i}]", analytic[i], numerical))
    return _verdict("gradcheck", entries, atol, rtol, raise_exception)


def gradgradcheck(fn: Callable[..., Value], inputs: Sequence[Value], eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """hessian(fn(*inputs), inputs), built with create_graph, against
    central differences of grad's numbers: True, or GradcheckError naming
    the worst entry (False if raise_exception=False)."""
    xs = _checked(fn, inputs, "gradgradcheck")
    analytic = hessian(_call(fn, xs, "gradgradcheck"), xs)
    entries = []
    for i, x in enumerate(xs):
        saved = x.data
        try:
            x.data = saved + eps
            up = _gradient(fn, xs, "gradgradcheck")
            x.data = saved - eps
            down = _gradient(fn, xs, "gradgradcheck")
        finally:
            x.data = saved
        for j in range(len(xs)):
            entries.append((f"d2 output / d inputs[{i}] d inputs[{j}]", analytic[i][j],
                            (up[j] - down[j]) / (2 * eps)))
    return _verdict("gradgradcheck", entries, atol, rtol, raise_exception)
