"""Membership: the suspect prefers the exact answers a campaign logged over fresh twins.

The statistic is checked on simulated preferences where the answer is known both
ways; the suite end to end on real tiny models: a student fine-tuned on a campaign's
logged answers (found), and the hard control, a student of the *same teacher's other
answers* to the same prompts (not found), through collection, analysis and the report.
"""

from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from provenance.case import CaseFile, load_case
from provenance.stats import StatsInputError
from provenance.stats.membership import membership_test

FAST = dict(n_permutations=199, n_resamples=0)
ALPHA = 0.05
RUNS = 200
FPR_LIMIT = ALPHA + 2.5 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def test_membership_test_rejects_when_the_suspect_prefers_the_logged_answers() -> None:
    rng = np.random.default_rng(0)
    ps = [membership_test(rng.normal(0.7, 1, 80), {"c": rng.normal(0, 1, 80)}, seed=rng, **FAST).p_value
          for _ in range(30)]
    assert np.mean(np.array(ps) <= 0.01) >= 0.9


def test_membership_test_holds_its_false_positive_rate_when_nobody_trained_on_the_log() -> None:
    rng = np.random.default_rng(1)
    ps = [membership_test(rng.normal(0, 1, 60), {"c": rng.normal(0, 1, 60)}, seed=rng, **FAST).p_value
          for _ in range(RUNS)]
    assert np.mean(np.array(ps) <= ALPHA) <= FPR_LIMIT


def test_twins_sampled_otherwise_than_the_log_are_caught_by_the_guard() -> None:
    # Greedy logged answers against sampled twins: every model prefers the logged side.
    rng = np.random.default_rng(2)
    findings, guarded = [], []
    for _ in range(RUNS):
        shift = rng.normal(0.5, 1, 60)  # shared by every model on the same pair
        result = membership_test(shift + rng.normal(0, 0.3, 60), {"c": shift + rng.normal(0, 0.3, 60)}, seed=rng, **FAST)
        exchangeable = result.details["guard"]["exchangeable"]
        findings.append(result.p_value <= ALPHA and exchangeable)
        guarded.append(not exchangeable)
    assert np.mean(findings) <= FPR_LIMIT  # the suspect's own test rejects, but the guard stops it
    assert np.mean(guarded) > 0.9


def test_the_guard_holds_still_when_the_twins_are_exchangeable() -> None:
    rng = np.random.default_rng(3)
    flags = [not membership_test(rng.normal(0.5, 1, 60), {"a": rng.normal(0, 1, 60), "b": rng.normal(0, 1, 60)},
                                 seed=rng, **FAST).details["guard"]["exchangeable"] for _ in range(RUNS)]
    assert np.mean(flags) <= FPR_LIMIT  # a student of the campaign is not turned uninformative more than 5 % of the time


def test_membership_test_reports_each_comparison_and_refuses_bad_input() -> None:
    rng = np.random.default_rng(4)
    result = membership_test(np.full(20, 0.2) + np.linspace(-0.1, 0.1, 20), {"c": rng.normal(0, 0.1, 20)}, seed=0, **FAST)
    assert result.p_value == 1 / 200 and result.n == {"pairs": 20, "controls": 1}
    assert result.details["suspect_prefers_logged_share"] == 1.0
    assert set(result.details["beyond_control"]) == set(result.details["control_alone"]) == {"c"}
    assert membership_test(np.ones(20), None, seed=0, **FAST).details["guard"]["exchangeable"] is None
    with pytest.raises(StatsInputError):
        membership_test(np.zeros(20), {"c": np.zeros(19)}, seed=0)
    with pytest.raises(StatsInputError):
        membership_test(np.zeros(20), {"c": np.zeros(20)}, seed=0, guard_alpha=1.5)


def _case_text(root: Path, suspect: Path, teacher: Path, controls: list[Path], campaign: Path, *, limit: int = 60,
               temperature: float = 1.0, top_p: float = 1.0, extra: str = "", suite_extra: str = "") -> str:
    control_tables = "".join(f'\n[[control]]\nname = "{c.name}"\npath = "{c}"\nbatch_size = 64\n' for c in controls)
    return textwrap.dedent(f"""\
        [case]
        id = "membership-test"
        title = "membership"
        analyst = "pytest"
        seed = 5

        [suspect]
        name = "suspect"
        path = "{suspect}"
        batch_size = 64

        [[teacher]]
        name = "teacher"
        path = "{teacher}"
        batch_size = 64
        """) + control_tables + textwrap.dedent(f"""
        [campaign]
        path = "{campaign}"
        {extra}
        [suites.membership]
        limit = {limit}
        temperature = {temperature}
        top_p = {top_p}
        max_new_tokens = 32
        """) + suite_extra


