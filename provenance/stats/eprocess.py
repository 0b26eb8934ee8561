"""Anytime-valid sign-flip testing: a betting martingale over paired differences, and when to stop it.

The membership test's null is exact and simple: each pair's difference ``d_i`` is
symmetric about zero given its size and everything before it (the logged answer and
its twin are exchangeable for a model that trained on neither). A fixed-sample
sign-flip p-value is exact only at a sample size chosen in advance: looking after
every pair and stopping when it dips below alpha rejects a true null far more often
than alpha. A *test martingale* does not have that problem (Ville 1939; Shafer &
Vovk 2019; Ramdas, Grünwald, Vovk & Shafer 2023, "Game-theoretic statistics and
safe anytime-valid inference"):

* a bettor starts with wealth 1 and, before each pair, stakes a fraction
  ``lambda_i`` in [0, 1/2] (chosen from the past pairs only) on the logged side:
  ``E_i = E_{i-1} * (1 + lambda_i * s_i)``;
* the payoff ``s_i = tanh(d_i / r_i)`` is an odd function of ``d_i``, with ``r_i`` the
  root mean square of ``|d_1| .. |d_i|``: a function of the sizes, which the null
  leaves alone. Under the null the sign of ``d_i`` is a fair coin given its size and
  the past, so ``E[s_i | past, |d_i|] = 0`` and ``E`` is a nonnegative martingale
  with ``E_0 = 1``: exact, with no model of the scores;
* by Ville's inequality ``P(sup_t E_t >= 1/alpha) <= alpha`` under the null, so the
  test "reject when E crosses 1/alpha" keeps its level at *any* stopping time,
  chosen by any rule that looks at the data, and ``p = 1 / sup_{t <= tau} E_t`` is an
  anytime-valid p-value (Johari, Koomen, Pekelis & Walsh 2022).

The bet is the online Newton step of Cutkosky & Orabona (2018), as used for testing
by betting by Shekhar & Ramdas (2023, "Nonparametric two-sample testing by
betting"): log-optimal up to a logarithmic regret against the best constant bet in
hindsight. aGRAPA (Waudby-Smith & Ramdas 2023, "Estimating means of bounded random
variables by betting") is kept as an alternative; ``docs/membership.md`` compares them
on simulated pairs (ONS was chosen there, before any lab world was run).

Why hand-written, not ``confseq``: that package (2023) ships as C++ source to build
against an old pybind11, and its betting functions test the mean of one [0, 1]
sequence; the sign-flip structure (a payoff scaled by the pair's own size), the
guard and the futility rule are not in it, and the martingale itself is a product
of a few numbers per pair.

Stopping for futility never costs level: stopping without rejecting can only lower
the chance of a rejection. ``sequential_sign_flip`` stops for futility when, even at
an optimistic mean payoff (the upper end of a 99.9 % normal interval of the payoffs so
far, once half the pairs are seen) and the best constant bet on it, the pairs left could
not bring ``E`` to the threshold in expectation; what that costs in power is measured in the bench.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from provenance.stats._validate import StatsInputError, as_1d

#: Largest fraction of wealth staked on one pair (payoffs lie in (-1, 1), so wealth stays positive).
MAX_BET = 0.5
#: One-sided normal quantile of the optimistic mean payoff in the futility rule (99.9 %).
FUTILITY_Z = 3.09
#: Pairs seen before the futility rule may stop a test (a few pairs say little about the mean payoff).
FUTILITY_MIN_PAIRS = 20
#: ... and the share of the horizon seen first: a student whose first pairs happen to be weak is not given up on
#: early. The rule was first z = 2.326 from 20 pairs on; on the membership lab's seeds 4-6 it gave up on a 30 % and
#: a 10 % student that the whole log finds (p = 1e-4), so it became 3.09 from half the horizon on (those seeds are
#: development seeds since; docs/membership.md). On simulated twins a non-member then costs half the log.
FUTILITY_MIN_SHARE = 0.5

Strategy = Literal["ons", "agrapa"]
StopReason = Literal["evidence", "guard", "futility", "exhausted", "running"]


def sign_flip_payoffs(d: ArrayLike) -> np.ndarray:
    """Payoffs in (-1, 1) for the bets, in order: ``tanh(d_i / rms(|d_1|..|d_i|))``, 0 while every d is 0.

    The scale uses only the pairs' sizes (the current one's included), never a sign,
    so under the sign-flip null each payoff has mean 0 given the past. tanh bounds the
    payoff (the bet cannot lose more than it staked) and tempers a single outlying
    pair; on normal differences it keeps about 93 % of the linear payoff's efficiency.
    """
    x = np.asarray(d, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise StatsInputError("paired differences must be a 1-d array of finite numbers")
    scale = np.sqrt(np.cumsum(x * x) / np.arange(1, x.size + 1))
    out = np.zeros_like(x)
    nz = scale > 0
    out[nz] = np.tanh(x[nz] / scale[nz])
    return out


def betting_wealth(s: ArrayLike, *, side: int = 1, strategy: Strategy = "ons",
                   max_bet: float = MAX_BET) -> tuple[np.ndarray, np.ndarray]:
    """Wealth after each payoff and the bet placed on it, betting on ``side`` (+1: payoffs > 0).

    Each bet depends on the payoffs before it only (predictable), so with payoffs of
    conditional mean 0 the wealth is a nonnegative martingale from 1.
    """
    x = as_1d(s, "payoffs", min_size=0) * side
    if np.any(np.abs(x) > 1):
        raise StatsInputError("payoffs must lie in [-1, 1]")
    if not 0 < max_bet < 1:
        raise StatsInputError(f"max_bet must be in (0, 1), got {max_bet}")
    bets = np.zeros(x.size)
    log_wealth = np.zeros(x.size)
    lam, acc, total, sum_x, sum_x2 = 0.0, 1.0, 0.0, 0.0, 0.25
    for i, xi in enumerate(x):
        if strategy == "ons":
            bet = lam
        elif strategy == "agrapa":
            # mean over second moment of the payoffs so far, with one prior payoff of mean 0, second moment 1/4
            bet = min(max_bet, max(0.0, sum_x / sum_x2))
        else:
            raise StatsInputError(f"unknown betting strategy {strategy!r}")
        bets[i] = bet
        total += math.log1p(bet * xi)
        log_wealth[i] = total
        z = xi / (1 + bet * xi)  # minus the gradient of log(1 + bet * x) in the bet
        acc += z * z
        lam = min(max_bet, max(0.0, bet + 2 / (2 - math.log(3)) * z / acc))
        sum_x += xi
        sum_x2 += xi * xi
    return np.exp(log_wealth), bets


def two_sided_wealth(s: ArrayLike, *, strategy: Strategy = "ons") -> np.ndarray:
    """The average of a bettor on each side: a test martingale against a lean either way."""
    up, _ = betting_wealth(s, side=1, strategy=strategy)
    down, _ = betting_wealth(s, side=-1, strategy=strategy)
    return (up + down) / 2


def lean_wealth(s: ArrayLike, *, strategy: Strategy = "ons") -> np.ndarray:
    """The larger wealth of a bettor on each side, after each payoff: the guard's evidence of a lean.

    Each bettor alone crosses ``1/a`` with chance at most ``a`` under the null, so the
    larger crosses with chance at most ``2a``. Why not the average (a single test
    martingale at level ``a``): the guard must win the race against the suspect's own
    e-process when twins were sampled otherwise than the log (every model then leans
    the same way); the average needs twice the wealth on the side that leans, and on
    simulated mismatched twins let the suspect cross first in 12 % of runs, the larger
    bettor in 2 % (``tests/test_eprocess.py``).
    """
    up, _ = betting_wealth(s, side=1, strategy=strategy)
    down, _ = betting_wealth(s, side=-1, strategy=strategy)
    return np.maximum(up, down)


def futile(log_e: float, t: int, mean: float, second_moment: float, variance: float, remaining: int,
           threshold: float, *, z: float | None = None, max_bet: float = MAX_BET) -> bool:
    """Whether even an optimistic mean payoff could not bring the wealth to ``threshold`` in ``remaining`` pairs.

    ``mean``, ``second_moment``, ``variance``: of the ``t`` payoffs so far. Optimistic: the
    upper end of a one-sided normal interval at ``z`` of the mean payoff; the expected
    log-growth per pair of the best constant bet ``b`` on it is ``b * m - b^2 * v / 2``
    (``v`` the second moment). Costs no level (it only ever stops without rejecting).
    """
    if remaining <= 0:
        return True
    need = math.log(threshold) - log_e
    if need <= 0:
        return False
    if need > remaining * math.log1p(max_bet):
        return True  # not even winning every bet at the largest stake would get there
    if t < FUTILITY_MIN_PAIRS or t < FUTILITY_MIN_SHARE * (t + remaining):
        return False
    m = mean + (FUTILITY_Z if z is None else z) * math.sqrt(max(variance, 1e-12) / t)
    if m <= 0 or second_moment <= 0:
        return True
    b = min(max_bet, m / second_moment)
    return remaining * (b * m - b * b * second_moment / 2) < need


@dataclass(frozen=True)
class SequentialOutcome:
    """Where a sequential sign-flip test stopped, why, and the evidence path up to there."""

    #: Pairs used: the stopping time (the rule looked after every pair).
    stopped_at: int
    reason: StopReason
    #: The e-value at the stopping time, and the largest one on the way (its inverse is the anytime-valid p).
    e_value: float
    e_max: float
    threshold: float
    path: tuple[float, ...]
    bets: tuple[float, ...]
    #: The guard's evidence of a lean in the controls' pooled differences (``lean_wealth``; empty without controls).
    guard_path: tuple[float, ...] = ()
    guard_threshold: float | None = None
    pairs_available: int = 0
    horizon: int = 0
    strategy: str = "ons"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def p_value(self) -> float:
        """Anytime-valid p-value: ``1 / max(1, sup E)`` up to the stopping time."""
        return float(min(1.0, 1.0 / self.e_max)) if self.e_max > 0 else 1.0

    def to_dict(self) -> dict[str, object]:
        return {"stopped_at": self.stopped_at, "reason": self.reason, "e_value": self.e_value, "e_max": self.e_max,
                "threshold": self.threshold, "p_anytime": self.p_value, "path": list(self.path),
                "bets": list(self.bets), "guard_path": list(self.guard_path), "guard_threshold": self.guard_threshold,
                "pairs_available": self.pairs_available, "horizon": self.horizon, "strategy": self.strategy}


def sequential_sign_flip(
    d: ArrayLike,
    guard: ArrayLike | None = None,
    *,
    alpha: float,
    guard_alpha: float = 0.05,
    horizon: int | None = None,
    min_pairs: int = 10,
    futility: bool = True,
    strategy: Strategy = "ons",
) -> SequentialOutcome:
    """Run the one-sided sign-flip test martingale on ``d`` in order and stop by the rule; a pure function.

    ``d``: the suspect's differences in the order fixed before any model was asked.
    ``guard``: the controls' pooled differences on the same pairs; a bettor on either
    side of them crossing ``1/guard_alpha`` (``lean_wealth``) stops the test as
    *guarded* (the pairs are not exchangeable: twins sampled otherwise than the log). ``horizon``: how many pairs
    the design could ever test (the rest of the log or the case's limit), for the
    futility rule; default ``len(d)``.

    The rule, looked at after every pair t: the guard crossed -> ``guard``; t >=
    ``min_pairs`` and E_t >= 1/alpha -> ``evidence``; the futility rule -> ``futility``;
    the last pair of the horizon -> ``exhausted``; the data end before the horizon and
    nothing fired -> ``running`` (more pairs are needed to decide). The outcome depends
    on ``d[:stopped_at]`` alone: pairs stored after the stop never change it.
    """
    x = as_1d(d, "paired differences", min_size=0)
    if not 0 < alpha < 1 or not 0 < guard_alpha < 1:
        raise StatsInputError("alpha and guard_alpha must be in (0, 1)")
    g = None if guard is None else as_1d(guard, "the controls' pooled differences", min_size=0)
    if g is not None and g.size != x.size:
        raise StatsInputError(f"the guard needs one difference per pair ({x.size}), got {g.size}")
    horizon = x.size if horizon is None else int(horizon)
    if horizon < x.size:
        raise StatsInputError(f"horizon ({horizon}) is smaller than the pairs given ({x.size})")
    threshold = 1.0 / alpha
    payoffs = sign_flip_payoffs(x)
    wealth, bets = betting_wealth(payoffs, strategy=strategy)
    guard_wealth = lean_wealth(sign_flip_payoffs(g), strategy=strategy) if g is not None else None
    guard_threshold = 1.0 / guard_alpha if g is not None else None
    counts = np.arange(1, x.size + 1)
    means = np.cumsum(payoffs) / counts
    seconds = np.cumsum(payoffs * payoffs) / counts
    variances = (seconds - means * means) * counts / np.maximum(counts - 1, 1)
    reason: StopReason = "running"
    stop = x.size
    for t in range(1, x.size + 1):
        if guard_wealth is not None and guard_wealth[t - 1] >= 1.0 / guard_alpha:
            reason = "guard"
        elif t >= min_pairs and wealth[t - 1] >= threshold:
            reason = "evidence"
        elif futility and t < horizon and futile(math.log(wealth[t - 1]), t, means[t - 1], seconds[t - 1],
                                         variances[t - 1], horizon - t, threshold):
            reason = "futility"
        elif t == horizon:
            reason = "exhausted"
        else:
            continue
        stop = t
        break
    if x.size == 0 and horizon == 0:
        reason = "exhausted"
    path = wealth[:stop]
    return SequentialOutcome(
        stopped_at=stop, reason=reason, e_value=float(path[-1]) if stop else 1.0,
        e_max=float(max(1.0, path.max())) if stop else 1.0, threshold=threshold,
        path=tuple(float(v) for v in path), bets=tuple(float(b) for b in bets[:stop]),
        guard_path=tuple(float(v) for v in guard_wealth[:stop]) if guard_wealth is not None else (),
        guard_threshold=guard_threshold, pairs_available=int(x.size), horizon=horizon, strategy=strategy,
    )
