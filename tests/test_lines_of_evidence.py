"""Lines of evidence and qualifications of a verdict (issue 27, items 5 and 4).

Fast tests build the decision's inputs directly (test results with known p-values,
a view with known answers), where what the verdict rests on is known by construction;
the lab test (tests/test_analysis.py, on its student case) checks the leave-one-suite-out
lines against the analysis re-run with that suite taken out of the case file.
"""

from __future__ import annotations



from provenance.analysis import run
from provenance.analysis.findings import TestFinding as Finding, Verdict
from provenance.analysis.lines import CONTENT_KINDS, lines_of_evidence, without_content
from provenance.analysis.qualify import qualifications
from provenance.analysis.view import Answer, EvidenceView, ScoreRecord
from provenance.stats import TestResult
from provenance.stats.panel import CALIBRATED
from provenance.suites.base import SuiteContext, SuiteTest

REFUSALS, IDENTITY = CONTENT_KINDS


def _result(p: float, *, form: str = "parametric", rank_p: float = 1 / 7, extrapolated: bool = False) -> TestResult:
    return TestResult(
        name="t", null_hypothesis="h0", alternative_hypothesis="h1", alternative="greater", statistic=3.0,
        statistic_name="t", p_value=p, effect=0.1, effect_name="e", ci=None, ci_level=0.95,
        n={"panel_models": 6, "items": 40}, method="m",
        details={"form": form, "floor": 0.0 if form == "parametric" else rank_p, "rank_p": rank_p,
                 "evidence_kind": CALIBRATED, "extrapolated": extrapolated},
    )


def _ctx(view: EvidenceView | None = None) -> SuiteContext:
    return SuiteContext(view=view or EvidenceView(), suspect="suspect", teacher="teacher",
                        controls=("c1", "c2", "c3", "c4", "c5", "c6"), teacher_claims=("Aurora", "Northwind Labs"), seed=1)


def _decided(p_values: dict[str, float], rows: dict[str, tuple[int, ...]] | None = None,
             extrapolated: frozenset[str] = frozenset()):  # noqa: ANN202
    """The rule applied to one test per suite with the given p-values, with lines (no content re-run: empty view)."""
    contexts = [_ctx()]
    raw = [("teacher", SuiteTest(s, f"{s}-test", _result(p, extrapolated=s in extrapolated), True,
                                 (rows or {}).get(s, (i,)), "summary"))
           for i, (s, p) in enumerate(p_values.items())]
    coverage = {"teacher": []}
    tests, verdicts = run._decide(contexts, raw, 0.01, coverage)
    [verdict] = run._with_lines(contexts, list(p_values), 0.01, raw, tests, verdicts, coverage)
    return verdict, tests


def test_leave_one_suite_out_reruns_holm_and_the_decision_without_that_suite() -> None:
    # Holm over three at 0.01: 0.001 * 3 and 0.004 * 2 reject, 0.2 does not.
    verdict, _ = _decided({"identity": 0.001, "refusal": 0.004, "distribution": 0.2})
    assert verdict.decision == "supports" and verdict.rejected_tests == ["identity/identity-test", "refusal/refusal-test"]
    assert [line.suites for line in verdict.lines] == [["identity"], ["refusal"]]
    by_suite = {c.without: c for c in verdict.counterfactuals}
    assert set(by_suite) == {"identity", "refusal", "distribution"} and all(c.kind == "suite" for c in by_suite.values())
    assert by_suite["identity"].decision == "supports" and by_suite["identity"].rejected_tests == ["refusal/refusal-test"]
    assert "supports (1 of 2 tests reject: refusal/refusal-test)" in by_suite["identity"].text
    assert "form 2 independent lines of evidence" in verdict.lines_text and "stands without any one suite" in verdict.lines_text
    # One rejecting suite: without it, the other test alone does not reject.
    verdict, _ = _decided({"identity": 0.001, "distribution": 0.2})
    by_suite = {c.without: c for c in verdict.counterfactuals}
    assert by_suite["identity"].decision == "does-not-support" and by_suite["identity"].rejected_tests == []
    assert "Without the identity suite the verdict would be: does not support (its one test does not reject)" in by_suite["identity"].text
    assert "does not survive the loss of the identity suite" in verdict.lines_text
    # Holm's m shrinks without a suite: 0.004 * 3 = 0.012 does not reject with three tests, 0.004 * 2 does with two.
    verdict, _ = _decided({"identity": 0.004, "refusal": 0.3, "distribution": 0.5})
    assert verdict.decision == "does-not-support"
    assert {c.without: c.decision for c in verdict.counterfactuals} == {
        "identity": "does-not-support", "refusal": "supports", "distribution": "supports"}


def test_suites_citing_the_same_stored_answers_are_one_line() -> None:
    verdict, _ = _decided({"distribution": 0.001, "style": 0.002, "identity": 0.003},
                          rows={"distribution": (1, 2, 3), "style": (3, 4), "identity": (9,)})
    assert [line.suites for line in verdict.lines] == [["distribution", "style"], ["identity"]]
    assert "cite 1 of the same stored answers" in verdict.lines[0].text
    assert "form 2 independent lines of evidence" in verdict.lines_text


