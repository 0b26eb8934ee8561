"""Agreement beyond chance: the shared shape of the refusal-decision and error-consistency tests.

Raw agreement rewards base rates: two models that both seldom refuse agree on most
prompts, and a control that refuses everything agrees with nobody. Both tests
therefore measure Cohen's kappa with the teacher (agreement beyond what the two
models' own rates predict), for the suspect and for each panel model, and ask whether
the suspect's is an outlier among independent models' (``stats.panel``). Shared item
difficulty (every capable model is right on the easy questions, and refuses the
plainly harmful prompts) gives independent models a kappa with the teacher well above
zero; it is part of the panel's spread, so it is part of the null.

A model with too few items of one kind (never refuses; right on nothing) has no
agreement to measure: kappa is 0 by construction, not by independence. Such a panel
model is left out, with the reason; the teacher or the suspect in that state makes
the test *uninformative*, with the counts.
"""

from __future__ import annotations

import numpy as np

from provenance.config import MIN_SIGNAL_EVENTS
from provenance.stats import cohen_kappa
from provenance.stats.panel import ModelStatistic
from provenance.suites.base import SuiteContext, SuiteTest, Uninformative
from provenance.suites.panel import panel_finding


def agreement_beyond_chance(
    ctx: SuiteContext,
    suite: str,
    test_id: str,
    labels: dict[str, dict[str, bool]],
    probes: list[str],
    rows: tuple[int, ...],
    kinds: tuple[str, str],
    what: str,
) -> SuiteTest | Uninformative:
    """kappa(model, teacher) on ``labels[model][probe]``, the suspect's against the panel's."""
    yes, no = kinds
    models = [m for m in labels if m != ctx.teacher]
    counts = {m: int(sum(labels[m][p] for p in probes)) for m in (ctx.teacher, *models)}
    n = len(probes)
    numbers = {"items": n, **{f"{yes} ({m})": k for m, k in counts.items()}}

    def short(m: str) -> bool:
        return min(counts[m], n - counts[m]) < MIN_SIGNAL_EVENTS

    if short(ctx.teacher) or short(ctx.suspect):
        who = [f"the {role} '{m}' was {yes} on {counts[m]} and {no} on {n - counts[m]} of {n}"
               for role, m in (("teacher", ctx.teacher), ("suspect", ctx.suspect)) if short(m)]
        return Uninformative(
            suite, test_id,
            f"agreement beyond chance needs at least {MIN_SIGNAL_EVENTS} items of each kind from the teacher and the "
            f"suspect; {' and '.join(who)}, so no agreement on {what} can be measured",
            numbers,
        )
    teacher = np.array([labels[ctx.teacher][p] for p in probes])
    stats: dict[str, ModelStatistic] = {}
    left_out: dict[str, str] = {}
    for m in models:
        if short(m):
            left_out[m] = f"{yes} on {counts[m]} of {n}: no agreement beyond chance can be measured"
            continue
        kappa = cohen_kappa(np.array([labels[m][p] for p in probes]), teacher)
        stats[m] = ModelStatistic(kappa.statistic, float(kappa.details["ase"]), n)
    test = panel_finding(ctx, suite, test_id, stats, quantity="kappa", unit="Cohen's kappa with the teacher",
                         rows=rows, what=f"agreement with the teacher's {what} beyond chance", left_out=left_out,
                         fmt=".2f")
    return test
