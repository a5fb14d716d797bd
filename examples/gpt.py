"""A character-level GPT in the shape of Karpathy's microgpt.py (one layer, 16
wide, 4 heads, ~4,200 parameters), built from micrograd_fast's fused ops and
trained one name per Adam step, replayed from a tape per name length.

    pip install ".[examples]"
    python examples/gpt.py [--steps 1000] [--data FILE] [--eager] [--batch 16] [--plot PATH]

The names are the US census first names of the `names` package, or one per
line from --data FILE. --eager builds every step's graph anew instead of
replaying a tape: the same numbers, slower. --batch 16 makes each Adam step
one over 16 names of one length (the mean of their losses), from a batched
tape per length: the graph is still written for one name.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable
from typing import cast

import micrograd_fast as mf
from micrograd_fast import engine, optim

Matrix = list[list[mf.Value]]  # a weight matrix: rows of Values
Cache = list[list[list[mf.Value]]]  # per layer, the keys (or values) of each position so far


class GPT:
    """microgpt's model: token and position embeddings, rmsnorm, causal
    multi-head attention over the positions seen so far, a ReLU MLP, each
    with a residual, and a linear head to the next character's logits."""

    def __init__(self, vocab_size: int, n_embd: int = 16, n_head: int = 4, n_layer: int = 1,
                 block_size: int = 16, seed: int = 42):
        rng = random.Random(seed)

        def matrix(nout: int, nin: int, std: float = 0.08) -> Matrix:
            return [[mf.Value(rng.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]

        self.state = {"wte": matrix(vocab_size, n_embd), "wpe": matrix(block_size, n_embd)}
        for i in range(n_layer):
            for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
                self.state[f"layer{i}.{name}"] = matrix(n_embd, n_embd)
            self.state[f"layer{i}.mlp_fc1"] = matrix(4 * n_embd, n_embd)
            self.state[f"layer{i}.mlp_fc2"] = matrix(n_embd, 4 * n_embd)
        self.state["lm_head"] = matrix(vocab_size, n_embd)
        self.n_layer, self.n_head, self.block_size = n_layer, n_head, block_size

    def parameters(self) -> list[mf.Value]:
        return [p for rows in self.state.values() for row in rows for p in row]

    def step(self, token: mf.Value, pos: int, keys: Cache, values: Cache) -> list[mf.Value]:
        """The next token's logits after `token` (a Value holding its index)
        at position pos; keys and values gain this position's, per layer."""
        s = self.state
        x = [t + p for t, p in zip(mf.embedding(s["wte"], token), s["wpe"][pos])]
        x = mf.rmsnorm(x)
        head_dim = len(x) // self.n_head
        for i in range(self.n_layer):
            residual = x
            x = mf.rmsnorm(x)
            q = mf.linear(x, s[f"layer{i}.attn_wq"])
            keys[i].append(mf.linear(x, s[f"layer{i}.attn_wk"]))
            values[i].append(mf.linear(x, s[f"layer{i}.attn_wv"]))
            attended: list[mf.Value] = []
            for h in range(0, len(q), head_dim):
                scores = [mf.dot(q[h:h + head_dim], k[h:h + head_dim]) / head_dim**0.5 for k in keys[i]]
                weights = mf.softmax(scores)
                attended += [mf.dot(weights, [v[h + j] for v in values[i]]) for j in range(head_dim)]
            x = [a + b for a, b in zip(mf.linear(attended, s[f"layer{i}.attn_wo"]), residual)]
            residual = x
            x = [xi.relu() for xi in mf.linear(mf.rmsnorm(x), s[f"layer{i}.mlp_fc1"])]
            x = [a + b for a, b in zip(mf.linear(x, s[f"layer{i}.mlp_fc2"]), residual)]
        return mf.linear(x, s["lm_head"])

    def loss(self, tokens: list[mf.Value]) -> mf.Value:
        """The mean cross-entropy of each next token of a document; tokens
        are Values holding indices, so a tape of this graph replays any
        document of the same length."""
        n = len(tokens) - 1
        keys: Cache = [[] for _ in range(self.n_layer)]
        values: Cache = [[] for _ in range(self.n_layer)]
        losses = [mf.cross_entropy(self.step(tokens[pos], pos, keys, values), tokens[pos + 1])
                  for pos in range(n)]
        return (1 / n) * mf.sum(losses)

    def sample(self, bos: int, temperature: float = 0.5, *, rng: random.Random) -> list[int]:
        """One document, a character at a time, until BOS comes back."""
        keys: Cache = [[] for _ in range(self.n_layer)]
        values: Cache = [[] for _ in range(self.n_layer)]
        token = bos
        out: list[int] = []
        with mf.no_grad():
            for pos in range(self.block_size):
                logits = self.step(mf.Value(token), pos, keys, values)
                probs = mf.softmax([v / temperature for v in logits])
                token = rng.choices(range(len(probs)), weights=[p.data for p in probs])[0]
                if token == bos:
                    break
                out.append(token)
        return out


def load_names(path: str | None = None) -> list[str]:
    if path:
        with open(path) as f:
            return [line.strip() for line in f if line.strip()]
    import names  # pip install names: the US census first names

    found = []
    for kind in ("first:female", "first:male"):
        with open(names.FILES[kind]) as f:
            found += [line.split()[0].lower() for line in f if line.strip()]
    return sorted(set(found))


def batches_by_length(docs: list[list[int]], size: int, rng: random.Random) -> list[list[list[int]]]:
    """The token lists grouped by length (a batched tape replays one
    structure), cut into batches of at most `size`, the batches shuffled."""
    by_length: dict[int, list[list[int]]] = {}
    for doc in docs:
        by_length.setdefault(len(doc), []).append(doc)
    batches = [group[i:i + size] for group in by_length.values() for i in range(0, len(group), size)]
    rng.shuffle(batches)
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__ and __doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--data", metavar="FILE", help="one document (name) per line")
    parser.add_argument("--eager", action="store_true", help="build each step's graph instead of replaying a tape")
    parser.add_argument("--batch", type=int, default=1, metavar="B",
                        help="names of one length per Adam step, from a batched tape (default 1: a name a step)")
    parser.add_argument("--plot", metavar="PATH", default="gpt_loss.png", help="the loss curve (PNG)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.batch < 1 or (args.batch > 1 and args.eager):
        parser.error("--batch must be at least 1, and --eager trains one name a step")

    docs = load_names(args.data)
    random.Random(args.seed).shuffle(docs)
    chars = sorted(set("".join(docs)))
    bos = len(chars)  # the token that starts and ends every document
    model = GPT(len(chars) + 1, seed=args.seed)
    opt = optim.Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99), eps=1e-8)
    # each name as tokens, BOS on both sides, cut to the model's context
    tokenized = [([bos] + [chars.index(ch) for ch in doc] + [bos])[:model.block_size + 1] for doc in docs]
    batches = batches_by_length(tokenized, args.batch, random.Random(args.seed))

    # the graph for documents of n - 1 characters: n + 1 token Values
    def build(n: int) -> tuple[mf.Value, list[mf.Value]]:
        tokens = [mf.Value(0.0) for _ in range(n + 1)]
        return model.loss(tokens), tokens
    tapes = mf.TapeCache(build, batch=args.batch > 1)

    bar: Iterable[int]
    try:
        from tqdm import trange
        bar = trange(args.steps)
    except ImportError:
        bar = range(args.steps)
    losses: list[float] = []
    for step in bar:
        if args.batch > 1:  # one replay of the length's tape over every name in the batch
            batch = batches[step % len(batches)]
            tape = cast("engine.BatchTape", tapes[len(batch[0]) - 1].tape)
            losses.append(float(tape.forward(batch).mean()))
            tape.backward("mean")
        elif args.eager:
            doc = tokenized[step % len(tokenized)]
            loss = model.loss([mf.Value(t) for t in doc])
            loss.backward()
            losses.append(loss.data)
        else:
            doc = tokenized[step % len(tokenized)]
            graph = tapes[len(doc) - 1]
            mf.assign(graph.inputs, doc)
            losses.append(cast("engine.Tape", graph.tape).forward())
            graph.tape.backward()
        opt.lr = 0.01 * (1 - step / args.steps)  # microgpt's linear decay
        opt.step()
        opt.zero_grad()
        if hasattr(bar, "set_postfix") and step % 50 == 0:
            bar.set_postfix(loss=f"{sum(losses[-50:]) / len(losses[-50:]):.3f}")

    print(f"loss: first 50 steps {sum(losses[:50]) / len(losses[:50]):.3f}, "
          f"last 50 {sum(losses[-50:]) / len(losses[-50:]):.3f}")
    if args.plot:
        from micrograd_fast import viz

        viz.plot_losses(losses, path=args.plot, ylabel="cross-entropy per token (nats)")
        print(f"loss curve: {args.plot}")
    rng = random.Random(args.seed)
    print("sampled names:", ", ".join("".join(chars[t] for t in model.sample(bos, rng=rng)) for _ in range(20)))


if __name__ == "__main__":
    main()
