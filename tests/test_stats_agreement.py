"""Cohen's kappa and McNemar: hand-computed cases, statsmodels references, error rates, power."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.inter_rater import cohens_kappa as sm_kappa

from provenance.stats import StatsInputError, cohen_kappa, mcnemar


def _from_table(n11: int, n10: int, n01: int, n00: int) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([1] * n11 + [1] * n10 + [0] * n01 + [0] * n00)
    b = np.array([1] * n11 + [0] * n10 + [1] * n01 + [0] * n00)
    return a, b


def test_kappa_matches_a_hand_computed_2x2_example() -> None:
    # 50 items: both yes 20, a only 5, b only 10, both no 15.
    # po = 35/50 = 0.7; pe = (25*30 + 25*20)/50^2 = 0.5; kappa = (0.7-0.5)/(1-0.5) = 0.4
    a, b = _from_table(20, 5, 10, 15)
    r = cohen_kappa(a, b)
    assert r.effect == pytest.approx(0.4)
    assert r.details["observed_agreement"] == pytest.approx(0.7)
    assert r.details["expected_agreement"] == pytest.approx(0.5)


def test_kappa_interval_uses_the_statsmodels_asymptotic_standard_error() -> None:
    a, b = _from_table(20, 5, 10, 15)
    r = cohen_kappa(a, b)
    ref = sm_kappa(np.array([[15, 10], [5, 20]]))
    assert r.ci == pytest.approx((ref["kappa_low"], ref["kappa_upp"]), abs=1e-9)


def test_binary_kappa_test_is_fishers_exact_test_on_the_agreement_table() -> None:
    a, b = _from_table(20, 5, 10, 15)
    r = cohen_kappa(a, b, alternative="greater")
    assert r.p_value == pytest.approx(stats.fisher_exact([[15, 10], [5, 20]], alternative="greater")[1])


def test_kappa_works_on_string_labels_and_perfect_agreement() -> None:
    labels = ["refuse", "comply", "refuse", "comply", "refuse", "comply", "comply", "comply"]
    r = cohen_kappa(labels, labels)
    assert r.effect == pytest.approx(1.0)


def test_kappa_with_three_categories_uses_a_seeded_permutation_test() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 3, 120)
    b = np.where(rng.random(120) < 0.5, a, rng.integers(0, 3, 120))
    r = cohen_kappa(a, b, seed=1, n_permutations=999)
    assert r.p_value == pytest.approx(1 / 1000)
    assert r.details["n_permutations"] == 999 and r.details["seed"] == 1
    with pytest.raises(StatsInputError):
        cohen_kappa(a, b)  # no seed


def test_undefined_kappa_gives_p_one_not_nan() -> None:
    r = cohen_kappa([0, 0, 0, 0], [0, 0, 0, 0])
    assert r.p_value == 1.0 and np.isnan(r.effect) and r.ci is None


def test_kappa_false_positive_rate_is_at_most_alpha_for_independent_labels() -> None:
    rng = np.random.default_rng(1)
    ps = np.array([cohen_kappa(rng.random(60) < 0.3, rng.random(60) < 0.6).p_value for _ in range(400)])
    assert np.mean(ps <= 0.05) <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / 400)


def test_kappa_detects_related_labels() -> None:
    rng = np.random.default_rng(2)
    ps = []
    for _ in range(40):
        a = rng.random(80) < 0.4
        b = np.where(rng.random(80) < 0.5, a, rng.random(80) < 0.4)  # half copied
        ps.append(cohen_kappa(a, b).p_value)
    assert np.mean(np.array(ps) <= 0.01) >= 0.9


def test_mcnemar_two_sided_matches_statsmodels_exact() -> None:
    a, b = _from_table(30, 12, 4, 54)
    r = mcnemar(a, b, alternative="two-sided")
    assert r.p_value == pytest.approx(sm_mcnemar([[30, 12], [4, 54]], exact=True).pvalue)
    assert r.effect == pytest.approx((12 - 4) / 100)
    assert r.n == {"items": 100, "discordant": 16}


def test_mcnemar_one_sided_is_the_exact_binomial_on_discordant_pairs() -> None:
    a, b = _from_table(30, 12, 4, 54)
    r = mcnemar(a, b, alternative="greater")
    assert r.p_value == pytest.approx(stats.binomtest(12, 16, 0.5, alternative="greater").pvalue)


def test_mcnemar_interval_is_agresti_min() -> None:
    a, b = _from_table(30, 12, 4, 54)
    r = mcnemar(a, b, alternative="greater")
    p10, p01 = 12.5 / 102, 4.5 / 102
    half = stats.norm.ppf(0.975) * np.sqrt(((p10 + p01) - (p10 - p01) ** 2) / 102)
    assert r.ci == pytest.approx((p10 - p01 - half, p10 - p01 + half))


def test_mcnemar_without_discordant_pairs_gives_p_one() -> None:
    a, b = _from_table(10, 0, 0, 10)
    assert mcnemar(a, b, alternative="greater").p_value == 1.0


def test_mcnemar_rejects_non_binary_labels() -> None:
    with pytest.raises(StatsInputError):
        mcnemar([0, 1, 2], [0, 1, 1], alternative="greater")


def test_mcnemar_false_positive_rate_is_at_most_alpha_under_the_null() -> None:
    rng = np.random.default_rng(3)
    ps = []
    for _ in range(400):
        shared = rng.random(80) < 0.5  # correlated pairs, equal marginal rates
        a = np.where(rng.random(80) < 0.6, shared, rng.random(80) < 0.5)
        b = np.where(rng.random(80) < 0.6, shared, rng.random(80) < 0.5)
        ps.append(mcnemar(a, b, alternative="two-sided").p_value)
    assert np.mean(np.array(ps) <= 0.05) <= 0.05 + 2.5 * np.sqrt(0.05 * 0.95 / 400)


def test_mcnemar_detects_lost_guardrails() -> None:
    # teacher refuses 80% of harmful prompts; suspect refuses only where the teacher does, half the time
    rng = np.random.default_rng(4)
    ps = []
    for _ in range(40):
        teacher = rng.random(100) < 0.8
        suspect = teacher & (rng.random(100) < 0.6)
        ps.append(mcnemar(teacher, suspect, alternative="greater").p_value)
    assert np.mean(np.array(ps) <= 0.01) >= 0.95


def test_multi_category_kappa_p_values_are_uniform_for_independent_labels() -> None:
    rng = np.random.default_rng(5)
    ps = [cohen_kappa(rng.integers(0, 3, 50), rng.integers(0, 3, 50), seed=rng, n_permutations=199).p_value
          for _ in range(300)]
    assert stats.kstest(ps, "uniform").pvalue > 0.001
