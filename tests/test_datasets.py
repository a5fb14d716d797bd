"""The generated data sets: shapes, determinism, balance, the yin-yang rule."""

import numpy as np
import pytest

from micrograd_fast import datasets


@pytest.mark.parametrize("make", [datasets.make_moons, datasets.make_circles, datasets.make_blobs])
def test_shapes_types_and_seeds(make):
    X, y = make(n_samples=51, seed=3)
    assert X.shape == (51, 2) and X.dtype == np.float64
    assert y.shape == (51,) and np.issubdtype(y.dtype, np.integer)
    X2, y2 = make(n_samples=51, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    X3, _ = make(n_samples=51, seed=4)
    assert not np.array_equal(X, X3)


def test_moons_geometry_without_noise():
    X, y = datasets.make_moons(100, noise=0.0)
    outer, inner = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0)
    assert np.allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0)
    assert (y == 0).sum() == 50


def test_blobs_balance():
    _, y = datasets.make_blobs(90, centers=3)
    assert np.bincount(y).tolist() == [30, 30, 30]


def test_yinyang_rule_balance_and_splits():
    (Xtr, ytr), (Xva, yva), (Xte, yte) = datasets.make_yinyang(300, seed=1)
    assert (len(Xtr), len(Xva), len(Xte)) == (240, 30, 30)
    X = np.concatenate([Xtr, Xva, Xte])
    y = np.concatenate([ytr, yva, yte])
    assert np.bincount(y).tolist() == [100, 100, 100]
    assert y.tolist() == [i % 3 for i in range(300)]
    assert X.min() >= -2 and X.max() <= 2
    # undo the rescaling and re-check every label against the rule, written anew
    r_small, r_big = 0.1, 0.5
    P = (X / 2 + 1) * r_big
    for (px, py), label in zip(P, y):
        assert np.hypot(px - r_big, py - r_big) <= r_big + 1e-12
        dr, dl = np.hypot(px - 0.75, py - 0.5), np.hypot(px - 0.25, py - 0.5)
        if dr < r_small or dl < r_small:
            expect = 2
        elif dr <= r_small or r_small < dl <= 0.25 or (py > 0.5 and dr > 0.25):
            expect = 0
        else:
            expect = 1
        assert label == expect


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-5, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_sizes(bad, error):
    for make in (datasets.make_moons, datasets.make_circles, datasets.make_blobs):
        with pytest.raises(error):
            make(bad)
    with pytest.raises(error):
        datasets.make_yinyang(bad)


def test_bad_parameters():
    with pytest.raises(ValueError):
        datasets.make_moons(10, noise=-1)
    with pytest.raises(ValueError):
        datasets.make_yinyang(10, r_small=0.6, r_big=0.5)
    with pytest.raises(ValueError):
        datasets.make_circles(10, factor=1.5)
