"""What every probe suite declares, and what its analysis returns.

A suite is data (``probes/<name>.toml``) plus a small class. The class states, in
one place a reader can scan, the question it answers, the capability it needs and
the statistic it feeds; ``analyze`` turns stored answers into ``SuiteTest``s.
Every comparison has the same shape: suspect-vs-teacher against suspect-vs-each-
control, so a suspect that merely resembles every model does not count.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from provenance.analysis.view import Answer, EvidenceView
from provenance.backends.base import Capability
from provenance.stats import TestResult

if TYPE_CHECKING:
    from provenance.case import Case, ModelSpec
    from provenance.evidence import EvidenceStore
    from provenance.planning import PlannedRequest


class SuiteSkipped(Exception):
    """A suite cannot be analysed for this case; the reason goes into the findings."""


def reference_sources(
    control: str, suspect: str, teachers: Iterable[str], controls: Iterable[str], references: Iterable[str]
) -> tuple[str, ...]:
    """The models whose answers are reference text when ``suspect`` is compared with ``control``.

    The other controls and the reference models; never a teacher's, the suspect's or
    the control's own answers (a model's own text is what it predicts best).
    """
    excluded = {control, suspect, *teachers}
    return tuple(m for m in (*controls, *references) if m not in excluded)


@dataclass(frozen=True)
class SuiteContext:
    """Who is compared with whom, and the case's seed for permutation tests."""

    view: EvidenceView
    suspect: str
    teacher: str
    controls: tuple[str, ...]
    teacher_claims: tuple[str, ...]
    seed: int
    custom_aliases: dict[str, object] = field(default_factory=dict)
    #: The teacher's watermark from the case file (``provenance.watermark.case.CaseWatermark``), if any.
    watermark: Any = None
    #: Models outside the comparison whose answers are reference text for cross-likelihood.
    references: tuple[str, ...] = ()
    #: The campaign's logged exchanges (their model name in the evidence) and the teacher it queried.
    campaign: str | None = None
    campaign_teacher: str | None = None
    #: Panel models declared as the suspect's base (``relation = "suspect-base"``): in the panel, never
    #: reference text for the suspect (nor the suspect's for them).
    suspect_bases: tuple[str, ...] = ()
    #: How the membership suite tests (``suites.membership.MembershipDesign``: sequential, alpha, limit); its
    #: defaults when None.
    membership: Any = None

    @property
    def panel(self) -> tuple[str, ...]:
        """The independent models the suspect is tested against: the controls and the reference models.

        Every family test computes its statistic for the suspect and for each of these the
        same way, and asks whether the suspect is an outlier among them (``stats.panel``).
        """
        return tuple(dict.fromkeys(m for m in (*self.controls, *self.references) if m not in (self.suspect, self.teacher)))

    def relatives(self, model: str) -> tuple[str, ...]:
        """Models known to be related to ``model`` in this case (the suspect and its declared bases)."""
        if model == self.suspect:
            return self.suspect_bases
        return (self.suspect,) if model in self.suspect_bases else ()

    def background(self, model: str, among: tuple[str, ...]) -> tuple[str, ...]:
        """``among`` without ``model`` and its relatives: what is learnt for ``model`` is learnt without it."""
        excluded = {model, self.teacher, *self.relatives(model)}
        return tuple(m for m in among if m not in excluded)

    def reference_sources(self, control: str) -> tuple[str, ...]:
        """Whose answers are reference text when the suspect is compared with ``control``.

        Never the teacher's, the suspect's or the control's own (a model's own text is
        what it predicts best): the other controls' and the reference models'.
        """
        return reference_sources(control, self.suspect, (self.teacher,), self.controls, self.references)

    def require_controls(self) -> None:
        if not self.panel:
            raise SuiteSkipped("needs at least one control or reference model to compare against")

    def shared_probes(self, suite: str) -> tuple[dict[str, dict[str, Answer]], list[str]]:
        """First answers of every model on the probes that all of them answered."""
        models = (self.suspect, self.teacher, *self.panel)
        answers = {m: self.view.first_answers(m, suite) for m in models}
        missing = [m for m in (self.suspect, self.teacher) if not answers[m]]
        if missing:
            raise SuiteSkipped(f"no stored answers from {', '.join(missing)}; run collection first")
        answers = {m: a for m, a in answers.items() if a}  # a panel model without answers here is left out
        if len(answers) < 3:
            raise SuiteSkipped("no stored answers from any control or reference model; run collection first")
        common = sorted(set.intersection(*(set(a) for a in answers.values())))
        if len(common) < 2:
            raise SuiteSkipped("fewer than 2 probes answered by every model")
        return answers, common


@dataclass(frozen=True)
class SuiteTest:
    """One test of one suite: its result, whether it is in the derivation family, its evidence."""

    suite: str
    test_id: str
    result: TestResult
    in_family: bool
    rows: tuple[int, ...]
    summary: str


@dataclass(frozen=True)
class Uninformative:
    """A test whose signal cannot exist for this teacher and suspect, with the numbers that show why.

    Reported instead of a p-value of 1: "we looked and found nothing" and "there was
    nothing that could be found" are different statements (a teacher that never names
    itself cannot pass its name on). Never part of the family, never changes a verdict.
    """

    suite: str
    test_id: str
    reason: str
    numbers: dict[str, Any]


def rows_of(answers: dict[str, dict[str, Answer]], probes: Iterable[str]) -> tuple[int, ...]:
    probes = list(probes)
    return tuple(sorted(a[p].row_id for a in answers.values() for p in probes if p in a))


class Suite(ABC):
    """A probe suite's declaration and analysis."""

    name: ClassVar[str]
    question: ClassVar[str]
    statistic: ClassVar[str]
    needs: ClassVar[frozenset[Capability]] = frozenset({Capability.GENERATE})
    #: Suites that read other suites' answers instead of having probes of their own.
    collects: ClassVar[bool] = True

    def plan_collection(self, case: Case, store: EvidenceStore, model: ModelSpec, model_key: str,
                        generated: list[PlannedRequest]) -> list[PlannedRequest]:
        """Requests beyond answering the probes that this suite needs stored before analysis.

        Planned by collection once every model's answers are stored; ``generated`` are
        ``model``'s planned generate requests. Most suites need none.
        """
        return []

    @abstractmethod
    def analyze(self, ctx: SuiteContext) -> list[SuiteTest | Uninformative]:
        """Tests for suspect vs ``ctx.teacher``; raise SuiteSkipped with a reason if impossible.

        A test whose signal cannot exist here (see ``Uninformative``) is returned as one.
        """
