"""Identity: does the suspect claim to be the teacher (or its vendor) more often than independent models?

A distilled student is trained on the teacher's answers to "who are you?", so it
tends to keep the teacher's name and vendor. Independent models name it only by
chance (or because it is famous); how often they do varies from model to model, and
that spread between models, not the sampling error of one model's answers, is the
null the suspect's rate is compared with (``stats.panel``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from provenance.features import claims_identity, extract_identity_claims, load_aliases
from provenance.stats.panel import ModelStatistic
from provenance.config import MIN_SIGNAL_EVENTS
from provenance.suites.base import Suite, SuiteContext, SuiteSkipped, SuiteTest, Uninformative
from provenance.suites.panel import panel_finding

if TYPE_CHECKING:
    from provenance.case import ModelSpec

#: A name counts as the teacher's own when it appears in at least this share of the
#: teacher's identity answers (used only when the case file does not list them).
_OWN_NAME_SHARE = 0.25


def case_aliases(other_claims: Iterable[str], teacher_claims: Iterable[str]) -> dict[str, object]:
    """The names the case's other models call themselves, as case-local model names.

    A control declared with ``claims = ["Zephyr", "Blue Harbor AI"]`` is the case's
    Zephyr, not Hugging Face's: without this, each of its "I am Zephyr" answers would
    count as naming Hugging Face (the shipped catalogue's maker of Zephyr), and so, in
    a case whose teacher is a Hugging Face model, as naming the teacher. The teacher's
    own claims keep their catalogue meaning.
    """
    own = {c.casefold() for c in teacher_claims}
    return {claim: [claim] for claim in other_claims if claim.casefold() not in own}


def case_aliases_for(models: Iterable[ModelSpec], teacher: ModelSpec) -> dict[str, object]:
    """:func:`case_aliases` of a case's models (``CaseFile.models()``) for one of its teachers."""
    return case_aliases([c for m in models if m.name != teacher.name for c in m.claims], teacher.claims)


def teacher_claims(ctx: SuiteContext, aliases) -> tuple[str, ...]:  # noqa: ANN001
    """The names the teacher calls itself: from the case file, else from its own answers."""
    if ctx.teacher_claims:
        return ctx.teacher_claims
    answers = ctx.view.all_answers(ctx.teacher, "identity")
    counts: Counter[str] = Counter()
    for answer in answers:
        counts.update(extract_identity_claims(answer.text, aliases).claimed)
    own = tuple(sorted(n for n, c in counts.items() if answers and c / len(answers) >= _OWN_NAME_SHARE))
    if not own:
        raise SuiteSkipped(
            f"the teacher '{ctx.teacher}' names no known model or vendor in its answers; "
            "list the names it uses under `claims` for that teacher in the case file"
        )
    return own


class IdentitySuite(Suite):
    name = "identity"
    question = "Does the suspect claim to be the teacher (or its vendor) more often than independent models do?"
    statistic = ("rate of teacher-identity claims; the suspect's rate against the panel of independent models' "
                 "rates (models as the unit, one-sided)")

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        ctx.require_controls()
        aliases = load_aliases(ctx.custom_aliases or None)
        names = teacher_claims(ctx, aliases)
        answers = {m: ctx.view.all_answers(m, "identity") for m in (ctx.suspect, *ctx.panel)}
        answers = {m: a for m, a in answers.items() if a}
        if ctx.suspect not in answers or len(answers) < 2:
            raise SuiteSkipped("no stored identity answers for the suspect or the panel models")
        teacher = ctx.view.all_answers(ctx.teacher, "identity")
        teacher_hits = sum(claims_identity(a.text, names, aliases) for a in teacher)
        if teacher and teacher_hits < MIN_SIGNAL_EVENTS:
            return [Uninformative(
                self.name, "teacher-identity-claims",
                f"the teacher named itself ({', '.join(names)}) in only {teacher_hits} of {len(teacher)} identity "
                f"answers (fewer than {MIN_SIGNAL_EVENTS}): a student cannot inherit a self-description its teacher "
                "seldom gives, so its absence says nothing",
                {"teacher_claims": teacher_hits, "teacher_answers": len(teacher)},
            )]
        hits = {m: sum(claims_identity(a.text, names, aliases) for a in a_m) for m, a_m in answers.items()}
        stats = {m: ModelStatistic.proportion(hits[m], len(answers[m])) for m in answers}
        rows = tuple(sorted(a.row_id for a_m in answers.values() for a in a_m))
        test = panel_finding(
            ctx, self.name, "teacher-identity-claims", stats, quantity="rate", unit="share of identity answers",
            rows=rows, what=f"rate of claims to be the teacher ({', '.join(names)})", fmt=".2f",
            assumptions=("every model's answers to the same identity probes, classified by the same alias table",),
        )
        if isinstance(test, SuiteTest):
            test = replace(test, summary=(
                f"The suspect named the teacher in {hits[ctx.suspect]} of {len(answers[ctx.suspect])} identity answers; "
                + ", ".join(f"'{m}' in {hits[m]} of {len(answers[m])}" for m in answers if m != ctx.suspect)
                + ". " + test.summary))
        return [test]
