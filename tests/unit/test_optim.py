"""micrograd_fast.optim on both engines: against torch.optim (float64) when
installed, against the update rules written out by hand always, and the two
engines against each other bit for bit."""

import json
import math
import warnings

import pytest

from micrograd_fast import engine, optim

reference = engine.load("pure")

START = [0.5, -1.5, 2.0, 0.0, -0.25]
STEPS = 8
NEW_LR_AT = 4  # the learning rate changes before this step


def fake_grad(x, k, i):
    """A gradient that depends on the parameter, the step and its index, so
    every term of every rule matters; the same floats for torch and for us."""
    return math.sin(3.0 * x + k) + 0.1 * x - 0.05 * i


CONFIGS = {
    "sgd": ("SGD", dict(lr=0.1)),
    "sgd_momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "sgd_weight_decay": ("SGD", dict(lr=0.1, weight_decay=0.01)),
    "sgd_momentum_weight_decay": ("SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    "adam": ("Adam", dict()),
    "adam_weight_decay": ("Adam", dict(lr=0.05, weight_decay=0.01)),
    "adam_betas": ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    "adam_small_beta1": ("Adam", dict(lr=0.02, betas=(0.3, 0.6), weight_decay=0.2)),
    "adamw": ("AdamW", dict()),
    "adamw_weight_decay": ("AdamW", dict(lr=0.1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)),
    "adamw_torch_defaults": ("AdamW", dict(lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-2)),
}


# Our defaults, spelled out for torch: AdamW's are the scalar-GPT teaching
# code's (lr 0.1, betas (0.9, 0.95), no decay), not torch's.
DEFAULTS = {
    "SGD": {},
    "Adam": dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0),
    "AdamW": dict(lr=1e-1, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.0),
}


def run_ours(Value, name, kwargs, steps=STEPS, new_lr=None):
    params = [Value(x) for x in START]
    opt = getattr(optim, name)(params, **kwargs)
    history = []
    for k in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            p.grad = fake_grad(p.data, k, i)
        if new_lr is not None and k == NEW_LR_AT:
            opt.lr = new_lr
        opt.step()
        history.append([p.data for p in params])
    return history


# ---------------------------------------------------------------------------
# torch.optim, float64


@pytest.mark.parametrize("config", list(CONFIGS))
def test_matches_torch_with_the_lr_changed_midway(backend, config):
    torch = pytest.importorskip("torch")
    name, kwargs = CONFIGS[config]
    kwargs = {**DEFAULTS[name], **kwargs}
    new_lr = kwargs["lr"] / 3
    ours = run_ours(backend.Value, name, CONFIGS[config][1], new_lr=new_lr)
    ps = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START]
    opt = getattr(torch.optim, name)(ps, **kwargs)
    for k in range(STEPS):
        opt.zero_grad()
        for i, p in enumerate(ps):
            p.grad = torch.tensor(fake_grad(p.item(), k, i), dtype=torch.float64)
        if k == NEW_LR_AT:
            opt.param_groups[0]["lr"] = new_lr
        opt.step()
        assert ours[k] == pytest.approx([p.item() for p in ps], rel=1e-12, abs=1e-15), f"step {k}"


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_trains_a_graph_like_torch(backend, name):
    """Gradients from backward(), not set by hand: the whole loop agrees."""
    torch = pytest.importorskip("torch")
    kwargs = dict(lr=0.05, weight_decay=0.01, **({"momentum": 0.9} if name == "SGD" else {}))
    ps = [backend.Value(x) for x in START[:3]]
    opt = getattr(optim, name)(ps, **kwargs)
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in START[:3]]
    topt = getattr(torch.optim, name)(ts, **{**DEFAULTS[name], **kwargs})
    for k in range(6):
        for params, o in ((ps, opt), (ts, topt)):
            o.zero_grad()
            a, b, c = params
            (a * a + (b * c).tanh() + c**2 + (a - c).exp()).backward()
            if k == 3:
                if o is opt:
                    o.lr = 0.01
                else:
                    o.param_groups[0]["lr"] = 0.01
            o.step()
        assert [p.data for p in ps] == pytest.approx([t.item() for t in ts], rel=1e-12)


# ---------------------------------------------------------------------------
# the rules written out by hand, as torch's documentation states them


def hand_sgd(lr_at, momentum=0.0, weight_decay=0.0):
    xs, buf, history = list(START), [0.0] * len(START), []
    for k in range(STEPS):
        for i, x in enumerate(xs):
            d = fake_grad(x, k, i) + weight_decay * x
            if momentum:
                buf[i] = d if k == 0 else momentum * buf[i] + d
                d = buf[i]
            xs[i] = x - lr_at(k) * d
        history.append(list(xs))
    return history


