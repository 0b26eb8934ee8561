"""The distillation contrast: is the suspect closer to the teacher than to EVERY control?

Shared engine of ``cross_likelihood_test`` and ``token_match_rate_test``.

Why this structure. "The suspect resembles the teacher" is not evidence of
derivation: language models resemble each other, and a suspect that resembles
every model would pass any one-sided similarity test. The claim that is evidence
is comparative: the suspect is closer to the teacher than to each independent
control, measured on the same units (the same teacher samples, the same prompts),
so per-unit difficulty cancels in the paired difference.

Multiple controls: an intersection-union test (Berger 1982, Technometrics 24:295).
The alternative "closer to the teacher than to every control" is an intersection
of per-control alternatives, so its null is the union of the per-control nulls, and
rejecting it requires every per-control test to reject. The combined p-value is the
LARGEST per-control p-value. This test has level alpha for any dependence between
the per-control tests, with no multiplicity correction, and it is conservative:
one control the suspect resembles as much as the teacher is enough to stop a
finding. Testing only the "strongest" control chosen from the same data would
need an argument about the selection; the max-p rule needs none, and the control
that decides the outcome (the "binding" control) is reported by name.

A suspect that is simply a stronger model than every control (it assigns higher
likelihood to all fluent text, the teacher's included) would still pass the
paired test. Pass reference samples (text from a source that is neither the
teacher nor derived from it) to guard against that: the per-control test then
compares the suspect's advantage on teacher samples with its advantage on
reference samples (a difference in differences, two-sample permutation test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from provenance.stats._validate import (
    Seed,
    StatsInputError,
    as_1d,
    check_level,
    check_n_permutations,
    make_rng,
)
from provenance.stats.permutation import paired_permutation_test, permutation_test_two_sample
from provenance.stats.result import TestResult

Competitors = ArrayLike | Mapping[str, ArrayLike]


def competitors_matrix(
    competitors: Competitors, n: int, what: str, names: Sequence[str] | None = None
) -> tuple[list[str], np.ndarray]:
    """(names, K x n matrix) from a mapping name -> scores, a K x n array or one 1-D array."""
    if isinstance(competitors, Mapping):
        names_ = [str(k) for k in competitors]
        rows = [as_1d(v, f"{what}[{k!r}]") for k, v in competitors.items()]
        mat = np.vstack(rows) if rows else np.empty((0, n))
    else:
        mat = np.asarray(competitors, dtype=float)
        mat = mat[None, :] if mat.ndim == 1 else mat
        if mat.ndim != 2:
            raise StatsInputError(f"{what} must be (n_controls, n_units), got shape {mat.shape}")
        names_ = list(names) if names is not None else [f"control{i + 1}" for i in range(mat.shape[0])]
    if mat.shape[0] == 0:
        raise StatsInputError(f"{what}: at least one control is needed",
                              hint="a comparison with no control cannot separate derivation from resemblance")
    if len(names_) != mat.shape[0] or len(set(names_)) != len(names_):
        raise StatsInputError(f"{what}: need one unique name per control, got {names_}")
    if mat.shape[1] != n:
        raise StatsInputError(f"{what} must have {n} values per control (one per unit), got {mat.shape[1]}")
    if not np.all(np.isfinite(mat)):
        raise StatsInputError(f"{what} contains NaN or infinite values")
    return names_, mat


def contrast_against_controls(
    primary: ArrayLike | Mapping[str, ArrayLike],
    competitors: Competitors,
    *,
    seed: Seed,
    n_permutations: int,
    n_resamples: int,
    level: float,
    control_names: Sequence[str] | None,
    reference_primary: ArrayLike | None,
    reference_competitors: Competitors | None,
    name: str,
    quantity: str,
    unit: str,
    units: str,
    null_words: str,
    alt_words: str,
    difference_label: str,
    effect_label: str,
    assumptions: tuple[str, ...],
    margin: float = 0.0,
) -> TestResult:
    """Per-control tests of "primary > competitor", combined by the intersection-union rule.

    ``margin`` > 0 tests "primary > competitor + margin" instead (the paired differences
    are shifted by it before the sign-flip test; the reported effect and interval are
    the unshifted mean difference). With hundreds of prompts a paired test finds *any*
    difference between two models, and for two independent models its direction is a
    coin toss per control; a margin asks for a difference of the size derivation makes.

    ``primary[i]`` is the measurement linking suspect and teacher on unit i;
    ``competitors[k][i]`` the same measurement with control k in the teacher's place.
    ``primary`` may also be a mapping control name -> measurements, when what links the
    suspect to the teacher is measured afresh for each control (e.g. against reference
    text or markers chosen without that control); it must name the same controls.
    ``difference_label`` and ``effect_label`` are wording with a ``{control}`` slot.
    """
    per_primary: dict[str, np.ndarray] | None = None
    if isinstance(primary, Mapping):
        per_primary = {str(k): as_1d(v, f"{quantity} (suspect vs teacher, against {k})", min_size=2)
                       for k, v in primary.items()}
        prim = next(iter(per_primary.values()), np.empty(0))
    else:
        prim = as_1d(primary, f"{quantity} (suspect vs teacher)", min_size=2)
    names, comp = competitors_matrix(competitors, prim.size, f"{quantity} (controls)", control_names)
    if per_primary is not None:
        if list(per_primary) != names or any(v.size != prim.size for v in per_primary.values()):
            raise StatsInputError(f"{quantity}: the suspect's measurements must name the controls {names}, "
                                  "in order, with one value per unit each")
        if reference_primary is not None or reference_competitors is not None:
            raise StatsInputError("per-control primary measurements cannot be combined with reference_* arguments")
    m = check_n_permutations(n_permutations)
    level = check_level(level)
    if not np.isfinite(margin) or margin < 0:
        raise StatsInputError(f"margin must be a finite number >= 0, got {margin}")
    if margin and (reference_primary is not None or reference_competitors is not None):
        raise StatsInputError("a margin applies to the paired design only, not with reference_* arguments")
    rng, seed_used = make_rng(seed)
    use_reference = reference_primary is not None or reference_competitors is not None
    if use_reference:
        if reference_primary is None or reference_competitors is None:
            raise StatsInputError("pass both reference_* arguments or neither")
        ref = as_1d(reference_primary, f"reference {quantity} (suspect)", min_size=2)
        ref_names, ref_comp = competitors_matrix(reference_competitors, ref.size,
                                                 f"reference {quantity} (controls)", control_names)
        if ref_names != names:
            raise StatsInputError(f"reference controls {ref_names} differ from controls {names}")

    per_control: list[TestResult] = []
    for k, cname in enumerate(names):
        d = (per_primary[cname] if per_primary is not None else prim) - comp[k]
        if use_reference:
            res = permutation_test_two_sample(
                d, ref - ref_comp[k], alternative="greater", seed=rng, statistic="welch_t",
                n_permutations=m, n_resamples=n_resamples, level=level,
                label_x=f"advantage over {cname} on teacher samples",
                label_y=f"advantage over {cname} on reference samples",
            )
        else:
            res = paired_permutation_test(
                d - margin, alternative="greater", seed=rng, n_permutations=m,
                n_resamples=n_resamples, level=level,
                label=difference_label.format(control=cname) + (f", minus the margin {margin:g}" if margin else ""),
            )
            if margin:
                res = replace(res, effect=res.effect + margin,
                              ci=None if res.ci is None else (res.ci[0] + margin, res.ci[1] + margin))
        per_control.append(res)

    # Binding control: the largest p decides; ties broken by the smallest effect.
    binding = max(range(len(names)), key=lambda k: (per_control[k].p_value, -per_control[k].effect))
    bres = per_control[binding]
    design = (
        "difference in differences vs reference samples (two-sample permutation test per control)"
        if use_reference else "paired per-unit differences (sign-flip permutation test per control)"
    )
    details: dict[str, Any] = {
        "decision_rule": "intersection-union test: p = max over controls of the per-control p-values",
        "margin": margin,
        "design": design,
        "binding_control": names[binding],
        "per_control": [
            {"control": cname, "mean_difference": r.effect, "p_value": r.p_value,
             "ci": list(r.ci) if r.ci is not None else None, "method": r.method,
             "n_permutations": r.details["n_permutations"]}
            for cname, r in zip(names, per_control)
        ],
        "mean_primary": (float(prim.mean()) if per_primary is None
                         else {c: float(v.mean()) for c, v in per_primary.items()}),
        "mean_per_control": {c: float(comp[k].mean()) for k, c in enumerate(names)},
        "seed": seed_used,
        "n_permutations": m,
        "n_resamples": int(n_resamples),
    }
    n = {units: prim.size, "controls": len(names)}
    if use_reference:
        n["reference_" + units] = ref.size
        details["mean_reference_primary"] = float(ref.mean())
    return TestResult(
        name=name,
        null_hypothesis=null_words + (f" plus the margin {margin:g} {unit}" if margin else ""),
        alternative_hypothesis=alt_words + (f" by more than the margin {margin:g} {unit}" if margin else ""),
        alternative="greater",
        statistic=bres.statistic,
        statistic_name=f"{bres.statistic_name}; binding control: {names[binding]}",
        p_value=max(r.p_value for r in per_control),
        effect=bres.effect,
        effect_name=f"{effect_label.format(control=names[binding])} ({unit}; binding control)",
        ci=bres.ci,
        ci_level=level,
        n=n,
        method=(f"{design}; {len(names)} control(s) combined by the intersection-union rule "
                f"(max p); per-control: {bres.method}; interval: "
                + (f"bootstrap over {units} ({n_resamples} resamples)" if n_resamples else "none")),
        assumptions=assumptions + bres.assumptions,
        details=details,
    )
