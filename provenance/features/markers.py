"""Teacher markers: the word n-grams a teacher uses far more than other models do.

Black-box suspects can only be compared through their text, and two fluent models
share much common phrasing, so "the suspect's answers overlap the teacher's" rewards
fluency. What a student can inherit is the teacher's *idiosyncrasies*: its stock
phrases, openers and formats (Sun et al. 2025, "Idiosyncrasies in Large Language
Models", arXiv:2502.12150, tell five frontier models apart from their text alone).
Markers are chosen by the log-odds ratio with
an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, Political Analysis
16:372), teacher vs background answers, on one half of the prompts; the test
(``stats.markers``) counts their use on the other half, so the choice never sees the
text it is tested on.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable

from provenance.features.style import words

#: n-gram orders: single words miss phrasing, 4-grams are too rare in short answers. Single words stay: with
#: phrases of two and three words only, most independent models use no marker on a small budget, and a panel
#: of zeros fails the check of a normal spread (the exact rank form cannot reach alpha); a common word used
#: by a model of another kind is met by counting a marker once per answer (``marker_rate``).
MARKER_ORDERS = (1, 2, 3)
#: Markers kept per comparison: enough to cover a teacher's habits, few enough that each is specific.
MARKER_COUNT = 60
#: A marker must be used in at least this many of the teacher's answers (a one-off is not a habit).
MARKER_MIN_ANSWERS = 3
#: Smallest z-score of the log-odds ratio for an n-gram to count as the teacher's.
MARKER_MIN_Z = 1.96


def ngrams(text: str, orders: Iterable[int] = MARKER_ORDERS) -> list[tuple[str, ...]]:
    """Lower-cased word n-grams of ``text``, every order, in order of appearance."""
    tokens = [w.lower() for w in words(text)]
    return [tuple(tokens[i : i + n]) for n in orders for i in range(len(tokens) - n + 1)]


def split_prompts(probe_ids: Iterable[str], seed: int) -> tuple[list[str], list[str]]:
    """A fixed half / half split of prompt ids (selection half, test half), by a seeded hash."""
    selection, test = [], []
    for pid in sorted(probe_ids):
        digest = hashlib.sha256(f"{seed}:{pid}".encode()).digest()
        (selection if digest[0] % 2 == 0 else test).append(pid)
    return selection, test


def select_markers(teacher_texts: Iterable[str], background_texts: Iterable[str], *, count: int = MARKER_COUNT,
                   min_answers: int = MARKER_MIN_ANSWERS, min_z: float = MARKER_MIN_Z) -> list[tuple[str, ...]]:
    """The n-grams most specific to the teacher against the background, by log-odds z-score.

    Counts are per answer (an n-gram counts once per answer), so one long repetitive
    answer cannot make a marker. The prior is the pooled frequency (informative
    Dirichlet, total weight = pooled vocabulary size), which shrinks rare n-grams.
    """
    return _select(_per_answer(teacher_texts), _per_answer(background_texts), count=count, min_answers=min_answers,
                   min_z=min_z)


def marker_rate(text: str, markers: set[tuple[str, ...]]) -> float:
    """Teacher markers used in the answer, per n-gram position of the answer (0 for an empty answer).

    A marker counts once per answer, as in its selection: an answer repeating one phrase uses
    it once, so a degenerate model cannot make a rate out of one phrase.
    """
    grams = ngrams(text)
    if not grams:
        return 0.0
    return len(markers.intersection(grams)) / len(grams)


class MarkerCounts:
    """Per-answer n-gram counts of the teacher and of each other model, counted once.

    Every model of a panel gets its own markers, chosen against all the other models but
    itself (leave-one-out); counting once and subtracting a model's counts from the pooled
    background gives each selection for the price of a scan of the teacher's vocabulary.
    """

    def __init__(self, teacher_texts: Iterable[str], model_texts: dict[str, list[str]]) -> None:
        self.teacher = _per_answer(teacher_texts)
        self.models = {m: _per_answer(texts) for m, texts in model_texts.items()}

    def select(self, background: Iterable[str], *, count: int = MARKER_COUNT, min_answers: int = MARKER_MIN_ANSWERS,
               min_z: float = MARKER_MIN_Z) -> list[tuple[str, ...]]:
        """``select_markers`` of the teacher against the models in ``background``, from the stored counts."""
        cb: Counter[tuple[str, ...]] = Counter()
        for m in background:
            cb.update(self.models[m])
        return _select(self.teacher, cb, count=count, min_answers=min_answers, min_z=min_z)


def _per_answer(texts: Iterable[str]) -> Counter[tuple[str, ...]]:
    """n-gram counts where an n-gram counts once per answer: the count is the number of answers using it."""
    return Counter(g for t in texts for g in set(ngrams(t)))


def _select(ct: Counter, cb: Counter, *, count: int, min_answers: int, min_z: float) -> list[tuple[str, ...]]:
    if not ct or not cb:
        return []
    pooled = ct + cb
    a0 = float(len(pooled))
    total = sum(pooled.values())
    nt, nb = sum(ct.values()), sum(cb.values())
    scored = []
    for g, yt in ct.items():
        if yt < min_answers:  # counts are per answer: yt answers of the teacher use g
            continue
        alpha = a0 * pooled[g] / total
        yb = cb.get(g, 0)
        delta = (math.log((yt + alpha) / (nt + a0 - yt - alpha)) - math.log((yb + alpha) / (nb + a0 - yb - alpha)))
        z = delta / math.sqrt(1.0 / (yt + alpha) + 1.0 / (yb + alpha))
        if z >= min_z:
            scored.append((z, g))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [g for _, g in scored[:count]]
