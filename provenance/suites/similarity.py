"""Per-prompt similarity between two answers, independent of any model's tokenizer.

Different models cut text into different tokens, so black-box comparisons use
words: the Jaccard overlap of word bigrams (1.0 = same wording, 0.0 = none shared).
"""

from __future__ import annotations

from provenance.features.style import words


def bigrams(text: str) -> set[tuple[str, str]]:
    tokens = [w.lower() for w in words(text)]
    if len(tokens) == 1:
        return {(tokens[0], "")}
    return set(zip(tokens, tokens[1:]))


def jaccard(a: set, b: set) -> float:  # noqa: ANN001 - any hashable elements
    """|a ∩ b| / |a ∪ b|; two empty sets count as identical."""
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def text_similarity(a: str, b: str) -> float:
    return jaccard(bigrams(a), bigrams(b))
