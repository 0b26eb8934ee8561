"""Distribution: are the suspect's outputs closer to the teacher's than independent models' are?

Where the suspect can score text (open weights), the sharpest test is cross-
likelihood: a student trained on teacher samples assigns them higher probability.
A better language model does too, on any fluent text, and some texts are easier
than others for every model, so each text is calibrated by the panel (its mean
log-likelihood per byte under the other independent models, as in the reference-model
calibration of membership inference, e.g. LiRA, Carlini et al. 2022), and a model's
excess on the teacher's answers is set against its excess on other authors' answers
(a median over authors, so no single author, possibly the suspect's relative, decides).
Where it can only generate (an API), the answers themselves are compared, on what is
idiosyncratic to the teacher: phrases it uses far more than the other models, chosen
on half of the prompts and counted on the other half (``features.markers``), and a
classifier of the teacher's writing trained on the same half (``features.attribution``).
For every test the statistic is computed the same way for the suspect and each panel
model, anything learnt learnt without the model scored, and the suspect is tested as
an outlier among independent models (``stats.panel``). Raw word-bigram overlap with the
teacher's answers is kept as a descriptive figure: fluent models share common phrasing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from provenance.backends.base import Capability
from provenance.config import MIN_SIGNAL_EVENTS
from provenance.analysis.view import Answer
from provenance.features.attribution import AttributionSpace
from provenance.features.markers import MarkerCounts, marker_rate, ngrams, split_prompts
from provenance.stats import binomial_test, token_match_rate_test
from provenance.stats.panel import ModelStatistic
from provenance.suites.base import Suite, SuiteContext, SuiteTest, Uninformative, rows_of
from provenance.suites.panel import panel_finding
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
        "excess log-likelihood per byte of the teacher's answers over the panel's calibration of each text, beyond "
        "the excess on other authors' answers (median over authors), where scoring exists; teacher-marker phrase "
        "usage and a classifier's attribution to the teacher, both learnt on one half of the prompts without the "
        "model scored and tested on the other (black box); each the suspect's against the panel of independent "
        "models' (models as the unit); per-prompt word-bigram overlap with the teacher vs each panel model "
        "(descriptive)"
    )
    needs = frozenset({Capability.GENERATE})

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        ctx.require_controls()
        answers, probes = ctx.shared_probes(self.name)
        tests: list[SuiteTest | Uninformative] = list(self._cross_likelihood(ctx))
        s, t = ctx.suspect, ctx.teacher
        with_teacher = np.array([text_similarity(answers[s][p].text, answers[t][p].text) for p in probes])
        with_controls = {
            c: np.array([text_similarity(answers[s][p].text, answers[c][p].text) for p in probes])
            for c in ctx.panel if c in answers
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
        """Per model, its background (the other models of suspect + panel), and the seeded prompt halves.

        Shared by the black-box idiosyncrasy tests: what is the teacher's own is learnt on the
        selection half against the background (never the model then scored, nor its declared
        relatives), and tested on the other half, for the suspect and every panel model alike.
        """
        members = tuple(m for m in (ctx.suspect, *ctx.panel) if ctx.view.first_answers(m, self.name))
        backgrounds = {m: ctx.background(m, members) for m in members}
        if not backgrounds[ctx.suspect] or len(members) < 3:
            return Uninformative(
                self.name, test_id,
                "learning what is the teacher's own needs answers from at least two panel models (one to learn "
                "against while the other is scored)", {"panel_models": len(members) - 1},
            )
        answers = {m: ctx.view.first_answers(m, self.name) for m in (ctx.teacher, *members)}
        common = sorted(set(probes).intersection(*(set(a) for a in answers.values())))
        selection, test = split_prompts(common, ctx.seed)
        if len(selection) < 10 or len(test) < 10:
            return Uninformative(self.name, test_id,
                                 "fewer than 10 prompts in a half: too few to learn on one half and test on the other",
                                 {"selection_prompts": len(selection), "test_prompts": len(test)})
        rows = tuple(sorted({answers[m][p].row_id for m in answers for p in common}))
        return HeldApart(backgrounds, answers, selection, test, rows)

    def _markers(self, ctx: SuiteContext, probes: list[str]) -> SuiteTest | Uninformative:
        """Teacher-specific phrasing (``features.markers``), a black-box family test, models as the unit."""
        setup = self._held_apart(ctx, probes, "teacher-markers")
        if isinstance(setup, Uninformative):
            return setup
        answers, selection, test = setup.answers, setup.selection, setup.test
        counts = MarkerCounts([answers[ctx.teacher][p].text for p in selection],
                              {m: [answers[m][p].text for p in selection] for m in setup.backgrounds})
        markers = {m: set(counts.select(b)) for m, b in setup.backgrounds.items()}
        if len(markers[ctx.suspect]) < MIN_SIGNAL_EVENTS:
            return Uninformative(
                self.name, "teacher-markers",
                f"the teacher has fewer than {MIN_SIGNAL_EVENTS} phrases it uses markedly more than the other models "
                "on the selection half: no idiosyncrasy to inherit was found",
                {"markers": len(markers[ctx.suspect])},
            )
        stats = {m: ModelStatistic.mean_of([marker_rate(answers[m][p].text, markers[m]) for p in test],
                                           chances=sum(len(ngrams(answers[m][p].text)) for p in test))
                 for m in setup.backgrounds}
        example = sorted(markers[ctx.suspect])[:6]
        test_result = panel_finding(
            ctx, self.name, "teacher-markers", stats, quantity="marker rate", unit="markers used per n-gram",
            rows=setup.rows, what="use of the teacher's marker phrases",
            assumptions=("each model's markers are chosen against the other models, never against itself",),
            scale="cbrt",  # a rate of rare phrases: bounded at zero, skewed between models
        )
        if isinstance(test_result, SuiteTest):
            test_result = replace(test_result, summary=(
                f"Phrases the teacher uses far more than the other models were chosen on {len(selection)} prompts, for "
                f"each model without it (e.g. " + ", ".join(repr(" ".join(g)) for g in example)
                + f"), and counted on the other {len(test)}. " + test_result.summary))
        return test_result

    def _attribution(self, ctx: SuiteContext, probes: list[str]) -> SuiteTest | Uninformative:
        """A classifier of the teacher's writing (``features.attribution``), a black-box family test, models as the unit."""
        setup = self._held_apart(ctx, probes, "teacher-attribution")
        if isinstance(setup, Uninformative):
            return setup
        answers, selection, test = setup.answers, setup.selection, setup.test

        def texts(model: str, prompts: list[str]) -> list[str]:
            return [answers[model][p].text for p in prompts]

        space = AttributionSpace.of(texts(ctx.teacher, selection))
        stats: dict[str, ModelStatistic] = {}
        accuracy = (0, 0)
        for m, background in setup.backgrounds.items():
            attributor = space.train(texts(ctx.teacher, selection), [t for b in background for t in texts(b, selection)])
            if m == ctx.suspect:
                right = attributor.hits(texts(ctx.teacher, test), [t for b in background for t in texts(b, test)])
                accuracy = (int(sum(x.sum() for x in right)), sum(x.size for x in right))
            stats[m] = ModelStatistic.mean_of(attributor.teacher_evidence(texts(m, test)))
        k, n = accuracy
        if binomial_test(k, n, 0.5, alternative="greater").p_value >= SEPARABILITY_ALPHA:
            return Uninformative(
                self.name, "teacher-attribution",
                "a classifier trained on the selection half could not tell the teacher's answers from the other "
                f"models' on the test half better than chance (one-sided binomial test at {SEPARABILITY_ALPHA}): "
                "no writing of its own for a student to inherit was found",
                {"held-apart accuracy": f"{k}/{n}"},
            )
        result = panel_finding(
            ctx, self.name, "teacher-attribution", stats, quantity="attribution", unit="teacher evidence",
            rows=setup.rows,
            what=("mean evidence for the teacher's writing (the positive weights of a classifier trained without it, "
                  "times the answer's features)"),
            fmt=".3f",
            assumptions=("each model's answers are scored by a classifier trained on the teacher against the other "
                         "models, never against itself",),
        )
        if isinstance(result, SuiteTest):
            result = replace(result, summary=(
                f"A classifier of the teacher's writing (character and word n-grams of the teacher's answers) was trained "
                f"on {len(selection)} prompts for each model without it; without the suspect it told the teacher from the "
                f"others in {k}/{n} answers of the other {len(test)} prompts. " + result.summary))
        return result

    def _cross_likelihood(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        """Excess likelihood of the teacher's text over what independent models give it, against other text.

        For every text (one author's answer to one prompt), its *easiness* is the mean log-likelihood
        per byte the other scorers give it (never the model being scored, its relatives or the text's
        author). A model's *excess* on a text is its own score minus that easiness. The statistic,
        per prompt, is the excess on the teacher's answer minus the median excess on the other
        authors' answers (the model's own, its relatives' and the teacher's excluded), averaged over
        prompts: what a student of the teacher gains on its teacher's text beyond what independent
        models gain, corrected for the model's general strength (which raises its excess on every
        text) and for how easy each text is (which no median over several authors lets one author
        decide). Computed the same way for the suspect and every panel model that scores.
        """
        members = [ctx.suspect, *ctx.panel]
        scorers = [m for m in members if ctx.view.scores_of(m, self.name, ctx.teacher)]
        if ctx.suspect not in scorers:
            return []  # the skip is reported by the analysis from the collection's capabilities
        # Authors: the models whose answers every other scorer has scored (in a case, the controls' and the
        # reference models'; the suspect's answers are scored only where a panel store has them).
        authors = [a for a in members if all(ctx.view.scores_of(j, self.name, a) for j in scorers if j != a)]
        texts = [ctx.teacher, *authors]
        tables = {(j, a): ctx.view.scores_of(j, self.name, a) for j in scorers for a in texts if a != j}
        probes = sorted(set.intersection(*(set(t) for t in tables.values()))) if len(scorers) > 1 else []
        lp = np.full((len(scorers), len(texts), len(probes)), np.nan)
        for (j, a), table in tables.items():
            lp[scorers.index(j), texts.index(a)] = [
                np.nan if table[p].logprob_per_byte is None else table[p].logprob_per_byte for p in probes]
        offdiag = np.array([[j != a for a in texts] for j in scorers])
        valid = np.isfinite(lp[offdiag]).all(axis=0) if probes else np.zeros(0, dtype=bool)
        usable = [p for p, ok in zip(probes, valid) if ok]
        lp = lp[:, :, valid] if probes else lp
        if len(usable) < 2 or len(scorers) < 3 or not authors:
            return [Uninformative(
                self.name, "cross-likelihood",
                "the panel calibration needs at least two other scoring models and another author's answers, scored "
                "by every model, on at least 2 prompts; collect again to score the panel's answers",
                {"scorers": len(scorers), "authors": len(authors), "prompts": len(usable)})]
        stats: dict[str, ModelStatistic] = {}
        left_out: dict[str, str] = {}
        for i, m in enumerate(scorers):
            excluded = {m, *ctx.relatives(m)}
            others = [x for x, j in enumerate(scorers) if j not in excluded]
            refs = [k for k, a in enumerate(texts) if k > 0 and a not in excluded]
            if not refs or len(others) < 2:
                left_out[m] = "no other author's answers or scorers left once its own and its relatives' are excluded"
                continue
            excess = np.empty((len(texts), len(usable)))
            for k, a in enumerate(texts):
                base = [x for x in others if scorers[x] != a]
                excess[k] = lp[i, k] - lp[base, k].mean(axis=0)
            stats[m] = ModelStatistic.mean_of(excess[0] - np.median(excess[refs], axis=0))
        rows = tuple(sorted({table[p].row_id for table in tables.values() for p in usable}))
        test = panel_finding(
            ctx, self.name, "cross-likelihood", stats, quantity="excess preference", unit="nats/byte",
            rows=rows, what="excess likelihood of the teacher's answers over independent models', beyond its excess "
                            "on other authors' answers", left_out=left_out,
            assumptions=("log-likelihood per byte, so tokenizers do not enter",
                         "no reference author decides: the median over the other authors' answers, per prompt"),
        )
        if isinstance(test, SuiteTest):
            test = replace(test, summary=(
                f"On {len(usable)} prompts every model scored the teacher's answers and {len(authors)} other authors' "
                "(log-likelihood per byte), each text calibrated by the other models' scores of it. " + test.summary))
        return [test]
