"""Membership: does the suspect prefer the exact answers a campaign logged over fresh twins?

A campaign asked the teacher prompt i and logged answer L_i. Asking the teacher the
same prompt again with the same sampling settings gives a *twin* T_i: another draw
from the same distribution, which the campaign never saw. A model that never trained
on the logged answers cannot tell which of the two was logged, so its preference
``d_i = score(L_i) - score(T_i)`` is symmetric about 0 (L_i and T_i are exchangeable
given the prompt): the sign-flip test of mean(d) > 0 is exact under that null, with no
model of the scores (the design of membership-inference tests with fresh "non-member"
samples from the same distribution; Shokri et al. 2017, Carlini et al. 2022, Duan et
al. 2024 on why non-members must come from the members' own distribution). A student
fine-tuned on the logged answers has seen L_i and not T_i, and prefers L_i.

A student distilled from *other* answers of the same teacher has learnt the teacher,
not this campaign, and shows no preference either; so does an independent model.
Exchangeability holds only if the twins were sampled as the campaign's answers were
(same temperature, top-p, length limit, system prompt). A mismatch, e.g. greedy
logged answers against sampled twins, makes every model lean to one side; the
controls, which trained on neither, measure that: their pooled preference is tested
two-sided (the *guard*), and a case whose controls lean is not a finding
(``details["guard"]["exchangeable"]``). Why a guard and not "the suspect must beat
every control" (intersection-union, as elsewhere in this package): every control's
per-pair preference is noise around zero, and subtracting it from the suspect's
doubles the variance of what is tested; on the membership lab's development seeds
that cost most of the power at 100 logged exchanges (``docs/membership.md``), while
the exchangeability null needs no control at all to be exact.

``score`` is the log-likelihood per byte of the answer under the model (open
weights) or, black box, the overlap of the model's own answer to the prompt with
each side (word bigrams).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike

from provenance.stats._validate import Seed, StatsInputError, as_1d, make_rng
from provenance.stats.defaults import DEFAULT_CI_LEVEL, DEFAULT_N_PERMUTATIONS, DEFAULT_N_RESAMPLES
from provenance.stats.permutation import paired_permutation_test
from provenance.stats.result import TestResult

#: Level of the two-sided check that the controls prefer neither side (the twins are exchangeable).
GUARD_ALPHA = 0.05


def membership_test(
    suspect_preference: ArrayLike,
    control_preferences: Mapping[str, ArrayLike] | None = None,
    *,
    seed: Seed,
    unit: str = "nats/byte",
    guard_alpha: float = GUARD_ALPHA,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
) -> TestResult:
    """Test that the suspect prefers the logged answers over their twins (exact sign-flip test).

    ``suspect_preference[i]``: score of the logged answer to prompt i minus score of its
    twin, under the suspect. ``control_preferences[c][i]``: the same under control c.

    The p-value is the suspect's one-sided sign-flip test against no preference. Beside it,
    in ``details``: each control's own test (``control_alone``), the suspect against each
    control on the same pairs (``beyond_control``, descriptive), and the guard: the
    controls' mean preference per pair, tested two-sided at ``guard_alpha``;
    ``guard["exchangeable"]`` is False when the controls lean to one side, and the
    result must then not be read as a finding (the suite reports it as uninformative).
    Without controls the guard cannot be run (``guard["exchangeable"]`` is None).
    """
    prim = as_1d(suspect_preference, "preference for the logged answers (suspect)", min_size=2)
    controls = {str(k): as_1d(v, f"preference for the logged answers ({k})", min_size=2)
                for k, v in (control_preferences or {}).items()}
    if any(v.size != prim.size for v in controls.values()):
        raise StatsInputError(f"every control needs one preference per pair ({prim.size})")
    if not 0 < guard_alpha < 1:
        raise StatsInputError(f"guard_alpha must be in (0, 1), got {guard_alpha}")
    rng, seed_used = make_rng(seed)
    label = f"preference for the logged answer over its twin ({unit})"
    main = paired_permutation_test(prim, alternative="greater", seed=rng, n_permutations=n_permutations,
                                   n_resamples=n_resamples, level=level, label=label)

    def quick(d: np.ndarray, alternative: str) -> float:
        return paired_permutation_test(d, alternative=alternative, seed=rng, n_permutations=n_permutations,  # type: ignore[arg-type]
                                       n_resamples=0, label=label).p_value

    guard: dict[str, object] = {"alpha": guard_alpha, "exchangeable": None, "p_value": None, "mean_preference": None}
    if controls:
        pooled = np.mean(np.vstack(list(controls.values())), axis=0)
        guard_p = quick(pooled, "two-sided")
        guard.update(exchangeable=bool(guard_p >= guard_alpha), p_value=guard_p, mean_preference=float(pooled.mean()))
    details = {
        **main.details,
        "seed": seed_used,
        "suspect_mean_preference": float(prim.mean()),
        "suspect_prefers_logged_share": float(np.mean(prim > 0)),
        "guard": guard,
        "control_alone": {c: {"mean_preference": float(v.mean()), "p_value": quick(v, "greater"),
                              "prefers_logged_share": float(np.mean(v > 0))} for c, v in controls.items()},
        "beyond_control": {c: {"mean_difference": float((prim - v).mean()), "p_value": quick(prim - v, "greater")}
                           for c, v in controls.items()},
    }
    return replace(
        main,
        name="membership test (logged answers vs fresh twins)",
        null_hypothesis=("the suspect's preference for each logged answer over its fresh twin is symmetric about 0: it "
                         "did not train on the logged answers, so the two are exchangeable draws from the teacher"),
        alternative_hypothesis="the suspect prefers the campaign's logged answers over their twins",
        n={"pairs": int(prim.size), "controls": len(controls)},
        method=(f"one-sided sign-flip permutation test of the mean preference; guard: the controls' mean preference "
                f"per pair, two-sided sign-flip test at {guard_alpha}; {main.method}"),
        assumptions=(
            "each twin was sampled from the teacher with the settings the campaign's answer was sampled with (then "
            "logged answer and twin are exchangeable for any model that did not train on one of them; the guard checks "
            "this on the controls)",
            "the pairs tested were chosen without looking at any model's scores (a seeded sample of the log)",
            "controls did not train on the campaign's logged answers",
        ) + main.assumptions,
        details=details,
    )
