"""The fused ops: one node where written-out code makes many, with the same
arithmetic in the same order, so the same bits (csrc/core/fused.h has the
compiled cases and says which code each replaces); and the functions that
make them.

A fused op is Fused(name, compute, backward, local_grads), functions of the
node as ops.Op's methods are. Each node's constants are in its `_arg`, what
its forward keeps for its backward in `_saved`. No structure depends on the
data: a softmax's max is taken inside its expsum node, an embedding's row
and a cross_entropy's target are read from Values, so a tape replays them
with new data.
"""

import math
from collections import namedtuple

from .. import checks
from .ops import TABLE, float_pow
from .value import Value, forget_children, grad_enabled, make, set_grad_enabled

Fused = namedtuple("Fused", "name compute backward local_grads")
MUL = TABLE["mul"]

# ---------------------------------------------------------------------------
# dot and sum: micrograd's Neuron and builtins.sum, one node each


def _dot_split(out):
    """A dot node's children: n weights, n inputs, then the bias if a Value."""
    n = out._arg[0]
    kids = out._children
    return kids[:n], kids[n : 2 * n], kids[2 * n :]


def _dot_compute(out):
    # start + w0 * x0 + w1 * x1 + ..., left to right
    ws, xs, bias = _dot_split(out)
    acc = bias[0].data if bias else out._arg[1]
    for w, x in zip(ws, xs):
        acc = acc + w.data * x.data
    out.data = acc


def _dot_backward(out):
    ws, xs, bias = _dot_split(out)
    g = out.grad
    for w, x in zip(ws, xs):
        w.grad += x.data * g
        x.grad += w.data * g
    for b in bias:
        b.grad += g


def _dot_local_grads(out):
    ws, xs, bias = _dot_split(out)
    return tuple(x.data for x in xs) + tuple(w.data for w in ws) + (1.0,) * len(bias)


def _sum_compute(out):
    # start + v0 + v1 + ...; _arg (the start) is None when the first child is
    values = out._children
    if out._arg is None:
        acc, values = values[0].data, values[1:]
    else:
        acc = out._arg
    for v in values:
        acc = acc + v.data
    out.data = acc


def _sum_backward(out):
    for v in out._children:
        v.grad += out.grad


# ---------------------------------------------------------------------------
# the fused ops of a small GPT


def _sum_of_exps(values, shift):
    total = 0.0
    for v in values:
        total = total + math.exp(v.data + (-shift))
    return total


def _rms_compute(out):
    # (sum(x * x for x in xs) / len(xs) + eps) ** -0.5; _arg is eps
    acc = 0.0
    for x in out._children:
        acc = acc + x.data * x.data
    mean_square = acc * float_pow(len(out._children), -1)
    out.data = float_pow(mean_square + out._arg, -0.5)
    out._saved = mean_square


def _rms_backward(out):
    a = (-0.5 * float_pow(out._saved + out._arg, -1.5)) * out.grad
    a = float_pow(len(out._children), -1) * a
    for x in out._children:
        x.grad += x.data * a  # x * x: once for each factor
        x.grad += x.data * a


def _rms_local_grads(out):
    # d scale / d (x * x), through ** -0.5, + eps and / n
    a = float_pow(len(out._children), -1) * (-0.5 * float_pow(out._saved + out._arg, -1.5))
    return tuple(2.0 * x.data * a for x in out._children)


def _expsum_compute(out):
    # sum((x - max_x).exp() for x in xs), the max taken here
    shift = max(v.data for v in out._children)
    out.data = _sum_of_exps(out._children, shift)
    out._saved = shift


def _expsum_backward(out):
    for v in out._children:
        v.grad += math.exp(v.data + (-out._saved)) * out.grad


def _expsum_local_grads(out):
    return tuple(math.exp(v.data + (-out._saved)) for v in out._children)


def _expsum_of(out):
    """A softmax output's expsum node (its second child)."""
    total = out._children[1]
    if total._rule is not FUSED["expsum"]:
        raise checks.expsum_replaced()
    return total


def _softmax_compute(out):
    # e / total, e = (x - max_x).exp()
    x, total = out._children[0], _expsum_of(out)
    out.data = math.exp(x.data + (-total._saved)) * float_pow(total.data, -1)


def _softmax_backward(out):
    x, total = out._children[0], _expsum_of(out)
    e = math.exp(x.data + (-total._saved))
    x.grad += e * (float_pow(total.data, -1) * out.grad)
    total.grad += (-1.0 * float_pow(total.data, -2)) * (e * out.grad)


