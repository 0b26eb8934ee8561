"""Sentences that qualify a verdict: what, in this case, weakens an assumption of the method.

A warning written for the analyst ("add a matched control") tells a court nothing
about the verdict it reads. Each condition found here is stated as a fact of the
case and what it does to the finding, in words that can be read out: the assumption,
how this case departs from it, and what the verdict then relies on. They are built
from the analysis's own numbers (the capability comparison, each test's panel and its
form, the evidence view's record of changed models), never from the warning strings,
and they never change the verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from provenance.analysis.findings import TestFinding, Verdict
from provenance.analysis.view import EvidenceView


def _names(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _capability(capability: dict[str, Any]) -> list[str]:
    levels = capability.get("warn_levels") or {}
    nats, acc = levels.get("nats_per_byte"), levels.get("accuracy")
    out = []
    weaker, stronger = [], []
    for control, entry in (capability.get("controls") or {}).items():
        gap = entry.get("gap_nats_per_byte")
        if gap is not None and nats is not None and abs(gap) >= nats:
            (weaker if gap > 0 else stronger).append(f"'{control}' ({abs(gap):.3f} nats per byte {'lower' if gap > 0 else 'higher'})")
    if weaker or stronger:
        parts = []
        if weaker:
            parts.append(f"{_names(weaker)} {'gives' if len(weaker) == 1 else 'give'} text that neither it nor the suspect "
                         "wrote a markedly lower likelihood than the suspect does: less capable than the suspect, or "
                         "trained on other kinds of text")
        if stronger:
            parts.append(f"{_names(stronger)} {'gives' if len(stronger) == 1 else 'give'} such text a markedly higher "
                         "likelihood: more capable than the suspect, or closer to that text's kind")
        out.append(
            "The method assumes that the independent models it compares the suspect with differ from it as independent "
            "models differ from one another, not in capability. In this case " + "; ".join(parts)
            + f" (the analysis marks differences of {nats} nats per byte or more). A difference in capability can move "
            "a model's closeness to the teacher for reasons other than derivation; each statistic is built to cancel it "
            "(a model's closeness to the teacher is set against its closeness to other text, or against what its own "
            "rates predict), and for comparisons with these models the verdict relies on that correction.")
    gaps = []
    for control, entry in (capability.get("controls") or {}).items():
        a = entry.get("errors_accuracy")
        if a and acc is not None and abs(a["suspect"] - a["control"]) >= acc:
            gaps.append(f"'{control}' is right on {a['control']:.0%} of {a['questions']} factual questions, the suspect on "
                        f"{a['suspect']:.0%}")
    if gaps:
        out.append(
            "The shared-errors comparisons assume that models make mistakes for their own reasons; in this case "
            + "; ".join(gaps) + f" (marked at {acc:.0%} apart). Models that are wrong on different numbers of questions "
            "share mistakes at different rates by chance alone; the tests correct for each model's own accuracy "
            "(agreement beyond chance), and for these models the verdict relies on that correction.")
    return out


def _parametric(rejecting: Sequence[TestFinding], threshold: float) -> list[str]:
    parametric = [t for t in rejecting if (t.result.get("details") or {}).get("form") == "parametric"]
    if not parametric:
        return []
    k = min(int((t.result.get("n") or {}).get("panel_models", 0)) for t in parametric)
    rank = {f"{t.suite}/{t.test_id}": float((t.result.get("details") or {}).get("rank_p", 1.0)) for t in parametric}
    ranks = [f"{name} {p:.3g}" for name, p in rank.items()]
    reach = [name for name, p in rank.items() if p <= threshold]
    n = len(parametric)
    if not reach:
        bearing = (f"none of which reaches Holm's first threshold ({threshold:.2g}) by itself: the strength of the "
                   "finding depends on the assumption.")
    else:
        bearing = f"of which {_names(reach)} {'reaches' if len(reach) == 1 else 'reach'} Holm's first threshold ({threshold:.2g}) without it."
    return [
        f"{'The test' if n == 1 else f'{n} of the tests'} that rejected ({_names([f'{t.suite}/{t.test_id}' for t in parametric])}) "
        f"{'relies' if n == 1 else 'rely'} on the assumption that the statistic varies between independent models as a "
        f"normal distribution does. The check of that assumption on the panel passed, but a panel of {k} models can "
        "reveal only a large departure from it. By rank alone, which needs no such assumption, the p-values are "
        + "; ".join(ranks) + f" (the smallest a panel of {k} can give is {1 / (k + 1):.3g}), " + bearing
    ]


def _left_out(mine: Sequence[TestFinding], suspect: str) -> list[str]:
    out = []
    for t in mine:
        left = {m: r for m, r in ((t.result.get("details") or {}).get("left_out") or {}).items() if m != suspect}
        if left:
            k = int((t.result.get("n") or {}).get("panel_models", 0))
            out.append(
                f"{t.suite}/{t.test_id} compared the suspect with {k} independent model{'s' if k != 1 else ''}, not the "
                f"whole panel: " + "; ".join(f"'{m}' was left out ({r})" for m, r in left.items())
                + ". Fewer models describe the spread between independent models less well.")
    return out


def _view(view: EvidenceView) -> list[str]:
    out = [f"The model '{m}' changed during collection (its recorded identity is not the same in all its evidence); only "
           "the answers of its latest version were analysed, so the finding concerns that version."
           for m in view.changed_models]
    for m, n in view.set_aside.items():
        were = "were" if n != 1 else "was"
        out.append(f"{n} stored answer{'s' if n != 1 else ''} of '{m}' {were} asked under other settings than the case "
                   f"file now names and {were} not analysed; the finding concerns the settings the case file names.")
    return out


def qualifications(verdict: Verdict, family: Sequence[TestFinding], capability: dict[str, Any],
                   view: EvidenceView, suspect: str, alpha: float) -> list[str]:
    """The sentences that qualify ``verdict`` in this case, in the order a reader needs them."""
    mine = [t for t in family if t.teacher == verdict.teacher]
    rejecting = [t for t in mine if t.reject]
    out = _capability(capability)
    if verdict.decision == "supports":
        out += _parametric(rejecting, alpha / max(1, len(family)))
    out += _left_out(mine, suspect)
    out += _view(view)
    return out
