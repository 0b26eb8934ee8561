"""Attribution: a text classifier that tells the teacher's answers from other models'.

Markers (``features.markers``) test a list of phrases; a classifier weighs every
character and word n-gram at once, so it also catches habits no single phrase
carries (punctuation, openers, formatting, word choice). Sun et al. 2025
("Idiosyncrasies in Large Language Models", arXiv:2502.12150) tell five frontier
models apart from their text alone with 97 % accuracy using classifiers of this
kind, and the signal survives paraphrase; a student trained on a teacher's answers
writes with its habits, so the classifier should take the student's answers for the
teacher's more often than an independent model's.

Why the classifier never sees the control it is compared with: trained on
"teacher vs the controls", it would learn each control's own habits and score the
control's answers as *not teacher* with a confidence no unseen model could get, so
any independent suspect would look more teacher-like than the control. Per control
it is trained on the teacher against *background* models (other controls, reference
models), on a selection half of the prompts, and then scores the suspect's and the
control's answers on the other half: both are equally unseen.

TF-IDF over character 2-4-grams (within words) and word 1-2-grams, logistic
regression with balanced classes: a linear model that is deterministic and fast on CPU.
The panel test scores each answer by ``teacher_evidence`` (the positive weights only),
not by the log-odds: a model whose text is unlike every training model's sits at the
classifier's prior, which reads as "more teacher-like" than any background model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_union

#: Regularisation strength of the logistic regression (sklearn's C; 1.0 is its default).
ATTRIBUTION_C = 1.0


@dataclass(frozen=True)
class Attributor:
    """A fitted teacher-vs-background classifier; ``score`` gives log-odds of "the teacher wrote this"."""

    pipeline: Pipeline
    n_teacher: int
    n_background: int

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.pipeline.decision_function(list(texts)), dtype=float)

    def hits(self, teacher_texts: Sequence[str], background_texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Per text, whether it is attributed rightly: the teacher's to the teacher, the background's not."""
        t = self.score(teacher_texts) > 0 if teacher_texts else np.zeros(0, dtype=bool)
        b = self.score(background_texts) <= 0 if background_texts else np.zeros(0, dtype=bool)
        return t, b

    def accuracy(self, teacher_texts: Sequence[str], background_texts: Sequence[str]) -> float:
        """Balanced accuracy on texts it was not trained on (mean of the two classes' hit rates)."""
        rates = [float(x.mean()) for x in self.hits(teacher_texts, background_texts) if x.size]
        return float(np.mean(rates)) if rates else float("nan")


def train_attributor(teacher_texts: Sequence[str], background_texts: Sequence[str]) -> Attributor:
    """Fit the classifier: teacher's answers (label 1) against background models' answers (label 0).

    Deterministic, so the same texts give the same classifier; fits are kept (a panel of
    models compares every suspect with the same teacher and backgrounds).
    """
    if not teacher_texts or not background_texts:
        raise ValueError("an attributor needs answers from the teacher and from at least one background model")
    return _fit(tuple(teacher_texts), tuple(background_texts))


@lru_cache(maxsize=64)
def _fit(teacher_texts: tuple[str, ...], background_texts: tuple[str, ...]) -> Attributor:
    features = make_union(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True,
                        token_pattern=r"(?u)\b\w+\b|[^\w\s]"),
    )
    model = LogisticRegression(C=ATTRIBUTION_C, class_weight="balanced", max_iter=2000)
    pipeline = Pipeline([("features", features), ("model", model)])
    texts = [*teacher_texts, *background_texts]
    labels = np.r_[np.ones(len(teacher_texts), dtype=int), np.zeros(len(background_texts), dtype=int)]
    pipeline.fit([t if t.strip() else " " for t in texts], labels)
    return Attributor(pipeline, len(teacher_texts), len(background_texts))


