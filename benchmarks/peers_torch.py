"""PyTorch doing the batched and second-order workloads' tasks, float64, as a
PyTorch user writes them: the digits minibatch step, the GPT over a batch of
same-length names, a decision-boundary mesh, the demo loss's Hessian-vector
product and full Hessian, and a physics-informed network's training step.

Each maker returns a zero-argument step (the mesh maker: a run returning
seconds per point), or None when torch is not installed. torch stays on one
thread (adapters.torch_or_none); on_threads() gives a run all of them for
its own duration only, so that the rows interleaved beside it are unchanged.
"""

import math
import os
import time

from adapters import torch_or_none


def all_threads():
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def on_threads(run, threads):
    """The harness run `run` (returning seconds) with torch on `threads`
    threads while it runs, and on one again after: setting the count is not
    timed, and no other row runs with torch's pool widened."""
    torch = torch_or_none()
    if run is None or torch is None:
        return None

    def wrapped():
        torch.set_num_threads(threads)
        try:
            return run()
        finally:
            torch.set_num_threads(1)
    return wrapped


def mlp(torch, sizes, activation="relu"):
    """nn.Sequential of Linear layers (float64) with the activation between."""
    act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[activation]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1], dtype=torch.float64))
        if i != len(sizes) - 2:
            layers.append(act())
    return torch.nn.Sequential(*layers)


# --- digits: MLP 64-32-10, cross-entropy, Adam, one minibatch per step -----------------


def digits(batches, lr=1e-2):
    """batches: a list of (X, y) numpy minibatches, taken in turn."""
    torch = torch_or_none()
    if torch is None:
        return None
    model = mlp(torch, [64, 32, 10])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    data = [(torch.tensor(X), torch.tensor(y).long()) for X, y in batches]  # class indices
    turn = iter(range(10**12))

    def step():
        X, y = data[next(turn) % len(data)]
        loss = torch.nn.functional.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


# --- the GPT over a batch of same-length names ------------------------------------------


def gpt_batch(batches, weights):
    """batches: lists of same-length token lists; one Adam step per batch on
    the mean of the names' losses (fixtures.TorchGPT's model, with a batch
    dimension in front)."""
    torch = torch_or_none()
    if torch is None:
        return None
    import fixtures

    class BatchedGPT(fixtures.TorchGPT):
        def loss(self, docs):
            w = self.w
            tokens = torch.tensor(docs)
            B, n = tokens.shape[0], min(len(w["wpe"]), tokens.shape[1] - 1)
            inputs, targets = tokens[:, :n], tokens[:, 1:n + 1]
            x = self.rmsnorm(w["wte"][inputs] + w["wpe"][:n])
            width = x.shape[-1]
            head_dim = width // self.n_head
            causal = torch.ones(n, n, dtype=torch.bool).tril()
            for i in range(self.n_layer):
                residual = x
                x = self.rmsnorm(x)
                q, k, v = (x @ w[f"layer{i}.attn_w{name}"].T for name in "qkv")
                q, k, v = (t.view(B, n, self.n_head, head_dim).transpose(1, 2) for t in (q, k, v))
                scores = (q @ k.transpose(-1, -2) / head_dim**0.5).masked_fill(~causal, float("-inf"))
                attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, n, width)
                x = attended @ w[f"layer{i}.attn_wo"].T + residual
                residual = x
                x = (self.rmsnorm(x) @ w[f"layer{i}.mlp_fc1"].T).relu() @ w[f"layer{i}.mlp_fc2"].T + residual
            logits = x @ w["lm_head"].T
            # every name has n positions, so the mean over all is the mean of the names' means
            return torch.nn.functional.cross_entropy(logits.reshape(B * n, -1), targets.reshape(-1))

    model = BatchedGPT(weights)
    turn = iter(range(10**12))
    return lambda: model.step(batches[next(turn) % len(batches)])


# --- a decision-boundary mesh: the moons model's forward, seconds per point -------------


def mesh(points):
    torch = torch_or_none()
    if torch is None:
        return None
    model = mlp(torch, [2, 16, 16, 1])
    X = torch.tensor(points)

    def run():
        start = time.perf_counter()
        with torch.no_grad():
            model(X)
        return (time.perf_counter() - start) / len(points)
    return run


# --- micrograd's demo loss, differentiated twice ----------------------------------------


def demo_loss(torch, X, y):
    """The demo's model as torch parameters, and its loss (SVM hinge mean +
    1e-4 L2) as a function of them: the same 337 numbers per parameter set."""
    model = mlp(torch, [2, 16, 16, 1])
    params = list(model.parameters())
    tX, ty = torch.tensor(X, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)

    def loss_of(ps):
        W1, b1, W2, b2, W3, b3 = ps
        h = torch.relu(tX @ W1.T + b1)
        h = torch.relu(h @ W2.T + b2)
        scores = (h @ W3.T + b3).squeeze(1)
        return torch.relu(1 - ty * scores).mean() + 1e-4 * sum((p * p).sum() for p in ps)
    return params, loss_of


def demo_hvp(X, y):
    """H v by autograd.grad twice (create_graph=True), as PyTorch documents it."""
    torch = torch_or_none()
    if torch is None:
        return None
    params, loss_of = demo_loss(torch, X, y)
    vector = [torch.ones_like(p) for p in params]

    def step():
        grads = torch.autograd.grad(loss_of(params), params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(grads, vector))
        return torch.autograd.grad(dot, params)
    return step


def demo_hessian(X, y):
    """The full 337 x 337 Hessian by torch.func.hessian over the flat parameters."""
    torch = torch_or_none()
    if torch is None:
        return None
    params, loss_of = demo_loss(torch, X, y)
    shapes = [p.shape for p in params]
    flat = torch.cat([p.detach().reshape(-1) for p in params])

    def flat_loss(theta):
        ps, at = [], 0
        for shape in shapes:
            size = shape.numel()
            ps.append(theta[at:at + size].view(shape))
            at += size
        return loss_of(ps)
    hessian = torch.func.hessian(flat_loss)
    return lambda: hessian(flat)


# --- a physics-informed network: u'' = -u, u(0) = 0, u'(0) = 1 --------------------------


def pinn(points, width=16, lr=1e-2):
    """One Adam step on the PINN loss at the collocation points (numpy, shape
    (N,)), eager: u and its x-derivatives by autograd.grad with create_graph."""
    torch = torch_or_none()
    if torch is None:
        return None
    model = mlp(torch, [1, width, width, 1], activation="tanh")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x = torch.tensor(points, dtype=torch.float64).reshape(-1, 1).requires_grad_(True)
    zero = torch.zeros(1, 1, dtype=torch.float64, requires_grad=True)

    def net(t):  # examples/pinn.py's Net maps [0, 2 pi] to [-1, 1] first, inside the graph
        return model(t * (1 / math.pi) - 1.0)

    def step():
        u = net(x)
        du = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
        d2u = torch.autograd.grad(du.sum(), x, create_graph=True)[0]
        u0 = net(zero)
        du0 = torch.autograd.grad(u0.sum(), zero, create_graph=True)[0]
        loss = ((d2u + u) ** 2).mean() + (u0**2).sum() + ((du0 - 1) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step
