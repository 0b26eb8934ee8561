"""Group-sequential probing under the model-level null (issue 31, item 3): level under many looks, power under a shift."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.stats.panel import rank_p_value
from provenance.stats.sequential_panel import group_sequential, look_schedule, order_probes

K, N, ALPHA = 39, 200, 0.25  # a rank p over 39 models reaches 1/40 = 0.025 <= alpha / L = 0.05


def _looks(values: np.ndarray, schedule: tuple[int, ...]) -> list[list[float]]:
    """Rank p of model 0 (the suspect) among models 1.. at each look: the statistic is the mean over the first n probes."""
    sums = np.cumsum(values, axis=-1)
    out = []
    for run in range(values.shape[0]):
        means = [sums[run, :, n - 1] / n for n in schedule]
        out.append([rank_p_value(m[0], m[1:]) for m in means])
    return out


def _simulate(runs: int, shift: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    between = rng.normal(size=(runs, K + 1, 1)) * 0.3  # model-level spread: independent models differ
    between[:, 0] += shift * 0.3
    return between + rng.standard_t(df=3, size=(runs, K + 1, N))  # heavy-tailed per-probe noise


def test_the_level_holds_over_many_looks_where_testing_each_look_at_alpha_does_not() -> None:
    schedule = look_schedule(N, 5)
    assert len(schedule) == 5 and schedule[-1] == N
    p = _looks(_simulate(1500, 0.0, seed=1), schedule)
    plan = np.mean([group_sequential(ps, schedule, alpha=ALPHA, panel_size=K).reject for ps in p])
    naive = np.mean([min(ps) <= ALPHA for ps in p])
    assert plan <= ALPHA + 3 * np.sqrt(ALPHA * (1 - ALPHA) / 1500)
    assert naive > ALPHA + 0.03  # peeking at the full alpha breaks the level the plan keeps


def test_a_shifted_suspect_is_found_and_often_before_the_last_look() -> None:
    schedule = look_schedule(N, 5)
    outcomes = [group_sequential(ps, schedule, alpha=ALPHA, panel_size=K) for ps in _looks(_simulate(300, 4.0, seed=2), schedule)]
    found = [o for o in outcomes if o.reject]
    assert len(found) / len(outcomes) > 0.8
    assert np.median([o.probes_used for o in found]) < N


def test_futility_and_budget_stop_without_rejecting_and_an_undecidable_panel_says_so() -> None:
    schedule = (10, 20, 40, 80)
    assert group_sequential([0.9, 0.001], schedule, alpha=0.05, futility_p=0.5).reason == "futility"
    stopped = group_sequential([0.3, 0.2, 0.1, 0.001], schedule, alpha=0.05, budget=30)
    assert (stopped.reject, stopped.reason, stopped.probes_used) == (False, "budget", 20)
    small = group_sequential([0.1], schedule, alpha=0.05, panel_size=9)
    assert not small.decidable and "cannot reject" in small.notes[0]
    with pytest.raises(ValueError):
        group_sequential([0.1], (20, 10), alpha=0.05)


def test_probes_that_separate_the_teacher_from_the_panel_come_first_and_the_order_is_seeded() -> None:
    rng = np.random.default_rng(3)
    panel = rng.normal(size=(8, 50))
    teacher = rng.normal(size=50)
    teacher[[7, 21, 33]] += 10.0
    order = order_probes(teacher, panel, seed=5)
    assert set(order[:3]) == {7, 21, 33} and sorted(order) == list(range(50))
    assert np.array_equal(order, order_probes(teacher, panel, seed=5))
    flat = order_probes(np.zeros(50), np.zeros((8, 50)), seed=1)  # nothing separates: a seeded shuffle
    assert not np.array_equal(flat, np.arange(50)) and np.array_equal(flat, order_probes(np.zeros(50), np.zeros((8, 50)), seed=1))