@dataclass(frozen=True)
class _Linear:
    """A logistic regression over a fixed feature space (``AttributionSpace``), with ``Attributor``'s interface."""

    space: AttributionSpace
    model: LogisticRegression

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.decision_function(self.space.features(texts)), dtype=float)

    def teacher_evidence(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, the evidence *for* the teacher's writing: its features weighted by the positive weights only.

        The log-odds also counts the absence of what the background models write as evidence for the
        teacher, so text unlike every model the classifier was trained on (a raw base continuing a
        document, another language) sits at the classifier's prior, far above every panel model that
        writes like the background, without a trace of the teacher in it. Only features the teacher
        uses more than the background raise this score; a text without them scores 0. The features are
        normalised per text, so the score is weighted by the share of the text's character n-grams the
        teacher's vocabulary covers: one shared n-gram in a short alien text does not weigh as much as
        a whole answer in the teacher's words.
        """
        weights = np.clip(self.model.coef_[0], 0.0, None)
        evidence = np.asarray(self.space.features(texts) @ weights, dtype=float).ravel()
        return evidence * self.space.coverage(texts)

    hits = Attributor.hits
    accuracy = Attributor.accuracy


class AttributionSpace:
    """The classifier's features, fitted on the teacher's answers alone, shared by every fit of a panel.

    Each model of a panel is scored by a classifier trained on the teacher against all the
    *other* models (leave-one-out), so a panel of K models needs K + 1 fits. The vocabulary
    and IDF weights come from the teacher's selection-half answers only, so they are learnt
    without any model being scored, and each text is turned into features once.
    """

    def __init__(self, teacher_texts: Sequence[str]) -> None:
        self.union = make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=2, sublinear_tf=True, lowercase=True),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True,
                            token_pattern=r"(?u)\b\w+\b|[^\w\s]"),
        )
        self.union.fit([t if t.strip() else " " for t in teacher_texts])
        self._rows: dict[str, object] = {}
        self._fits: dict[tuple[str, str], _Linear] = {}

    def features(self, texts: Sequence[str]):  # noqa: ANN201  (a scipy sparse matrix)
        from scipy.sparse import vstack

        new = [t for t in dict.fromkeys(texts) if t not in self._rows]
        if new:
            matrix = self.union.transform([t if t.strip() else " " for t in new])
            for i, t in enumerate(new):
                self._rows[t] = matrix[i]
        return vstack([self._rows[t] for t in texts]) if texts else None

    def coverage(self, texts: Sequence[str]) -> np.ndarray:
        """Per text, the share of its character n-grams that are in the teacher's vocabulary (0 for empty text)."""
        chars = self.union.transformer_list[0][1]
        analyse, vocabulary = chars.build_analyzer(), chars.vocabulary_
        out = []
        for t in texts:
            grams = analyse(t)
            out.append(sum(g in vocabulary for g in grams) / len(grams) if grams else 0.0)
        return np.asarray(out, dtype=float)

    @classmethod
    def of(cls, teacher_texts: Sequence[str]) -> AttributionSpace:
        """The space of these teacher texts, made once (a bench evaluates hundreds of panels on one teacher)."""
        key = _digest(teacher_texts)
        if key not in _SPACES:
            if len(_SPACES) >= 16:
                _SPACES.pop(next(iter(_SPACES)))
            _SPACES[key] = cls(teacher_texts)
        return _SPACES[key]

    def train(self, teacher_texts: Sequence[str], background_texts: Sequence[str]) -> _Linear:
        """The classifier of ``teacher_texts`` against ``background_texts``; deterministic, so fits are kept."""
        key = (_digest(teacher_texts), _digest(background_texts))
        if key not in self._fits:
            if len(self._fits) >= 256:
                self._fits.pop(next(iter(self._fits)))
            self._fits[key] = self._train(teacher_texts, background_texts)
        return self._fits[key]

    def _train(self, teacher_texts: Sequence[str], background_texts: Sequence[str]) -> _Linear:
        if not teacher_texts or not background_texts:
            raise ValueError("an attributor needs answers from the teacher and from at least one background model")
        x = self.features([*teacher_texts, *background_texts])
        y = np.r_[np.ones(len(teacher_texts), dtype=int), np.zeros(len(background_texts), dtype=int)]
        model = LogisticRegression(C=ATTRIBUTION_C, class_weight="balanced", max_iter=2000)
        model.fit(x, y)
        return _Linear(self, model)


_SPACES: dict[str, AttributionSpace] = {}


def _digest(texts: Sequence[str]) -> str:
    import hashlib

    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()
