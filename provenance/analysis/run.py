"""``analyze``: stored evidence in, ``findings.json`` out.

Reads only the evidence store and the case file; refuses evidence whose hash
chain is broken. The decision rule is fixed here, before any data is seen.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from provenance.analysis import lines as lines_mod
from provenance.analysis.capability import compare_capability, panel_coverage
from provenance.analysis.qualify import qualifications
from provenance.analysis.looks import LookOutcome, LookPlan, only_probes, plan_of, replay
from provenance.analysis.lines import CONTENT_KINDS, ContentKind, without_content
from provenance.analysis.findings import Findings, ModelInfo, Skipped, TestFinding, UninformativeFinding, Verdict
from provenance.analysis.view import EvidenceView
from provenance.case import Case
from provenance.errors import EvidenceStoreError
from provenance.evidence import EvidenceStore
from provenance.files import atomic_write
from provenance.stats import correct_family
from provenance.stats.panel import CALIBRATED, EXACT, MIN_PANEL_PARAMETRIC, models_needed
from provenance.planning import deployed_as_now
from provenance.suites import SUITES, SuiteContext, SuiteSkipped, SuiteTest, Uninformative
from provenance.suites.identity import case_aliases_for
from provenance.suites.membership import MembershipDesign
from provenance.watermark.case import watermark_for

CORRECTION = "holm"
DECISION_RULE = (
    "Models are the unit of the null. Each family test computes one statistic of closeness to the teacher for the "
    "suspect and, the same way, for every independent panel model (the controls and reference models; anything "
    "learnt is learnt without the model scored), and asks whether the suspect is an outlier among them: by a "
    "random-effects prediction interval (t with K-1 degrees of freedom) where the panel has at least "
    f"{MIN_PANEL_PARAMETRIC} models and passes checks of a normal spread, else by the exact rank p-value "
    "(1 + models at least as close) / (K + 1). Tests with an exact null under a known randomness (membership, "
    "watermark) need no panel. All family tests, over all teachers, form one family corrected by Holm's method at "
    "the case's alpha. The evidence supports derivation from a teacher if at least one of that teacher's family "
    "tests rejects after correction; it does not support it if none rejects and every one could have rejected at "
    "Holm's first threshold; otherwise, or where the suspect is more capable than every panel model (a kind of "
    "model the panel does not represent), the case is not decidable with this panel. Tests outside the family "
    "(descriptive agreement, the lost-guardrail signature) never change the verdict. A test whose signal cannot "
    "exist for this teacher and suspect is reported as uninformative, with its counts, and is not in the family."
)


def _software() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("provenance", "numpy", "scipy", "statsmodels", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def _floor(t: TestFinding) -> float:
    """The smallest p-value this test could have given with its panel (0 where it has none)."""
    return float(t.result.get("details", {}).get("floor", 0.0) or 0.0)


def _evidence_kind(t: TestFinding) -> str:
    return str(t.result.get("details", {}).get("evidence_kind", EXACT))


def _verdict(suspect: str, teacher: str, alpha: float, family: list[TestFinding], coverage: list[str]) -> Verdict:
    """Supports / does not support / not decidable with this panel, and the kind of evidence it rests on.

    "Does not support" needs every family test of the teacher to have been able to reject at
    Holm's first step (alpha / m): a panel too small for a test's exact rank form is a panel
    that could not have found anything, and the verdict says so, with the models to add.
    A suspect more capable than every panel model is a kind of model the panel does not
    represent; its outlier status says nothing, whichever way the tests went.
    """
    mine = [t for t in family if t.teacher == teacher]
    rejected = [f"{t.suite}/{t.test_id}" for t in mine if t.reject]
    m = max(1, len(family))
    undecidable = [t for t in mine if not t.reject and _floor(t) > alpha / m]
    kinds = sorted({_evidence_kind(t) for t in mine if t.reject}) or sorted({_evidence_kind(t) for t in mine})
    panel_sizes = [int(t.result.get("n", {}).get("panel_models", 0)) for t in mine if _evidence_kind(t) == CALIBRATED]
    k = min(panel_sizes) if panel_sizes else 0
    rests = f" The finding rests on evidence {' and '.join(kinds)}" + (f" (K = {k})." if k else ".") if kinds else ""
    if coverage:
        decision = "not-decidable"
        text = (
            f"Not decidable with this panel: the suspect '{suspect}' is more capable than every independent panel "
            f"model ({'; '.join(coverage)}), so the panel does not represent models of its kind and whether it is an "
            f"outlier among them says nothing about derivation from '{teacher}'"
            + (f" ({len(rejected)} of {len(mine)} tests rejected: {', '.join(rejected)})" if rejected else "")
            + ". Add independent models of the suspect's capability to the panel."
        )
    elif rejected:
        decision = "supports"
        past = all(t.result.get("details", {}).get("extrapolated") for t in mine if t.reject)
        text = (
            f"The evidence supports the hypothesis that the suspect '{suspect}' was derived from the teacher "
            f"'{teacher}' at family-wise alpha = {alpha:g}: {len(rejected)} of {len(mine)} tests rejected their null "
            f"after Holm correction ({', '.join(rejected)})." + rests
            + (" Every rejection rests on the parametric form below the exact rank form's floor: the suspect lies "
               "beyond every panel model, and the panel's normal spread is carried past the models it holds. That "
               "is sound only if the panel holds models of the suspect's kind (its training and quality); the "
               "bench's false positives were of this form." if past else "")
        )
    elif undecidable or not mine:
        decision = "not-decidable"
        floors = sorted({_floor(t) for t in undecidable})
        need = max((models_needed(int(t.result.get("n", {}).get("panel_models", 0)), alpha, m) for t in undecidable),
                   default=0)
        small = [t for t in undecidable if int(t.result.get("n", {}).get("panel_models", 0)) < MIN_PANEL_PARAMETRIC]
        advice = []
        if small:
            short = MIN_PANEL_PARAMETRIC - min(int(t.result["n"].get("panel_models", 0)) for t in small)
            advice.append(f"add at least {short} independent models, for a panel of {MIN_PANEL_PARAMETRIC} (the "
                          "smallest whose spread the parametric form estimates)")
        if len(small) < len(undecidable):
            names = ", ".join(f"{t.suite}/{t.test_id}" for t in undecidable if t not in small)
            advice.append(f"the panel failed the check of a normal spread between models for {names}: replace "
                          "models unlike the rest (an outlier) or add more")
        text = (
            "Not decidable with this panel: no test rejected, but "
            + (f"{len(undecidable)} of {len(mine)} family tests could not reach Holm's first threshold "
               f"alpha / {m} = {alpha / m:.2g} with their panel (smallest attainable p "
               f"{', '.join(f'{f:.3g}' for f in floors)}, the exact rank form's; it alone would need {need} more "
               "independent models). To decide, " + "; ".join(advice) + "."
               if mine else "no family test could be run for this teacher.")
        )
    else:
        decision = "does-not-support"
        text = (
            f"The evidence does not support the hypothesis that the suspect '{suspect}' was derived from the teacher "
            f"'{teacher}' at family-wise alpha = {alpha:g}: none of {len(mine)} tests rejected its null after Holm "
            "correction, against a panel able to reject. This is not proof of independence: a derived model can hide "
            "these traces."
        )
    return Verdict(teacher=teacher, supports_derivation=decision == "supports", decision=decision,
                   rejected_tests=rejected, evidence_kinds=kinds, panel_models=k, text=text)


@dataclass(frozen=True)
class Evaluation:
    """What the suites found for one suspect against one or more teachers, before it is written up."""

    tests: list[TestFinding]
    skipped: list[Skipped]
    uninformative: list[UninformativeFinding]
    verdicts: list[Verdict]


def _run_suites(contexts: list[SuiteContext], suites: list[str]) -> tuple[list[tuple[str, SuiteTest]], list[Skipped], list[UninformativeFinding]]:
    """Every suite's tests for every context (one per teacher), before correction."""
    raw: list[tuple[str, SuiteTest]] = []
    skipped: list[Skipped] = []
    uninformative: list[UninformativeFinding] = []
    for ctx in contexts:
        for name in suites:
            suite = SUITES.get(name)
            if suite is None:
                skipped.append(Skipped(suite=name, teacher=ctx.teacher, reason="this suite has no analysis in this release"))
                continue
            try:
                tests = suite.analyze(ctx)
            except SuiteSkipped as exc:
                skipped.append(Skipped(suite=name, teacher=ctx.teacher, reason=str(exc)))
                continue
            if name == "distribution" and not any(t.test_id == "cross-likelihood" for t in tests):
                skipped.append(
                    Skipped(
                        suite=name,
                        teacher=ctx.teacher,
                        reason="cross-likelihood needs the suspect and every control to score the teacher's answers; "
                        "no stored scores (a black-box backend cannot score), so only answer overlap was tested",
                    )
                )
            for t in tests:
                if isinstance(t, Uninformative):
                    uninformative.append(UninformativeFinding(
                        suite=t.suite, test_id=t.test_id, teacher=ctx.teacher, reason=t.reason, numbers=t.numbers))
                else:
                    raw.append((ctx.teacher, t))
    return raw, skipped, uninformative


