"""Membership: was the suspect trained on the very exchanges a campaign collected?

Similarity to the teacher says the suspect learnt from the teacher or something like
it; this suite ties it to the campaign. Collection asks the campaign's teacher each
sampled logged prompt again, with the campaign's sampling settings, for a *fresh
twin*: an answer the campaign never saw. A student of the logged answers prefers them
over their twins; a model that learnt from other answers of the same teacher, or from
none, cannot tell the two apart (``stats.membership``).

* open weights: each scorer's log-likelihood per byte of the logged answer minus
  that of its twin (comparable across tokenizers);
* black box: the word-bigram overlap of the model's own (greedy) answer to the
  logged prompt with the logged answer, minus its overlap with the twin.

Pairs whose twin is the logged answer word for word carry no information either
way and are left out (counted in the summary).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from provenance.analysis.view import Answer
from provenance.backends.base import Capability
from provenance.stats.membership import membership_test
from provenance.suites.base import Suite, SuiteContext, SuiteSkipped, SuiteTest, Uninformative
from provenance.suites.similarity import text_similarity

#: Fewer informative pairs than this cannot reach a p-value worth reporting.
MIN_PAIRS = 10


class MembershipSuite(Suite):
    name = "membership"
    question = "Was the suspect trained on the exchanges this campaign collected from the teacher?"
    statistic = (
        "preference for the campaign's logged answers over fresh twins (the teacher's answers to the same prompts "
        "under the campaign's settings): log-likelihood per byte where scoring exists, overlap of the model's own "
        "answer with each where it does not; exact one-sided sign-flip test against no preference; the controls' "
        "pooled preference must show no lean either way (two-sided, 0.05), else the twins are not exchangeable with "
        "the log and the test is uninformative"
    )
    needs = frozenset({Capability.GENERATE})

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        if ctx.campaign is None:
            raise SuiteSkipped("the case names no [campaign]")
        if ctx.teacher != ctx.campaign_teacher:
            raise SuiteSkipped(f"the campaign queried the teacher '{ctx.campaign_teacher}', not '{ctx.teacher}'")
        logged = ctx.view.first_answers(ctx.campaign, self.name)
        twins = ctx.view.first_answers(ctx.teacher, self.name)
        if not logged or not twins:
            raise SuiteSkipped("no stored logged answers or twins; run collection first")
        pairs = sorted(set(logged) & set(twins))
        same = [p for p in pairs if logged[p].text.strip() == twins[p].text.strip()]
        pairs = [p for p in pairs if p not in set(same)]
        tests: list[SuiteTest | Uninformative] = []
        scored = self._likelihood(ctx, logged, twins, pairs, len(same))
        if scored is not None:
            tests.append(scored)
        tests.append(self._overlap(ctx, logged, twins, pairs, len(same)))
        return tests

    def _likelihood(self, ctx: SuiteContext, logged: dict[str, Answer], twins: dict[str, Answer], pairs: list[str],
                    same: int) -> SuiteTest | Uninformative | None:
        scorers = (ctx.suspect, *ctx.controls)
        on_logged = {m: ctx.view.scores_of(m, self.name, ctx.campaign or "") for m in scorers}
        on_twin = {m: ctx.view.scores_of(m, self.name, ctx.teacher) for m in scorers}
        if not on_logged[ctx.suspect] or not on_twin[ctx.suspect]:
            return None  # a black-box suspect: the overlap test stands alone
        scorers = tuple(m for m in scorers if on_logged[m] and on_twin[m])
        usable = [p for p in pairs if all(
            p in on_logged[m] and p in on_twin[m] and on_logged[m][p].logprob_per_byte is not None
            and on_twin[m][p].logprob_per_byte is not None for m in scorers)]

        def preference(m: str) -> np.ndarray:
            return np.array([on_logged[m][p].logprob_per_byte - on_twin[m][p].logprob_per_byte  # type: ignore[operator]
                             for p in usable])

        return self._test(ctx, "logged-vs-twin-likelihood", usable, same, preference, scorers, "nats/byte",
                          lambda m: [on_logged[m][p].row_id for p in usable] + [on_twin[m][p].row_id for p in usable],
                          logged, twins, "log-likelihood per byte")

    def _overlap(self, ctx: SuiteContext, logged: dict[str, Answer], twins: dict[str, Answer], pairs: list[str],
                 same: int) -> SuiteTest | Uninformative:
        models = (ctx.suspect, *ctx.controls)
        own = {m: ctx.view.first_answers(m, self.name) for m in models}
        if not own[ctx.suspect]:
            raise SuiteSkipped("the suspect has no stored answers to the logged prompts; run collection first")
        models = tuple(m for m in models if own[m])
        usable = [p for p in pairs if all(p in own[m] for m in models)]

        def preference(m: str) -> np.ndarray:
            return np.array([text_similarity(own[m][p].text, logged[p].text) - text_similarity(own[m][p].text, twins[p].text)
                             for p in usable])

        return self._test(ctx, "logged-vs-twin-overlap", usable, same, preference, models, "word-bigram Jaccard",
                          lambda m: [own[m][p].row_id for p in usable], logged, twins,
                          "overlap of its own answer (word bigrams)")

    def _test(self, ctx: SuiteContext, test_id: str, usable: list[str], same: int,
              preference: Callable[[str], np.ndarray], models: tuple[str, ...], unit: str,
              model_rows: Callable[[str], list[int]], logged: dict[str, Answer], twins: dict[str, Answer],
              measure: str) -> SuiteTest | Uninformative:
        if len(usable) < MIN_PAIRS:
            return Uninformative(self.name, test_id,
                                 f"fewer than {MIN_PAIRS} logged answers with a twin that differs from them (a campaign "
                                 "logged with greedy decoding has no twins: every fresh answer is the logged one)",
                                 {"informative pairs": len(usable), "twins identical to the logged answer": same})
        prefs = {m: preference(m) for m in models}
        controls = {c: prefs[c] for c in models if c != ctx.suspect}
        result = membership_test(prefs[ctx.suspect], controls, seed=ctx.seed + 13, unit=unit)
        alone, guard = result.details["control_alone"], result.details["guard"]
        if guard["exchangeable"] is False:
            return Uninformative(
                self.name, test_id,
                "the controls, which trained on neither side, prefer one side (pooled mean "
                f"{guard['mean_preference']:+.4f} {unit}, two-sided p = {guard['p_value']:.3g} < {guard['alpha']}): the "
                "twins were not sampled as the campaign's answers were; check temperature, top_p, max_new_tokens and "
                "the teacher's system prompt in the case file against the campaign's settings",
                {"pairs": len(usable), "suspect p": round(result.p_value, 6),
                 **{f"mean preference of {c}": round(v["mean_preference"], 4) for c, v in alone.items()}},
            )
        summary = (
            f"On {len(usable)} logged exchanges of the campaign (a seeded sample; {same} more had a twin identical to "
            f"the logged answer and carry no information), the teacher was asked each prompt again for a fresh twin. "
            f"By {measure}, the suspect preferred the logged answer on {np.mean(prefs[ctx.suspect] > 0):.0%} of pairs "
            f"(mean {prefs[ctx.suspect].mean():+.4f} {unit})"
            + "".join(f"; the control '{c}' on {v['prefers_logged_share']:.0%} (mean {v['mean_preference']:+.4f}, "
                      f"p = {v['p_value']:.3g} alone)" for c, v in alone.items())
            + ". A model that never saw the logged answers cannot tell them from their twins"
            + ("; no control checks that the twins were sampled as the log was." if not controls else
               f"; the controls together lean neither way (two-sided p = {guard['p_value']:.3g}).")
        )
        rows = sorted({*(logged[p].row_id for p in usable), *(twins[p].row_id for p in usable),
                       *(r for m in models for r in model_rows(m))})
        return SuiteTest(self.name, test_id, result, True, tuple(rows), summary)
