"""Shared errors: does the suspect make the teacher's mistakes, beyond what accuracy predicts?

Two independent models that are both wrong on a question are rarely wrong in the
same way; a student copies its teacher's wrong answers. Two tests: agreement on
which questions are answered correctly (error consistency), and, on the questions
the suspect gets wrong, how closely its wrong answer matches the teacher's.
"""

from __future__ import annotations

import numpy as np

from provenance.analysis.view import Answer
from provenance.features import is_correct
from provenance.stats import token_match_rate_test
from provenance.suites.agreement import agreement_beyond_chance
from provenance.suites.base import Suite, SuiteContext, SuiteTest, Uninformative, rows_of
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
        "error consistency (Cohen's kappa on right/wrong, suspect-teacher minus suspect-each-control, paired "
        "bootstrap) and wrong-answer overlap (paired permutation), intersection-union over controls"
    )

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        ctx.require_controls()
        answers, probes = ctx.shared_probes(self.name)

        right = {m: {p: answered_correctly(answers[m][p]) for p in probes} for m in answers}
        s, t = ctx.suspect, ctx.teacher
        tests: list[SuiteTest | Uninformative] = [agreement_beyond_chance(
            ctx, self.name, "error-consistency", right, probes, rows_of(answers, probes),
            ("right", "wrong"), "right/wrong outcomes")]
        wrong = [p for p in probes if not right[s][p]]
        if len(wrong) >= _MIN_WRONG:
            # Compare what was answered, not how: each model's own framing words ("The answer
            # is ...") and the question's words are removed before comparing.
            frame = {m: boilerplate_words(a[p].text for p in probes) for m, a in answers.items()}
            words = {
                m: {p: content_words(answers[m][p].text, frame[m] | content_words(answers[m][p].prompt, set())) for p in wrong}
                for m in answers
            }
            sim_t = np.array([jaccard(words[s][p], words[t][p]) for p in wrong])
            sim_c = {c: np.array([jaccard(words[s][p], words[c][p]) for p in wrong]) for c in ctx.controls}
            tests.append(
                SuiteTest(
                    self.name,
                    "shared-wrong-answers",
                    token_match_rate_test(sim_t, sim_c, seed=ctx.seed + 5),
                    True,
                    rows_of(answers, wrong),
                    f"On the {len(wrong)} questions the suspect got wrong, its answer's content words overlapped the teacher's by "
                    f"{sim_t.mean():.2f} (Jaccard, framing words removed); "
                    + ", ".join(f"the control '{c}''s by {v.mean():.2f}" for c, v in sim_c.items())
                    + ".",
                )
            )
        return tests
