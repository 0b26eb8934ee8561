"""Agreement beyond chance: the shared shape of the refusal-decision and error-consistency tests.

Raw agreement rewards base rates: two models that both seldom refuse agree on most
prompts, and a control that refuses everything agrees with nobody. Both tests
therefore compare Cohen's kappa (agreement beyond what the models' own rates predict)
of the suspect with the teacher against the suspect with each control, and report
the test as *uninformative*, with the counts, where the teacher or the suspect shows
too few events of one kind for any agreement to be measured.
"""

from __future__ import annotations

import numpy as np

from provenance.config import MIN_SIGNAL_EVENTS
from provenance.stats import kappa_contrast_test
from provenance.suites.base import SuiteContext, SuiteTest, Uninformative


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
    """kappa(suspect, teacher) against kappa(suspect, each control) on ``labels[model][probe]``."""
    yes, no = kinds
    counts = {m: int(sum(labels[m][p] for p in probes)) for m in (ctx.suspect, ctx.teacher, *ctx.controls)}
    n = len(probes)
    numbers = {"items": n, **{f"{yes} ({m})": k for m, k in counts.items()}}
    short = [
        f"the {role} '{m}' was {yes} on {counts[m]} and {no} on {n - counts[m]} of {n}"
        for role, m in (("teacher", ctx.teacher), ("suspect", ctx.suspect))
        if min(counts[m], n - counts[m]) < MIN_SIGNAL_EVENTS
    ]
    if short:
        return Uninformative(
            suite, test_id,
            f"agreement beyond chance needs at least {MIN_SIGNAL_EVENTS} items of each kind from the teacher and the "
            f"suspect; {' and '.join(short)}, so no agreement on {what} can be measured",
            numbers,
        )
    result = kappa_contrast_test(
        np.array([labels[ctx.suspect][p] for p in probes]),
        np.array([labels[ctx.teacher][p] for p in probes]),
        {c: np.array([labels[c][p] for p in probes]) for c in ctx.controls},
        seed=ctx.seed + hash_offset(test_id),
        what=what,
    )
    per = {r["control"]: r["kappa_suspect_control"] for r in result.details["per_control"]}
    summary = (
        f"On {n} prompts ({yes}: " + ", ".join(f"'{m}' {k}" for m, k in counts.items()) + f"), the suspect's {what} "
        f"agreed with the teacher's beyond chance with Cohen's kappa {result.details['kappa_suspect_teacher']:.2f}; "
        + ", ".join(f"with the control '{c}''s {k:.2f}" for c, k in per.items())
        + "."
    )
    return SuiteTest(suite, test_id, result, True, rows, summary)


def hash_offset(test_id: str) -> int:
    """A stable per-test seed offset (Python's hash() is salted per process)."""
    return sum(test_id.encode()) % 97
