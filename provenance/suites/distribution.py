"""Distribution: are the suspect's outputs closer to the teacher's than to any control's?

Where the suspect can score text (open weights), the sharpest test is cross-
likelihood: a student trained on teacher samples assigns them higher probability
than an independent model does, recovering much of the teacher's own familiarity
with them; independent models differ too, but recover little of it
(``config.CROSS_LIKELIHOOD_MIN_GAP_SHARE`` is the pre-registered bar). Where it can only generate (an API), the answers
themselves are compared: word-bigram overlap with the teacher's answer to the same
prompt, against overlap with each control's.
"""

from __future__ import annotations

import numpy as np

from provenance.backends.base import Capability
from provenance.config import CROSS_LIKELIHOOD_MIN_GAP_SHARE
from provenance.stats import cross_likelihood_test, token_match_rate_test
from provenance.suites.base import Suite, SuiteContext, SuiteTest, rows_of
from provenance.suites.similarity import text_similarity


class DistributionSuite(Suite):
    name = "distribution"
    question = "Are the suspect's outputs closer to the teacher's than to any control's?"
    statistic = (
        "cross-likelihood of teacher answers (suspect vs each control, paired permutation) where scoring exists; "
        "per-prompt word-bigram overlap with the teacher vs each control (paired permutation)"
    )
    needs = frozenset({Capability.GENERATE})

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest]:
        ctx.require_controls()
        answers, probes = ctx.shared_probes(self.name)
        tests = self._cross_likelihood(ctx)
        s, t = ctx.suspect, ctx.teacher
        with_teacher = np.array([text_similarity(answers[s][p].text, answers[t][p].text) for p in probes])
        with_controls = {
            c: np.array([text_similarity(answers[s][p].text, answers[c][p].text) for p in probes]) for c in ctx.controls
        }
        result = token_match_rate_test(with_teacher, with_controls, seed=ctx.seed + 2)
        summary = (
            f"Across {len(probes)} open prompts the suspect's answers shared {with_teacher.mean():.2f} of their word "
            "bigrams with the teacher's (Jaccard); "
            + ", ".join(f"{v.mean():.2f} with the control '{c}'" for c, v in with_controls.items())
            + "."
        )
        tests.append(SuiteTest(self.name, "answer-overlap", result, True, rows_of(answers, probes), summary))
        return tests

    def _cross_likelihood(self, ctx: SuiteContext) -> list[SuiteTest]:
        suspect = ctx.view.scores_of(ctx.suspect, self.name, ctx.teacher)
        controls = {c: ctx.view.scores_of(c, self.name, ctx.teacher) for c in ctx.controls}
        if not suspect or not all(controls.values()):
            return []  # the skip is reported by the analysis from the collection's capabilities
        probes = sorted(set(suspect).intersection(*(set(v) for v in controls.values())))
        probes = [p for p in probes if suspect[p].logprobs]
        if len(probes) < 2:
            return []
        s = np.array([suspect[p].mean_logprob for p in probes])
        c = {name: np.array([v[p].mean_logprob for p in probes]) for name, v in controls.items()}
        teacher = self._teacher_self_scores(ctx, [suspect[p].source_request for p in probes])
        if teacher is None:
            result = cross_likelihood_test(s, c, seed=ctx.seed + 3)
            margin = (" The teacher's own log-probabilities were not stored, so no margin applies: "
                      "any advantage over every control counts.")
        else:
            result = cross_likelihood_test(
                s, c, seed=ctx.seed + 3, teacher_self_scores=teacher, min_gap_share=CROSS_LIKELIHOOD_MIN_GAP_SHARE
            )
            shares = result.details["gap_share"]
            margin = (
                f" The teacher itself gave them {teacher.mean():.3f}; of its advantage over each control the suspect "
                "recovered " + ", ".join(f"{shares[n]:.0%} ('{n}')" for n in c)
                + f"; the test asks for more than {CROSS_LIKELIHOOD_MIN_GAP_SHARE:.0%}."
            )
        summary = (
            f"The suspect gave the teacher's {len(probes)} answers a mean log-probability of {s.mean():.3f} nats/token; "
            + ", ".join(f"the control '{n}' {v.mean():.3f}" for n, v in c.items())
            + "."
            + margin
        )
        rows = tuple(sorted([suspect[p].row_id for p in probes] + [v[p].row_id for v in controls.values() for p in probes]))
        return [SuiteTest(self.name, "cross-likelihood", result, True, rows, summary)]

    def _teacher_self_scores(self, ctx: SuiteContext, source_requests: list[str]) -> np.ndarray | None:
        """The teacher's own mean log-prob of each scored answer, from its generation rows; None if any is missing."""
        by_key = {a.request_key: a for a in ctx.view.all_answers(ctx.teacher, self.name)}
        own = [by_key[k].mean_logprob if k in by_key else None for k in source_requests]
        if any(v is None for v in own):
            return None
        return np.array(own, dtype=float)
