"""grad(outputs, inputs): PyTorch's torch.autograd.grad over Values.

backward() leaves d root / d node in every node's .grad; grad returns
d outputs / d input for the inputs asked about and reads and writes no .grad:
the adjoints (each node's d outputs / d node) live in a dict by node id. The
order is backward()'s: one reverse sweep over the nodes, children before
parents, sorted with topo_order's explicit stack (deep graphs work).

- create_graph=False: the adjoints are numbers, and each node's rule runs
  its own backward() code on a stand-in (Adjoint) whose .grad is the
  adjoint: so one output seeded 1.0 gives backward()'s numbers bit for bit.
- create_graph=True: the adjoints are Values, the chain rule applied with
  the engine's own ops, so a derivative is a graph that can be
  differentiated again, taped, drawn and used in a loss. An elementwise
  op's local derivatives are its ops.py row's `local`, called on the nodes
  instead of their numbers; the fused ops' are GRAPH_TERMS below. Each
  adjoint sums its terms in backward()'s order (0.0 + t1 + t2 ...), so its
  data are the numbers' bit for bit where the expressions are the same ops.

Only nodes from which an input can be reached are swept: no other node's
adjoint can reach an input.

A derivative graph is data-independent where the forward is: a softmax's
max, a cross_entropy target and an embedding row stay data (see the fused
rules below), so a tape of the derivative replays right on new data. So do the kinks:
relu's slope is a step node over its output and abs's a sign node over its
input (ops whose own slope is 0, PyTorch's second derivative), so a tape of
a derivative through them is right when an input changes sign. A branch
of an elementwise local still taken on the numbers (x ** 0, a base of 0,
sqrt at 0) is a constant of the derivative graph, as PyTorch's is; a tape
of it replays right while each such input stays on its side of the branch.
With replayable=False (hessian's and hvp's, which sweep the graph once, here)
those slopes are this point's numbers instead, and a zero one drops its term
(a dead unit's whole branch): the same derivatives from a smaller graph.
"""

import math

from .. import grad_checks, second_order
from .fused import FUSED, _dot_split, _embed_row, _expsum_of, _nll_target, dot, embedding
from .fused import sum as sum_node  # one node over many: the engine's sum
from .ops import UNARY, Op, float_pow
from .value import Value, grad_enabled, topo_order


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False, *, replayable=True):
    """For each input, the sum over outputs of grad_output * d output /
    d input: a list of fresh leaf Values (create_graph=False) or of nodes
    made of the engine's ops (create_graph=True); None for an input no
    output reaches if allow_unused, else ValueError. replayable=False: the
    kinks' slopes as numbers (the module's docstring)."""
    outs, ins, seeds = grad_checks.arguments(outputs, inputs, grad_outputs, Value)
    if not grad_enabled():
        create_graph = False  # PyTorch's: under no_grad the result records no graph
    topo = _topo_order_of(outs)
    reached = {id(v) for v in topo}
    for i, x in enumerate(ins):
        if id(x) not in reached and not allow_unused:
            raise grad_checks.unused_input(i)
    swept = _reaching(topo, {id(x) for x in ins}, create_graph)
    if create_graph:
        adjoints = _graph_sweep(swept, outs, seeds, {id(x) for x in ins}, replayable)
    else:
        adjoints = _number_sweep(swept, outs, seeds, {id(x) for x in ins})
    result = []
    for x in ins:
        if id(x) not in reached:
            result.append(None)
        else:
            a = adjoints[id(x)]
            # a number: a fresh leaf; a node of the graph (the slope c of
            # c * 1.0, not built): a node of its own, as the compiled engine's
            result.append(Value(a) if not isinstance(a, Value) else a * 1.0 if id(a) in reached else a)
    return result


def hessian_vector_product(output, inputs, vector):
    """The Hessian of output over inputs times vector (checked floats): by
    its definition, the gradient of dot(grad(output, inputs), vector)."""
    return second_order.hvp_by_graphs(grad, dot, output, inputs, vector)


def _topo_order_of(outs):
    """Every node reachable from the outputs, children first: backward()'s
    order for one output (topo_order itself); for several, topo_order of a
    node over them all, without that node."""
    if len(outs) == 1:
        return topo_order(outs[0])
    return topo_order(Value(0.0, outs))[:-1]


