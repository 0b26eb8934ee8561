"""Capability- and base-rate-invariant contrasts, on simulated scores where the truth is known both ways.

The confounded cases are the ones seen on real models: a better language model that
is independent of the teacher, a control that refuses everything, two models that
both seldom refuse. The raw comparisons the project used before are run beside the
new ones on the same data, so each test shows what the design fixes.
"""

from __future__ import annotations

import numpy as np
import pytest

from provenance.stats import StatsInputError, cohen_kappa, cross_likelihood_test, kappa_contrast_test, likelihood_preference_test

FAST = {"n_permutations": 499, "n_resamples": 0}
ALPHA = 0.05
RUNS = 60


def _world(rng: np.random.Generator, n: int, *, suspect_skill: float, teacher_affinity: float,
           reference_quality: float = 0.0) -> dict[str, np.ndarray]:
    """Per-byte log-likelihoods of teacher answers T and reference answers R under a suspect and two controls.

    A model's score of a text = its skill (better models score every fluent text higher)
    + the text's own difficulty + noise; a derived suspect gets ``teacher_affinity`` more
    on the teacher's text only. ``reference_quality`` < 0 makes the reference text worse
    written; skill then helps less on it (a weak model gains little on any text).
    """
    difficulty_t = rng.normal(-2.0, 0.3, n)
    difficulty_r = rng.normal(-2.0, 0.3, n) + reference_quality
    skills = {"suspect": suspect_skill, "c1": 0.0, "c2": 0.1}

    def score(model: str, difficulty: np.ndarray, teacher_text: bool) -> np.ndarray:
        gain = skills[model] * (1.0 + (0.0 if teacher_text else reference_quality))
        bonus = teacher_affinity if (model == "suspect" and teacher_text) else 0.0
        return difficulty + gain + bonus + rng.normal(0, 0.15, n)

    return {f"{m}_{kind}": score(m, d, kind == "T") for m in skills for kind, d in (("T", difficulty_t), ("R", difficulty_r))}


def _preference_p(w: dict[str, np.ndarray], seed: int) -> float:
    controls = ("c1", "c2")
    return likelihood_preference_test(
        w["suspect_T"], {c: w["suspect_R"] for c in controls}, {c: w[f"{c}_T"] for c in controls},
        {c: w[f"{c}_R"] for c in controls}, seed=seed, **FAST,
    ).p_value


def _raw_p(w: dict[str, np.ndarray], seed: int) -> float:
    return cross_likelihood_test(w["suspect_T"], {"c1": w["c1_T"], "c2": w["c2_T"]}, seed=seed, **FAST).p_value


def test_a_better_independent_model_is_found_closer_by_raw_likelihood_but_not_by_preference() -> None:
    rng = np.random.default_rng(1)
    raw, pref = [], []
    for run in range(RUNS):
        w = _world(rng, 100, suspect_skill=0.8, teacher_affinity=0.0)
        raw.append(_raw_p(w, run) < ALPHA)
        pref.append(_preference_p(w, run) < ALPHA)
    assert np.mean(raw) > 0.9  # the confound the redesign removes
    assert np.mean(pref) <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def test_a_weaker_student_is_found_by_preference_though_it_scores_below_the_controls() -> None:
    rng = np.random.default_rng(2)
    raw, pref = [], []
    for run in range(30):
        # A weak student (skill -1) that learnt the teacher's text (affinity 0.3): below both
        # controls on the teacher's answers, so "higher than every control" fails.
        w = _world(rng, 100, suspect_skill=-1.0, teacher_affinity=0.3)
        raw.append(_raw_p(w, run) < ALPHA)
        pref.append(_preference_p(w, run) < ALPHA)
    assert np.mean(raw) < 0.1
    assert np.mean(pref) > 0.9


def test_worse_written_reference_text_lets_capability_back_in_and_the_control_preference_shows_it() -> None:
    """The known pitfall, kept visible: the design needs reference text of the teacher's quality."""
    rng = np.random.default_rng(3)
    w = _world(rng, 200, suspect_skill=0.8, teacher_affinity=0.0, reference_quality=-0.8)
    result = likelihood_preference_test(
        w["suspect_T"], {"c1": w["suspect_R"], "c2": w["suspect_R"]}, {c: w[f"{c}_T"] for c in ("c1", "c2")},
        {c: w[f"{c}_R"] for c in ("c1", "c2")}, seed=0, **FAST,
    )
    assert result.p_value < ALPHA  # a false finding: capability no longer cancels
    # ...and the diagnostic the analysis warns on: independent controls prefer the teacher's text strongly.
    assert min(result.details["control_preference"].values()) > 0.5


def test_preference_is_measured_against_each_control_and_combined_by_the_largest_p() -> None:
    rng = np.random.default_rng(4)
    w = _world(rng, 80, suspect_skill=0.0, teacher_affinity=0.5)
    # Control c2 is given the suspect's own scores: the suspect is not closer to the teacher than to it.
    result = likelihood_preference_test(
        w["suspect_T"], {"c1": w["suspect_R"], "c2": w["suspect_R"]}, {"c1": w["c1_T"], "c2": w["suspect_T"]},
        {"c1": w["c1_R"], "c2": w["suspect_R"]}, seed=0, **FAST,
    )
    assert result.details["binding_control"] == "c2"
    assert result.p_value == max(r["p_value"] for r in result.details["per_control"])
    assert result.p_value > 0.5
    assert result.details["suspect_preference"]["c1"] == pytest.approx(float((w["suspect_T"] - w["suspect_R"]).mean()))


