"""The two watermark tests, as pure functions returning ``TestResult``.

* ``green_hits_test``: k green among n scored (de-duplicated) tokens against
  gamma, exact binomial (Kirchenbauer et al. 2023 use the one-proportion z-test;
  the z-score is reported too, but the p-value is exact because the claims made
  rest on tails of 1e-6 and beyond, where the normal approximation is off by
  orders of magnitude for small n; Fernandez et al. 2023, "Three Bricks").
* ``green_mass_test`` (reading mode): the suspect's probability mass on green
  tokens at n positions with distinct contexts. If the suspect's weights do not
  depend on the key, then at each position the mass is sum_v p(v) G(v) with
  G(v) independent Bernoulli(gamma), so it has mean gamma and variance
  gamma (1 - gamma) sum_v p(v)^2, independently across distinct contexts. The
  test sums centred masses weighted by w = 1 - sum_v p(v)^2: a model that learnt
  a logit bias delta on green tokens moves the mass at a position by about
  delta gamma (1 - gamma) (1 - sum_v p(v)^2), so near-certain positions carry no
  signal and only add noise. The weights depend on the model's distribution
  alone, never on the key, so under the null the weighted sum is still a sum of
  independent, bounded, mean-zero terms, and Bennett's inequality turns it into a
  p-value valid at every sample size, not only asymptotically (the
  normal-approximation and Bernstein p-values are reported alongside).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as _st

from provenance.stats import StatsInputError, TestResult, binomial_test
from provenance.stats.defaults import DEFAULT_CI_LEVEL


def green_hits_test(
    green: ArrayLike,
    gamma: float,
    *,
    dropped: Mapping[str, int] | None = None,
    total: int | None = None,
    level: float = DEFAULT_CI_LEVEL,
) -> TestResult:
    """Exact one-sided binomial test that scored tokens are green more often than gamma.

    ``green`` holds one flag per scored token (already de-duplicated; see
    ``selection``); ``dropped``/``total`` describe the selection and are recorded.
    """
    flags = np.asarray(green, dtype=bool).ravel()
    n = int(flags.size)
    if n < 1:
        raise StatsInputError("no scored tokens: every token was dropped or the sample is empty",
                              hint="collect more or longer answers")
    k = int(flags.sum())
    base = binomial_test(k, n, gamma, alternative="greater", level=level)
    z = (k - gamma * n) / math.sqrt(n * gamma * (1 - gamma))
    return dataclasses.replace(
        base,
        name="watermark green-hit test",
        null_hypothesis=f"the scored tokens are green with probability {gamma:g} (the text does not depend on the key)",
        alternative_hypothesis=f"the scored tokens are green more often than {gamma:g} (the text carries the watermark)",
        effect_name="green fraction of scored tokens",
        n={"scored_tokens": n},
        method=base.method + "; scored (context, token) pairs de-duplicated across the sample, "
        "tokens whose context occurs in the prompt excluded (Sander et al. 2024)",
        assumptions=(
            "distinct (context, token) pairs are green independently with probability gamma when the text "
            "does not depend on the key (keyed hash modelled as a random oracle)",
            "the scheme, its parameters and the key are the ones the teacher used",
        ),
        details={
            **base.details,
            "z_score": z,
            "tokens_total": int(total) if total is not None else n,
            "tokens_dropped": dict(dropped or {}),
        },
    )


def green_mass_test(
    mass: ArrayLike,
    collision: ArrayLike,
    gamma: float,
    *,
    dropped: Mapping[str, int] | None = None,
    total: int | None = None,
    level: float = DEFAULT_CI_LEVEL,
) -> TestResult:
    """Reading mode: does the model put more next-token mass on green tokens than gamma?

    ``mass[i]`` is the model's probability of the green list at position i,
    ``collision[i]`` its sum of squared next-token probabilities there; positions
    must have distinct contexts (``selection.select_contexts``).
    """
    m = np.asarray(mass, dtype=float).ravel()
    c = np.asarray(collision, dtype=float).ravel()
    if m.size != c.size:
        raise StatsInputError(f"mass and collision differ in length ({m.size} vs {c.size})")
    if m.size < 2:
        raise StatsInputError("reading mode needs at least 2 positions with distinct contexts")
    if not (np.all(np.isfinite(m)) and np.all(np.isfinite(c))):
        raise StatsInputError("green mass or collision contains NaN or infinite values")
    if np.any((c <= 0) | (c > 1 + 1e-9)):
        raise StatsInputError("collision probabilities must lie in (0, 1]")
    n = int(m.size)
    w = np.clip(1.0 - c, 0.0, 1.0)
    excess = float(np.sum(w * (m - gamma)))
    variance = gamma * (1 - gamma) * float(np.sum(w * w * c))
    # each term w p(G) - w gamma lies within w sqrt(c) (1 - gamma) of 0 (p(v) <= sqrt(sum p^2))
    bound = (1 - gamma) * float(np.max(w * np.sqrt(c)))
    z = excess / math.sqrt(variance) if variance > 0 else 0.0
    p_bennett = bennett_p_value(excess, variance, bound)
    p_bernstein = 1.0
    if excess > 0 and variance > 0:
        p_bernstein = min(1.0, math.exp(-(excess**2) / (2 * (variance + bound * excess / 3))))
    mean = float(m.mean())
    sd = float(m.std(ddof=1))
    half = float(_st.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return TestResult(
        name="watermark reading-mode green-mass test",
        null_hypothesis=f"the model's next-token distribution puts mass {gamma:g} on green tokens in expectation "
        "(its weights do not depend on the key)",
        alternative_hypothesis=f"the model puts more than {gamma:g} of its next-token mass on green tokens "
        "(it learnt the watermark: radioactivity)",
        alternative="greater",
        statistic=z,
        statistic_name="z = sum(w (mass - gamma)) / sqrt(gamma (1 - gamma) sum(w^2 collision)), w = 1 - collision",
        p_value=p_bennett,
        effect=mean,
        effect_name="mean green mass per position",
        ci=(mean - half, mean + half),
        ci_level=level,
        n={"positions": n},
        method="Bennett-inequality p-value for a weighted sum of independent bounded terms (finite-sample "
        "valid, conservative); one position per distinct context, weights 1 - collision; t interval for the "
        "mean mass",
        assumptions=(
            "green membership of distinct (context, token) pairs is independent Bernoulli(gamma) under the key "
            "(keyed hash modelled as a random oracle)",
            "the text fed to the model does not depend on the key (e.g. the model's own answers, under the null)",
        ),
        details={
            "weighted_excess_mass": excess,
            "null_variance": variance,
            "term_bound": bound,
            "p_normal": float(_st.norm.sf(z)),
            "p_bernstein": p_bernstein,
            "mean_weight": float(w.mean()),
            "gamma": gamma,
            "tokens_total": int(total) if total is not None else n,
            "tokens_dropped": dict(dropped or {}),
            "ci_note": "t interval for the mean green mass; the p-value does not use it",
        },
    )


def bennett_p_value(excess: float, variance: float, bound: float) -> float:
    """P(S >= excess) bound for a sum S of independent mean-zero terms, each at most ``bound``.

    Bennett's inequality: exp(-(v / b^2) h(b t / v)) with h(u) = (1 + u) log(1 + u) - u,
    where v is the sum of the terms' variances. It is never looser than Bernstein's
    (which replaces h(u) by u^2 / (2 + 2u/3)) and, like it, holds at every sample size.
    """
    if excess <= 0 or variance <= 0:
        return 1.0
    if bound <= 0:
        return 0.0  # every term is 0 almost surely, yet the sum is positive
    u = bound * excess / variance
    exponent = (variance / bound**2) * ((1 + u) * math.log1p(u) - u)
    return float(min(1.0, math.exp(-exponent)))
