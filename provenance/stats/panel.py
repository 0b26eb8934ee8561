"""Models as the unit of the null: is the suspect an outlier among independent models?

A provenance claim is about models, not prompts. Two independent models always
differ by something, so a prompt-level test ("is the suspect closer to the teacher
than this control, prompt by prompt?") finds *some* difference once the probes are
many: its standard error shrinks as 1/sqrt(n) while the gap between two independent
models does not. The question a court asks is whether the suspect is closer to the
teacher than independent models are, and the null distribution of that question is
the spread *between* independent models. So a closeness statistic is computed the
same way for the suspect and for each of K independent panel models, and the
suspect is tested as an outlier among them, in two forms:

* **rank** (exact): p = (1 + #{panel models at least as close}) / (K + 1), valid
  whenever the suspect and the panel models are exchangeable under the null (the
  suspect is one more independent model). Its floor is 1/(K+1): a panel of K models
  cannot give a smaller p-value, whatever the data.
* **parametric** (a random-effects prediction interval): panel values are
  x_i = mu + b_i + e_i with between-model spread b_i ~ N(0, tau^2) and sampling error
  e_i ~ N(0, se_i^2). tau^2 is estimated by moments, max(0, s^2 - mean se_i^2), and the
  suspect's value is compared with the panel mean with variance
  tau^2 + se_s^2 + (tau^2 + mean se_i^2) / K: the between-model variance plus the
  suspect's own sampling error plus the uncertainty of the panel mean. The ratio is
  referred to Student's t with K - 1 degrees of freedom (Higgins, Thompson &
  Spiegelhalter 2009, J R Stat Soc A 172:137, prediction intervals for a new study).
  With more prompts the sampling errors shrink but tau^2 does not, so the level does
  not drift with the number of probes.

A panel whose models all have the same value (typically a rate of 0: no independent
model ever names the teacher, or uses its phrases) shows no spread, and the moment
estimate tau = 0 would claim that independent models do not differ at all. A panel of
zeros cannot show that: a model with no event in n chances may still have a rate up to
about 3/n. So tau is then taken as the panel's detection limit, the standard error a
count of no events leaves (``zero_count_se``, carried as ``ModelStatistic.se_at_zero``),
the largest spread such a panel could hide; a panel with no spread and no detection
limit (every standard error 0) cannot be checked and gets the exact rank form.

The parametric form assumes the between-model spread is normal. The assumption is
checked on the panel itself: a Shapiro-Wilk test of the panel values and an outlier
check (each panel model against the others by the same prediction interval, two-sided,
Bonferroni over the K models). When a check fails at ``PANEL_CHECK_ALPHA``, or the
panel has fewer than ``MIN_PANEL_PARAMETRIC`` models, the exact rank p-value is the
one reported, with its floor, and a panel too small for it says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from provenance.stats._validate import StatsInputError, as_1d, check_level
from provenance.stats.defaults import DEFAULT_CI_LEVEL
from provenance.stats.result import TestResult

#: Fewest panel models for the parametric form: a variance estimate with 4 degrees of freedom, and
#: a normality check with any power at all (Shapiro-Wilk needs 3; with 4 it cannot reject anything).
MIN_PANEL_PARAMETRIC = 5
#: Level of the checks of the parametric form's assumption on the panel (normality, an outlier).
#: A failed check sends the test to the exact rank form, which a panel of ordinary size cannot take below
#: alpha: the two checks together fail about 2 % of normal panels at 0.01 (10 % at 0.05, measured on
#: simulated panels in tests/test_stats_panel.py), a power loss paid on every case, while at 6 to 15
#: models neither check has power against mild departures whatever its level.
PANEL_CHECK_ALPHA = 0.01

#: The two kinds of evidence a finding can rest on (the verdict and the report name them).
#: Scales a panel test can be made on: the statistic as it is, or a non-negative rate's cube root.
SCALES = ("raw", "cbrt")


def cube_root_scale(stat: ModelStatistic, quantity: str = "rate") -> ModelStatistic:
    """A non-negative rate on the cube-root scale, its error carried over as cbrt(v + se) - cbrt(v).

    That is the delta method's se / (3 v^(2/3)) wherever the rate is well above its error, and stays
    finite at a rate of zero (where the delta method divides by zero): cbrt(se). The detection limit
    (``se_at_zero``, an error at a rate of zero) becomes its cube root.
    """
    if stat.value < 0:
        raise StatsInputError(f"{quantity}: the cube-root scale needs a non-negative rate, got {stat.value}")
    root = stat.value ** (1 / 3)
    at_zero = None if stat.se_at_zero is None else stat.se_at_zero ** (1 / 3)
    return ModelStatistic(root, (stat.value + stat.se) ** (1 / 3) - root, stat.n, at_zero)


def zero_count_se(n: int) -> float:
    """The standard error of a rate of no events in ``n`` chances: Agresti-Coull's, about sqrt(2) / n.

    A plug-in error of an observed 0 is 0, as if the rate were known to be 0; the adjusted rate
    (k + 2) / (n + 4) keeps the error a count of no events leaves (a rate up to about 3/n fits it).
    """
    if n < 1:
        raise StatsInputError(f"a rate needs at least one chance, got n={n}")
    p = 2 / (n + 4)
    return math.sqrt(p * (1 - p) / (n + 4))


EXACT = "exact under a known randomness"
CALIBRATED = "calibrated against a panel of independent models"


@dataclass(frozen=True)
class ModelStatistic:
    """One model's closeness to the teacher, with its sampling error over the prompts it rests on."""

    value: float
    se: float
    n: int
    #: For a rate of events: the standard error it would have at zero, in its number of chances
    #: (``zero_count_se``). A panel of zeros takes it as the spread between models it could hide.
    se_at_zero: float | None = None

    @classmethod
    def mean_of(cls, per_item: Sequence[float] | np.ndarray, *, chances: int | None = None) -> ModelStatistic:
        """The mean of per-prompt values and its standard error (sample sd / sqrt(n)).

        ``chances``: for per-prompt rates of events, the number of chances in all (n-grams, say),
        which sets the detection limit ``se_at_zero``; for a per-prompt value in [0, 1] the number of
        prompts (a mean of such values is at most the share of prompts where it is not 0).
        """
        x = as_1d(per_item, "per-prompt values", min_size=1)
        se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0
        return cls(float(x.mean()), se, int(x.size), None if chances is None else zero_count_se(max(1, chances)))

    @classmethod
    def proportion(cls, k: int, n: int) -> ModelStatistic:
        """A rate k/n with a standard error that is not zero at 0 or n (Agresti-Coull's adjusted rate)."""
        if n < 1 or not 0 <= k <= n:
            raise StatsInputError(f"a proportion needs 0 <= k <= n and n >= 1, got k={k}, n={n}")
        p = (k + 2) / (n + 4)
        return cls(k / n, math.sqrt(p * (1 - p) / (n + 4)), n, zero_count_se(n))


