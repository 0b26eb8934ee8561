"""Teacher markers: chosen on one half of the prompts, counted on the other, known answer both ways."""

from __future__ import annotations

import numpy as np

from provenance.features.markers import MarkerCounts, marker_rate, ngrams, select_markers, split_prompts
from provenance.stats import marker_usage_test
from provenance.stats.panel import ModelStatistic, panel_outlier_test

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


def test_a_phrase_repeated_within_one_answer_is_used_once() -> None:
    markers = {("in", "a", "nutshell")}
    once = "in a nutshell it depends"
    spammed = " ".join(["in a nutshell"] * 20)
    assert marker_rate(once, markers) > 0
    assert marker_rate(spammed, markers) < marker_rate(once, markers) / 5


def _panel_marker_statistics(seed: int, suspect: str) -> dict[str, ModelStatistic]:
    """Ten independent models with their own habits, a teacher fond of "the" and of its phrases, and a suspect.

    ``suspect``: "degenerate" repeats "the" (a model of another kind, bench seed 15), "student" has the
    teacher's habits at half the teacher's rate.
    """
    rng = np.random.default_rng(seed)
    prompts = [f"p{i}" for i in range(120)]
    selection, test = split_prompts(prompts, seed)
    others = [["well you see"], ["long story short"], ["cheers mate"], ["to be honest"], ["as far as i know"],
              ["all things considered"], ["for what it is worth"], ["by and large"], ["at the end of the day"],
              ["truth be told"]]
    texts = {f"m{i}": {p: _answer(rng, habits, 0.5).replace("the ", "")
                       + (" " + str(rng.choice(TEACHER_HABITS)) if rng.random() < 0.1 else "") for p in prompts}
             for i, habits in enumerate(others)}  # now and then an independent model uses a teacher's phrase
    texts["teacher"] = {p: "the " + _answer(rng, TEACHER_HABITS, 0.6).replace("the ", "") for p in prompts}
    texts["suspect"] = ({p: " ".join(["the"] * int(rng.integers(8, 16))) for p in prompts} if suspect == "degenerate"
                        else {p: _answer(rng, TEACHER_HABITS, 0.3) for p in prompts})
    models = [m for m in texts if m != "teacher"]
    counts = MarkerCounts([texts["teacher"][p] for p in selection], {m: [texts[m][p] for p in selection] for m in models})
    out = {}
    for m in models:
        markers = set(counts.select([b for b in models if b != m]))
        out[m] = ModelStatistic.mean_of([marker_rate(texts[m][p], markers) for p in test],
                                        chances=sum(len(ngrams(texts[m][p])) for p in test))
    return out


def _panel_p(stats: dict[str, ModelStatistic]) -> float:
    panel = {m: s for m, s in stats.items() if m != "suspect"}
    return panel_outlier_test(stats["suspect"], panel, name="markers", quantity="marker rate", unit="per n-gram",
                              null_words="independent", alt_words="derived", scale="cbrt").p_value


def test_a_student_is_the_panels_outlier_and_a_degenerate_model_is_not_found_by_repetition() -> None:
    """A degenerate model repeating "the" (a teacher's marker here) uses it once per answer, as a fluent
    model of its answer length would; the student uses the teacher's phrases."""
    student = [_panel_p(_panel_marker_statistics(seed, "student")) for seed in range(5)]
    assert max(student) < 0.01, student
    for seed in range(5):
        stats = _panel_marker_statistics(seed, "degenerate")
        assert stats["suspect"].value < 0.1  # one use per answer, not one per n-gram
