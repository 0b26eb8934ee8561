"""SentencePiece-BPE tokenizers rebuilt from what a GGUF file carries.

A GGUF file with ``tokenizer.ggml.model = "llama"`` describes a SentencePiece BPE
tokenizer by its vocabulary, one score per piece and one type per piece; it
carries no merge list. Encoding (as llama.cpp and SentencePiece do it) repeatedly
joins the adjacent pair of pieces whose join is in the vocabulary with the highest
score. ``transformers`` 4.57 converts Gemma's files as a *Unigram* model over those
scores instead: Unigram picks the segmentation whose scores sum highest, and since
a BPE score is minus the piece's rank, short frequent fragments beat whole words
("the" -> "t" + "he"). The model then reads text unlike its training and writes
misspelt text: examined that way it is a crippled model.

:func:`rebuild` makes the BPE tokenizer the file describes (merges derived from
the scores: every split of a piece into two pieces of the vocabulary, ranked by
the piece's score), and :func:`reference_encode` is an independent, direct
implementation of the SentencePiece BPE rule, used by the fidelity check to
confirm that the built tokenizer segments as the file says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: llama.cpp's token types (gguf.TokenType).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
#: Architectures whose SentencePiece-BPE files ``transformers`` converts as Unigram.
REBUILT_ARCHITECTURES = frozenset({"gemma", "gemma2", "gemma3", "gemma3_text"})
DESCRIPTION = "SentencePiece BPE rebuilt by provenance from the file's vocabulary, scores and token types"


@dataclass(frozen=True)
class SpmVocabulary:
    """The tokenizer a GGUF file describes: pieces, scores, types, special ids."""

    tokens: list[str]
    scores: list[float]
    types: list[int]
    bos_id: int | None
    eos_id: int | None
    unk_id: int | None
    pad_id: int | None
    add_bos: bool
    add_space_prefix: bool

    @classmethod
    def read(cls, reader: Any) -> SpmVocabulary:  # noqa: ANN401 - a gguf.GGUFReader (opening one parses every field: share it)
        import numpy as np

        fields = reader.fields

        def array(key: str) -> list[Any] | None:
            field = fields.get(f"tokenizer.ggml.{key}")
            if field is None:
                return None
            if key == "tokens":
                return [bytes(field.parts[i]).decode("utf-8", errors="replace") for i in field.data]
            return np.concatenate([field.parts[i] for i in field.data]).tolist() if len(field.data) else []

        def scalar(key: str, default: Any = None) -> Any:  # noqa: ANN401
            field = fields.get(f"tokenizer.ggml.{key}")
            return default if field is None else field.contents()

        tokens = array("tokens") or []
        return cls(
            tokens=tokens,
            scores=[float(s) for s in (array("scores") or [0.0] * len(tokens))],
            types=[int(t) for t in (array("token_type") or [NORMAL] * len(tokens))],
            bos_id=_int(scalar("bos_token_id")),
            eos_id=_int(scalar("eos_token_id")),
            unk_id=_int(scalar("unknown_token_id")),
            pad_id=_int(scalar("padding_token_id")),
            add_bos=bool(scalar("add_bos_token", True)),
            add_space_prefix=bool(scalar("add_space_prefix", True)),
        )

    def normal_ids(self) -> dict[str, int]:
        """Pieces that BPE may produce by merging, with their ids."""
        return {t: i for i, (t, ty) in enumerate(zip(self.tokens, self.types)) if ty == NORMAL}


def _int(value: Any) -> int | None:  # noqa: ANN401
    return None if value is None else int(value)


def needs_rebuild(meta: dict[str, Any], tokenizer_model: str | None) -> bool:
    """True for a SentencePiece-BPE file of an architecture that transformers converts as Unigram."""
    return tokenizer_model == "llama" and str(meta.get("general.architecture")) in REBUILT_ARCHITECTURES


def merges(vocab: SpmVocabulary) -> list[tuple[str, str]]:
    """Every (left, right) whose join is a normal piece, highest-scoring join first."""
    ids = {t: i for i, t in enumerate(vocab.tokens)}
    normal = vocab.normal_ids()
    ranked: list[tuple[float, int, int, str, str]] = []
    for piece, piece_id in normal.items():
        for cut in range(1, len(piece)):
            left, right = piece[:cut], piece[cut:]
            if left in normal and right in normal:
                ranked.append((-vocab.scores[piece_id], piece_id, ids[left], left, right))
    ranked.sort()
    return [(left, right) for *_, left, right in ranked]


def rebuild(vocab: SpmVocabulary, chat_template: str | None = None) -> Any:  # noqa: ANN401 - PreTrainedTokenizerFast
    """A ``transformers`` fast tokenizer that segments as the file describes."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, processors
    from transformers import PreTrainedTokenizerFast

    table = {t: i for i, t in enumerate(vocab.tokens)}
    unk = vocab.tokens[vocab.unk_id] if vocab.unk_id is not None else None
    model = models.BPE(vocab=table, merges=merges(vocab), unk_token=unk, fuse_unk=True, byte_fallback=True)
    tokenizer = Tokenizer(model)
    replace = normalizers.Replace(" ", "▁")
    tokenizer.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), replace]) if vocab.add_space_prefix else replace
    tokenizer.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()]
                                          + ([decoders.Strip(" ", 1, 0)] if vocab.add_space_prefix else []))  # fmt: skip
    # Control pieces (<bos>, <start_of_turn>) and user-defined pieces ("\n\n", "[multimodal]") are matched
    # whole in the text before BPE, as SentencePiece does; only control pieces are "special".
    tokenizer.add_special_tokens([AddedToken(t, normalized=False, special=True) for t, ty in zip(vocab.tokens, vocab.types) if ty == CONTROL])
    tokenizer.add_tokens([AddedToken(t, normalized=False, special=False) for t, ty in zip(vocab.tokens, vocab.types) if ty == USER_DEFINED])
    bos = vocab.tokens[vocab.bos_id] if vocab.bos_id is not None else None
    if vocab.add_bos and bos is not None:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, vocab.bos_id)]
        )

    def name(index: int | None) -> str | None:
        return vocab.tokens[index] if index is not None and 0 <= index < len(vocab.tokens) else None

    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=name(vocab.bos_id), eos_token=name(vocab.eos_id),
        unk_token=name(vocab.unk_id), pad_token=name(vocab.pad_id), clean_up_tokenization_spaces=False,
    )  # fmt: skip
    if chat_template:
        fast.chat_template = chat_template
    return fast


