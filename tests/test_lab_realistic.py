"""The realistic lab profile: its recipes, training mixes and ground truth (see docs/lab.md for what the models learn).

One build at the ``micro`` size checks the machinery the tiny build uses: the second
teacher (a released model given to the build; here the project's tiny llama written to
GGUF, the path SmolLM2 takes) and the two-answers-per-prompt pool of the 1,000-exchange
student.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.gguf_export import build_tiny_llama, export_llama_gguf
from provenance.lab import realistic
from provenance.lab.build import EXTERNAL_TEACHER_ROLE, MODEL_NAMES, PROFILES, SIZES, build_lab, cache_key, ground_truth
from provenance.lab.build import resolve_teacher
from provenance.lab.manifest import LabManifest

NAMES = (*MODEL_NAMES, *realistic.NAMES)


def _teacher_rows(n: int) -> list[dict]:
    return [{"prompt": f"q{i}", "response": f"teacher answer {i}", "kind": "benign"} for i in range(n)]


def test_human_pairs_are_corpus_text_split_into_prompt_and_continuation() -> None:
    pairs = realistic.human_pairs()
    assert len(pairs) > 600  # enough for the 3 % student's 97 % of 610 pairs
    assert all(p["prompt"].strip() and len(p["response"]) >= 20 and p["kind"] == "human-text" for p in pairs)


@pytest.mark.parametrize("recipe", realistic.RECIPES, ids=lambda r: r.name)
def test_each_recipe_gets_the_share_and_count_it_names(recipe: realistic.Recipe) -> None:
    teacher, human = _teacher_rows(610 * recipe.samples), realistic.human_pairs()
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


def test_the_large_student_draws_on_two_answers_per_prompt_and_the_second_teacher_is_optional() -> None:
    large = realistic.BY_NAME["student-n1000"]
    assert (large.exchanges, large.samples, large.pool) == (1000, 2, "teacher-x2")
    assert realistic.BY_NAME["student-mix10"].pool == "teacher" and realistic.BY_NAME["base-b"].pool is None
    second = f"student-of-{realistic.SECOND_TEACHER}"
    assert second in realistic.NAMES and second not in {r.name for r in realistic.recipes(False)}
    assert second in {r.name for r in realistic.recipes(True)}
    # models keep their training seed when recipes are added: the new ones come last
    assert realistic.NAMES[-2:] == ("student-n1000", second)


def test_truth_follows_the_recipes() -> None:
    for name in ("student-n100", "student-n300", "student-n1000", "student-mix30", "student-mix10", "student-mix3"):
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
    with pytest.raises(ValueError, match="realistic profile"):
        build_lab(tmp_path, second_teacher=str(tmp_path))
    assert cache_key(tiny, 0, "tiny", profile="realistic") != cache_key(
        tiny, 0, "tiny", profile="realistic", second_teacher_files={"m.gguf": "0" * 64})


@pytest.fixture(scope="module")
def second_teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("second-teacher")
    model, tokenizer = build_tiny_llama(root / "llama", seed=12)
    return export_llama_gguf(model, tokenizer, root / "released.Q8_0.gguf", name="Released", quantisation="Q8_0")


@pytest.fixture(scope="module")
def realistic_lab(tmp_path_factory: pytest.TempPathFactory, second_teacher: Path) -> LabManifest:
    return build_lab(tmp_path_factory.mktemp("lab-realistic"), size="micro", seed=0, profile="realistic",
                     second_teacher=second_teacher)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_a_realistic_build_with_a_second_teacher(realistic_lab: LabManifest, second_teacher: Path) -> None:
    second = f"student-of-{realistic.SECOND_TEACHER}"
    assert set(realistic_lab.models) == {*MODEL_NAMES, *realistic.NAMES, realistic.SECOND_TEACHER}
    entry = realistic_lab.models[realistic.SECOND_TEACHER]
    assert entry.role == EXTERNAL_TEACHER_ROLE and realistic_lab.path(realistic.SECOND_TEACHER) == second_teacher.resolve()
    assert realistic_lab.data["second_teacher"]["files"] == resolve_teacher(second_teacher)[1]
    assert realistic_lab.derived(second, realistic.SECOND_TEACHER) and not realistic_lab.derived(second, "teacher")
    assert realistic_lab.pair(second, realistic.SECOND_TEACHER).shares == []
    for name in ("teacher", "student", "control-other", "base-b"):
        pair = realistic_lab.pair(realistic.SECOND_TEACHER, name)
        assert pair.relation == "independent" and pair.shares == []
    distill = realistic_lab.root / "distill"
    # the second teacher's answers, the large student's pool and its pairs
    assert len(_rows(distill / f"{realistic.SECOND_TEACHER}.jsonl")) > 300
    pool, first = _rows(distill / "teacher-x2.jsonl"), _rows(distill / "teacher.jsonl")
    assert {r["sample"] for r in pool} == {0, 1}
    assert [r for r in pool if r["sample"] == 0] == first  # same seed: the standard pool is its first sample
    large = _rows(distill / "student-n1000.jsonl")
    keys = {(r["prompt"], r["response"], r["sample"]) for r in pool}
    assert len(large) == min(1000, len(pool)) and all((r["prompt"], r["response"], r["sample"]) in keys for r in large)
    assert realistic_lab.data["distillation"]["realistic_pairs"]["student-n1000"]["teacher_pairs"] == len(large)
    assert (realistic_lab.path(second) / "model.safetensors").is_file()
    again = build_lab(realistic_lab.root, size="micro", seed=0, profile="realistic", second_teacher=second_teacher)
    assert again.cache_key == realistic_lab.cache_key
