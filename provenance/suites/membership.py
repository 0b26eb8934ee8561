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

One test per access mode carries the suite in the family: the likelihood test where
the suspect can score (the overlap test is then descriptive, outside the family, so a
weaker test of the same question never halves the stronger one's alpha), the overlap
test where it cannot.

Sequential (the default): the logged exchanges are tested in the seeded order fixed
before any model is asked, pair by pair, with a test martingale of the sign-flip null
(``stats.eprocess``); collection asks the next exchanges only while the evidence is
undecided (``MembershipDesign``), and analysis replays the same rule on the stored
pairs, so it stops at the same pair whatever was stored after. The family p-value is
the anytime-valid ``1 / max E``; the fixed-sample sign-flip p-value on the same pairs
is beside it for comparison (it is not valid under optional stopping).

Pairs whose twin is the logged answer word for word carry no information either
way and are left out (counted in the summary).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from provenance.analysis.view import Answer
from provenance.backends.base import Capability
from provenance.config import DEFAULT_ALPHA
from provenance.stats.eprocess import SequentialOutcome, sequential_sign_flip
from provenance.stats.membership import GUARD_ALPHA, membership_test
from provenance.stats.permutation import paired_permutation_test
from provenance.suites.base import Suite, SuiteContext, SuiteSkipped, SuiteTest, Uninformative
from provenance.suites.similarity import text_similarity

#: Fewer informative pairs than this cannot reach a p-value worth reporting (and a sequential test never stops
#: for evidence before it).
MIN_PAIRS = 10
#: Logged exchanges tested when the case file gives no ``limit`` and the test is not sequential.
FIXED_PAIRS = 100
#: Sequential collection asks this many more logged exchanges between looks at the evidence (the e-process
#: itself looks after every pair; this only bounds how far collection runs past the stopping point).
LOOK_EVERY = 10
LIKELIHOOD, OVERLAP = "logged-vs-twin-likelihood", "logged-vs-twin-overlap"

_REASONS = {
    "evidence": "the e-value crossed the threshold",
    "futility": "the futility rule: even an optimistic preference could not bring the e-value to the threshold with "
                "the exchanges left",
    "exhausted": "every logged exchange the design allows was tested",
    "running": "collection stopped before the rule decided (the query budget ran out, or collection was "
               "interrupted); the e-value is valid where it stopped",
    "guard": "the controls' e-process crossed its threshold",
}


@dataclass(frozen=True)
class MembershipDesign:
    """How the membership suite tests, fixed by the case file before any model is asked.

    ``share``: the family tests the case's other enabled suites and teachers may add; the
    e-process stops where its p-value clears Holm's first threshold alpha / share (1 in
    a case that tests membership alone). ``limit``: logged exchanges the design may
    test at most (the whole log when None and sequential).
    """

    sequential: bool = True
    alpha: float = DEFAULT_ALPHA
    limit: int | None = None
    share: int = 1
    guard_alpha: float = GUARD_ALPHA

    @property
    def stop_alpha(self) -> float:
        return self.alpha / self.share

    @property
    def probe_limit(self) -> int | None:
        """The probes collection asks at most (``None``: every logged prompt)."""
        return self.limit if self.limit is not None or self.sequential else FIXED_PAIRS

    @classmethod
    def of(cls, spec: Any) -> MembershipDesign:  # noqa: ANN401 - a CaseFile
        """The design a case file names (``[suites.membership]``, ``[case] alpha``, the other suites and teachers)."""
        suite = spec.suites.get("membership")
        others = [name for name in spec.enabled_suites() if name != "membership"]
        return cls(sequential=bool(getattr(suite, "sequential", None) is not False), alpha=spec.case.alpha,
                   limit=getattr(suite, "limit", None), share=1 + len(others) * len(spec.teacher))


@dataclass(frozen=True)
class Progress:
    """Where the primary test stands on the stored evidence: what collection shows and decides on."""

    test_id: str
    outcome: SequentialOutcome | None
    #: Logged exchanges with a stored twin (tested or left out as identical), of those the design allows.
    exchanges_seen: int
    exchanges_total: int

    @property
    def decided(self) -> bool:
        return self.outcome is not None and self.outcome.reason != "running"

    def line(self) -> str:
        """One line of progress: ``e = 37 of 100 needed, 212 of 456 logged exchanges``."""
        if self.outcome is None:
            return f"membership: {self.exchanges_seen} of {self.exchanges_total} logged exchanges"
        o = self.outcome
        state = "" if o.reason == "running" else f"; stopped: {o.reason}"
        return (f"membership ({'likelihood' if self.test_id == LIKELIHOOD else 'overlap'}): e = {o.e_value:.3g} of "
                f"{o.threshold:.3g} needed, {self.exchanges_seen} of {self.exchanges_total} logged exchanges{state}")


@dataclass(frozen=True)
class _Pairs:
    """The logged exchanges in the seeded order, their twins, and what each test can use."""

    logged: dict[str, Answer]
    twins: dict[str, Answer]
    #: Probe ids in the design's order, within its limit, with both a logged answer and a twin.
    ordered: list[str]
    same: list[str]
    total: int


#: What a test compares: usable probe ids, the models, each model's preferences, the rows of a model's numbers.
_Prefs = tuple[list[str], tuple[str, ...], Callable[..., np.ndarray], Callable[[str, list[str]], list[int]]]


def _order(answer: Answer) -> tuple[float, int]:
    order = answer.probe.get("order")
    return (float(order) if isinstance(order, (int, float)) else math.inf, answer.row_id)


class MembershipSuite(Suite):
    name = "membership"
    question = "Was the suspect trained on the exchanges this campaign collected from the teacher?"
    statistic = (
        "preference for the campaign's logged answers over fresh twins (the teacher's answers to the same prompts "
        "under the campaign's settings): log-likelihood per byte where scoring exists, overlap of the model's own "
        "answer with each where it does not (one of the two carries the family; the other is descriptive); a test "
        "martingale of the sign-flip null over the logged exchanges in their seeded order, stopped when its e-value "
        "crosses 1/alpha, when the futility rule says it cannot, or at the end of the log (anytime-valid p = 1/max e; "
        "the fixed-sample sign-flip p on the same pairs beside it); the controls' pooled preference must show no lean "
        "either way (a bettor on either side of it stays below 1/0.05), else the twins are not exchangeable with the log "
        "and the test is uninformative"
    )
    needs = frozenset({Capability.GENERATE})

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        design = ctx.membership or MembershipDesign()
        pairs = self._pairs(ctx, design)
        tests: list[SuiteTest | Uninformative] = []
        scored = self._likelihood(ctx, design, pairs)
        if scored is not None:
            tests.append(scored)
            primary = scored if isinstance(scored, SuiteTest) else None
            # Open weights: the overlap test is descriptive, on the pairs the likelihood test used.
            upto = (max(_order(pairs.logged[p]) for p in primary.result.details["tested_probes"])
                    if primary is not None and primary.result.details.get("tested_probes") else None)
            tests.append(self._overlap(ctx, design, pairs, primary=False, upto=upto))
        else:
            tests.append(self._overlap(ctx, design, pairs, primary=True))
        return tests

    def progress(self, ctx: SuiteContext) -> Progress:
        """The primary test's e-process on what is stored now (collection asks more while it is undecided)."""
        design = ctx.membership or MembershipDesign()
        try:
            pairs = self._pairs(ctx, design)
            prefs = self._likelihood_prefs(ctx, pairs)
            test_id = LIKELIHOOD
            if prefs is None:
                prefs, test_id = self._overlap_prefs(ctx, pairs), OVERLAP
        except SuiteSkipped:
            return Progress(LIKELIHOOD, None, 0, 0)
        usable, models, preference, _ = prefs
        outcome = self._sequential(ctx, design, pairs, usable, models, preference) if pairs.ordered else None
        return Progress(test_id, outcome, len(pairs.ordered), pairs.total)

    # -- the pairs -------------------------------------------------------------------------------------------

    def _pairs(self, ctx: SuiteContext, design: MembershipDesign) -> _Pairs:
        if ctx.campaign is None:
            raise SuiteSkipped("the case names no [campaign]")
        if ctx.teacher != ctx.campaign_teacher:
            raise SuiteSkipped(f"the campaign queried the teacher '{ctx.campaign_teacher}', not '{ctx.teacher}'")
        logged = ctx.view.first_answers(ctx.campaign, self.name)
        twins = ctx.view.first_answers(ctx.teacher, self.name)
        if not logged or not twins:
            raise SuiteSkipped("no stored logged answers or twins; run collection first")
        summary = (ctx.view.identities.get(ctx.campaign, {}).get("details") or {}).get("campaign", {})
        distinct = int(summary.get("distinct_prompts") or len(logged))
        limit = design.probe_limit
        total = min(distinct, limit) if limit is not None else distinct
        in_order = sorted(logged, key=lambda p: _order(logged[p]))[:total]
        ordered = [p for p in in_order if p in twins]
        same = [p for p in ordered if logged[p].text.strip() == twins[p].text.strip()]
        return _Pairs(logged, twins, ordered, same, total)

    def _likelihood_prefs(self, ctx: SuiteContext, pairs: _Pairs) -> _Prefs | None:
        scorers = (ctx.suspect, *ctx.controls)
        on_logged = {m: ctx.view.scores_of(m, self.name, ctx.campaign or "") for m in scorers}
        on_twin = {m: ctx.view.scores_of(m, self.name, ctx.teacher) for m in scorers}
        if not on_logged[ctx.suspect] or not on_twin[ctx.suspect]:
            return None  # a black-box suspect: the overlap test carries the suite
        scorers = tuple(m for m in scorers if on_logged[m] and on_twin[m])
        same = set(pairs.same)
        usable = [p for p in pairs.ordered if p not in same and all(
            p in on_logged[m] and p in on_twin[m] and on_logged[m][p].logprob_per_byte is not None
            and on_twin[m][p].logprob_per_byte is not None for m in scorers)]

        def preference(m: str, probes: list[str] | None = None) -> np.ndarray:
            return np.array([on_logged[m][p].logprob_per_byte - on_twin[m][p].logprob_per_byte  # type: ignore[operator]
                             for p in (usable if probes is None else probes)])

        def rows(m: str, probes: list[str]) -> list[int]:
            return [on_logged[m][p].row_id for p in probes] + [on_twin[m][p].row_id for p in probes]

        return usable, scorers, preference, rows

    def _overlap_prefs(self, ctx: SuiteContext, pairs: _Pairs) -> _Prefs:
        models = (ctx.suspect, *ctx.controls)
        own = {m: ctx.view.first_answers(m, self.name) for m in models}
        if not own[ctx.suspect]:
            raise SuiteSkipped("the suspect has no stored answers to the logged prompts; run collection first")
        models = tuple(m for m in models if own[m])
        same = set(pairs.same)
        usable = [p for p in pairs.ordered if p not in same and all(p in own[m] for m in models)]
        logged, twins = pairs.logged, pairs.twins

        def preference(m: str, probes: list[str] | None = None) -> np.ndarray:
            return np.array([text_similarity(own[m][p].text, logged[p].text) - text_similarity(own[m][p].text, twins[p].text)
                             for p in (usable if probes is None else probes)])

        return usable, models, preference, lambda m, probes: [own[m][p].row_id for p in probes]

    # -- the tests -------------------------------------------------------------------------------------------

    def _likelihood(self, ctx: SuiteContext, design: MembershipDesign, pairs: _Pairs) -> SuiteTest | Uninformative | None:
        prefs = self._likelihood_prefs(ctx, pairs)
        if prefs is None:
            return None
        return self._test(ctx, design, pairs, LIKELIHOOD, prefs, "nats/byte", "log-likelihood per byte", primary=True)

    def _overlap(self, ctx: SuiteContext, design: MembershipDesign, pairs: _Pairs, *, primary: bool,
                 upto: tuple[float, int] | None = None) -> SuiteTest | Uninformative:
        usable, models, preference, rows = self._overlap_prefs(ctx, pairs)
        if upto is not None:
            usable = [p for p in usable if _order(pairs.logged[p]) <= upto]
        return self._test(ctx, design, pairs, OVERLAP, (usable, models, preference, rows), "word-bigram Jaccard",
                          "overlap of its own answer (word bigrams)", primary=primary)

    def _sequential(self, ctx: SuiteContext, design: MembershipDesign, pairs: _Pairs, usable: list[str],
                    models: tuple[str, ...], preference: Callable[..., np.ndarray]) -> SequentialOutcome:
        """The e-process over the logged exchanges in order, one step each (``pairs.ordered``).

        An exchange without information (a twin identical to the logged answer, a score
        missing) is a difference of 0: its payoff is 0 and leaves the wealth as it was.
        Every step is an exchange of the design, so the horizon is the design's
        (``pairs.total``) and the rule stops at the same exchange whatever was stored later.
        """
        index = {p: i for i, p in enumerate(pairs.ordered)}

        def steps(m: str) -> np.ndarray:
            out = np.zeros(len(pairs.ordered))
            if usable:
                out[[index[p] for p in usable]] = preference(m)
            return out

        controls = [m for m in models if m != ctx.suspect]
        guard = np.mean(np.vstack([steps(c) for c in controls]), axis=0) if controls else None
        return sequential_sign_flip(steps(ctx.suspect), guard, alpha=design.stop_alpha, guard_alpha=design.guard_alpha,
                                    horizon=max(pairs.total, len(pairs.ordered)), min_pairs=MIN_PAIRS)

    def _test(self, ctx: SuiteContext, design: MembershipDesign, pairs: _Pairs, test_id: str, prefs_of: _Prefs,
              unit: str, measure: str, *, primary: bool) -> SuiteTest | Uninformative:
        usable, models, preference, rows_of = prefs_of
        same = len(pairs.same)
        outcome = None
        if design.sequential and primary and pairs.ordered:
            outcome = self._sequential(ctx, design, pairs, usable, models, preference)
            if outcome.reason == "guard":
                return Uninformative(
                    self.name, test_id,
                    f"the controls, which trained on neither side, prefer one side: a bettor on their lean "
                    f"reached {outcome.guard_path[-1]:.3g} >= {outcome.guard_threshold:.3g} after "
                    f"{outcome.stopped_at} pairs: the twins were not sampled as the campaign's answers were; check "
                    "temperature, top_p, max_new_tokens and the teacher's system prompt in the case file against the "
                    "campaign's settings",
                    {"pairs": outcome.stopped_at, "suspect e-value": round(outcome.e_value, 4)})
            within = set(pairs.ordered[: outcome.stopped_at])
            usable = [p for p in usable if p in within]
        if len(usable) < MIN_PAIRS:
            return Uninformative(self.name, test_id,
                                 f"fewer than {MIN_PAIRS} logged answers with a twin that differs from them (a campaign "
                                 "logged with greedy decoding has no twins: every fresh answer is the logged one)",
                                 {"informative pairs": len(usable), "twins identical to the logged answer": same})
        prefs = {m: preference(m, usable) for m in models}
        controls = {c: prefs[c] for c in models if c != ctx.suspect}
        result = membership_test(prefs[ctx.suspect], controls, seed=ctx.seed + 13, unit=unit)
        alone, guard = result.details["control_alone"], result.details["guard"]
        # Fixed design: the guard decides here. Sequential: the guard's e-process had its say at every pair; a test
        # that stopped without rejecting is also checked on its pairs at once, so that twins sampled otherwise
        # (which can end a test for futility before the guard's bettor gets far) are not read as "not found".
        if guard["exchangeable"] is False and (outcome is None or outcome.reason != "evidence"):
            return Uninformative(
                self.name, test_id,
                "the controls, which trained on neither side, prefer one side (pooled mean "
                f"{guard['mean_preference']:+.4f} {unit}, two-sided p = {guard['p_value']:.3g} < {guard['alpha']}): the "
                "twins were not sampled as the campaign's answers were; check temperature, top_p, max_new_tokens and "
                "the teacher's system prompt in the case file against the campaign's settings",
                {"pairs": len(usable), "suspect p": round(result.p_value, 6),
                 **{f"mean preference of {c}": round(v["mean_preference"], 4) for c, v in alone.items()}},
            )
        if outcome is not None and outcome.reason != "evidence":
            lean = paired_permutation_test(prefs[ctx.suspect], alternative="less", seed=ctx.seed + 17, n_resamples=0)
            if lean.p_value < design.guard_alpha:
                return Uninformative(
                    self.name, test_id,
                    f"the suspect prefers the fresh twins over the logged answers (mean {prefs[ctx.suspect].mean():+.4f} "
                    f"{unit}, one-sided p = {lean.p_value:.3g} < {design.guard_alpha}), which no model can do when the "
                    "twins are exchangeable with the log (a non-member leans neither way, a student towards the log): "
                    "the twins were not sampled as the campaign's answers were; check temperature, top_p, "
                    "max_new_tokens and the teacher's system prompt in the case file against the campaign's settings",
                    {"pairs": len(usable), "stopped": outcome.reason, "suspect e-value": round(outcome.e_value, 4)})
        last = max(_order(pairs.logged[p]) for p in usable)
        tested = (pairs.ordered[: outcome.stopped_at] if outcome is not None else
                  [p for p in pairs.ordered if _order(pairs.logged[p]) <= last])
        fixed_p = result.p_value
        if outcome is not None:
            result = _as_sequential(result, outcome, design)
        result = replace(result, details={**result.details, "tested_probes": usable, "access_mode_primary": primary})
        summary = self._summary(ctx, pairs, usable, tested, same, prefs, alone, guard, controls, unit, measure,
                                outcome, primary, fixed_p)
        rows = sorted({*(pairs.logged[p].row_id for p in tested), *(pairs.twins[p].row_id for p in tested),
                       *(r for m in models for r in rows_of(m, usable))})
        return SuiteTest(self.name, test_id, result, primary, tuple(rows), summary)

    def _summary(self, ctx: SuiteContext, pairs: _Pairs, usable: list[str], tested: list[str], same: int,
                 prefs: dict[str, np.ndarray], alone: dict, guard: dict, controls: dict, unit: str, measure: str,
                 outcome: SequentialOutcome | None, primary: bool, fixed_p: float) -> str:
        skipped = len(set(tested) & set(pairs.same))
        if outcome is not None:
            after = len(pairs.ordered) - len(tested)
            head = (
                f"Tested one by one in the campaign's seeded order: after {len(tested)} of the {pairs.total} logged "
                f"exchanges the design allows ({len(usable)} informative pairs; {skipped} had a twin identical to the "
                f"logged answer and carry no information), the e-value was {outcome.e_value:.3g} (largest "
                f"{outcome.e_max:.3g}; threshold {outcome.threshold:.3g}); stopped because "
                f"{_REASONS[outcome.reason]}. Anytime-valid p = {outcome.p_value:.3g}; the fixed-sample sign-flip "
                f"p on the same pairs, for comparison only (not valid under optional stopping), is "
                f"{fixed_p:.3g}"
                + (f". {after} more logged exchanges were collected after the stopping point (collection looks after "
                   "every few) and are not part of the test" if after > 0 else "")
                + ". The teacher was asked each prompt again for a fresh twin. "
            )
        else:
            head = (
                f"On {len(usable)} logged exchanges of the campaign (a seeded sample; {same} more had a twin identical "
                f"to the logged answer and carry no information), the teacher was asked each prompt again for a fresh "
                f"twin. " + ("" if primary else "Descriptive (outside the family: the likelihood test carries the suite "
                             "for a suspect with open weights). ")
            )
        return (
            head
            + f"By {measure}, the suspect preferred the logged answer on {np.mean(prefs[ctx.suspect] > 0):.0%} of pairs "
            f"(mean {prefs[ctx.suspect].mean():+.4f} {unit})"
            + "".join(f"; the control '{c}' on {v['prefers_logged_share']:.0%} (mean {v['mean_preference']:+.4f}, "
                      f"p = {v['p_value']:.3g} alone)" for c, v in alone.items())
            + ". A model that never saw the logged answers cannot tell them from their twins"
            + ("; no control checks that the twins were sampled as the log was." if not controls else
               f"; the controls together lean neither way (two-sided p = {guard['p_value']:.3g}"
               + (f"; their e-process {outcome.guard_path[-1]:.3g} < {outcome.guard_threshold:.3g}" if outcome
                  and outcome.guard_path else "") + ").")
        )


def _as_sequential(result: Any, outcome: SequentialOutcome, design: MembershipDesign) -> Any:  # noqa: ANN401
    """The fixed-sample result on the stopped pairs, turned into the sequential test's: anytime-valid p, e-value."""
    fixed = {"p_value": result.p_value, "method": result.method, "statistic": result.statistic,
             "statistic_name": result.statistic_name}
    return replace(
        result,
        name="sequential membership test (logged answers vs fresh twins, test martingale)",
        p_value=outcome.p_value,
        statistic=outcome.e_value,
        statistic_name="e-value at the stopping time",
        method=(f"test martingale of the sign-flip null (payoff tanh(d / rms |d|), online Newton step bets in [0, 0.5]) "
                f"over the logged exchanges in their seeded order, looked at after every pair; stop when e >= "
                f"{outcome.threshold:.4g} (1 / {design.stop_alpha:.3g}) after at least {MIN_PAIRS} pairs, when the "
                f"futility rule says it cannot get there, or at the end of the design's exchanges; p = 1 / max e "
                f"(Ville's inequality: valid at any stopping time); guard: the controls' pooled preference, one bettor "
                f"each way, either crossing 1 / {design.guard_alpha} (chance at most {2 * design.guard_alpha:.2g} when "
                f"the twins are exchangeable); fixed-sample comparison: "
                f"{result.method}"),
        assumptions=(*result.assumptions, "the order in which logged exchanges are tested was fixed (seeded) before "
                     "any model was asked; which exchanges were asked next depended on the evidence only through "
                     "the stopping rule"),
        details={**result.details, "fixed_sample": fixed, "sequential": {**outcome.to_dict(), "why":
                 _REASONS[outcome.reason]}, "stop_alpha": design.stop_alpha},
    )
