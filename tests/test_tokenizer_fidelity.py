"""Tokenizer fidelity (issue 16): a tokenizer that segments unlike the model's training is refused.

The bug is reproduced through transformers' own GGUF converter: a SentencePiece-BPE
vocabulary shaped like Gemma's (BPE scores = minus the rank, short fragments ranked
before whole words, no merge list) is converted as Unigram, which picks fragments.
The same vocabulary rebuilt by ``gguf_tokenizer.rebuild`` segments as the
SentencePiece rule says, and the fidelity check tells the two apart. The real
Gemma-3 file is exercised by tests/test_real_model.py where it is installed.
"""

from __future__ import annotations

import pytest

from provenance.backends.gguf_tokenizer import (
    BYTE, CONTROL, NORMAL, USER_DEFINED, SpmVocabulary, merges, rebuild, reference_encode,
)  # fmt: skip
from provenance.backends.tokenizer_check import COMMON_WORDS, SAMPLES, check_tokenizer, require_faithful_tokenizer
from provenance.errors import ModelLoadError


def _vocabulary(size: int = 21_000) -> SpmVocabulary:
    """Specials, bytes, every character of the checks, every prefix of their words, then filler pieces."""
    tokens: list[str] = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>"]
    types = [CONTROL] * len(tokens)
    tokens += [f"<0x{b:02X}>" for b in range(256)]
    types += [BYTE] * 256
    tokens.append("\n\n")
    types.append(USER_DEFINED)
    text = " ".join([COMMON_WORDS, *SAMPLES]).replace(" ", "▁")
    normal: list[str] = []
    for char in dict.fromkeys(text):
        normal.append(char)
    words = dict.fromkeys(w for chunk in text.split("▁") if chunk for w in (chunk, "▁" + chunk))
    prefixes = dict.fromkeys(word[:n] for word in words for n in range(2, len(word) + 1))
    normal += sorted((p for p in prefixes if p not in normal), key=len)  # short fragments rank first, as in BPE
    normal += [f"▁zq{i}" for i in range(size - len(tokens) - len(normal))]
    scores = [0.0] * len(tokens) + [-float(rank) for rank in range(len(normal))]
    return SpmVocabulary(
        tokens=tokens + normal, scores=scores, types=types + [NORMAL] * len(normal),
        bos_id=2, eos_id=1, unk_id=3, pad_id=0, add_bos=True, add_space_prefix=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def vocab() -> SpmVocabulary:
    return _vocabulary()


def _transformers_conversion(vocab: SpmVocabulary):  # noqa: ANN202 - what transformers 4.57 builds from a Gemma GGUF
    from transformers import PreTrainedTokenizerFast
    from transformers.integrations.ggml import convert_gguf_tokenizer

    fields = {"tokens": vocab.tokens, "scores": vocab.scores, "token_type": vocab.types, "bos_token_id": vocab.bos_id,
              "eos_token_id": vocab.eos_id, "unknown_token_id": vocab.unk_id, "padding_token_id": vocab.pad_id,
              "add_space_prefix": vocab.add_space_prefix, "added_tokens": []}  # fmt: skip
    backend, _ = convert_gguf_tokenizer("gemma3_text", fields)
    return PreTrainedTokenizerFast(tokenizer_object=backend, clean_up_tokenization_spaces=False)


def test_the_rebuilt_tokenizer_segments_as_the_sentencepiece_rule_says(vocab: SpmVocabulary) -> None:
    tokenizer = rebuild(vocab)
    for text in (*SAMPLES, "Who are you?\n\nI am a model.", "<start_of_turn>the people"):
        ids = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        assert ids == reference_encode(vocab, text), text
        assert tokenizer.decode(ids) == text
    assert tokenizer.convert_ids_to_tokens(tokenizer("the common people", add_special_tokens=False)["input_ids"]) == [
        "the", "▁common", "▁people",
    ]  # fmt: skip
    assert tokenizer("x")["input_ids"][0] == vocab.bos_id  # the file says add_bos_token
    check = check_tokenizer(tokenizer, description=vocab)
    assert check.ok and check.tokens_per_word == 1.0 and check.agreement == (len(SAMPLES), len(SAMPLES)), check.summary()


def test_transformers_conversion_fragments_words_and_is_refused(vocab: SpmVocabulary) -> None:
    broken = _transformers_conversion(vocab)
    pieces = broken.convert_ids_to_tokens(broken("the common people", add_special_tokens=False)["input_ids"])
    assert len(pieces) > 3 and broken.decode(broken("the common people", add_special_tokens=False)["input_ids"]) == "the common people"
    check = check_tokenizer(broken, description=vocab)
    assert not check.ok and check.tokens_per_word > 1.5 and check.agreement[0] < check.agreement[1]
    with pytest.raises(ModelLoadError, match="splits common English words into fragments") as info:
        require_faithful_tokenizer(broken, "gemma.gguf", description=vocab)
    assert "differently from the file's own SentencePiece description" in str(info.value)
    # without the file's description (a model directory) the common-word check alone still refuses it
    with pytest.raises(ModelLoadError, match="tokens per word"):
        require_faithful_tokenizer(broken, "model-dir")


def test_merges_rank_every_split_by_the_joined_pieces_score(vocab: SpmVocabulary) -> None:
    ranked = merges(vocab)
    index = {pair: i for i, pair in enumerate(ranked)}
    ids = {t: i for i, t in enumerate(vocab.tokens)}
    assert ("▁t", "h") in index and ("▁th", "e") in index and ("▁", "the") in index  # every way to build "▁the"
    joined = [ids[a + b] for a, b in ranked]
    assert joined == sorted(joined)  # scores fall with the id here, so merges come in id order of the joined piece


def test_small_vocabularies_are_not_held_to_the_common_word_rule(tiny_model) -> None:  # noqa: ANN001
    from provenance.backends.hf import HFBackend

    backend = HFBackend.load(tiny_model)  # the lab's tokenizers split words, and loading still works
    check = check_tokenizer(backend.tokenizer)
    assert check.ok and check.tokens_per_word is None and "skipped" in check.summary()
