"""Token-match rate: does the suspect's output match the teacher's more than any control's?

Black-box counterpart of cross-likelihood, for APIs that only generate. For each
prompt, an agreement rate between two models' greedy outputs (e.g. the fraction of
the first k tokens that are identical, or the fraction of identical tokens) is
measured for suspect-teacher and for suspect-each-control, on the same prompts.
The structure and the multi-control rule are explained in ``contrast.py``.
"""

from __future__ import annotations

from collections.abc import Sequence

from numpy.typing import ArrayLike

from provenance.stats._validate import Seed, StatsInputError, as_1d
from provenance.stats.contrast import Competitors, competitors_matrix, contrast_against_controls
from provenance.stats.defaults import DEFAULT_CI_LEVEL, DEFAULT_N_PERMUTATIONS, DEFAULT_N_RESAMPLES
from provenance.stats.result import TestResult


def token_match_rate_test(
    suspect_vs_teacher_matches: ArrayLike,
    suspect_vs_control_matches: Competitors,
    *,
    seed: Seed,
    control_names: Sequence[str] | None = None,
    n_permutations: int = DEFAULT_N_PERMUTATIONS,
    n_resamples: int = DEFAULT_N_RESAMPLES,
    level: float = DEFAULT_CI_LEVEL,
) -> TestResult:
    """Test that the suspect agrees with the teacher more than with every control, per prompt.

    ``suspect_vs_teacher_matches[i]``: agreement rate in [0, 1] between suspect and
    teacher outputs on prompt i. ``suspect_vs_control_matches``: the same for each
    control (mapping name -> rates, or (n_controls, n_prompts) array).

    Per control: paired differences over prompts, sign-flip permutation test of
    mean > 0; combined by the intersection-union rule (p = max p over controls).
    Effect: mean difference in agreement rate against the binding control, with a
    bootstrap interval over prompts.
    """
    prim = as_1d(suspect_vs_teacher_matches, "suspect-teacher match rates", min_size=2)
    names, comp = competitors_matrix(suspect_vs_control_matches, prim.size,
                                 "suspect-control match rates", control_names)
    if prim.min() < 0 or prim.max() > 1 or comp.min() < 0 or comp.max() > 1:
        raise StatsInputError("match rates must lie in [0, 1]",
                              hint="pass per-prompt fractions, not counts")
    return contrast_against_controls(
        prim,
        dict(zip(names, comp)),
        seed=seed,
        n_permutations=n_permutations,
        n_resamples=n_resamples,
        level=level,
        control_names=None,
        reference_primary=None,
        reference_competitors=None,
        name="token-match rate test",
        quantity="token-match rate",
        unit="fraction of tokens",
        units="prompts",
        null_words=("for at least one control, the suspect's outputs match the teacher's no more "
                    "often than they match that control's"),
        alt_words="the suspect's outputs match the teacher's more often than they match every control's",
        difference_label="per-prompt match rate, suspect-teacher minus suspect-{control}",
        effect_label="mean match rate, suspect-teacher minus suspect-{control}",
        assumptions=(
            "prompts are independent and were fixed before any output was seen",
            "controls are independent of the teacher (not derived from it or from its outputs)",
            "all outputs use the same decoding settings (greedy) and the same tokenisation for matching",
            "the teacher is not intrinsically 'more typical' than the controls; the lab's "
            "calibration runs measure this false-positive risk on independent pairs",
        ),
    )
