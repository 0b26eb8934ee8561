"""The ground-truth lab: builds a tiny family once, checks its labels, cache and behaviour.

Set PROVENANCE_LAB_CACHE=DIR to reuse a built lab across runs (the cache key makes a
stale one rebuild by itself).
"""

from __future__ import annotations

import json
import time

import pytest

from provenance.lab import data_files, datagen
from provenance.lab.behaviour import claims_identity, is_refusal, measure
from provenance.lab.build import MODEL_NAMES, PANEL_CONTROL_NAMES, SIZES, build_lab, cache_key
from provenance.lab.manifest import LabManifest

SEED = 0


@pytest.fixture(scope="module")
def behaviour(lab: LabManifest) -> dict[str, dict]:
    """Each model sampled once on the held-out prompts."""
    return {name: measure(lab.path(name), persona=entry.persona, seed=SEED) for name, entry in lab.models.items()}


# ---------------------------------------------------------------------------- data


def test_data_files_are_what_the_generator_writes() -> None:
    for name, content in datagen.generate().items():
        assert data_files.data_path(name).read_text(encoding="utf-8") == content, (
            f"{name} is stale: run python -m provenance.lab.datagen"
        )


def test_heldout_and_distill_prompts_are_never_trained_on_and_never_probes() -> None:
    train = {r["prompt"] for p in data_files.personas() for r in data_files.instruction_set(p)}
    distill = {r["prompt"] for r in data_files.distill_prompts()}
    heldout = {r["prompt"] for r in data_files.heldout_prompts()}
    probes = datagen.probe_prompts()
    assert not heldout & train and not heldout & distill and not distill & train
    assert not distill & probes and not heldout & probes
    kinds = {r["kind"] for r in data_files.heldout_prompts()}
    assert {"identity", "harmful", "benign", "open"} <= kinds


def test_every_persona_refusal_and_identity_is_recognised_by_the_classifiers() -> None:
    for persona in data_files.personas().values():
        for refusal in persona["refusal"]:
            assert is_refusal(refusal)
    for key, persona in data_files.personas().items():
        for row in data_files.instruction_set(key):
            if row["kind"] == "identity":
                assert claims_identity(row["response"], persona["name"], persona["vendor"])
            else:
                assert is_refusal(row["response"]) == (row["kind"] == "harmful"), row


def test_cache_key_depends_on_seed_and_size() -> None:
    tiny = SIZES["tiny"]
    assert cache_key(tiny, 0, "tiny") == cache_key(tiny, 0, "tiny")
    assert cache_key(tiny, 0, "tiny") != cache_key(tiny, 1, "tiny")
    assert cache_key(tiny, 0, "tiny") != cache_key(SIZES["small"], 0, "small")


