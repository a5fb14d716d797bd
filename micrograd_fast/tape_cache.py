"""Tapes that follow the data: one compiled tape per graph structure.

A tape replays the structure it recorded. When the structure depends on the
data only through something small, such as a GPT's sequence length, keep
one tape per value of it, and feed each new example into the tape's input
Values with micrograd_fast.assign:

    def build(n):                       # the graph for a document of n tokens
        tokens = [mf.Value(0.0) for _ in range(n + 1)]
        return model.loss(tokens), tokens

    tapes = mf.TapeCache(build)
    for doc in docs:
        graph = tapes[len(doc) - 1]     # compiled on first use, then reused
        mf.assign(graph.inputs, doc)    # the token indices, as numbers
        loss = graph.tape.forward()
        opt.zero_grad()
        graph.tape.backward()
        opt.step()

Replaying equals building the graph again eagerly with the same numbers, as
long as everything that varies between examples reaches the graph as the
data of its input Values: token indices through embedding, targets through
cross_entropy, maxima taken inside softmax's nodes.

With batch=True each key's graph is a batched tape over the inputs build
returned (flattened, in assign's order: X's columns), so one replay runs
every example of that key, such as all the names of one length:

    tapes = mf.TapeCache(build, batch=True)
    for n, docs in by_length.items():   # docs: an array, one row per document
        graph = tapes[n - 1]
        losses = graph.tape.forward(docs)   # each document's loss
        opt.zero_grad()
        graph.tape.backward()           # the gradient of their mean
        opt.step()
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from . import batch_checks, engine


class CompiledGraph(NamedTuple):
    """A built graph's root and input Values, and its tape (a BatchTape
    over the inputs, flattened, when the cache is batched)."""

    tape: engine.Tape | engine.BatchTape
    root: engine.Value
    inputs: Any  # what build returned with the root: Values, or lists of them


class TapeCache:
    """key -> CompiledGraph, each built by build(key) -> (root, inputs) and
    compiled on first use. At most max_size graphs are kept (each holds its
    nodes); the least recently used goes first. batch=True compiles each
    with batch=the inputs flattened, on threads threads (see compile)."""

    def __init__(self, build: Callable[[Any], tuple[engine.Value, Any]], max_size: int = 64,
                 batch: bool = False, threads: int | None = None):
        if not callable(build):
            raise TypeError(f"TapeCache: build must be callable, not {type(build).__name__}")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise ValueError(f"TapeCache: max_size must be a positive int, not {max_size!r}")
        if not isinstance(batch, bool):
            raise TypeError(f"TapeCache: batch must be True or False, not {type(batch).__name__}")
        if threads is not None:  # refused now, not at the first key
            if not batch:
                raise batch_checks.threads_without_batch()
            batch_checks.thread_count(threads)
        self.build = build
        self.max_size = max_size
        self.batch = batch
        self.threads = threads
        self._graphs: collections.OrderedDict[Hashable, CompiledGraph] = collections.OrderedDict()

    def __getitem__(self, key: Hashable) -> CompiledGraph:
        graph = self._graphs.get(key)
        if graph is None:
            graph = self._compile(key)
            self._graphs[key] = graph
            if len(self._graphs) > self.max_size:
                self._graphs.popitem(last=False)
        else:
            self._graphs.move_to_end(key)
        return graph

    def _compile(self, key: Hashable) -> CompiledGraph:
        built = self.build(key)
        if not isinstance(built, tuple) or len(built) != 2:
            raise TypeError(f"TapeCache: build({key!r}) must return (root, inputs), "
                            f"not {type(built).__name__}")
        root, inputs = built
        kernels = engine.engine_of(root)
        if kernels is None:
            raise TypeError(f"TapeCache: build({key!r}) returned a {type(root).__name__} as its root, "
                            "not a Value")
        if not self.batch:
            return CompiledGraph(kernels.compile(root), root, inputs)
        tape = kernels.compile(root, batch=_flattened(inputs), threads=self.threads)
        return CompiledGraph(tape, root, inputs)

    def __contains__(self, key: object) -> bool:
        return key in self._graphs

    def __len__(self) -> int:
        return len(self._graphs)

    def clear(self) -> None:
        self._graphs.clear()

    def __repr__(self) -> str:
        kind = "batched tapes" if self.batch else "tapes"
        return f"<TapeCache of {len(self._graphs)} {kind}, keys {list(self._graphs)}>"


def _flattened(inputs: Any) -> list[Any]:
    """inputs (a Value, or nested lists and tuples of them) as one list,
    depth first, left to right: assign's order, and so X's columns. What is
    not a list is left for compile to check; a list that contains itself is
    refused rather than walked forever."""
    flat: list[Any] = []
    stack = [iter([inputs])]
    open_lists: list[int] = []  # ids of the lists being walked
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            if open_lists:
                open_lists.pop()
        elif isinstance(item, (list, tuple)):
            if id(item) in open_lists:
                raise ValueError("TapeCache: the inputs build returned contain themselves")
            open_lists.append(id(item))
            stack.append(iter(item))
        else:
            flat.append(item)
    return flat


_END = object()
