"""Exact tests on counts: one rate against a fixed value, two independent rates.

Exact (conditional) tests rather than z-tests because forensic counts are small and
often extreme (0 of 200 control answers claim the teacher's name): there the normal
approximation is wrong in exactly the tail that decides a finding.
"""

from __future__ import annotations

import math

from scipy import stats as _st

from provenance.stats._validate import StatsInputError, check_alternative, check_count, check_level
from provenance.stats.defaults import DEFAULT_CI_LEVEL
from provenance.stats.proportions import newcombe_interval
from provenance.stats.result import Alternative, TestResult

_WORDS = {"greater": "greater than", "less": "less than", "two-sided": "different from"}


def binomial_test(
    k: int, n: int, p0: float, *, alternative: Alternative, level: float = DEFAULT_CI_LEVEL
) -> TestResult:
    """Exact binomial test of H0: rate = p0, for k events in n independent trials.

    Use when the null rate is known from outside the data, e.g. the green-list
    fraction gamma of a watermark, or a chance rate. The effect is the observed rate
    k/n with the exact Clopper-Pearson interval (two-sided, guaranteed coverage).
    """
    k, n = check_count(k, n, "binomial_test")
    check_alternative(alternative)
    level = check_level(level)
    if not 0.0 < p0 < 1.0:
        raise StatsInputError(f"p0 must be in (0, 1), got {p0!r}")
    res = _st.binomtest(k, n, p0, alternative=alternative)
    ci = _st.binomtest(k, n, p0).proportion_ci(confidence_level=level, method="exact")
    return TestResult(
        name="exact binomial test",
        null_hypothesis=f"the event rate equals {p0:g}",
        alternative_hypothesis=f"the event rate is {_WORDS[alternative]} {p0:g}",
        alternative=alternative,
        statistic=k,
        statistic_name="number of events k",
        p_value=res.pvalue,
        effect=k / n,
        effect_name="observed rate k/n",
        ci=(ci.low, ci.high),
        ci_level=level,
        n={"trials": n},
        method="exact binomial test (scipy.stats.binomtest); Clopper-Pearson interval",
        assumptions=(
            "trials are independent",
            "every trial has the same event probability",
        ),
        details={"k": k, "n": n, "p0": p0},
    )


def fisher_exact(
    k1: int,
    n1: int,
    k2: int,
    n2: int,
    *,
    alternative: Alternative,
    level: float = DEFAULT_CI_LEVEL,
    label1: str = "group 1",
    label2: str = "group 2",
) -> TestResult:
    """Fisher's exact test of equal rates in two independent groups.

    Typical use: the suspect's rate of teacher-identity claims (k1 of n1 answers)
    against the pooled controls' rate (k2 of n2); ``alternative="greater"`` means
    group 1's rate is higher. The effect is the rate difference p1 - p2 with
    Newcombe's hybrid score interval; the odds ratio (sample and conditional MLE,
    with its exact conditional interval) is in ``details``.
    """
    k1, n1 = check_count(k1, n1, label1)
    k2, n2 = check_count(k2, n2, label2)
    check_alternative(alternative)
    level = check_level(level)
    table = [[k1, n1 - k1], [k2, n2 - k2]]
    sample_or, p = _st.fisher_exact(table, alternative=alternative)
    details: dict[str, object] = {
        "table": table,
        "rate1": k1 / n1,
        "rate2": k2 / n2,
        "odds_ratio_sample": float(sample_or),
    }
    if (k1 + k2) in (0, n1 + n2):
        # Nothing varies: the conditional odds ratio is undefined, p = 1.
        details["odds_ratio_conditional"] = math.nan
        details["odds_ratio_ci"] = [math.nan, math.nan]
    else:
        cond = _st.contingency.odds_ratio(table, kind="conditional")
        or_ci = cond.confidence_interval(confidence_level=level)
        details["odds_ratio_conditional"] = float(cond.statistic)
        details["odds_ratio_ci"] = [float(or_ci.low), float(or_ci.high)]
    return TestResult(
        name="Fisher exact test",
        null_hypothesis=f"the rate in {label1} equals the rate in {label2}",
        alternative_hypothesis=f"the rate in {label1} is {_WORDS[alternative]} the rate in {label2}",
        alternative=alternative,
        statistic=k1,
        statistic_name=f"events in {label1} (conditional on both margins)",
        p_value=p,
        effect=k1 / n1 - k2 / n2,
        effect_name=f"rate difference ({label1} - {label2})",
        ci=newcombe_interval(k1, n1, k2, n2, level),
        ci_level=level,
        n={"group1": n1, "group2": n2},
        method=(
            "Fisher exact test (scipy.stats.fisher_exact, conditional on margins); "
            "rate difference with Newcombe hybrid score interval (method 10); "
            "conditional odds ratio with exact interval"
        ),
        assumptions=(
            "observations are independent within and between groups",
            "within a group, every observation has the same event probability",
        ),
        details=details,
    )
