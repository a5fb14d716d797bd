"""micrograd_fast.losses on both engines: hand-computed values, finite
differences, the micrograd demo's own hinge code, and torch.nn.functional
(float64) when torch is installed."""

import math

import pytest

from micrograd_fast import losses

LOGITS = [0.3, -1.2, 2.0, 0.7]
BATCH = [[0.3, -1.2, 2.0], [1.5, 0.1, -0.7], [-0.4, -0.4, 3.1], [0.0, 2.2, -1.0]]
TARGETS = [2, 0, 1, 1]


def values(Value, xs):
    return [Value(x) for x in xs]


def grads(vs):
    return [v.grad for v in vs]


def hand_softmax(xs):
    e = [math.exp(x - max(xs)) for x in xs]
    return [v / math.fsum(e) for v in e]


def hand_cross_entropy(xs, t):
    top = max(xs)
    return math.log(math.fsum(math.exp(x - top) for x in xs)) + top - xs[t]


def finite_differences(f, xs, h=1e-6):
    """d f / d xs[i] by central differences; f takes a list of floats."""
    out = []
    for i in range(len(xs)):
        up, down = list(xs), list(xs)
        up[i] += h
        down[i] -= h
        out.append((f(up) - f(down)) / (2 * h))
    return out


# ---------------------------------------------------------------------------
# softmax and log_softmax


def test_softmax_values_and_type(backend):
    xs = values(backend.Value, LOGITS)
    ps = losses.softmax(xs)
    assert all(type(p) is backend.Value for p in ps)  # the inputs' engine, never the other
    assert [p.data for p in ps] == pytest.approx(hand_softmax(LOGITS), rel=1e-15)
    assert math.fsum(p.data for p in ps) == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("k", range(len(LOGITS)))
def test_softmax_gradient_by_finite_differences(backend, k):
    xs = values(backend.Value, LOGITS)
    losses.softmax(xs)[k].backward()
    expect = finite_differences(lambda z: hand_softmax(z)[k], LOGITS)
    assert grads(xs) == pytest.approx(expect, rel=1e-7, abs=1e-10)


def test_softmax_is_stable_for_huge_logits(backend):
    # exp(1000) overflows: only the max-shifted form can compute this
    xs = values(backend.Value, [1000.0, 1001.0, -1000.0])
    ps = losses.softmax(xs)
    assert [p.data for p in ps] == pytest.approx([1 / (1 + math.e), math.e / (1 + math.e), 0.0],
                                                 rel=1e-15)
    ps[1].backward()
    s0, s1 = ps[0].data, ps[1].data
    assert grads(xs) == pytest.approx([-s0 * s1, s1 * (1 - s1), 0.0], rel=1e-14)


def test_log_softmax_values_and_gradient(backend):
    xs = values(backend.Value, LOGITS)
    logs = losses.log_softmax(xs)
    assert [v.data for v in logs] == pytest.approx([math.log(p) for p in hand_softmax(LOGITS)],
                                                   rel=1e-14)
    backend.sum(logs).backward()  # d/dx_j sum_i log p_i = 1 - n p_j
    n = len(LOGITS)
    assert grads(xs) == pytest.approx([1 - n * p for p in hand_softmax(LOGITS)], rel=1e-13)


def test_log_softmax_stays_finite_where_softmax_underflows(backend):
    xs = values(backend.Value, [0.0, -800.0])
    assert [v.data for v in losses.log_softmax(xs)] == pytest.approx([0.0, -800.0], abs=1e-12)


def test_single_logit(backend):
    xs = values(backend.Value, [5.0])
    assert losses.softmax(xs)[0].data == 1.0
    loss = losses.cross_entropy(xs, 0)
    loss.backward()
    assert (loss.data, xs[0].grad) == (0.0, 0.0)


# ---------------------------------------------------------------------------
# cross_entropy


