"""Toy 2-D data sets for classification demos, generated (numpy only, seeded):
no downloads, no scikit-learn. Each returns X (n, 2) float64 and y (n,) int."""

import numpy as np


def _check_count(n, name="n_samples"):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int, not {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"{name} must be positive, got {n}")
    return int(n)


def _check_noise(noise):
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")


def make_moons(n_samples=100, noise=0.1, seed=0):
    """Two interleaving half circles (scikit-learn's geometry), labels 0 and 1."""
    n = _check_count(n_samples)
    _check_noise(noise)
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1),
    ])
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


def make_circles(n_samples=100, noise=0.05, factor=0.5, seed=0):
    """A circle inside a circle (radius `factor`), labels 0 (outer) and 1."""
    n = _check_count(n_samples)
    _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1),
    ])
    y = np.concatenate([np.zeros(n_out, dtype=np.int64), np.ones(n_in, dtype=np.int64)])
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


def make_blobs(n_samples=100, centers=3, cluster_std=1.0, seed=0):
    """Gaussian blobs around `centers` random centres in [-10, 10]^2 (or the
    given (k, 2) centres); sample i belongs to blob i % k."""
    n = _check_count(n_samples)
    if cluster_std < 0:
        raise ValueError(f"cluster_std must be >= 0, got {cluster_std}")
    rng = np.random.default_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        k = _check_count(centers, "centers")
        middles = rng.uniform(-10, 10, size=(k, 2))
    else:
        middles = np.asarray(centers, dtype=np.float64)
        if middles.ndim != 2 or middles.shape[1] != 2 or len(middles) == 0:
            raise ValueError(f"centers must be an int or a (k, 2) array, got shape {middles.shape}")
        k = len(middles)
    y = np.arange(n, dtype=np.int64) % k
    X = middles[y] + rng.normal(scale=cluster_std, size=(n, 2))
    return X, y


def yinyang_class(x, y, r_small=0.1, r_big=0.5):
    """The yin-yang ("taiji") rule for a point inside the big circle:
    2 for the dots, 0 for yin, 1 for yang."""
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    if d_right < r_small or d_left < r_small:
        return 2
    if d_right <= r_small or r_small < d_left <= 0.5 * r_big or (y > r_big and d_right > 0.5 * r_big):
        return 0
    return 1


def make_yinyang(n=1000, r_small=0.1, r_big=0.5, seed=0):
    """The 3-class yin-yang data set, classes of equal size, coordinates in
    [-2, 2]. Returns ((X_train, y_train), (X_val, y_val), (X_test, y_test)):
    the first 80%, the next 10%, the last 10%."""
    n = _check_count(n, "n")
    if not 0 < r_small < r_big:
        raise ValueError(f"need 0 < r_small < r_big, got r_small={r_small}, r_big={r_big}")
    rng = np.random.default_rng(seed)
    X = np.empty((n, 2))
    y = np.empty(n, dtype=np.int64)
    for i in range(n):
        wanted = i % 3
        while True:  # rejection sampling: inside the big circle, then the wanted class
            px, py = rng.uniform(0, 2 * r_big, size=2)
            if np.hypot(px - r_big, py - r_big) > r_big:
                continue
            if yinyang_class(px, py, r_small, r_big) == wanted:
                break
        X[i] = px, py
        y[i] = wanted
    X = (X / r_big - 1) * 2
    a, b = int(0.8 * n), int(0.9 * n)
    return (X[:a], y[:a]), (X[a:b], y[a:b]), (X[b:], y[b:])
