"""Cross-likelihood and token-match contrasts: the suspect must beat EVERY control.

Scores are simulated from a small generative model: teacher sample i has a shared
difficulty u_i (every model finds it equally hard) and a sensitivity w_i; a model at
"distance" D from the teacher scores it u_i - D * w_i + noise (nats/token).
A distilled student has a smaller distance than the independent controls.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from provenance.stats import StatsInputError, cross_likelihood_test, token_match_rate_test

N_SAMPLES = 60
N_RUNS = 300
ALPHA = 0.05
FPR_LIMIT = ALPHA + 2.5 * np.sqrt(ALPHA * (1 - ALPHA) / N_RUNS)
FAST = dict(n_permutations=199, n_resamples=0)


def _world(rng: np.random.Generator, n: int = N_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(-2.0, 0.5, n), rng.gamma(4.0, 0.05, n)  # difficulty u, sensitivity w


def _score(u: np.ndarray, w: np.ndarray, distance: float, rng: np.random.Generator,
           advantage: float = 0.0) -> np.ndarray:
    return u - distance * w + advantage + rng.normal(0, 0.1, u.size)


def _controls(
    u: np.ndarray, w: np.ndarray, rng: np.random.Generator, k: int = 3
) -> dict[str, np.ndarray]:
    return {f"control-{i}": _score(u, w, 1.0, rng) for i in range(k)}


def _fpr(ps: list[float]) -> float:
    return float(np.mean(np.array(ps) <= ALPHA))


def test_cross_likelihood_rejects_when_the_suspect_is_closer_to_the_teacher_than_every_control() -> None:
    rng = np.random.default_rng(0)
    ps = []
    for _ in range(40):
        u, w = _world(rng)
        suspect = _score(u, w, 0.3, rng)
        ps.append(cross_likelihood_test(suspect, _controls(u, w, rng), seed=rng, **FAST).p_value)
    assert np.mean(np.array(ps) <= 0.01) >= 0.9


def test_cross_likelihood_reports_the_binding_control_and_an_interval_in_nats() -> None:
    rng = np.random.default_rng(1)
    u, w = _world(rng, 80)
    controls = _controls(u, w, rng)
    controls["close-control"] = _score(u, w, 0.6, rng)  # the strongest competitor
    r = cross_likelihood_test(_score(u, w, 0.3, rng), controls, seed=7, n_resamples=999)
    assert r.details["binding_control"] == "close-control"
    assert r.p_value == max(c["p_value"] for c in r.details["per_control"])
    assert r.ci is not None and r.ci[0] < r.effect < r.ci[1]
    assert "nats/token" in r.effect_name
    assert r.n == {"teacher_samples": 80, "controls": 4}


def test_cross_likelihood_holds_its_false_positive_rate_when_the_suspect_is_as_close_as_everyone() -> None:
    rng = np.random.default_rng(2)
    ps = []
    for _ in range(N_RUNS):
        u, w = _world(rng)
        suspect = _score(u, w, 1.0, rng)
        ps.append(cross_likelihood_test(suspect, _controls(u, w, rng), seed=rng, **FAST).p_value)
    assert _fpr(ps) <= FPR_LIMIT


def test_cross_likelihood_p_values_are_uniform_with_one_control_under_the_null() -> None:
    rng = np.random.default_rng(3)
    ps = []
    for _ in range(N_RUNS):
        u, w = _world(rng)
        ps.append(cross_likelihood_test(_score(u, w, 1.0, rng), {"c": _score(u, w, 1.0, rng)},
                                        seed=rng, **FAST).p_value)
    assert stats.kstest(ps, "uniform").pvalue > 0.001


def test_cross_likelihood_holds_its_false_positive_rate_when_the_suspect_resembles_a_control() -> None:
    # Suspect derived from control-0 (its scores are control-0's plus a little noise).
    rng = np.random.default_rng(4)
    ps = []
    for _ in range(N_RUNS):
        u, w = _world(rng)
        controls = _controls(u, w, rng)
        suspect = controls["control-0"] + rng.normal(0, 0.03, u.size)
        ps.append(cross_likelihood_test(suspect, controls, seed=rng, **FAST).p_value)
    assert _fpr(ps) <= FPR_LIMIT


def test_cross_likelihood_does_not_reject_when_the_suspect_beats_only_some_controls() -> None:
    rng = np.random.default_rng(5)
    ps = []
    for _ in range(100):
        u, w = _world(rng)
        controls = _controls(u, w, rng, k=2)
        controls["sibling"] = _score(u, w, 0.3, rng)  # another model as close to the teacher
        ps.append(cross_likelihood_test(_score(u, w, 0.3, rng), controls, seed=rng, **FAST).p_value)
    assert _fpr(ps) <= ALPHA + 2.5 * np.sqrt(ALPHA * (1 - ALPHA) / 100)


def _stronger_model_case(rng: np.random.Generator, suspect_distance: float) -> tuple[dict, dict]:
    """Suspect has +0.1 nats/token on ALL text; reference text is unrelated to the teacher."""
    u, w = _world(rng)
    ur, wr = _world(rng, 50)
    main = dict(suspect_scores=_score(u, w, suspect_distance, rng, advantage=0.1),
                control_scores=_controls(u, w, rng))
    ref = dict(reference_suspect_scores=_score(ur, wr, 1.0, rng, advantage=0.1),
               reference_control_scores=_controls(ur, wr, rng))
    return main, ref


def test_without_reference_text_a_generally_stronger_model_looks_like_a_student() -> None:
    # Documents the limitation stated in the result's assumptions.
    rng = np.random.default_rng(6)
    main, _ = _stronger_model_case(rng, 1.0)
    r = cross_likelihood_test(**main, seed=1, **FAST)
    assert r.p_value <= 0.01
    assert any("generally stronger" in a for a in r.assumptions)


def test_with_reference_text_a_generally_stronger_model_holds_the_false_positive_rate() -> None:
    rng = np.random.default_rng(7)
    ps = []
    for _ in range(N_RUNS):
        main, ref = _stronger_model_case(rng, 1.0)
        ps.append(cross_likelihood_test(**main, **ref, seed=rng, **FAST).p_value)
    assert _fpr(ps) <= FPR_LIMIT


def test_with_reference_text_a_stronger_student_is_still_detected() -> None:
    rng = np.random.default_rng(8)
    ps = []
    for _ in range(40):
        main, ref = _stronger_model_case(rng, 0.3)
        ps.append(cross_likelihood_test(**main, **ref, seed=rng, **FAST).p_value)
    assert np.mean(np.array(ps) <= 0.01) >= 0.9


def test_cross_likelihood_accepts_an_array_of_controls_with_names() -> None:
    rng = np.random.default_rng(9)
    u, w = _world(rng)
    mat = np.vstack(list(_controls(u, w, rng).values()))
    r = cross_likelihood_test(_score(u, w, 0.3, rng), mat, control_names=["a", "b", "c"], seed=1, **FAST)
    assert [c["control"] for c in r.details["per_control"]] == ["a", "b", "c"]


def test_cross_likelihood_rejects_inconsistent_input() -> None:
    with pytest.raises(StatsInputError):
        cross_likelihood_test(np.zeros(10), {}, seed=0)  # no control
    with pytest.raises(StatsInputError):
        cross_likelihood_test(np.zeros(10), {"c": np.zeros(9)}, seed=0)  # misaligned samples
    with pytest.raises(StatsInputError):
        cross_likelihood_test(np.zeros(10), {"c": np.zeros(10)}, seed=0,
                              reference_suspect_scores=np.zeros(5))  # half a reference


# --------------------------------------------------------------------------- token match


def _match_rates(rng: np.random.Generator, openness: np.ndarray, boost: float) -> np.ndarray:
    """Per-prompt fraction of 20 compared tokens that match."""
    return rng.binomial(20, np.clip(openness + boost, 0, 1)) / 20


def test_token_match_rejects_when_the_suspect_matches_the_teacher_more_than_every_control() -> None:
    rng = np.random.default_rng(10)
    ps = []
    for _ in range(40):
        o = rng.uniform(0.2, 0.7, 50)
        controls = {f"c{i}": _match_rates(rng, o, 0.0) for i in range(3)}
        ps.append(token_match_rate_test(_match_rates(rng, o, 0.15), controls, seed=rng, **FAST).p_value)
    assert np.mean(np.array(ps) <= 0.01) >= 0.9


def test_token_match_holds_its_false_positive_rate_when_the_suspect_matches_everyone_alike() -> None:
    rng = np.random.default_rng(11)
    ps = []
    for _ in range(N_RUNS):
        o = rng.uniform(0.5, 0.9, 50)  # a suspect that agrees a lot with every model
        controls = {f"c{i}": _match_rates(rng, o, 0.0) for i in range(3)}
        ps.append(token_match_rate_test(_match_rates(rng, o, 0.0), controls, seed=rng, **FAST).p_value)
    assert _fpr(ps) <= FPR_LIMIT


def test_token_match_holds_its_false_positive_rate_when_the_suspect_resembles_a_control() -> None:
    rng = np.random.default_rng(12)
    ps = []
    for _ in range(N_RUNS):
        o = rng.uniform(0.2, 0.7, 50)
        controls = {"parent": _match_rates(rng, o, 0.3), "other": _match_rates(rng, o, 0.0)}
        ps.append(token_match_rate_test(_match_rates(rng, o, 0.0), controls, seed=rng, **FAST).p_value)
    assert _fpr(ps) <= FPR_LIMIT


def test_token_match_rejects_rates_outside_zero_one() -> None:
    with pytest.raises(StatsInputError):
        token_match_rate_test([3, 4, 5], {"c": [1, 2, 3]}, seed=0)


def _margin_runs(
    suspect_distance: float, seed: int, runs: int = N_RUNS, n: int = N_SAMPLES, **margin: object
) -> list[float]:
    """p-values over runs with the teacher's own scores (distance 0) and 3 controls at distance 1."""
    rng = np.random.default_rng(seed)
    ps = []
    for _ in range(runs):
        u, w = _world(rng, n)
        teacher = _score(u, w, 0.0, rng)
        suspect = _score(u, w, suspect_distance, rng)
        ps.append(cross_likelihood_test(suspect, _controls(u, w, rng), seed=rng, teacher_self_scores=teacher,
                                        **margin, **FAST).p_value)
    return ps


