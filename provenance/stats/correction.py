"""Multiple-testing corrections over a family of tests (statsmodels' multipletests).

A case runs many tests (suites x controls x statistics); reporting any one of them
at face value would inflate the false-positive rate. Holm controls the
family-wise error rate (the probability of even one false finding) under any
dependence: use it for the verdict. Benjamini-Hochberg controls the expected
share of false findings among reported ones; valid under independence or positive
dependence (PRDS), suitable for exploratory listings, not for the verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from statsmodels.stats.multitest import multipletests

from provenance.config import DEFAULT_ALPHA
from provenance.stats._validate import StatsInputError
from provenance.stats.result import CorrectedResult, TestResult, to_json_safe

Correction = Literal["holm", "bh"]
_SM_METHOD = {"holm": "holm", "bh": "fdr_bh"}
_DESCRIPTION = {
    "holm": "Holm step-down (family-wise error rate, any dependence)",
    "bh": "Benjamini-Hochberg step-up (false discovery rate, independence or PRDS)",
}


@dataclasses.dataclass(frozen=True)
class CorrectedPValues:
    """Adjusted p-values and reject flags for a family, in the input order."""

    method: str
    alpha: float
    p_values: tuple[float, ...]
    p_adjusted: tuple[float, ...]
    reject: tuple[bool, ...]

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON dict."""
        return to_json_safe(dataclasses.asdict(self))


def _correct(p_values: ArrayLike, method: Correction, alpha: float) -> CorrectedPValues:
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1:
        raise StatsInputError(f"p_values must be one-dimensional, got shape {p.shape}")
    if np.any(~np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise StatsInputError("p-values must lie in [0, 1] (no NaN)")
    if not 0 < alpha < 1:
        raise StatsInputError(f"alpha must be in (0, 1), got {alpha!r}")
    if p.size == 0:
        return CorrectedPValues(_DESCRIPTION[method], float(alpha), (), (), ())
    reject, adjusted, _, _ = multipletests(p, alpha=alpha, method=_SM_METHOD[method])
    return CorrectedPValues(
        method=_DESCRIPTION[method],
        alpha=float(alpha),
        p_values=tuple(float(v) for v in p),
        p_adjusted=tuple(float(v) for v in adjusted),
        reject=tuple(bool(v) for v in reject),
    )


def holm(p_values: ArrayLike, *, alpha: float = DEFAULT_ALPHA) -> CorrectedPValues:
    """Holm-adjusted p-values; ``reject[i]`` is True iff ``p_adjusted[i] <= alpha``."""
    return _correct(p_values, "holm", alpha)


def benjamini_hochberg(p_values: ArrayLike, *, alpha: float = DEFAULT_ALPHA) -> CorrectedPValues:
    """Benjamini-Hochberg adjusted p-values (q-values) and reject flags at FDR ``alpha``."""
    return _correct(p_values, "bh", alpha)


def correct_family(
    results: Sequence[TestResult], *, method: Correction = "holm", alpha: float = DEFAULT_ALPHA
) -> list[CorrectedResult]:
    """Correct a family of test results together; returns them in the same order.

    The family must be fixed before the data are seen (pre-registered): dropping
    tests after looking at their p-values would defeat the correction.
    """
    if method not in _SM_METHOD:
        raise StatsInputError(f"unknown correction {method!r}", hint="use 'holm' or 'bh'")
    corrected = _correct([r.p_value for r in results], method, alpha)
    return [
        CorrectedResult(result=r, p_adjusted=pa, reject=rej, correction=corrected.method,
                        alpha=alpha, family_size=len(results))
        for r, pa, rej in zip(results, corrected.p_adjusted, corrected.reject)
    ]