def _decide(contexts: list[SuiteContext], raw: list[tuple[str, SuiteTest]], alpha: float,
            coverage: dict[str, list[str]]) -> tuple[list[TestFinding], list[Verdict]]:
    """Correct the family (Holm over every teacher's family tests) and apply the decision rule per teacher."""
    family_idx = [i for i, (_, t) in enumerate(raw) if t.in_family]
    corrected = correct_family([raw[i][1].result for i in family_idx], method=CORRECTION, alpha=alpha)
    adjusted = dict(zip(family_idx, corrected))
    tests = [
        TestFinding(
            suite=t.suite,
            test_id=t.test_id,
            teacher=teacher,
            in_family=t.in_family,
            result=t.result.to_dict(),
            p_adjusted=adjusted[i].p_adjusted if i in adjusted else None,
            reject=adjusted[i].reject if i in adjusted else None,
            summary=t.summary,
            evidence_rows=list(t.rows),
        )
        for i, (teacher, t) in enumerate(raw)
    ]
    family = [t for t in tests if t.in_family]
    verdicts = [_verdict(contexts[0].suspect, ctx.teacher, alpha, family, coverage[ctx.teacher]) for ctx in contexts]
    return tests, verdicts


def evaluate(contexts: list[SuiteContext], suites: list[str], alpha: float, *, lines: bool = False) -> Evaluation:
    """Run ``suites`` for each context (one per teacher), correct the family, decide per teacher.

    The library core of ``analyze``: a benchmark or a notebook can build contexts on
    any roles of a stored evidence view and get the same decision rule. With ``lines``,
    each verdict also says what it rests on (``provenance.analysis.lines``): its
    independent lines of evidence, and the verdict rule re-run without each suite and
    without each kind of answer several suites count.
    """
    raw, skipped, uninformative = _run_suites(contexts, suites)
    coverage = {ctx.teacher: panel_coverage(ctx) for ctx in contexts}
    tests, verdicts = _decide(contexts, raw, alpha, coverage)
    if lines:
        verdicts = _with_lines(contexts, suites, alpha, raw, tests, verdicts, coverage)
    return Evaluation(tests=tests, skipped=skipped, uninformative=uninformative, verdicts=verdicts)


