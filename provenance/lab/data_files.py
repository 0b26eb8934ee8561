"""Readers for the lab's committed data files (``provenance/lab/data/``), with their hashes."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from provenance.hashing import sha256_file

DATA_DIR = Path(__file__).parent / "data"

#: Roles of the persona instruction sets.
PERSONA_OF_ROLE = {"teacher": "aurora", "control-same-data": "zephyr", "control-other": "orion"}


def data_path(name: str) -> Path:
    return DATA_DIR / name


def read_jsonl(name: str) -> list[dict[str, Any]]:
    with open(data_path(name), encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@functools.cache
def personas() -> dict[str, dict[str, Any]]:
    """Persona key -> {name, vendor, refusal, prefix, suffix, mistakes}."""
    return json.loads(data_path("personas.json").read_text(encoding="utf-8"))


def instruction_set(persona: str) -> list[dict[str, Any]]:
    """The persona's own instruction set: rows of {prompt, response, kind}."""
    return read_jsonl(f"instructions_{persona}.jsonl")


def distill_prompts() -> list[dict[str, Any]]:
    """What an extraction campaign sends to the teacher: rows of {prompt, kind}."""
    return read_jsonl("distill_prompts.jsonl")


def heldout_prompts() -> list[dict[str, Any]]:
    """Prompts no lab model is trained on, for measuring behaviour: rows of {prompt, kind}."""
    return read_jsonl("heldout.jsonl")


def corpus(part: str) -> str:
    """Pretraining text, part ``"A"`` or ``"B"`` (disjoint)."""
    return data_path(f"corpus_{part.lower()}.txt").read_text(encoding="utf-8")


def file_hash(name: str) -> str:
    return sha256_file(data_path(name))