def _validate(text: str) -> CaseFile:
    import tomllib

    return CaseFile.model_validate(tomllib.loads(text))


def test_the_case_file_names_what_the_membership_suite_needs(tmp_path: Path) -> None:
    a = tmp_path / "m"
    good = _case_text(tmp_path, a, a, [a], a)
    assert _validate(good).role_of("campaign") == "campaign"
    with pytest.raises(ValidationError, match="greedy decoding gives no twins"):
        _validate(_case_text(tmp_path, a, a, [a], a, temperature=0.0))
    with pytest.raises(ValidationError, match="needs a \\[campaign\\] table"):
        _validate(good.split("[campaign]")[0] + "[suites.membership]\ntemperature = 1.0\n")
    with pytest.raises(ValidationError, match="not a teacher of this case"):
        _validate(_case_text(tmp_path, a, a, [a], a, extra='teacher = "nobody"'))
    with pytest.raises(ValidationError, match="scan and rank go together"):
        _validate(_case_text(tmp_path, a, a, [a], a, extra='scan = "campaigns.json"'))
    with pytest.raises(ValidationError, match="looks .* and the membership suite exclude each other"):
        _validate(good.replace("[case]\n", "[case]\nlooks = 3\n", 1))


@pytest.fixture(scope="module")
def membership_world(lab, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:  # noqa: ANN001
    """A campaign of the lab teacher's sampled answers, its student, and a student of the teacher's other answers."""
    from provenance.lab import data_files
    from provenance.lab.membership import distil, teacher_answers, write_transcript

    root = tmp_path_factory.mktemp("membership")
    teacher, base = lab.path("teacher"), lab.path("control-other")
    prompts = [r["prompt"] for r in data_files.distill_prompts()]
    random.Random(0).shuffle(prompts)
    prompts = prompts[:60]
    sampling = dict(temperature=1.0, top_p=1.0, max_new_tokens=32)
    logged = teacher_answers(teacher, prompts, seed=11, **sampling)
    others = teacher_answers(teacher, prompts, seed=12, **sampling)
    campaign = write_transcript(root / "campaign.jsonl", [
        {"prompt": p, "response": a, "model": "aurora-1", "timestamp": f"2026-03-09T03:{i // 60:02d}:{i % 60:02d}Z",
         "source": f"log.jsonl line {i + 1} (account acct-{i % 3})"} for i, (p, a) in enumerate(zip(prompts, logged))])
    distil(base, list(zip(prompts, logged)), root / "campaign-student", epochs=20, seed=1)
    distil(base, list(zip(prompts, others)), root / "same-teacher-student", epochs=20, seed=2)
    scan = root / "campaigns.json"
    scan.write_text(json.dumps({"campaigns": [{"rank": 1, "score": 30.5, "flagged": True, "accounts": ["acct-0", "<b>acct-1</b>"],
                                               "account_count": 2, "requests": 60, "separate_payers": 2}]}), encoding="utf-8")
    return {"root": root, "teacher": teacher, "campaign": campaign, "scan": scan,
            "campaign-student": root / "campaign-student", "same-teacher-student": root / "same-teacher-student",
            "independent": lab.path("control-same-data")}


def _run(world: dict[str, Path], suspect: str, controls: list[str], name: str, top_p: float = 1.0,
         suite_extra: str = "", temperature: float = 1.0) -> tuple:  # noqa: ANN401
    from provenance import api

    directory = world["root"] / name
    directory.mkdir()
    extra = f'scan = "{world["scan"]}"\nrank = 1\n'
    (directory / "case.toml").write_text(_case_text(directory, world[suspect], world["teacher"],
                                                    [world[c] for c in controls], world["campaign"], extra=extra,
                                                    top_p=top_p, suite_extra=suite_extra, temperature=temperature))
    case = load_case(directory)
    lines: list[str] = []
    summary = api.collect(case, on_progress=lambda done, total, label: lines.append(label))
    findings, _ = api.analyze(case)
    return case, findings, {t.test_id: t for t in findings.tests}, summary, lines


def test_a_student_of_the_campaign_is_found_and_the_report_shows_logged_answer_twin_and_suspect(membership_world) -> None:  # noqa: ANN001
    from pypdf import PdfReader

    from provenance import api
    from provenance.evidence import EvidenceStore

    case, findings, tests, summary, lines = _run(membership_world, "campaign-student",
                                                 ["same-teacher-student", "independent"], "found")
    likelihood = tests["logged-vs-twin-likelihood"]
    sequential = likelihood.result["details"]["sequential"]
    assert likelihood.reject and likelihood.in_family and sequential["reason"] == "evidence"
    assert likelihood.result["statistic"] >= 100 and likelihood.result["p_value"] <= 0.01  # p = 1 / max e
    assert likelihood.result["details"]["fixed_sample"]["p_value"] < 0.01  # the fixed-sample p on the same pairs
    assert "stopped because the e-value crossed the threshold" in likelihood.summary
    # Open weights: the overlap test is descriptive and does not share the family.
    assert [t.test_id for t in findings.tests if t.in_family] == ["logged-vs-twin-likelihood"]
    overlap = tests.get("logged-vs-twin-overlap")  # descriptive (or uninformative on the few pairs tested)
    assert overlap is None or (not overlap.in_family and overlap.reject is None)
    assert findings.verdicts[0].supports_derivation
    # Collection stopped once the evidence decided, and said how far it had got while collecting.
    asked = summary.sequential["exchanges_asked"]
    assert summary.complete and summary.sequential["reason"] == "evidence" and asked < 60
    assert any(line.startswith("membership (likelihood): e = ") and "of 100 needed" in line
               and "of 60 logged exchanges" in line for line in lines)
    alone = likelihood.result["details"]["control_alone"]
    assert set(alone) == {"same-teacher-student", "control-same-data"}
    assert all(a["p_value"] > 0.01 for a in alone.values())  # neither control learnt these answers
    # The logged exchanges are evidence rows with the file's hash and line numbers, stored before analysis.
    with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
        logged = [r for r in store.rows() if (r.extra or {}).get("model_name") == "campaign"]
    meta = logged[0].extra["response_meta"]
    assert len(logged) == asked and meta["transcript_line"] >= 1
    assert meta["transcript_sha256"] == findings.campaign["sha256"]
    assert findings.campaign["scan"]["account_count"] == 2 and findings.campaign["exchanges"] == 60
    report = api.render_report(case)
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(report.pdf_path).pages).lower().split())
    assert "the campaign tested" in text and "30.5" in text  # the campaign and its scan score
    assert "logged by the campaign" in text and "fresh twin from teacher" in text  # the exhibits side by side
    assert "<b>acct-1</b>" not in report.html_path.read_text(encoding="utf-8")  # log content is escaped
    squeezed = text.replace(" ", "")  # the evidence-path figure: SVG text reads back without its spaces
    assert "threshold1/alpha=100" in squeezed and f"stoppedafter{sequential['stopped_at']}" in squeezed


