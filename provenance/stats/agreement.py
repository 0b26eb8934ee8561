"""Agreement between two labelings of the same items: Cohen's kappa and McNemar's test.

Used where two models answer the same prompts: do they refuse the same prompts
(kappa), and does one refuse more often than the other (McNemar)? Both are
paired designs: each prompt is its own control, so prompt difficulty cancels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st
from statsmodels.stats.contingency_tables import mcnemar as _sm_mcnemar
from statsmodels.stats.inter_rater import cohens_kappa as _sm_kappa

from provenance.stats._validate import (
    Seed,
    StatsInputError,
    check_alternative,
    check_level,
    check_n_permutations,
    make_rng,
)
from provenance.stats.defaults import DEFAULT_CI_LEVEL, DEFAULT_N_PERMUTATIONS, DEFAULT_N_RESAMPLES, PERMUTATION_BATCH
from provenance.stats.permutation import p_from_null
from provenance.stats.result import Alternative, TestResult

_WORDS = {"greater": "greater than", "less": "less than", "two-sided": "different from"}


def _labels(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer codes for a and b over their joint categories, plus the categories."""
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape or a_arr.size == 0:
        raise StatsInputError(
            f"a and b must be non-empty 1-D label arrays of equal length, got {a_arr.shape} and {b_arr.shape}"
        )
    categories, codes = np.unique(np.concatenate([a_arr, b_arr]), return_inverse=True)
    return codes[: a_arr.size], codes[a_arr.size :], categories