def rank_p_value(suspect: float, panel: Sequence[float]) -> float:
    """(1 + number of panel values at least ``suspect``) / (K + 1): exact under exchangeability."""
    values = np.asarray(panel, dtype=float)
    return float((1 + np.sum(values >= suspect)) / (values.size + 1))


def prediction_t(value: float, se: float, panel_values: np.ndarray, panel_se: np.ndarray,
                 spread_floor: float = 0.0) -> tuple[float, float, float]:
    """(t statistic, prediction sd, tau) of ``value`` against a panel, by the random-effects prediction interval.

    ``spread_floor``: the least between-model sd taken (a panel without spread: its detection limit).
    """
    k = panel_values.size
    mean = float(panel_values.mean())
    s2 = float(panel_values.var(ddof=1)) if k > 1 else 0.0
    within = float(np.mean(panel_se ** 2))
    tau2 = max(spread_floor ** 2, s2 - within)
    pred_var = tau2 + se ** 2 + (tau2 + within) / k
    sd = math.sqrt(pred_var)
    t = (value - mean) / sd if sd > 0 else (math.inf if value > mean else (-math.inf if value < mean else 0.0))
    return float(t), sd, math.sqrt(tau2)


def no_spread_floor(panel: Sequence[ModelStatistic]) -> float:
    """The between-model sd a panel whose models all have the same value is taken to hide: its detection limit.

    The root mean square of the models' ``se_at_zero`` (else their standard errors): a rate of no events
    in n chances is not known to be 0, only below about 3/n, and independent models may differ that much.
    """
    errors = [s.se_at_zero if s.se_at_zero is not None else s.se for s in panel]
    return float(math.sqrt(np.mean(np.square(errors))))


