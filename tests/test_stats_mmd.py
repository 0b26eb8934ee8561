"""MMD two-sample test: the unbiased estimator, null uniformity and power."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from provenance.stats import StatsInputError, mmd_test
from provenance.stats.mmd import median_bandwidth


def _naive_unbiased_mmd2(X: np.ndarray, Y: np.ndarray, bw: float) -> float:
    k = lambda a, b: np.exp(-np.sum((a - b) ** 2) / (2 * bw**2))  # noqa: E731
    n, m = len(X), len(Y)
    kxx = sum(k(X[i], X[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(Y[i], Y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(X[i], Y[j]) for i in range(n) for j in range(m)) / (n * m)
    return kxx + kyy - 2 * kxy


def test_statistic_is_the_unbiased_mmd2_with_median_bandwidth() -> None:
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(12, 3)), rng.normal(0.5, 1, size=(9, 3))
    r = mmd_test(X, Y, seed=1, n_permutations=99)
    bw = median_bandwidth(np.vstack([X, Y]))
    assert r.details["bandwidth"] == pytest.approx(bw)
    assert r.statistic == pytest.approx(_naive_unbiased_mmd2(X, Y, bw))
    fixed = mmd_test(X, Y, seed=1, bandwidth=2.0, n_permutations=99)
    assert fixed.statistic == pytest.approx(_naive_unbiased_mmd2(X, Y, 2.0))


def test_linear_kernel_mmd_is_the_squared_mean_difference_up_to_bias_terms() -> None:
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(200, 2)), rng.normal(1.0, 1, size=(200, 2))
    r = mmd_test(X, Y, seed=1, kernel="linear", n_permutations=99)
    assert r.statistic == pytest.approx(np.sum((X.mean(0) - Y.mean(0)) ** 2), rel=0.1)


def test_mmd_p_values_are_uniform_under_the_null() -> None:
    rng = np.random.default_rng(2)
    ps = [mmd_test(rng.normal(size=(25, 3)), rng.normal(size=(30, 3)), seed=rng, n_permutations=199).p_value
          for _ in range(300)]
    assert stats.kstest(ps, "uniform").pvalue > 0.001


def test_mmd_detects_a_difference_in_spread_that_means_cannot_see() -> None:
    rng = np.random.default_rng(3)
    ps = [mmd_test(rng.normal(0, 1, size=(60, 2)), rng.normal(0, 2, size=(60, 2)), seed=rng,
                   n_permutations=199).p_value for _ in range(30)]
    assert np.mean(np.array(ps) <= 0.05) >= 0.9


def test_mmd_rejects_mismatched_feature_counts() -> None:
    with pytest.raises(StatsInputError):
        mmd_test(np.zeros((5, 2)), np.zeros((5, 3)), seed=0)
