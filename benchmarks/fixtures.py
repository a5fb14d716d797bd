"""The programs the benchmark times, as their authors write them:
micrograd's demo (the moons, its model, its loss, update and training step,
written as its notebook writes them), micrograd's own nn.py over any Value
class, and a microgpt-shaped GPT written out with plain Value ops, with the
same GPT in PyTorch.

Their one home: the tests (tests/fixtures.py) and tools/memcheck_loop.py load
this file by its path, so they check the very code the benchmark times. They
are not part of the package (a user of the library never needs them); numpy,
micrograd and torch are imported only where used, so that the rest runs where
those cannot (tools/memcheck_loop.py under valgrind).
"""

import inspect
import math
import random

from micrograd_fast import losses, nn

SEED = 1337  # micrograd's demo seeds its weights so


def moons(n=100, seed=0):
    """micrograd demo's data: n points as lists of two floats, and labels in
    {-1, +1} as lists of ints (the demo's hinge loss takes these)."""
    from micrograd_fast.datasets import make_moons  # numpy: imported only here

    X, y01 = make_moons(n, noise=0.1, seed=seed)
    return X.tolist(), (2 * y01 - 1).tolist()


def moons_model(nouts=(16, 16, 1)):
    """micrograd_fast.nn.MLP(2, nouts) with the demo's seeded weights, made by
    the live engine."""
    random.seed(SEED)
    return nn.MLP(2, list(nouts))


def demo_loss(model, inputs, y):
    """micrograd demo.ipynb's loss, written as the notebook writes it (SVM
    max-margin loss and L2, in plain ops) on inputs already made Values."""
    scores = list(map(model, inputs))
    losses_ = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses_) * (1.0 / len(losses_))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    return data_loss + reg_loss


def demo_update(model, k=0):
    """The demo's SGD update at step k (the rate decays from 1.0)."""
    learning_rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= learning_rate * p.grad


def demo_step(Value, model, X, y, k=0):
    """One step of micrograd's demo.ipynb, written as the notebook writes it
    (SVM max-margin loss, L2, SGD with a decaying rate); returns the loss."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    total_loss = demo_loss(model, inputs, y)
    model.zero_grad()
    total_loss.backward()
    demo_update(model, k)
    return total_loss.data


def moons_loss(kernels, model, inputs, y):
    """The demo's loss on fused nodes (hinge, and L2 as one dot node); the
    kernels are an engine module's (its dot)."""
    params = model.parameters()
    return losses.hinge([model(row) for row in inputs], y) + 1e-4 * kernels.dot(params, params)


def micrograd_nn_over(Value):
    """micrograd's own nn.py (the installed micrograd 0.1.0) with only its
    Value swapped for this one: the drop-in promise. Returns its namespace
    (Module, Neuron, Layer, MLP)."""
    import micrograd.nn as upstream_nn

    source = inspect.getsource(upstream_nn).replace("from micrograd.engine import Value\n", "")
    namespace = {"Value": Value, "__name__": f"micrograd_nn_over_{Value.__module__}"}
    exec(compile(source, "micrograd/nn.py", "exec"), namespace)
    return namespace


def micrograd_model(Value, nouts=(16, 16, 1)):
    """micrograd's own MLP(2, nouts) over Value, with the demo's seed."""
    random.seed(SEED)
    return micrograd_nn_over(Value)["MLP"](2, list(nouts))


# --- a microgpt-shaped program: a character-level GPT written out with plain
# Value ops, as Karpathy's microgpt.py writes one (embedding rows, rmsnorm,
# multi-head attention over a growing KV list, a ReLU MLP, softmax with the
# max taken from .data, -log p loss, Adam written out). The same program runs
# on any Value class; SlottedValue below is the pure-Python Value of that
# style, the baseline a drop-in Value is measured against.


