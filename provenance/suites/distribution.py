"""Distribution: are the suspect's outputs closer to the teacher's than to any control's?

Where the suspect can score text (open weights), the sharpest test is cross-
likelihood: a student trained on teacher samples assigns them higher probability.
A better language model does too, on any fluent text, so each model's *preference*
for the teacher's answer over reference answers to the same prompt (written by
models outside the comparison) is compared, per byte of text so tokenizers do not
enter: the suspect must prefer the teacher's text more than every control does.
Where it can only generate (an API), the answers themselves are compared, on what is
idiosyncratic to the teacher: phrases it uses far more than models outside the
comparison, chosen on half of the prompts and counted on the other half
(``features.markers``), and a classifier of the teacher's writing trained on the same
half against those models, asked on the other half whether the suspect's answers read
as the teacher's more than each control's (``features.attribution``). Raw word-bigram overlap with the teacher's answers is kept as a
descriptive figure: fluent models share common phrasing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from provenance.backends.base import Capability
from provenance.config import (
    ATTRIBUTION_MARGIN_LOG_ODDS,
    CROSS_LIKELIHOOD_MARGIN_NATS_PER_BYTE,
    MARKER_MARGIN,
    MIN_SIGNAL_EVENTS,
)
from provenance.analysis.view import Answer
from provenance.features.attribution import train_attributor
from provenance.features.markers import marker_rate, select_markers, split_prompts
from provenance.stats import (
    attribution_test,
    binomial_test,
    likelihood_preference_test,
    marker_usage_test,
    token_match_rate_test,
)
from provenance.suites.base import Suite, SuiteContext, SuiteTest, Uninformative, rows_of
from provenance.suites.similarity import text_similarity


#: Level of the check that the teacher's writing can be told from the background's at all.
SEPARABILITY_ALPHA = 0.05


@dataclass(frozen=True)
class HeldApart:
    """Inputs of a test that learns the teacher's habits on one half of the prompts and tests on the other."""

    backgrounds: dict[str, tuple[str, ...]]
    answers: dict[str, dict[str, Answer]]
    selection: list[str]
    test: list[str]
    rows: tuple[int, ...]


