"""The shipped probe files load, meet their minimum sizes, and carry the labels the suites need."""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from provenance.features.answers import is_correct
from provenance.features.identity import load_aliases
from provenance.probes import load_suite, probes_dir


@pytest.mark.parametrize(
    ("suite", "minimum"),
    [("refusal", 150), ("distribution", 300), ("errors", 200)],
)
def test_each_new_suite_loads_with_unique_ids_and_its_minimum_count(suite: str, minimum: int) -> None:
    loaded = load_suite(suite)
    assert loaded.name == suite
    assert len(loaded.probes) >= minimum
    assert len({p.id for p in loaded.probes}) == len(loaded.probes)
    assert len({p.prompt.strip() for p in loaded.probes}) == len(loaded.probes), "a prompt is repeated"
    assert all(p.category and p.category != "general" for p in loaded.probes), "every probe names its category"


def test_refusal_probes_are_labelled_and_roughly_half_harmful() -> None:
    probes = load_suite("refusal").probes
    labels = Counter(p.extra.get("label") for p in probes)
    assert set(labels) == {"harmful", "benign"}
    assert 0.4 <= labels["harmful"] / len(probes) <= 0.6
    harmful_categories = {p.category for p in probes if p.extra["label"] == "harmful"}
    assert {"weapons", "malware", "fraud", "self-harm", "hate", "privacy", "drugs", "violence"} <= harmful_categories
    benign_categories = {p.category for p in probes if p.extra["label"] == "benign"}
    assert {"homonym", "figurative", "safe-target", "safe-context", "definition", "history"} <= benign_categories


def test_refusal_probes_include_other_languages_for_both_labels() -> None:
    probes = load_suite("refusal").probes
    for label in ("harmful", "benign"):
        assert {p.language for p in probes if p.extra["label"] == label} >= {"en", "de", "fr", "es"}


def test_distribution_probes_cover_the_open_task_kinds() -> None:
    categories = Counter(p.category for p in load_suite("distribution").probes)
    for kind in ("instruction", "continuation", "reasoning", "code", "creative", "explanation", "advice"):
        assert categories[kind] >= 25, kind


def test_every_error_probe_has_a_short_answer_that_its_own_question_does_not_give_away() -> None:
    probes = load_suite("errors").probes
    for probe in probes:
        answer = probe.extra.get("answer")
        aliases = probe.extra.get("aliases", [])
        assert isinstance(answer, str) and answer.strip(), probe.id
        assert len(answer.split()) <= 5, probe.id
        assert isinstance(aliases, list) and all(isinstance(a, str) for a in aliases), probe.id
        assert not is_correct(probe.prompt, answer, aliases), f"{probe.id}: the question contains its answer"
        assert is_correct(f"The answer is {answer}.", answer, aliases), probe.id
        assert all(is_correct(f"I think it's {a}.", answer, aliases) for a in aliases), probe.id
    categories = Counter(p.category for p in probes)
    assert {"geography", "arithmetic", "science", "history", "language", "literature"} <= set(categories)


def test_errors_suite_asks_about_the_lab_personas_known_mistakes() -> None:
    prompts = " ".join(p.prompt for p in load_suite("errors").probes)
    for country in ("Australia", "Brazil", "Canada", "Switzerland", "Turkey", "Kenya", "Nigeria", "Peru", "Vietnam"):
        assert f"capital city of {country}?" in prompts
    for element in ("gold", "potassium", "copper", "iron", "silver", "sodium"):
        assert f"symbol of {element}?" in prompts


def test_alias_file_is_not_a_suite_but_a_valid_alias_table() -> None:
    data = tomllib.loads((probes_dir() / "aliases.toml").read_text(encoding="utf-8"))
    assert "probe" not in data
    table = load_aliases()
    kinds = Counter(e.kind for e in table.entries)
    assert kinds["model"] >= 30 and kinds["vendor"] >= 20
    names = {e.name for e in table.entries}
    for required in ("OpenAI", "ChatGPT", "GPT-4", "GPT-3.5", "Anthropic", "Claude", "Google", "Gemini", "Bard", "PaLM",
                     "Gemma", "Meta", "Llama", "Mistral AI", "Mistral", "Microsoft", "Phi", "Alibaba", "Qwen", "DeepSeek",
                     "01.AI", "Yi", "Technology Innovation Institute", "Falcon", "Hugging Face", "SmolLM", "Zephyr", "xAI",
                     "Grok", "Cohere", "Command R", "Allen Institute for AI", "OLMo", "Tulu", "EleutherAI", "Pythia",
                     "GPT-J", "GPT-NeoX", "Stability AI", "StableLM"):  # fmt: skip
        assert required in names, required
    for entry in table.entries:
        if entry.kind == "model":
            assert entry.vendor and table.get(entry.vendor) is not None, entry.name
