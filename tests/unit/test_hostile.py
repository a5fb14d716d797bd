"""Each snippet of issue 20 (hostile input), on both engines: no hang that
ignores Ctrl-C, the right numbers, and nothing left half-changed after an
error. The operand and subclass families are in test_operands.py and
test_subclasses.py; what could hang runs in a child process with a
timeout, so a regression fails instead of stopping the suite."""

import copy
import math
import os
import pickle
import select
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import micrograd_fast as mf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(mf.__file__)))  # the copy under test
TIMEOUT = 60  # seconds a child may take before it counts as hung (it needs a few)


def child(backend, code, *args):
    """A Python process running code with the engine under test as `e`."""
    prelude = ("import signal, sys\n"
               "signal.signal(signal.SIGINT, signal.default_int_handler)\n"  # even if started ignoring it
               "from micrograd_fast import engine\n"
               f"e = engine.load({backend.BACKEND!r})\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-c", prelude + code, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=TIMEOUT):
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"the child hung for {timeout} s")
    assert proc.returncode == 0, err
    return out


# --- 1. no hang, ever -----------------------------------------------------------------

SELF_REFERENCE = """
l = []
l.append(l)
try:
    e.assign(l, [1.0])
except ValueError:
    print("ValueError")
a = []
b = [a]
a.append(b)
try:
    e.assign([e.Value(0.0)], a)
except ValueError:
    print("ValueError")
"""


def test_a_self_referencing_list_given_to_assign_raises_value_error(backend):
    assert finish(child(backend, SELF_REFERENCE), timeout=30).split() == ["ValueError", "ValueError"]


DEEP_NESTING = """
values, data = [e.Value(0.0)], [2.5]
for _ in range(10 ** 6):
    values, data = [values], [data]
try:
    e.assign(values, data)
except (ValueError, RecursionError) as exc:
    print(type(exc).__name__)
else:
    inner = values
    while isinstance(inner, list):
        inner = inner[0]
    print(inner.data)
"""


def test_deeply_nested_lists_given_to_assign_are_refused_or_assigned(backend):
    """A refusal (as numpy refuses), or every level walked: never a crash."""
    assert finish(child(backend, DEEP_NESTING), timeout=30).split() in (["ValueError"], ["RecursionError"], ["2.5"])


INTERRUPTED_BACKWARD = """
n = int(sys.argv[1])
one, x = e.Value(1.0), e.Value(0.5)
root, watched = x, [x, one]
for i in range(n):
    root = root * one
    if i % 1000 == 0:
        watched.append(root)
watched.append(root)
for i, v in enumerate(watched):
    v.grad = 0.25 * i
before = [v.grad for v in watched]
# a whole backward adds 1 to x's and every product's grad, and 0.5 per product to one's
whole = [g + (0.5 * n if v is one else 1.0) for v, g in zip(watched, before)]
print("ready", flush=True)
try:
    root.backward()
except KeyboardInterrupt:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    grads = [v.grad for v in watched]
    print("interrupted", "unchanged" if grads == before else "whole" if grads == whole else "half", flush=True)
else:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    print("finished", flush=True)
"""


def test_ctrl_c_interrupts_a_long_backward_and_changes_no_grad(backend):
    """SIGINT sent again and again while backward() runs over a chain of
    millions: KeyboardInterrupt, and every grad as it was, or (a graph whose
    chain rules cannot fail is swept through, the signal seen right after)
    every grad of the whole backward: never half of them. A backward that
    ignored the signal would never be interrupted, the grads changed or not."""
    n = 3 * 10**6 if backend.BACKEND == "compiled" else 3 * 10**5
    proc = child(backend, INTERRUPTED_BACKWARD, n)
    ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
    if not ready or proc.stdout.readline().strip() != "ready":
        proc.kill()
        pytest.fail(f"the child did not reach its backward: {proc.communicate()[1]}")
    time.sleep(0.01)  # into the sweep
    deadline = time.monotonic() + TIMEOUT
    while proc.poll() is None and time.monotonic() < deadline:
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
    assert finish(proc).split() in (["interrupted", "unchanged"], ["interrupted", "whole"])