class SlottedValue:
    """A pure-Python Value in microgpt's style: four slots, each op storing
    its children and their local gradients, backward applying them."""

    __slots__ = ("data", "grad", "_children", "_local_grads")

    def __init__(self, data, children=(), local_grads=()):
        self.data = data
        self.grad = 0
        self._children = children
        self._local_grads = local_grads

    def __add__(self, other):
        other = other if isinstance(other, SlottedValue) else SlottedValue(other)
        return SlottedValue(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, SlottedValue) else SlottedValue(other)
        return SlottedValue(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, exponent):
        return SlottedValue(self.data**exponent, (self,), (exponent * self.data ** (exponent - 1),))

    def log(self):
        return SlottedValue(math.log(self.data), (self,), (1 / self.data,))

    def exp(self):
        e = math.exp(self.data)
        return SlottedValue(e, (self,), (e,))

    def relu(self):
        return SlottedValue(max(0.0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return other + (-self)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        return self * other**-1

    def __rtruediv__(self, other):
        return other * self**-1

    def backward(self):
        order, seen, stack = [], {id(self)}, [(self, iter(self._children))]
        while stack:  # children before parents, without recursion
            node, children = stack[-1]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append((child, iter(child._children)))
                    break
            else:
                stack.pop()
                order.append(node)
        self.grad = 1
        for v in reversed(order):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad


NAMES = ("emma olivia ava isabella sophia mia charlotte amelia harper evelyn abigail emily "
         "ella elizabeth camila luna sofia avery mila aria scarlett penelope layla chloe "
         "liam noah oliver elijah james william benjamin lucas henry theodore jack levi "
         "alexander jackson mateo daniel michael mason sebastian ethan logan owen samuel").split()


def characters(docs):
    """The vocabulary: every character in docs, sorted; token len(chars) is
    BOS, the start and end of a document."""
    return sorted(set("".join(docs)))


def tokenize(doc, chars):
    bos = len(chars)
    return [bos] + [chars.index(ch) for ch in doc] + [bos]


def gpt_weights(vocab_size, seed=42, n_embd=16, n_head=4, n_layer=1, block_size=16, std=0.08):
    """A GPT's initial weights as plain floats: name -> list of rows, drawn
    from random.Random(seed) in a fixed order, so that every model (written
    out, fused, torch) can start from the same numbers."""
    rng = random.Random(seed)

    def matrix(nout, nin):
        return [[rng.gauss(0, std) for _ in range(nin)] for _ in range(nout)]

    weights = {"wte": matrix(vocab_size, n_embd), "wpe": matrix(block_size, n_embd)}
    for i in range(n_layer):
        for name in ("attn_wq", "attn_wk", "attn_wv", "attn_wo"):
            weights[f"layer{i}.{name}"] = matrix(n_embd, n_embd)
        weights[f"layer{i}.mlp_fc1"] = matrix(4 * n_embd, n_embd)
        weights[f"layer{i}.mlp_fc2"] = matrix(n_embd, 4 * n_embd)
    weights["lm_head"] = matrix(vocab_size, n_embd)
    return weights


class WrittenOutGPT:
    """microgpt's model and Adam step, every op a plain Value op, over the
    Value class given. step(tokens) trains on one document; returns its loss."""

    def __init__(self, Value, weights, n_head=4, lr=0.01, betas=(0.85, 0.99), eps=1e-8):
        self.Value = Value
        self.state = {name: [[Value(w) for w in row] for row in rows] for name, rows in weights.items()}
        self.params = [p for rows in self.state.values() for row in rows for p in row]
        self.n_layer = sum(name.endswith("attn_wq") for name in self.state)
        self.n_head = n_head
        self.lr, self.betas, self.eps = lr, betas, eps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)
        self.steps = 0

    @staticmethod
    def linear(x, w):
        return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]

    @staticmethod
    def softmax(logits):
        top = max(v.data for v in logits)
        exps = [(v - top).exp() for v in logits]
        total = sum(exps)
        return [e / total for e in exps]

    @staticmethod
    def rmsnorm(x):
        ms = sum(xi * xi for xi in x) / len(x)
        scale = (ms + 1e-5) ** -0.5
        return [xi * scale for xi in x]

    def forward(self, token, pos, keys, values):
        """Logits for the next token after token at pos; keys and values hold
        each layer's earlier positions and grow by this one."""
        s, linear, rmsnorm = self.state, self.linear, self.rmsnorm
        x = [t + p for t, p in zip(s["wte"][token], s["wpe"][pos])]
        x = rmsnorm(x)
        head_dim = len(x) // self.n_head
        for li in range(self.n_layer):
            residual = x
            x = rmsnorm(x)
            q = linear(x, s[f"layer{li}.attn_wq"])
            keys[li].append(linear(x, s[f"layer{li}.attn_wk"]))
            values[li].append(linear(x, s[f"layer{li}.attn_wv"]))
            attended = []
            for h in range(0, len(q), head_dim):
                q_h = q[h:h + head_dim]
                scores = [sum(qj * kj for qj, kj in zip(q_h, k[h:h + head_dim])) / head_dim**0.5
                          for k in keys[li]]
                weights = self.softmax(scores)
                attended += [sum(w * v[h + j] for w, v in zip(weights, values[li])) for j in range(head_dim)]
            x = [a + b for a, b in zip(linear(attended, s[f"layer{li}.attn_wo"]), residual)]
            residual = x
            x = [xi.relu() for xi in linear(rmsnorm(x), s[f"layer{li}.mlp_fc1"])]
            x = [a + b for a, b in zip(linear(x, s[f"layer{li}.mlp_fc2"]), residual)]
        return linear(x, s["lm_head"])

    def loss(self, tokens):
        """The mean -log p of each next token of the document."""
        n = min(len(self.state["wpe"]), len(tokens) - 1)
        keys, values = [[] for _ in range(self.n_layer)], [[] for _ in range(self.n_layer)]
        losses = []
        for pos in range(n):
            probs = self.softmax(self.forward(tokens[pos], pos, keys, values))
            losses.append(-probs[tokens[pos + 1]].log())
        return (1 / n) * sum(losses)

    def step(self, tokens, total_steps=1000):
        """One Adam step (microgpt's, written out) on one document."""
        loss = self.loss(tokens)
        loss.backward()
        (beta1, beta2), eps, m, v = self.betas, self.eps, self.m, self.v  # microgpt's are globals
        lr = self.lr * (1 - self.steps / total_steps)
        self.steps += 1
        step = self.steps
        for i, p in enumerate(self.params):
            m[i] = beta1 * m[i] + (1 - beta1) * p.grad
            v[i] = beta2 * v[i] + (1 - beta2) * p.grad**2
            m_hat = m[i] / (1 - beta1**step)
            v_hat = v[i] / (1 - beta2**step)
            p.data -= lr * m_hat / (v_hat**0.5 + eps)
            p.grad = 0
        return loss.data


