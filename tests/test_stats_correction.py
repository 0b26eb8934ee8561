"""Multiple-testing corrections and p-value combination: statsmodels/scipy references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from provenance.stats import (
    StatsInputError,
    benjamini_hochberg,
    binomial_test,
    combine_pvalues,
    correct_family,
    holm,
)

P = [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]


def test_holm_matches_statsmodels_and_the_hand_computed_step_down() -> None:
    r = holm(P, alpha=0.05)
    rej, adj, _, _ = multipletests(P, alpha=0.05, method="holm")
    assert r.p_adjusted == pytest.approx(tuple(adj))
    assert r.reject == tuple(bool(x) for x in rej)
    # by hand: min(1, max_{j<=i} (m - j + 1) p_(j)): 10*0.001, 9*0.008
    assert r.p_adjusted[:2] == pytest.approx((0.01, 0.072))


def test_benjamini_hochberg_matches_statsmodels() -> None:
    r = benjamini_hochberg(P, alpha=0.05)
    rej, adj, _, _ = multipletests(P, alpha=0.05, method="fdr_bh")
    assert r.p_adjusted == pytest.approx(tuple(adj))
    assert r.reject == tuple(bool(x) for x in rej)


def test_corrections_keep_the_input_order() -> None:
    shuffled = [P[3], P[0], P[9], P[1]]
    r = holm(shuffled, alpha=0.05)
    assert r.p_values == tuple(shuffled)
    assert r.p_adjusted[1] == min(r.p_adjusted)


def test_correct_family_attaches_adjusted_p_values_to_each_result() -> None:
    results = [binomial_test(k, 50, 0.2, alternative="greater") for k in (20, 12, 9)]
    corrected = correct_family(results, method="holm", alpha=0.01)
    ref = multipletests([r.p_value for r in results], alpha=0.01, method="holm")
    assert [c.p_adjusted for c in corrected] == pytest.approx(list(ref[1]))
    assert [c.reject for c in corrected] == list(ref[0])
    assert all(c.family_size == 3 and c.result is r for c, r in zip(corrected, results))


def test_corrections_reject_invalid_p_values() -> None:
    with pytest.raises(StatsInputError):
        holm([0.1, float("nan")])
    with pytest.raises(StatsInputError):
        benjamini_hochberg([0.1, 1.2])


def test_empty_family_is_allowed() -> None:
    assert holm([]).p_adjusted == () and correct_family([]) == []


@pytest.mark.parametrize("method", ["fisher", "stouffer", "pearson", "tippett", "mudholkar_george"])
def test_combine_pvalues_matches_scipy(method: str) -> None:
    ps = [0.01, 0.2, 0.3, 0.04]
    r = combine_pvalues(ps, method=method)  # type: ignore[arg-type]
    ref = stats.combine_pvalues(ps, method=method)
    assert r.p_value == pytest.approx(ref.pvalue)
    assert r.statistic == pytest.approx(ref.statistic)
    assert r.n == {"tests": 4}


def test_fisher_combination_has_the_closed_form_chi_square_tail() -> None:
    ps = [0.05, 0.05]
    stat = -2 * np.log(0.05) * 2
    assert combine_pvalues(ps).p_value == pytest.approx(stats.chi2.sf(stat, 4))


def test_weighted_stouffer_matches_scipy_and_weights_need_stouffer() -> None:
    ps, w = [0.01, 0.2, 0.3], [3.0, 1.0, 1.0]
    assert combine_pvalues(ps, method="stouffer", weights=w).p_value == pytest.approx(
        stats.combine_pvalues(ps, method="stouffer", weights=w).pvalue
    )
    with pytest.raises(StatsInputError):
        combine_pvalues(ps, method="fisher", weights=w)


def test_combined_p_values_are_uniform_for_independent_null_p_values() -> None:
    rng = np.random.default_rng(0)
    combined = [combine_pvalues(rng.uniform(size=5), method="fisher").p_value for _ in range(400)]
    assert stats.kstest(combined, "uniform").pvalue > 0.001