# --- 3. numbers --------------------------------------------------------------------------


def test_a_uint64_is_converted_before_it_is_negated(Value):
    big = np.uint64(2**64 - 1)
    v = Value(2.0)
    out = v - big
    assert out.data == 2.0 - 18446744073709551615.0 and type(out.data) is float
    assert (big - v).data == 18446744073709551615.0 - 2.0
    out.backward()
    assert v.grad == 1.0


class FSub(float):
    def __float__(self):
        return 99.0


@pytest.mark.parametrize("build, data", [
    (lambda V: V(2.0) / FSub(2.0), 1.0), (lambda V: V(2.0) ** FSub(2.0), 4.0),
    (lambda V: V(2.0) - FSub(2.0), 0.0), (lambda V: FSub(2.0) / V(4.0), 0.5),
    (lambda V: V(FSub(2.0)), 2.0), (lambda V: V(np.float64(2.0)), 2.0),
    (lambda V: V(2.0) + np.float64(1.0), 3.0),
])
def test_a_float_subclass_counts_by_its_float_value(Value, build, data):
    out = build(Value)
    assert out.data == data and type(out.data) is float


# --- 4. nothing half-changed -------------------------------------------------------------


def test_setstate_with_an_internal_field_changes_nothing(Value):
    v = Value(1.0, label="old")
    v.grad = 0.5
    with pytest.raises((AttributeError, TypeError, ValueError)):
        v.__setstate__((7.0, {"grad": 3.0, "label": "new", "_op": "z"}))
    assert (v.data, v.grad, v.label, v._op) == (1.0, 0.5, "old", "")
    v.__setstate__((7.0, {"label": "new"}))  # a valid state still loads
    assert (v.grad, v.label) == (7.0, "new")


def graph_with_a_custom_node(Value, rule):
    """Leaves a, b; interior c, d; a custom node e whose _backward is rule;
    root = e + b. Every grad starts non-zero."""
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    d = c + a
    e = Value(d.data * 2, (d,), "double")
    e._backward = lambda: rule(d, e)
    root = e + b
    nodes = [a, b, c, d, e, root]
    for i, v in enumerate(nodes):
        v.grad = 0.5 + i
    return root, nodes


def raise_at_once(d, e):
    raise RuntimeError("a custom rule failed")


def raise_after_writing(d, e):
    d.grad += 2 * e.grad
    raise RuntimeError("a custom rule failed halfway")


@pytest.mark.parametrize("rule", [raise_at_once, raise_after_writing])
def test_backward_that_raises_leaves_every_grad_as_it_was(Value, rule):
    root, nodes = graph_with_a_custom_node(Value, rule)
    before = [v.grad for v in nodes]
    with pytest.raises(RuntimeError, match="custom rule failed"):
        root.backward()
    assert [v.grad for v in nodes] == before
    # and the same graph with a rule that works runs as micrograd's would
    root, nodes = graph_with_a_custom_node(Value, lambda d, e: setattr(d, "grad", d.grad + 2 * e.grad))
    root.backward()
    a, b, c, d, e, _ = nodes
    # root's grad is set to 1; e += 1; d += 2 * e.grad; c and a += d.grad; then a * b
    assert (e.grad, d.grad, c.grad) == (5.5, 14.5, 17.0)
    assert (a.grad, b.grad) == (0.5 + 14.5 - 3.0 * 17.0, 1.5 + 1.0 + 2.0 * 17.0)


def test_backward_through_x_to_the_zero_at_zero(Value):
    a, b = Value(0.0), Value(5.0)
    (a**0 * b + b).backward()
    assert (a.grad, b.grad) == (0.0, 2.0)


def test_backward_through_x_to_a_value_zero_at_zero(Value):
    """x ** y at y == 0 has slope 0 in x too, as x ** 0 has (PyTorch's)."""
    a, y = Value(0.0), Value(0.0)
    (a**y).backward()
    assert (a.grad, y.grad) == (0.0, 0.0)


