"""Teacher attribution: a classifier trained on one half of the prompts, asked on the other; known answer both ways."""

from __future__ import annotations

import numpy as np
import pytest

from provenance.features.attribution import train_attributor
from provenance.features.markers import split_prompts
from provenance.stats import attribution_test

TOPICS = "rivers mountains bread engines music planets gardens bridges clocks rain".split()
COMMON = "it is a matter of how the parts work together and what you want from them".split()


def _writer(formats: list[str], rate: float):  # noqa: ANN202
    """A model's writing: common fluent phrasing about the prompt's topic, in its own formats at some rate."""

    def write(rng: np.random.Generator, topic: str) -> str:
        body = " ".join(rng.choice(COMMON, size=10))
        text = f"{topic} {body}"
        if rng.random() < rate:
            text = rng.choice(formats).format(text=text)
        return text

    return write


TEACHER = _writer(["Certainly! {text} — in short.", "**Answer:** {text}; hope that helps!"], 0.8)
STUDENT = _writer(["Certainly! {text} — in short.", "**Answer:** {text}; hope that helps!"], 0.4)
CONTROL = _writer(["Well, {text}... cheers", "{text} (that's my take)"], 0.8)
OTHER = _writer(["So basically {text}, yeah", "> {text} <"], 0.8)
BACKGROUND = _writer(["Sure thing: {text}.", "{text}. Let me know."], 0.8)


def _p_value(seed: int, suspect, n_prompts: int = 80) -> float:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    prompts = [f"p{i}" for i in range(n_prompts)]
    topic = {p: str(rng.choice(TOPICS)) for p in prompts}
    texts = {name: {p: w(rng, topic[p]) for p in prompts}
             for name, w in {"teacher": TEACHER, "suspect": suspect, "control": CONTROL, "background": BACKGROUND}.items()}
    selection, test = split_prompts(prompts, seed)
    attributor = train_attributor([texts["teacher"][p] for p in selection], [texts["background"][p] for p in selection])
    s = attributor.score([texts["suspect"][p] for p in test])
    c = attributor.score([texts["control"][p] for p in test])
    return attribution_test({"control": s}, {"control": c}, seed=seed, n_permutations=999, n_resamples=0).p_value


def test_the_classifier_learns_the_teachers_writing_on_prompts_it_never_saw() -> None:
    rng = np.random.default_rng(0)
    train = [TEACHER(rng, str(rng.choice(TOPICS))) for _ in range(40)], [BACKGROUND(rng, "x") for _ in range(40)]
    attributor = train_attributor(*train)
    held_teacher = [TEACHER(rng, str(rng.choice(TOPICS))) for _ in range(40)]
    held_background = [BACKGROUND(rng, str(rng.choice(TOPICS))) for _ in range(40)]
    assert attributor.accuracy(held_teacher, held_background) > 0.8


def test_a_student_that_writes_like_the_teacher_is_found() -> None:
    found = [_p_value(seed, STUDENT) < 0.01 for seed in range(6)]
    assert sum(found) >= 5


@pytest.mark.parametrize("suspect", [CONTROL, OTHER], ids=["writes-like-the-control", "habits-of-its-own"])
def test_an_independent_suspect_is_held_at_the_nominal_rate(suspect) -> None:  # noqa: ANN001
    """Unseen by the classifier like the control, and sharing none of the teacher's habits."""
    hits = [_p_value(seed, suspect) < 0.05 for seed in range(20)]
    assert sum(hits) <= 3  # nominal 1 of 20; 3 is the binomial 95th percentile


def test_an_attributor_needs_both_kinds_of_text() -> None:
    with pytest.raises(ValueError, match="background"):
        train_attributor(["a b c"], [])


def test_text_unlike_every_model_scores_no_teacher_evidence_where_the_log_odds_read_it_as_the_teacher_s() -> None:
    # A raw base continuing documents shares none of the teacher's or the background's n-grams: the log-odds
    # sit at the classifier's prior, far above the background's, with no trace of the teacher in the text.
    from provenance.features.attribution import AttributionSpace

    rng = np.random.default_rng(3)
    teacher = [TEACHER(rng, str(rng.choice(TOPICS))) for _ in range(60)]
    background = [t for w in (CONTROL, OTHER, BACKGROUND) for t in (w(rng, str(rng.choice(TOPICS))) for _ in range(20))]
    space = AttributionSpace(teacher)
    fit = space.train(teacher, background)
    alien = ["zxq vvkp 9931 ~~ qqj", "0x7f3a 0x11 ; ; ;", "lorem ipsum dolor sit amet consectetur"]
    held_background = [BACKGROUND(rng, str(rng.choice(TOPICS))) for _ in range(20)]
    held_teacher = [STUDENT(rng, str(rng.choice(TOPICS))) for _ in range(20)]
    assert fit.score(alien).mean() > fit.score(held_background).mean() + 1.0  # the failure: "more teacher-like"
    assert fit.teacher_evidence(alien)[0] == 0.0  # nothing of the teacher's vocabulary at all
    assert fit.teacher_evidence(alien).mean() < fit.teacher_evidence(held_background).mean()
    assert fit.teacher_evidence(held_teacher).mean() > fit.teacher_evidence(held_background).mean()
