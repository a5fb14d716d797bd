"""Toy 2-D data sets for classification demos, generated (numpy only, seeded):
no downloads, no scikit-learn. Each returns X (n, 2) float64 and y (n,) int64."""

from __future__ import annotations

import numbers

import numpy as np
import numpy.typing as npt

# points (n, 2) and their class labels (n,)
Points = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]


def _check_count(n: object, name: str = "n_samples") -> int:
    # bool is an int subclass, but make_moons(True) is a bug, not one sample
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {type(n).__name__}")
    if n <= 0:
        raise ValueError(f"{name} must be positive, got {n}")
    return int(n)


def _check_real(x: object, name: str, low: float = 0.0, low_inclusive: bool = True) -> float:
    """x as a float, finite and at least (or above) low; NaN would otherwise
    slip through every comparison and poison the data silently."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {type(x).__name__}")
    x = float(x)
    if not np.isfinite(x) or x < low or (x == low and not low_inclusive):
        bound = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be finite and {bound} {low}, got {x}")
    return x


def _two_classes(first: Points, second: Points) -> tuple[Points, Labels]:
    """Stack the points of class 0 then class 1, with their labels."""
    X = np.concatenate([first, second])
    y = np.concatenate([np.zeros(len(first), dtype=np.int64), np.ones(len(second), dtype=np.int64)])
    return X, y


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int | None = 0) -> tuple[Points, Labels]:
    """Two interleaving half circles (scikit-learn's geometry), labels 0 and 1."""
    n = _check_count(n_samples)
    noise = _check_real(noise, "noise")
    rng = np.random.default_rng(seed)
    t_out = np.linspace(0, np.pi, n // 2)
    t_in = np.linspace(0, np.pi, n - n // 2)
    X, y = _two_classes(
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], axis=1),
    )
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


def make_circles(n_samples: int = 100, noise: float = 0.05, factor: float = 0.5,
                 seed: int | None = 0) -> tuple[Points, Labels]:
    """A circle of radius `factor` inside the unit circle: labels 0 (outer), 1 (inner)."""
    n = _check_count(n_samples)
    noise = _check_real(noise, "noise")
    factor = _check_real(factor, "factor", low_inclusive=False)
    if factor >= 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    # endpoint=False: 0 and 2*pi are the same point, don't draw it twice
    t_out = np.linspace(0, 2 * np.pi, n // 2, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n - n // 2, endpoint=False)
    X, y = _two_classes(
        np.stack([np.cos(t_out), np.sin(t_out)], axis=1),
        factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1),
    )
    X += rng.normal(scale=noise, size=X.shape)
    return X, y


def make_blobs(n_samples: int = 100, centers: int | npt.ArrayLike = 3, cluster_std: float = 1.0,
               seed: int | None = 0) -> tuple[Points, Labels]:
    """Gaussian blobs around `centers` random centres in [-10, 10]^2 (or the
    given (k, 2) centres); sample i belongs to blob i % k, so blobs are equal."""
    n = _check_count(n_samples)
    cluster_std = _check_real(cluster_std, "cluster_std")
    rng = np.random.default_rng(seed)
    if isinstance(centers, numbers.Integral) and not isinstance(centers, bool):
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


def yinyang_class(x: float, y: float, r_small: float = 0.1, r_big: float = 0.5) -> int:
    """The yin-yang ("taiji") rule for a point (x, y) inside the big circle
    centred at (r_big, r_big): 2 for the dots, 0 for yin, 1 for yang."""
    d_right = np.hypot(x - 1.5 * r_big, y - r_big)
    d_left = np.hypot(x - 0.5 * r_big, y - r_big)
    if d_right < r_small or d_left < r_small:
        return 2
    if d_right <= r_small or r_small < d_left <= 0.5 * r_big or (y > r_big and d_right > 0.5 * r_big):
        return 0
    return 1


def make_yinyang(n: int = 1000, r_small: float = 0.1, r_big: float = 0.5, seed: int | None = 0
                 ) -> tuple[tuple[Points, Labels], tuple[Points, Labels], tuple[Points, Labels]]:
    """The 3-class yin-yang data set: classes of equal size (sample i is of
    class i % 3), coordinates in [-2, 2]. Returns
    ((X_train, y_train), (X_val, y_val), (X_test, y_test)), the first 80%,
    the next 10% and the last 10% of the samples."""
    n = _check_count(n, "n")
    r_small = _check_real(r_small, "r_small", low_inclusive=False)
    r_big = _check_real(r_big, "r_big", low_inclusive=False)
    if r_small >= r_big:
        raise ValueError(f"r_small must be less than r_big, got r_small={r_small}, r_big={r_big}")
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
    train_end, val_end = int(0.8 * n), int(0.9 * n)
    return (X[:train_end], y[:train_end]), (X[train_end:val_end], y[train_end:val_end]), (X[val_end:], y[val_end:])