def evaluated_graph(backend):
    a, w = backend.Value(1.0), backend.Value(2.0)
    h = (a * w).log()
    out = h + a
    return a, out, backend.topo_order(out)


def test_evaluate_leaves_every_node_as_it_found_it(backend):
    a, out, nodes = evaluated_graph(backend)
    before = [v.data for v in nodes]
    rows = backend.compile(out).evaluate([a], np.array([[3.0], [0.5]]), [out])
    assert np.asarray(rows).ravel().tolist() == [math.log(6.0) + 3.0, math.log(1.0) + 0.5]
    assert [v.data for v in nodes] == before


def test_evaluate_that_raises_on_a_later_row_changes_nothing(backend):
    a, out, nodes = evaluated_graph(backend)
    before = [v.data for v in nodes]
    with pytest.raises(ValueError):
        backend.compile(out).evaluate([a], np.array([[3.0], [-1.0]]), [out])
    assert [v.data for v in nodes] == before


# --- 5. pickle and copy keep a subclass's slots and dict ------------------------------------

CLONES = {"pickle": lambda v: pickle.loads(pickle.dumps(v)), "copy": copy.copy, "deepcopy": copy.deepcopy}


class Slotted:  # rebound per engine below: pickle finds classes by module and name
    pass


class SlottedWithDict:
    pass


@pytest.fixture
def slotted(Value):
    global Slotted, SlottedWithDict

    class Slotted(Value):
        __slots__ = ("q", "r")

    class SlottedWithDict(Slotted):
        pass

    yield Slotted, SlottedWithDict


@pytest.mark.parametrize("clone", CLONES)
def test_a_clone_keeps_a_subclass_slots_and_dict(slotted, clone):
    Slotted, SlottedWithDict = slotted
    v = SlottedWithDict(1.5, label="v")
    v.grad, v.q, v.extra = -2.0, [1, 2], "kept"
    w = CLONES[clone](v)
    assert type(w) is SlottedWithDict and w is not v
    assert (w.data, w.grad, w.label, w.q, w.extra) == (1.5, -2.0, "v", [1, 2], "kept")
    with pytest.raises(AttributeError):
        w.r  # a slot never set stays unset
    s = Slotted(0.5)
    s.q = 3
    assert CLONES[clone](s).q == 3


# --- 6. no_grad makes leaves, fused ops too --------------------------------------------------

UNDER_NO_GRAD = {
    "a+b": lambda e, a, b: [a + b], "a*b": lambda e, a, b: [a * b], "a-b": lambda e, a, b: [a - b],
    "a/b": lambda e, a, b: [a / b], "a**2": lambda e, a, b: [a**2], "a**b": lambda e, a, b: [a**b],
    "-a": lambda e, a, b: [-a], "tanh": lambda e, a, b: [a.tanh()], "sum": lambda e, a, b: [e.sum([a, b])],
    "dot": lambda e, a, b: [e.dot([a], [b], 1.0)], "linear": lambda e, a, b: e.linear([a, b], [[a, b]]),
    "rmsnorm": lambda e, a, b: e.rmsnorm([a, b]), "softmax": lambda e, a, b: e.softmax([a, b]),
    "log_softmax": lambda e, a, b: e.log_softmax([a, b]), "cross_entropy": lambda e, a, b: [e.cross_entropy([a, b], 0)],
    "embedding": lambda e, a, b: e.embedding([[a, b]], 0),
}


@pytest.mark.parametrize("op", UNDER_NO_GRAD)
def test_under_no_grad_every_result_is_a_leaf(backend, op):
    a, b = backend.Value(1.5), backend.Value(0.5)
    with mf.no_grad():
        outs = UNDER_NO_GRAD[op](backend, a, b)
    with_grad = UNDER_NO_GRAD[op](backend, a, b)
    for out, recorded in zip(outs, with_grad):
        assert (out._op, out._children, out._prev) == ("", (), set())
        assert out.data == recorded.data