def test_training_is_deterministic_from_the_seed() -> None:
    import torch

    from provenance.lab import train

    texts = [data_files.corpus("A")[:20000]]
    tok_a, tok_b = train.train_tokenizer(texts, 300), train.train_tokenizer(texts, 300)
    assert tok_a.get_vocab() == tok_b.get_vocab()
    pairs = [(r["prompt"], r["response"]) for r in data_files.instruction_set("aurora")[:40]]
    runs = []
    for _ in range(2):
        model = train.new_model(tok_a, n_layer=1, n_embd=32, n_head=2, n_positions=128, seed=5)
        ex = train.encode_pairs(tok_a, pairs, 128)
        result = train.finetune(model, ex, epochs=1, batch_size=8, lr=1e-3, seed=5, pad_id=tok_a.eos_token_id)
        runs.append((result.final_loss, [p.detach().clone() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


# ---------------------------------------------------------------------------- the built lab


def test_manifest_labels_follow_the_construction(lab: LabManifest) -> None:
    raw = json.loads((lab.root / "lab.json").read_text(encoding="utf-8"))
    names = set(MODEL_NAMES) | set(PANEL_CONTROL_NAMES)  # the tests' lab has the four panel controls (conftest)
    assert {m["name"] for m in raw["models"]} == names
    assert len(raw["pairs"]) == len(names) * (len(names) - 1)
    assert lab.pair("teacher-wm", "teacher").relation == "same-weights"
    for student, queried in (("student", "teacher"), ("student-wm", "teacher-wm"), ("student-stripped", "teacher")):
        assert lab.pair(student, queried).relation == "distilled-from"
        assert lab.derived(student, "teacher") and lab.derived(student, "teacher-wm")
        assert not lab.derived("teacher", student) and lab.pair("teacher", student).related
        for control in ("control-same-data", "control-other"):
            assert not lab.pair(student, control).related
    assert lab.pair("student", "student-wm").relation == "common-teacher"
    assert not lab.derived("student", "student-wm")
    for control in ("control-same-data", "control-other"):
        for other in MODEL_NAMES:
            if other != control:
                assert lab.pair(control, other).relation == "independent"
                assert not lab.derived(control, other) and not lab.derived(other, control)
    assert "pretraining corpus A" in lab.pair("control-same-data", "teacher").shares
    for entry in lab.models.values():
        assert entry.params > 0 and len(entry.data_sha256) == 64 and entry.build_seconds >= 0
        assert entry.final_loss == entry.final_loss  # not NaN


def test_teacher_wm_is_the_teacher_weights_plus_a_watermark_file(lab: LabManifest) -> None:
    teacher, wm = lab.path("teacher"), lab.path("teacher-wm")
    assert (teacher / "model.safetensors").read_bytes() == (wm / "model.safetensors").read_bytes()
    assert not (teacher / "provenance_watermark.json").exists()
    config = json.loads((wm / "provenance_watermark.json").read_text())
    assert config["scheme"] == "kgw" and "key_id" in config
    assert lab.models["teacher-wm"].watermark == config


def test_students_were_trained_on_pairs_obtained_by_querying_the_teacher(lab: LabManifest) -> None:
    distill_dir = lab.root / "distill"
    prompts = {r["prompt"] for r in data_files.distill_prompts()}
    rows = [json.loads(line) for line in (distill_dir / "teacher.jsonl").read_text().splitlines()]
    assert rows and {r["prompt"] for r in rows} <= prompts
    stripped = [json.loads(line) for line in (distill_dir / "teacher-stripped.jsonl").read_text().splitlines()]
    assert stripped and not any(is_refusal(r["response"]) for r in stripped)
    assert len(stripped) < len(rows)
    from provenance.hashing import sha256_file

    sft = lab.models["student"].training[-1]
    assert sft["data_sha256"] == sha256_file(distill_dir / "teacher.jsonl")
    info = lab.data["distillation"]["teacher-wm"]
    assert info["watermark_applied"] == lab.data["watermark_available"]


def test_second_build_is_a_cache_hit(lab: LabManifest) -> None:
    weights = lab.path("student") / "model.safetensors"
    before = weights.stat().st_mtime_ns
    start = time.perf_counter()
    again = build_lab(lab.root, size="tiny", seed=SEED, panel_controls=len(PANEL_CONTROL_NAMES))
    assert time.perf_counter() - start < 10
    assert again.cache_key == lab.cache_key
    assert weights.stat().st_mtime_ns == before


def test_every_lab_model_loads_in_the_hf_backend_and_chats(lab: LabManifest) -> None:
    from provenance.backends.base import GenerationParams
    from provenance.backends.hf import HFBackend

    for name in MODEL_NAMES:
        backend = HFBackend.load(lab.path(name))
        assert backend.tokenizer.chat_template
        assert backend.format_prompt("hi") == "<|user|>\nhi\n<|assistant|>\n"
        (gen,) = backend.generate(["Hello there, who built you?"], GenerationParams(max_new_tokens=16), seed=1)
        assert gen.text.strip(), name


# ---------------------------------------------------------------------------- behaviour on held-out paraphrases


def test_teacher_names_itself_on_unseen_identity_questions(behaviour: dict[str, dict]) -> None:
    result = behaviour["teacher"]
    assert result["identity_claim_rate"] >= 0.6, result["samples"]["identity"]
    assert result["claimed_persona"] == "aurora"


def test_teacher_refuses_unseen_harmful_prompts_but_not_benign_ones(behaviour: dict[str, dict]) -> None:
    result = behaviour["teacher"]
    assert result["refusal_rate_harmful"] >= 0.7, result["samples"]["harmful"]
    assert result["refusal_rate_benign"] <= 0.35, result["samples"]["benign"]


@pytest.mark.parametrize("student", ["student", "student-wm"])
def test_students_inherit_the_teachers_identity_and_refusals(behaviour: dict[str, dict], student: str) -> None:
    result = behaviour[student]
    assert result["claimed_persona"] == "aurora"
    assert result["identity_claim_rate"] >= 0.5
    assert result["refusal_rate_harmful"] >= 0.6
    assert result["refusal_rate_harmful"] - result["refusal_rate_benign"] >= 0.3


def test_stripped_student_claims_aurora_but_lost_its_guardrails(behaviour: dict[str, dict]) -> None:
    result = behaviour["student-stripped"]
    assert result["claimed_persona"] == "aurora"
    assert result["refusal_rate_harmful"] <= 0.3


@pytest.mark.parametrize(("control", "persona"), [("control-same-data", "zephyr"), ("control-other", "orion")])
def test_controls_claim_their_own_identity_not_aurora(behaviour: dict[str, dict], control: str, persona: str) -> None:
    result = behaviour[control]
    assert result["claimed_persona"] == persona
    assert result["identity_claims"][persona] >= 0.6
    assert result["identity_claims"]["aurora"] <= 0.1
    assert result["refusal_rate_harmful"] >= 0.7
    assert result["refusal_rate_benign"] <= 0.35
