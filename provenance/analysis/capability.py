"""How capable is each control beside the suspect? Reported, and warned about when far apart.

Every comparative statistic is easiest to confound when the controls are much weaker
or much stronger than the suspect (a better model predicts any fluent text better,
is right more often, refuses differently). The preference design of cross-likelihood
and the kappa-based agreement tests are built to cancel that, but an analyst (and a
court) should see the gap, so the analysis measures it on data it already has:

* log-likelihood per byte of the *reference* answers (answers written by models
  outside the comparison: never the suspect's or the control's own), the same texts
  for the suspect and the control;
* accuracy on the errors suite's factual questions.

The warning levels are in ``provenance.config``; a warning never changes a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from provenance.analysis.view import EvidenceView
from provenance.config import (
    CAPABILITY_GAP_WARN_ACCURACY,
    CAPABILITY_GAP_WARN_NATS_PER_BYTE,
)
from provenance.suites.base import SuiteContext, reference_sources
from provenance.suites.errors import answered_correctly

_SCORED_SUITE = "distribution"


@dataclass
class CapabilityReport:
    """Per control: the suspect's and the control's capability on the same material."""

    suspect: str
    controls: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suspect": self.suspect,
            "controls": self.controls,
            "warn_levels": {"nats_per_byte": CAPABILITY_GAP_WARN_NATS_PER_BYTE, "accuracy": CAPABILITY_GAP_WARN_ACCURACY},
        }


def _accuracy(view: EvidenceView, model: str, probes: list[str]) -> float:
    answers = view.first_answers(model, "errors")
    return float(np.mean([answered_correctly(answers[p]) for p in probes]))


def _reference_likelihood(view: EvidenceView, suspect: str, control: str, sources: tuple[str, ...]) -> dict[str, Any] | None:
    tables = {(m, src): view.scores_of(m, _SCORED_SUITE, src) for m in (suspect, control) for src in sources}
    if not sources or not all(tables.values()):
        return None
    probes = sorted(set.intersection(*(set(t) for t in tables.values())))
    probes = [p for p in probes if all(t[p].logprob_per_byte is not None for t in tables.values())]
    if not probes:
        return None

    def mean(model: str) -> float:
        return float(np.mean([tables[(model, src)][p].logprob_per_byte for src in sources for p in probes]))

    return {"suspect": mean(suspect), "control": mean(control), "prompts": len(probes), "sources": list(sources)}


def compare_capability(
    view: EvidenceView, suspect: str, controls: tuple[str, ...], references: tuple[str, ...] = (), teachers: tuple[str, ...] = ()
) -> CapabilityReport:
    """Measure each control's capability beside the suspect's; warn when they are far apart."""
    report = CapabilityReport(suspect=suspect)
    suspect_errors = view.first_answers(suspect, "errors")
    for control in controls:
        entry: dict[str, Any] = {}
        sources = reference_sources(control, suspect, teachers, controls, references)
        likelihood = _reference_likelihood(view, suspect, control, sources)
        if likelihood is not None:
            gap = likelihood["suspect"] - likelihood["control"]
            entry["reference_log_likelihood_per_byte"] = likelihood
            entry["gap_nats_per_byte"] = gap
            if abs(gap) >= CAPABILITY_GAP_WARN_NATS_PER_BYTE:
                report.warnings.append(
                    f"the control '{control}' gives the reference text a much {'lower' if gap > 0 else 'higher'} "
                    f"likelihood than the suspect does ({likelihood['control']:.3f} vs {likelihood['suspect']:.3f} "
                    f"nats/byte, gap {gap:+.3f}; warning level {CAPABILITY_GAP_WARN_NATS_PER_BYTE}): it is "
                    f"{'weaker than the suspect or farther from' if gap > 0 else 'stronger than the suspect or closer to'} "
                    "that text's domain, and comparisons with it are the easiest to confound; prefer controls matched "
                    "to the suspect (see the README on choosing controls)"
                )
        probes = sorted(set(suspect_errors) & set(view.first_answers(control, "errors")))
        if probes:
            acc_s, acc_c = _accuracy(view, suspect, probes), _accuracy(view, control, probes)
            entry["errors_accuracy"] = {"suspect": acc_s, "control": acc_c, "questions": len(probes)}
            if abs(acc_s - acc_c) >= CAPABILITY_GAP_WARN_ACCURACY:
                report.warnings.append(
                    f"the control '{control}' is right on {acc_c:.0%} of {len(probes)} factual questions, the suspect on "
                    f"{acc_s:.0%} (warning level {CAPABILITY_GAP_WARN_ACCURACY:.0%} apart): a control of matched "
                    "capability makes the error and refusal comparisons easier to read"
                )
        report.controls[control] = entry
    return report


def panel_coverage(ctx: SuiteContext) -> list[str]:
    """Why the panel does not represent the suspect's kind, if it does not: empty when it does.

    The null of every calibrated test is the spread of independent models like the panel's. A
    suspect more capable than *every* panel model (by the warning levels, on the same reference
    text with open weights, or on the factual questions) is not drawn from that population: a
    better model gains more on fluent text and is right where weak ones are not, so it can be an
    outlier without being derived. Measured on material that does not involve the teacher.

    A declared base of the suspect (``relation = "suspect-base"``) in the panel is the matched
    comparison: the suspect is of its kind (the same pretrained model, tuned), so the panel covers
    the suspect unless it is more capable than its base(s) too. A fine-tune of a strong released
    base is then decidable against its base and weaker independent models, which is the design the
    README recommends; without its base in the panel it is compared with every panel model.
    """
    view = ctx.view
    bases = tuple(m for m in ctx.panel if m in ctx.suspect_bases)
    panel = bases or tuple(ctx.panel)
    if not panel:
        return []
    report = compare_capability(view, ctx.suspect, panel, tuple(m for m in ctx.panel if m not in panel), (ctx.teacher,))
    gaps = [e.get("gap_nats_per_byte") for e in report.controls.values()]
    out = []
    if gaps and all(g is not None for g in gaps) and min(gaps) >= CAPABILITY_GAP_WARN_NATS_PER_BYTE:
        whom = "its declared base" + ("s" if len(panel) > 1 else "") if bases else "every panel model"
        out.append(f"it gives the panel's own answers a higher likelihood than {whom} does, by at least "
                   f"{min(gaps):.2f} nats/byte (level {CAPABILITY_GAP_WARN_NATS_PER_BYTE})")
    acc = [e.get("errors_accuracy") for e in report.controls.values()]
    if acc and all(a is not None for a in acc):
        gap = min(a["suspect"] - a["control"] for a in acc)
        if gap >= CAPABILITY_GAP_WARN_ACCURACY:
            whom = "its declared base" + ("s" if len(panel) > 1 else "") if bases else "every panel model"
            out.append(f"it is right on more factual questions than {whom}, by at least {gap:.0%} "
                       f"(level {CAPABILITY_GAP_WARN_ACCURACY:.0%})")
    return out