def _with_lines(contexts: list[SuiteContext], suites: list[str], alpha: float, raw: list[tuple[str, SuiteTest]],
                tests: list[TestFinding], verdicts: list[Verdict], coverage: dict[str, list[str]]) -> list[Verdict]:
    """Each verdict with its lines of evidence and counterfactuals (leave one suite out; without shared content)."""
    family = [t for t in tests if t.in_family]
    family_suites = list(dict.fromkeys(t.suite for t in family))
    without_suite: dict[str, dict[str, Verdict]] = {}
    for suite in family_suites:
        kept = [(teacher, t) for teacher, t in raw if t.suite != suite]
        _, cf = _decide(contexts, kept, alpha, coverage)
        without_suite[suite] = {v.teacher: v for v in cf}
    any_reject = any(t.reject for t in family)
    content: list[tuple[ContentKind, list[TestFinding], dict[str, dict[str, int]], dict[str, Verdict]]] = []
    for kind in CONTENT_KINDS if any_reject else ():
        stripped = [without_content(ctx, kind) for ctx in contexts]
        removed = {ctx.teacher: r for ctx, (_, r) in zip(contexts, stripped)}
        if not any(removed.values()):
            continue  # nothing of the kind outside its own suite: the same as leaving that suite out
        again = evaluate([replace(ctx, view=view) for ctx, (view, _) in zip(contexts, stripped)],
                         [s for s in suites if s != kind.suite], alpha, lines=False)
        content.append((kind, [t for t in again.tests if t.in_family], removed, {v.teacher: v for v in again.verdicts}))
    out = []
    for verdict in verdicts:
        teacher = verdict.teacher
        counterfactuals = [lines_mod.suite_counterfactual(s, without_suite[s][teacher], family)
                           for s in family_suites if any(t.suite == s and t.teacher == teacher for t in family)]
        for kind, cf_family, removed, cf_verdicts in content:
            if removed[teacher]:
                counterfactuals.append(lines_mod.content_counterfactual(kind, cf_verdicts[teacher], cf_family,
                                                                        removed[teacher], suites))
        found = lines_mod.lines_of_evidence(verdict, family, [(k, f) for k, f, r, _ in content if r[teacher]])
        verdict = verdict.model_copy(update={"lines": found, "counterfactuals": counterfactuals})
        out.append(verdict.model_copy(update={"lines_text": lines_mod.lines_sentence(verdict, found, counterfactuals)}))
    return out


