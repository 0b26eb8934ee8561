"""What changed between two audit runs, and the exit code a scheduler alerts on.

A pair's *slot* is (suspect name, teacher name). Compared with the earlier run, a
slot can be new (a new model), gone, hold a changed model (other files), or keep
its model with another verdict. A *new finding* is a pair the later run found
derived that the earlier run had not found derived for the same suspect and
teacher files: a new model, a new version of a model, or a changed verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Exit codes of ``provenance audit run`` and ``audit diff`` (also in README and cli.py).
EXIT_NOTHING_NEW = 0
EXIT_NEW_FINDING = 1
EXIT_ERROR = 2


@dataclass(frozen=True)
class Change:
    suspect: str
    teacher: str
    what: str  #: "new model", "model changed", "verdict changed", "now failing", "fixed", "gone"
    before: str | None
    after: str | None


@dataclass
class AuditDiff:
    """Differences between run ``before`` (None: there was no earlier run) and run ``after``."""

    before: int | None
    after: int
    new_models: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    new_findings: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when a new finding appears (even if some pairs failed); else 2 when a pair failed; else 0."""
        if self.new_findings:
            return EXIT_NEW_FINDING
        return EXIT_ERROR if self.failed else EXIT_NOTHING_NEW

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exit_code": self.exit_code}


def _state(row: dict[str, Any]) -> str:
    if row["status"] in ("failed", "skipped"):
        return row["status"]
    return "derived" if row["supports_derivation"] else "not derived"


def diff_pairs(before_run: int | None, before: list[dict[str, Any]], after_run: int, after: list[dict[str, Any]]) -> AuditDiff:
    """Compare the pair rows of two runs (as ``History.pairs`` returns them)."""
    old = {(r["suspect"], r["teacher"]): r for r in before}
    new = {(r["suspect"], r["teacher"]): r for r in after}
    out = AuditDiff(before=before_run, after=after_run)
    old_suspects = {s for s, _ in old}
    out.new_models = sorted({s for s, _ in new} - old_suspects)
    for slot, row in sorted(new.items()):
        prev = old.get(slot)
        state = _state(row)
        if row["status"] == "failed":
            out.failed.append((*slot, row["error"] or "failed"))
        if state == "derived":
            same_files = prev is not None and (prev["suspect_hash"], prev["teacher_hash"]) == (row["suspect_hash"], row["teacher_hash"])
            if not (same_files and _state(prev) == "derived"):
                out.new_findings.append(slot)
        if prev is None:
            out.changes.append(Change(*slot, "new model", None, state))
            continue
        prev_state = _state(prev)
        if prev["suspect_hash"] and row["suspect_hash"] and prev["suspect_hash"] != row["suspect_hash"]:
            out.changes.append(Change(*slot, "model changed", prev_state, state))
        elif prev_state != state:
            what = "now failing" if state == "failed" else "fixed" if prev_state == "failed" else "verdict changed"
            out.changes.append(Change(*slot, what, prev_state, state))
    for slot in sorted(set(old) - set(new)):
        out.changes.append(Change(*slot, "gone", _state(old[slot]), None))
    return out
