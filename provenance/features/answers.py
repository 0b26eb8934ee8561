"""Is a free-text response to a short factual question correct? Normalise and contain.

:func:`normalise_answer` maps text to a canonical token string: Unicode NFKC, accents
removed, lower case, a capitalised name's possessive dropped ("Newton's" -> "newton"),
apostrophes dropped ("Hawai'i" -> "hawaii"), other punctuation to
spaces, English articles removed, number words turned into digits ("fifty-six" -> "56",
"one hundred and twenty" -> "120"), thousands separators removed ("1,000" -> "1000"),
trailing zero decimals dropped ("56.0" -> "56"), ordinal suffixes dropped ("16th" ->
"16") and initials joined ("J. K. Rowling" -> "jk rowling").

:func:`is_correct` then asks whether the normalised answer (or any alias) occurs in the
normalised response as a whole-token run, so "The capital of France is Paris." is correct
for "Paris" and "The answer is 156" is not correct for "56".

Limits: containment cannot tell a hedge ("either Sydney or Canberra") or a correction
("not Sydney but Canberra" is correct for both) from a committed answer; use
:func:`first_match` with the distractors when the *given* answer matters (it returns
the candidate mentioned first). Signs are dropped with other punctuation, so negative
numbers are not distinguished ("-3" matches "3"): the shipped questions avoid them.
Only English articles and number words are handled; "zwei" does not become "2".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

__all__ = ["first_match", "is_correct", "normalise_answer"]

_ARTICLES = frozenset({"a", "an", "the"})
_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TENS) | frozenset(_SCALES)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words_to_number(words: list[str]) -> int | None:
    """Value of a run of number words ("one hundred and twenty three"), or None if malformed."""
    total, current, seen = 0, 0, False
    for word in words:
        if word == "and":
            continue
        if word in _UNITS:
            current += _UNITS[word]
        elif word in _TENS:
            current += _TENS[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


def _convert_number_words(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in _NUMBER_WORDS:
            j = i
            run: list[str] = []
            while j < len(tokens) and (tokens[j] in _NUMBER_WORDS or (tokens[j] == "and" and run and j + 1 < len(tokens) and tokens[j + 1] in _NUMBER_WORDS)):
                run.append(tokens[j])
                j += 1
            value = _words_to_number(run)
            if value is not None:
                out.append(str(value))
                i = j
                continue
        out.append(tokens[i])
        i += 1
    return out


def normalise_answer(text: str) -> str:
    """Canonical token string of ``text`` (see the module docstring for the rules)."""
    s = unicodedata.normalize("NFKC", text or "")
    # Real answers (SmolLM2): "Newton's first law" names Newton; "is'mice'" (a decoder's
    # space clean-up glued the quote to the word before) says "is mice".
    s = re.sub(r"\b([A-Z][\w-]{2,})['\u2019]s\b", r"\1", s)  # Newton's -> Newton (not it's)
    s = re.sub(r"(?<=\w)['\u2019](?=[^'\u2019\s]+['\u2019](?!\w))", " ", s)  # is'mice' -> is 'mice'
    s = _strip_accents(s).lower()
    s = s.replace("&", " and ")
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)  # 1,000 -> 1000
    s = re.sub(r"(?<=\d)\.0+\b", "", s)  # 56.0 -> 56
    s = re.sub(r"(?<=\d)(?:st|nd|rd|th)\b", "", s)  # 16th -> 16
    s = re.sub(r"['\u2019\u02bc`]", "", s)  # it's -> its, hawai'i -> hawaii
    s = re.sub(r"(?<=\d)\.(?=\d)", "\0", s)  # keep decimal points
    s = re.sub(r"[^\w\0]+|_", " ", s)
    s = s.replace("\0", ".")
    tokens = [t for t in s.split() if t not in _ARTICLES]
    return " ".join(_join_initials(_convert_number_words(tokens)))


def _join_initials(tokens: list[str]) -> list[str]:
    """Runs of two or more single letters are initials: "j k rowling" -> "jk rowling"."""
    out: list[str] = []
    run: list[str] = []
    for token in [*tokens, ""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        out.extend(["".join(run)] if len(run) >= 2 else run)
        run = []
        if token:
            out.append(token)
    return out


def _contains(haystack: str, needle: str) -> int:
    """Start of the first whole-token occurrence of ``needle`` in ``haystack``, or -1."""
    if not needle:
        return -1
    m = re.search(rf"(?<!\S){re.escape(needle)}(?!\S)", haystack)
    return m.start() if m else -1


def is_correct(response: str, answer: str, aliases: Iterable[str] = ()) -> bool:
    """Does ``response`` contain ``answer`` or one of ``aliases``, after normalisation?"""
    text = normalise_answer(response)
    return any(_contains(text, normalise_answer(c)) >= 0 for c in (answer, *aliases))


def first_match(response: str, candidates: Sequence[str] | dict[str, Sequence[str]]) -> str | None:
    """Which candidate ``response`` mentions first (its given answer), or None.

    ``candidates`` is a list of answers, or a mapping from an answer to its aliases
    (``{"Canberra": [], "Sydney": []}``). The earliest whole-token occurrence wins; ties
    go to the longer candidate.
    """
    text = normalise_answer(response)
    table = candidates if isinstance(candidates, dict) else {c: () for c in candidates}
    best: tuple[int, int, str] | None = None
    for answer, aliases in table.items():
        for form in (answer, *aliases):
            norm = normalise_answer(form)
            pos = _contains(text, norm)
            if pos >= 0 and (best is None or (pos, -len(norm)) < (best[0], best[1])):
                best = (pos, -len(norm), answer)
    return best[2] if best else None
