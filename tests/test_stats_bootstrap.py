"""Bootstrap intervals: agreement with scipy, reproducibility, degenerate samples, coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from provenance.stats import StatsInputError, bootstrap_ci


def test_interval_matches_a_plain_scipy_bootstrap_with_the_same_seed() -> None:
    data = np.random.default_rng(0).exponential(size=40)
    e = bootstrap_ci(data, "mean", seed=5, n_resamples=2000)
    ref = stats.bootstrap((data,), np.mean, n_resamples=2000, method="BCa",
                          rng=np.random.default_rng(5))
    assert e.ci == pytest.approx((ref.confidence_interval.low, ref.confidence_interval.high))
    assert e.estimate == pytest.approx(data.mean())
    assert e.details["seed"] == 5


def test_two_independent_samples_give_an_interval_for_the_mean_difference() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(1, 1, 50), rng.normal(0, 1, 60)
    e = bootstrap_ci((x, y), "mean_diff", seed=2, n_resamples=2000, method="percentile")
    assert e.ci[0] < x.mean() - y.mean() < e.ci[1]
    assert e.n == {"sample1": 50, "sample2": 60}


def test_degenerate_sample_gives_a_point_interval_not_nan() -> None:
    e = bootstrap_ci([0.3] * 10, seed=0)
    assert e.ci == pytest.approx((0.3, 0.3))


def test_nearly_degenerate_sample_falls_back_or_stays_finite() -> None:
    e = bootstrap_ci([0.0] * 19 + [1.0], seed=0, n_resamples=999)
    assert np.all(np.isfinite(e.ci))


def test_bad_input_raises_a_typed_error() -> None:
    with pytest.raises(StatsInputError):
        bootstrap_ci([1.0], seed=0)
    with pytest.raises(StatsInputError):
        bootstrap_ci([1.0, 2.0], seed=0, level=95)


def test_percentile_interval_covers_the_true_mean_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(3)
    hits = 0
    runs = 300
    for _ in range(runs):
        e = bootstrap_ci(rng.normal(0, 1, 40), seed=rng, n_resamples=499, method="percentile")
        hits += e.ci[0] <= 0.0 <= e.ci[1]
    assert abs(hits / runs - 0.95) < 0.05