def _kappa_from_codes(ca: np.ndarray, cb: np.ndarray, k: int) -> np.ndarray:
    """Kappa for each row of ``cb`` (2-D) against ``ca``; NaN where undefined."""
    cb = np.atleast_2d(cb)
    n = ca.size
    po = (cb == ca).mean(axis=1)
    pa = np.bincount(ca, minlength=k) / n
    pb = np.bincount(cb[0], minlength=k) / n  # margins are invariant under shuffling b
    pe = float(pa @ pb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (po - pe) / (1.0 - pe) if pe < 1.0 else np.full(po.shape, np.nan)


def cohen_kappa(
    a: ArrayLike,
    b: ArrayLike,
    *,
    alternative: Alternative = "greater",
    level: float = DEFAULT_CI_LEVEL,
    seed: Seed | None = None,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    label_a: str = "a",
    label_b: str = "b",
) -> TestResult:
    """Cohen's kappa between two labelings of the same items, with a test of kappa = 0.

    Why kappa rather than raw agreement: two models that both refuse 90% of prompts
    agree on 82% of prompts by chance alone; kappa measures agreement beyond that.

    Test (conditional on both labelings' margins, H0: the labelings are independent):
    with two categories the 2x2 table is fixed by its margins and one cell, and
    kappa increases with that cell, so the exact test is Fisher's exact test; with
    more categories, a permutation test that shuffles ``b`` against ``a`` (needs
    ``seed``). Interval: kappa +- z * ASE, the large-sample standard error of
    Fleiss, Cohen & Everitt (1969) as computed by statsmodels, clipped to [-1, 1].
    """
    ca, cb, categories = _labels(a, b)
    check_alternative(alternative)
    level = check_level(level)
    k = max(int(categories.size), 2)
    n = ca.size
    table = np.zeros((k, k), dtype=np.int64)
    np.add.at(table, (ca, cb), 1)
    kappa = float(_kappa_from_codes(ca, cb, k)[0])
    details: dict[str, Any] = {
        "categories": [str(c) for c in categories],
        "table": table,
        "observed_agreement": float(np.trace(table) / n),
    }
    ci: tuple[float, float] | None = None
    if math.isnan(kappa):
        details["note"] = "kappa undefined: both labelings put every item in one category"
        details["ci_note"] = "kappa undefined, no interval"
        return _kappa_result(kappa, 1.0, ci, level, n, alternative, "undefined (no variation)",
                             label_a, label_b, details)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = _sm_kappa(table)
    z = float(_st.norm.ppf(0.5 + level / 2))
    ase = float(sm["std_kappa"])
    ci = (max(-1.0, kappa - z * ase), min(1.0, kappa + z * ase))
    details.update(
        expected_agreement=float((table.sum(1) @ table.sum(0)) / n**2),
        ase=ase,
        asymptotic_z=float(sm["z_value"]),
        asymptotic_p_one_sided=float(sm["pvalue_one_sided"]),
    )
    if categories.size <= 2:
        _, p = _st.fisher_exact(table[:2, :2], alternative=alternative)
        test = "exact conditional test (Fisher exact test on the 2x2 agreement table)"
    else:
        if seed is None:
            raise StatsInputError(
                "cohen_kappa with more than two categories uses a permutation test and needs seed=",
                hint="pass an integer seed derived from the case seed",
            )
        m = check_n_permutations(n_permutations)
        rng, seed_used = make_rng(seed)
        rows = np.concatenate(
            [_kappa_from_codes(ca, rng.permuted(np.broadcast_to(cb, (min(1000, m - s), n)), axis=1), k)
             for s in range(0, m, 1000)]
        )
        p, b_count = p_from_null(kappa, rows, alternative, exact=False)
        details.update(n_permutations=m, b=b_count, seed=seed_used)
        test = f"permutation test shuffling {label_b} against {label_a}, {m} permutations, p = (b+1)/(m+1)"
    return _kappa_result(kappa, p, ci, level, n, alternative, test, label_a, label_b, details)


def _kappa_result(
    kappa: float, p: float, ci: tuple[float, float] | None, level: float, n: int,
    alternative: str, test: str, label_a: str, label_b: str, details: dict[str, Any],
) -> TestResult:
    return TestResult(
        name="Cohen's kappa",
        null_hypothesis=f"the labels of {label_a} and {label_b} are independent (kappa = 0)",
        alternative_hypothesis=f"kappa between {label_a} and {label_b} is {_WORDS[alternative]} 0",
        alternative=alternative,  # type: ignore[arg-type]
        statistic=kappa,
        statistic_name="Cohen's kappa",
        p_value=p,
        effect=kappa,
        effect_name="Cohen's kappa (agreement beyond chance)",
        ci=ci,
        ci_level=level,
        n={"items": n},
        method=f"Cohen's kappa; test: {test}; interval: asymptotic (Fleiss-Cohen-Everitt ASE, statsmodels)",
        assumptions=(
            "items are independent",
            "the same items are labelled by both",
            "the interval is large-sample: coverage is approximate for small n or kappa near +-1",
        ),
        details=details,
    )


def mcnemar(
    a: ArrayLike,
    b: ArrayLike,
    *,
    alternative: Alternative,
    level: float = DEFAULT_CI_LEVEL,
    label_a: str = "a",
    label_b: str = "b",
) -> TestResult:
    """McNemar's exact test of equal event rates in two paired binary labelings.

    Typical use: on the same harmful prompts, does the suspect refuse less often than
    the teacher? Only discordant items (refused by one, not the other) carry
    information: with n10 = #(a=1, b=0) and n01 = #(a=0, b=1), under H0 n10 is
    Binomial(n10 + n01, 1/2). "greater" means a's rate exceeds b's.

    Always exact (binomial): it is valid at every count and cheap, so there is no
    reason to switch to the chi-square approximation at large counts; the
    chi-square statistic is in ``details`` for readers who expect it. The two-sided
    p-value comes from statsmodels' exact McNemar, one-sided from scipy's binomtest.
    Effect: rate(a) - rate(b) with the Agresti-Min (2005) adjusted Wald interval
    for paired proportions (adds 1/2 to each cell; good coverage at small counts).
    """
    a_arr, b_arr = np.asarray(a), np.asarray(b)
    if a_arr.ndim != 1 or a_arr.shape != b_arr.shape or a_arr.size == 0:
        raise StatsInputError("a and b must be non-empty 1-D binary arrays of equal length")
    if not (np.isin(a_arr, (0, 1)).all() and np.isin(b_arr, (0, 1)).all()):
        raise StatsInputError("mcnemar needs binary labels (0/1 or False/True)")
    check_alternative(alternative)
    level = check_level(level)
    a_i, b_i = a_arr.astype(bool), b_arr.astype(bool)
    n = a_i.size
    n11 = int(np.sum(a_i & b_i))
    n10 = int(np.sum(a_i & ~b_i))
    n01 = int(np.sum(~a_i & b_i))
    n00 = n - n11 - n10 - n01
    disc = n10 + n01
    details: dict[str, Any] = {"table": [[n11, n10], [n01, n00]], "n10": n10, "n01": n01,
                               "rate_a": (n11 + n10) / n, "rate_b": (n11 + n01) / n}
    if disc == 0:
        p = 1.0
        details["note"] = "no discordant pairs: the data carry no evidence either way"
    elif alternative == "two-sided":
        p = float(_sm_mcnemar([[n11, n10], [n01, n00]], exact=True).pvalue)
    else:
        p = float(_st.binomtest(n10, disc, 0.5, alternative=alternative).pvalue)
    if disc > 0:
        details["chi2_uncorrected"] = (n10 - n01) ** 2 / disc
    # Agresti & Min (2005): add 1/2 to every cell, then the Wald interval.
    z = float(_st.norm.ppf(0.5 + level / 2))
    nt = n + 2.0
    p10, p01 = (n10 + 0.5) / nt, (n01 + 0.5) / nt
    centre = p10 - p01
    half = z * math.sqrt(max(0.0, (p10 + p01) - centre**2) / nt)
    return TestResult(
        name="McNemar exact test",
        null_hypothesis=f"{label_a} and {label_b} have the same event rate on these items",
        alternative_hypothesis=f"the event rate of {label_a} is {_WORDS[alternative]} that of {label_b}",
        alternative=alternative,
        statistic=n10,
        statistic_name=f"discordant items with {label_a}=1, {label_b}=0 (of {disc} discordant)",
        p_value=p,
        effect=(n10 - n01) / n,
        effect_name=f"rate difference ({label_a} - {label_b}), paired",
        ci=(max(-1.0, centre - half), min(1.0, centre + half)),
        ci_level=level,
        n={"items": n, "discordant": disc},
        method=(
            "McNemar exact test (binomial on discordant pairs; statsmodels / scipy.stats.binomtest); "
            "Agresti-Min adjusted Wald interval"
        ),
        assumptions=("items are independent", "each item is labelled by both, in the same order"),
        details=details,
    )


def _kappa_rows(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Cohen's kappa of each row of ``a`` against the same row of ``b`` (2-D integer codes).

    Where both rows are constant (pe = 1) kappa is undefined; it counts as 0 here, "no
    agreement beyond chance can be measured", so a resample never makes a finding by NaN.
    """
    po = (a == b).mean(axis=1)
    pe = np.zeros(a.shape[0])
    for code in range(k):
        pe += (a == code).mean(axis=1) * (b == code).mean(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = (po - pe) / (1.0 - pe)
    return np.where(pe < 1.0 - 1e-12, kappa, 0.0)


def kappa_contrast_test(
    suspect: ArrayLike,
    teacher: ArrayLike,
    controls: Mapping[str, ArrayLike],
    *,
    seed: Seed,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
    what: str = "labels",
) -> TestResult:
    """Does the suspect agree with the teacher beyond chance more than with every control?

    Labels (e.g. refused / complied, right / wrong) of the same items by the suspect,
    the teacher and each control. Per control the statistic is
    kappa(suspect, teacher) - kappa(suspect, control): Cohen's kappa removes the
    agreement the two models' own rates predict, so two models that both seldom refuse,
    or a control that refuses everything, cannot make raw agreement look like
    inheritance (error consistency, Geirhos et al. 2020, NeurIPS, is this kappa on
    correctness). Test of H0 "difference <= 0" by a paired bootstrap over items (the
    same resampled items for all models), p = (1 + #{d*_b - d >= d}) / (B + 1)
    (the shifted-null bootstrap test, Hall & Wilson 1991, Biometrics 47:757).
    Controls are combined by the intersection-union rule (p = max p). Effect: the
    kappa difference against the binding control, with a percentile interval.
    """
    s_arr, t_arr = np.asarray(suspect), np.asarray(teacher)
    if not controls:
        raise StatsInputError("kappa_contrast_test needs at least one control",
                              hint="agreement with the teacher alone cannot separate derivation from shared difficulty")
    labels = [s_arr, t_arr, *(np.asarray(v) for v in controls.values())]
    if any(x.ndim != 1 or x.shape != s_arr.shape for x in labels) or s_arr.size < 2:
        raise StatsInputError("suspect, teacher and every control need 1-D labels of the same items (at least 2)")
    level = check_level(level)
    if n_resamples < 99:
        raise StatsInputError(f"n_resamples must be at least 99 for a bootstrap test, got {n_resamples}")
    categories, codes = np.unique(np.concatenate(labels), return_inverse=True)
    n = s_arr.size
    codes = codes.reshape(len(labels), n)
    k = max(int(categories.size), 2)
    rng, seed_used = make_rng(seed)
    names = [str(c) for c in controls]
    observed = {
        m: float(_kappa_rows(codes[0][None, :], codes[j][None, :], k)[0])
        for j, m in [(1, "teacher"), *((2 + i, c) for i, c in enumerate(names))]
    }
    diffs = {c: observed["teacher"] - observed[c] for c in names}
    boot = {c: np.empty(n_resamples) for c in names}
    for start in range(0, n_resamples, PERMUTATION_BATCH):
        size = min(PERMUTATION_BATCH, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        s_b, t_b = codes[0][idx], codes[1][idx]
        k_t = _kappa_rows(s_b, t_b, k)
        for i, c in enumerate(names):
            boot[c][start : start + size] = k_t - _kappa_rows(s_b, codes[2 + i][idx], k)
    per_control = []
    for c in names:
        b = int(np.count_nonzero(boot[c] - diffs[c] >= diffs[c] - 1e-12))
        lo, hi = np.quantile(boot[c], [(1 - level) / 2, (1 + level) / 2])
        per_control.append({"control": c, "kappa_difference": diffs[c], "p_value": (b + 1) / (n_resamples + 1),
                            "ci": [float(lo), float(hi)], "kappa_suspect_control": observed[c]})
    binding = max(per_control, key=lambda r: (r["p_value"], -r["kappa_difference"]))
    details: dict[str, Any] = {
        "decision_rule": "intersection-union test: p = max over controls of the per-control p-values",
        "binding_control": binding["control"],
        "per_control": per_control,
        "kappa_suspect_teacher": observed["teacher"],
        "categories": [str(c) for c in categories],
        "rates": {m: [float(np.mean(codes[j] == code)) for code in range(k)]
                  for j, m in enumerate(["suspect", "teacher", *names])},
        "n_resamples": int(n_resamples),
        "seed": seed_used,
    }
    return TestResult(
        name="kappa contrast test",
        null_hypothesis=(f"for at least one control, the suspect's {what} agree with the teacher's beyond chance "
                         "no more than with that control's (Cohen's kappa)"),
        alternative_hypothesis=(f"the suspect's {what} agree with the teacher's beyond chance more than with "
                                "every control's"),
        alternative="greater",
        statistic=binding["kappa_difference"],
        statistic_name=f"kappa(suspect, teacher) - kappa(suspect, {binding['control']}); binding control",
        p_value=float(binding["p_value"]),
        effect=binding["kappa_difference"],
        effect_name=f"difference in Cohen's kappa, teacher minus {binding['control']} (binding control)",
        ci=(binding["ci"][0], binding["ci"][1]),
        ci_level=level,
        n={"items": n, "controls": len(names)},
        method=(f"Cohen's kappa difference per control; paired bootstrap test over items ({n_resamples} resamples, "
                "shifted null); intersection-union over controls (max p); interval: bootstrap percentile"),
        assumptions=(
            "items are independent draws from the probe population",
            "the same items are labelled by every model",
            "bootstrap p-values are approximate (first-order accurate); with few items of the rarer label "
            "the test is reported as uninformative instead",
        ),
        details=details,
    )