def reference_encode(vocab: SpmVocabulary, text: str, *, pieces: dict[str, int] | None = None) -> list[int]:
    """SentencePiece BPE applied directly to ``text`` (no BOS).

    Control and user-defined pieces ("<start_of_turn>", "\\n\\n", runs of spaces) are
    taken whole first, longest match leftmost. In the text between them: start from
    single characters; while some adjacent pair joins into a normal piece, join the
    pair whose piece scores highest (leftmost on a tie); characters left outside the
    vocabulary become their UTF-8 byte pieces. Quadratic: for short checks only.
    """
    pieces = pieces if pieces is not None else vocab.normal_ids()
    whole = {t: i for i, (t, ty) in enumerate(zip(vocab.tokens, vocab.types)) if ty in (CONTROL, USER_DEFINED) and t}
    longest = max((len(t) for t in whole), default=0)
    ids: list[int] = []
    segment: list[str] = []
    position = 0
    first = True
    while position < len(text):
        match = next((text[position:position + n] for n in range(min(longest, len(text) - position), 0, -1)
                      if text[position:position + n] in whole), None)  # fmt: skip
        if match is None:
            segment.append(text[position])
            position += 1
            continue
        ids.extend(_bpe(vocab, "".join(segment), pieces, prefix=first and vocab.add_space_prefix))
        segment, first = [], False
        ids.append(whole[match])
        position += len(match)
    ids.extend(_bpe(vocab, "".join(segment), pieces, prefix=first and vocab.add_space_prefix))
    return ids


def _bpe(vocab: SpmVocabulary, text: str, pieces: dict[str, int], *, prefix: bool) -> list[int]:
    if not text:
        return []
    symbols = list(("▁" if prefix else "") + text.replace(" ", "▁"))
    while len(symbols) > 1:
        best, best_score = -1, float("-inf")
        for i in range(len(symbols) - 1):
            index = pieces.get(symbols[i] + symbols[i + 1])
            if index is not None and vocab.scores[index] > best_score:
                best, best_score = i, vocab.scores[index]
        if best < 0:
            break
        symbols[best : best + 2] = [symbols[best] + symbols[best + 1]]
    ids: list[int] = []
    for symbol in symbols:
        if symbol in pieces:
            ids.append(pieces[symbol])
        else:
            byte_ids = _byte_ids(vocab)
            ids.extend(byte_ids.get(b, vocab.unk_id or 0) for b in symbol.encode("utf-8"))
    return ids


def _byte_ids(vocab: SpmVocabulary) -> dict[int, int]:
    return {int(t[3:5], 16): i for i, (t, ty) in enumerate(zip(vocab.tokens, vocab.types)) if ty == BYTE and len(t) == 6}


def agreement(tokenizer: Any, vocab: SpmVocabulary, samples: Sequence[str]) -> tuple[int, list[str]]:  # noqa: ANN401
    """How many samples the tokenizer segments exactly as :func:`reference_encode`; the first few that differ."""
    pieces = vocab.normal_ids()
    same, differing = 0, []
    for text in samples:
        built = list(tokenizer(text, add_special_tokens=False)["input_ids"])
        if built == reference_encode(vocab, text, pieces=pieces):
            same += 1
        elif len(differing) < 3:
            differing.append(text)
    return same, differing
