"""TestResult and friends: strict-JSON output, validation, immutability."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from provenance.stats import (
    TestResult,
    binomial_test,
    cohen_kappa,
    combine_pvalues,
    correct_family,
    fisher_exact,
    mmd_test,
    paired_permutation_test,
    rate_difference,
)


def _result(**overrides: object) -> TestResult:
    fields: dict[str, object] = dict(
        name="t", null_hypothesis="h0", alternative_hypothesis="h1", alternative="greater",
        statistic=np.float64(1.5), statistic_name="s", p_value=np.float32(0.25), effect=np.inf,
        effect_name="e", ci=(np.float64(-np.inf), 2), ci_level=0.95, n={"a": np.int64(3)},
        method="m", assumptions=["x"],
        details={"counts": np.array([1, 2]), "nan": np.nan, "nested": {"v": np.float32(0.5)}},
    )
    fields.update(overrides)
    return TestResult(**fields)  # type: ignore[arg-type]


def test_to_dict_is_strict_json_even_with_numpy_types_and_infinities() -> None:
    d = _result().to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["effect"] == "Infinity"
    assert back["ci"] == ["-Infinity", 2.0]
    assert back["details"]["nan"] == "NaN"
    assert back["details"]["counts"] == [1, 2]
    assert back["n"] == {"a": 3}


def test_from_dict_restores_non_finite_values() -> None:
    r = _result()
    back = TestResult.from_dict(json.loads(json.dumps(r.to_dict(), allow_nan=False)))
    assert back.effect == math.inf
    assert back.ci == (-math.inf, 2.0)
    assert math.isnan(back.details["nan"])
    assert back.p_value == r.p_value and back.n == r.n


def test_result_is_frozen() -> None:
    r = _result()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.p_value = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_impossible_p_value_is_rejected(p: float) -> None:
    with pytest.raises(ValueError):
        _result(p_value=p)


def test_unknown_alternative_is_rejected() -> None:
    with pytest.raises(ValueError):
        _result(alternative="bigger")


def test_every_public_result_serialises_to_strict_json() -> None:
    rng = np.random.default_rng(0)
    results = [
        binomial_test(7, 20, 0.25, alternative="greater"),
        fisher_exact(10, 50, 0, 200, alternative="greater"),  # infinite odds ratio
        paired_permutation_test(rng.normal(size=20), alternative="greater", seed=1, n_resamples=99),
        cohen_kappa([1, 1, 1], [1, 1, 1]),  # undefined kappa
        mmd_test(rng.normal(size=(10, 2)), rng.normal(size=(10, 2)), seed=1, n_permutations=99),
        combine_pvalues([0.1, 0.2]),
    ]
    for r in results:
        json.dumps(r.to_dict(), allow_nan=False)
    for c in correct_family(results, method="holm", alpha=0.05):
        json.dumps(c.to_dict(), allow_nan=False)
    json.dumps(rate_difference(3, 10, 0, 10).to_dict(), allow_nan=False)