def test_cross_entropy_one_sample(backend):
    xs = values(backend.Value, LOGITS)
    loss = losses.cross_entropy(xs, 2)
    loss.backward()
    assert type(loss) is backend.Value
    assert loss.data == pytest.approx(hand_cross_entropy(LOGITS, 2), rel=1e-15)
    expect = hand_softmax(LOGITS)  # softmax - one_hot(target)
    expect[2] -= 1.0
    assert grads(xs) == pytest.approx(expect, rel=1e-13)
    assert math.fsum(grads(xs)) == pytest.approx(0.0, abs=1e-15)


def test_cross_entropy_is_stable(backend):
    xs = values(backend.Value, [1000.0, 0.0, -1000.0])
    loss = losses.cross_entropy(xs, 1)
    loss.backward()
    assert loss.data == pytest.approx(1000.0, rel=1e-15)
    assert grads(xs) == pytest.approx([1.0, -1.0, 0.0], abs=1e-15)


def test_cross_entropy_gradient_by_finite_differences(backend):
    flat = [x for row in BATCH for x in row]
    rows = [values(backend.Value, row) for row in BATCH]
    losses.cross_entropy(rows, TARGETS).backward()

    def f(z):
        c = len(BATCH[0])
        return math.fsum(hand_cross_entropy(z[i * c:(i + 1) * c], t)
                         for i, t in enumerate(TARGETS)) / len(TARGETS)

    assert [g for row in rows for g in grads(row)] == pytest.approx(finite_differences(f, flat),
                                                                    rel=1e-7, abs=1e-10)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_batch_reductions(backend, reduction):
    rows = [values(backend.Value, row) for row in BATCH]
    each = [hand_cross_entropy(row, t) for row, t in zip(BATCH, TARGETS)]
    out = losses.cross_entropy(rows, TARGETS, reduction=reduction)
    if reduction == "none":
        assert [v.data for v in out] == pytest.approx(each, rel=1e-14)
    else:
        total = math.fsum(each)
        assert out.data == pytest.approx(total / len(each) if reduction == "mean" else total,
                                         rel=1e-14)


def test_cross_entropy_takes_numpy_targets_and_generators(backend):
    np = pytest.importorskip("numpy")
    rows = [values(backend.Value, row) for row in BATCH]
    a = losses.cross_entropy(rows, np.array(TARGETS)).data
    b = losses.cross_entropy((iter(r) for r in rows), iter(TARGETS)).data
    assert a == b == losses.cross_entropy(rows, TARGETS).data


def test_losses_accept_value_subclasses(backend):
    class Logit(backend.Value):
        pass

    xs = [Logit(x) for x in LOGITS]
    assert losses.cross_entropy(xs, 1).data == pytest.approx(hand_cross_entropy(LOGITS, 1), rel=1e-15)


# ---------------------------------------------------------------------------
# hinge and mse


def test_hinge_is_the_micrograd_demo_loss(backend):
    np = pytest.importorskip("numpy")
    scores_f = [0.5, -2.0, 3.0, 0.2, -0.1]
    ys = np.array([1, -1, -1, 1, -1])  # the demo passes y*2-1 as numpy ints
    scores = values(backend.Value, scores_f)
    loss = losses.hinge(scores, ys)
    loss.backward()
    # the demo's own code, on the same engine: bit-identical
    demo_scores = values(backend.Value, scores_f)
    demo = [(1 + -yi * si).relu() for yi, si in zip(ys, demo_scores)]
    demo = sum(demo) * (1.0 / len(demo))
    demo.backward()
    assert loss.data == demo.data
    assert grads(scores) == grads(demo_scores)
    # and by hand: margins 0.5, 0, 4, 0.8, 0.9; slope -y/n where the margin is positive
    assert loss.data == pytest.approx((0.5 + 0.0 + 4.0 + 0.8 + 0.9) / 5, rel=1e-15)
    assert grads(scores) == pytest.approx([-0.2, 0.0, 0.2, -0.2, 0.2], rel=1e-15)


