"""Per-prompt similarity between two answers, independent of any model's tokenizer.

Different models cut text into different tokens, so black-box comparisons use
words: the Jaccard overlap of word bigrams (1.0 = same wording, 0.0 = none shared).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

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


#: A word used in at least this share of one model's answers is that model's framing
#: ("The answer is ..."), not content.
BOILERPLATE_SHARE = 0.3


def boilerplate_words(texts: Iterable[str]) -> set[str]:
    """Words that appear in at least BOILERPLATE_SHARE of the given answers."""
    texts = list(texts)
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({w.lower() for w in words(text)})
    return {w for w, c in counts.items() if texts and c / len(texts) >= BOILERPLATE_SHARE}


def content_words(text: str, exclude: set[str]) -> set[str]:
    """The distinct lower-cased words of ``text`` that are not in ``exclude``."""
    return {w.lower() for w in words(text)} - exclude
