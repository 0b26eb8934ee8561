"""The library API: everything the CLI does, callable from a notebook.

Each function takes paths or loaded objects and returns result objects; none of
them prints. The CLI adds progress bars and exit codes on top.
"""

from __future__ import annotations

from collections.abc import Sequence

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from provenance.analysis.findings import Findings
from provenance.analysis.run import analyze as _analyze
from provenance.analysis.run import write_findings
from provenance.case import Case, init_case, load_case
from provenance.case.loader import load_panel, resolve_case_path
from provenance.collect import CollectionSummary, ProgressCallback
from provenance.collect import collect as _collect
from provenance.errors import EvidenceStoreError
from provenance.evidence import EvidenceStore, VerifyReport
from provenance.journal import record_analysis
from provenance.report.certificates import make_self_signed as generate_certificate
from provenance.report.keys import generate_key

if TYPE_CHECKING:  # importing the renderer loads weasyprint and matplotlib: only when a report is made
    from provenance.report import ReportCheck, ReportResult

__all__ = [
    "CollectionSummary",
    "Findings",
    "ReportCheck",
    "ReportResult",
    "RunResult",
    "analyze",
    "build_panel",
    "collect",
    "generate_certificate",
    "generate_key",
    "init_case",
    "load_case",
    "load_panel",
    "render_report",
    "run_case",
    "verify_evidence",
    "verify_report",
]


def _as_case(case: Case | str | Path) -> Case:
    return case if isinstance(case, Case) else load_case(case)


def collect(
    case: Case | str | Path, *, on_progress: ProgressCallback | None = None, reuse_from: Sequence[str | Path] = ()
) -> CollectionSummary:
    """Collect (or resume collecting) every answer a case needs into its evidence store.

    ``reuse_from``: other cases' evidence stores whose identical requests are copied, with their origin.
    """
    return _collect(_as_case(case), on_progress=on_progress, reuse_from=reuse_from)


def build_panel(directory: str | Path, *, on_progress: ProgressCallback | None = None) -> CollectionSummary:
    """Collect (or resume collecting) a reusable reference panel (``PANEL_DIR/panel.toml``) into its evidence store."""
    from provenance.panel import build_panel as _build_panel

    return _build_panel(directory, on_progress=on_progress)


def analyze(case: Case | str | Path) -> tuple[Findings, Path]:
    """Analyse the stored evidence; writes ``findings.json`` beside the case file."""
    case = _as_case(case)
    findings = _analyze(case)
    path = write_findings(findings, case.directory / "findings.json")
    with EvidenceStore.open_existing(case.evidence_path, case.id) as store:  # every analysis run is on the record
        record_analysis(store, case, findings.model_dump(mode="json"))
    return findings, path


@dataclass(frozen=True)
class RunResult:
    """What ``run_case`` did: the collection, and the findings when collection completed."""

    collection: CollectionSummary
    findings: Findings | None
    findings_path: Path | None


def run_case(case: Case | str | Path, *, on_progress: ProgressCallback | None = None) -> RunResult:
    """Run a whole investigation from its case file; safe to re-run, it resumes.

    Analysis runs only on a complete collection: a verdict on part of the
    evidence would depend on where the budget happened to run out.
    """
    case = _as_case(case)
    summary = collect(case, on_progress=on_progress)
    if not summary.complete:
        return RunResult(summary, None, None)
    findings, path = analyze(case)
    return RunResult(summary, findings, path)


def verify_evidence(target: str | Path) -> VerifyReport:
    """Check an evidence store (given directly, or via its case) and say where it breaks."""
    target = Path(target)
    if target.suffix in {".sqlite", ".db"}:
        path = target
        case_id = None
    else:
        case = load_case(resolve_case_path(target))
        path, case_id = case.evidence_path, case.id
    if not path.is_file():
        raise EvidenceStoreError(f"no evidence store at {path}", hint="run `provenance case collect` first")
    if path.stat().st_size == 0:  # a store cut to nothing is never "intact, 0 rows"
        return VerifyReport(False, 0, None, f"{path} is empty (0 bytes): truncated or replaced, it holds no evidence", "0" * 64)
    with EvidenceStore.open_readonly(path, case_id=case_id) as store:  # read-only: verify changes no file
        return store.verify()


def render_report(
    case: Case | str | Path,
    *,
    key: str | Path | None = None,
    signer_note: str | None = None,
    out_dir: str | Path | None = None,
    pkcs12: str | Path | None = None,
    pkcs12_passphrase: bytes | None = None,
    tsa_url: str | None = None,
    tsa_timeout: float | None = None,
) -> ReportResult:
    """Render report.pdf (PDF/A-3b, signed when ``key`` is given) and report.html from findings.json and the evidence.

    ``pkcs12`` adds a PDF signature (PAdES) that ordinary PDF readers show, with an
    RFC 3161 time stamp from ``tsa_url`` (or the case file's ``[report] tsa_url``).
    """
    from provenance.report.render import render_report as _render_report

    return _render_report(
        _as_case(case), key_path=key, signer_note=signer_note, out_dir=out_dir, pkcs12_path=pkcs12,
        pkcs12_passphrase=pkcs12_passphrase, tsa_url=tsa_url, tsa_timeout=tsa_timeout,
    )  # fmt: skip


def verify_report(
    pdf: str | Path,
    *,
    evidence: str | Path | None = None,
    public_key: str | Path | None = None,
    allow_unsigned: bool = False,
    trust: Sequence[str | Path] = (),
) -> ReportCheck:
    """Check a report's signatures and attachments and, with ``evidence``, every row it cites.

    ``trust``: certificates the PDF signature must chain to (none: intact but untrusted).
    """
    from provenance.report.verify import verify_report as _verify_report

    return _verify_report(pdf, evidence=evidence, public_key=public_key, allow_unsigned=allow_unsigned, trust=trust)
