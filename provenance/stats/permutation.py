"""Permutation tests: two independent samples (relabelling) and paired data (sign flips).

Why permutation tests: their p-values are valid in finite samples under
exchangeability alone, with no distributional assumption about log-likelihoods,
agreement rates or features, which rarely look normal.

Monte Carlo p-values are p = (b + 1) / (m + 1), where b counts the m random
arrangements whose statistic is at least as extreme as the observed one; counting
the observed arrangement itself keeps the test exact (P(p <= a) <= a), never zero
(Phipson & Smyth 2010). When the number of distinct arrangements is no more than
``n_permutations``, every arrangement is enumerated instead and p = b / M is exact.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from provenance.stats._validate import (
    Seed,
    StatsInputError,
    as_1d,
    check_alternative,
    check_level,
    check_n_permutations,
    make_rng,
)
from provenance.stats.bootstrap import bootstrap_ci
from provenance.stats.defaults import (
    DEFAULT_CI_LEVEL,
    DEFAULT_N_PERMUTATIONS,
    DEFAULT_N_RESAMPLES,
    ENUMERATE_WHEN_AT_MOST_N_PERMUTATIONS,
    PERMUTATION_BATCH,
)
from provenance.stats.result import Alternative, Estimate, TestResult

TwoSampleStatistic = Callable[..., Any]

#: Two-sample statistics, vectorised over the last axis: (..., nx), (..., ny) -> (...).
_TWO_SAMPLE: dict[str, TwoSampleStatistic] = {
    "mean_diff": lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
    "median_diff": lambda x, y, axis=-1: np.median(x, axis=axis) - np.median(y, axis=axis),
}


def _welch_t(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Welch's t: the mean difference divided by its unpooled standard error.

    As a permutation statistic it keeps the test asymptotically valid for H0 "equal
    means" even when the two variances or sizes differ (Janssen 1997; Chung & Romano
    2013), where the raw mean difference would not be.
    """
    nx, ny = x.shape[axis], y.shape[axis]
    se = np.sqrt(np.var(x, axis=axis, ddof=1) / nx + np.var(y, axis=axis, ddof=1) / ny)
    diff = np.mean(x, axis=axis) - np.mean(y, axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.sign(diff) * np.inf)


_TWO_SAMPLE["welch_t"] = _welch_t

#: What the effect (and its interval) is for each named statistic: a t statistic is
#: not an effect size, so "welch_t" reports the mean difference.
_EFFECT_OF = {"mean_diff": "mean_diff", "median_diff": "median_diff", "welch_t": "mean_diff"}

_WORDS = {"greater": "greater than", "less": "less than", "two-sided": "different from"}


# --------------------------------------------------------------------------- engine


def p_from_null(
    observed: float, null: np.ndarray, alternative: str, *, exact: bool
) -> tuple[float, int]:
    """p-value and count b from the statistic's values over the arrangements.

    ``exact=True``: ``null`` holds every arrangement (the observed one included) and
    p = b/M. Otherwise ``null`` holds m random arrangements and p = (b+1)/(m+1).
    Two-sided uses |statistic|, so the statistic must be centred at 0 under H0
    (true of mean and median differences). A relative tolerance absorbs
    floating-point noise, so arrangements that tie the observed value count as ties.
    """
    scale = max(abs(observed), float(np.max(np.abs(null))) if null.size else 0.0)
    gamma = scale * 1e-12
    if alternative == "greater":
        b = int(np.count_nonzero(null >= observed - gamma))
    elif alternative == "less":
        b = int(np.count_nonzero(null <= observed + gamma))
    else:
        b = int(np.count_nonzero(np.abs(null) >= abs(observed) - gamma))
    m = null.size
    p = b / m if exact else (b + 1) / (m + 1)
    return min(1.0, p), b


