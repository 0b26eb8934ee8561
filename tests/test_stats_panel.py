"""The model-level null on simulated panels: level held at every number of prompts, power, floor, checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from provenance.stats import StatsInputError
from provenance.stats.panel import (
    MIN_PANEL_PARAMETRIC,
    ModelStatistic,
    cube_root_scale,
    models_needed,
    panel_outlier_test,
    rank_p_value,
)


def simulate(rng: np.random.Generator, k: int, n: int, tau: float, suspect_shift: float = 0.0):
    """K independent models and a suspect: each a true closeness (between-model spread tau) plus prompt noise."""
    truths = rng.normal(0.0, tau, size=k + 1)
    truths[0] += suspect_shift
    stats = [ModelStatistic.mean_of(rng.normal(mu, 1.0, size=n)) for mu in truths]
    return stats[0], {f"m{i}": s for i, s in enumerate(stats[1:])}


def run(suspect, panel):
    return panel_outlier_test(suspect, panel, name="t", quantity="closeness", unit="u", null_words="h0", alt_words="h1")


def rejection_rate(n: int, *, k: int = 10, tau: float = 0.15, reps: int = 300, alpha: float = 0.05, shift: float = 0.0,
                   seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    return float(np.mean([run(*simulate(rng, k, n, tau, shift)).p_value <= alpha for _ in range(reps)]))


def naive_rate(n: int, *, k: int = 10, tau: float = 0.15, reps: int = 300, alpha: float = 0.05, seed: int = 0) -> float:
    """The prompt-level test this replaces: suspect vs the panel mean, sampling error only."""
    from scipy import stats as sps

    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(reps):
        s, panel = simulate(rng, k, n, tau)
        ses = np.array([m.se for m in panel.values()])
        z = (s.value - np.mean([m.value for m in panel.values()])) / np.sqrt(s.se ** 2 + np.mean(ses ** 2) / k)
        hits += sps.norm.sf(z) <= alpha
    return hits / reps


def test_level_holds_at_every_number_of_prompts_when_suspect_and_panel_are_exchangeable():
    rates = {n: rejection_rate(n) for n in (20, 200, 5000)}
    # 300 replications: the binomial sd at 0.05 is 0.013; 0.09 is 3 sd above the level.
    assert all(r <= 0.09 for r in rates.values()), rates
    assert max(rates.values()) - min(rates.values()) <= 0.05, rates  # no drift with the number of prompts


def test_prompt_level_null_drifts_with_the_number_of_prompts_where_the_panel_test_does_not():
    assert naive_rate(5000) > 0.3  # the failure this module exists for: every independent pair "differs"
    assert rejection_rate(5000) <= 0.09


def test_rejects_a_suspect_far_outside_the_spread_of_independent_models():
    assert rejection_rate(200, shift=1.0, alpha=0.01, reps=200) >= 0.93


def test_a_parametric_p_below_the_rank_floor_says_it_extrapolates_past_the_panel():
    rng = np.random.default_rng(5)
    suspect, panel = simulate(rng, 12, 500, 0.1, suspect_shift=1.0)
    far = run(suspect, panel)
    assert far.details["form"] == "parametric" and far.p_value < far.details["rank_floor"]
    assert far.details["extrapolated"] is True
    top = max(m.value for m in panel.values())
    assert far.details["beyond_largest_sd"] == pytest.approx((suspect.value - top) / far.details["prediction_sd"])
    inside = run(ModelStatistic(float(np.median([m.value for m in panel.values()])), suspect.se, 500), panel)
    assert inside.details["extrapolated"] is False and inside.details["beyond_largest_sd"] is None


def test_small_panel_uses_the_exact_rank_form_and_reports_its_floor():
    rng = np.random.default_rng(3)
    suspect, panel = simulate(rng, MIN_PANEL_PARAMETRIC - 1, 200, 0.1, suspect_shift=5.0)
    result = run(suspect, panel)
    k = MIN_PANEL_PARAMETRIC - 1
    assert result.details["form"] == "rank"
    assert result.p_value == pytest.approx(1 / (k + 1))  # the best this panel can do, however far the suspect is
    assert result.details["floor"] == pytest.approx(1 / (k + 1))
    assert result.n["panel_models"] == k
    assert result.details["extrapolated"] is False  # the rank form never goes below its floor


def test_an_outlier_in_the_panel_fails_the_check_and_sends_the_test_to_the_rank_form():
    rng = np.random.default_rng(4)
    suspect, panel = simulate(rng, 12, 500, 0.05, suspect_shift=2.0)
    panel["odd"] = ModelStatistic(3.0, 0.01, 500)  # one panel model far from the rest
    result = run(suspect, panel)
    assert result.details["checks"]["passed"] is False
    assert result.details["checks"]["outlier_model"] == "odd"
    assert result.details["form"] == "rank"
    assert result.p_value == pytest.approx(rank_p_value(suspect.value, [m.value for m in panel.values()]))


def test_rank_p_value_counts_ties_as_at_least_as_close():
    assert rank_p_value(1.0, [0.0, 1.0, 2.0]) == pytest.approx(3 / 4)
    assert rank_p_value(5.0, [0.0] * 9) == pytest.approx(0.1)


def test_models_needed_for_the_rank_form_to_reach_holm_first_step():
    assert models_needed(9, 0.05, 1) == 10  # 19 models give a floor of 1/20 = 0.05
    assert models_needed(500, 0.01, 2) == 0


def test_a_panel_without_spread_uses_the_sampling_error_and_still_rejects_a_far_suspect():
    # No independent model ever names the teacher: every panel rate is 0.
    panel = {f"m{i}": ModelStatistic.proportion(0, 40) for i in range(6)}
    far = run(ModelStatistic.proportion(26, 40), panel)
    assert far.details["form"] == "parametric" and far.details["checks"]["passed"]
    assert far.p_value < 1e-3
    near = run(ModelStatistic.proportion(1, 40), panel)
    assert near.p_value > 0.05  # one claim in 40 is within sampling error of never


def _sparse_marker_panels(*, k: int, sims: int, shape: float, mean: float, shift: float = 1.0, seed: int = 3) -> float:
    """Rejection rate at alpha = 1 % among k models whose rare-phrase rates are so skewed that most panels are all 0."""
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(sims):
        lams = rng.gamma(shape, mean / shape, size=k + 1)
        lams[0] *= shift
        stats = [ModelStatistic.mean_of(rng.poisson(lam * 60, size=50) / 60, chances=50 * 60) for lam in lams]
        r = panel_outlier_test(stats[0], {f"m{i}": s for i, s in enumerate(stats[1:])}, name="t", quantity="rate",
                               unit="share", null_words="n", alt_words="a", scale="cbrt")
        hits += r.p_value <= 0.01
    return hits / sims


def test_a_panel_of_zeros_is_not_taken_to_show_that_independent_models_never_differ():
    """Most independent models never use the phrases, one kind sometimes does (gamma spread, shape 0.1): a
    panel of zeros with tau = 0 rejected that kind as an outlier in 3.5 % of exchangeable draws at alpha = 1 %
    (measured before the detection-limit floor); with the floor the level holds."""
    assert _sparse_marker_panels(k=8, sims=1500, shape=0.1, mean=0.0003) <= 0.01
    zeros = {f"m{i}": ModelStatistic.mean_of(np.zeros(50), chances=3000) for i in range(8)}
    r = panel_outlier_test(ModelStatistic.mean_of(np.r_[np.full(3, 1 / 60), np.zeros(47)], chances=3000), zeros,
                           name="t", quantity="rate", unit="share", null_words="n", alt_words="a", scale="cbrt")
    assert r.details["spread_floor"] == pytest.approx((math.sqrt(2) / 3000) ** (1 / 3), rel=0.01)
    assert r.details["form"] == "parametric" and r.p_value > 0.01  # 3 phrases in 50 answers: within the floor
    # A marker phrase in every answer is beyond the spread a panel of zeros could hide, more surely the larger it is.
    far = ModelStatistic.mean_of(np.full(50, 0.05), chances=3000)
    p8, p17 = (panel_outlier_test(far, {f"m{i}": zeros["m0"] for i in range(k)}, name="t", quantity="rate",
                                  unit="share", null_words="n", alt_words="a", scale="cbrt").p_value for k in (8, 17))
    assert p8 < 0.01 and p17 < 1e-3


def test_a_panel_without_spread_or_sampling_error_gets_the_exact_rank_form():
    same = {f"m{i}": ModelStatistic(0.0, 0.0, 40) for i in range(9)}
    r = panel_outlier_test(ModelStatistic(0.2, 0.0, 40), same, name="t", quantity="overlap", unit="Jaccard",
                           null_words="n", alt_words="a")
    assert r.details["form"] == "rank" and r.p_value == pytest.approx(0.1)
    assert not r.details["checks"]["passed"]


def _gamma_rate_panels(scale: str, *, shape: float, k: int, sims: int, shift: float = 1.0, seed: int = 11) -> float:
    """Rejection rate at alpha = 1 % of a suspect among k models whose marker-like rates have a gamma spread."""
    rng = np.random.default_rng(seed)

    def model(lam: float) -> ModelStatistic:  # 50 answers of ~60 n-grams, Poisson counts at the model's rate
        return ModelStatistic.mean_of(rng.poisson(lam * 60, size=50) / 60)

    hits = 0
    for _ in range(sims):
        lams = rng.gamma(shape, 0.004 / shape, size=k + 1)
        stats = [model(lam * (shift if i == 0 else 1.0)) for i, lam in enumerate(lams)]
        r = panel_outlier_test(stats[0], {f"m{i}": s for i, s in enumerate(stats[1:])}, name="t", quantity="rate",
                               unit="share", null_words="n", alt_words="a", scale=scale)
        hits += r.p_value <= 0.01
    return hits / sims


def test_rates_with_a_skewed_spread_hold_the_level_on_the_cube_root_scale():
    """A rate of rare phrases is bounded at zero and skewed between models (gamma, shape 0.5): a normal
    model on the raw scale rejects an exchangeable suspect about 3 times as often as alpha, the cube root
    (Wilson-Hilferty) holds it; a suspect at 8 times its model's rate is still found."""
    raw = _gamma_rate_panels("raw", shape=0.5, k=8, sims=1500)
    cbrt = _gamma_rate_panels("cbrt", shape=0.5, k=8, sims=1500)
    assert raw > 0.02, raw
    assert cbrt <= 0.012, cbrt
    assert _gamma_rate_panels("cbrt", shape=3.0, k=8, sims=300, shift=8.0) >= 0.6  # 0.73 measured


