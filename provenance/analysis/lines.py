"""Lines of evidence: which rejecting tests are independent confirmations, and what the verdict is without each.

"Six of seven tests rejected" reads like six independent lines of evidence. It is not
when the tests rest on the same answers: two tests of one suite read the same stored
answers; a teacher's canned refusal ("I'm sorry, but as Aurora I cannot ...") is counted
by the refusal suite and again, where the suspect repeats it to an open prompt, by the
distribution suite's phrase and writing tests, and a self-description that names the
teacher is counted by the identity suite and again wherever else it appears. A court
should hear how many *independent* findings there are, and whether the verdict stands
without any one of them.

So, per teacher:

* **Same answers.** Tests of one suite read the same answers and form one line; suites
  whose rejecting tests cite the same stored rows (a suite that reads another suite's
  answers) are joined.
* **Shared content.** For each kind of answer that several suites can count (refusals,
  answers naming the teacher), the suites are re-run on the evidence with those answers
  removed: every prompt of every other suite on which the teacher or the suspect gave
  such an answer is dropped, for every model alike, and the kind's own suite is left out.
  A suite whose tests rejected on the full evidence and reject no more without that
  content rests on it, and is joined to the kind's own suite (or, where that suite did
  not reject, to the others resting on it). This is computed, not guessed from words:
  the analysis is the same code on less evidence.
* **Leave one suite out.** The verdict rule (Holm over the family, the decision) is
  re-run without each suite's tests, so the report can say "without identity the
  verdict would be ...".

None of this changes the verdict: it says what the verdict rests on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from provenance.analysis.findings import Counterfactual, LineOfEvidence, TestFinding, Verdict
from provenance.analysis.view import Answer, EvidenceView
from provenance.features import claims_identity, classify_refusal, load_aliases
from provenance.suites.base import SuiteContext, SuiteSkipped


@dataclass(frozen=True)
class ContentKind:
    """A kind of answer that several suites can count: its name, the suite that owns it, how to spot it."""

    name: str
    #: The suite whose own question this content answers (left out when the content is removed).
    suite: str
    #: "answers that ..." completes the report's sentence.
    words: str

    def detector(self, ctx: SuiteContext) -> Callable[[str], bool] | None:
        """A test of one answer's text for this content, for ``ctx``'s teacher; None where it cannot be spotted."""
        if self.name == "refusals":
            return lambda text: classify_refusal(text).is_refusal
        from provenance.suites.identity import teacher_claims

        aliases = load_aliases(ctx.custom_aliases or None)
        try:
            names = teacher_claims(ctx, aliases)
        except SuiteSkipped:
            return None
        return lambda text: claims_identity(text, names, aliases)


CONTENT_KINDS = (
    ContentKind("refusals", "refusal", "are refusals"),
    ContentKind("identity strings", "identity", "name the teacher or its maker"),
)


def without_content(ctx: SuiteContext, kind: ContentKind) -> tuple[EvidenceView, dict[str, int]]:
    """``ctx``'s view with every prompt on which the teacher or the suspect gave ``kind``'s answers dropped.

    Per suite other than the kind's own, for every model alike (answers and stored scores),
    so the comparison stays symmetric: whether a prompt goes depends only on the teacher's
    and the suspect's answers, never on a panel model's. Returns the view and the number of
    prompts dropped per suite.
    """
    view = ctx.view
    spot = kind.detector(ctx)
    if spot is None:
        return view, {}
    drop: dict[str, set[str]] = {}
    for model in (ctx.teacher, ctx.suspect):
        for suite, by_probe in view.answers.get(model, {}).items():
            if suite == kind.suite:
                continue
            hits = {p for p, answers in by_probe.items() if any(spot(a.text) for a in answers)}
            if hits:
                drop.setdefault(suite, set()).update(hits)
    if not drop:
        return view, {}
    answers: dict[str, dict[str, dict[str, list[Answer]]]] = {
        m: {s: {p: a for p, a in probes.items() if p not in drop.get(s, ())} for s, probes in suites.items()}
        for m, suites in view.answers.items()
    }
    scores = {
        m: {s: {src: {p: r for p, r in table.items() if p not in drop.get(s, ())} for src, table in sources.items()}
            for s, sources in suites.items()}
        for m, suites in view.scores.items()
    }
    return replace(view, answers=answers, scores=scores), {s: len(p) for s, p in sorted(drop.items())}


def _plain_list(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _none_of(of: int) -> str:
    return "its one test does not reject" if of == 1 else f"none of {of} tests rejects"


def _short_decision(decision: str, rejected: Sequence[str], of: int) -> str:
    some = f"{len(rejected)} of {of} test{'s' if of != 1 else ''} reject{'s' if of == 1 else ''}"
    if decision == "supports":
        return f"supports ({some}: {', '.join(rejected)})"
    if decision == "does-not-support":
        return f"does not support ({_none_of(of)})" if of else "does not support"
    return (f"not decidable with this panel ({some})" if rejected
            else f"not decidable with this panel ({_none_of(of)})" if of else "not decidable (no test left)")


def suite_counterfactual(suite: str, verdict: Verdict, family: Sequence[TestFinding]) -> Counterfactual:
    """The verdict rule's outcome without ``suite`` (``verdict`` is that re-run's, for this teacher)."""
    mine = [t for t in family if t.teacher == verdict.teacher and t.suite != suite]
    return Counterfactual(
        kind="suite", without=suite, decision=verdict.decision, rejected_tests=verdict.rejected_tests,
        text=f"Without the {suite} suite the verdict would be: {_short_decision(verdict.decision, verdict.rejected_tests, len(mine))}.",
    )


def content_counterfactual(kind: ContentKind, verdict: Verdict, family: Sequence[TestFinding],
                           removed: dict[str, int], suites_run: Iterable[str]) -> Counterfactual:
    """The verdict without ``kind``'s answers anywhere: its suite left out, its answers removed from the others.

    ``family``: the family tests of that re-run (their number is the count the sentence gives).
    """
    mine = [t for t in family if t.teacher == verdict.teacher]
    where = _plain_list([f"{n} prompt{'s' if n != 1 else ''} of {s}" for s, n in removed.items()]) if removed else "none"
    own = f"the {kind.suite} suite left out" if kind.suite in set(suites_run) | {kind.suite} else ""
    return Counterfactual(
        kind="content", without=kind.name, decision=verdict.decision, rejected_tests=verdict.rejected_tests,
        removed=dict(removed),
        text=(f"Without {kind.name} ({own + ', ' if own else ''}and every prompt on which the teacher or the suspect "
              f"gave answers that {kind.words} removed from the other suites, for every model: {where}), the verdict "
              f"would be: {_short_decision(verdict.decision, verdict.rejected_tests, len(mine))}."),
    )


class _Groups:
    """Union-find over suite names and content nodes."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def lines_of_evidence(
    verdict: Verdict,
    family: Sequence[TestFinding],
    content: Sequence[tuple[ContentKind, Sequence[TestFinding]]],
) -> list[LineOfEvidence]:
    """Group ``verdict``'s rejecting family tests into independent lines.

    ``content``: for each kind, the family tests of the re-run without that content
    (``without_content``). A suite that rejected here and rejects no more there rests on it.
    """
    teacher = verdict.teacher
    rejecting = [t for t in family if t.teacher == teacher and t.reject]
    suites = list(dict.fromkeys(t.suite for t in rejecting))
    groups = _Groups()
    for s in suites:
        groups.find(s)
    why: dict[str, list[str]] = {s: [] for s in suites}
    rows = {s: {r for t in rejecting if t.suite == s for r in t.evidence_rows} for s in suites}
    for i, a in enumerate(suites):
        for b in suites[i + 1:]:
            if rows[a] & rows[b]:
                groups.union(a, b)
                why[a].append(f"{a} and {b} cite {len(rows[a] & rows[b])} of the same stored answers")
    for kind, tests in content:
        node = f"content:{kind.name}"
        still = {t.suite for t in tests if t.teacher == teacher and t.reject}
        resting = [s for s in suites if s != kind.suite and s not in still]
        if kind.suite in suites and resting:
            groups.union(kind.suite, node)
        for s in resting:
            groups.union(s, node)
            why[s].append(f"{s} rejects no more once the answers that {kind.words} are removed: it rests on {kind.name}")
    members: dict[str, list[str]] = {}
    for s in suites:
        members.setdefault(groups.find(s), []).append(s)
    out = []
    for line in members.values():
        tests = [f"{t.suite}/{t.test_id}" for t in rejecting if t.suite in line]
        joined = [w for s in line for w in why[s]]
        text = (f"{_plain_list(line)}: {', '.join(tests)}"
                + (f" ({'; '.join(joined)})" if joined else ""))
        out.append(LineOfEvidence(suites=line, tests=tests, joined_by=joined, text=text))
    return out