def two_sample_null(
    pooled: np.ndarray,
    nx: int,
    fn: TwoSampleStatistic,
    n_permutations: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, bool]:
    """Statistic under relabelling of ``pooled`` into groups of nx and the rest."""
    n = pooled.size
    if ENUMERATE_WHEN_AT_MOST_N_PERMUTATIONS and math.comb(n, nx) <= n_permutations:
        idx = np.array(list(itertools.combinations(range(n), nx)), dtype=np.intp)
        mask = np.zeros((idx.shape[0], n), dtype=bool)
        np.put_along_axis(mask, idx, True, axis=1)
        order = np.argsort(~mask, axis=1, kind="stable")  # group-x indices first
        arranged = pooled[order]
        return np.asarray(fn(arranged[:, :nx], arranged[:, nx:], axis=-1), float), True
    out = np.empty(n_permutations)
    for start in range(0, n_permutations, PERMUTATION_BATCH):
        size = min(PERMUTATION_BATCH, n_permutations - start)
        arranged = rng.permuted(np.broadcast_to(pooled, (size, n)), axis=1)
        out[start : start + size] = fn(arranged[:, :nx], arranged[:, nx:], axis=-1)
    return out, False


def sign_flip_null(
    d: np.ndarray, n_permutations: int, rng: np.random.Generator
) -> tuple[np.ndarray, bool]:
    """Mean of ``d`` under independent random sign flips of each element."""
    n = d.size
    if ENUMERATE_WHEN_AT_MOST_N_PERMUTATIONS and n < 63 and 2**n <= n_permutations:
        bits = (np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n)) & 1
        return (1 - 2 * bits) @ d / n, True
    out = np.empty(n_permutations)
    for start in range(0, n_permutations, PERMUTATION_BATCH):
        size = min(PERMUTATION_BATCH, n_permutations - start)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(size, n))
        out[start : start + size] = signs @ d / n
    return out, False


def _method_text(kind: str, exact: bool, m: int) -> str:
    if exact:
        return f"{kind}, exact: all {m} arrangements enumerated, p = b/M"
    return f"{kind}, {m} random permutations, p = (b+1)/(m+1)"


def _effect_ci(
    samples: np.ndarray | tuple[np.ndarray, ...],
    statistic: str | Callable[..., Any],
    n_resamples: int,
    level: float,
    rng: np.random.Generator,
) -> Estimate | None:
    if n_resamples == 0:
        return None
    return bootstrap_ci(samples, statistic, seed=rng, n_resamples=n_resamples, level=level)


# --------------------------------------------------------------------------- public


def permutation_test_two_sample(
    x: ArrayLike,
    y: ArrayLike,
    *,
    alternative: Alternative,
    seed: Seed,
    statistic: str | TwoSampleStatistic = "mean_diff",
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
    label_x: str = "x",
    label_y: str = "y",
) -> TestResult:
    """Two-sample permutation test of H0: x and y come from the same distribution.

    ``statistic`` is "mean_diff" (mean(x) - mean(y)), "median_diff", "welch_t"
    (studentised mean difference; use it when the two variances may differ), or a
    vectorised callable ``f(x, y, axis=-1)``; "greater" means the statistic is large
    when x exceeds y. The effect is the mean difference for "welch_t" and the
    observed statistic otherwise, with a bootstrap interval
    (x and y resampled independently); ``n_resamples=0`` skips the interval
    (``ci=None``), e.g. inside simulations.
    """
    xa, ya = as_1d(x, label_x), as_1d(y, label_y)
    check_alternative(alternative)
    m = check_n_permutations(n_permutations)
    level = check_level(level)
    validate_statistic(statistic)
    fn = _TWO_SAMPLE[statistic] if isinstance(statistic, str) else statistic
    stat_name = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "statistic")
    effect_key = _EFFECT_OF[statistic] if isinstance(statistic, str) else None
    effect_fn = _TWO_SAMPLE[effect_key] if effect_key is not None else fn
    effect_name = effect_key if effect_key is not None else stat_name
    rng, seed_used = make_rng(seed)
    observed = float(fn(xa, ya, axis=-1))
    effect = float(effect_fn(xa, ya, axis=-1))
    null, exact = two_sample_null(np.concatenate([xa, ya]), xa.size, fn, m, rng)
    p, b = p_from_null(observed, null, alternative, exact=exact)
    est = (_effect_ci((xa, ya), effect_fn, n_resamples, level, rng)
           if xa.size > 1 and ya.size > 1 else None)
    details = _null_details(m, null, exact, b, seed_used, est, "a sample of size 1")
    return TestResult(
        name="two-sample permutation test",
        null_hypothesis=f"{label_x} and {label_y} are draws from the same distribution (labels exchangeable)",
        alternative_hypothesis=f"{stat_name} of {label_x} vs {label_y} is {_WORDS[alternative]} 0",
        alternative=alternative,
        statistic=observed,
        statistic_name=f"{stat_name} ({label_x} - {label_y})",
        p_value=p,
        effect=effect,
        effect_name=f"{effect_name} ({label_x} - {label_y})",
        ci=est.ci if est is not None else None,
        ci_level=level,
        n={label_x: xa.size, label_y: ya.size},
        method=_method_text("two-sample permutation test (relabelling)", exact, null.size),
        assumptions=(
            "observations are independent",
            "under H0 the group labels are exchangeable (same distribution, not just same mean)",
        ),
        details=details,
    )


