"""``analyze``: stored evidence in, ``findings.json`` out.

Reads only the evidence store and the case file; refuses evidence whose hash
chain is broken. The decision rule is fixed here, before any data is seen.
"""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

from provenance.analysis.findings import Findings, ModelInfo, Skipped, TestFinding, Verdict
from provenance.analysis.view import EvidenceView
from provenance.case import Case
from provenance.errors import EvidenceStoreError
from provenance.evidence import EvidenceStore
from provenance.stats import correct_family
from provenance.suites import SUITES, SuiteContext, SuiteSkipped, SuiteTest
from provenance.suites.identity import case_aliases_for
from provenance.watermark.case import watermark_for

CORRECTION = "holm"
DECISION_RULE = (
    "Each family test's null hypothesis is that the suspect is no closer to the teacher than to the controls "
    "(for identity: claims the teacher's identity no more often than the controls do). All family tests, over "
    "all teachers, form one family corrected by Holm's method at the case's alpha. The evidence supports "
    "derivation from a teacher if at least one of that teacher's family tests rejects its null after correction. "
    "Tests outside the family (descriptive agreement, the lost-guardrail signature) never change the verdict."
)


def _software() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("provenance", "numpy", "scipy", "statsmodels", "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def _verdict(suspect: str, teacher: str, alpha: float, family: list[TestFinding]) -> Verdict:
    mine = [t for t in family if t.teacher == teacher]
    rejected = [f"{t.suite}/{t.test_id}" for t in mine if t.reject]
    if rejected:
        text = (
            f"The evidence supports the hypothesis that the suspect '{suspect}' was derived from the teacher "
            f"'{teacher}' at family-wise alpha = {alpha}: {len(rejected)} of {len(mine)} tests rejected their null "
            f"after Holm correction ({', '.join(rejected)})."
        )
    else:
        text = (
            f"The evidence does not support the hypothesis that the suspect '{suspect}' was derived from the teacher "
            f"'{teacher}' at family-wise alpha = {alpha}: none of {len(mine)} tests rejected its null after Holm "
            "correction. This is not proof of independence: a derived model can hide these traces."
        )
    return Verdict(teacher=teacher, supports_derivation=bool(rejected), rejected_tests=rejected, text=text)


def analyze(case: Case) -> Findings:
    """Run every enabled suite on the stored evidence and decide, per teacher."""
    spec = case.spec
    if not case.evidence_path.is_file():
        raise EvidenceStoreError(f"no evidence store at {case.evidence_path}", hint="run `provenance case collect` first")
    with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
        check = store.verify()
        if not check.ok:
            raise EvidenceStoreError(
                f"refusing to analyse broken evidence: {check.problem}",
                hint="restore the evidence store from a verified copy; `provenance verify` names the broken row",
            )
        view = EvidenceView.load(store)
    controls = tuple(c.name for c in spec.control)
    raw: list[tuple[str, SuiteTest]] = []
    skipped: list[Skipped] = []
    for teacher in spec.teacher:
        ctx = SuiteContext(
            view=view,
            suspect=spec.suspect.name,
            teacher=teacher.name,
            controls=controls,
            teacher_claims=tuple(teacher.claims),
            custom_aliases=case_aliases_for(spec.models(), teacher),
            seed=spec.case.seed,
            watermark=watermark_for(case, teacher.name),
        )
        for name in spec.enabled_suites():
            suite = SUITES.get(name)
            if suite is None:
                skipped.append(Skipped(suite=name, teacher=teacher.name, reason="this suite has no analysis in this release"))
                continue
            try:
                tests = suite.analyze(ctx)
            except SuiteSkipped as exc:
                skipped.append(Skipped(suite=name, teacher=teacher.name, reason=str(exc)))
                continue
            if name == "distribution" and not any(t.test_id == "cross-likelihood" for t in tests):
                skipped.append(
                    Skipped(
                        suite=name,
                        teacher=teacher.name,
                        reason="cross-likelihood needs the suspect and every control to score the teacher's answers; "
                        "no stored scores (a black-box backend cannot score), so only answer overlap was tested",
                    )
                )
            raw.extend((teacher.name, t) for t in tests)

    family_idx = [i for i, (_, t) in enumerate(raw) if t.in_family]
    corrected = correct_family([raw[i][1].result for i in family_idx], method=CORRECTION, alpha=spec.case.alpha)
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
        tests=tests,
        verdicts=[_verdict(spec.suspect.name, t.name, spec.case.alpha, family) for t in spec.teacher],
        skipped=skipped,
        warnings=list(view.warnings),
        software=_software(),
    )


def write_findings(findings: Findings, path: str | Path) -> Path:
    """Write findings.json atomically (a crash never leaves half a file)."""
    path = Path(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(findings.model_dump(mode="json"), indent=2, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
