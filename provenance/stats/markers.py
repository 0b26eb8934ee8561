"""Teacher-marker usage: does the suspect use the teacher's idiosyncratic phrasing more than every control?

Per control k the markers are chosen without k and without the suspect (see
``features.markers``), on a selection half of the prompts; on the other half each
prompt gives the suspect's and the control's marker rates, and their paired
difference is tested (sign-flip permutation). Because the control took no part in
choosing the markers, under H0 it is as "fresh" to them as an independent suspect.
Controls are combined by the intersection-union rule (p = max p), as in ``contrast.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from provenance.stats._validate import Seed, StatsInputError, as_1d, make_rng
from provenance.stats.defaults import DEFAULT_CI_LEVEL, DEFAULT_N_PERMUTATIONS, DEFAULT_N_RESAMPLES
from provenance.stats.permutation import paired_permutation_test
from provenance.stats.result import TestResult


def marker_usage_test(
    suspect_rates: Mapping[str, ArrayLike],
    control_rates: Mapping[str, ArrayLike],
    *,
    seed: Seed,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
) -> TestResult:
    """``suspect_rates[k][i]`` and ``control_rates[k][i]``: marker rates on test prompt i with control k's markers."""
    names = list(control_rates)
    if not names or list(suspect_rates) != names:
        raise StatsInputError("marker_usage_test needs the same non-empty list of controls for suspect and control rates")
    rng, seed_used = make_rng(seed)
    per: list[TestResult] = []
    for c in names:
        s, k = as_1d(suspect_rates[c], f"suspect marker rates ({c})", min_size=2), as_1d(control_rates[c], f"marker rates ({c})")
        if s.size != k.size:
            raise StatsInputError(f"suspect and control '{c}' marker rates differ in length ({s.size} vs {k.size})")
        per.append(paired_permutation_test(s - k, alternative="greater", seed=rng, n_permutations=n_permutations,
                                           n_resamples=n_resamples, level=level,
                                           label=f"marker-rate difference, suspect minus {c}"))
    b = max(range(len(names)), key=lambda i: (per[i].p_value, -per[i].effect))
    details: dict[str, Any] = {
        "decision_rule": "intersection-union test: p = max over controls of the per-control p-values",
        "binding_control": names[b],
        "per_control": [{"control": c, "mean_difference": r.effect, "p_value": r.p_value,
                         "ci": list(r.ci) if r.ci is not None else None,
                         "mean_suspect": float(np.mean(as_1d(suspect_rates[c], "s"))),
                         "mean_control": float(np.mean(as_1d(control_rates[c], "c")))} for c, r in zip(names, per)],
        "seed": seed_used,
    }
    res = per[b]
    return TestResult(
        name="teacher-marker usage test",
        null_hypothesis="for at least one control, the suspect uses the teacher's marker n-grams no more than that control does",
        alternative_hypothesis="the suspect uses the teacher's marker n-grams more than every control does",
        alternative="greater",
        statistic=res.statistic,
        statistic_name=f"{res.statistic_name}; binding control: {names[b]}",
        p_value=max(r.p_value for r in per),
        effect=res.effect,
        effect_name=f"mean marker-rate difference, suspect minus {names[b]} (binding control)",
        ci=res.ci,
        ci_level=level,
        n={"test_prompts": int(as_1d(control_rates[names[0]], "c").size), "controls": len(names)},
        method=("markers: log-odds ratio with informative Dirichlet prior, teacher vs background answers on a "
                "selection half of the prompts (background: models outside the comparison); test: paired "
                f"sign-flip permutation per control on the other half; intersection-union (max p); per-control: {res.method}"),
        assumptions=(
            "the prompt halves were fixed by a seeded hash before any answer was read",
            "the background models and the controls are independent of the teacher",
            "the background writes with a fluency comparable to the teacher's (else common fluent phrasing "
            "becomes a 'marker' and a fluent independent suspect uses it more than a weak control)",
        ) + res.assumptions,
        details=details,
    )