def test_preference_rejects_mismatched_control_names() -> None:
    with pytest.raises(StatsInputError):
        likelihood_preference_test([1.0, 2.0], {"a": [0.0, 0.0]}, {"b": [0.0, 0.0]}, {"b": [0.0, 0.0]}, seed=0)


# ------------------------------------------------------------------ agreement beyond chance


def _raw_agreement_p(s: np.ndarray, t: np.ndarray, c: np.ndarray, seed: int) -> float:
    from provenance.stats import token_match_rate_test

    return token_match_rate_test((s == t).astype(float), {"c": (s == c).astype(float)}, seed=seed, **FAST).p_value


def test_models_that_seldom_refuse_agree_by_raw_rate_but_not_beyond_chance() -> None:
    """Suspect and teacher both refuse ~5 % independently; the control refuses everything."""
    rng = np.random.default_rng(5)
    raw, kappa = [], []
    for run in range(RUNS):
        n = 165
        s, t = rng.random(n) < 0.05, rng.random(n) < 0.05
        c = np.ones(n, dtype=bool)
        raw.append(_raw_agreement_p(s, t, c, run) < ALPHA)
        kappa.append(kappa_contrast_test(s, t, {"c": c}, seed=run, n_resamples=499).p_value < ALPHA)
    assert np.mean(raw) > 0.9
    assert np.mean(kappa) <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def test_kappa_contrast_holds_its_level_when_all_three_share_prompt_difficulty() -> None:
    """Independent models that all refuse the clearly harmful prompts: agreement beyond chance, but equal."""
    rng = np.random.default_rng(6)
    hits = []
    for run in range(RUNS):
        n = 165
        harm = rng.random(n)  # how clearly harmful each prompt is
        s, t, c = ((harm + rng.normal(0, 0.2, n)) > 0.6 for _ in range(3))
        hits.append(kappa_contrast_test(s, t, {"c": c}, seed=run, n_resamples=499).p_value < ALPHA)
    assert np.mean(hits) <= ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def test_kappa_contrast_finds_a_suspect_that_copies_the_teachers_decisions() -> None:
    rng = np.random.default_rng(7)
    found = []
    for run in range(30):
        n = 165
        harm = rng.random(n)
        t = (harm + rng.normal(0, 0.2, n)) > 0.6
        c = (harm + rng.normal(0, 0.2, n)) > 0.6
        s = np.where(rng.random(n) < 0.7, t, (harm + rng.normal(0, 0.2, n)) > 0.6)  # copies 70 % of decisions
        found.append(kappa_contrast_test(s, t, {"c": c}, seed=run, n_resamples=499).p_value < ALPHA)
    assert np.mean(found) > 0.8


def test_kappa_contrast_reports_per_control_kappas_and_an_interval() -> None:
    rng = np.random.default_rng(8)
    t = rng.random(100) < 0.4
    rng_copy_a = rng.random(100) < 0.4
    r = kappa_contrast_test(t.copy(), t, {"a": rng_copy_a, "b": ~t}, seed=0, n_resamples=999)
    assert r.details["kappa_suspect_teacher"] == pytest.approx(1.0)
    per = {x["control"]: x for x in r.details["per_control"]}
    assert per["b"]["kappa_suspect_control"] == pytest.approx(cohen_kappa(t, ~t).effect)
    assert per["a"]["kappa_suspect_control"] == pytest.approx(cohen_kappa(t, rng_copy_a).effect)
    assert r.ci is not None and r.ci[0] <= r.effect <= r.ci[1]
    assert r.p_value < 0.01


def test_a_margin_asks_for_a_difference_of_the_size_derivation_makes() -> None:
    """Hundreds of prompts make a tiny consistent difference 'significant'; the margin does not count it."""
    from provenance.stats import marker_usage_test

    rng = np.random.default_rng(4)
    control = rng.normal(0.05, 0.02, 300)
    slightly_more = control + rng.normal(0.008, 0.01, 300)  # an independent model that happens to differ a little
    inherited = control + rng.normal(0.15, 0.05, 300)  # a student using the teacher's phrases
    kw = {"seed": 1, "n_permutations": 999, "n_resamples": 0}
    assert marker_usage_test({"c": slightly_more}, {"c": control}, **kw).p_value < 0.01
    held = marker_usage_test({"c": slightly_more}, {"c": control}, margin=0.03, **kw)
    assert held.p_value > 0.5 and held.details["margin"] == 0.03 and "margin 0.03" in held.null_hypothesis
    found = marker_usage_test({"c": inherited}, {"c": control}, margin=0.03, **kw)
    assert found.p_value < 0.01 and found.effect == pytest.approx(np.mean(inherited - control))
    with pytest.raises(StatsInputError, match="margin"):
        marker_usage_test({"c": inherited}, {"c": control}, margin=-1, **kw)
