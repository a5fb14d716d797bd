"""The batched tape, as the oracle: compile(root, batch=inputs) replays the
scalar Tape once per row of X (src/batch_tape.pxi does the same work over
flat arrays, many rows at a time, and is tested against this).

The inputs are the leaves that vary per example (features, targets, token
indices), X's columns in their order; every other leaf of the graph
(parameters, constants) is shared by the batch and read when forward runs.
No call leaves a Value's .data changed; backward only adds to the shared
leaves' .grad, as backward() does for leaves, so optimizers work unchanged.
"""

from .. import batch_checks, checks
from .tape import Tape
from .value import Value


class BatchTape:
    """root's graph, replayed over a batch of examples: see the module."""

    def __init__(self, root, batch, threads=None):
        self._tape = Tape(root)  # checks root, refuses custom ops
        self.inputs = batch_checks.inputs_list(batch, Value)
        for i, v in enumerate(self.inputs):
            if v._children or v._rule is not None:  # a node the replay computes (sum([]) has no children)
                raise batch_checks.not_a_leaf_input(i, v._op)
        self.threads = batch_checks.thread_count(threads)  # kept for the API: this replay is one thread
        self.root = root
        is_input = {id(v) for v in self.inputs}
        self._shared = [v for v in self._tape.leaves if id(v) not in is_input]
        self._on_tape = {id(v) for v in self._tape._order}
        # every Value a replay writes: the nodes, and inputs the root never reaches
        self._touched = self._tape._order + [v for v in self.inputs if id(v) not in self._on_tape]
        self._last = None  # (rows, shared leaves' data) of the last successful forward

    def forward(self, X):
        """The root's value for each row of X, a float64 array of shape (B,),
        row r what the scalar tape gives after writing row r to the inputs."""
        self._last = None  # a failed forward leaves nothing for backward
        self._tape._check_unchanged()
        rows = batch_checks.rows(X, len(self.inputs), "forward").tolist()
        roots = self._replay(rows, lambda: [self._tape.forward()])
        self._last = (rows, [v.data for v in self._shared])  # backward differentiates at these
        return _array(roots).reshape(len(rows))

    def evaluate(self, X, outputs):
        """outputs' values (recorded nodes) for each row of X, shape
        (B, len(outputs)); forward only: what backward will use is kept."""
        if not isinstance(outputs, (list, tuple)):
            raise checks.must_be("evaluate: outputs", "a list of Values", outputs)
        for i, v in enumerate(outputs):
            if not isinstance(v, Value):
                raise checks.holds("evaluate: outputs", v, "a Value")
            if id(v) not in self._on_tape:
                raise batch_checks.not_on_tape(i)
        self._tape._check_unchanged()
        rows = batch_checks.rows(X, len(self.inputs), "evaluate").tolist()

        def one_row():
            self._tape.forward()
            return [v.data for v in outputs]

        return _array(self._replay(rows, one_row)).reshape(len(rows), len(outputs))

    def backward(self, reduction="mean"):
        """Adds the gradient of the mean (or "sum") of the last forward's
        roots to each shared leaf's .grad: each row's gradient from the
        scalar tape, summed in row order. Nothing changes on an error."""
        reduction = batch_checks.reduction_kind(reduction)
        if self._last is None:
            raise batch_checks.no_forward_yet()
        self._tape._check_unchanged()
        rows, shared_data = self._last
        leaves = self._tape.leaves
        totals = [0.0] * len(self._shared)

        def one_row():
            self._tape.forward()
            for v in leaves:  # each row's gradient on its own, from 0
                v.grad = 0.0
            self._tape.backward()
            for k, v in enumerate(self._shared):
                totals[k] = totals[k] + v.grad
            return ()

        grads_before = [v.grad for v in self._touched]
        data_before = [v.data for v in self._shared]
        try:
            for v, x in zip(self._shared, shared_data):  # the values forward saw
                v.data = x
            self._replay(rows, one_row)
        finally:
            for v, g in zip(self._touched, grads_before):
                v.grad = g
            for v, x in zip(self._shared, data_before):
                v.data = x
        for v, total in zip(self._shared, totals):
            v.grad += total / len(rows) if reduction == "mean" else total

    def _replay(self, rows, each):
        """each() after writing each row to the inputs, its results
        concatenated; every .data is put back afterwards, and an error is
        raised as the lowest failing row's (rows run in order)."""
        data_before = [v.data for v in self._touched]
        results = []
        try:
            for r, row in enumerate(rows):
                for v, x in zip(self.inputs, row):
                    v.data = x
                try:
                    results.extend(each())
                except Exception as exc:  # not KeyboardInterrupt: that stops the batch as it is
                    named = batch_checks.in_row(r, exc)
                    if named is exc:
                        raise
                    raise named from exc
        finally:
            for v, x in zip(self._touched, data_before):
                v.data = x
        return results

    def __len__(self):
        return len(self._tape)

    def __repr__(self):
        return f"<BatchTape of {len(self._tape)} nodes, {len(self.inputs)} inputs, {self.threads} threads>"


def _array(numbers):
    import numpy as np  # only batched tapes need numpy

    return np.array(numbers, dtype=np.float64)

