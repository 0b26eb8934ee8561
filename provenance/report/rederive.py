"""Re-derivation: run the analysis again from the stored evidence and the report's own case file.

A signature proves who signed a report, not that its findings follow from the
evidence: anyone can edit findings.json, re-render and sign with a key of their
own. ``provenance verify report.pdf --evidence DIR`` therefore re-runs the analysis
on the store, as of the row count the report was made from, with the case file
embedded in the report, and compares every value of the embedded findings with
the re-derived ones. The comparison walks the JSON generically (it needs no
change when the analysis gains fields): objects key by key, lists of tests, verdicts
and models matched by their identity (suite, test id, teacher, name), numbers
equal up to a relative 1e-9 (floating-point summation order), everything else
exactly. A difference is named: the test, the field, the report's value and the
re-derived one.

Fields that legitimately differ between two runs of the same analysis are left
out, by name, in ``IGNORED``: only the versions of the software that ran it.
The findings carry no time stamp; the time of each analysis run is in the
store's journal, not in findings.json.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from provenance.case import Case
from provenance.case.loader import with_panel
from provenance.case.schema import CaseFile
from provenance.evidence import EvidenceRow, EvidenceStore
from provenance.report import manifest as mf

#: Top-level findings fields not compared, and why (documented in the README).
IGNORED: dict[str, str] = {
    "software": "versions of Python and the libraries that ran the analysis; re-deriving with another release must still give the same numbers",
    "generated_at": "a time stamp (not written by this release; kept out should it appear)",
    "analysed_at": "a time stamp (not written by this release; kept out should it appear)",
}
REL_TOL = 1e-9
ABS_TOL = 1e-12
_MISSING = object()


@dataclass(frozen=True)
class Difference:
    where: str
    field: str
    reported: Any
    rederived: Any

    def __str__(self) -> str:
        return f"{self.where}, field {self.field}: report {_show(self.reported)}, re-derived {_show(self.rederived)}"


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(absent)"
    text = repr(value) if not isinstance(value, (dict, list)) else f"{type(value).__name__} of {len(value)}"
    return text if len(text) <= 80 else text[:77] + "..."


class StoreAsOf:
    """A store read as it was at ``rows`` rows: what the report's analysis saw, not rows added since."""

    def __init__(self, store: EvidenceStore, rows: int) -> None:
        self._store = store
        self._rows = rows

    def rows(self) -> Iterator[EvidenceRow]:
        return (r for r in self._store.rows() if r.id <= self._rows)

    def models(self) -> dict[str, dict[str, Any]]:
        return self._store.models()

    def head_hash(self) -> str:
        last = None
        for row in self.rows():
            last = row
        return "0" * 64 if last is None else last.row_hash


def case_from_report(case_bytes: bytes, directory: Path) -> Case:
    """The case file embedded in the report, read as if it lay in ``directory`` (for relative key files)."""
    try:
        data = tomllib.loads(case_bytes.decode("utf-8"))
        spec = CaseFile.model_validate(data)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ValueError(f"the embedded case file cannot be read ({type(exc).__name__})") from None
    # a panel the case names is taken from ``directory`` too, as the case's collection and analysis took it
    return Case(spec=with_panel(spec, directory.resolve()), path=(directory / "case.toml").resolve(),
                sha256=mf.sha256_bytes(case_bytes))


def rederive(store: EvidenceStore, case_bytes: bytes, reported: dict[str, Any], directory: Path) -> list[Difference]:
    """Re-run the analysis as of the report's row count and return every difference from ``reported``."""
    from provenance.analysis.run import analyze

    case = case_from_report(case_bytes, directory)
    rows = int(reported.get("evidence_rows", 0))
    again = analyze(case, store=StoreAsOf(store, rows)).model_dump(mode="json")
    return compare(reported, again)


def compare(reported: Any, rederived: Any) -> list[Difference]:
    """Every place where ``rederived`` differs from ``reported`` (top-level ``IGNORED`` fields left out)."""
    out: list[Difference] = []
    if not isinstance(reported, dict) or not isinstance(rederived, dict):
        return [Difference("findings", "(top level)", reported, rederived)]
    for key in sorted(set(reported) | set(rederived)):
        if key in IGNORED:
            continue
        _walk(reported.get(key, _MISSING), rederived.get(key, _MISSING), "findings", key, out)
    return out


def _label(item: dict[str, Any], field: str) -> str | None:
    """How a difference names a list item: ``test identity/teacher-identity-claims (vs aurora)``, ``verdict (vs aurora)``, ``model suspect``."""
    if "suite" in item and "test_id" in item:
        return f"test {item['suite']}/{item['test_id']}" + (f" (vs {item['teacher']})" if item.get("teacher") else "")
    kind = field.rsplit(".", 1)[-1].removesuffix("s") or "item"
    if isinstance(item.get("name"), str):
        return f"{kind} {item['name']}"
    if "suite" in item:
        return f"{kind} {item['suite']}" + (f" (vs {item['teacher']})" if item.get("teacher") else "")
    if isinstance(item.get("teacher"), str):
        return f"{kind} (vs {item['teacher']})"
    return None


def _keyed(items: list[Any], field: str) -> dict[str, Any] | None:
    """Items by their identity label, when every item is an object with a unique one."""
    if not all(isinstance(i, dict) for i in items):
        return None
    labels = [_label(i, field) for i in items]
    if None in labels or len(set(labels)) != len(labels):
        return None
    return dict(zip(labels, items))  # type: ignore[arg-type]


def _walk(a: Any, b: Any, where: str, field: str, out: list[Difference]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            _walk(a.get(key, _MISSING), b.get(key, _MISSING), where, f"{field}.{key}", out)
        return
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _keyed(a, field), _keyed(b, field)
        if ka is not None and kb is not None and (a or b):
            for label in [*ka, *(k for k in kb if k not in ka)]:
                _item(ka.get(label, _MISSING), kb.get(label, _MISSING), where, field, label, out)
            return
        if len(a) != len(b):
            out.append(Difference(where, f"{field} (length)", len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            _walk(x, y, where, f"{field}[{i}]", out)
        return
    if not _same(a, b):
        out.append(Difference(where, field, a, b))


def _item(a: Any, b: Any, where: str, field: str, label: str, out: list[Difference]) -> None:
    """One matched item of a keyed list: named by its label, fields relative to it."""
    here = label if where == "findings" else f"{where}, {label}"
    if a is _MISSING or b is _MISSING:
        out.append(Difference(here, f"(in {field})", "present" if a is not _MISSING else _MISSING,
                              "present" if b is not _MISSING else _MISSING))  # fmt: skip
        return
    for key in sorted(set(a) | set(b)):
        _walk(a.get(key, _MISSING), b.get(key, _MISSING), here, key, out)


def _same(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)
    return type(a) is type(b) and a == b
