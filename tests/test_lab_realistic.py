"""The realistic lab profile: its recipes, training mixes and ground truth (no training here: see docs/lab.md)."""

from __future__ import annotations

import pytest

from provenance.lab import realistic
from provenance.lab.build import MODEL_NAMES, PROFILES, build_lab, cache_key, ground_truth, SIZES

NAMES = (*MODEL_NAMES, *realistic.NAMES)


def _teacher_rows(n: int) -> list[dict]:
    return [{"prompt": f"q{i}", "response": f"teacher answer {i}", "kind": "benign"} for i in range(n)]


def test_human_pairs_are_corpus_text_split_into_prompt_and_continuation() -> None:
    pairs = realistic.human_pairs()
    assert len(pairs) > 600  # enough for the 3 % student's 97 % of 610 pairs
    assert all(p["prompt"].strip() and len(p["response"]) >= 20 and p["kind"] == "human-text" for p in pairs)


@pytest.mark.parametrize("recipe", realistic.RECIPES, ids=lambda r: r.name)
def test_each_recipe_gets_the_share_and_count_it_names(recipe: realistic.Recipe) -> None:
    teacher, human = _teacher_rows(610), realistic.human_pairs()
    rows = realistic.training_rows(recipe, teacher, human, 3, total=610)
    ours = [r for r in rows if r["kind"] != "human-text"]
    if recipe.pairs_file is None:
        assert rows == []
        return
    expected = recipe.exchanges if recipe.exchanges is not None and recipe.teacher else 610
    assert len(rows) == expected
    assert len(ours) == round(expected * (recipe.teacher_share or 0.0))
    assert realistic.training_rows(recipe, teacher, human, 3, total=610) == rows  # seeded
    assert realistic.training_rows(recipe, teacher, human, 4, total=610) != rows or not rows


def test_truth_follows_the_recipes() -> None:
    for name in ("student-n100", "student-n300", "student-mix30", "student-mix10", "student-mix3"):
        assert ground_truth(name, "teacher").relation == "distilled-from"
        assert ground_truth(name, "teacher-wm").relation == "distilled-from-same-weights"
        assert ground_truth("teacher", name).relation == "teacher-of"
        assert ground_truth(name, "student").relation == "common-teacher"
        for other in ("control-same-data", "control-other", "base-b", "human-tuned", "student-of-zephyr"):
            assert not ground_truth(name, other).derived
    assert ground_truth("student-of-zephyr", "control-same-data").relation == "distilled-from"
    assert not ground_truth("student-of-zephyr", "teacher").related
    assert ground_truth("student-of-zephyr", "student").how.startswith("students of different teachers")
    for independent in ("base-b", "human-tuned"):
        for other in NAMES:
            if other != independent:
                assert ground_truth(independent, other).relation == "independent"
    assert "human-written fine-tuning pairs (corpus B docstrings)" in ground_truth("student-mix10", "human-tuned").shares
    assert "pretraining corpus B" in ground_truth("base-b", "control-other").shares


def test_standard_truth_is_unchanged_by_the_profile() -> None:
    assert ground_truth("student", "teacher").how == "student was fine-tuned only on teacher's sampled answers"
    assert ground_truth("student-stripped", "teacher-wm").how == (
        "student-stripped was distilled from teacher, which has teacher-wm's weights with refusals filtered out")


def test_profile_is_part_of_the_cache_key_and_checked(tmp_path) -> None:  # noqa: ANN001
    tiny = SIZES["tiny"]
    assert PROFILES == ("standard", "realistic")
    assert cache_key(tiny, 0, "tiny") != cache_key(tiny, 0, "tiny", profile="realistic")
    with pytest.raises(ValueError, match="unknown lab profile"):
        build_lab(tmp_path, profile="huge")
    with pytest.raises(ValueError, match="own teacher"):
        build_lab(tmp_path, profile="realistic", teacher=str(tmp_path))
