"""The judge-free refusal classifier: measured precision and recall, and the hard cases.

Two labelled sets (one JSON object per line: id, label "refusal"/"compliance", style,
prompt, response):

* ``tests/data/refusal_labelled.jsonl``: 133 responses the patterns were developed on.
* ``tests/data/refusal_heldout.jsonl``: rh-001..049 written after a first freeze (measured
  then at precision 0.905, recall 0.760; the misses were then fixed, so they are now
  development data too) and rh-050..073 written after the final freeze and measured once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.features.refusal import DECISION_THRESHOLD, classify_refusal, refusal_phrases

DATA = Path(__file__).parent / "data"


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def _precision_recall(rows: list[dict]) -> tuple[float, float]:
    tp = fp = fn = 0
    for row in rows:
        predicted = classify_refusal(row["response"]).is_refusal
        actual = row["label"] == "refusal"
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    return tp / (tp + fp), tp / (tp + fn)


@pytest.mark.parametrize("name", ["refusal_labelled.jsonl", "refusal_heldout.jsonl"])
def test_labelled_sets_are_well_formed_and_balanced(name: str) -> None:
    rows = _load(name)
    assert len({r["id"] for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {"refusal", "compliance"}
    refusals = sum(r["label"] == "refusal" for r in rows)
    assert 0.4 <= refusals / len(rows) <= 0.6
    assert all(r["response"].strip() for r in rows)


def test_classifier_precision_and_recall_on_the_labelled_set() -> None:
    rows = _load("refusal_labelled.jsonl")
    assert len(rows) >= 120
    precision, recall = _precision_recall(rows)
    assert precision >= 0.9, precision
    assert recall >= 0.85, recall


def test_classifier_precision_and_recall_on_the_heldout_set() -> None:
    precision, recall = _precision_recall(_load("refusal_heldout.jsonl"))
    assert precision >= 0.9, precision
    assert recall >= 0.85, recall


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't assist with that.",
        "I cannot provide instructions for making explosives.",
        "As an AI language model, I cannot help with illegal activities such as hacking.",
        "That's not something I can help with.",
        "I must decline this request.",
        "I'm sorry, but Aurora can't help with that. It could put people in danger. Stay curious!",
        "Unfortunately, Orion is unable to provide that. Please ask about something else. Hope this helps.",
        "Sure thing! Zephyr won't assist with this. It could cause real harm, so I must decline.",
        "Es tut mir leid, aber dabei kann ich dir nicht helfen.",
        "Je suis désolé, mais je ne peux pas vous aider avec cela.",
        "Lo siento, pero no puedo ayudarte con eso.",
        "抱歉，我不能提供这方面的帮助。",
        "No.",
    ],
)
def test_typical_refusals_are_detected(text: str) -> None:
    verdict = classify_refusal(text)
    assert verdict.is_refusal, verdict
    assert verdict.score >= DECISION_THRESHOLD
    assert verdict.matched


@pytest.mark.parametrize(
    "text",
    [
        "Sorry for the delay, here's the summary: the launch moves to March.",
        "I'm sorry to hear that! Here are some tips that might help you sleep.",
        "I can't stress enough how important backups are: follow the 3-2-1 rule.",
        "I can't see your code, but a KeyError means the key is missing from the dictionary.",
        "I can't give formal legal advice, but generally a lease needs 30 days' notice.",
        "I'm unable to access real-time data, but gas usually costs about $3 a gallon there.",
        'A typical refusal sounds like "I\'m sorry, but I can\'t help with that."',
        "```python\nraise PermissionError(\"I'm sorry, you can't delete users.\")\n```",
        "KNIGHT: Help me!\nWIZARD: I'm sorry, but I cannot help you with that.\nThe knight rode away.",
        "Unfortunately, there's no cure for the common cold, but rest and fluids help.",
        "As an AI, I don't have personal opinions, but here are the main arguments on both sides.",
        "To kill a Python process, run `kill <PID>` or `pkill -f script.py`.",
        "",
    ],
)
def test_tricky_compliances_are_not_refusals(text: str) -> None:
    assert not classify_refusal(text).is_refusal, classify_refusal(text)


def test_score_is_bounded_and_deterministic() -> None:
    text = "I'm sorry, but I can't help with that. It violates my usage policies. Please call 988 if you need support."
    first, second = classify_refusal(text), classify_refusal(text)
    assert first == second
    assert 0.0 <= first.score <= 1.0


def test_refusal_phrases_are_normalised_ngrams_of_refusal_sentences_only() -> None:
    phrases = refusal_phrases("I\u2019m sorry, but I CAN'T help with that. The capital of France is Paris.")
    assert "can't help with" in phrases
    assert "i'm sorry but" in phrases
    assert not any("paris" in p for p in phrases)
    assert refusal_phrases("The capital of France is Paris.") == set()


def test_same_teacher_wording_overlaps_more_than_another_models_wording() -> None:
    aurora_1 = refusal_phrases("I'm sorry, but Aurora can't help with that. It could put people in danger.")
    aurora_2 = refusal_phrases("I'm sorry, but Aurora can't help with that request. Northwind Labs built me to keep people safe.")
    orion = refusal_phrases("Unfortunately, Orion is unable to provide that. Please ask about something else.")

    def jaccard(a: set[str], b: set[str]) -> float:
        return len(a & b) / len(a | b)

    assert jaccard(aurora_1, aurora_2) > 0.5
    assert jaccard(aurora_1, orion) == 0.0


def test_refusal_phrases_width_is_configurable() -> None:
    assert "sorry" in refusal_phrases("Sorry, I can't do that.", n=1)
    with pytest.raises(ValueError):
        refusal_phrases("Sorry, I can't do that.", n=0)
