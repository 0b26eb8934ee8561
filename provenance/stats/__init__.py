"""Statistical tests for provenance findings: pure functions returning ``TestResult``.

Every function here takes arrays or counts plus an explicit alternative (where a
direction is a choice) and a seed (where it is random), never prints, never reads
files, and returns a frozen, JSON-serialisable result that states its hypotheses,
method and assumptions. Methodological defaults live in ``defaults.py``.

Modules, one job each:
  result       TestResult / Estimate / CorrectedResult
  exact        binomial_test, fisher_exact
  proportions  rate_difference, wilson_interval, newcombe_interval
  permutation  permutation_test_two_sample, paired_permutation_test
  agreement    cohen_kappa, mcnemar, kappa_contrast_test (agreement beyond chance, vs controls)
  mmd          mmd_test
  panel        panel_outlier_test: models as the unit of the null (the family tests of the suites use it)
  contrast     the "suspect-teacher vs suspect-every-control" engine (intersection-union; prompt-level,
               the previous release's family tests, kept as library functions)
  likelihood   cross_likelihood_test, likelihood_preference_test (capability-invariant)
  matching     token_match_rate_test
  markers      marker_usage_test, attribution_test (teacher-specific phrasing / writing, black box)
  membership   membership_test (logged answers vs fresh twins: was the suspect trained on a campaign's exchanges?)
  bootstrap    bootstrap_ci
  correction   holm, benjamini_hochberg, correct_family
  combine      combine_pvalues
"""

from provenance.stats._validate import StatsInputError
from provenance.stats.agreement import cohen_kappa, kappa_contrast_test, mcnemar
from provenance.stats.bootstrap import bootstrap_ci
from provenance.stats.combine import combine_pvalues
from provenance.stats.correction import (
    CorrectedPValues,
    benjamini_hochberg,
    correct_family,
    holm,
)
from provenance.stats.exact import binomial_test, fisher_exact
from provenance.stats.likelihood import cross_likelihood_test, likelihood_preference_test
from provenance.stats.markers import attribution_test, marker_usage_test
from provenance.stats.matching import token_match_rate_test
from provenance.stats.mmd import mmd_test
from provenance.stats.permutation import paired_permutation_test, permutation_test_two_sample
from provenance.stats.proportions import newcombe_interval, rate_difference, wilson_interval
from provenance.stats.result import CorrectedResult, Estimate, TestResult

__all__ = [
    "CorrectedPValues",
    "CorrectedResult",
    "Estimate",
    "StatsInputError",
    "TestResult",
    "benjamini_hochberg",
    "binomial_test",
    "bootstrap_ci",
    "cohen_kappa",
    "combine_pvalues",
    "correct_family",
    "cross_likelihood_test",
    "fisher_exact",
    "holm",
    "kappa_contrast_test",
    "likelihood_preference_test",
    "attribution_test",
    "marker_usage_test",
    "mcnemar",
    "mmd_test",
    "newcombe_interval",
    "paired_permutation_test",
    "permutation_test_two_sample",
    "rate_difference",
    "token_match_rate_test",
    "wilson_interval",
]