def paired_permutation_test(
    d: ArrayLike,
    *,
    alternative: Alternative,
    seed: Seed,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
    label: str = "paired difference",
) -> TestResult:
    """Sign-flip permutation test of H0: the paired differences ``d`` are symmetric about 0.

    ``d[i]`` is one unit's difference between two conditions measured on the same
    unit (the same prompt, the same teacher sample), so per-unit difficulty cancels.
    The statistic and effect are mean(d); "greater" means d tends to be positive.
    The effect's interval is a bootstrap over units (``n_resamples=0`` skips it).
    """
    da = as_1d(d, label)
    check_alternative(alternative)
    m = check_n_permutations(n_permutations)
    level = check_level(level)
    rng, seed_used = make_rng(seed)
    observed = float(da.mean())
    null, exact = sign_flip_null(da, m, rng)
    p, b = p_from_null(observed, null, alternative, exact=exact)
    est = _effect_ci(da, "mean", n_resamples, level, rng) if da.size > 1 else None
    details = _null_details(m, null, exact, b, seed_used, est, "a single pair")
    details["n_zero_differences"] = int(np.count_nonzero(da == 0))
    return TestResult(
        name="paired permutation test",
        null_hypothesis=f"each {label} is symmetric about 0 (its sign is exchangeable)",
        alternative_hypothesis=f"the mean {label} is {_WORDS[alternative]} 0",
        alternative=alternative,
        statistic=observed,
        statistic_name=f"mean {label}",
        p_value=p,
        effect=observed,
        effect_name=f"mean {label}",
        ci=est.ci if est is not None else None,
        ci_level=level,
        n={"pairs": da.size},
        method=_method_text("paired permutation test (sign flipping)", exact, null.size),
        assumptions=(
            "pairs are independent of each other",
            "under H0 each difference is symmetric about 0",
        ),
        details=details,
    )


def validate_statistic(statistic: str | TwoSampleStatistic) -> None:
    """Raise if ``statistic`` names no known two-sample statistic."""
    if isinstance(statistic, str) and statistic not in _TWO_SAMPLE:
        raise StatsInputError(
            f"unknown statistic {statistic!r}", hint=f"use one of {sorted(_TWO_SAMPLE)} or a callable"
        )


def _null_details(
    requested: int, null: np.ndarray, exact: bool, b: int, seed_used: Any, est: Any, too_small: str
) -> dict[str, Any]:
    """What a permutation test records about its null distribution and its interval."""
    details: dict[str, Any] = {
        "n_permutations_requested": requested,
        "n_permutations": int(null.size),
        "exact_enumeration": exact,
        "b": b,
        "seed": seed_used,
    }
    if est is not None:
        details.update(n_resamples=est.details["n_resamples"], ci_method=est.method)
    else:
        details["ci_note"] = f"no interval requested (n_resamples=0) or {too_small}"
    return details