class TorchGPT:
    """The same GPT in PyTorch, float64, one document at a time: the
    positions attended all at once under a causal mask, which is what the
    scalar programs' growing KV lists compute. step(tokens) is one Adam step
    (torch's, with microgpt's betas); loss(tokens) the mean cross-entropy."""

    def __init__(self, weights, n_head=4, lr=0.01, betas=(0.85, 0.99), eps=1e-8):
        import torch

        self.torch = torch
        self.w = {name: torch.tensor(rows, dtype=torch.float64, requires_grad=True)
                  for name, rows in weights.items()}
        self.n_layer = sum(name.endswith("attn_wq") for name in self.w)
        self.n_head = n_head
        self.opt = torch.optim.Adam(list(self.w.values()), lr=lr, betas=betas, eps=eps)

    def rmsnorm(self, x):
        return x * (x.pow(2).mean(-1, keepdim=True) + 1e-5) ** -0.5

    def loss(self, tokens):
        torch, w = self.torch, self.w
        n = min(len(w["wpe"]), len(tokens) - 1)
        inputs, targets = torch.tensor(tokens[:n]), torch.tensor(tokens[1:n + 1])
        x = self.rmsnorm(w["wte"][inputs] + w["wpe"][:n])
        width = x.shape[-1]
        head_dim = width // self.n_head
        causal = torch.ones(n, n, dtype=torch.bool).tril()
        for i in range(self.n_layer):
            residual = x
            x = self.rmsnorm(x)
            q, k, v = (x @ w[f"layer{i}.attn_w{name}"].T for name in "qkv")
            q, k, v = (t.view(n, self.n_head, head_dim).transpose(0, 1) for t in (q, k, v))
            scores = (q @ k.transpose(1, 2) / head_dim**0.5).masked_fill(~causal, float("-inf"))
            attended = (scores.softmax(-1) @ v).transpose(0, 1).reshape(n, width)
            x = attended @ w[f"layer{i}.attn_wo"].T + residual
            residual = x
            x = (self.rmsnorm(x) @ w[f"layer{i}.mlp_fc1"].T).relu() @ w[f"layer{i}.mlp_fc2"].T + residual
        logits = x @ w["lm_head"].T
        return torch.nn.functional.cross_entropy(logits, targets)

    def step(self, tokens):
        loss = self.loss(tokens)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss.item()
