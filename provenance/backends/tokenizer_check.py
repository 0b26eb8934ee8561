"""Tokenizer fidelity: refuse to examine a model through a tokenizer that is not the model's.

A converted tokenizer can encode and decode losslessly and still be wrong: it
segments text into pieces the model never saw together in training, so the model
reads garbled input and writes misspelt text. Every statistic would then describe a
crippled model, silently. Two checks, run when a model is loaded:

* **common words**: a fixed English sentence of 50 of the most common words. Any
  tokenizer with a vocabulary of 20,000 pieces or more keeps nearly all of them
  whole (GPT-2, Llama, SmolLM2, Gemma: about one token per word); a broken
  conversion splits them ("the" -> "t" + "he") and shows as well over one and a
  half tokens per word. Smaller vocabularies (the lab's tiny models) are not
  checked: for them fragments are normal.
* **agreement with the file's own description** (GGUF files that describe a
  SentencePiece BPE tokenizer): the built tokenizer must segment sample sentences
  exactly as the SentencePiece BPE rule over the file's pieces and scores does
  (``gguf_tokenizer.reference_encode``).

Plus a round trip: decoding the encoded sentence gives it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from provenance.backends.gguf_tokenizer import SpmVocabulary, agreement
from provenance.errors import ModelLoadError

COMMON_WORDS = (
    "the of and to in is that for it with as was on are be this by from at or have an not which but they you were "
    "their one all can has more about people would there information because between common language world model "
    "question answer through first other after water children government"
)
#: Vocabularies smaller than this legitimately split common words.
MIN_CHECKED_VOCABULARY = 20_000
#: More tokens per common word than this: the tokenizer is not segmenting as the model was trained.
MAX_TOKENS_PER_WORD = 1.5
SAMPLES = (
    "The common people of the world speak many languages.",
    "Who trained you? I am a large language model.",
    "Explain photosynthesis in simple terms, please!",
    "In 1969, 600 million people watched the first landing on the Moon.",
    "  Indented text, a naïve café, and a tab:\there.",
)


@dataclass(frozen=True)
class TokenizerCheck:
    """What the fidelity check measured, and whether the tokenizer passes."""

    vocabulary: int
    words: int
    word_tokens: int | None
    pieces: list[str] = field(default_factory=list)
    round_trip: bool = True
    agreement: tuple[int, int] | None = None
    differing: list[str] = field(default_factory=list)

    @property
    def tokens_per_word(self) -> float | None:
        return None if self.word_tokens is None else self.word_tokens / self.words

    @property
    def ok(self) -> bool:
        per_word = self.tokens_per_word
        agreed = self.agreement is None or self.agreement[0] == self.agreement[1]
        return self.round_trip and agreed and (per_word is None or per_word <= MAX_TOKENS_PER_WORD)

    def summary(self) -> str:
        parts = []
        if self.tokens_per_word is None:
            parts.append(f"common-word check skipped (vocabulary of {self.vocabulary} < {MIN_CHECKED_VOCABULARY})")
        else:
            parts.append(f"{self.words} common words -> {self.word_tokens} tokens ({self.tokens_per_word:.2f} per word)")
        if self.agreement is not None:
            parts.append(f"agrees with the file's SentencePiece description on {self.agreement[0]} of {self.agreement[1]} samples")
        if not self.round_trip:
            parts.append("decoding does not give the text back")
        return "; ".join(parts)

    def problem(self) -> str:
        """Why the tokenizer looks broken, with the evidence, in one sentence."""
        reasons = []
        per_word = self.tokens_per_word
        if per_word is not None and per_word > MAX_TOKENS_PER_WORD:
            shown = " ".join(repr(p) for p in self.pieces[:12])
            reasons.append(
                f"it splits common English words into fragments ({per_word:.2f} tokens per word, healthy tokenizers "
                f"keep about 1; '{' '.join(COMMON_WORDS.split()[:6])}' becomes {shown})"
            )
        if self.agreement is not None and self.agreement[0] < self.agreement[1]:
            reasons.append(
                f"it segments {self.agreement[1] - self.agreement[0]} of {self.agreement[1]} sample sentences differently "
                f"from the file's own SentencePiece description (e.g. {self.differing[0]!r})"
            )
        if not self.round_trip:
            reasons.append("decoding an encoded sentence does not give it back")
        return "; ".join(reasons)


def check_tokenizer(tokenizer: Any, *, description: SpmVocabulary | None = None) -> TokenizerCheck:  # noqa: ANN401
    """Measure a ``transformers`` tokenizer; ``description``: the GGUF file's SentencePiece pieces, when it has them."""
    vocabulary = len(tokenizer)
    words = COMMON_WORDS.split()
    word_tokens, pieces = None, []
    if vocabulary >= MIN_CHECKED_VOCABULARY:
        ids = list(tokenizer(COMMON_WORDS, add_special_tokens=False)["input_ids"])
        word_tokens = len(ids)
        pieces = tokenizer.convert_ids_to_tokens(ids[:12])
    plain = SAMPLES[0]
    round_trip = tokenizer.decode(tokenizer(plain, add_special_tokens=False)["input_ids"]) == plain
    agreed, differing = None, []
    if description is not None:
        same, differing = agreement(tokenizer, description, SAMPLES)
        agreed = (same, len(SAMPLES))
    return TokenizerCheck(vocabulary, len(words), word_tokens, list(pieces), round_trip, agreed, differing)


def require_faithful_tokenizer(tokenizer: Any, where: str, *, description: SpmVocabulary | None = None) -> TokenizerCheck:  # noqa: ANN401
    """Run the fidelity check; refuse the model, naming what is wrong, when the tokenizer looks broken."""
    check = check_tokenizer(tokenizer, description=description)
    if not check.ok:
        raise ModelLoadError(
            f"the tokenizer of {where} looks broken: {check.problem()}",
            hint="the model would be examined reading text unlike its training; serve the file with llama.cpp "
            '(backend = "openai"), or convert it with a tokenizer.json from its publisher',
        )
    return check
