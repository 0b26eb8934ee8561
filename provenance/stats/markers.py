"""Teacher-marker usage: does the suspect use the teacher's idiosyncratic phrasing more than every control?

Per control k the markers are chosen without k and without the suspect (see
``features.markers``), on a selection half of the prompts; on the other half each
prompt gives the suspect's and the control's marker rates, and their paired
difference is tested (sign-flip permutation). Because the control took no part in
choosing the markers, under H0 it is as "fresh" to them as an independent suspect.
Controls are combined by the intersection-union rule (p = max p), as in ``contrast.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from numpy.typing import ArrayLike

from provenance.stats._validate import Seed, StatsInputError
from provenance.stats.contrast import contrast_against_controls
from provenance.stats.defaults import DEFAULT_CI_LEVEL, DEFAULT_N_PERMUTATIONS, DEFAULT_N_RESAMPLES
from provenance.stats.result import TestResult


def _held_apart_contrast(suspect: Mapping[str, ArrayLike], control: Mapping[str, ArrayLike], *, name: str,
                         **rest: Any) -> TestResult:
    """Per-control paired contrast of the suspect's and the control's values on held-apart prompts."""
    names = list(control)
    if not names or list(suspect) != names:
        raise StatsInputError(f"{name} needs the same non-empty list of controls for the suspect and the controls")
    return contrast_against_controls(suspect, control, control_names=None, reference_primary=None,
                                     reference_competitors=None, name=name, **rest)


def marker_usage_test(
    suspect_rates: Mapping[str, ArrayLike],
    control_rates: Mapping[str, ArrayLike],
    *,
    seed: Seed,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
    margin: float = 0.0,
) -> TestResult:
    """``suspect_rates[k][i]`` and ``control_rates[k][i]``: marker rates on test prompt i with control k's markers."""
    return _held_apart_contrast(
        suspect_rates, control_rates, seed=seed, n_permutations=n_permutations, n_resamples=n_resamples, level=level,
        margin=margin,
        name="teacher-marker usage test",
        quantity="share of n-grams that are the teacher's markers",
        unit="share of n-grams",
        units="test_prompts",
        null_words="for at least one control, the suspect uses the teacher's marker n-grams no more than that control does",
        alt_words="the suspect uses the teacher's marker n-grams more than every control does",
        difference_label="marker-rate difference, suspect minus {control}",
        effect_label="mean marker-rate difference, suspect minus {control}",
        assumptions=(
            "markers are chosen on a selection half of the prompts fixed by a seeded hash before any answer was "
            "read, by log-odds ratio with an informative Dirichlet prior, teacher vs background answers (models "
            "outside the comparison), and counted on the other half",
            "the background models and the controls are independent of the teacher",
            "the background writes with a fluency comparable to the teacher's (else common fluent phrasing "
            "becomes a 'marker' and a fluent independent suspect uses it more than a weak control)",
        ),
    )


def attribution_test(
    suspect_scores: Mapping[str, ArrayLike],
    control_scores: Mapping[str, ArrayLike],
    *,
    seed: Seed,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
    margin: float = 0.0,
) -> TestResult:
    """``suspect_scores[k][i]``, ``control_scores[k][i]``: the attributor's log-odds "the teacher wrote this".

    The attributor for control k (``features.attribution``) was trained on the teacher's
    and background models' answers to the selection half of the prompts, without k and
    without the suspect; i runs over the other half. Same engine as the marker test.
    """
    return _held_apart_contrast(
        suspect_scores, control_scores, seed=seed, n_permutations=n_permutations, n_resamples=n_resamples, level=level,
        margin=margin,
        name="teacher attribution test",
        quantity="attributor log-odds that the teacher wrote the answer",
        unit="log-odds",
        units="test_prompts",
        null_words="for at least one control, a classifier of the teacher's writing attributes the suspect's answers "
                   "to the teacher no more than that control's",
        alt_words="the classifier attributes the suspect's answers to the teacher more than every control's",
        difference_label="attribution log-odds difference, suspect minus {control}",
        effect_label="mean attribution log-odds difference, suspect minus {control}",
        assumptions=(
            "the classifier (character and word n-gram TF-IDF, logistic regression) is trained on the teacher's "
            "and background models' answers to a selection half of the prompts fixed by a seeded hash, and scores "
            "answers to the other half",
            "neither the suspect nor the control took part in training it, so both are equally unseen under H0",
            "the background models are independent of the teacher and write with comparable fluency",
            "an independent suspect that happens to share some of the teacher's habits (say, its punctuation) more "
            "than a control does reads as more teacher-like than that control: several controls of varied style "
            "guard against it, since the suspect must beat every one",
        ),
    )
