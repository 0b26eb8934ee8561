"""The sign-flip test martingale: a supermartingale under the null, level kept under optional stopping, power under a shift.

Simulated *exchangeable twins*: each prompt has a logged answer and a fresh twin drawn
from the same distribution; a model's score of an answer is a prompt effect plus the
answer's own noise, and a student of the log adds a bonus to the logged answer only.
The null is known to hold (no bonus) or to fail (a bonus) by construction.
"""

from __future__ import annotations

import numpy as np
import pytest

from provenance.stats import StatsInputError
from provenance.stats.eprocess import betting_wealth, sequential_sign_flip, sign_flip_payoffs, two_sided_wealth

ALPHA = 0.05
RUNS = 1000
LIMIT = ALPHA + 2.5 * np.sqrt(ALPHA * (1 - ALPHA) / RUNS)


def twins(rng: np.random.Generator, n: int, bonus: float = 0.0, noise: str = "normal") -> np.ndarray:
    """The model's preference for each logged answer over its twin: score(logged) - score(twin)."""
    prompt = rng.normal(0, 1, n)  # cancels: both answers answer the same prompt
    draw = (lambda: rng.standard_t(2, n)) if noise == "t2" else (lambda: rng.normal(0, 1, n))
    logged, twin = prompt + draw(), prompt + draw()
    if noise == "ties":  # formulaic answers: half the pairs score the same
        twin = np.where(rng.random(n) < 0.5, logged, twin)
    return logged + bonus - twin


@pytest.mark.parametrize("noise", ["normal", "t2", "ties"])
def test_the_wealth_is_a_martingale_and_never_crosses_one_over_alpha_more_often_than_alpha_under_the_null(noise: str) -> None:
    rng = np.random.default_rng({"normal": 0, "t2": 1, "ties": 2}[noise])
    paths = np.array([betting_wealth(sign_flip_payoffs(twins(rng, 200, noise=noise)))[0] for _ in range(RUNS)])
    means = paths[:, [9, 49, 199]].mean(axis=0)
    assert np.all(means < 1 + 4 * paths[:, [9, 49, 199]].std(axis=0) / np.sqrt(RUNS))  # E[E_t] = 1, sampled
    # Optional stopping: a rule that looks after every pair and stops at the first crossing.
    assert np.mean(paths.max(axis=1) >= 1 / ALPHA) <= LIMIT


def test_stopping_on_a_fixed_sample_p_value_after_every_look_breaks_the_level_the_e_value_does_not() -> None:
    # The contrast that makes the test able to fail: the same looks with a z-test exceed alpha several times over.
    rng = np.random.default_rng(3)
    naive, anytime = [], []
    for _ in range(400):
        d = twins(rng, 300)
        z = np.cumsum(d) / np.sqrt(np.cumsum(d * d))
        naive.append(bool(np.any(z[9:] > 1.645)))
        anytime.append(sequential_sign_flip(d, alpha=ALPHA, futility=False).reason == "evidence")
    assert np.mean(naive) > 3 * ALPHA
    assert np.mean(anytime) <= ALPHA + 2.5 * np.sqrt(ALPHA * (1 - ALPHA) / 400)


def test_the_sequential_test_keeps_its_level_with_the_guard_and_the_futility_rule_on_nonmember_models() -> None:
    rng = np.random.default_rng(4)
    outcomes = [sequential_sign_flip(twins(rng, 300), twins(rng, 300), alpha=ALPHA) for _ in range(RUNS)]
    assert np.mean([o.reason == "evidence" for o in outcomes]) <= LIMIT
    assert np.mean([o.reason == "guard" for o in outcomes]) <= LIMIT  # exchangeable twins: the guard holds still
    # The futility rule saves queries on a model that never saw the log (it waits for half of them).
    assert np.median([o.stopped_at for o in outcomes]) < 200


def test_a_student_of_the_log_is_found_early_and_the_p_value_is_the_inverse_of_the_largest_e() -> None:
    rng = np.random.default_rng(5)
    outcomes = [sequential_sign_flip(twins(rng, 300, bonus=0.6), twins(rng, 300), alpha=0.01) for _ in range(100)]
    found = [o for o in outcomes if o.reason == "evidence"]
    assert len(found) >= 95
    assert np.median([o.stopped_at for o in found]) < 100  # far fewer pairs than the log holds
    assert all(o.e_value >= 100 and o.p_value == pytest.approx(1 / o.e_max) and o.p_value <= 0.01 for o in found)


def test_twins_sampled_otherwise_than_the_log_stop_the_test_at_the_guard() -> None:
    # Greedy logged answers against sampled twins: every model, trained on the log or not, prefers the logged side.
    rng = np.random.default_rng(6)
    findings, guarded = 0, 0
    for _ in range(300):
        shift = rng.normal(0.5, 1, 300)
        o = sequential_sign_flip(shift + rng.normal(0, 0.3, 300), shift + rng.normal(0, 0.3, 300), alpha=0.01)
        findings += o.reason == "evidence"
        guarded += o.reason == "guard"
    assert findings / 300 <= 0.01 + 2.5 * np.sqrt(0.01 * 0.99 / 300)
    assert guarded / 300 > 0.9


def test_pairs_stored_after_the_stop_never_change_the_outcome() -> None:
    rng = np.random.default_rng(7)
    for bonus in (0.0, 0.4, 1.0):
        d, g = twins(rng, 300, bonus=bonus), twins(rng, 300)
        full = sequential_sign_flip(d, g, alpha=0.01, horizon=300)
        assert full.reason != "running"
        for n in range(full.stopped_at, 301, 17):
            part = sequential_sign_flip(d[:n], g[:n], alpha=0.01, horizon=300)
            assert (part.stopped_at, part.reason, part.e_value, part.path) == (full.stopped_at, full.reason,
                                                                               full.e_value, full.path)
        if full.stopped_at > 1:  # before the stop, the rule says: keep going
            assert sequential_sign_flip(d[: full.stopped_at - 1], g[: full.stopped_at - 1], alpha=0.01,
                                        horizon=300).reason == "running"


def test_the_payoffs_use_sizes_not_signs_and_bad_input_is_refused() -> None:
    d = np.array([0.5, -2.0, 0.0, 1.0])
    assert np.allclose(sign_flip_payoffs(d), -sign_flip_payoffs(-d))  # odd: a flipped sign flips the payoff only
    assert sign_flip_payoffs(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    wealth, bets = betting_wealth(sign_flip_payoffs(d))
    assert bets[0] == 0.0 and np.all((0 <= bets) & (bets <= 0.5)) and np.all(wealth > 0)
    assert two_sided_wealth(np.zeros(5)).tolist() == [1.0] * 5
    with pytest.raises(StatsInputError):
        sign_flip_payoffs([1.0, float("nan")])
    with pytest.raises(StatsInputError):
        betting_wealth([2.0])
    with pytest.raises(StatsInputError):
        sequential_sign_flip(np.ones(5), np.ones(4), alpha=0.01)
    with pytest.raises(StatsInputError):
        sequential_sign_flip(np.ones(5), alpha=0.01, horizon=3)
