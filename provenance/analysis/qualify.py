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


def _who(models: Sequence[str], panel_size: int) -> str:
    if len(models) == panel_size and panel_size > 1:
        return f"all {panel_size} controls"
    return _names([f"'{m}'" for m in models])


def _span(values: Sequence[float], fmt: str) -> str:
    low, high = min(values), max(values)
    return f"{low:{fmt}}" if f"{low:{fmt}}" == f"{high:{fmt}}" else f"{low:{fmt}} to {high:{fmt}}"


def _capability(capability: dict[str, Any]) -> list[str]:
    levels = capability.get("warn_levels") or {}
    nats, acc = levels.get("nats_per_byte"), levels.get("accuracy")
    controls = capability.get("controls") or {}
    out = []
    weaker = {c: e["gap_nats_per_byte"] for c, e in controls.items()
              if nats is not None and e.get("gap_nats_per_byte") is not None and e["gap_nats_per_byte"] >= nats}
    stronger = {c: -e["gap_nats_per_byte"] for c, e in controls.items()
                if nats is not None and e.get("gap_nats_per_byte") is not None and e["gap_nats_per_byte"] <= -nats}
    if weaker or stronger:
        parts = []
        if stronger:
            parts.append(f"{_who(list(stronger), len(controls))} {'is' if len(stronger) == 1 else 'are'} more capable than "
                         "the suspect, or closer to the kind of text it was measured on (a higher likelihood of text neither "
                         f"wrote, by {_span(list(stronger.values()), '.2f')} nats per byte)")
        if weaker:
            parts.append(f"{_who(list(weaker), len(controls))} {'is' if len(weaker) == 1 else 'are'} less capable than the "
                         "suspect, or farther from that kind of text (a lower likelihood, by "
                         f"{_span(list(weaker.values()), '.2f')} nats per byte)")
        out.append(
            "The method assumes that the independent models differ from the suspect as independent models differ from "
            "one another, not in capability. Here " + "; ".join(parts) + f" (differences of {nats} or more are marked). "
            "Capability can move a model's closeness to the teacher for reasons other than derivation; each statistic is "
            "built to cancel it (closeness to the teacher is set against closeness to other text, or against what a "
            "model's own rates predict), and for these comparisons the verdict relies on that correction.")
    gaps = {c: e["errors_accuracy"] for c, e in controls.items()
            if acc is not None and e.get("errors_accuracy")
            and abs(e["errors_accuracy"]["suspect"] - e["errors_accuracy"]["control"]) >= acc}
    if gaps:
        a = next(iter(gaps.values()))
        out.append(
            "The shared-errors comparisons assume that models make mistakes for their own reasons. Here "
            + "; ".join(f"'{c}' is right on {g['control']:.0%} of {g['questions']} factual questions" for c, g in gaps.items())
            + f", the suspect on {a['suspect']:.0%} (differences of {acc:.0%} or more are marked). Models wrong on "
            "different numbers of questions share mistakes at different rates by chance alone; the tests correct for each "
            "model's own accuracy (agreement beyond chance), and for these models the verdict relies on that correction.")
    return out


def _parametric(rejecting: Sequence[TestFinding], threshold: float) -> list[str]:
    parametric = [t for t in rejecting if (t.result.get("details") or {}).get("form") == "parametric"]
    if not parametric:
        return []
    k = min(int((t.result.get("n") or {}).get("panel_models", 0)) for t in parametric)
    rank = {f"{t.suite}/{t.test_id}": float((t.result.get("details") or {}).get("rank_p", 1.0)) for t in parametric}
    reach = [name for name, p in rank.items() if p <= threshold]
    n = len(parametric)
    if len(set(f"{p:.3g}" for p in rank.values())) == 1:
        p = next(iter(rank.values()))
        ranks = (f"{'it gives' if n == 1 else 'each gives'} p = {p:.3g}"
                 + (" (the suspect is beyond every panel model: the smallest p-value a panel of "
                    f"{k} can give)" if abs(p - 1 / (k + 1)) < 1e-12 else ""))
    else:
        ranks = "the p-values are " + "; ".join(f"{name} {p:.3g}" for name, p in rank.items()) + (
            f" (the smallest a panel of {k} can give is {1 / (k + 1):.3g})")
    if not reach:
        bearing = (f"which does not reach Holm's first threshold of {threshold:.2g}: the strength of the finding depends "
                   "on the assumption.")
    else:
        bearing = f"and {_names(reach)} {'reaches' if len(reach) == 1 else 'reach'} Holm's first threshold ({threshold:.2g}) without it."
    which = ("The test that rejected" if n == 1 and len(rejecting) == 1 else f"The {n} tests that rejected"
             if n == len(rejecting) else f"{n} of the {len(rejecting)} tests that rejected")
    return [
        f"{which} {'relies' if n == 1 else 'rely'} on the assumption that the statistic varies between independent "
        f"models as a normal distribution does. The check of that assumption on the {k} panel models passed, but "
        f"{k} models can reveal only a large departure from it. By rank alone, which needs no such assumption, {ranks}, "
        + bearing
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


#: A panel model naming the teacher in at least this share of its identity answers answers as the teacher does.
CLAIMANT_SHARE = 0.5


def _teacher_claimants(mine: Sequence[TestFinding], suspect: str) -> list[str]:
    """Panel models that answer "who are you?" with the teacher's name: trained on the teacher's answers or on
    its own instruction data, they stand for no independent model, and a derived suspect looks less unusual
    among them (in the bench, a stand-in teacher's own student was not decidable beside two such models)."""
    out = []
    for t in mine:
        if t.suite != "identity" or t.test_id != "teacher-identity-claims":
            continue
        details = t.result.get("details") or {}
        panel = details.get("raw_panel") or details.get("panel") or {}
        claimants = {m: float(e["value"]) for m, e in panel.items()
                     if m != suspect and e.get("value") is not None and float(e["value"]) >= CLAIMANT_SHARE}
        if claimants:
            one = len(claimants) == 1
            out.append(
                "The method assumes that every panel model is independent of the teacher. "
                + _names([f"'{m}' names the teacher in {v:.0%} of its identity answers" for m, v in claimants.items()])
                + (", as a model trained on the teacher's answers or on its own instruction data does. The tests counted "
                   f"{'it' if one else 'them'} as independent; if {'it is' if one else 'they are'} not, a suspect derived "
                   f"from the teacher looks less unusual beside {'it' if one else 'them'} than among independent models."))
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
    out += _teacher_claimants(mine, suspect)
    out += _view(view)
    return out