def _finding(suite: str, test_id: str, reject: bool) -> Finding:
    return Finding(suite=suite, test_id=test_id, teacher="teacher", in_family=True, result={}, reject=reject,
                       summary="", evidence_rows=[hash(suite) % 1000])


def test_a_suite_that_rejects_no_more_without_the_teachers_refusals_joins_the_refusal_line() -> None:
    family = [_finding("refusal", "refusal-wording-overlap", True), _finding("distribution", "teacher-markers", True),
              _finding("identity", "teacher-identity-claims", True), _finding("errors", "shared-wrong-answers", True)]
    verdict = Verdict(teacher="teacher", supports_derivation=True, decision="supports",
                      rejected_tests=[f"{t.suite}/{t.test_id}" for t in family], text="")
    # Without refusals anywhere, distribution's test no longer rejects; errors' still does.
    without_refusals = [_finding("distribution", "teacher-markers", False), _finding("identity", "teacher-identity-claims", True),
                        _finding("errors", "shared-wrong-answers", True)]
    lines = lines_of_evidence(verdict, family, [(REFUSALS, without_refusals)])
    assert [line.suites for line in lines] == [["refusal", "distribution"], ["identity"], ["errors"]]
    assert "distribution rejects no more once the answers that are refusals are removed" in lines[0].text
    # Where the refusal suite itself did not reject, the suites resting on refusals are still one line, not two.
    family[0] = _finding("refusal", "refusal-wording-overlap", False)
    without_refusals[2] = _finding("errors", "shared-wrong-answers", False)
    lines = lines_of_evidence(verdict, family, [(REFUSALS, without_refusals)])
    assert [line.suites for line in lines] == [["distribution", "errors"], ["identity"]]


def _answer(row: int, probe: str, text: str) -> list[Answer]:
    return [Answer(row_id=row, probe_id=probe, prompt=f"prompt {probe}", text=text, seed=0, probe={}, token_ids=())]


def test_removing_content_drops_a_prompt_for_every_model_when_the_teacher_or_the_suspect_gave_it() -> None:
    refusal = "I'm sorry, but I can't help with that."
    texts = {
        "teacher": {"p1": refusal, "p2": "Paris is the capital of France.", "p3": "Water boils at 100 degrees.",
                    "p4": "I am Aurora, made by Northwind Labs."},
        "suspect": {"p1": refusal, "p2": "The capital is Paris.", "p3": refusal, "p4": "Hello there."},
        "c1": {"p1": "Sure, here it is.", "p2": refusal, "p3": "It boils at 100 C.", "p4": "Hi."},
    }
    view = EvidenceView()
    row = 0
    for model, by_probe in texts.items():
        for probe, text in by_probe.items():
            for suite in ("distribution", "refusal"):
                row += 1
                view.answers.setdefault(model, {}).setdefault(suite, {})[probe] = _answer(row, probe, text)
        view.scores.setdefault(model, {})["distribution"] = {
            "teacher": {p: ScoreRecord(row_id=1000 + i, probe_id=p, source_request="", logprobs=(-1.0,), text="x")
                        for i, p in enumerate(texts["teacher"])}}
    stripped, removed = without_content(_ctx(view), REFUSALS)
    # p1 (both refuse) and p3 (the suspect refuses) go; p2 stays: only a panel model refused it.
    assert removed == {"distribution": 2}
    for model in texts:
        assert sorted(stripped.answers[model]["distribution"]) == ["p2", "p4"]
        assert sorted(stripped.answers[model]["refusal"]) == ["p1", "p2", "p3", "p4"]  # its own suite is left out instead
        assert sorted(stripped.scores[model]["distribution"]["teacher"]) == ["p2", "p4"]
    assert sorted(view.answers["c1"]["distribution"]) == ["p1", "p2", "p3", "p4"]  # the original view is untouched
    stripped, removed = without_content(_ctx(view), IDENTITY)
    assert removed == {"distribution": 1, "refusal": 1} and "p4" not in stripped.answers["c1"]["distribution"]


