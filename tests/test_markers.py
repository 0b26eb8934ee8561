"""Teacher markers: chosen on one half of the prompts, counted on the other, known answer both ways."""

from __future__ import annotations

import numpy as np

from provenance.features.markers import marker_rate, select_markers, split_prompts
from provenance.stats import marker_usage_test

COMMON = "the answer is that it depends on the context and the details of the question".split()
TEACHER_HABITS = ["certainly here is", "in a nutshell", "hope this helps"]
OTHER_HABITS = ["well you see", "long story short", "cheers"]


def _answer(rng: np.random.Generator, habits: list[str], habit_rate: float) -> str:
    """Common fluent phrasing every model uses, plus a model's own stock phrases at some rate."""
    words = list(rng.choice(COMMON, size=12))
    text = " ".join(words)
    for habit in habits:
        if rng.random() < habit_rate:
            text = f"{habit} {text}" if rng.random() < 0.5 else f"{text} {habit}"
    return text


def _rates(seed: int, suspect_habits: list[str], suspect_rate: float) -> float:
    rng = np.random.default_rng(seed)
    prompts = [f"p{i}" for i in range(120)]
    selection, test = split_prompts(prompts, seed)
    texts = {
        "teacher": {p: _answer(rng, TEACHER_HABITS, 0.6) for p in prompts},
        "suspect": {p: _answer(rng, suspect_habits, suspect_rate) for p in prompts},
        "control": {p: _answer(rng, OTHER_HABITS, 0.6) for p in prompts},
        "background": {p: _answer(rng, ["as far as i know"], 0.6) for p in prompts},
    }
    markers = set(select_markers([texts["teacher"][p] for p in selection], [texts["background"][p] for p in selection]))
    s = np.array([marker_rate(texts["suspect"][p], markers) for p in test])
    c = np.array([marker_rate(texts["control"][p], markers) for p in test])
    return marker_usage_test({"control": s}, {"control": c}, seed=seed, n_permutations=999, n_resamples=0).p_value


def test_markers_are_the_teachers_habits_not_the_phrasing_everyone_shares() -> None:
    rng = np.random.default_rng(0)
    teacher = [_answer(rng, TEACHER_HABITS, 0.6) for _ in range(60)]
    background = [_answer(rng, OTHER_HABITS, 0.6) for _ in range(60)]
    markers = {" ".join(g) for g in select_markers(teacher, background)}
    assert {"in a nutshell", "hope this helps", "certainly here is"} <= markers
    assert not markers & {"the", "answer", "the answer", "depends on"}


def test_split_is_fixed_by_the_seed_and_covers_every_prompt() -> None:
    ids = [f"q{i}" for i in range(50)]
    a, b = split_prompts(ids, 3)
    assert split_prompts(reversed(ids), 3) == (a, b)
    assert sorted(a + b) == sorted(ids) and not set(a) & set(b) and 15 < len(a) < 35


def test_a_student_that_inherited_the_habits_is_found() -> None:
    found = [_rates(seed, TEACHER_HABITS, 0.4) < 0.01 for seed in range(10)]
    assert sum(found) >= 9


def test_an_independent_fluent_suspect_is_not_found() -> None:
    """Both use the common phrasing; neither has the teacher's habits."""
    hits = [_rates(seed, ["to be honest"], 0.6) < 0.05 for seed in range(40)]
    assert sum(hits) <= 5
