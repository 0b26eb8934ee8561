"""Cross-likelihood with models as the unit, on simulated scores where the answer is known both ways.

The world: every model scores every other model's answers; a score is the scorer's
general strength plus the text's easiness plus what the scorer has learnt of the
author's writing. A student of the teacher gains on the teacher's text; a model tuned
from a base gains on the base's text. These are the failures the issue reports of the
previous statistic (one reference author per comparison, prompts as the unit).
"""

from __future__ import annotations

import numpy as np

from provenance.analysis.capability import panel_coverage
from provenance.analysis.view import EvidenceView, ScoreRecord
from provenance.suites import SuiteContext
from provenance.suites.distribution import DistributionSuite

PROMPTS = 120
PANEL = tuple(f"indep-{i}" for i in range(8))


def world(rng: np.random.Generator, *, teacher_gain: float, base_gain: float, suspect_strength: float = 0.0,
          panel_spread: float = 0.05, strong_base: bool = False) -> EvidenceView:
    """Scores of every author's answers under every scorer (suspect, base, panel), per byte.

    ``strong_base``: the base is exactly as strong as the suspect (a fine-tune keeps its base's capability).
    """
    scorers = ("suspect", "base", *PANEL)
    authors = ("teacher", *scorers)
    strength = {m: rng.normal(0, 0.3) for m in scorers}
    strength["suspect"] += suspect_strength
    if strong_base:
        strength["base"] = strength["suspect"]
    # Independent models' own small affinities to the teacher: the between-model spread of the null.
    affinity = {m: rng.normal(0, panel_spread) for m in scorers}
    easiness = {a: rng.normal(-1.5, 0.4) + rng.normal(0, 0.3, PROMPTS) for a in authors}
    scores: dict = {}
    row = 0
    for j in scorers:
        for a in authors:
            if a == j:
                continue
            gain = affinity[j] if a == "teacher" else 0.0
            if j == "suspect" and a == "teacher":
                gain += teacher_gain
            if j == "suspect" and a == "base":
                gain += base_gain
            values = strength[j] + easiness[a] + gain + rng.normal(0, 0.2, PROMPTS)
            table = {}
            for p, v in enumerate(values):
                row += 1
                table[f"p{p}"] = ScoreRecord(row, f"p{p}", f"req-{a}-{p}", (float(v) * 100,), "x" * 100)
            scores.setdefault(j, {}).setdefault("distribution", {})[a] = table
    return EvidenceView(scores=scores)


def cross_likelihood(view: EvidenceView, *, bases: tuple[str, ...] = ()):  # noqa: ANN201
    ctx = SuiteContext(view=view, suspect="suspect", teacher="teacher", controls=("base", *PANEL), teacher_claims=(),
                       seed=1, suspect_bases=bases)
    [test] = DistributionSuite()._cross_likelihood(ctx)
    return test.result


def test_a_suspect_tuned_on_the_teacher_is_found_although_it_prefers_its_own_base_s_writing() -> None:
    # The failure: with the base as the one reference author the preference flipped negative.
    for seed in range(5):
        view = world(np.random.default_rng(seed), teacher_gain=0.5, base_gain=1.2)
        assert cross_likelihood(view, bases=("base",)).p_value < 0.001
        assert cross_likelihood(view).p_value < 0.001  # undeclared: the median over authors still holds


def test_an_independent_suspect_is_not_found_at_any_number_of_prompts_by_a_related_author_or_its_strength() -> None:
    hits = 0
    for seed in range(40):
        view = world(np.random.default_rng(100 + seed), teacher_gain=0.0, base_gain=1.2, suspect_strength=0.5)
        hits += cross_likelihood(view, bases=("base",)).p_value < 0.01
    assert hits <= 2  # 40 independent suspects at alpha 0.01: 0.4 expected; 2 or fewer with probability 0.99


def test_the_statistic_and_panel_are_recorded_for_every_scorer() -> None:
    result = cross_likelihood(world(np.random.default_rng(7), teacher_gain=0.5, base_gain=0.0), bases=("base",))
    details = result.details
    assert set(details["panel"]) == {"base", *PANEL}
    assert result.n["panel_models"] == 9 and result.n["items"] == PROMPTS
    assert details["form"] in ("parametric", "rank") and details["rank_p"] == 0.1


def test_a_fine_tune_of_a_strong_base_is_covered_by_its_declared_base_and_only_by_it() -> None:
    # A fine-tune of a released base far stronger than every other panel model: outside the panel's population
    # unless its base is declared (the matched comparison); a suspect stronger than its declared base too stays out.
    def coverage(view: EvidenceView, bases: tuple[str, ...]) -> list[str]:
        return panel_coverage(SuiteContext(view=view, suspect="suspect", teacher="teacher", controls=("base", *PANEL),
                                           teacher_claims=(), seed=1, suspect_bases=bases))

    tuned = world(np.random.default_rng(5), teacher_gain=0.0, base_gain=0.0, suspect_strength=1.5, strong_base=True)
    assert coverage(tuned, ()) == []  # the (undeclared) base is in the panel and as strong: not every model is weaker
    without_base = world(np.random.default_rng(5), teacher_gain=0.0, base_gain=0.0, suspect_strength=1.5)
    [why] = coverage(without_base, ())
    assert "every panel model" in why
    assert coverage(tuned, ("base",)) == []
    [why] = coverage(without_base, ("base",))  # declared, but the suspect is far stronger than that base too
    assert "its declared base" in why