def lines_sentence(verdict: Verdict, lines: Sequence[LineOfEvidence], counterfactuals: Sequence[Counterfactual]) -> str:
    """How many independent lines support the verdict, and whether it survives the loss of any one suite."""
    n_tests = sum(len(line.tests) for line in lines)
    if not lines:
        return "No test rejected, so no line of evidence supports derivation."
    count = f"{len(lines)} independent line{'s' if len(lines) != 1 else ''} of evidence"
    if verdict.decision == "supports":
        head = (f"The {n_tests} test{'s' if n_tests != 1 else ''} that rejected form {count}"
                + (": they are one finding, not several confirmations." if len(lines) == 1 and n_tests > 1 else "."))
    else:
        head = f"The {n_tests} test{'s' if n_tests != 1 else ''} that rejected form {count}, but the verdict is not that the evidence supports derivation."
    flips = [c for c in counterfactuals if c.decision != verdict.decision]
    if verdict.decision != "supports":
        tail = ""
    elif flips:
        tail = (" The verdict does not survive the loss of "
                + _plain_list([f"the {c.without} suite" if c.kind == "suite" else c.without for c in flips])
                + ": without it, derivation would not be supported.")
    else:
        tail = " It stands without any one suite and without any one kind of shared answer."
    return head + tail
