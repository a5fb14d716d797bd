"""The generated data sets: shapes, determinism, balance, geometry, the
yin-yang rule re-checked independently, and the errors for bad input."""

import numpy as np
import pytest

from micrograd_fast import datasets

TWO_D = [datasets.make_moons, datasets.make_circles, datasets.make_blobs]


def yinyang_splits(*args, **kwargs):
    """make_yinyang's three splits glued back together, in order."""
    splits = datasets.make_yinyang(*args, **kwargs)
    return np.concatenate([X for X, _ in splits]), np.concatenate([y for _, y in splits])


@pytest.mark.parametrize("make", TWO_D)
def test_shapes_types_and_seeds(make):
    X, y = make(n_samples=51, seed=3)
    assert X.shape == (51, 2) and X.dtype == np.float64
    assert y.shape == (51,) and y.dtype == np.int64
    X2, y2 = make(n_samples=51, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = make(n_samples=51, seed=4)
    assert not np.array_equal(X, X3)


@pytest.mark.parametrize("make", TWO_D)
def test_one_sample_and_numpy_ints(make):
    X, y = make(n_samples=np.int64(1))
    assert X.shape == (1, 2) and y.shape == (1,)


def test_moons_geometry_without_noise():
    X, y = datasets.make_moons(101, noise=0.0)
    outer, inner = X[y == 0], X[y == 1]
    assert (len(outer), len(inner)) == (50, 51)
    assert np.allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    assert np.allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert outer[:, 1].min() >= -1e-12 and inner[:, 1].max() <= 0.5 + 1e-12  # upper and lower half circles
    assert X[:, 0].min() >= -1 - 1e-12 and X[:, 0].max() <= 2 + 1e-12


def test_moons_noise_moves_points_by_about_its_scale():
    clean, _ = datasets.make_moons(2000, noise=0.0)
    noisy, _ = datasets.make_moons(2000, noise=0.1)
    assert abs((noisy - clean).std() - 0.1) < 0.01


def test_circles_geometry_without_noise():
    X, y = datasets.make_circles(100, noise=0.0, factor=0.3)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(radius[y == 0], 1.0) and np.allclose(radius[y == 1], 0.3)
    assert np.bincount(y).tolist() == [50, 50]
    assert len(np.unique(X.round(12), axis=0)) == 100  # no point drawn twice


def test_blobs_balance_and_spread():
    X, y = datasets.make_blobs(90, centers=3)
    assert np.bincount(y).tolist() == [30, 30, 30]
    X0, _ = datasets.make_blobs(90, centers=3, cluster_std=0.0)
    for k in range(3):  # with no spread every point sits on its centre, inside [-10, 10]^2
        assert np.ptp(X0[y == k], axis=0).max() == 0
    assert np.abs(X0).max() <= 10


def test_blobs_given_centres():
    centres = [[5.0, 5.0], [-5.0, -5.0]]
    X, y = datasets.make_blobs(40, centers=centres, cluster_std=0.0)
    assert np.array_equal(X, np.array(centres)[y])


def test_yinyang_splits_shapes_types_and_seeds():
    (Xtr, ytr), (Xva, yva), (Xte, yte) = datasets.make_yinyang(300, seed=1)
    assert (Xtr.shape, Xva.shape, Xte.shape) == ((240, 2), (30, 2), (30, 2))
    assert all(X.dtype == np.float64 for X in (Xtr, Xva, Xte))
    assert all(y.dtype == np.int64 for y in (ytr, yva, yte))
    X, y = yinyang_splits(300, seed=1)
    X2, y2 = yinyang_splits(300, seed=1)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert not np.array_equal(X, yinyang_splits(300, seed=2)[0])


@pytest.mark.parametrize("n", [300, 100, 7])
def test_yinyang_classes_are_balanced_and_interleaved(n):
    (_, ytr), _, _ = datasets.make_yinyang(n)
    _, y = yinyang_splits(n)
    assert y.tolist() == [i % 3 for i in range(n)]
    assert np.ptp(np.bincount(y, minlength=3)) <= 1
    assert len(ytr) == int(0.8 * n)


@pytest.mark.parametrize("r_small, r_big", [(0.1, 0.5), (0.2, 1.0), (0.05, 0.3)])
def test_yinyang_points_obey_the_rule(r_small, r_big):
    X, y = yinyang_splits(600, r_small=r_small, r_big=r_big, seed=7)
    assert X.min() >= -2 and X.max() <= 2
    assert np.hypot(X[:, 0], X[:, 1]).max() <= 2 + 1e-12  # the rescaled big circle
    # undo the rescaling and re-check every label against the rule, written anew
    P = (X / 2 + 1) * r_big
    d_r = np.hypot(P[:, 0] - 1.5 * r_big, P[:, 1] - r_big)
    d_l = np.hypot(P[:, 0] - 0.5 * r_big, P[:, 1] - r_big)
    dots = (d_r < r_small) | (d_l < r_small)
    yin = ~dots & (
        (d_r <= r_small) | ((r_small < d_l) & (d_l <= 0.5 * r_big)) | ((P[:, 1] > r_big) & (d_r > 0.5 * r_big))
    )
    expect = np.where(dots, 2, np.where(yin, 0, 1))
    assert np.array_equal(y, expect)


def test_yinyang_class_of_known_points():
    # the dots' centres, the top (yin, the big half) and the bottom (yang)
    assert datasets.yinyang_class(0.75, 0.5) == 2
    assert datasets.yinyang_class(0.25, 0.5) == 2
    assert datasets.yinyang_class(0.5, 0.95) == 0
    assert datasets.yinyang_class(0.5, 0.05) == 1


@pytest.mark.parametrize("bad, error, message", [
    (0, ValueError, "must be positive"),
    (-5, ValueError, "must be positive"),
    (2.5, TypeError, "must be an int"),
    (True, TypeError, "must be an int"),
    ("10", TypeError, "must be an int"),
])
def test_bad_sizes(bad, error, message):
    for make in TWO_D:
        with pytest.raises(error, match=f"n_samples {message}"):
            make(bad)
    with pytest.raises(error, match=f"n {message}"):
        datasets.make_yinyang(bad)


@pytest.mark.parametrize("call, error, message", [
    (lambda: datasets.make_moons(10, noise=-1), ValueError, "noise must be finite and >= 0"),
    (lambda: datasets.make_moons(10, noise=float("nan")), ValueError, "noise must be finite"),
    (lambda: datasets.make_moons(10, noise="0.1"), TypeError, "noise must be a real number"),
    (lambda: datasets.make_circles(10, noise=-0.5), ValueError, "noise"),
    (lambda: datasets.make_circles(10, factor=1.5), ValueError, "factor must be in"),
    (lambda: datasets.make_circles(10, factor=0), ValueError, "factor"),
    (lambda: datasets.make_blobs(10, cluster_std=-1), ValueError, "cluster_std"),
    (lambda: datasets.make_blobs(10, centers=0), ValueError, "centers must be positive"),
    (lambda: datasets.make_blobs(10, centers=[1, 2, 3]), ValueError, "centers must be"),
    (lambda: datasets.make_yinyang(10, r_small=0.6, r_big=0.5), ValueError, "r_small must be less than r_big"),
    (lambda: datasets.make_yinyang(10, r_small=0.5, r_big=0.5), ValueError, "r_small must be less than r_big"),
    (lambda: datasets.make_yinyang(10, r_small=0.0), ValueError, "r_small must be finite and > 0"),
    (lambda: datasets.make_yinyang(10, r_big=float("inf")), ValueError, "r_big must be finite"),
])
def test_bad_parameters(call, error, message):
    with pytest.raises(error, match=message):
        call()