def _softmax_local_grads(out):
    x, total = out._children[0], _expsum_of(out)
    e = math.exp(x.data + (-total._saved))
    return (e * float_pow(total.data, -1), -e * float_pow(total.data, -2))


def _log_softmax_compute(out):
    # (x - max_x) - total.log()
    x, total = out._children[0], _expsum_of(out)
    out.data = (x.data + (-total._saved)) + math.log(total.data) * -1.0


def _log_softmax_backward(out):
    x, total = out._children[0], _expsum_of(out)
    x.grad += out.grad
    total.grad += (-1.0 * out.grad) / total.data


def _nll_target(out):
    """A cross_entropy node's logits, and its target as a row number."""
    logits, target = out._children[:-1], out._children[-1]
    return logits, checks.index_of(target.data, len(logits))


def _nll_compute(out):
    # total.log() - (x_t - max_x): the logits, then the target
    logits, t = _nll_target(out)
    shift = max(v.data for v in logits)
    total = _sum_of_exps(logits, shift)
    out.data = math.log(total) + (logits[t].data + (-shift)) * -1.0
    out._saved = (shift, total)


def _nll_backward(out):
    logits, t = _nll_target(out)
    shift, total = out._saved
    a = out.grad / total
    for v in logits:
        v.grad += math.exp(v.data + (-shift)) * a
    logits[t].grad += -1.0 * out.grad


def _nll_local_grads(out):
    logits, t = _nll_target(out)
    shift, total = out._saved
    return tuple(math.exp(v.data + (-shift)) / total - (i == t) for i, v in enumerate(logits)) + (0.0,)


def _embed_row(out):
    """An embedding node's column of the table, and the row its index selects."""
    column, index = out._children[:-1], out._children[-1]
    return column, checks.index_of(index.data, len(column))


def _embed_compute(out):
    # column[int(index.data)]: a column of the table, then the index
    column, row = _embed_row(out)
    out.data = column[row].data


def _embed_backward(out):
    column, row = _embed_row(out)
    column[row].grad += out.grad


def _embed_local_grads(out):
    column, row = _embed_row(out)
    return tuple(float(i == row) for i in range(len(column))) + (0.0,)


# the ids are csrc/ops/op_table.h's; the names are the nodes' _op
FUSED = {
    "dot": Fused("dot", _dot_compute, _dot_backward, _dot_local_grads),
    "sum": Fused("sum", _sum_compute, _sum_backward, lambda out: (1.0,) * len(out._children)),
    "rms_scale": Fused("rmsnorm", _rms_compute, _rms_backward, _rms_local_grads),
    "expsum": Fused("expsum", _expsum_compute, _expsum_backward, _expsum_local_grads),
    "softmax": Fused("softmax", _softmax_compute, _softmax_backward, _softmax_local_grads),
    "log_softmax": Fused("log_softmax", _log_softmax_compute, _log_softmax_backward,
                         lambda out: (1.0, -1.0 / _expsum_of(out).data)),
    "nll": Fused("cross_entropy", _nll_compute, _nll_backward, _nll_local_grads),
    "embed": Fused("embedding", _embed_compute, _embed_backward, _embed_local_grads),
}

# ---------------------------------------------------------------------------
# The functions that make them


def dot(ws, xs, bias=0.0):
    """bias + ws[0]*xs[0] + ws[1]*xs[1] + ... as ONE node, summed left to right
    exactly as micrograd's Neuron does with sum(generator, bias)."""
    ws = [_value_operand(w, "dot") for w in ws]
    xs = [_value_operand(x, "dot") for x in xs]
    if len(ws) != len(xs):
        raise checks.lengths_differ("dot", len(ws), "weights", len(xs), "inputs")
    children = ws + xs
    start = 0.0
    if isinstance(bias, Value):
        children.append(bias)
    else:
        start = checks.real_operand(bias, "dot bias")
    return make(FUSED["dot"], children, (len(ws), start))


def sum(values, start=0.0):  # noqa: A001 - mirrors builtins.sum's signature
    """start + values[0] + values[1] + ... as ONE node, left to right."""
    children = [_value_operand(v, "sum") for v in values]
    if isinstance(start, Value):
        return make(FUSED["sum"], [start] + children, None)
    return make(FUSED["sum"], children, checks.real_operand(start, "sum start"))