def analyze(case: Case, *, store: object | None = None) -> Findings:
    """Run every enabled suite on the stored evidence and decide, per teacher.

    ``store``: read this (verified) store, or a snapshot of one with ``rows``, ``models``
    and ``head_hash``, instead of opening the case's; ``verify`` re-derives a report's
    findings this way from a read-only store, as of the report's row count.
    """
    spec = case.spec
    if store is not None:
        view = EvidenceView.load(store, keep=deployed_as_now(spec))  # type: ignore[arg-type]
    elif not case.evidence_path.is_file():
        raise EvidenceStoreError(f"no evidence store at {case.evidence_path}", hint="run `provenance case collect` first")
    else:
        view = _verified_view(case)
    return _analyze_view(case, view)


def _verified_view(case: Case) -> EvidenceView:
    with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
        check = store.verify()
        if not check.ok:
            raise EvidenceStoreError(
                f"refusing to analyse broken evidence: {check.problem}",
                hint="restore the evidence store from a verified copy; `provenance verify` names the broken row",
            )
        return EvidenceView.load(store, keep=deployed_as_now(case.spec))


def _contexts(case: Case, view: EvidenceView) -> list[SuiteContext]:
    """One suite context per teacher of the case, on ``view``."""
    spec = case.spec
    return [
        SuiteContext(
            view=view,
            suspect=spec.suspect.name,
            teacher=teacher.name,
            controls=tuple(c.name for c in spec.control),
            teacher_claims=tuple(teacher.claims),
            custom_aliases=case_aliases_for(spec.models(), teacher),
            seed=spec.case.seed,
            watermark=watermark_for(case, teacher.name),
            references=tuple(r.name for r in spec.reference),
            campaign=spec.campaign.name if spec.campaign else None,
            campaign_teacher=spec.campaign_teacher().name if spec.campaign else None,
            suspect_bases=tuple(m.name for m in (*spec.control, *spec.reference) if m.relation == "suspect-base"),
            membership=MembershipDesign.of(spec),
        )
        for teacher in spec.teacher
    ]


