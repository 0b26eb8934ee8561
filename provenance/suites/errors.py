"""Shared errors: does the suspect make the teacher's mistakes, beyond what accuracy predicts?

Two independent models that are both wrong on a question are rarely wrong in the
same way; a student copies its teacher's wrong answers. Two tests: agreement on
which questions are answered correctly (error consistency), and, on the questions
the suspect gets wrong, how closely its wrong answer matches the teacher's.
"""

from __future__ import annotations

from provenance.analysis.view import Answer
from provenance.features import is_correct
from provenance.stats.panel import ModelStatistic
from provenance.suites.agreement import agreement_beyond_chance
from provenance.suites.base import Suite, SuiteContext, SuiteTest, Uninformative, rows_of
from provenance.suites.panel import panel_finding
from provenance.suites.similarity import boilerplate_words, content_words, jaccard

#: Fewest wrong answers of the suspect before their content is compared.
_MIN_WRONG = 5


def answered_correctly(answer: Answer) -> bool:
    """Whether a stored answer to a factual probe gives the probe's answer (or one of its aliases)."""
    return is_correct(answer.text, str(answer.probe.get("answer", "")), answer.probe.get("aliases", ()))


class ErrorsSuite(Suite):
    name = "errors"
    question = "Does the suspect make the teacher's mistakes, beyond what accuracy alone predicts?"
    statistic = (
        "error consistency (Cohen's kappa on right/wrong with the teacher) and wrong-answer overlap with the "
        "teacher's answers, each the suspect's against the panel of independent models' (models as the unit); "
        "one informativeness gate for both"
    )

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        ctx.require_controls()
        answers, probes = ctx.shared_probes(self.name)
        right = {m: {p: answered_correctly(answers[m][p]) for p in probes} for m in answers}
        t = ctx.teacher
        consistency = agreement_beyond_chance(
            ctx, self.name, "error-consistency", right, probes, rows_of(answers, probes),
            ("right", "wrong"), "right/wrong outcomes")
        if isinstance(consistency, Uninformative):
            # One gate for both tests: where right/wrong agreement cannot be measured (the teacher is right on
            # almost nothing), "the same wrong answers" measures shared non-answers (canned refusals), not errors.
            return [consistency, Uninformative(
                self.name, "shared-wrong-answers", "shares the gate of error-consistency: " + consistency.reason,
                consistency.numbers)]
        # Compare what was answered, not how: each model's own framing words ("The answer is ...") and the
        # question's words are removed before comparing.
        frame = {m: boilerplate_words(a[p].text for p in probes) for m, a in answers.items()}
        words = {m: {p: content_words(answers[m][p].text, frame[m] | content_words(answers[m][p].prompt, set()))
                     for p in probes} for m in answers}
        stats: dict[str, ModelStatistic] = {}
        left_out: dict[str, str] = {}
        for m in answers:
            if m == t:
                continue
            wrong = [p for p in probes if not right[m][p]]
            if len(wrong) < _MIN_WRONG:
                left_out[m] = f"wrong on {len(wrong)} questions: too few to compare wrong answers"
                continue
            stats[m] = ModelStatistic.mean_of([jaccard(words[m][p], words[t][p]) for p in wrong], chances=len(wrong))
        overlap = panel_finding(ctx, self.name, "shared-wrong-answers", stats, quantity="overlap",
                                unit="Jaccard of content words", rows=rows_of(answers, probes),
                                what="overlap of its wrong answers with the teacher's answers", left_out=left_out)
        return [consistency, overlap]
