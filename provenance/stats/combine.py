"""Combining p-values of several tests of one hypothesis (scipy.stats.combine_pvalues).

When to use: independent pieces of evidence for the same claim, e.g. a suite run on
disjoint prompt sets. When NOT to use: tests on the same data (Fisher's and
Stouffer's methods assume independence and overstate the evidence otherwise;
correct the family with ``correction.holm`` instead).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from provenance.stats._validate import StatsInputError
from provenance.stats.defaults import DEFAULT_CI_LEVEL
from provenance.stats.result import TestResult

CombineMethod = Literal["fisher", "stouffer", "pearson", "tippett", "mudholkar_george"]

_DESCRIPTION = {
    "fisher": ("Fisher's method: -2 sum log p ~ chi2(2k)", "chi-square statistic -2 sum log p"),
    "stouffer": ("Stouffer's method: sum w_i z_i / sqrt(sum w_i^2) ~ N(0,1)", "combined z"),
    "pearson": ("Pearson's method, based on sum log(1-p)", "statistic"),
    "tippett": ("Tippett's method: min p, with the exact 1-(1-min p)^k tail", "minimum p-value"),
    "mudholkar_george": ("Mudholkar-George logit method", "statistic"),
}


def combine_pvalues(
    p_values: ArrayLike,
    *,
    method: CombineMethod = "fisher",
    weights: ArrayLike | None = None,
) -> TestResult:
    """Combined test of H0 "every component null is true" against "at least one is false".

    Valid only for independent component tests (every method here, Tippett's
    included, assumes independence; under dependence use ``correction.holm``). ``weights`` only
    apply to Stouffer. The result has no effect size (effect = NaN, ci = None):
    combined p-values measure evidence, not magnitude.
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or p.size == 0:
        raise StatsInputError("p_values must be a non-empty 1-D sequence")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise StatsInputError("p-values must lie in [0, 1] (no NaN)")
    if method not in _DESCRIPTION:
        raise StatsInputError(f"unknown method {method!r}", hint=f"use one of {sorted(_DESCRIPTION)}")
    if weights is not None and method != "stouffer":
        raise StatsInputError("weights apply only to method='stouffer'")
    # p = 0 exactly makes Fisher's statistic infinite; a permutation p is never 0,
    # and an exact p of 0 is already decisive, so clip to the smallest positive float.
    clipped = np.clip(p, np.finfo(float).tiny, 1.0)
    res = _st.combine_pvalues(clipped, method=method, weights=weights)
    words, stat_name = _DESCRIPTION[method]
    return TestResult(
        name=f"combined p-value ({method})",
        null_hypothesis="every component null hypothesis is true",
        alternative_hypothesis="at least one component null hypothesis is false",
        alternative="greater",
        statistic=float(res.statistic),
        statistic_name=stat_name,
        p_value=float(min(1.0, max(0.0, res.pvalue))),
        effect=float("nan"),
        effect_name="none (a combined p-value measures evidence, not magnitude)",
        ci=None,
        ci_level=DEFAULT_CI_LEVEL,
        n={"tests": p.size},
        method=f"{words} (scipy.stats.combine_pvalues)",
        assumptions=(
            "the component tests are independent",
            "each component p-value is valid (uniform or conservative under its null)",
        ),
        details={"p_values": p, "weights": None if weights is None else np.asarray(weights, float)},
    )