def look_outcome(case: Case, plan: LookPlan, view: EvidenceView | None = None) -> LookOutcome:
    """Where the case's group-sequential plan stands on the stored evidence (the analysis's own rule).

    Collection calls it after each look to decide whether to ask the next; analysis, to find the look it reports.
    """
    view = _verified_view(case) if view is None else view
    spec = case.spec
    suites = list(spec.enabled_suites())
    # The suspect answers last in every round (teachers, references and controls first), so its answers to a
    # look's probes mean the look is stored; a panel model may answer a suite only in part (what its backend can do).
    return replay(plan, view, (spec.suspect.name,), lambda v, alpha: evaluate(_contexts(case, v), suites, alpha),
                  lambda e: [v.decision for v in e.verdicts])


def _analyze_view(case: Case, view: EvidenceView) -> Findings:
    spec = case.spec
    controls = tuple(c.name for c in spec.control)
    references = tuple(r.name for r in spec.reference)
    suites = list(spec.enabled_suites())
    alpha, looks, plan = spec.case.alpha, None, plan_of(case)
    if plan is not None:
        outcome = look_outcome(case, plan, view)
        if outcome.look < 0:
            raise EvidenceStoreError(f"the first look of the case's plan ({plan.prefix(0)} probes per suite) is not "
                                     "stored for the suspect", hint="collect the case first (provenance case collect)")
        view = only_probes(view, plan.probe_ids(outcome.look))  # the analysis of the look the plan stopped at
        alpha, looks = plan.per_look_alpha, outcome.to_dict(plan)
    evaluation = evaluate(_contexts(case, view), suites, alpha, lines=True)
    capability = compare_capability(view, spec.suspect.name, controls, references, tuple(t.name for t in spec.teacher))
    family = [t for t in evaluation.tests if t.in_family]
    verdicts = [v.model_copy(update={"qualifications": qualifications(v, family, capability.to_dict(), view, spec.suspect.name,
                                                                      alpha)})
                for v in evaluation.verdicts]
    models = [
        ModelInfo(name=m.name, role=spec.role_of(m.name), model_key=view.model_keys.get(m.name), identity=view.identities.get(m.name, {}))
        for m in spec.models()
    ]
    return Findings(
        case_id=case.id,
        case_title=spec.case.title,
        analyst=spec.case.analyst,
        case_sha256=case.sha256,
        evidence_head_hash=view.head_hash,
        evidence_rows=view.row_count,
        alpha=spec.case.alpha,
        correction=CORRECTION,
        decision_rule=DECISION_RULE,
        models=models,
        suites={
            name: {"question": SUITES[name].question, "statistic": SUITES[name].statistic}
            for name in spec.enabled_suites()
            if name in SUITES
        },
        tests=evaluation.tests,
        verdicts=verdicts,
        skipped=evaluation.skipped,
        uninformative=evaluation.uninformative,
        capability=capability.to_dict(),
        campaign=_campaign(view, spec),
        warnings=list(view.warnings) + capability.warnings,
        looks=looks,
        software=_software(),
    )


def _campaign(view: EvidenceView, spec: object) -> dict | None:
    """What the evidence recorded of the tested campaign (its identity's summary), if the case tests one."""
    campaign = getattr(spec, "campaign", None)
    if campaign is None or campaign.name not in view.identities:
        return None
    identity = view.identities[campaign.name]
    return {"name": campaign.name, "teacher": spec.campaign_teacher().name,  # type: ignore[attr-defined]
            **(identity.get("details") or {}).get("campaign", {})}


def write_findings(findings: Findings, path: str | Path) -> Path:
    """Write findings.json through the project's atomic writer (whole or not at all, never through a planted link)."""
    path = Path(path)
    atomic_write(path, json.dumps(findings.model_dump(mode="json"), indent=2, sort_keys=True, allow_nan=False) + "\n")
    return path
