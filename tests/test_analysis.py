"""Suites and verdicts on the lab family, where the answer is known both ways.

The ground truth comes from the lab's lab.json only. Probe sets are cut (limit)
to keep the suite fast; the full-size figures come from the demo and from
benchmarks/calibration.py.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import textwrap
from pathlib import Path

import pytest

from conftest import LAB_CONTROLS
from provenance import api
from provenance.case import load_case
from provenance.errors import EvidenceStoreError
from provenance.evidence import EvidenceStore
from provenance.stats.panel import CALIBRATED


def _case(root: Path, lab, suspect: str, controls: list[str], references: dict[str, Path] | None = None) -> Path:  # noqa: ANN001
    root.mkdir(parents=True, exist_ok=True)
    control_tables = "".join(f'[[control]]\nname = "{c}"\npath = "{lab.path(c)}"\n\n' for c in controls)
    control_tables += "".join(f'[[reference]]\nname = "{n}"\npath = "{p}"\n\n' for n, p in (references or {}).items())
    text = textwrap.dedent(
        f"""\
        [case]
        id = "lab-{suspect}"
        title = "lab pair"
        analyst = "pytest"
        seed = 11

        [suspect]
        name = "{suspect}"
        path = "{lab.path(suspect)}"

        [[teacher]]
        name = "teacher"
        path = "{lab.path('teacher')}"
        claims = ["Aurora", "Northwind Labs"]

        """
    )
    suites = textwrap.dedent(
        """\
        [suites.identity]
        max_new_tokens = 24
        limit = 40

        [suites.refusal]
        max_new_tokens = 24

        [suites.distribution]
        max_new_tokens = 24
        limit = 60

        [suites.errors]
        max_new_tokens = 12
        limit = 80

        [suites.style]
        """
    )
    (root / "case.toml").write_text(text + control_tables + suites)
    return root


def _tests(findings) -> dict[str, object]:  # noqa: ANN001
    return {f"{t.suite}/{t.test_id}": t for t in findings.tests}


@pytest.fixture(scope="module")
def student_case(lab, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    assert lab.derived("student", "teacher")
    root = _case(tmp_path_factory.mktemp("student"), lab, "student", list(LAB_CONTROLS))
    result = api.run_case(root)
    assert result.findings is not None
    return root, result.findings


def test_distilled_student_is_found_derived_against_a_panel_of_independent_models(student_case) -> None:  # noqa: ANN001
    _, findings = student_case
    verdict = findings.verdicts[0]
    assert verdict.supports_derivation and verdict.decision == "supports", verdict.text
    assert verdict.evidence_kinds == [CALIBRATED] and verdict.panel_models == len(LAB_CONTROLS)
    tests = _tests(findings)
    for key in ("identity/teacher-identity-claims", "distribution/cross-likelihood"):
        assert tests[key].reject, (key, tests[key].p_adjusted, tests[key].summary)
        result = tests[key].result
        assert result["n"]["panel_models"] == len(LAB_CONTROLS)
        assert set(result["details"]["panel"]) == set(LAB_CONTROLS)
        assert result["details"]["rank_p"] == pytest.approx(1 / (len(LAB_CONTROLS) + 1))  # closer than every one
    assert all(t.evidence_rows for t in findings.tests)


def _run_reusing(root: Path, student_case) -> object:  # noqa: ANN001
    """Collect, copying the answers the student case already stored (same models, prompts, settings), then analyse."""
    assert api.collect(root, reuse_from=[student_case[0] / "evidence.sqlite"]).complete
    return api.analyze(root)[0]


def test_independent_control_is_not_found_derived_by_a_panel_able_to_find_it(lab, tmp_path: Path, student_case) -> None:  # noqa: ANN001
    assert not lab.derived("control-same-data", "teacher")
    panel = [c for c in LAB_CONTROLS if c != "control-same-data"]
    findings = _run_reusing(_case(tmp_path, lab, "control-same-data", panel), student_case)
    verdict = findings.verdicts[0]
    assert not verdict.supports_derivation, verdict.text
    assert not any(t.reject for t in findings.tests if t.in_family)
    assert verdict.decision in ("does-not-support", "not-decidable"), verdict.text
    for t in findings.tests:
        if t.in_family:
            assert t.result["n"]["panel_models"] <= len(panel) and t.result["details"]["evidence_kind"] == CALIBRATED


def test_a_reference_model_answers_only_the_scored_suite_and_joins_the_panel(lab, tiny_model: Path, tmp_path: Path,
                                                                             student_case) -> None:  # noqa: ANN001
    root = _case(tmp_path, lab, "control-same-data", ["control-other", "control-panel-1"], {"outsider": tiny_model})
    findings = _run_reusing(root, student_case)
    roles = {m.name: m.role for m in findings.models}
    assert roles["outsider"] == "reference"
    markers = _tests(findings).get("distribution/teacher-attribution") or _tests(findings).get("distribution/teacher-markers")
    if markers is not None:
        assert "outsider" in markers.result["details"]["panel"]
    # Three models cannot estimate the spread between models: the exact rank form, whose floor 1/4 is far above
    # alpha, so nothing can be decided, and the verdict says so instead of "does not support".
    assert findings.verdicts[0].decision == "not-decidable" and "add at least" in findings.verdicts[0].text
    from provenance.evidence import EvidenceStore

    with EvidenceStore.open_existing(root / "evidence.sqlite", "lab-control-same-data") as store:
        outsider = [r for r in store.rows() if (r.extra or {}).get("model_name") == "outsider"]
    assert outsider and {r.suite for r in outsider} == {"distribution"} and {r.method for r in outsider} == {"generate"}


def test_one_control_gives_no_verdict_but_not_decidable(student_case) -> None:  # noqa: ANN001
    root, _ = student_case
    text = (root / "case.toml").read_text()
    cut = text.index('[[control]]\nname = "control-other"')
    one = root.parent / "one-control"
    one.mkdir(exist_ok=True)
    shutil.copy(root / "evidence.sqlite", one / "evidence.sqlite")
    (one / "case.toml").write_text(text[:cut] + text[text.index("[suites.identity]"):])
    findings, _ = api.analyze(one)
    verdict = findings.verdicts[0]
    assert verdict.decision == "not-decidable" and not verdict.supports_derivation
    assert "Not decidable with this panel" in verdict.text
    for t in findings.tests:
        if t.in_family:
            assert t.result["details"]["floor"] == pytest.approx(0.5)  # rank form, one panel model


def test_without_a_suite_the_verdict_is_the_one_an_analysis_without_that_suite_gives(student_case, tmp_path: Path) -> None:  # noqa: ANN001
    """Lines of evidence (issue 27, item 5): each leave-one-suite-out line is what analysing without that suite gives."""
    root, findings = student_case
    [verdict] = findings.verdicts
    assert verdict.decision == "supports" and verdict.lines and verdict.lines_text
    assert sum(len(line.tests) for line in verdict.lines) == len(verdict.rejected_tests)
    family_suites = {t.suite for t in findings.tests if t.in_family}
    suite_cf = {c.without: c for c in verdict.counterfactuals if c.kind == "suite"}
    assert set(suite_cf) == family_suites
    text = (root / "case.toml").read_text()
    for suite, counterfactual in suite_cf.items():
        copy = tmp_path / f"without-{suite}"
        copy.mkdir()
        shutil.copy(root / "evidence.sqlite", copy / "evidence.sqlite")
        start = text.index(f"[suites.{suite}]")
        end = text.find("[suites.", start + 1)
        (copy / "case.toml").write_text(text[:start] + (text[end:] if end != -1 else ""))
        again, _ = api.analyze(copy)
        assert again.verdicts[0].decision == counterfactual.decision, suite
        assert again.verdicts[0].rejected_tests == counterfactual.rejected_tests, suite
    # The student repeats its teacher's canned refusals to open prompts: they are removed, and the line says so.
    content = {c.without: c for c in verdict.counterfactuals if c.kind == "content"}
    assert content["refusals"].removed.get("distribution", 0) > 0
    saved = json.loads((root / "findings.json").read_text())["verdicts"][0]
    assert saved["lines"] and saved["counterfactuals"] and saved["lines_text"] == verdict.lines_text
    # Both errors tests share one informativeness gate: never one in the family while the other is uninformative.
    errors = {u.test_id: u for u in findings.uninformative if u.suite == "errors"}
    in_family = {t.test_id for t in findings.tests if t.suite == "errors" and t.in_family}
    assert not (errors and in_family), (errors, in_family)
    if "error-consistency" in errors:
        assert errors["shared-wrong-answers"].reason.startswith("shares the gate of error-consistency")


def test_stripped_student_shows_the_lost_guardrail_signature(lab, tmp_path: Path, student_case) -> None:  # noqa: ANN001
    assert lab.derived("student-stripped", "teacher")
    findings = _run_reusing(_case(tmp_path, lab, "student-stripped", list(LAB_CONTROLS)), student_case)
    assert findings is not None
    # It never refuses, so whether it refuses what the teacher refuses cannot be measured: said, not p = 1.
    [u] = [u for u in findings.uninformative if u.test_id == "refusal-decision-agreement"]
    assert u.numbers["refused (student-stripped)"] == 0 and "at least 5" in u.reason
    guardrails = _tests(findings)["refusal/lost-guardrails"]
    assert not guardrails.in_family
    assert guardrails.result["p_value"] < 0.01
    assert guardrails.result["effect"] < 0 and guardrails.result["ci"][1] < 0
    assert findings.verdicts[0].supports_derivation


def _looks_case(root: Path, lab, suspect: str, controls: list[str], looks: int) -> Path:  # noqa: ANN001
    _case(root, lab, suspect, controls)
    text = (root / "case.toml").read_text()
    (root / "case.toml").write_text(text.replace("seed = 11\n", f"seed = 11\nlooks = {looks}\n", 1))
    return root


def _stored_probes(root: Path, model: str) -> dict[str, int]:
    from provenance.analysis.view import EvidenceView

    with EvidenceStore.open_existing(root / "evidence.sqlite", load_case(root).id) as store:
        view = EvidenceView.load(store)
    return {suite: len(by) for suite, by in view.answers.get(model, {}).items()}


def test_a_group_sequential_plan_stops_at_the_look_that_decides_and_asks_nothing_beyond_it(
        lab, tmp_path: Path, student_case) -> None:  # noqa: ANN001
    """[case] looks = 3: each look at alpha / 3; the student is decided before the last look, and the suspect was
    asked only that look's probes. Re-analysis from the stored evidence alone reaches the same look and numbers."""
    root = _looks_case(tmp_path / "looks", lab, "student", list(LAB_CONTROLS), looks=3)
    lines: list[str] = []
    summary = api.collect(root, reuse_from=[student_case[0] / "evidence.sqlite"],
                          on_progress=lambda done, total, what: lines.append(what))
    assert summary.complete and summary.sequential["reason"] == "decided"
    assert any("look 1 of 3" in line for line in lines)
    findings, path = api.analyze(root)
    looks = findings.looks
    assert looks is not None and looks["looks"] == 3 and looks["reason"] == "decided"
    assert looks["per_look_alpha"] == pytest.approx(0.01 / 3) and looks["stopped_at_look"] < 3
    asked = looks["taken"][-1]["probes_per_suite"]
    plan = looks["probes_per_look"]
    assert asked == {suite: counts[looks["stopped_at_look"] - 1] for suite, counts in plan.items()}
    assert any(asked[s] < plan[s][-1] for s in asked)  # fewer probes than the fixed design asks
    stored = _stored_probes(root, "student")
    assert all(stored[s] == asked[s] for s in asked), (stored, asked)
    verdict = findings.verdicts[0]
    assert verdict.decision == "supports" and "alpha = 0.00333333" in verdict.text
    for t in findings.tests:  # every test saw the look's probes only
        if t.suite in asked and t.in_family:
            assert t.result["n"]["panel_models"] == len(LAB_CONTROLS)
    first = path.read_bytes()
    api.analyze(root)
    assert path.read_bytes() == first
    from pypdf import PdfReader

    pages = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(api.render_report(root).pdf_path).pages)
    assert "Group-sequential plan." in pages and f"look {looks['stopped_at_look']} of 3 (the verdict was decided)" in pages


