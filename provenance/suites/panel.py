"""One family test as a model-level comparison: the suspect's statistic among the panel's.

Every family test of the suites computes one closeness-to-the-teacher statistic per
model, the same way for the suspect and for each panel model (``SuiteContext.panel``),
and hands them here. A model whose statistic cannot exist (too few refusals to
compare wording, right on nothing) is left out of the panel with the reason; the
suspect in that state makes the test uninformative.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from provenance.stats.panel import ModelStatistic, panel_outlier_test
from provenance.suites.base import SuiteContext, SuiteTest, Uninformative


def panel_finding(
    ctx: SuiteContext,
    suite: str,
    test_id: str,
    stats: Mapping[str, ModelStatistic],
    *,
    quantity: str,
    unit: str,
    rows: tuple[int, ...],
    what: str,
    left_out: Mapping[str, str] | None = None,
    assumptions: tuple[str, ...] = (),
    fmt: str = ".3f",
    scale: str = "raw",
) -> SuiteTest | Uninformative:
    """The panel test of ``stats[ctx.suspect]`` against the panel models' values, with a plain summary.

    ``what`` completes "the suspect's ... ": e.g. "rate of teacher-identity claims".
    """
    left_out = dict(left_out or {})
    panel = {m: v for m, v in stats.items() if m != ctx.suspect and m in ctx.panel and m not in left_out}
    if ctx.suspect not in stats:
        return Uninformative(suite, test_id, left_out.get(ctx.suspect, f"the suspect's {what} cannot be measured"),
                             {"panel_models": len(panel)})
    if not panel:
        return Uninformative(
            suite, test_id,
            f"no panel model has a {what} to compare with the suspect's"
            + (": " + "; ".join(f"{m}: {r}" for m, r in left_out.items()) if left_out else ""),
            {"panel_models": 0},
        )
    result = panel_outlier_test(
        stats[ctx.suspect], panel, name=f"{test_id} (models as the unit)", quantity=what, unit=unit,
        null_words=(f"the suspect is one more model independent of the teacher: its {what} is drawn from the same "
                    "distribution as the panel models'"),
        alt_words=f"the suspect's {what} is larger than independent models' (it is closer to the teacher)",
        assumptions=assumptions, scale=scale,
    )
    if left_out:
        result = replace(result, details={**result.details, "left_out": left_out})
    d = result.details
    values = sorted(v.value for v in panel.values())
    summary = (
        f"The suspect's {what} was {stats[ctx.suspect].value:{fmt}} ({unit}; over {stats[ctx.suspect].n} items); "
        f"the {len(panel)} independent panel models' ranged from {values[0]:{fmt}} to {values[-1]:{fmt}} "
        + (f"(mean {d['panel_mean']:{fmt}}, between-model sd {d['between_model_sd']:{fmt}}). " if scale == "raw" else
           f"(mean {d['raw_panel_mean']:{fmt}}; tested on the cube-root scale, where a rate's spread between "
           f"models is closer to normal: between-model sd {d['between_model_sd']:{fmt}}). ")
        + ("Every panel model has the same value, which shows only that independent models differ by less than "
           "it can detect: that detection limit is taken as the between-model sd. " if d["spread_floor"] > 0 else "")
        + (f"Parametric p = {d['parametric_p']:.3g} (prediction interval, t with {d['df']} df); exact rank p = "
           f"{d['rank_p']:.3g}." if d["form"] == "parametric"
           else f"Exact rank p = {d['rank_p']:.3g}; the smallest a panel of {len(panel)} can give is {d['rank_floor']:.3g}.")
        + (f" The suspect lies beyond every panel model ({d['beyond_largest_sd']:.1f} prediction sds past the "
           "largest), so a p-value below the rank floor carries the panel's normal spread past the models it holds: "
           "sound where the panel holds models of the suspect's kind, not otherwise." if d["extrapolated"] else "")
        + (" Left out: " + "; ".join(f"'{m}' ({r})" for m, r in left_out.items()) + "." if left_out else "")
    )
    return SuiteTest(suite, test_id, result, True, rows, summary)