def test_a_student_of_the_same_teachers_other_answers_is_not_found(membership_world) -> None:  # noqa: ANN001
    _, findings, tests, summary, _ = _run(membership_world, "same-teacher-student", ["independent"], "not-found")
    for test in tests.values():
        assert test.result["p_value"] > 0.01 and not test.reject
    assert tests["logged-vs-twin-likelihood"].result["details"]["sequential"]["reason"] in ("futility", "exhausted")
    assert not findings.verdicts[0].supports_derivation


def test_twins_sampled_otherwise_than_the_campaign_make_the_test_uninformative_not_a_finding(membership_world) -> None:  # noqa: ANN001
    # The campaign sampled at top_p = 1.0; twins at top_p = 0.3 are the teacher's likeliest text, which every
    # model, trained on the log or not, prefers to the logged answers.
    # Fixed design (60 exchanges at once): the controls' lean is measured on all of them.
    _, findings, tests, _, _ = _run(membership_world, "same-teacher-student", ["campaign-student", "independent"],
                                    "mismatch", top_p=0.3, suite_extra="sequential = false\n")
    assert "logged-vs-twin-likelihood" not in tests
    reasons = {u.test_id: u.reason for u in findings.uninformative}
    assert "twins were not sampled as the campaign's answers were" in reasons["logged-vs-twin-likelihood"]
    assert not findings.verdicts[0].supports_derivation
    # Sequential: twins likelier than the log drive every e-value down; the test ends without a finding.
    _, findings, tests, _, _ = _run(membership_world, "same-teacher-student", ["campaign-student", "independent"],
                                    "mismatch-sequential", top_p=0.3)
    assert not findings.verdicts[0].supports_derivation
    assert all(not t.reject for t in tests.values())


def test_twins_less_likely_than_the_log_are_stopped_by_the_guard_before_they_make_a_finding(membership_world) -> None:  # noqa: ANN001
    # The dangerous direction: twins sampled hotter than the campaign (temperature 1.6 against its 1.0) are less
    # likely text than the logged answers under a model of the teacher, so a non-member's own e-value can rise too;
    # the controls' guard must stop the test first. The control here is the student of the teacher's other answers
    # (it knows the teacher's distribution best). A mismatch that moves the suspect but leaves every control
    # indifferent is not caught (docs/membership.md): keep the twins' settings the campaign's.
    _, findings, tests, summary, _ = _run(membership_world, "independent", ["same-teacher-student"], "hot-twins",
                                          temperature=1.6)
    assert "logged-vs-twin-likelihood" not in tests
    reasons = {u.test_id: u.reason for u in findings.uninformative}
    assert "a bettor on their lean reached" in reasons["logged-vs-twin-likelihood"]
    assert summary.sequential["reason"] == "guard"
    assert not findings.verdicts[0].supports_derivation


