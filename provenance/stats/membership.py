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
logged answers against sampled twins, makes every model prefer one side; the
controls measure that: the test also requires the suspect's preference to exceed
every control's on the same pairs (intersection-union, as in ``contrast.py``), and
each control's own preference is reported with its p-value.

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
from provenance.stats.contrast import contrast_against_controls
from provenance.stats.defaults import DEFAULT_CI_LEVEL, DEFAULT_N_PERMUTATIONS, DEFAULT_N_RESAMPLES
from provenance.stats.permutation import paired_permutation_test
from provenance.stats.result import TestResult

#: Name of the "no preference" competitor: the exact exchangeability null, d symmetric about 0.
NO_PREFERENCE = "twin (no preference)"


def membership_test(
    suspect_preference: ArrayLike,
    control_preferences: Mapping[str, ArrayLike] | None = None,
    *,
    seed: Seed,
    unit: str = "nats/byte",
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
) -> TestResult:
    """Test that the suspect prefers the logged answers over their twins, more than every control does.

    ``suspect_preference[i]``: score of the logged answer to prompt i minus score of its
    twin, under the suspect. ``control_preferences[c][i]``: the same under control c.

    Per-comparison sign-flip tests, combined by the intersection-union rule (p = max):
    against 0 (exact under exchangeability of logged answer and twin) and against each
    control's preference on the same pairs (guards against twins that were not sampled
    as the campaign's answers were). ``details["control_alone"]`` gives each control's
    own test against 0: an independent control should show nothing.
    """
    prim = as_1d(suspect_preference, "preference for the logged answers (suspect)", min_size=2)
    controls = {str(k): as_1d(v, f"preference for the logged answers ({k})", min_size=2)
                for k, v in (control_preferences or {}).items()}
    if NO_PREFERENCE in controls:
        raise StatsInputError(f"{NO_PREFERENCE!r} is reserved for the exchangeability null")
    if any(v.size != prim.size for v in controls.values()):
        raise StatsInputError(f"every control needs one preference per pair ({prim.size})")
    rng, seed_used = make_rng(seed)
    competitors = {NO_PREFERENCE: np.zeros(prim.size), **controls}
    result = contrast_against_controls(
        prim, competitors, seed=rng, n_permutations=n_permutations, n_resamples=n_resamples, level=level,
        control_names=None, reference_primary=None, reference_competitors=None,
        name="membership test (logged answers vs fresh twins)",
        quantity="preference for the logged answers over their twins",
        unit=unit,
        units="pairs",
        null_words=("the suspect prefers the campaign's logged answers over fresh twins (the teacher's answers to "
                    "the same prompts under the same settings) no more than chance, or no more than some control does"),
        alt_words="the suspect prefers the logged answers over their twins, and more than every control does",
        difference_label="per-pair preference for the logged answer, suspect minus {control}",
        effect_label="mean preference for the logged answers, suspect minus {control}",
        assumptions=(
            "each twin was sampled from the teacher with the settings the campaign's answer was sampled with "
            "(then logged answer and twin are exchangeable for any model that did not train on one of them)",
            "the pairs tested were chosen without looking at the suspect's scores (a seeded sample of the log)",
            "controls did not train on the campaign's logged answers",
        ),
    )
    alone = {
        c: paired_permutation_test(v, alternative="greater", seed=rng, n_permutations=n_permutations,
                                   n_resamples=0, label=f"preference of {c} for the logged answer")
        for c, v in controls.items()
    }
    details = {
        **result.details,
        "seed": seed_used,
        "suspect_mean_preference": float(prim.mean()),
        "suspect_prefers_logged_share": float(np.mean(prim > 0)),
        "control_alone": {c: {"mean_preference": float(controls[c].mean()), "p_value": r.p_value,
                              "prefers_logged_share": float(np.mean(controls[c] > 0))} for c, r in alone.items()},
    }
    return replace(result, details=details)