def hand_adam(lr_at, betas, eps, weight_decay, decoupled):
    b1, b2 = betas
    xs, m, v, history = list(START), [0.0] * len(START), [0.0] * len(START), []
    for k in range(STEPS):
        t, lr = k + 1, lr_at(k)
        for i, x in enumerate(xs):
            g = fake_grad(x, k, i)
            if decoupled:
                x = x - lr * weight_decay * x
            else:
                g = g + weight_decay * x
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            # torch puts eps outside the bias-corrected sqrt: sqrt(v)/sqrt(bc2) + eps
            xs[i] = x - lr * m_hat / (math.sqrt(v_hat) + eps)
        history.append(list(xs))
    return history


@pytest.mark.parametrize("config", list(CONFIGS))
def test_matches_the_rule_written_by_hand(backend, config):
    name, given = CONFIGS[config]
    kwargs = {**DEFAULTS[name], **given}
    lr, new_lr = kwargs["lr"], kwargs["lr"] / 3

    def lr_at(k):
        return new_lr if k >= NEW_LR_AT else lr

    ours = run_ours(backend.Value, name, given, new_lr=new_lr)
    if name == "SGD":
        expect = hand_sgd(lr_at, kwargs.get("momentum", 0.0), kwargs.get("weight_decay", 0.0))
    else:
        expect = hand_adam(lr_at, kwargs["betas"], kwargs["eps"], kwargs["weight_decay"],
                           decoupled=name == "AdamW")
    for k in range(STEPS):
        assert ours[k] == pytest.approx(expect[k], rel=1e-12, abs=1e-15), f"step {k}"


def test_first_steps_by_hand(backend):
    p = backend.Value(2.0)
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = 3.0
    opt.step()
    assert p.data == 2.0 - 0.5 * 3.0  # the buffer starts at the gradient itself
    p.grad = 1.0
    opt.step()
    assert p.data == 0.5 - 0.5 * (0.9 * 3.0 + 1.0)

    q = backend.Value(1.0)
    opt = optim.AdamW([q], weight_decay=0.1)  # lr 0.1, betas (0.9, 0.95), eps 1e-8
    q.grad = 2.0
    opt.step()
    # after one step m_hat = g and v_hat = g^2: the step is lr * sign(g), almost
    assert q.data == pytest.approx(1.0 * (1 - 0.1 * 0.1) - 0.1 * 2.0 / (2.0 + 1e-8), rel=1e-15)

    r = backend.Value(1.0)
    opt = optim.Adam([r], lr=0.1, weight_decay=0.5)  # L2: g + wd * p = 2.5
    r.grad = 2.0
    opt.step()
    assert r.data == pytest.approx(1.0 - 0.1 * 2.5 / (2.5 + 1e-8), rel=1e-15)


def test_lr_is_a_plain_attribute(backend):
    p = backend.Value(1.0)
    opt = optim.SGD([p], lr=0.1)
    opt.lr = 0.0
    p.grad = 5.0
    opt.step()
    assert p.data == 1.0
    opt.lr = 1.0
    opt.step()
    assert (opt.lr, p.data) == (1.0, -4.0)


def test_zero_grad(backend):
    ps = [backend.Value(1.0), backend.Value(2.0)]
    ps[0].grad, ps[1].grad = 3.0, -4.0
    optim.Adam(ps).zero_grad()
    assert [p.grad for p in ps] == [0.0, 0.0]


def test_takes_any_iterable_of_values_and_subclasses(backend):
    class Param(backend.Value):
        pass

    ps = [Param(1.0), backend.Value(2.0)]
    opt = optim.SGD((p for p in ps), lr=1.0)
    for p in ps:
        p.grad = 1.0
    opt.step()
    assert [p.data for p in ps] == [0.0, 1.0]


# ---------------------------------------------------------------------------
# the two engines: the C loop and the Python loop are the same arithmetic


@pytest.mark.parametrize("config", list(CONFIGS))
def test_engines_update_bit_for_bit(backend, config):
    name, kwargs = CONFIGS[config]
    assert run_ours(backend.Value, name, kwargs, new_lr=0.01) == \
        run_ours(reference.Value, name, kwargs, new_lr=0.01)


# ---------------------------------------------------------------------------
# state_dict


@pytest.mark.parametrize("config", ["sgd_momentum_weight_decay", "adam_betas", "adamw_weight_decay"])
def test_state_dict_resumes_exactly_through_json(backend, config):
    name, kwargs = CONFIGS[config]
    straight = run_ours(backend.Value, name, kwargs)[-1]

    params = [backend.Value(x) for x in START]
    opt = getattr(optim, name)(params, **kwargs)

    def step(o, k):
        o.zero_grad()
        for i, p in enumerate(params):
            p.grad = fake_grad(p.data, k, i)
        o.step()

    for k in range(3):
        step(opt, k)
    saved = json.dumps(opt.state_dict())  # no default=: plain types only
    resumed = getattr(optim, name)(params, lr=123.0)  # hyperparameters come from the state
    resumed.load_state_dict(json.loads(saved))
    assert resumed.state_dict() == opt.state_dict()
    for k in range(3, STEPS):
        step(resumed, k)
    assert [p.data for p in params] == straight


