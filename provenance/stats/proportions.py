"""Confidence intervals for rates and rate differences (closed form, no resampling).

Why these intervals: the Wald interval p +- z*sqrt(p(1-p)/n) collapses to zero width
at 0 or n events, which is exactly where forensic counts live (a control model that
never claims to be the teacher). Wilson's score interval and Newcombe's hybrid score
interval for a difference keep close to nominal coverage there
(Newcombe 1998, Statistics in Medicine 17:873-890, method 10; Brown, Cai & DasGupta 2001).
"""

from __future__ import annotations

import math

from scipy import stats as _st

from provenance.stats._validate import check_count, check_level
from provenance.stats.defaults import DEFAULT_CI_LEVEL
from provenance.stats.result import Estimate


def wilson_interval(k: int, n: int, level: float = DEFAULT_CI_LEVEL) -> tuple[float, float]:
    """Two-sided Wilson score interval for k events in n trials (no continuity correction)."""
    k, n = check_count(k, n, "wilson_interval")
    z = float(_st.norm.ppf(0.5 + check_level(level) / 2.0))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Clamp rounding noise only; the exact endpoints are 0 when k == 0 and 1 when k == n.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)


def newcombe_interval(
    k1: int, n1: int, k2: int, n2: int, level: float = DEFAULT_CI_LEVEL
) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for p1 - p2, independent samples.

    Combines the two Wilson intervals: L = d - sqrt((p1-l1)^2 + (u2-p2)^2),
    U = d + sqrt((u1-p1)^2 + (p2-l2)^2), with d = p1 - p2.
    """
    k1, n1 = check_count(k1, n1, "group 1")
    k2, n2 = check_count(k2, n2, "group 2")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (max(-1.0, low), min(1.0, high))


def rate_difference(
    k1: int, n1: int, k2: int, n2: int, *, level: float = DEFAULT_CI_LEVEL
) -> Estimate:
    """Difference of two independent rates, k1/n1 - k2/n2, with Newcombe's interval.

    An estimate, not a test: pair it with ``fisher_exact`` for the p-value. Typical
    use: refusal rate of the suspect minus refusal rate of the teacher on harmful
    prompts (the "lost guardrails" signature), reported with its uncertainty.
    """
    k1, n1 = check_count(k1, n1, "group 1")
    k2, n2 = check_count(k2, n2, "group 2")
    level = check_level(level)
    return Estimate(
        name="rate difference",
        estimate=k1 / n1 - k2 / n2,
        ci=newcombe_interval(k1, n1, k2, n2, level),
        ci_level=level,
        n={"group1": n1, "group2": n2},
        method="difference of proportions, Newcombe hybrid score interval (1998, method 10)",
        details={"k1": k1, "n1": n1, "rate1": k1 / n1, "k2": k2, "n2": n2, "rate2": k2 / n2},
    )