def test_stopping_early_never_changes_stored_evidence_and_the_whole_log_gives_the_same_numbers(membership_world) -> None:  # noqa: ANN001
    """A stopped collection stores exactly the first rows a collection of the whole log stores; replayed on either
    store, the rule stops at the same pair with the same e-value; re-analysis gives the same numbers."""
    from provenance import api
    from provenance.evidence import EvidenceStore

    stopped, first, tests, summary, _ = _run(membership_world, "campaign-student", ["same-teacher-student"], "early")
    assert summary.sequential["exchanges_asked"] < 60
    whole, _, _, _, _ = _run(membership_world, "campaign-student", ["same-teacher-student"], "whole",
                             suite_extra="sequential = false\n")

    def answers(case) -> dict[str, dict]:  # noqa: ANN001
        with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
            return {r.request_key: r.response for r in store.rows()}

    early_rows, whole_rows = answers(stopped), answers(whole)
    assert len(early_rows) < len(whole_rows) and set(early_rows) <= set(whole_rows)
    for key, response in early_rows.items():  # the same answers; log-probabilities up to a batch's float rounding
        other = whole_rows[key]
        assert response.get("text") == other.get("text") and response.get("token_ids") == other.get("token_ids")
        assert np.allclose(response.get("logprobs") or [], other.get("logprobs") or [], atol=1e-4)
    # The whole log's evidence, analysed sequentially: the same stopping point, e-value and path.
    text = (whole.directory / "case.toml").read_text(encoding="utf-8").replace("sequential = false", "sequential = true")
    (whole.directory / "case.toml").write_text(text, encoding="utf-8")
    replayed, _ = api.analyze(whole.directory)
    again, _ = api.analyze(stopped.directory)
    first = tests["logged-vs-twin-likelihood"].result

    def likelihood(findings) -> dict:  # noqa: ANN001
        return next(t for t in findings.tests if t.test_id == "logged-vs-twin-likelihood").result

    assert likelihood(again) == first  # re-analysis of the stored evidence: the same numbers, exactly
    seq, mine = likelihood(replayed)["details"]["sequential"], first["details"]["sequential"]
    assert (seq["stopped_at"], seq["reason"]) == (mine["stopped_at"], mine["reason"])
    assert np.allclose(seq["path"], mine["path"], rtol=1e-3)


def test_case_run_resumes_a_sequential_case_stopped_by_its_budget_without_asking_anything_twice(membership_world) -> None:  # noqa: ANN001
    """`case run` stopped by a small query budget, then re-run with a larger one: the stored rows stay as they were,
    no request is stored twice, and the re-run goes on to a decision (issue 31, item 4)."""
    from typer.testing import CliRunner

    from provenance.cli import EXIT_BUDGET, app
    from provenance.evidence import EvidenceStore

    directory = membership_world["root"] / "resume"
    directory.mkdir()
    text = _case_text(directory, membership_world["campaign-student"], membership_world["teacher"],
                      [membership_world["same-teacher-student"]], membership_world["campaign"])
    (directory / "case.toml").write_text(text + "\n[budget]\nmax_requests = 25\n", encoding="utf-8")

    def rows() -> list[tuple[int, str, str]]:
        case = load_case(directory)
        with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
            return [(r.id, r.request_key, r.row_hash) for r in store.rows()]

    stopped = CliRunner().invoke(app, ["case", "run", str(directory)])
    assert stopped.exit_code == EXIT_BUDGET, stopped.output
    before = rows()
    assert 0 < len(before) <= 25 + 60  # the logged exchanges may be stored besides the asked requests
    (directory / "case.toml").write_text(text, encoding="utf-8")  # the default budget
    resumed = CliRunner().invoke(app, ["case", "run", str(directory)])
    assert resumed.exit_code in (0, 1), resumed.output  # a verdict either way; not stopped by the budget
    after = rows()
    assert after[: len(before)] == before  # stored evidence unchanged, in place
    keys = [key for _, key, _ in after]
    assert len(keys) == len(set(keys)) and len(after) > len(before)  # nothing asked twice; it went on
    case = load_case(directory)
    findings = json.loads((case.directory / "findings.json").read_text(encoding="utf-8"))
    sequential = next(t for t in findings["tests"] if t["test_id"] == "logged-vs-twin-likelihood")["result"]["details"]["sequential"]
    assert sequential["reason"] in {"evidence", "futility", "exhausted"}
