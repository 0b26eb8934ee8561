"""The Hugging Face backend on real tiny transformers models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from provenance.backends.base import Capability, GenerationParams
from provenance.backends.hf import HFBackend
from provenance.errors import ContextWindowError, ModelLoadError, UnsafeCheckpointError

PROMPTS = [
    "Who are you?",
    "Return a list of the keys",
    "x",
    "The path of the file is",
    "Explain json please, in many many words and then some more words",
    "a b c",
    "Which company trained you?",
]


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> HFBackend:
    return HFBackend.load(tiny_model, batch_size=3)


def _generate(backend: HFBackend, prompts: list[str], params: GenerationParams, seed: int, batch_size: int):
    backend.batch_size = batch_size
    return backend.generate(prompts, params, seed)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_generation_does_not_depend_on_batch_size_or_order(backend: HFBackend, temperature: float) -> None:
    params = GenerationParams(max_new_tokens=16, temperature=temperature)
    one_by_one = _generate(backend, PROMPTS, params, seed=11, batch_size=1)
    batched = _generate(backend, PROMPTS, params, seed=11, batch_size=4)
    reversed_all = _generate(backend, PROMPTS[::-1], params, seed=11, batch_size=7)[::-1]
    assert [g.token_ids for g in one_by_one] == [g.token_ids for g in batched]
    assert [g.token_ids for g in one_by_one] == [g.token_ids for g in reversed_all]
    assert all(len(g.token_ids) > 0 for g in one_by_one)


def test_sampling_depends_on_seed_and_greedy_does_not(backend: HFBackend) -> None:
    sampled = GenerationParams(max_new_tokens=16, temperature=1.0)
    greedy = GenerationParams(max_new_tokens=16, temperature=0.0)
    a = backend.generate(PROMPTS, sampled, seed=1)
    b = backend.generate(PROMPTS, sampled, seed=2)
    assert [g.token_ids for g in a] != [g.token_ids for g in b]
    assert [g.token_ids for g in backend.generate(PROMPTS, greedy, seed=1)] == [
        g.token_ids for g in backend.generate(PROMPTS, greedy, seed=2)
    ]


def test_generation_logprobs_match_a_plain_forward_pass(backend: HFBackend) -> None:
    generation = backend.generate(["Who are you?"], GenerationParams(max_new_tokens=6), seed=0)[0]
    context = backend.encode_prompt("Who are you?")
    ids = torch.tensor([context + list(generation.token_ids)])
    with torch.no_grad():
        logits = backend.model(ids).logits.log_softmax(-1)[0]
    expected = [float(logits[len(context) - 1 + i, tok]) for i, tok in enumerate(generation.token_ids)]
    assert generation.logprobs == pytest.approx(expected, abs=1e-4)
    # greedy: every chosen token is the argmax of its step
    assert all(int(logits[len(context) - 1 + i].argmax()) == tok for i, tok in enumerate(generation.token_ids))


def test_top_p_restricts_samples_to_the_nucleus(backend: HFBackend) -> None:
    top1 = backend.top_logprobs(["Who are you?"], k=1)[0][0]
    tiny_nucleus = GenerationParams(max_new_tokens=1, temperature=1.0, top_p=1e-6)
    firsts = {backend.generate(["Who are you?"], tiny_nucleus, seed=s)[0].token_ids[:1] for s in range(8)}
    assert firsts == {(top1.token_id,)}


def test_score_is_batch_invariant_and_matches_unbatched_forward(backend: HFBackend) -> None:
    continuations = [" the model", " a list of keys", " y", " here", " many words", " d e f", " Northwind Labs"]
    backend.batch_size = 1
    alone = backend.score(PROMPTS, continuations)
    backend.batch_size = 5
    together = backend.score(PROMPTS, continuations)
    for a, b in zip(alone, together):
        assert a.token_ids == b.token_ids
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    context = backend.encode_prompt(PROMPTS[0])
    cont = list(alone[0].token_ids)
    with torch.no_grad():
        logits = backend.model(torch.tensor([context + cont])).logits.log_softmax(-1)[0]
    manual = [float(logits[len(context) - 1 + i, t]) for i, t in enumerate(cont)]
    assert alone[0].logprobs == pytest.approx(manual, abs=1e-4)
    assert all(lp <= 0 for s in alone for lp in s.logprobs)


def test_top_logprobs_are_sorted_and_agree_with_score(backend: HFBackend) -> None:
    top = backend.top_logprobs(PROMPTS[:2], k=5)
    assert [len(t) for t in top] == [5, 5]
    for entries in top:
        values = [e.logprob for e in entries]
        assert values == sorted(values, reverse=True)
        assert sum(torch.tensor(values).exp().tolist()) <= 1.0 + 1e-6


def test_text_longer_than_the_context_is_a_clear_error_naming_the_fix(backend: HFBackend) -> None:
    # A real teacher's answer re-tokenised by a small suspect can outgrow its context:
    # the case must stop with the remedy, not a traceback.
    long_answer = "the quick brown fox jumps over the lazy dog " * 200
    for call in (lambda: backend.score(["Hi"], [long_answer]),
                 lambda: backend.generate(["Hi"], GenerationParams(max_new_tokens=backend.max_length + 1), 0)):
        with pytest.raises(ContextWindowError) as caught:
            call()
        assert f"at most {backend.max_length}" in caught.value.message and "max_new_tokens" in (caught.value.hint or "")


def test_backend_declares_all_three_capabilities(backend: HFBackend) -> None:
    assert backend.supports(Capability.SCORE) and backend.supports(Capability.TOP_LOGPROBS)


def test_identity_hashes_every_file_of_the_model(backend: HFBackend, tiny_model: Path) -> None:
    files = backend.identity.files
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= set(files)
    assert all(len(h) == 64 for h in files.values())
    assert len(backend.identity.key) == 64


def test_identity_changes_when_weights_change(tiny_model: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_model, tmp_path / "copy"))
    before = HFBackend.load(copy).identity.key
    with open(copy / "model.safetensors", "r+b") as handle:
        handle.seek(-1, 2)
        last = handle.read(1)
        handle.seek(-1, 2)
        handle.write(bytes([last[0] ^ 1]))
    assert HFBackend.load(copy).identity.key != before


def test_pickle_only_checkpoint_is_refused_unless_allowed(tiny_model: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    pickled = tmp_path / "pickled"
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    model.save_pretrained(pickled, safe_serialization=False)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja"):
        if (tiny_model / name).exists():
            shutil.copy(tiny_model / name, pickled / name)
    assert not list(pickled.glob("*.safetensors"))
    with pytest.raises(UnsafeCheckpointError, match="pickle"):
        HFBackend.load(pickled)
    loaded = HFBackend.load(pickled, allow_pickle=True)
    assert loaded.generate(["hi"], GenerationParams(max_new_tokens=3), seed=0)[0].token_ids


def test_remote_code_is_refused_unless_trusted(tiny_model: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_model, tmp_path / "remote"))
    config = json.loads((copy / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilModel"}
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(UnsafeCheckpointError, match="trust_remote_code"):
        HFBackend.load(copy)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: (root / "empty").mkdir() or root / "empty", "no config.json"),
    ],
)
def test_missing_or_incomplete_model_directory_is_a_clear_error(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(ModelLoadError, match=message):
        HFBackend.load(make(tmp_path))


def test_model_without_weights_is_a_clear_error(tiny_model: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(tiny_model, tmp_path / "noweights"))
    (copy / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="no weights"):
        HFBackend.load(copy)
