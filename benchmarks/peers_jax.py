"""JAX doing the benchmark's tasks, float64 (jax_enable_x64), each step one
jax.jit-compiled function, as a JAX user writes them: the yin-yang step
(AdamW written out, JAX having no optimizer of its own), a decision-boundary
mesh, and the demo loss's Hessian-vector product and full Hessian.

Each maker returns a zero-argument step (the mesh maker: a run returning
seconds per point), or None when jax is not installed. Every step blocks on
its result: JAX dispatches asynchronously, and an unawaited step times only
the dispatch. The first call compiles; the harness's warm-up run takes it.
bench.py puts XLA on one thread (XLA_FLAGS) before jax is imported.
"""

import time


def jax_or_none():
    """jax with float64 enabled (before any array is made), or None."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


def init_mlp(sizes, seed=0):
    """(W, b) per layer, uniform(-1, 1) as micrograd's neurons draw them."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return [(rng.uniform(-1, 1, (sizes[i + 1], sizes[i])), rng.uniform(-1, 1, sizes[i + 1]))
            for i in range(len(sizes) - 1)]


def apply_mlp(jnp, params, x, activation):
    for i, (W, b) in enumerate(params):
        x = x @ W.T + b
        if i != len(params) - 1:
            x = activation(x)
    return x


# --- yin-yang: MLP 2-8-3, cross-entropy, AdamW -------------------------------------------


def yinyang(X, y, lr=1e-1, betas=(0.9, 0.95), eps=1e-8, weight_decay=1e-4):
    jax = jax_or_none()
    if jax is None:
        return None
    jnp = jax.numpy
    params = jax.tree_util.tree_map(jnp.asarray, init_mlp([2, 8, 3]))
    tX, ty = jnp.asarray(X), jnp.asarray(y)

    def loss_of(ps):
        logits = apply_mlp(jnp, ps, tX, jax.nn.relu)
        return -jnp.take_along_axis(jax.nn.log_softmax(logits), ty[:, None], axis=1).mean()

    b1, b2 = betas

    @jax.jit
    def update(ps, m, v, t):
        g = jax.grad(loss_of)(ps)
        m = jax.tree_util.tree_map(lambda mi, gi: b1 * mi + (1 - b1) * gi, m, g)
        v = jax.tree_util.tree_map(lambda vi, gi: b2 * vi + (1 - b2) * gi * gi, v, g)

        def new(p, mi, vi):  # torch.optim.AdamW's update
            p = p * (1 - lr * weight_decay)
            return p - (lr / (1 - b1**t)) * mi / (jnp.sqrt(vi) / jnp.sqrt(1 - b2**t) + eps)
        return jax.tree_util.tree_map(new, ps, m, v), m, v

    state = {"ps": params, "m": jax.tree_util.tree_map(jnp.zeros_like, params),
             "v": jax.tree_util.tree_map(jnp.zeros_like, params), "t": 0}

    def step():
        state["t"] += 1
        state["ps"], state["m"], state["v"] = update(state["ps"], state["m"], state["v"],
                                                     float(state["t"]))
        jax.block_until_ready(state["ps"])
    return step


# --- a decision-boundary mesh: the moons model's forward, seconds per point -------------


def mesh(points):
    jax = jax_or_none()
    if jax is None:
        return None
    jnp = jax.numpy
    params = jax.tree_util.tree_map(jnp.asarray, init_mlp([2, 16, 16, 1]))
    X = jnp.asarray(points)
    forward = jax.jit(lambda ps, x: apply_mlp(jnp, ps, x, jax.nn.relu))

    def run():
        start = time.perf_counter()
        jax.block_until_ready(forward(params, X))
        return (time.perf_counter() - start) / len(points)
    return run


# --- micrograd's demo loss, differentiated twice ----------------------------------------


def demo_loss(jax, X, y):
    jnp = jax.numpy
    tX, ty = jnp.asarray(X, dtype=jnp.float64), jnp.asarray(y, dtype=jnp.float64)

    def loss_of(ps):
        scores = apply_mlp(jnp, ps, tX, jax.nn.relu)[:, 0]
        l2 = sum((W * W).sum() + (b * b).sum() for W, b in ps)
        return jax.nn.relu(1 - ty * scores).mean() + 1e-4 * l2
    return jax.tree_util.tree_map(jnp.asarray, init_mlp([2, 16, 16, 1])), loss_of


def demo_hvp(X, y):
    """Forward-over-reverse, JAX's recommended HVP: jvp of grad, jitted."""
    jax = jax_or_none()
    if jax is None:
        return None
    params, loss_of = demo_loss(jax, X, y)
    vector = jax.tree_util.tree_map(jax.numpy.ones_like, params)
    hvp = jax.jit(lambda ps, v: jax.jvp(jax.grad(loss_of), (ps,), (v,))[1])
    return lambda: jax.block_until_ready(hvp(params, vector))


def demo_hessian(X, y):
    """jax.hessian over the flat 337 parameters, jitted."""
    jax = jax_or_none()
    if jax is None:
        return None
    jnp = jax.numpy
    params, loss_of = demo_loss(jax, X, y)
    from jax.flatten_util import ravel_pytree

    flat, unflatten = ravel_pytree(params)
    hessian = jax.jit(jax.hessian(lambda theta: loss_of(unflatten(theta))))
    return lambda: jax.block_until_ready(hessian(jnp.asarray(flat)))
