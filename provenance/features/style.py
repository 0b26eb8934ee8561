"""Style features of responses: length, formatting, punctuation habits, favourite n-grams.

:func:`style_features` returns one value per name in :data:`FEATURE_NAMES`, in that
order, and :func:`feature_matrix` stacks them for a set of responses (the input to the
MMD two-sample test). Counts that grow with length are ``log1p``-transformed (their
names start with ``log_``); the rest are rates per word, per sentence or per line, or
0/1 flags, so one long answer does not dominate a kernel. The columns are *not*
standardised: a kernel test should standardise them on the pooled sample (or use a
median-distance bandwidth) so that every feature counts.

Words are runs of letters/digits (with inner apostrophes); each CJK, kana or Hangul
character counts as one word, because those scripts do not separate words with spaces.
The features are designed for English-like text and still meaningful elsewhere, but
sentence splitting knows only ``. ! ?`` and their full-width forms.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["FEATURE_NAMES", "feature_matrix", "ngram_profile", "style_features", "words"]

#: Column order of :func:`feature_matrix`. Append new features at the end, never reorder:
#: stored analyses name their columns by this order.
FEATURE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "log_lines",
    "log_paragraphs",
    "log_mean_sentence_words",
    "mean_word_chars",
    "type_token_ratio",
    "bullet_line_frac",
    "numbered_line_frac",
    "header_line_frac",
    "code_char_frac",
    "table_line_frac",
    "bold_per_100_words",
    "exclamation_per_sentence",
    "question_per_sentence",
    "emoji_per_100_words",
    "em_dash_per_100_words",
    "colon_per_100_words",
    "semicolon_per_100_words",
    "comma_per_word",
    "parenthesis_per_100_words",
    "quote_per_100_words",
    "ellipsis_per_100_words",
    "capitalised_word_frac",
    "all_caps_word_frac",
    "digit_char_frac",
    "non_ascii_char_frac",
    "first_person_per_word",
    "second_person_per_word",
    "opens_with_affirmation",
    "ends_with_question",
)

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+(?:['\u2019][^\W{_CJK}]+)*")
_SENTENCE = re.compile(r"[^.!?\u3002\uff01\uff1f\n]+(?:[.!?\u3002\uff01\uff1f]+|$)", re.M)
_BULLET = re.compile(r"^\s*[-*+\u2022\u25cf\u25aa]\s+\S")
_NUMBERED = re.compile(r"^\s*(?:\d{1,3}|[a-zA-Z])[.)]\s+\S")
_HEADER = re.compile(r"^\s{0,3}#{1,6}\s+\S|^\s*\*\*[^*\n]{1,80}\*\*:?\s*$")
_LIST_MARKER = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*+\u2022\u25cf\u25aa])\s+", re.M)
_TABLE = re.compile(r"^\s*\|.*\|\s*$")
_CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b50\u2b55\u203c\u2049\u2122\u2139\u3030\u303d\u3297\u3299]")
_EM_DASH = re.compile(r"\u2014|\u2013|(?<=\s)--(?=\s)")
_QUOTE = re.compile("[\"\u201c\u201d\u00ab\u00bb\u201e]")
_ELLIPSIS = re.compile(r"\.\.\.|\u2026")
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "i'm", "i've", "i'd", "i'll"})
_SECOND_PERSON = frozenset({"you", "your", "yours", "yourself", "you're", "you've", "you'd", "you'll"})
_AFFIRMATION = re.compile(
    r"^\W*(?:sure|certainly|of\s+course|absolutely|great|definitely|okay|ok|yes|happy\s+to|glad\s+you|"
    r"good\s+question|great\s+question|what\s+a\s+great)\b",
    re.I,
)


def words(text: str) -> list[str]:
    """Word tokens of ``text`` (lower-cased), the unit of every per-word rate and n-gram."""
    return [w.lower().replace("\u2019", "'") for w in _WORD.findall(text or "")]


def style_features(text: str) -> dict[str, float]:
    """One value per :data:`FEATURE_NAMES` entry, in that order, for one response."""
    text = text or ""
    tokens = _WORD.findall(text)
    n_words = len(tokens)
    lines = [line for line in text.split("\n") if line.strip()]
    n_lines = len(lines)
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    prose = _LIST_MARKER.sub("", _CODE_BLOCK.sub(" ", text))
    sentences = [s for s in _SENTENCE.findall(prose) if _WORD.search(s)]
    n_sentences = len(sentences)
    lowered = [t.lower().replace("\u2019", "'") for t in tokens]
    latin = [t for t in tokens if t[:1].isalpha() and not re.match(f"[{_CJK}]", t)]
    code_chars = sum(len(m) for m in _CODE_BLOCK.findall(text))
    stripped = text.strip()

    def per_words(count: int, scale: float = 100.0) -> float:
        return scale * count / n_words if n_words else 0.0

    def per_sentence(count: int) -> float:
        return count / n_sentences if n_sentences else 0.0

    def line_frac(pattern: re.Pattern[str]) -> float:
        return sum(1 for line in lines if pattern.match(line)) / n_lines if n_lines else 0.0

    mean_sentence_words = (sum(len(_WORD.findall(s)) for s in sentences) / n_sentences) if n_sentences else 0.0
    values = {
        "log_chars": math.log1p(len(text)),
        "log_words": math.log1p(n_words),
        "log_lines": math.log1p(n_lines),
        "log_paragraphs": math.log1p(len(paragraphs)),
        "log_mean_sentence_words": math.log1p(mean_sentence_words),
        "mean_word_chars": (sum(len(t) for t in tokens) / n_words) if n_words else 0.0,
        "type_token_ratio": (len(set(lowered)) / n_words) if n_words else 0.0,
        "bullet_line_frac": line_frac(_BULLET),
        "numbered_line_frac": line_frac(_NUMBERED),
        "header_line_frac": line_frac(_HEADER),
        "code_char_frac": code_chars / len(text) if text else 0.0,
        "table_line_frac": line_frac(_TABLE),
        "bold_per_100_words": per_words(len(_BOLD.findall(text))),
        "exclamation_per_sentence": per_sentence(prose.count("!") + prose.count("\uff01")),
        "question_per_sentence": per_sentence(prose.count("?") + prose.count("\uff1f")),
        "emoji_per_100_words": per_words(len(_EMOJI.findall(text))),
        "em_dash_per_100_words": per_words(len(_EM_DASH.findall(text))),
        "colon_per_100_words": per_words(prose.count(":")),
        "semicolon_per_100_words": per_words(prose.count(";")),
        "comma_per_word": per_words(prose.count(",") + prose.count("\uff0c") + prose.count("\u3001"), 1.0),
        "parenthesis_per_100_words": per_words(prose.count("(")),
        "quote_per_100_words": per_words(len(_QUOTE.findall(prose))),
        "ellipsis_per_100_words": per_words(len(_ELLIPSIS.findall(prose))),
        "capitalised_word_frac": (sum(1 for t in latin if t[0].isupper()) / len(latin)) if latin else 0.0,
        "all_caps_word_frac": (sum(1 for t in latin if len(t) >= 2 and t.isupper()) / len(latin)) if latin else 0.0,
        "digit_char_frac": (sum(ch.isdigit() for ch in text) / len(text)) if text else 0.0,
        "non_ascii_char_frac": (sum(ord(ch) > 127 for ch in text) / len(text)) if text else 0.0,
        "first_person_per_word": per_words(sum(1 for t in lowered if t in _FIRST_PERSON), 1.0),
        "second_person_per_word": per_words(sum(1 for t in lowered if t in _SECOND_PERSON), 1.0),
        "opens_with_affirmation": 1.0 if _AFFIRMATION.match(stripped) else 0.0,
        "ends_with_question": 1.0 if stripped.endswith(("?", "\uff1f")) else 0.0,
    }
    return {name: float(values[name]) for name in FEATURE_NAMES}


@functools.lru_cache(maxsize=1 << 16)  # the same answers are compared in every pairing of a panel
def _feature_row(text: str) -> tuple[float, ...]:
    return tuple(style_features(text).values())


def feature_matrix(texts: Iterable[str]) -> np.ndarray:
    """Rows of :func:`style_features` for ``texts``; shape (n, len(FEATURE_NAMES)), float64."""
    rows = [_feature_row(t) for t in texts]
    if not rows:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float64)
    return np.asarray(rows, dtype=np.float64)


def ngram_profile(texts: Iterable[str] | str, n: int | Sequence[int] = (2, 3)) -> Counter[str]:
    """Counts of word n-grams (space-joined, lower-cased) over ``texts``, for each width in ``n``.

    ``ngram_profile(responses)`` counts bigrams and trigrams; ``n=1`` counts words. An
    n-gram never crosses from one text to the next.
    """
    widths = (n,) if isinstance(n, int) else tuple(n)
    if not widths or any(w < 1 for w in widths):
        raise ValueError("n-gram widths must be positive")
    if isinstance(texts, str):
        texts = [texts]
    profile: Counter[str] = Counter()
    for text in texts:
        tokens = words(text)
        for width in widths:
            profile.update(" ".join(tokens[i : i + width]) for i in range(len(tokens) - width + 1))
    return profile