def test_mse_values_and_gradients(backend):
    preds = values(backend.Value, [0.5, -1.0, 2.0])
    target_values = values(backend.Value, [1.0, 2.0, 2.5])
    loss = losses.mse(preds, target_values)
    loss.backward()
    assert loss.data == pytest.approx((0.25 + 9.0 + 0.25) / 3, rel=1e-15)
    assert grads(preds) == pytest.approx([2 * d / 3 for d in (-0.5, -3.0, -0.5)], rel=1e-15)
    assert grads(target_values) == pytest.approx([-g for g in grads(preds)], rel=1e-15)
    assert losses.mse(preds, [1.0, 2.0, 2.5]).data == loss.data  # numbers as targets


# ---------------------------------------------------------------------------
# torch.nn.functional, float64


def torch_and_F():
    torch = pytest.importorskip("torch")
    return torch, torch.nn.functional


def test_softmax_and_log_softmax_match_torch(backend):
    torch, F = torch_and_F()
    for ours, theirs in ((losses.softmax, F.softmax), (losses.log_softmax, F.log_softmax)):
        xs = values(backend.Value, LOGITS)
        out = ours(xs)
        # weight the outputs so the gradient is not the trivial one
        backend.dot(out, [1.0, -2.0, 0.5, 3.0]).backward()
        t = torch.tensor(LOGITS, dtype=torch.float64, requires_grad=True)
        tout = theirs(t, dim=0)
        (tout * torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)).sum().backward()
        assert [v.data for v in out] == pytest.approx(tout.tolist(), rel=1e-14)
        assert grads(xs) == pytest.approx(t.grad.tolist(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_torch(backend, reduction):
    torch, F = torch_and_F()
    rows = [values(backend.Value, row) for row in BATCH]
    out = losses.cross_entropy(rows, TARGETS, reduction=reduction)
    t = torch.tensor(BATCH, dtype=torch.float64, requires_grad=True)
    tout = F.cross_entropy(t, torch.tensor(TARGETS), reduction=reduction)
    if reduction == "none":
        backend.sum(out).backward()
        tout.sum().backward()
        assert [v.data for v in out] == pytest.approx(tout.tolist(), rel=1e-14)
    else:
        out.backward()
        tout.backward()
        assert out.data == pytest.approx(tout.item(), rel=1e-14)
    assert [g for row in rows for g in grads(row)] == pytest.approx(t.grad.flatten().tolist(),
                                                                    rel=1e-12, abs=1e-15)


def test_one_sample_cross_entropy_matches_torch(backend):
    torch, F = torch_and_F()
    xs = values(backend.Value, [1000.0, 0.0, -3.0])
    loss = losses.cross_entropy(xs, 2)
    loss.backward()
    t = torch.tensor([1000.0, 0.0, -3.0], dtype=torch.float64, requires_grad=True)
    tl = F.cross_entropy(t, torch.tensor(2))
    tl.backward()
    assert loss.data == pytest.approx(tl.item(), rel=1e-15)
    assert grads(xs) == pytest.approx(t.grad.tolist(), rel=1e-12, abs=1e-300)


def test_mse_and_hinge_match_torch(backend):
    torch, F = torch_and_F()
    ps, ys = [0.5, -1.0, 2.0, 0.3], [1.0, 2.0, 2.5, -0.1]
    preds = values(backend.Value, ps)
    m = losses.mse(preds, ys)
    m.backward()
    tp = torch.tensor(ps, dtype=torch.float64, requires_grad=True)
    tm = F.mse_loss(tp, torch.tensor(ys, dtype=torch.float64))
    tm.backward()
    assert m.data == pytest.approx(tm.item(), rel=1e-15)
    assert grads(preds) == pytest.approx(tp.grad.tolist(), rel=1e-15)

    labels = [1, -1, -1, 1]
    scores = values(backend.Value, ps)
    h = losses.hinge(scores, labels)
    h.backward()
    ts = torch.tensor(ps, dtype=torch.float64, requires_grad=True)
    th = F.relu(1 - torch.tensor(labels, dtype=torch.float64) * ts).mean()
    th.backward()
    assert h.data == pytest.approx(th.item(), rel=1e-15)
    assert grads(scores) == pytest.approx(ts.grad.tolist(), rel=1e-15)


# ---------------------------------------------------------------------------
# bad input


def test_empty_inputs_raise_value_error(backend):
    for call in (lambda: losses.softmax([]), lambda: losses.log_softmax([]),
                 lambda: losses.cross_entropy([], 0), lambda: losses.cross_entropy([], []),
                 lambda: losses.hinge([], []), lambda: losses.mse([], [])):
        with pytest.raises(ValueError, match="empty"):
            call()
    with pytest.raises(ValueError, match="sample 0: empty"):
        losses.cross_entropy([[], []], [0, 0])
    with pytest.raises(ValueError, match="sample 1 has 0 logits"):
        losses.cross_entropy([values(backend.Value, [1.0]), []], [0, 0])


def test_cross_entropy_target_errors(backend):
    xs = values(backend.Value, [1.0, 2.0, 3.0])
    with pytest.raises(IndexError, match="target: index 3 is out of range for 3"):
        losses.cross_entropy(xs, 3)
    with pytest.raises(IndexError, match="target: index -1 is out of range"):
        losses.cross_entropy(xs, -1)
    with pytest.raises(IndexError, match="sample 1 target: index 5"):
        losses.cross_entropy([xs, xs], [0, 5])
    for bad in (1.0, True, "1", None):
        with pytest.raises(TypeError, match="target: the index must be an int or a Value holding one"):
            losses.cross_entropy(xs, bad)


def test_cross_entropy_batch_shape_errors(backend):
    rows = [values(backend.Value, row) for row in BATCH]
    with pytest.raises(ValueError, match="4 samples but 3 targets"):
        losses.cross_entropy(rows, TARGETS[:3])
    with pytest.raises(TypeError, match="needs a list of 4 targets"):
        losses.cross_entropy(rows, 0)
    with pytest.raises(ValueError, match="sample 1 has 2 logits, sample 0 has 3"):
        losses.cross_entropy([rows[0], rows[1][:2]], [0, 0])
    with pytest.raises(TypeError, match="sample 1 is a float"):
        losses.cross_entropy([rows[0], 1.0], [0, 0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.cross_entropy(rows, TARGETS, reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.cross_entropy(rows[0], 0, reduction="avg")  # checked for one sample too


def test_non_values_raise_type_error(backend):
    with pytest.raises(TypeError, match="element 1 is a float, not a Value"):
        losses.softmax([backend.Value(1.0), 2.0])
    with pytest.raises(TypeError, match="element 0 is a float"):
        losses.cross_entropy([1.0, 2.0], 0)
    with pytest.raises(TypeError, match="element 0 is a int"):
        losses.mse([1, 2], [1, 2])


def test_hinge_and_mse_errors(backend):
    scores = values(backend.Value, [0.5, -0.5])
    with pytest.raises(ValueError, match="2 predictions but 3 targets"):
        losses.hinge(scores, [1, -1, 1])
    with pytest.raises(ValueError, match="2 predictions but 1 targets"):
        losses.mse(scores, [1.0])
    # 0/1 labels are the commonest mistake: the data sets hand them out
    with pytest.raises(ValueError, match="label 1 is 0; labels must be -1 or \\+1"):
        losses.hinge(scores, [1, 0])
    with pytest.raises(ValueError, match="label 0"):
        losses.hinge(scores, [backend.Value(1.0), -1])
    # numbers equal to +-1 of any kind are labels
    from fractions import Fraction

    assert losses.hinge(scores, [Fraction(1), -1.0]).data == losses.hinge(scores, [1, -1]).data


def test_values_of_two_engines_do_not_mix(compiled, reference):

    with pytest.raises(TypeError, match="another engine"):
        losses.softmax([compiled.Value(1.0), reference.Value(2.0)])


# ---------------------------------------------------------------------------
# cross_entropy over a batch is one engine call; it must build the very graph
# that writing its steps out with Value operators builds


def written_out_cross_entropy(backend, rows, targets):
    """What the fused nodes replace: for each row, shift by the max (a
    constant), exp, sum, log, minus the target's shifted logit."""
    each = []
    for row, t in zip(rows, targets):
        top = max(v.data for v in row)
        shifted = [v - top for v in row]
        each.append(backend.sum([s.exp() for s in shifted]).log() - shifted[t])
    return each


def same_numbers(ours, theirs, rel=1e-12):
    """Equal to rel, NaN with NaN and infinities with themselves."""
    return len(ours) == len(theirs) and all(
        (math.isnan(a) and math.isnan(b)) or a == b or (math.isfinite(a) and a == pytest.approx(b, rel=rel))
        for a, b in zip(ours, theirs))


@pytest.mark.parametrize("batch", [BATCH, [[1e300, -1e300, 0.0], [math.inf, 1.0, 2.0], [math.nan, 0.0, 1.0],
                                           [-math.inf, -math.inf, -math.inf]], [[5.0]] * 3])
def test_batch_cross_entropy_is_its_written_out_graph_fused(backend, batch):
    """One cross_entropy node per sample, over its logits and a target leaf:
    the written-out graph's losses bit for bit, its gradients to rounding."""
    targets = [i % len(batch[0]) for i in range(len(batch))]
    ours = [values(backend.Value, row) for row in batch]
    theirs = [values(backend.Value, row) for row in batch]
    each = losses.cross_entropy(ours, targets, reduction="none")
    expected = written_out_cross_entropy(backend, theirs, targets)
    assert repr([v.data for v in each]) == repr([v.data for v in expected])
    for node, row, t in zip(each, ours, targets):
        assert node._op == "cross_entropy" and node._children[:-1] == tuple(row)
        assert node._children[-1].data == t and node._children[-1]._op == ""
    total, expected_total = backend.sum(each) * (1.0 / len(each)), backend.sum(expected) * (1.0 / len(each))
    total.backward()
    expected_total.backward()
    assert repr(total.data) == repr(expected_total.data)
    for row, their_row in zip(ours, theirs):
        assert same_numbers(grads(row), grads(their_row))


def test_batch_cross_entropy_under_no_grad_keeps_no_graph(backend):
    import micrograd_fast

    rows = [values(backend.Value, row) for row in BATCH]
    with micrograd_fast.no_grad():
        loss = losses.cross_entropy(rows, TARGETS, reduction="none")
    assert all(v._prev == set() for v in loss)
    assert [v.data for v in loss] == pytest.approx([hand_cross_entropy(r, t) for r, t in zip(BATCH, TARGETS)])


def test_the_one_call_path_leaves_anything_unusual_to_losses(compiled):
    """nll_rows answers None for whatever it does not take as is; losses.py
    then makes the same nodes sample by sample, or words the error."""
    np = pytest.importorskip("numpy")

    class Sub(compiled.Value):
        pass

    V = compiled.Value
    rows = [values(V, row) for row in BATCH]
    assert len(compiled.nll_rows(rows, TARGETS)) == len(BATCH)
    assert len(compiled.nll_rows(rows, list(np.array(TARGETS)))) == len(BATCH)
    unusual = [
        ([tuple(r) for r in rows], TARGETS),            # rows that are not lists
        ([rows[0], rows[1][:2]] + rows[2:], TARGETS),   # ragged
        (rows, TARGETS[:3]),                            # too few targets
        (rows, [True, 0, 1, 1]),                        # a bool is not a class index
        (rows, [2, 0, 1, 3]),                           # out of range
        (rows, [2, 0, -1, 1]),
        (rows, [2.0, 0, 1, 1]),
        (rows, [2, 0, 1, 2 ** 80]),
        ([values(Sub, r) for r in BATCH], TARGETS),     # a subclass may override its operators
        ([[V(1.0), 2.0, V(3.0)]] + rows[1:], TARGETS),  # a number among the Values
        ([[]] * 4, TARGETS),
        ([], []),
    ]
    for bad_rows, bad_targets in unusual:
        assert compiled.nll_rows(bad_rows, bad_targets) is None
    with pytest.raises(TypeError):
        compiled.nll_rows(tuple(rows), TARGETS)  # its own arguments are lists, by signature

    class Sneaky:
        def __index__(self):  # runs before any row is read
            rows[1].clear()
            return 0

    assert compiled.nll_rows(rows, [Sneaky(), 0, 1, 1]) is None