def panel_checks(panel_values: np.ndarray, panel_se: np.ndarray, *, alpha: float = PANEL_CHECK_ALPHA,
                 spread_floor: float = 0.0) -> dict:
    """The parametric form's assumption checked on the panel: normality and no outlier among its models.

    ``spread_floor``: for a panel without spread, the detection limit taken as its between-model sd.
    """
    k = panel_values.size
    out: dict = {"alpha": alpha}
    if k < 3:
        out.update(normality_p=None, outlier_p=None, passed=False,
                   note="fewer than 3 panel models: the spread between models cannot be checked")
        return out
    if float(np.ptp(panel_values)) == 0.0:
        # Every panel model has the same value (typically a rate of 0: no independent model ever names the
        # teacher). Such a panel cannot show that independent models do not differ, only that they differ by
        # less than it can detect: the prediction takes that detection limit as the spread between models.
        if spread_floor > 0:
            out.update(normality_p=None, outlier_p=None, passed=True, spread_floor=spread_floor,
                       note="every panel model has the same value: no spread between models to check; the spread "
                            f"is taken as the panel's detection limit (sd {spread_floor:.3g})")
        else:
            out.update(normality_p=None, outlier_p=None, passed=False,
                       note="every panel model has the same value and no sampling error: nothing shows how far "
                            "independent models differ")
        return out
    out["normality_p"] = float(sps.shapiro(panel_values).pvalue)
    worst, worst_p = None, 1.0
    for i in range(k):
        rest = np.delete(np.arange(k), i)
        t, _, _ = prediction_t(float(panel_values[i]), float(panel_se[i]), panel_values[rest], panel_se[rest])
        p = float(2 * sps.t.sf(abs(t), df=k - 2)) if k > 2 else 1.0
        if p < worst_p:
            worst, worst_p = i, p
    out["outlier_p"] = min(1.0, worst_p * k)
    out["outlier_index"] = worst
    out["passed"] = out["normality_p"] >= alpha and out["outlier_p"] >= alpha
    return out


