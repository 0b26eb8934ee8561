"""Watermark schemes, detection and its statistics, on real tiny transformers models.

The lab-based radioactivity tests are in test_watermark_lab.py; these need only
the session's tiny random model (high-entropy outputs, so a watermark shows fast).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as st

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.errors import CaseFileError
from provenance.watermark import WatermarkKey, key_from_env, key_from_file, logits_processors_from_config
from provenance.watermark.detect import detect_sequences, detect_text, mark_green, tokenize
from provenance.watermark.schemes import Scheme, scheme_from_config
from provenance.watermark.selection import select_tokens
from provenance.watermark.stats import green_mass_test

PROMPTS = [f"Tell me something about item number {i}." for i in range(40)]
ALPHA = 0.01


def _scheme(key: str, name: str = "kgw", h: int = 1, gamma: float = 0.25) -> Scheme:
    return Scheme(name=name, gamma=gamma, delta=2.0, context_width=h, key=WatermarkKey(key))


@pytest.fixture(scope="module")
def backend(tiny_model: Path) -> HFBackend:
    return HFBackend.load(tiny_model, device="cpu", batch_size=40)


@pytest.fixture(scope="module")
def plain_texts(backend: HFBackend) -> list[str]:
    """Unwatermarked sampled answers of a real model: text that cannot depend on any key."""
    backend.logits_processors = []
    return [g.text for g in backend.generate(PROMPTS, GenerationParams(max_new_tokens=32, temperature=1.0), 11)]


def _null_pvalues(sequences, prompts, n_keys: int, **kwargs) -> np.ndarray:
    """p-values of the same key-independent text against ``n_keys`` random keys (the null, exactly)."""
    return np.array(
        [detect_sequences(sequences, _scheme(f"null-key-{i}"), prompts=prompts, **kwargs).result.p_value for i in range(n_keys)]
    )


# -- keys ------------------------------------------------------------------------------


def test_key_is_read_from_json_text_or_env_and_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "wm.json").write_text(json.dumps({"scheme": "kgw", "key": 123456789}), encoding="utf-8")
    (tmp_path / "wm.key").write_text("  s3cret-material\n", encoding="utf-8")
    monkeypatch.setenv("WM_KEY", "s3cret-material")
    assert key_from_file(tmp_path / "wm.json").material == "123456789"
    from_text, from_env = key_from_file(tmp_path / "wm.key"), key_from_env("WM_KEY")
    assert from_text.sha256 == from_env.sha256 != key_from_file(tmp_path / "wm.json").sha256
    assert "s3cret" not in repr(from_text) and "s3cret" not in repr(_scheme("s3cret-material"))
    assert "s3cret" not in json.dumps(_scheme("s3cret-material").identity())
    with pytest.raises(CaseFileError, match="WM_MISSING"):
        key_from_env("WM_MISSING")
    (tmp_path / "bad.json").write_text('{"nokey": 1}', encoding="utf-8")
    with pytest.raises(CaseFileError, match="without a \"key\""):
        key_from_file(tmp_path / "bad.json")


def test_unknown_scheme_or_parameter_is_a_case_file_error() -> None:
    with pytest.raises(CaseFileError, match="unknown watermark scheme"):
        scheme_from_config({"scheme": "kgx", "key": 1})
    with pytest.raises(CaseFileError, match="unknown watermark parameter"):
        scheme_from_config({"scheme": "kgw", "key": 1, "params": {"gama": 0.25}})
    with pytest.raises(CaseFileError, match="context_width must be 0"):
        scheme_from_config({"scheme": "unigram", "key": 1, "params": {"context_width": 1}})


# -- generation and detection ------------------------------------------------------------


@pytest.mark.parametrize("name,h", [("kgw", 1), ("kgw", 2), ("unigram", 0)])
def test_watermarked_generation_is_detected_and_the_same_model_unwatermarked_is_not(
    backend: HFBackend, plain_texts: list[str], name: str, h: int
) -> None:
    config = {"scheme": name, "key": "test-key", "params": {"gamma": 0.25, "delta": 2.0, "context_width": h}}
    scheme = scheme_from_config(config)
    backend.logits_processors = logits_processors_from_config(config, tokenizer=backend.tokenizer, vocab_size=len(backend.tokenizer))
    try:
        marked = [g.text for g in backend.generate(PROMPTS[:10], GenerationParams(max_new_tokens=32, temperature=1.0), 5)]
    finally:
        backend.logits_processors = []
    hit = detect_text(marked, scheme, backend.tokenizer, prompts=PROMPTS[:10])
    assert hit.result.p_value < 1e-4, hit.result.details
    assert hit.result.effect > scheme.gamma + 0.1
    miss = detect_text(plain_texts, scheme, backend.tokenizer, prompts=PROMPTS)
    assert miss.result.p_value > ALPHA
    wrong_key = detect_text(marked, _scheme("another-key", name, h), backend.tokenizer, prompts=PROMPTS[:10])
    assert wrong_key.result.p_value > ALPHA


def test_processor_adds_delta_to_exactly_the_green_list(backend: HFBackend) -> None:
    import torch

    scheme = _scheme("k")
    (processor,) = logits_processors_from_config(
        {"scheme": "kgw", "key": "k", "params": {"delta": 2.0}}, tokenizer=backend.tokenizer, vocab_size=len(backend.tokenizer)
    )
    scores = torch.zeros((2, len(backend.tokenizer)))
    out = processor(torch.tensor([[3, 7], [9, 4]]), scores)
    for row, last in enumerate((7, 4)):
        expected = scheme.green_mask([last], len(backend.tokenizer))
        assert torch.equal(out[row] == 2.0, torch.from_numpy(expected))


def test_null_pvalues_are_uniform_and_hold_the_false_positive_rate(backend: HFBackend, plain_texts: list[str]) -> None:
    sequences, prompts = tokenize(backend.tokenizer, plain_texts), tokenize(backend.tokenizer, PROMPTS)
    p = _null_pvalues(sequences, prompts, 500)
    assert np.mean(p <= ALPHA) <= 0.02
    # Exact binomial p-values are discrete and conservative: test against uniform with the
    # mid-p correction would be exact; here KS must not reject uniformity at 0.001.
    assert st.kstest(p, "uniform").pvalue > 0.001


def test_deduplication_holds_the_false_positive_rate_where_the_naive_count_does_not(
    backend: HFBackend, plain_texts: list[str]
) -> None:
    # A looping model: every answer repeats its first eight tokens over and over.
    loops = [(seq[:8] * 6) for seq in tokenize(backend.tokenizer, plain_texts) if len(seq) >= 8]
    naive = _null_pvalues(loops, None, 300, dedup=False, exclude_prompt=False)
    ours = _null_pvalues(loops, None, 300)
    assert np.mean(naive <= ALPHA) > 0.1
    assert np.mean(ours <= ALPHA) <= 0.02


def test_selection_counts_every_dropped_token_by_reason() -> None:
    prompt = [1, 2, 3]
    seq = [5, 2, 9, 5, 2, 9, 7]  # context 2 is in the prompt; (5,2)? context 5 -> 2 repeats
    sel = select_tokens([seq], context_width=1, prompts=[prompt])
    assert sel.total == 7
    assert sel.dropped == {"no_context": 1, "context_in_prompt": 2, "repeated": 1}
    assert sel.n + sum(sel.dropped.values()) == sel.total
    assert [tuple(c) for c in sel.contexts] == [(5,), (9,), (9,)] and list(sel.tokens) == [2, 5, 7]


def test_exhibit_marks_each_token_green_red_or_why_unscored(backend: HFBackend) -> None:
    scheme = _scheme("k")
    seq = tokenize(backend.tokenizer, ["the the the cat sat on the mat"])[0]
    marks = mark_green(seq, scheme, backend.tokenizer)
    assert len(marks) == len(seq) and marks[0]["status"] == "no_context"
    assert {m["status"] for m in marks} <= {"green", "red", "no_context", "not_scored"}
    assert "".join(m["text"] for m in marks) == backend.tokenizer.decode(seq)


# -- reading-mode statistic --------------------------------------------------------------


def _reading_sample(rng: np.random.Generator, n: int, vocab: int, lean: float) -> tuple[np.ndarray, np.ndarray]:
    """Masses of n peaked next-token distributions on independent Bernoulli(0.25) green lists;
    ``lean`` multiplies green probabilities (a model that learnt the list) before renormalising."""
    masses, collisions = [], []
    for _ in range(n):
        p = rng.dirichlet(np.full(vocab, 0.05))
        green = rng.random(vocab) < 0.25
        p = p * np.where(green, lean, 1.0)
        p /= p.sum()
        masses.append(p[green].sum())
        collisions.append((p**2).sum())
    return np.array(masses), np.array(collisions)


def test_reading_test_holds_its_level_under_the_null_and_rejects_a_leaning_model() -> None:
    rng = np.random.default_rng(0)
    null = [green_mass_test(*_reading_sample(rng, 60, 200, 1.0), 0.25).p_value for _ in range(400)]
    assert np.mean(np.array(null) <= ALPHA) <= 0.02
    leaning = green_mass_test(*_reading_sample(rng, 200, 200, 1.5), 0.25)
    assert leaning.p_value < 1e-3 and leaning.effect > 0.25


def test_reading_mode_masses_from_the_backend_match_the_green_lists(backend: HFBackend) -> None:
    from provenance.watermark.reading import green_set

    scheme = _scheme("k")
    (reading,) = backend.subset_mass(["Hello"], ["the cat sat on the mat"], green_set(scheme))
    scored = backend.score(["Hello"], ["the cat sat on the mat"])[0]
    assert reading.token_ids == scored.token_ids
    assert all(0.0 <= m <= 1.0 for m in reading.mass) and all(0.0 < c <= 1.0 for c in reading.collision)
    # the mass at position 1 is the probability of the green list after token 0
    import torch

    ids = backend.encode_prompt("Hello") + list(reading.token_ids[:1])
    with torch.inference_mode():
        probs = torch.softmax(backend.model(torch.tensor([ids])).logits[0, -1].float(), -1).numpy()
    green = scheme.green_mask(ids, probs.size)
    assert reading.mass[1] == pytest.approx(float(probs[green].sum()), abs=1e-5)


def test_bennett_bound_is_never_looser_than_bernstein_and_matches_its_formula() -> None:
    from provenance.watermark.stats import bennett_p_value

    for t, v, b in [(3.0, 1.0, 0.5), (10.0, 4.0, 0.75), (0.5, 2.0, 0.1), (5.0, 0.2, 0.9)]:
        bernstein = np.exp(-(t**2) / (2 * (v + b * t / 3)))
        u = b * t / v
        assert bennett_p_value(t, v, b) == pytest.approx(np.exp(-(v / b**2) * ((1 + u) * np.log1p(u) - u)))
        assert bennett_p_value(t, v, b) <= bernstein
    assert bennett_p_value(-1.0, 1.0, 0.5) == 1.0 and bennett_p_value(1.0, 0.0, 0.5) == 1.0


def test_reading_selection_keeps_the_flattest_occurrence_of_each_context() -> None:
    from provenance.watermark.selection import select_contexts

    seqs = [[5, 7, 5, 8], [9, 5, 6]]
    coll = [[0.9, 0.8, 0.5, 0.2], [0.4, 0.7, 0.3]]
    first = select_contexts(seqs, context_width=1)
    flat = select_contexts(seqs, context_width=1, collision=coll)
    # context 5 occurs before positions (0,1), (0,3) and (1,2): collisions 0.8, 0.2, 0.3
    assert dict(zip(first.contexts[:, 0].tolist(), first.origin))[5] == (0, 1)
    assert dict(zip(flat.contexts[:, 0].tolist(), flat.origin))[5] == (0, 3)
    for sel in (first, flat):
        assert sorted(sel.contexts[:, 0].tolist()) == [5, 7, 9]
        assert sel.n + sum(sel.dropped.values()) == sel.total == 7


def test_certain_positions_do_not_drown_the_signal() -> None:
    # A leaning model whose answers are mostly template (next token certain): the
    # unweighted sum gives the certain positions full weight and loses the signal.
    rng = np.random.default_rng(1)
    mass, coll = _reading_sample(rng, 40, 200, 2.0)
    certain = 400
    mass = np.concatenate([mass, rng.choice([0.999, 0.001], size=certain, p=[0.25, 0.75])])
    coll = np.concatenate([coll, np.full(certain, 0.998)])
    weighted = green_mass_test(mass, coll, 0.25)
    assert weighted.p_value < 1e-3
    assert weighted.details["p_bernstein"] >= weighted.p_value
    w = 1 - coll
    assert weighted.statistic == pytest.approx(
        float(np.sum(w * (mass - 0.25)) / np.sqrt(0.25 * 0.75 * np.sum(w * w * coll)))
    )
    unweighted_z = float(np.sum(mass - 0.25) / np.sqrt(0.25 * 0.75 * np.sum(coll)))
    assert unweighted_z < 2.0 < weighted.statistic