class DistributionSuite(Suite):
    name = "distribution"
    question = "Are the suspect's outputs closer to the teacher's than to any control's?"
    statistic = (
        "preference for the teacher's answers over reference answers, log-likelihood per byte (suspect vs each "
        "control, paired permutation, intersection-union) where scoring exists; teacher-marker phrase usage and "
        "a classifier's attribution of the suspect's answers to the teacher, both on held-apart prompts (black box); "
        "each must exceed every control by more than a margin (0.1 nats/byte, 0.03 of n-grams, 0.5 log-odds; "
        "chosen on the bench's tuning seed); "
        "per-prompt word-bigram overlap with the teacher vs each control (descriptive)"
    )
    needs = frozenset({Capability.GENERATE})

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        ctx.require_controls()
        answers, probes = ctx.shared_probes(self.name)
        tests: list[SuiteTest | Uninformative] = list(self._cross_likelihood(ctx))
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
            + ". Descriptive: fluent models share common phrasing, so the family test is the teacher-marker test."
        )
        tests.append(SuiteTest(self.name, "answer-overlap", result, False, rows_of(answers, probes), summary))
        tests.append(self._markers(ctx, probes))
        tests.append(self._attribution(ctx, probes))
        return tests

    def _held_apart(self, ctx: SuiteContext, probes: list[str], test_id: str) -> HeldApart | Uninformative:
        """Background models per control and the seeded selection / test halves of the shared prompts.

        Shared by the black-box idiosyncrasy tests: what is the teacher's own is learnt on
        the selection half against models outside the comparison (never the control it is
        then compared with, never the suspect), and tested on the other half.
        """
        backgrounds = {c: ctx.reference_sources(c) for c in ctx.controls}
        missing = [c for c, b in backgrounds.items() if not b]
        if missing:
            return Uninformative(
                self.name, test_id,
                "learning what is the teacher's own needs answers from a model outside each comparison (another "
                f"control or a [[reference]] model); none for {', '.join(missing)}",
                {"controls": len(ctx.controls), "references": len(ctx.references)},
            )
        models = (ctx.suspect, ctx.teacher, *ctx.controls, *sorted({m for b in backgrounds.values() for m in b}))
        answers = {m: ctx.view.first_answers(m, self.name) for m in models}
        common = sorted(set(probes).intersection(*(set(a) for a in answers.values())))
        selection, test = split_prompts(common, ctx.seed)
        if len(selection) < 10 or len(test) < 10:
            return Uninformative(self.name, test_id,
                                 "fewer than 10 prompts in a half: too few to learn on one half and test on the other",
                                 {"selection_prompts": len(selection), "test_prompts": len(test)})
        rows = tuple(sorted({answers[m][p].row_id for m in models for p in common}))
        return HeldApart(backgrounds, answers, selection, test, rows)

    def _markers(self, ctx: SuiteContext, probes: list[str]) -> SuiteTest | Uninformative:
        """Teacher-specific phrasing (``features.markers``), a black-box family test."""
        setup = self._held_apart(ctx, probes, "teacher-markers")
        if isinstance(setup, Uninformative):
            return setup
        answers, selection, test = setup.answers, setup.selection, setup.test
        markers = {
            c: set(select_markers([answers[ctx.teacher][p].text for p in selection],
                                  [answers[b][p].text for b in setup.backgrounds[c] for p in selection]))
            for c in ctx.controls
        }
        if any(len(m) < MIN_SIGNAL_EVENTS for m in markers.values()):
            return Uninformative(
                self.name, "teacher-markers",
                f"the teacher has fewer than {MIN_SIGNAL_EVENTS} phrases it uses markedly more than the background "
                "models on the selection half: no idiosyncrasy to inherit was found",
                {f"markers (vs {c})": len(m) for c, m in markers.items()},
            )
        rate = {c: {m: np.array([marker_rate(answers[m][p].text, markers[c]) for p in test]) for m in (ctx.suspect, c)}
                for c in ctx.controls}
        result = marker_usage_test({c: rate[c][ctx.suspect] for c in ctx.controls},
                                   {c: rate[c][c] for c in ctx.controls}, seed=ctx.seed + 7, margin=MARKER_MARGIN)
        example = sorted(markers[ctx.controls[0]])[:6]
        summary = (
            f"Phrases the teacher uses far more than the background models were chosen on {len(selection)} prompts "
            f"({', '.join(f'{len(m)} vs {c}' for c, m in markers.items())}; e.g. "
            + ", ".join(repr(" ".join(g)) for g in example)
            + f"); on the other {len(test)} prompts they made up "
            + ", ".join(f"{rate[c][ctx.suspect].mean():.3f} of the suspect's n-grams vs {rate[c][c].mean():.3f} of "
                        f"the control '{c}''s" for c in ctx.controls)
            + "."
        )
        return SuiteTest(self.name, "teacher-markers", result, True, setup.rows, summary)

    def _attribution(self, ctx: SuiteContext, probes: list[str]) -> SuiteTest | Uninformative:
        """A classifier of the teacher's writing (``features.attribution``), a black-box family test."""
        setup = self._held_apart(ctx, probes, "teacher-attribution")
        if isinstance(setup, Uninformative):
            return setup
        answers, selection, test = setup.answers, setup.selection, setup.test

        def texts(model: str, prompts: list[str]) -> list[str]:
            return [answers[model][p].text for p in prompts]

        scores: dict[str, dict[str, np.ndarray]] = {}
        accuracy: dict[str, tuple[int, int]] = {}
        for c in ctx.controls:
            background = setup.backgrounds[c]
            attributor = train_attributor(texts(ctx.teacher, selection), [t for b in background for t in texts(b, selection)])
            right = attributor.hits(texts(ctx.teacher, test), [t for b in background for t in texts(b, test)])
            accuracy[c] = (int(sum(x.sum() for x in right)), sum(x.size for x in right))
            scores[c] = {m: attributor.score(texts(m, test)) for m in (ctx.suspect, c)}
        separable = {c: binomial_test(k, n, 0.5, alternative="greater").p_value < SEPARABILITY_ALPHA
                     for c, (k, n) in accuracy.items()}
        if not all(separable.values()):
            return Uninformative(
                self.name, "teacher-attribution",
                "a classifier trained on the selection half could not tell the teacher's answers from the background "
                f"models' on the test half better than chance (one-sided binomial test at {SEPARABILITY_ALPHA}): "
                "no writing of its own for a student to inherit was found",
                {f"held-apart accuracy (vs {c})": f"{k}/{n}" for c, (k, n) in accuracy.items()},
            )
        result = attribution_test({c: scores[c][ctx.suspect] for c in ctx.controls},
                                  {c: scores[c][c] for c in ctx.controls}, seed=ctx.seed + 11,
                                  margin=ATTRIBUTION_MARGIN_LOG_ODDS)
        result = replace(result, details={**result.details, "held_apart_accuracy": {
            c: {"correct": k, "answers": n} for c, (k, n) in accuracy.items()}})
        summary = (
            f"A classifier of the teacher's writing (character and word n-grams) was trained on {len(selection)} prompts "
            "against models outside each comparison; on the other "
            f"{len(test)} prompts it told the teacher from them in "
            + ", ".join(f"{k}/{n} answers (without {c})" for c, (k, n) in accuracy.items())
            + ", and took the suspect's answers for the teacher's with mean log-odds "
            + ", ".join(f"{scores[c][ctx.suspect].mean():+.2f} vs {scores[c][c].mean():+.2f} for the control '{c}'"
                        for c in ctx.controls)
            + "."
        )
        return SuiteTest(self.name, "teacher-attribution", result, True, setup.rows, summary)

    def _cross_likelihood(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        """The capability-invariant cross-likelihood test (see ``likelihood_preference_test``)."""
        scorers = (ctx.suspect, *ctx.controls)
        teacher_scores = {m: ctx.view.scores_of(m, self.name, ctx.teacher) for m in scorers}
        if not all(teacher_scores.values()):
            return []  # the skip is reported by the analysis from the collection's capabilities
        sources = {c: ctx.reference_sources(c) for c in ctx.controls}
        missing = [c for c, refs in sources.items() if not refs]
        if missing:
            raise_reason = (
                "cross-likelihood needs reference answers for every control (another control's or a [[reference]] "
                f"model's answers to the same prompts); none for {', '.join(missing)}: add a second control or a "
                "[[reference]] model"
            )
            return [Uninformative(self.name, "cross-likelihood", raise_reason, {"controls": len(ctx.controls),
                                                                                "references": len(ctx.references)})]
        needed = {(m, src) for c in ctx.controls for src in sources[c] for m in (ctx.suspect, c)}
        ref_scores = {key: ctx.view.scores_of(key[0], self.name, key[1]) for key in needed}
        tables = [teacher_scores[m] for m in scorers] + list(ref_scores.values())
        probes = sorted(set.intersection(*(set(t) for t in tables)))
        probes = [p for p in probes if all(t[p].logprob_per_byte is not None for t in tables)]
        if len(probes) < 2:
            return [Uninformative(self.name, "cross-likelihood",
                                  "fewer than 2 prompts scored by every model on the teacher's and the reference answers; "
                                  "collect again to score the reference answers", {"prompts": len(probes)})]

        def per_byte(table: dict, model_probes: list[str] = probes) -> np.ndarray:  # noqa: ANN001
            return np.array([table[p].logprob_per_byte for p in model_probes])

        def reference(model: str, control: str) -> np.ndarray:
            return np.mean([per_byte(ref_scores[(model, src)]) for src in sources[control]], axis=0)

        s = per_byte(teacher_scores[ctx.suspect])
        result = likelihood_preference_test(
            s,
            {c: reference(ctx.suspect, c) for c in ctx.controls},
            {c: per_byte(teacher_scores[c]) for c in ctx.controls},
            {c: reference(c, c) for c in ctx.controls},
            seed=ctx.seed + 3,
            margin=CROSS_LIKELIHOOD_MARGIN_NATS_PER_BYTE,
        )
        sp, cp = result.details["suspect_preference"], result.details["control_preference"]
        summary = (
            f"On {len(probes)} prompts, each model scored the teacher's answer and reference answers written by "
            "models outside the comparison (log-likelihood per byte). The suspect preferred the teacher's answers by "
            + ", ".join(f"{sp[c]:+.3f} nats/byte (reference: {', '.join(sources[c])})" for c in ctx.controls)
            + "; "
            + ", ".join(f"the control '{c}' by {cp[c]:+.3f}" for c in ctx.controls)
            + ". A derived model prefers its teacher's text; a merely better model is better on both texts."
        )
        rows = tuple(sorted({t[p].row_id for t in tables for p in probes}))
        return [SuiteTest(self.name, "cross-likelihood", result, True, rows, summary)]