def panel_outlier_test(
    suspect: ModelStatistic,
    panel: Mapping[str, ModelStatistic],
    *,
    name: str,
    quantity: str,
    unit: str,
    null_words: str,
    alt_words: str,
    assumptions: Sequence[str] = (),
    min_parametric: int = MIN_PANEL_PARAMETRIC,
    check_alpha: float = PANEL_CHECK_ALPHA,
    level: float = DEFAULT_CI_LEVEL,
    scale: str = "raw",
) -> TestResult:
    """Test that the suspect is closer to the teacher (a larger ``value``) than independent models are.

    ``suspect`` and every ``panel`` model carry the same statistic, computed the same way
    (anything learnt, learnt without the model being scored). One-sided ("greater").
    The p-value is the parametric one when the panel has at least ``min_parametric``
    models and passes both checks, else the exact rank p-value; ``details`` has both,
    the checks, the panel's values and the smallest p-value the form could give
    (``floor``: 1/(K+1) for the rank form, 0 for the parametric one).

    ``scale="cbrt"`` tests a non-negative rate on the cube-root scale (``cube_root_scale``): a rate
    of rare events is bounded at zero and its spread between models is skewed to the right, so a
    normal model on the raw scale understates the upper tail, which is where the test looks. The
    cube root of a gamma-distributed spread is close to normal (Wilson-Hilferty); on simulated
    panels of gamma-spread rates (shape 0.5 to 3, K = 8 and 15) it holds the level where the raw
    scale gives up to 3 % and the square root up to 2 % at alpha = 1 % (tests/test_stats_panel.py).
    The rank p-value is the same on either scale; the effect and its interval are on the scale tested.
    """
    check_level(level)
    if not panel:
        raise StatsInputError("a panel test needs at least one panel model")
    if scale not in SCALES:
        raise StatsInputError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if scale == "cbrt":
        raw_suspect, raw_panel = suspect, panel
        suspect, panel = cube_root_scale(suspect, quantity), {m: cube_root_scale(v, quantity) for m, v in panel.items()}
    names = list(panel)
    values = np.array([panel[m].value for m in names], dtype=float)
    ses = np.array([panel[m].se for m in names], dtype=float)
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(ses)) and math.isfinite(suspect.value)
            and math.isfinite(suspect.se)):
        raise StatsInputError(f"{quantity}: panel and suspect values must be finite")
    k = len(names)
    rank_p = rank_p_value(suspect.value, values)
    floor = no_spread_floor(list(panel.values())) if float(np.ptp(values)) == 0.0 else 0.0
    checks = panel_checks(values, ses, alpha=check_alpha, spread_floor=floor)
    if checks.get("outlier_index") is not None:
        checks["outlier_model"] = names[checks.pop("outlier_index")]
    t, sd, tau = prediction_t(suspect.value, suspect.se, values, ses, spread_floor=floor)
    df = k - 1
    if k > 1 and sd > 0:
        parametric_p: float | None = float(sps.t.sf(t, df=df))
    elif k > 1:  # no spread and no sampling error anywhere: any excess is beyond every independent model
        parametric_p = 0.0 if suspect.value > values.mean() else 1.0
    else:
        parametric_p = None
    parametric = k >= min_parametric and bool(checks["passed"]) and parametric_p is not None
    def _checked() -> str:
        if checks.get("normality_p") is None:
            return str(checks.get("note", "not checked"))
        return f"Shapiro-Wilk p = {checks['normality_p']:.3g}, outlier check p = {checks['outlier_p']:.3g}"

    if parametric:
        form, p = "parametric", parametric_p
        why = f"a panel of {k} models that passes the checks of a normal between-model spread ({_checked()})"
    else:
        form, p = "rank", rank_p
        if k < min_parametric:
            why = f"fewer than {min_parametric} panel models: the between-model spread cannot be estimated and checked"
        elif parametric_p is None:
            why = "the panel models and the suspect have no spread at all"
        else:
            why = f"the panel fails a check of a normal between-model spread ({_checked()}, level {check_alpha})"
    mean = float(values.mean())
    effect = suspect.value - mean
    # How far past the panel's largest model the suspect lies, in prediction sds. "Extrapolated": a parametric
    # p-value below the rank floor for a suspect beyond every panel model, which rests on the normal spread
    # carried past the models the panel holds: sound only where it holds models of the suspect's kind
    # (docs/bench.md, the false positives).
    top = float(values.max())
    beyond = (suspect.value - top) / sd if sd > 0 and suspect.value > top else None
    half = float(sps.t.ppf(0.5 + level / 2, df=df)) * sd if k > 1 and sd > 0 else math.inf
    ci = (effect - half, effect + half) if math.isfinite(half) else None
    return TestResult(
        name=name,
        null_hypothesis=null_words,
        alternative_hypothesis=alt_words,
        alternative="greater",
        statistic=t if math.isfinite(t) else (1e308 if t > 0 else -1e308),
        statistic_name="prediction t (suspect minus panel mean, over the between-model and sampling spread)",
        p_value=min(1.0, max(0.0, p)),
        effect=effect,
        effect_name=(f"{quantity}, suspect minus the panel's mean ({unit})" if scale == "raw" else
                     f"cube root of the {quantity}, suspect minus the panel's mean (cube root of {unit})"),
        ci=ci,
        ci_level=level,
        n={"panel_models": k, "items": suspect.n},
        method=(f"models as the unit: the suspect's {quantity} against {k} independent panel models; "
                f"{form} p-value ({why}); exact rank p = {rank_p:.3g} (floor 1/(K+1) = {1 / (k + 1):.3g})"
                + ("; tested on the cube-root scale (a rate's spread between models is skewed)" if scale == "cbrt"
                   else "")),
        assumptions=(
            "the panel models are independent of the teacher (not derived from it or from its outputs)",
            "under the null the suspect is one more independent model, exchangeable with the panel's "
            "(the rank p-value needs only this)",
            "parametric form: the between-model spread is normal; checked on the panel (Shapiro-Wilk, outlier "
            "check), and the exact rank form is used when a check fails",
            *assumptions,
        ),
        details={
            "form": form,
            "evidence_kind": CALIBRATED,
            "rank_p": rank_p,
            "parametric_p": parametric_p,
            "floor": 0.0 if parametric else 1 / (k + 1),
            "rank_floor": 1 / (k + 1),
            "checks": checks,
            "scale": scale,
            "suspect_value": suspect.value,
            "suspect_se": suspect.se,
            "panel": {m: {"value": panel[m].value, "se": panel[m].se, "n": panel[m].n} for m in names},
            **({} if scale == "raw" else {
                "raw_suspect_value": raw_suspect.value,
                "raw_panel": {m: {"value": raw_panel[m].value, "se": raw_panel[m].se} for m in names},
                "raw_panel_mean": float(np.mean([raw_panel[m].value for m in names])),
            }),
            "panel_mean": mean,
            "between_model_sd": tau,
            "spread_floor": floor,
            "prediction_sd": sd,
            "df": df,
            "beyond_largest_sd": beyond,
            "extrapolated": bool(parametric and p < 1 / (k + 1) and beyond is not None),
            "ci_note": "interval for the suspect's excess over the panel mean: the prediction interval of a new "
                       "independent model, shifted by the suspect's value",
        },
    )


def models_needed(k: int, alpha: float, family_size: int) -> int:
    """Panel models to add before the exact rank form alone could reject at Holm's first step (alpha / m)."""
    target = math.ceil(family_size / alpha) - 1
    return max(0, target - k)
