"""The Tensor engine: every op's gradient against finite differences and
PyTorch, broadcasting, accumulation, errors, and Values in and out. (Its
moons parity with the scalar engine is in parity/test_demo.py.)"""

import numpy as np
import pytest

from micrograd_fast.tensor import Function, Tensor, register

rng = np.random.default_rng(0)

CASES = {
    "add": (lambda a, b: a + b, [(3, 4), (4,)]),
    "sub": (lambda a, b: a - b, [(3, 1), (1, 4)]),
    "mul": (lambda a, b: a * b, [(3, 4), (3, 4)]),
    "div": (lambda a, b: a / (b * b + 1.0), [(2, 3), (3,)]),
    "pow": (lambda a: (a * a + 1.0) ** 1.5, [(3, 2)]),
    "neg": (lambda a: -a, [(4,)]),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 2)]),
    "matvec": (lambda a, b: a.dot(b), [(3, 4), (4,)]),
    "sum_axis": (lambda a: a.sum(axis=1), [(3, 4)]),
    "sum_keepdims": (lambda a: a.sum(axis=0, keepdims=True), [(3, 4)]),
    "mean": (lambda a: a.mean(axis=1), [(3, 4)]),
    "relu": (lambda a: a.relu(), [(3, 4)]),
    "tanh": (lambda a: a.tanh(), [(3, 4)]),
    "exp": (lambda a: a.exp(), [(3, 4)]),
    "log": (lambda a: (a * a + 0.5).log(), [(3, 4)]),
    "log_softmax": (lambda a: a.log_softmax(axis=-1), [(3, 4)]),
    "reshape": (lambda a: a.reshape((6, 2)) * 2.0, [(3, 4)]),
    "transpose": (lambda a: a.transpose() @ a, [(3, 4)]),
    "reflected": (lambda a: 2.0 - 3.0 / (a * a + 1.0) + 1.5 * a, [(5,)]),
}


def weighted_total(out, weights):
    return (out * Tensor(weights, requires_grad=False)).sum()


def run_case(name):
    """Random inputs for CASES[name], the op applied, and the grads of a
    random weighting of its output."""
    f, shapes = CASES[name]
    arrays = [rng.uniform(-1.5, 1.5, size=s) for s in shapes]
    ts = [Tensor(a) for a in arrays]
    out = f(*ts)
    weights = rng.normal(size=out.shape)
    weighted_total(out, weights).backward()
    return f, arrays, ts, out, weights


@pytest.mark.parametrize("name", list(CASES))
def test_gradient_matches_finite_differences(name):
    f, arrays, ts, out, weights = run_case(name)
    h = 1e-6
    for which, (t, a) in enumerate(zip(ts, arrays)):
        numeric = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            for sign in (1, -1):
                shifted = [x.copy() for x in arrays]
                shifted[which][idx] += sign * h
                value = weighted_total(f(*[Tensor(x) for x in shifted]), weights).item()
                numeric[idx] += sign * value / (2 * h)
        assert t.grad == pytest.approx(numeric, rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch(name):
    torch = pytest.importorskip("torch")
    f, arrays, ts, out, weights = run_case(name)

    def torch_f(*xs):
        replacements = {"log_softmax": lambda a: torch.log_softmax(a, dim=-1),
                        "transpose": lambda a: a.T @ a,
                        "matvec": lambda a, b: a @ b,
                        "sum_axis": lambda a: a.sum(dim=1),
                        "sum_keepdims": lambda a: a.sum(dim=0, keepdim=True),
                        "mean": lambda a: a.mean(dim=1)}
        return replacements.get(name, f)(*xs)

    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    tout = torch_f(*txs)
    (tout * torch.tensor(weights)).sum().backward()
    assert out.data == pytest.approx(tout.detach().numpy(), rel=1e-12, abs=1e-14)
    for t, tx in zip(ts, txs):
        assert t.grad == pytest.approx(tx.grad.numpy(), rel=1e-12, abs=1e-14)


def test_broadcast_grad_is_summed_back():
    a = Tensor(np.ones((3, 4)))
    b = Tensor(np.ones((4,)))
    (a * b).sum().backward()
    assert b.grad.shape == (4,) and b.grad.tolist() == [3.0] * 4


def test_a_tensor_used_twice_gets_both_paths():
    x = Tensor([2.0, -1.0])
    y = x * x + x
    y.sum().backward()
    assert x.grad.tolist() == [5.0, -1.0]
    z = Tensor(3.0)
    w = z * 2.0
    (w + w * z).backward()  # w reached twice
    assert z.grad.item() == 2.0 + 2 * 3.0 + 6.0


def test_errors():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4,\)"):
        Tensor(np.ones(3)) + Tensor(np.ones(4))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="non-scalar"):
        Tensor(np.ones(3)).backward()
    with pytest.raises(TypeError):
        Tensor("abc")
    with pytest.raises(TypeError):
        Tensor(np.ones(2)) ** Tensor(np.ones(2))


def test_register_a_new_function():
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    register("square", Square)
    x = Tensor([3.0])
    x.square().sum().backward()
    assert x.grad.tolist() == [6.0]


def test_values_round_trip(backend):
    vs = [[backend.Value(1.0), backend.Value(2.0)], [backend.Value(3.0), backend.Value(4.0)]]
    t = Tensor.from_values(vs)
    assert t.data.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    back = t.to_values()
    assert [[v.data for v in row] for row in back] == t.data.tolist()
    assert isinstance(back[0][0], backend.Value)
