"""Pre-registration and the analysis record: the case's journal in its evidence store.

Before the first request is sent, the case's *design* (what decides the analysis:
models and their roles, suites and their limits, alpha, seed, budget, watermark and
campaign tables) is hashed and written as the journal's first entry, with the
evidence chain's row count at that moment (0 for a new case). Every analysis run
appends an entry with the findings' hash, the software version, the time and the
design it was run with. The report lists them: when the design was fixed, whether it
changed later, and every re-analysis; its signed manifest records the journal's head
and length, so a dropped entry or a replaced store fails ``provenance verify``.

What this proves and what not: the journal is a hash chain like the evidence, so
editing or removing an entry is detected, and each entry commits to the evidence
head it saw, so an entry cannot be moved before rows it followed without rewriting
the chain. Someone holding the store can still rewrite every hash before a report
is signed; the report's signature (and a time stamp from a TSA) fixes it from then on.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from provenance.case import Case
from provenance.case.schema import CaseFile
from provenance.evidence import EvidenceStore, JournalEntry
from provenance.hashing import sha256_json

#: Keys of ``[case]`` that describe the case without deciding any number (every other key is design).
_CASE_DESCRIPTIVE = ("title", "analyst", "expert", "qualifications", "statement")
#: Keys added later whose default keeps the earlier behaviour (``[case] looks``, ``[budget] max_cost``, a model's
#: prices): left out of the design, at any depth, while at that default, so a store whose design was recorded
#: before the key existed still matches its case file.
_NEWER_DEFAULTS = {"looks": 1, "max_cost": None, "input_price_per_million": None, "output_price_per_million": None}
#: Top-level tables that never change a number of the analysis (how the report is signed).
_NOT_DESIGN = ("report",)


def _without_newer_defaults(value: Any) -> Any:  # noqa: ANN401 - JSON data
    if isinstance(value, dict):
        return {k: _without_newer_defaults(v) for k, v in value.items()
                if not (k in _NEWER_DEFAULTS and v == _NEWER_DEFAULTS[k])}
    if isinstance(value, list):
        return [_without_newer_defaults(v) for v in value]
    return value


def design_of(spec: CaseFile) -> dict[str, Any]:
    """The case's design as canonical data: every table except ``[report]``; ``[case]`` without title, analyst and expert."""
    data = _without_newer_defaults(spec.model_dump(mode="json"))
    design = {key: value for key, value in data.items() if key not in _NOT_DESIGN and key != "case"}
    design["case"] = {key: value for key, value in data["case"].items() if key not in _CASE_DESCRIPTIVE}
    return design


def design_sha256(spec: CaseFile) -> str:
    return sha256_json(design_of(spec))


def software_version() -> str:
    try:
        return metadata.version("provenance")
    except metadata.PackageNotFoundError:
        return "unknown"


def record_design(store: EvidenceStore, case: Case) -> JournalEntry | None:
    """Write the design before collection when it is not the one already recorded last; return the new entry."""
    design = design_of(case.spec)
    digest = sha256_json(design)
    recorded = [e for e in store.journal() if e.kind == "design"]
    if recorded and recorded[-1].content.get("design_sha256") == digest:
        return None
    return store.append_journal(
        "design",
        {"design_sha256": digest, "case_file_sha256": case.sha256, "design": design, "software": software_version()},
    )


def record_analysis(store: EvidenceStore, case: Case, findings_json: dict[str, Any]) -> JournalEntry:
    """Append one analysis run: the findings' hash (canonical JSON), the design and the evidence it was made from."""
    return store.append_journal(
        "analysis",
        {
            "findings_sha256": sha256_json(findings_json),
            "design_sha256": design_sha256(case.spec),
            "case_file_sha256": case.sha256,
            "analysed_rows": findings_json.get("evidence_rows"),
            "analysed_head": findings_json.get("evidence_head_hash"),
            "software": software_version(),
        },
    )


def design_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Where two designs differ, as dotted key paths (``case.alpha``, ``suites.identity.limit``)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after)):
            out += design_changes(before.get(key), after.get(key), f"{prefix}.{key}" if prefix else str(key))
        return out
    return [] if before == after else [prefix or "(the design)"]


def journal_summary(entries: list[JournalEntry], findings_sha256: str | None = None) -> dict[str, Any]:
    """What the report says of the journal: when the design was fixed, later changes, every analysis run."""
    designs = [e for e in entries if e.kind == "design"]
    first = designs[0] if designs else None
    analyses = []
    for e in entries:
        if e.kind != "analysis":
            continue
        analyses.append({
            "entry": e.id, "at": e.created_at, "evidence_rows": e.evidence_rows,
            "findings_sha256": e.content.get("findings_sha256"), "software": e.content.get("software"),
            "design_as_registered": bool(first) and e.content.get("design_sha256") == first.content.get("design_sha256"),
            "this_report": findings_sha256 is not None and e.content.get("findings_sha256") == findings_sha256,
        })  # fmt: skip
    changes = [
        {"entry": d.id, "at": d.created_at, "evidence_rows": d.evidence_rows,
         "changed": design_changes(first.content.get("design", {}), d.content.get("design", {}))}
        for d in designs[1:]
    ] if first else []  # fmt: skip
    return {
        "entries": len(entries),
        "head": entries[-1].row_hash if entries else None,
        "design_entry": first.id if first else None,
        "design_fixed_at": first.created_at if first else None,
        "design_fixed_before_collection": bool(first) and first.evidence_rows == 0,
        "design_rows_before": first.evidence_rows if first else None,
        "design_sha256": first.content.get("design_sha256") if first else None,
        "design_changes": changes,
        "analyses": analyses,
    }
