"""Kernel two-sample test: unbiased MMD^2 with a permutation p-value.

Why MMD: response features (lengths, n-gram profiles, embeddings) are vectors, and
a difference in their distributions can show in any direction, in the mean or
beyond it. MMD with a characteristic kernel (RBF) detects any difference given
enough data (Gretton et al. 2012, JMLR 13:723-773). The permutation p-value is
valid in finite samples; the asymptotic null distribution is not used.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.distance import cdist

from provenance.stats._validate import (
    Seed,
    StatsInputError,
    as_2d,
    check_n_permutations,
    make_rng,
)
from provenance.stats.defaults import DEFAULT_CI_LEVEL, DEFAULT_N_PERMUTATIONS, PERMUTATION_BATCH
from provenance.stats.permutation import p_from_null
from provenance.stats.result import TestResult


def median_bandwidth(Z: np.ndarray) -> float:
    """Median heuristic: the median pairwise Euclidean distance of the pooled sample.

    Computed on X and Y pooled, so it is the same for every relabelling and the
    permutation test stays exact (choosing it from one group would not be).
    """
    d = cdist(Z, Z)
    off = d[np.triu_indices_from(d, k=1)]
    off = off[off > 0]
    return float(np.median(off)) if off.size else 1.0


def _gram(Z: np.ndarray, kernel: str, bandwidth: float) -> np.ndarray:
    if kernel == "rbf":
        return np.exp(-cdist(Z, Z, "sqeuclidean") / (2.0 * bandwidth**2))
    if kernel == "linear":
        return Z @ Z.T
    raise StatsInputError(f"unknown kernel {kernel!r}", hint="use 'rbf' or 'linear'")


def _mmd2_unbiased(K0: np.ndarray, S: np.ndarray, nx: int, ny: int) -> np.ndarray:
    """Unbiased MMD^2 for each row of the 0/1 membership matrix S (1 = in X).

    ``K0`` is the Gram matrix with its diagonal set to zero, so the i == j terms
    drop out of the within-sample sums, as the U-statistic requires.
    """
    T = 1.0 - S
    SK = S @ K0
    kxx = np.einsum("bi,bi->b", SK, S)
    kxy = np.einsum("bi,bi->b", SK, T)
    kyy = np.einsum("bi,bi->b", T @ K0, T)
    return kxx / (nx * (nx - 1)) + kyy / (ny * (ny - 1)) - 2.0 * kxy / (nx * ny)


def mmd_test(
    X: ArrayLike,
    Y: ArrayLike,
    *,
    seed: Seed,
    kernel: Literal["rbf", "linear"] = "rbf",
    bandwidth: float | Literal["median"] = "median",
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    label_x: str = "X",
    label_y: str = "Y",
) -> TestResult:
    """Permutation test of H0: the rows of X and of Y come from the same distribution.

    X is (n_x, d), Y is (n_y, d) (1-D input is one feature). The statistic is the
    unbiased estimate of MMD^2 (can be slightly negative under H0); the alternative
    is always "greater" because MMD^2 >= 0 with equality only under H0. The effect
    is the same MMD^2; it has no interval (``ci=None``): a bootstrap of a degenerate
    U-statistic near zero has unreliable coverage, and the p-value carries the claim.
    Scale features before calling: the RBF kernel uses one bandwidth for every feature.
    """
    Xa, Ya = as_2d(X, label_x), as_2d(Y, label_y)
    if Xa.shape[1] != Ya.shape[1]:
        raise StatsInputError(f"{label_x} and {label_y} have different feature counts: "
                              f"{Xa.shape[1]} vs {Ya.shape[1]}")
    m = check_n_permutations(n_permutations)
    rng, seed_used = make_rng(seed)
    Z = np.vstack([Xa, Ya])
    nx, ny = Xa.shape[0], Ya.shape[0]
    bw = median_bandwidth(Z) if bandwidth == "median" else float(bandwidth)
    if kernel == "rbf" and not bw > 0:
        raise StatsInputError(f"bandwidth must be positive, got {bandwidth!r}")
    K0 = _gram(Z, kernel, bw)
    np.fill_diagonal(K0, 0.0)
    s_obs = np.concatenate([np.ones(nx), np.zeros(ny)])
    observed = float(_mmd2_unbiased(K0, s_obs[None, :], nx, ny)[0])
    null = np.empty(m)
    for start in range(0, m, PERMUTATION_BATCH):
        size = min(PERMUTATION_BATCH, m - start)
        S = rng.permuted(np.broadcast_to(s_obs, (size, nx + ny)), axis=1)
        null[start : start + size] = _mmd2_unbiased(K0, S, nx, ny)
    p, b = p_from_null(observed, null, "greater", exact=False)
    kdesc = f"RBF kernel, bandwidth {bw:.4g}" + (" (median heuristic)" if bandwidth == "median" else "")
    if kernel == "linear":
        kdesc = "linear kernel (compares means only)"
    details: dict[str, Any] = {
        "n_permutations": m, "b": b, "seed": seed_used, "kernel": kernel,
        "bandwidth": bw if kernel == "rbf" else None, "n_features": Xa.shape[1],
        "ci_note": "no interval: bootstrap coverage for MMD^2 near 0 is unreliable",
    }
    return TestResult(
        name="MMD two-sample test",
        null_hypothesis=f"{label_x} and {label_y} are samples from the same distribution",
        alternative_hypothesis=f"the distributions of {label_x} and {label_y} differ",
        alternative="greater",
        statistic=observed,
        statistic_name="unbiased MMD^2",
        p_value=p,
        effect=observed,
        effect_name=f"unbiased MMD^2 ({kdesc})",
        ci=None,
        ci_level=DEFAULT_CI_LEVEL,
        n={label_x: nx, label_y: ny},
        method=f"kernel MMD test (Gretton et al. 2012), {kdesc}, {m} random permutations, p = (b+1)/(m+1)",
        assumptions=(
            "rows are independent",
            "under H0 the rows of both samples are exchangeable",
            "features are on comparable scales (one bandwidth for all)",
        ),
        details=details,
    )
