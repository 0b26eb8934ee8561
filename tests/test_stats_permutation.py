"""Permutation tests: exact enumeration, Monte Carlo accuracy, null uniformity, power."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from provenance.stats import StatsInputError, paired_permutation_test, permutation_test_two_sample


def _brute_force_two_sample_p(x: np.ndarray, y: np.ndarray) -> float:
    pooled = np.concatenate([x, y])
    obs = x.mean() - y.mean()
    vals = []
    for idx in itertools.combinations(range(pooled.size), x.size):
        mask = np.zeros(pooled.size, bool)
        mask[list(idx)] = True
        vals.append(pooled[mask].mean() - pooled[~mask].mean())
    return float(np.mean(np.array(vals) >= obs - 1e-12))


def _brute_force_sign_flip_p(d: np.ndarray) -> float:
    obs = d.mean()
    vals = [np.mean(np.array(s) * d) for s in itertools.product([-1, 1], repeat=d.size)]
    return float(np.mean(np.array(vals) >= obs - 1e-12))


def test_tiny_two_sample_is_enumerated_exactly() -> None:
    r = permutation_test_two_sample([1, 2, 3], [4, 5, 6, 7], alternative="less", seed=0)
    assert r.details["exact_enumeration"] is True
    assert r.details["n_permutations"] == 35
    assert r.p_value == pytest.approx(1 / 35)  # only the observed split is as extreme
    assert r.effect == pytest.approx(2 - 5.5)


def test_enumerated_two_sample_p_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.8, 1, 6), rng.normal(0, 1, 7)
    r = permutation_test_two_sample(x, y, alternative="greater", seed=0, n_resamples=0)
    assert r.details["exact_enumeration"] is True
    assert r.p_value == pytest.approx(_brute_force_two_sample_p(x, y))


def test_monte_carlo_two_sample_p_is_close_to_full_enumeration() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(0.7, 1, 8), rng.normal(0, 1, 8)  # 12870 arrangements > 9999
    exact = _brute_force_two_sample_p(x, y)
    r = permutation_test_two_sample(x, y, alternative="greater", seed=3, n_resamples=0)
    assert r.details["exact_enumeration"] is False
    m, b = r.details["n_permutations"], r.details["b"]
    assert r.p_value == (b + 1) / (m + 1)
    assert abs(r.p_value - exact) < 4 * np.sqrt(exact * (1 - exact) / m) + 1e-4


def test_paired_sign_flip_matches_brute_force_enumeration() -> None:
    rng = np.random.default_rng(4)
    d = rng.normal(0.4, 1, 10)
    r = paired_permutation_test(d, alternative="greater", seed=0, n_resamples=0)
    assert r.details["exact_enumeration"] is True and r.details["n_permutations"] == 1024
    assert r.p_value == pytest.approx(_brute_force_sign_flip_p(d))
    d16 = rng.normal(0.3, 1, 16)  # 65536 sign patterns: Monte Carlo
    exact = _brute_force_sign_flip_p(d16)
    mc = paired_permutation_test(d16, alternative="greater", seed=5, n_resamples=0)
    assert mc.details["exact_enumeration"] is False
    assert abs(mc.p_value - exact) < 4 * np.sqrt(exact * (1 - exact) / 9999) + 1e-4


def test_two_sided_is_at_least_the_one_sided_p() -> None:
    rng = np.random.default_rng(6)
    x, y = rng.normal(0.5, 1, 30), rng.normal(0, 1, 30)
    g = permutation_test_two_sample(x, y, alternative="greater", seed=1, n_resamples=0)
    t = permutation_test_two_sample(x, y, alternative="two-sided", seed=1, n_resamples=0)
    lo = permutation_test_two_sample(x, y, alternative="less", seed=1, n_resamples=0)
    assert t.p_value >= g.p_value and lo.p_value > 0.5


def test_same_seed_gives_identical_results_and_the_seed_is_recorded() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=40), rng.normal(size=40)
    a = permutation_test_two_sample(x, y, alternative="greater", seed=42, n_resamples=199)
    b = permutation_test_two_sample(x, y, alternative="greater", seed=42, n_resamples=199)
    assert a == b and a.details["seed"] == 42


def test_bootstrap_interval_of_the_effect_covers_the_estimate() -> None:
    rng = np.random.default_rng(8)
    r = paired_permutation_test(rng.normal(0.5, 1, 40), alternative="greater", seed=1, n_resamples=999)
    assert r.ci is not None and r.ci[0] < r.effect < r.ci[1]


def test_welch_statistic_reports_mean_difference_as_effect() -> None:
    rng = np.random.default_rng(9)
    x, y = rng.normal(1, 1, 30), rng.normal(0, 3, 50)
    r = permutation_test_two_sample(x, y, alternative="greater", seed=1, statistic="welch_t",
                                    n_resamples=0, n_permutations=999)
    assert r.effect == pytest.approx(x.mean() - y.mean())
    assert r.statistic == pytest.approx(stats.ttest_ind(x, y, equal_var=False).statistic)


def test_bad_input_raises_a_typed_error() -> None:
    with pytest.raises(StatsInputError):
        permutation_test_two_sample([], [1.0], alternative="greater", seed=0)
    with pytest.raises(StatsInputError):
        paired_permutation_test([1.0, np.nan], alternative="greater", seed=0)
    with pytest.raises(StatsInputError):
        permutation_test_two_sample([1.0], [2.0], alternative="greater", seed=0, statistic="mode")


def test_two_sample_p_values_are_uniform_under_the_null() -> None:
    rng = np.random.default_rng(10)
    ps = [
        permutation_test_two_sample(rng.standard_t(3, 25), rng.standard_t(3, 35), alternative="greater",
                                    seed=rng, n_permutations=199, n_resamples=0).p_value
        for _ in range(400)
    ]
    assert stats.kstest(ps, "uniform").pvalue > 0.001
    assert np.mean(np.array(ps) <= 0.05) <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / 400)


def test_paired_p_values_are_uniform_under_the_null() -> None:
    rng = np.random.default_rng(11)
    ps = [
        paired_permutation_test(rng.laplace(0, 1, 30), alternative="two-sided", seed=rng,
                                n_permutations=199, n_resamples=0).p_value
        for _ in range(400)
    ]
    assert stats.kstest(ps, "uniform").pvalue > 0.001


def test_permutation_tests_detect_a_real_shift() -> None:
    rng = np.random.default_rng(12)
    two = [permutation_test_two_sample(rng.normal(0.8, 1, 40), rng.normal(0, 1, 40),
                                       alternative="greater", seed=rng, n_permutations=199,
                                       n_resamples=0).p_value for _ in range(40)]
    paired = [paired_permutation_test(rng.normal(0.6, 1, 40), alternative="greater", seed=rng,
                                      n_permutations=199, n_resamples=0).p_value for _ in range(40)]
    assert np.mean(np.array(two) <= 0.05) >= 0.9
    assert np.mean(np.array(paired) <= 0.05) >= 0.9