def test_state_dict_contents(backend):
    opt = optim.AdamW([backend.Value(1.0), backend.Value(2.0)], weight_decay=0.1)
    assert opt.state_dict() == {"lr": 0.1, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1,
                                "steps": 0, "exp_avg": [0.0, 0.0], "exp_avg_sq": [0.0, 0.0]}
    adam = optim.Adam([backend.Value(1.0)])
    assert adam.state_dict() == {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                                 "steps": 0, "exp_avg": [0.0], "exp_avg_sq": [0.0]}
    sgd = optim.SGD([backend.Value(1.0)], lr=0.5, momentum=0.9)
    assert sgd.state_dict() == {"lr": 0.5, "momentum": 0.9, "weight_decay": 0.0, "steps": 0,
                                "momentum_buffer": [0.0]}


def test_bad_state_dict_changes_nothing(backend):
    ps = [backend.Value(1.0), backend.Value(2.0)]
    opt = optim.Adam(ps, lr=0.01)
    good = opt.state_dict()
    bad_states = {
        "missing keys \\['steps'\\]": {k: v for k, v in good.items() if k != "steps"},
        "unexpected keys \\['momentum'\\]": {**good, "momentum": 0.9},
        "exp_avg: 3 entries for 2 parameters": {**good, "exp_avg": [0.0] * 3},
        "Invalid beta parameter at index 1: 1.5": {**good, "betas": [0.9, 1.5], "lr": 9.0},
        "steps must be a count": {**good, "steps": -1},
    }
    for message, state in bad_states.items():
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(state)
        assert opt.state_dict() == good
    with pytest.raises(ValueError, match="missing keys"):
        optim.SGD(ps, lr=0.1).load_state_dict(good)  # another optimizer's state


# ---------------------------------------------------------------------------
# bad arguments: torch's checks and messages


def test_parameter_errors(backend):
    Value = backend.Value
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.AdamW(iter([]))
    with pytest.raises(TypeError, match="parameter 1 is a float, not a Value"):
        optim.Adam([Value(1.0), 2.0])
    with pytest.raises(TypeError, match="parameter 0 is a list"):
        optim.AdamW([[Value(1.0)]])
    with pytest.raises(TypeError, match="not a single Value: wrap it in a list"):
        optim.SGD(Value(1.0), lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({Value(1.0)}, lr=0.1)


def test_duplicate_parameters_warn(backend):
    p = backend.Value(1.0)
    with pytest.warns(UserWarning, match="same parameter more than once"):
        optim.SGD([p, p], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.SGD([p, backend.Value(1.0)], lr=0.1)


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "Invalid momentum value: -0.5"),
    (lambda ps: optim.SGD(ps, lr=0.1, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda ps: optim.Adam(ps, lr=-1e-3), "Invalid learning rate: -0.001"),
    (lambda ps: optim.Adam(ps, lr=math.nan), "Invalid learning rate: nan"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "Invalid epsilon value: -1e-08"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    (lambda ps: optim.Adam(ps, betas=(0.9,)), "Invalid betas: expected 2 values, got 1"),
    (lambda ps: optim.AdamW(ps, weight_decay=-0.1), "Invalid weight_decay value: -0.1"),
    (lambda ps: optim.AdamW(ps, betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
])
def test_hyperparameter_errors(backend, make, message):
    with pytest.raises(ValueError, match=message.replace("(", "\\(")):
        make([backend.Value(1.0)])


@pytest.mark.parametrize("name, kwargs", [
    ("SGD", dict(lr=-0.1)),
    ("SGD", dict(lr=0.1, momentum=-0.5)),
    ("SGD", dict(lr=0.1, weight_decay=-2.0)),
    ("Adam", dict(eps=-1e-8)),
    ("Adam", dict(betas=(1.0, 0.999))),
    ("AdamW", dict(weight_decay=-0.1)),
])
def test_hyperparameter_errors_are_torchs(name, kwargs):
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([reference.Value(1.0)], **kwargs)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.zeros((), dtype=torch.float64, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_values_of_two_engines_do_not_mix(compiled):
    with pytest.raises(TypeError, match="mix Values of the compiled and the reference engine"):
        optim.SGD([compiled.Value(1.0), reference.Value(1.0)], lr=0.1)