def _reaching(topo, input_ids, create_graph):
    """The nodes of topo (in its order) from which an input is reached,
    after refusing a custom op among them: a micrograd-style _backward
    writes .grad, so grad cannot use it; microgpt's numbers-only local
    grads have no graph to build with create_graph."""
    leads, swept = set(), []
    for v in topo:
        if id(v) in input_ids or any(id(c) in leads for c in v._children):
            if v._user_backward is not None:
                raise grad_checks.custom_op(v._op)
            if create_graph and v._rule is None and v._children and v._arg is not None:
                raise grad_checks.numbers_only(v._op)
            leads.add(id(v))
            swept.append(v)
    return swept


# ---------------------------------------------------------------------------
# create_graph=False: backward() itself, on stand-ins


class Adjoint:
    """A node as its rule's backward code reads it (data, constants, saved
    values, children), with a grad of its own: the adjoint. The children are
    the children's stand-ins, so the rule writes their adjoints."""

    __slots__ = ("node", "grad", "_children")

    def __init__(self, node, children):
        self.node, self.grad, self._children = node, 0.0, children

    data = property(lambda self: self.node.data)
    _arg = property(lambda self: self.node._arg)
    _saved = property(lambda self: self.node._saved)
    _rule = property(lambda self: self.node._rule)


def _number_sweep(swept, outs, seeds, input_ids):
    stand_in = {}
    for v in swept:  # children first, so each child's stand-in exists
        stand_in[id(v)] = Adjoint(v, tuple(stand_in.get(id(c)) or Adjoint(c, ()) for c in v._children))
    for out, seed in zip(outs, seeds):
        if id(out) in stand_in:
            stand_in[id(out)].grad += seed.data if isinstance(seed, Value) else seed
    for v in reversed(swept):
        a = stand_in[id(v)]
        if v._rule is not None:
            v._rule.backward(a)
        elif v._arg is not None:  # microgpt's local grads, as chain_rule applies them
            for child, local in zip(a._children, v._arg):
                child.grad += local * a.grad
    return {i: stand_in[i].grad for i in input_ids if i in stand_in}


# ---------------------------------------------------------------------------
# create_graph=True: the chain rule with the engine's ops


def _graph_sweep(swept, outs, seeds, input_ids, replayable):
    terms = {}  # node id -> its adjoint's terms, in the order backward() adds them
    for out, seed in zip(outs, seeds):
        terms.setdefault(id(out), []).append(seed)
    leads = {id(v) for v in swept}
    adjoints, memo = {}, {}
    for v in reversed(swept):
        g = _added(terms.pop(id(v), ()))
        if id(v) in input_ids:
            adjoints[id(v)] = g
        if not v._children:
            continue
        for child, term in _terms(v, g, memo, leads, replayable):
            if id(child) in leads:
                terms.setdefault(id(child), []).append(term)
    return adjoints


def _added(terms):
    """0.0 + t1 + t2 + ...: a number while every term is one, else one sum
    node (its forward adds in that order); a single Value term is itself."""
    if len(terms) == 1 and isinstance(terms[0], Value):
        return terms[0]
    if any(isinstance(t, Value) for t in terms):
        return sum_node(terms, 0.0)
    total = 0.0
    for t in terms:
        total = total + t
    return total


_STEP, _SIGN = UNARY["step"], UNARY["sign"]  # relu's and abs's slopes


def _is_number(local, c):
    """local is the float c (+0.0 for 0: -0.0 * g is not nothing)"""
    return type(local) is float and local == c and math.copysign(1.0, local) == math.copysign(1.0, c)


def _times(local, g):
    """local * g, but 1.0 * g is g and local * 1.0 is local, bit for bit: no
    node for add's slopes, nor for the slopes times the default seed 1.0"""
    return g if _is_number(local, 1.0) else local if _is_number(g, 1.0) else local * g


def _terms(out, g, memo, leads, replayable=True):
    """(child, local * g) for each child, as out's rule's backward adds them;
    those of children that lead to no input need not be built (the commonest:
    a model's weights when differentiating by its inputs). replayable=False:
    a kink's slope is its number now, and a 0.0 slope's term is not built."""
    rule = out._rule
    if isinstance(rule, Op):
        locals_ = rule.local(*out._children, *out._arg, out)
        if not replayable:
            locals_ = [local.data if isinstance(local, Value) and (local._rule is _STEP or local._rule is _SIGN)
                       else local for local in locals_]
        return [(child, _times(local, g))
                for child, local in zip(out._children, locals_)
                if id(child) in leads and (replayable or not _is_number(local, 0.0))]
    if rule is None:
        return []  # a node made by Value(data, children) with no rule: no slope, as in backward()
    return GRAPH_TERMS[FUSED_ID[rule]](out, g, memo, leads)