def dense(weights, biases, xs, relu):
    """A layer of neurons in one call: dot(w, xs, b) for each row w of weights
    and b of biases, relu'd if asked. Number inputs become leaves once."""
    if len(weights) != len(biases):
        raise checks.lengths_differ("dense", len(weights), "weight rows", len(biases), "biases")
    inputs = [x if isinstance(x, Value) else Value(checks.real_operand(x, "dense input")) for x in xs]
    out = []
    for j, (ws, b) in enumerate(zip(weights, biases)):
        if len(ws) != len(inputs):
            raise checks.weights_for_inputs(f"dense: neuron {j}", len(ws), len(inputs))
        if not isinstance(b, Value):
            raise checks.is_not(f"dense: bias {j}", b, "a Value")
        act = dot(ws, inputs, b)
        out.append(act.relu() if relu else act)
    return out


def linear(x, W):
    """[sum(w * xi for w, xi in zip(row, x)) for row in W], each row one dot
    node (no bias; the same bits as that code)."""
    if not isinstance(W, (list, tuple)):
        raise checks.must_be("linear: W", "a list of rows", W)
    inputs = [v if isinstance(v, Value) else Value(checks.real_operand(v, "linear input")) for v in x]
    for j, row in enumerate(W):
        if not isinstance(row, (list, tuple)):
            raise checks.is_not(f"linear: row {j} of W", row, "a list")
        if len(row) != len(inputs):
            raise checks.weights_for_inputs(f"linear: row {j} of W", len(row), len(inputs))
    return [make(FUSED["dot"], [_value_operand(w, "linear") for w in row] + inputs, (len(inputs), 0.0))
            for row in W]


def rmsnorm(x, eps=1e-5):
    """[xi * scale for xi in x], scale = (sum(xi * xi) / len(x) + eps) ** -0.5
    one node (microgpt's rmsnorm, the same bits)."""
    xs = _values_of(x, "rmsnorm")
    scale = make(FUSED["rms_scale"], xs, checks.real_operand(eps, "rmsnorm eps"))
    return [make(MUL, (v, scale)) for v in xs]


def softmax(logits):
    """[e / total for e in exps], exps = [(v - max_v).exp() ...], total =
    sum(exps): the same bits, with the max taken inside a shared expsum node
    (one node per output and that one)."""
    return _over_expsum(FUSED["softmax"], logits)


def log_softmax(logits):
    """[(v - max_v) - log(total) ...] as softmax builds it: one node per
    output and a shared expsum node."""
    return _over_expsum(FUSED["log_softmax"], logits)


def _over_expsum(rule, logits):
    xs = _values_of(logits, rule.name)
    recording = grad_enabled()
    set_grad_enabled(True)  # the outputs read the expsum's max: it must be made whole
    try:
        total = make(FUSED["expsum"], xs)
        outs = [make(rule, (v, total)) for v in xs]
    finally:
        set_grad_enabled(recording)
    return outs if recording else [forget_children(out) for out in outs]


def cross_entropy(logits, target):
    """-log_softmax(logits)[target] as one node. target is an int class index
    or a Value holding one: a tape replays the node with the Value's new data."""
    xs = _values_of(logits, "cross_entropy")
    t = _index_value(target, len(xs), "cross_entropy target")
    return make(FUSED["nll"], xs + [t])


def embedding(table, index):
    """table[int(index.data)] as one node per column, each over the whole
    column and the index, so a tape replays it with a new index; only the
    selected row gets a gradient."""
    if not isinstance(table, (list, tuple)):
        raise checks.must_be("embedding: the table", "a list of rows", table)
    rows = list(table)
    if not rows:
        raise checks.empty("embedding", "table")
    for r, row in enumerate(rows):
        if not isinstance(row, (list, tuple)):
            raise checks.is_not(f"embedding: row {r}", row, "a list of Values")
        if len(row) != len(rows[0]) or not row:
            raise checks.ragged_table(r, len(row), len(rows[0]))
        for v in row:
            if not isinstance(v, Value):
                raise checks.holds("embedding: the table", v, "a Value")
    i = _index_value(index, len(rows), "embedding")
    return [make(FUSED["embed"], [row[j] for row in rows] + [i]) for j in range(len(rows[0]))]


def _value_operand(x, where):
    """x as a Value: a number made a leaf."""
    if isinstance(x, Value):
        return x
    number = checks.real_number(x)
    if number is None:
        raise checks.expected(where, "Values or real numbers", x)
    return Value(number)


def _values_of(xs, where):
    """xs as a new non-empty list of Values, numbers made leaves."""
    out = [v if isinstance(v, Value) else Value(checks.real_operand(v, where)) for v in xs]
    if not out:
        raise checks.empty(where)
    return out


def _index_value(index, n, where):
    """index as a Value holding an integer in [0, n): a Value is checked, an
    int made a leaf."""
    if isinstance(index, Value):
        checks.index_of(index.data, n, where)
        return index
    return Value(float(checks.class_index(index, n, where)))
