"""Identity: does the suspect claim to be the teacher (or its vendor) more often than controls?

A distilled student is trained on the teacher's answers to "who are you?", so it
tends to keep the teacher's name and vendor. Controls that were never trained on
the teacher's outputs name it only by chance (or because it is famous), which is
exactly the base rate the Fisher test compares against.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from provenance.features import claims_identity, extract_identity_claims, load_aliases
from provenance.stats import fisher_exact
from provenance.config import MIN_SIGNAL_EVENTS
from provenance.suites.base import Suite, SuiteContext, SuiteSkipped, SuiteTest, Uninformative

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
    question = "Does the suspect claim to be the teacher (or its vendor) more often than controls do?"
    statistic = "rate of teacher-identity claims; Fisher exact test, suspect vs pooled controls (one-sided)"

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        ctx.require_controls()
        aliases = load_aliases(ctx.custom_aliases or None)
        names = teacher_claims(ctx, aliases)
        suspect = ctx.view.all_answers(ctx.suspect, "identity")
        controls = [a for c in ctx.controls for a in ctx.view.all_answers(c, "identity")]
        if not suspect or not controls:
            raise SuiteSkipped("no stored identity answers for the suspect or the controls")
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
        suspect_hits = [a for a in suspect if claims_identity(a.text, names, aliases)]
        control_hits = [a for a in controls if claims_identity(a.text, names, aliases)]
        result = fisher_exact(
            len(suspect_hits),
            len(suspect),
            len(control_hits),
            len(controls),
            alternative="greater",
            label1=f"suspect '{ctx.suspect}'",
            label2="controls " + ", ".join(f"'{c}'" for c in ctx.controls),
        )
        summary = (
            f"The suspect named the teacher ({', '.join(names)}) in {len(suspect_hits)} of {len(suspect)} "
            f"identity answers; the controls did in {len(control_hits)} of {len(controls)}."
        )
        rows = tuple(sorted(a.row_id for a in suspect + controls))
        return [SuiteTest(self.name, "teacher-identity-claims", result, True, rows, summary)]
