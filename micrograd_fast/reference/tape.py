"""The tape: a graph's topological order, recorded once and replayed over
the same Value objects (src/tape.pxi replays it in C); and assign, which
feeds a tape's inputs."""

import contextlib

from .. import batch_checks, checks
from .value import Value, chain_rule, topo_order


class Tape:
    """Replays root's graph over the same Value objects: forward() recomputes
    interior nodes from the leaves' current data, backward() is root.backward()
    on a freshly built graph. The structure is fixed when recorded: code whose
    graph shape depends on the data must compile again."""

    def __init__(self, root):
        if not isinstance(root, Value):
            raise checks.expected("compile", "a Value", root)
        self._order = topo_order(root)
        for v in self._order:
            if v._user_backward is not None or (v._rule is None and v._children):
                raise checks.custom_op_on_tape(v._op)
        self._rules = [v._rule for v in self._order]  # each node's op when recorded
        self.leaves = [v for v in self._order if not v._children]

    def _check_unchanged(self):
        """A node given a _backward since (a custom op now) has no forward."""
        for v, rule in zip(self._order, self._rules):
            if v._rule is not rule or v._user_backward is not None:
                raise checks.tape_changed()

    def forward(self):
        """Recomputes every interior node from the leaves' current data;
        returns the root's new data. All or nothing: after an error every
        node holds the data it had."""
        self._check_unchanged()
        with _put_back_on_error(self._order, "data"):
            for v in self._order:
                if v._rule is not None:
                    v._rule.compute(v)
        return self._order[-1].data

    def backward(self):
        """The root's backward() as on a freshly built graph: interior grads
        restart from 0, leaves accumulate. All or nothing, as forward()."""
        self._check_unchanged()
        with _put_back_on_error(self._order, "grad"):
            for v in self._order:
                if v._children:
                    v.grad = 0.0
            self._order[-1].grad = 1.0
            for v in reversed(self._order):
                chain_rule(v)

    def evaluate(self, inputs, X, outputs):
        """Runs forward once per row of X (shape (n, len(inputs))), writing the
        row into the inputs' data; returns the outputs' data, (n, len(outputs)).
        Every node's data is as it was before, on success and on error."""
        import numpy as np

        inputs, outputs = list(inputs), list(outputs)
        for v in inputs + outputs:
            if not isinstance(v, Value):
                raise checks.must_be("evaluate: inputs and outputs", "Values", v)
        rows = np.ascontiguousarray(X, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(inputs):
            raise checks.rows_shape(len(inputs), rows.shape)
        result = np.empty((rows.shape[0], len(outputs)))
        touched = inputs + self._order  # every Value a row writes
        before = [v.data for v in touched]
        try:
            for r, row in enumerate(rows.tolist()):
                for v, x in zip(inputs, row):
                    v.data = x
                self.forward()
                result[r] = [v.data for v in outputs]
        finally:
            for v, x in zip(touched, before):
                v.data = x
        return result

    def __len__(self):
        return len(self._order)

    def __repr__(self):
        return f"<Tape of {len(self._order)} nodes, {len(self.leaves)} leaves>"


def compile(root, batch=None, threads=None):  # noqa: A001 - the public name, micrograd_fast.compile
    """Records root's graph for replay: a Tape, or with batch (the leaves
    that vary per example) a BatchTape replayed over many rows at once."""
    if batch is None:
        if threads is not None:
            raise batch_checks.threads_without_batch()
        return Tape(root)
    from .batch_tape import BatchTape  # it builds on Tape: imported here, not in a cycle

    return BatchTape(root, batch, threads)


def assign(values, data):
    """Writes data (a numpy array or a sequence of numbers) into the .data of
    values (a list, or nested list, of Values), in row-major order. Checks
    everything first: on an error no Value has changed."""
    targets = _flatten(values, lambda v: isinstance(v, Value), "Values (or lists of them)")
    if hasattr(data, "ravel") and hasattr(data, "dtype"):
        numbers = data.ravel().tolist()
    else:
        numbers = _flatten(data, lambda x: not isinstance(x, (list, tuple)), "numbers")
    if len(numbers) != len(targets):
        raise checks.lengths_differ("assign", len(targets), "Values", len(numbers), "numbers")
    floats = [checks.real_data(x, "assign: each item of data") for x in numbers]
    for v, x in zip(targets, floats):
        v.data = x


MAX_NESTING = 64  # numpy's limit on dimensions, as the compiled engine's assign


def _flatten(nested, is_item, what):
    """nested's items, depth first, left to right. Nesting past MAX_NESTING
    levels is refused with a ValueError, as numpy refuses it: that is also
    how a list that contains itself shows, which would never end."""
    out = []

    def walk(item, depth):
        if is_item(item):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            if depth == MAX_NESTING:
                raise checks.nested_too_deep("assign", MAX_NESTING)
            for x in item:
                walk(x, depth + 1)
        else:
            raise checks.expected("assign", what, item)

    walk(nested, 0)
    return out


@contextlib.contextmanager
def _put_back_on_error(nodes, field):
    """Each node's data (or grad) as it was, after any exception in the block."""
    before = [getattr(v, field) for v in nodes]
    try:
        yield
    except BaseException:
        for v, x in zip(nodes, before):
            setattr(v, field, x)
        raise
