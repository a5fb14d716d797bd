"""losses and optim: against hand-written formulas always, PyTorch when installed."""

import math

import pytest

from micrograd_fast import losses, optim


def grads(values):
    return [v.grad for v in values]


def test_softmax_and_log_softmax(Value):
    xs = [Value(1.0), Value(2.0), Value(-0.5)]
    ps = losses.softmax(xs)
    e = [math.exp(x - 2.0) for x in (1.0, 2.0, -0.5)]
    assert [p.data for p in ps] == pytest.approx([v / sum(e) for v in e], rel=1e-15)
    logs = losses.log_softmax(xs)
    assert [v.data for v in logs] == pytest.approx([math.log(v / sum(e)) for v in e], rel=1e-14)


def test_cross_entropy_is_stable_and_correct(Value):
    xs = [Value(1000.0), Value(0.0), Value(-1000.0)]
    loss = losses.cross_entropy(xs, 1)
    loss.backward()
    assert loss.data == pytest.approx(1000.0)
    assert grads(xs) == pytest.approx([1.0, -1.0, 0.0], abs=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_onehot(Value):
    xs = [Value(0.3), Value(-1.2), Value(2.0)]
    losses.cross_entropy(xs, 2).backward()
    e = [math.exp(x) for x in (0.3, -1.2, 2.0)]
    expect = [v / sum(e) for v in e]
    expect[2] -= 1
    assert grads(xs) == pytest.approx(expect, rel=1e-13)


def test_losses_match_torch(Value):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rows = [[0.3, -1.2, 2.0], [1.5, 0.1, -0.7]]
    targets = [2, 0]
    xs = [[Value(x) for x in row] for row in rows]
    loss = losses.cross_entropy(xs, targets)
    loss.backward()
    t = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    tl = F.cross_entropy(t, torch.tensor(targets))
    tl.backward()
    assert loss.data == pytest.approx(tl.item(), rel=1e-14)
    assert [g for r in xs for g in grads(r)] == pytest.approx(t.grad.flatten().tolist(), rel=1e-13)

    preds, ys = [Value(0.5), Value(-1.0)], [1.0, 2.0]
    m = losses.mse(preds, ys)
    m.backward()
    tp = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    tm = F.mse_loss(tp, torch.tensor(ys, dtype=torch.float64))
    tm.backward()
    assert m.data == pytest.approx(tm.item(), rel=1e-15)
    assert grads(preds) == pytest.approx(tp.grad.tolist(), rel=1e-15)


def test_hinge_is_the_demo_loss(Value):
    scores = [Value(0.5), Value(-2.0), Value(3.0)]
    loss = losses.hinge(scores, [1, -1, -1])
    assert loss.data == pytest.approx((0.5 + 0.0 + 4.0) / 3)


def test_loss_errors(Value):
    with pytest.raises(ValueError):
        losses.cross_entropy([], 0)
    with pytest.raises(IndexError):
        losses.cross_entropy([Value(1.0)], 3)
    with pytest.raises(ValueError):
        losses.mse([Value(1.0)], [1.0, 2.0])
    with pytest.raises(ValueError):
        losses.hinge([], [])
    with pytest.raises(TypeError):
        losses.softmax([1.0, 2.0])


def run_optimizer(Value, make, steps=5, lr_change=None):
    params = [Value(x) for x in (0.5, -1.5, 2.0)]
    opt = make(params)
    history = []
    for k in range(steps):
        opt.zero_grad()
        loss = params[0] * params[0] + (params[1] * params[2]).tanh() + params[2] ** 2
        loss.backward()
        if lr_change and k == 2:
            opt.lr = lr_change
        opt.step()
        history.append([p.data for p in params])
    return history


OPTIMIZERS = {
    "sgd": (lambda ps: optim.SGD(ps, lr=0.1), "SGD", dict(lr=0.1)),
    "sgd_momentum": (lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01), "SGD",
                     dict(lr=0.1, momentum=0.9, weight_decay=0.01)),
    "adam": (lambda ps: optim.Adam(ps, lr=0.05, weight_decay=0.01), "Adam", dict(lr=0.05, weight_decay=0.01)),
    "adamw": (lambda ps: optim.AdamW(ps, lr=0.1, weight_decay=1e-2), "AdamW",
              dict(lr=0.1, betas=(0.9, 0.95), eps=1e-8, weight_decay=1e-2)),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_optimizers_match_torch(Value, name):
    torch = pytest.importorskip("torch")
    make, torch_name, kwargs = OPTIMIZERS[name]
    ours = run_optimizer(Value, make, lr_change=0.02)
    ps = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in (0.5, -1.5, 2.0)]
    opt = getattr(torch.optim, torch_name)(ps, **kwargs)
    for k in range(5):
        opt.zero_grad()
        loss = ps[0] * ps[0] + (ps[1] * ps[2]).tanh() + ps[2] ** 2
        loss.backward()
        if k == 2:
            for group in opt.param_groups:
                group["lr"] = 0.02
        opt.step()
        assert ours[k] == pytest.approx([p.item() for p in ps], rel=1e-12)


def test_sgd_and_adamw_by_hand(Value):
    p = Value(2.0)
    opt = optim.SGD([p], lr=0.5)
    p.grad = 3.0
    opt.step()
    assert p.data == 2.0 - 0.5 * 3.0
    q = Value(1.0)
    opt = optim.AdamW([q], lr=0.1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    q.grad = 2.0
    opt.step()
    m, v = 0.1 * 2.0, 0.05 * 4.0
    expect = 1.0 * (1 - 0.1 * 0.1) - (0.1 / 0.1) * (m / (math.sqrt(v) / math.sqrt(0.05) + 1e-8))
    assert q.data == pytest.approx(expect, rel=1e-15)


def test_engines_update_identically(backend):
    from micrograd_fast import reference

    for make, _, _ in OPTIMIZERS.values():
        assert run_optimizer(backend.Value, make) == run_optimizer(reference.Value, make)


def test_optimizer_errors_and_state(Value):
    with pytest.raises(ValueError):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="parameter 1 is a float"):
        optim.Adam([Value(1.0), 2.0])
    with pytest.raises(ValueError):
        optim.Adam([Value(1.0)], betas=(1.5, 0.9))
    with pytest.raises(ValueError):
        optim.SGD([Value(1.0)], lr=-1)
    ps = [Value(1.0), Value(2.0)]
    opt = optim.AdamW(ps)
    for p in ps:
        p.grad = 1.0
    opt.step()
    state = opt.state_dict()
    import json
    again = optim.AdamW(ps)
    again.load_state_dict(json.loads(json.dumps(state)))
    assert again.steps == 1 and list(again.exp_avg) == list(opt.exp_avg)