def test_cube_root_scale_keeps_rank_and_reports_both_scales():
    panel = {"a": ModelStatistic(0.0, 0.0, 50), "b": ModelStatistic(0.002, 0.001, 50), "c": ModelStatistic(0.004, 0.0015, 50),
             "d": ModelStatistic(0.001, 0.0008, 50), "e": ModelStatistic(0.003, 0.001, 50)}
    suspect = ModelStatistic(0.02, 0.003, 50)
    raw = panel_outlier_test(suspect, panel, name="t", quantity="rate", unit="share", null_words="n", alt_words="a")
    cbrt = panel_outlier_test(suspect, panel, name="t", quantity="rate", unit="share", null_words="n", alt_words="a",
                              scale="cbrt")
    assert raw.details["rank_p"] == cbrt.details["rank_p"] == 1 / 6
    assert cbrt.details["scale"] == "cbrt" and cbrt.details["raw_suspect_value"] == 0.02
    assert cbrt.details["suspect_value"] == pytest.approx(0.02 ** (1 / 3))
    assert cube_root_scale(ModelStatistic(0.0, 0.001, 5)).se == pytest.approx(0.1)
    with pytest.raises(StatsInputError):
        panel_outlier_test(suspect, panel, name="t", quantity="rate", unit="share", null_words="n", alt_words="a",
                           scale="log")
    with pytest.raises(StatsInputError):
        cube_root_scale(ModelStatistic(-0.1, 0.01, 5))