# ---------------------------------------------------------------------------
# The fused ops' derivatives as graphs: each mirrors its _backward in
# fused.py, node for node, so the data are the same numbers. What a forward
# saved (a max, a mean square, a sum of exps) is rebuilt from the children
# as nodes, so the derivative depends on them; a max is a constant (the
# softmax family does not depend on it, and every node that reads it is
# rebuilt here with the same one, so a tape of the derivative stays right
# on new data). A row picked by an index Value is picked by an embedding
# node over that index, so a tape of the derivative picks the new row.


def _dot_terms(out, g, memo, leads):
    ws, xs, bias = _dot_split(out)
    terms = []
    for w, x in zip(ws, xs):
        if id(w) in leads:
            terms.append((w, _times(x, g)))
        if id(x) in leads:
            terms.append((x, _times(w, g)))
    return terms + [(b, g) for b in bias]


def _sum_terms(out, g, memo, leads):
    return [(v, g) for v in out._children]


def _rms_terms(out, g, memo, leads):
    xs = out._children
    mean_square = sum_node([x * x for x in xs], 0.0) * float_pow(len(xs), -1)
    a = (-0.5 * (mean_square + out._arg) ** -1.5) * g
    a = float_pow(len(xs), -1) * a
    terms = []
    for x in xs:
        terms += [(x, x * a), (x, x * a)]  # x * x: once for each factor
    return terms


def _exps(values, shift, memo, key):
    """[(v - shift).exp() ...] and their sum 0.0 + e0 + e1 ..., as nodes,
    made once per sweep for the node key."""
    if key not in memo:
        exps = [(v + (-shift)).exp() for v in values]
        memo[key] = exps, sum_node(exps, 0.0)
    return memo[key]


def _expsum_terms(out, g, memo, leads):
    exps, _ = _exps(out._children, out._saved, memo, id(out))
    return [(v, e * g) for v, e in zip(out._children, exps)]


def _softmax_terms(out, g, memo, leads):
    x, total = out._children[0], _expsum_of(out)
    _, rebuilt = _exps(total._children, total._saved, memo, id(total))
    e = (x + (-total._saved)).exp()
    return [(x, e * (rebuilt**-1 * g)), (total, (-1.0 * rebuilt**-2) * (e * g))]


def _log_softmax_terms(out, g, memo, leads):
    x, total = out._children[0], _expsum_of(out)
    _, rebuilt = _exps(total._children, total._saved, memo, id(total))
    return [(x, g), (total, (-1.0 * g) / rebuilt)]


def _nll_terms(out, g, memo, leads):
    logits, _ = _nll_target(out)
    exps, total = _exps(logits, out._saved[0], memo, id(out))
    a = g / total
    terms = [(v, e * a) for v, e in zip(logits, exps)]
    minus_g = _as_value(-1.0 * g)
    picked = _one_hot_times(minus_g, out._children[-1], len(logits), memo)
    return terms + list(zip(logits, picked))


def _embed_terms(out, g, memo, leads):
    column, _ = _embed_row(out)
    return list(zip(column, _one_hot_times(_as_value(g), out._children[-1], len(column), memo)))


def _one_hot_times(g, index, n, memo):
    """[g if index picks row j else 0.0 for j in range(n)], each an embedding
    node over index: the term of row j, whichever row the index holds."""
    zero = memo.setdefault("zero", Value(0.0))
    table = [[g if j == k else zero for j in range(n)] for k in range(n)]
    return embedding(table, index)


def _as_value(x):
    return x if isinstance(x, Value) else Value(x)


GRAPH_TERMS = {
    "dot": _dot_terms, "sum": _sum_terms, "rms_scale": _rms_terms, "expsum": _expsum_terms,
    "softmax": _softmax_terms, "log_softmax": _log_softmax_terms, "nll": _nll_terms,
    "embed": _embed_terms,
}
FUSED_ID = {rule: op_id for op_id, rule in FUSED.items()}
if set(GRAPH_TERMS) != set(FUSED):  # no silent default: a new fused op needs its rule here
    raise ImportError(f"derivatives.py has no graph rule for {sorted(set(FUSED) - set(GRAPH_TERMS))}")
