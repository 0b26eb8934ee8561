"""Sequential probing under the model-level null: a few pre-set looks, alpha split evenly (Bonferroni).

A family test compares the suspect's statistic with each panel model's statistic
(:mod:`provenance.stats.panel`). Asking the suspect fewer probes saves queries, but
testing after every batch at the full alpha and stopping at the first rejection
inflates the error rate. The simplest design that stays valid under *any* dependence
between looks is a group-sequential plan fixed before any model is asked:

* the probes are put in one order, seeded and computed from the panel (and the teacher)
  only, never from the suspect (:func:`order_probes`);
* a small number ``L`` of looks is fixed in advance (:func:`look_schedule`), each on the
  first ``n_j`` probes in that order;
* at look ``j`` the ordinary fixed-sample panel test runs on those probes and rejects when
  its p-value is at most ``alpha / L``.

Under the null, P(reject at some look) <= sum_j P(p_j <= alpha / L) <= L * alpha / L =
alpha (Boole's inequality), whatever the correlation between looks, provided each look's
p-value is valid on its own (the rank form is exact under exchangeability). Stopping for
futility or at a budget only removes chances to reject, so it costs no validity. The
price is power: each look is tested at alpha / L, and a rank p-value cannot go below
1 / (K + 1), so a panel of K models decides at all only when 1 / (K + 1) <= alpha / L
(:func:`group_sequential` says so instead of pretending). Pocock or O'Brien-Fleming
boundaries would spend alpha less wastefully, but need the looks' joint (normal)
distribution, which a rank test over a handful of models does not give.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

StopReason = Literal["decided", "futility", "budget", "exhausted"]


def look_schedule(n_probes: int, looks: int, *, first: int = 10) -> tuple[int, ...]:
    """``looks`` probe counts, geometric from ``first`` to ``n_probes`` (fixed before any model is asked)."""
    if n_probes < 1 or looks < 1:
        raise ValueError("need at least one probe and one look")
    first = min(max(1, first), n_probes)
    if looks == 1 or first == n_probes:
        return (n_probes,)
    counts = np.geomspace(first, n_probes, looks)
    out = sorted({int(round(c)) for c in counts} | {n_probes})
    return tuple(out)


def order_probes(teacher: np.ndarray, panel: np.ndarray, *, seed: int) -> np.ndarray:
    """Probe order by how well each probe separates the teacher from the panel, measured without the suspect.

    ``teacher`` has one per-probe closeness value (the teacher's own answers, or a
    reference student's); ``panel`` is (K, n_probes) for the panel models. The score is
    (teacher - panel mean) / panel sd per probe; ties (and a zero spread) are broken by a
    seeded shuffle, so the order is reproducible and fixed before the suspect is asked.
    """
    teacher = np.asarray(teacher, dtype=float)
    panel = np.asarray(panel, dtype=float)
    if panel.ndim != 2 or panel.shape[1] != teacher.size:
        raise ValueError("panel must be (models, probes) with as many probes as the teacher")
    sd = panel.std(axis=0, ddof=1) if panel.shape[0] > 1 else np.ones(teacher.size)
    score = (teacher - panel.mean(axis=0)) / np.where(sd > 0, sd, np.inf)
    score = np.nan_to_num(score, nan=0.0)
    tiebreak = np.random.default_rng(seed).permutation(teacher.size)
    return np.lexsort((tiebreak, -score))


@dataclass(frozen=True)
class GroupSequentialOutcome:
    """Where a group-sequential panel test stopped and why."""

    reject: bool
    reason: StopReason
    #: The look at which it stopped (1-based) and the probes used there.
    looks_used: int
    probes_used: int
    alpha: float
    per_look_alpha: float
    p_values: tuple[float, ...]
    schedule: tuple[int, ...]
    #: The smallest p-value a rank test over K panel models can give; above ``per_look_alpha`` it cannot decide.
    decidable: bool = True
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def p_adjusted(self) -> float:
        """Bonferroni-adjusted p over the looks taken: min(1, L * min p_j); valid at the stop."""
        return float(min(1.0, len(self.schedule) * min(self.p_values))) if self.p_values else 1.0


def group_sequential(p_values: Sequence[float], schedule: Sequence[int], *, alpha: float,
                     panel_size: int | None = None, futility_p: float | None = None,
                     budget: int | None = None) -> GroupSequentialOutcome:
    """Apply the pre-set plan to the looks' p-values in order; stop at the first decision.

    ``p_values[j]`` is the fixed-sample panel test on the first ``schedule[j]`` probes
    (only the looks actually taken need be given). ``futility_p``: stop without rejecting
    when a look's p is above it (no validity cost). ``budget``: a look needing more probes
    than this is not taken.
    """
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    schedule = tuple(int(n) for n in schedule)
    if not schedule or any(b <= a for a, b in zip(schedule, schedule[1:])):
        raise ValueError("the schedule must be increasing probe counts")
    per_look = alpha / len(schedule)
    decidable = panel_size is None or 1.0 / (panel_size + 1) <= per_look + 1e-12
    notes = () if decidable else (f"a rank p over {panel_size} panel models is at least {1 / (panel_size + 1):.3g}, "
                                  f"above alpha / L = {per_look:.3g}: this plan cannot reject",)
    taken: list[float] = []
    for j, n in enumerate(schedule):
        if budget is not None and n > budget:
            return GroupSequentialOutcome(False, "budget", j, schedule[j - 1] if j else 0, alpha, per_look,
                                          tuple(taken), schedule, decidable, notes)
        if j >= len(p_values):
            break
        p = float(p_values[j])
        if not 0 <= p <= 1 or math.isnan(p):
            raise ValueError(f"p-value at look {j + 1} is not in [0, 1]")
        taken.append(p)
        if p <= per_look:
            return GroupSequentialOutcome(True, "decided", j + 1, n, alpha, per_look, tuple(taken), schedule,
                                          decidable, notes)
        if futility_p is not None and p > futility_p and j + 1 < len(schedule):
            return GroupSequentialOutcome(False, "futility", j + 1, n, alpha, per_look, tuple(taken), schedule,
                                          decidable, notes)
    reason: StopReason = "exhausted" if len(taken) == len(schedule) else "budget"
    return GroupSequentialOutcome(False, reason, len(taken), schedule[len(taken) - 1] if taken else 0, alpha,
                                  per_look, tuple(taken), schedule, decidable, notes)