def test_a_group_sequential_plan_for_an_independent_model_takes_every_look(lab, tmp_path: Path, student_case) -> None:  # noqa: ANN001
    panel = [c for c in LAB_CONTROLS if c != "control-same-data"]
    root = _looks_case(tmp_path / "looks-independent", lab, "control-same-data", panel, looks=2)
    assert api.collect(root, reuse_from=[student_case[0] / "evidence.sqlite"]).complete
    findings = api.analyze(root)[0]
    assert findings.looks["reason"] == "exhausted" and findings.looks["stopped_at_look"] == 2
    assert findings.verdicts[0].decision != "supports"


def test_reanalysis_from_evidence_alone_gives_identical_findings(student_case, tmp_path: Path) -> None:  # noqa: ANN001
    root, _ = student_case
    first = (root / "findings.json").read_bytes()
    # Copy only the case file and the evidence: the models are not needed any more.
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(root / "case.toml", copy / "case.toml")
    shutil.copy(root / "evidence.sqlite", copy / "evidence.sqlite")
    text = (copy / "case.toml").read_text()
    for line in text.splitlines():
        if line.startswith("path = "):
            text = text.replace(line, 'path = "/nonexistent/model"')
    (copy / "case.toml").write_text(text)
    api.analyze(copy)
    again = json.loads((copy / "findings.json").read_text())
    original = json.loads(first)
    original.pop("case_sha256"), again.pop("case_sha256")
    assert again == original


def test_analysis_refuses_tampered_evidence(student_case, tmp_path: Path) -> None:  # noqa: ANN001
    root, _ = student_case
    copy = tmp_path / "tampered"
    shutil.copytree(root, copy)
    with sqlite3.connect(copy / "evidence.sqlite") as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE evidence SET prompt = prompt || '!' WHERE id = 5")
    with pytest.raises(EvidenceStoreError, match="row 5"):
        api.analyze(load_case(copy))


def test_findings_json_states_rule_hypotheses_and_sample_sizes(student_case) -> None:  # noqa: ANN001
    root, _ = student_case
    data = json.loads((root / "findings.json").read_text())
    assert data["schema_version"] == "1.4" and data["correction"] == "holm" and "Holm" in data["decision_rule"]
    for test in data["tests"]:
        result = test["result"]
        for key in ("null_hypothesis", "alternative_hypothesis", "statistic", "p_value", "effect", "n", "method"):
            assert key in result
    assert {s["suite"] for s in data["skipped"]} <= {"distribution"}
