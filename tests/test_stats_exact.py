"""Exact binomial and Fisher tests, Wilson/Newcombe intervals: reference values and error rates."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from provenance.stats import (
    StatsInputError,
    binomial_test,
    fisher_exact,
    newcombe_interval,
    rate_difference,
    wilson_interval,
)


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_binomial_p_value_matches_scipy(alternative: str) -> None:
    r = binomial_test(13, 40, 0.2, alternative=alternative)  # type: ignore[arg-type]
    assert r.p_value == pytest.approx(stats.binomtest(13, 40, 0.2, alternative=alternative).pvalue)
    assert r.effect == pytest.approx(13 / 40)


def test_binomial_interval_is_two_sided_clopper_pearson() -> None:
    r = binomial_test(13, 40, 0.2, alternative="greater")
    low, high = proportion_confint(13, 40, alpha=0.05, method="beta")
    assert r.ci == pytest.approx((low, high), abs=1e-9)
    # closed form at k = 0: upper = 1 - (alpha/2)^(1/n)
    r0 = binomial_test(0, 30, 0.2, alternative="less")
    assert r0.ci[0] == 0.0 and r0.ci[1] == pytest.approx(1 - 0.025 ** (1 / 30))


def test_binomial_rejects_impossible_counts() -> None:
    with pytest.raises(StatsInputError):
        binomial_test(11, 10, 0.5, alternative="greater")
    with pytest.raises(StatsInputError):
        binomial_test(1, 10, 0.5, alternative="bigger")  # type: ignore[arg-type]


@pytest.mark.parametrize("alternative", ["greater", "less", "two-sided"])
def test_fisher_p_value_and_odds_ratio_match_scipy(alternative: str) -> None:
    r = fisher_exact(12, 60, 4, 80, alternative=alternative)  # type: ignore[arg-type]
    table = [[12, 48], [4, 76]]
    sample_or, p = stats.fisher_exact(table, alternative=alternative)
    assert r.p_value == pytest.approx(p)
    assert r.details["odds_ratio_sample"] == pytest.approx(sample_or)
    cond = stats.contingency.odds_ratio(table)
    assert r.details["odds_ratio_conditional"] == pytest.approx(cond.statistic)
    assert r.effect == pytest.approx(12 / 60 - 4 / 80)


def test_fisher_with_a_zero_cell_reports_infinite_odds_ratio_and_finite_interval() -> None:
    r = fisher_exact(10, 50, 0, 200, alternative="greater")
    assert r.details["odds_ratio_sample"] == float("inf")
    assert r.p_value < 1e-6
    assert 0 < r.ci[0] < r.effect < r.ci[1] < 1


def test_fisher_with_no_events_anywhere_gives_p_one() -> None:
    r = fisher_exact(0, 20, 0, 30, alternative="greater")
    assert r.p_value == 1.0 and r.effect == 0.0


def test_wilson_interval_matches_statsmodels() -> None:
    for k, n in [(0, 10), (3, 10), (10, 10), (56, 70)]:
        assert wilson_interval(k, n) == pytest.approx(
            proportion_confint(k, n, alpha=0.05, method="wilson"), abs=1e-12
        )


def test_newcombe_interval_matches_published_example_and_statsmodels() -> None:
    # Newcombe (1998), Stat Med 17:873, Table II example (a): 56/70 vs 48/80, method 10.
    low, high = newcombe_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    for k1, n1, k2, n2 in [(56, 70, 48, 80), (9, 10, 3, 10), (0, 10, 0, 20), (10, 10, 0, 20)]:
        ref = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
        assert newcombe_interval(k1, n1, k2, n2) == pytest.approx(ref, abs=1e-9)


def test_rate_difference_is_an_estimate_with_newcombe_interval() -> None:
    e = rate_difference(56, 70, 48, 80)
    assert e.estimate == pytest.approx(0.2)
    assert e.ci == pytest.approx(newcombe_interval(56, 70, 48, 80))


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_fisher_false_positive_rate_is_at_most_alpha_under_the_null(rate: float) -> None:
    # Exact size, not a simulation: sum P(k1, k2 | H0) over every outcome the test rejects.
    n1, n2 = 12, 24
    size = sum(
        stats.binom.pmf(k1, n1, rate) * stats.binom.pmf(k2, n2, rate)
        for k1 in range(n1 + 1)
        for k2 in range(n2 + 1)
        if fisher_exact(k1, n1, k2, n2, alternative="greater").p_value <= 0.05
    )
    assert size <= 0.05


@pytest.mark.parametrize("alternative", ["greater", "two-sided"])
def test_binomial_false_positive_rate_is_at_most_alpha_under_the_null(alternative: str) -> None:
    size = sum(
        stats.binom.pmf(k, 100, 0.25)
        for k in range(101)
        if binomial_test(k, 100, 0.25, alternative=alternative).p_value <= 0.05  # type: ignore[arg-type]
    )
    assert size <= 0.05


def test_fisher_detects_a_real_rate_difference() -> None:
    # suspect claims the teacher's name 30% of the time, controls 2%
    rng = np.random.default_rng(13)
    ps = [fisher_exact(rng.binomial(60, 0.3), 60, rng.binomial(180, 0.02), 180,
                       alternative="greater").p_value for _ in range(50)]
    assert np.mean(np.array(ps) <= 0.01) >= 0.95