def test_warnings_that_weaken_an_assumption_become_sentences_that_qualify_the_verdict() -> None:
    capability = {
        "controls": {
            "c1": {"gap_nats_per_byte": 0.379, "errors_accuracy": {"suspect": 0.6, "control": 0.2, "questions": 285}},
            "c2": {"gap_nats_per_byte": 0.01, "errors_accuracy": {"suspect": 0.6, "control": 0.58, "questions": 285}},
        },
        "warn_levels": {"nats_per_byte": 0.2, "accuracy": 0.15},
    }
    parametric = Finding(suite="identity", test_id="teacher-identity-claims", teacher="teacher", in_family=True,
                             result=_result(1e-6).to_dict() | {"n": {"panel_models": 6}}, reject=True, summary="",
                             evidence_rows=[1])
    left = Finding(suite="refusal", test_id="refusal-wording-overlap", teacher="teacher", in_family=True,
                       result={"n": {"panel_models": 5}, "details": {"left_out": {"c3": "refused 2 prompts: too few"}}},
                       reject=False, summary="", evidence_rows=[2])
    verdict = Verdict(teacher="teacher", supports_derivation=True, decision="supports",
                      rejected_tests=["identity/teacher-identity-claims"], text="")
    view = EvidenceView(changed_models=["c2"], set_aside={"c1": 3})
    sentences = qualifications(verdict, [parametric, left], capability, view, "suspect", 0.01)
    text = " ".join(sentences)
    assert "The method assumes that the independent models differ from the suspect as independent models" in sentences[0]
    assert "'c1' is less capable than the suspect" in sentences[0] and "by 0.38 nats per byte" in sentences[0]
    assert "'c2'" not in sentences[0]
    assert "'c1' is right on 20% of 285 factual questions, the suspect on 60%" in text
    assert "relies on the assumption that the statistic varies between independent models as a normal distribution" in text
    assert "By rank alone, which needs no such assumption, it gives p = 0.143 (the suspect is beyond every panel model" in text
    assert "does not reach Holm's first threshold of 0.005: the strength of the finding depends on the assumption" in text
    assert "refusal/refusal-wording-overlap compared the suspect with 5 independent models" in text and "'c3' was left out" in text
    assert "The model 'c2' changed during collection" in text and "3 stored answers of 'c1' were asked under other settings" in text
    # No operator instructions: the sentences qualify the finding, they do not tell the analyst what to do.
    assert not any(word in text for word in ("README", "add a", "prefer controls", "[[reference]]"))
    # A verdict that does not support derivation is not qualified by the assumption its rejections would need.
    verdict = verdict.model_copy(update={"decision": "does-not-support", "supports_derivation": False})
    assert not any("normal distribution" in s for s in qualifications(verdict, [parametric, left], capability, view,
                                                                       "suspect", 0.01))


def test_a_panel_model_that_names_the_teacher_qualifies_the_verdict_either_way() -> None:
    """A control answering "I am <teacher>" stands for no independent model; the verdict says so, and which one."""
    panel = {"c1": {"value": 0.85, "se": 0.05, "n": 20}, "c2": {"value": 0.0, "se": 0.0, "n": 20},
             "c3": {"value": 0.45, "se": 0.1, "n": 20}}
    identity = Finding(suite="identity", test_id="teacher-identity-claims", teacher="teacher", in_family=True,
                       result={"n": {"panel_models": 3}, "details": {"form": "rank", "panel": panel}},
                       reject=False, summary="", evidence_rows=[1])
    view = EvidenceView()
    for decision in ("does-not-support", "not-decidable", "supports"):
        verdict = Verdict(teacher="teacher", supports_derivation=decision == "supports", decision=decision,
                          rejected_tests=[], text="")
        text = " ".join(qualifications(verdict, [identity], {}, view, "suspect", 0.01))
        assert "'c1' names the teacher in 85% of its identity answers" in text
        assert "'c2'" not in text and "'c3'" not in text  # below half its answers: not a claimant
    # Another teacher's test does not qualify this verdict, and the suspect itself is never a "panel model".
    other = identity.model_copy(update={"teacher": "other"})
    assert not qualifications(verdict, [other], {}, view, "suspect", 0.01)
    mine = identity.model_copy(update={"result": {"details": {"panel": {"suspect": {"value": 1.0}}}}})
    assert not qualifications(verdict, [mine], {}, view, "suspect", 0.01)


# The lab test (leave one suite out against a re-run analysis) is in test_analysis.py, on its student case.

def test_findings_of_schema_1_2_are_still_read() -> None:
    """The 1.3 fields (lines, counterfactuals, qualifications) have defaults: an older findings.json loads."""
    from provenance.analysis.findings import SCHEMA_VERSION, Findings

    old = {"schema_version": "1.2", "case_id": "c", "case_title": "t", "analyst": "a", "case_sha256": "0" * 64,
           "evidence_head_hash": "0" * 64, "evidence_rows": 1, "alpha": 0.01, "correction": "holm", "decision_rule": "r",
           "models": [], "suites": {}, "tests": [], "skipped": [], "warnings": [], "software": {},
           "verdicts": [{"teacher": "t", "supports_derivation": False, "decision": "does-not-support",
                         "rejected_tests": [], "text": "v"}]}
    findings = Findings.model_validate(old)
    assert findings.schema_version == "1.2" and SCHEMA_VERSION == "1.4"
    assert findings.verdicts[0].lines == [] and findings.verdicts[0].qualifications == []


def test_a_verdict_resting_only_on_extrapolation_past_the_panel_says_so() -> None:
    """Rank p at its floor, parametric p below it: sound only if the panel holds the suspect's kind."""
    past, _ = _decided({"identity": 0.5, "distribution": 0.0001}, extrapolated=frozenset({"distribution"}))
    assert past.decision == "supports" and "beyond every panel model" in past.text
    both, _ = _decided({"identity": 0.001, "distribution": 0.0001}, extrapolated=frozenset({"distribution"}))
    assert both.decision == "supports" and "beyond every panel model" not in both.text  # one rejection does not rest on it
