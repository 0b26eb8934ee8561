"""Bootstrap confidence intervals for effect sizes that have no closed-form interval.

A thin, seeded wrapper over ``scipy.stats.bootstrap`` so that every interval in a
report is reproducible from the recorded seed, and so that the known failure of BCa
on degenerate samples (all values equal) yields a stated fallback, not a NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from provenance.stats._validate import Seed, StatsInputError, as_1d, check_level, make_rng
from provenance.stats.defaults import (
    DEFAULT_BOOTSTRAP_METHOD,
    DEFAULT_CI_LEVEL,
    DEFAULT_N_RESAMPLES,
)
from provenance.stats.result import Estimate

#: Named statistics; a callable must accept ``axis=`` and reduce along it (vectorised).
_STATISTICS: dict[str, Callable[..., Any]] = {
    "mean": lambda x, axis=-1: np.mean(x, axis=axis),
    "median": lambda x, axis=-1: np.median(x, axis=axis),
    "mean_diff": lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
}


def _samples(data: ArrayLike | tuple[ArrayLike, ...]) -> tuple[np.ndarray, ...]:
    """A tuple means several samples; anything else is one sample."""
    if isinstance(data, tuple):
        return tuple(as_1d(s, f"bootstrap sample {i + 1}", min_size=2) for i, s in enumerate(data))
    return (as_1d(data, "bootstrap data", min_size=2),)


def bootstrap_ci(
    data: ArrayLike | tuple[ArrayLike, ...],
    statistic: str | Callable[..., Any] = "mean",
    *,
    seed: Seed,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
    method: str = DEFAULT_BOOTSTRAP_METHOD,
    paired: bool = False,
) -> Estimate:
    """Two-sided bootstrap interval for ``statistic`` of one or more samples.

    ``data`` is one 1-D sample, or a tuple of 1-D samples; several samples are
    resampled independently (``paired=False``, e.g. teacher texts and reference texts)
    or jointly by index (``paired=True``). ``statistic`` is "mean", "median",
    "mean_diff" (two samples) or a vectorised callable taking ``axis=``.
    ``method`` is "BCa" (default, see ``defaults.py``), "percentile" or "basic".
    """
    samples = _samples(data)
    level = check_level(level)
    if int(n_resamples) != n_resamples or n_resamples < 2:
        raise StatsInputError(f"n_resamples must be an integer >= 2, got {n_resamples!r}")
    fn = _STATISTICS[statistic] if isinstance(statistic, str) else statistic
    name = statistic if isinstance(statistic, str) else getattr(statistic, "__name__", "statistic")
    estimate = float(fn(*samples, axis=-1))
    rng, seed_used = make_rng(seed)
    details: dict[str, Any] = {"n_resamples": int(n_resamples), "seed": seed_used}
    n = {f"sample{i + 1}" if len(samples) > 1 else "observations": s.size
         for i, s in enumerate(samples)}
    if all(np.ptp(s) == 0 for s in samples):
        # Every resample gives the same value: the interval is the point itself.
        details["ci_method_used"] = "degenerate (all values equal)"
        return Estimate(
            name=f"bootstrap {name}", estimate=estimate, ci=(estimate, estimate),
            ci_level=level, n=n, method="bootstrap (degenerate sample)", details=details,
        )
    used = method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _st.bootstrap(
            samples, fn, n_resamples=int(n_resamples), confidence_level=level,
            method=method, paired=paired, vectorized=True, axis=-1, rng=rng,
        )
        low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
        if not (np.isfinite(low) and np.isfinite(high)) and method.lower() == "bca":
            used = "percentile"
            details["ci_note"] = "BCa undefined on this sample; percentile interval used"
            res = _st.bootstrap(
                samples, fn, n_resamples=0, confidence_level=level,
                method="percentile", paired=paired, vectorized=True, axis=-1,
                bootstrap_result=res, rng=rng,
            )
            low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    details["ci_method_used"] = used
    details["standard_error"] = float(res.standard_error)
    return Estimate(
        name=f"bootstrap {name}",
        estimate=estimate,
        ci=(low, high),
        ci_level=level,
        n=n,
        method=f"{used} bootstrap interval, {int(n_resamples)} resamples (scipy.stats.bootstrap)",
        details=details,
    )
