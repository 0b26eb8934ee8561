"""A case's group-sequential plan: test the panel suites at a few pre-set looks, stop when decided.

``[case] looks = L`` (default 1: one test of every probe). With ``L > 1`` the suites' probes
are asked in their fixed order, a look at a time: look ``j`` holds the first ``n_j`` probes
of each suite (geometric from :data:`FIRST_LOOK` to the suite's limit, fixed by the case file
before any model is asked), and the ordinary analysis runs on them at ``alpha / L``
(:mod:`provenance.stats.sequential_panel`: Bonferroni over the looks, valid whatever their
dependence). The plan stops at the first look whose verdict supports derivation, when every
look has been taken, or where the stored evidence ends (a collection stopped by its budget).

The rule is replayed on the stored evidence alone, by collection (to decide whether to ask
the next look) and by every analysis (to find the look the findings report): both read the
same rows and so reach the same look, and re-running ``analyze`` gives the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from provenance.analysis.view import EvidenceView
from provenance.case import Case
from provenance.probes import load_suite
from provenance.suites import SUITES

#: Probes per suite at the first look (fewer when a suite has fewer).
FIRST_LOOK = 10


@dataclass(frozen=True)
class LookPlan:
    """The looks a case fixed: per suite, the probe ids of each look (nested prefixes of the suite's order)."""

    looks: int
    alpha: float
    #: suite -> its probe ids in the order they are asked (the case's limit applied).
    order: dict[str, tuple[str, ...]]
    #: suite -> probes at each look (non-decreasing; the last is the whole suite).
    counts: dict[str, tuple[int, ...]]

    @property
    def per_look_alpha(self) -> float:
        return self.alpha / self.looks

    def prefix(self, look: int) -> dict[str, int]:
        """Probes of each suite asked by look ``look`` (0-based)."""
        return {suite: counts[look] for suite, counts in self.counts.items()}

    def probe_ids(self, look: int) -> dict[str, set[str]]:
        return {suite: set(self.order[suite][: counts[look]]) for suite, counts in self.counts.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"looks": self.looks, "alpha": self.alpha, "per_look_alpha": self.per_look_alpha,
                "probes_per_look": {suite: list(c) for suite, c in self.counts.items()}}


def look_counts(n: int, looks: int, first: int = FIRST_LOOK) -> tuple[int, ...]:
    """``looks`` probe counts from ``first`` to ``n``, geometric, non-decreasing, the last ``n``."""
    if n < 1 or looks < 1:
        raise ValueError("need at least one probe and one look")
    counts = [int(round(c)) for c in np.geomspace(min(first, n), n, looks)] if looks > 1 else [n]
    counts[-1] = n
    return tuple(int(c) for c in np.maximum.accumulate(counts))


def make_plan(looks: int, alpha: float, order: dict[str, tuple[str, ...]]) -> LookPlan:
    return LookPlan(looks=looks, alpha=alpha, order=order,
                    counts={suite: look_counts(len(ids), looks) for suite, ids in order.items() if ids})


def plan_of(case: Case) -> LookPlan | None:
    """The case's plan (``[case] looks``), or None for one test of every probe.

    Every enabled suite that asks probes of its own takes part, in its probe file's order with the
    case's ``limit``; the membership suite has its own sequential test and is not allowed with looks.
    """
    spec = case.spec
    if spec.case.looks == 1:
        return None
    order = {}
    for name, suite_spec in spec.enabled_suites().items():
        if name == "membership" or (name in SUITES and not SUITES[name].collects):
            continue
        probes = load_suite(suite_spec.probes or name, base=case.directory).limited(suite_spec.limit)
        order[name] = tuple(p.id for p in probes)
    return make_plan(spec.case.looks, spec.case.alpha, order)


def only_probes(view: EvidenceView, keep: dict[str, set[str]]) -> EvidenceView:
    """The view as if only ``keep``'s probes of those suites had been asked (other suites untouched)."""
    def cut(by_probe: dict[str, Any], suite: str) -> dict[str, Any]:
        return by_probe if suite not in keep else {p: v for p, v in by_probe.items() if p in keep[suite]}

    answers = {m: {s: cut(by, s) for s, by in suites.items()} for m, suites in view.answers.items()}
    scores = {m: {s: {src: cut(t, s) for src, t in by.items()} for s, by in suites.items()}
              for m, suites in view.scores.items()}
    return replace(view, answers=answers, scores=scores)


def look_is_stored(view: EvidenceView, plan: LookPlan, look: int, models: tuple[str, ...]) -> bool:
    """Whether every one of ``models`` has an answer to every probe of look ``look`` (each suite's first ``n_j``)."""
    for suite, ids in plan.probe_ids(look).items():
        for model in models:
            if not ids <= set(view.answers.get(model, {}).get(suite, {})):
                return False
    return True


@dataclass(frozen=True)
class LookOutcome:
    """Where the plan stopped on the stored evidence, with the analysis at that look."""

    look: int  # 0-based index of the look reported (-1: not even the first look is stored)
    reason: str  # "decided", "exhausted" (every look taken) or "evidence ends" (the next look is not stored)
    taken: list[dict[str, Any]]
    result: Any  # what ``analyse`` returned at that look (None when no look is stored)

    def to_dict(self, plan: LookPlan) -> dict[str, Any]:
        return {**plan.to_dict(), "stopped_at_look": self.look + 1, "reason": self.reason, "taken": self.taken}

    def line(self, plan: LookPlan) -> str:
        if self.look < 0:
            return f"look 1 of {plan.looks}: collecting"
        last = self.taken[-1]
        what = {"decided": "decided", "exhausted": "every look taken", "evidence ends": "the next look is not stored"}
        return (f"look {self.look + 1} of {plan.looks} ({last['probes']} probes, each look at alpha/{plan.looks} = "
                f"{plan.per_look_alpha:.3g}): {last['decisions']}; {what[self.reason]}")


def replay(plan: LookPlan, view: EvidenceView, models: tuple[str, ...],
           analyse: Callable[[EvidenceView, float], Any], decisions: Callable[[Any], list[str]]) -> LookOutcome:
    """Run the plan on the stored evidence: analyse each stored look at alpha / L, stop at the first that supports.

    ``analyse(view, alpha)`` is the case's own analysis; ``decisions(result)`` its verdicts' decisions.
    """
    taken: list[dict[str, Any]] = []
    result = None
    for look in range(plan.looks):
        if not look_is_stored(view, plan, look, models):
            return LookOutcome(look - 1, "evidence ends", taken, result)
        result = analyse(only_probes(view, plan.probe_ids(look)), plan.per_look_alpha)
        found = decisions(result)
        taken.append({"look": look + 1, "probes": sum(plan.prefix(look).values()),
                      "probes_per_suite": plan.prefix(look), "decisions": ", ".join(found)})
        if "supports" in found:
            return LookOutcome(look, "decided", taken, result)
    return LookOutcome(plan.looks - 1, "exhausted", taken, result)