def test_without_a_margin_a_slightly_closer_independent_model_is_found_closer() -> None:
    # The lab's failure: an independent model 10% of the way to the teacher "wins" on many samples.
    assert _fpr(_margin_runs(0.9, seed=20, runs=60, n=300)) > 0.5


def test_the_gap_share_margin_holds_its_false_positive_rate_for_a_slightly_closer_independent_model() -> None:
    assert _fpr(_margin_runs(0.9, seed=21, n=300, min_gap_share=0.25)) <= FPR_LIMIT


def test_the_gap_share_margin_holds_its_false_positive_rate_at_the_boundary() -> None:
    # A suspect exactly 25% of the way to the teacher is the null's boundary: rejections at about alpha.
    assert _fpr(_margin_runs(0.75, seed=22, min_gap_share=0.25)) <= FPR_LIMIT


def test_the_gap_share_margin_still_rejects_for_a_student_that_recovers_most_of_the_gap() -> None:
    ps = _margin_runs(0.3, seed=23, runs=40, min_gap_share=0.25)
    assert np.mean(np.array(ps) <= 0.01) >= 0.9


def test_the_gap_share_is_reported_per_control() -> None:
    rng = np.random.default_rng(24)
    u, w = _world(rng, 200)
    teacher = _score(u, w, 0.0, rng)
    r = cross_likelihood_test(_score(u, w, 0.4, rng), {"c": _score(u, w, 1.0, rng)}, seed=1,
                              teacher_self_scores=teacher, min_gap_share=0.25, **FAST)
    assert r.details["gap_share"]["c"] == pytest.approx(0.6, abs=0.1)
    assert "25% of the teacher's own advantage" in r.null_hypothesis


def test_a_margin_needs_the_teachers_own_scores_one_per_sample() -> None:
    with pytest.raises(StatsInputError, match="teacher_self_scores"):
        cross_likelihood_test([1.0, 2.0, 3.0], {"c": [0.0, 1.0, 2.0]}, seed=0, min_gap_share=0.25)
    with pytest.raises(StatsInputError, match="one per sample"):
        cross_likelihood_test([1.0, 2.0, 3.0], {"c": [0.0, 1.0, 2.0]}, seed=0, teacher_self_scores=[3.0, 3.0],
                              min_gap_share=0.25)
    with pytest.raises(StatsInputError, match=r"\[0, 1\)"):
        cross_likelihood_test([1.0, 2.0, 3.0], {"c": [0.0, 1.0, 2.0]}, seed=0, teacher_self_scores=[3.0] * 3,
                              min_gap_share=1.0)
