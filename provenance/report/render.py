"""``render_report``: findings.json + evidence store + case file in; report.pdf and report.html out.

Steps, each checkable on its own: refuse evidence whose chain is broken and
findings that were not made from this store and this case file; gather the
context (no model is asked anything); build and hash the manifest; render HTML
with autoescape on; let weasyprint turn it into PDF/A-3b with the attachments,
loading nothing but the report's own assets; sign the finished bytes (Ed25519,
then, given a certificate, a PAdES signature with an optional RFC 3161 time
stamp as an incremental update); write both files atomically (temp file, fsync, rename), so a crash leaves the old report or
the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import jinja2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from provenance.analysis.findings import Findings
from provenance.analysis.view import EvidenceView
from provenance.case import Case, load_case
from provenance.case.loader import resolve_case_path
from provenance.evidence import EvidenceStore
from provenance.files import atomic_write
from provenance.hashing import sha256_json
from provenance.journal import journal_summary
from provenance.planning import deployed_as_now
from provenance.report import manifest as mf
from provenance.report.assets import base_url, reports_dir
from provenance.report.context import build_context
from provenance.report.errors import ReportError
from provenance.report.glossary import GLOSSARY, plain
from provenance.report.certificates import SigningIdentity, load_pkcs12
from provenance.report.keys import fingerprint, load_private_key, public_bytes
from provenance.report.quote import quote
from provenance.report.sign import PLACEHOLDER, sign_document

PDF_VARIANT = "pdf/a-3b"


@dataclass(frozen=True)
class ReportResult:
    """What ``render_report`` wrote, and the numbers a closing note wants."""

    pdf_path: Path
    html_path: Path
    report_hash: str
    signed: bool
    key_fingerprint: str | None
    certificate_sha256: str | None
    time_stamped: bool
    pages: int
    pdf_bytes: int
    seconds: float
    refused_urls: list[str] = field(default_factory=list)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(reports_dir()),
        autoescape=True,  # every template, every variable: model output is hostile
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["quote"] = quote
    env.filters["plain"] = plain  # a test id with its plain name beside it
    return env


def _load_findings(case: Case) -> tuple[Findings, bytes]:
    path = case.directory / "findings.json"
    if not path.is_file():
        raise ReportError(f"no findings.json in {case.directory}", hint="run `provenance case analyze` on the case first")
    data = path.read_bytes()
    try:
        return Findings.model_validate_json(data), data
    except ValidationError as exc:
        raise ReportError(
            f"{path} is not a findings file this provenance can read ({exc.error_count()} problems)",
            hint="re-run `provenance case analyze` to rewrite it",
        ) from None


def _signature_record(manifest_bytes: bytes, key: Ed25519PrivateKey | None, signer: dict[str, str] | None) -> bytes:
    """signature.json, uncompressed in the PDF; its document signature is a placeholder until signed."""
    if key is None:
        record: dict[str, Any] = {
            "signed": False,
            "manifest_sha256": mf.sha256_bytes(manifest_bytes),
            "reason": "rendered without a signing key (provenance report --key KEYFILE signs)",
        }
    else:
        assert signer is not None
        record = {
            "signed": True,
            "algorithm": "Ed25519",
            "public_key": signer["public_key"],
            "key_fingerprint": signer["key_fingerprint"],
            "manifest_sha256": mf.sha256_bytes(manifest_bytes),
            "manifest_signature": key.sign(manifest_bytes).hex(),
            "document_signature": PLACEHOLDER,
            "document_signature_covers": (
                "every byte of this PDF's first revision (through its first %%EOF line) except the 128 hex digits "
                "of document_signature; a PDF signature (PAdES) in a later revision covers the whole file"
            ),
        }
    return mf.canonical_bytes(record)


def _uncompress_signature(signature: bytes):  # noqa: ANN202 - a weasyprint finisher
    """A weasyprint finisher that stores the signature.json stream uncompressed, without a checksum.

    Uncompressed, its placeholder can be overwritten in place after writing; the MD5
    checksum (optional in PDF) would be stale after that, so it is dropped.
    """

    def finisher(document: Any, pdf: Any) -> None:
        _af_once(pdf)
        for obj in pdf.objects:
            extra = getattr(obj, "extra", None)
            if isinstance(extra, dict) and extra.get("Type") == "/EmbeddedFile" and signature in b"".join(
                part if isinstance(part, bytes) else str(part).encode() for part in obj.stream
            ):
                obj.compress = False
                extra["Params"].pop("CheckSum", None)

    return finisher


def _af_once(pdf: Any) -> None:
    """List each attachment once in the catalog's /AF (weasyprint's PDF/A-3 step adds every file specification twice)."""
    listed = pdf.catalog.get("AF")
    if listed is None:
        return
    seen: set[str] = set()
    unique = [ref for ref in listed if not (str(ref) in seen or seen.add(str(ref)))]
    if len(unique) != len(listed):
        del listed[:]
        listed.extend(unique)


def render_report(
    case: Case | str | Path,
    *,
    key_path: str | Path | None = None,
    signer_note: str | None = None,
    out_dir: str | Path | None = None,
    pkcs12_path: str | Path | None = None,
    pkcs12_passphrase: bytes | None = None,
    tsa_url: str | None = None,
    tsa_timeout: float | None = None,
) -> ReportResult:
    """Render the case's report from findings.json and its evidence; sign it when a key is given.

    With ``pkcs12_path`` the finished PDF also gets a PAdES signature that any PDF
    reader shows, time-stamped by ``tsa_url`` (default: the case file's
    ``[report] tsa_url``). A TSA failure raises before anything is written.
    """
    started = time.perf_counter()
    case = case if isinstance(case, Case) else load_case(resolve_case_path(Path(case)))
    tsa_url = tsa_url or case.spec.report.tsa_url
    tsa_timeout = tsa_timeout if tsa_timeout is not None else case.spec.report.tsa_timeout_s
    identity = _signing_identity(pkcs12_path, pkcs12_passphrase, key_path)
    findings, findings_bytes = _load_findings(case)
    case_bytes = case.path.read_bytes()
    if mf.sha256_bytes(case_bytes) != findings.case_sha256:
        raise ReportError(
            f"the case file {case.path} changed after findings.json was written",
            hint="re-run `provenance case analyze` so the findings and the embedded case file agree",
        )
    key = load_private_key(key_path) if key_path is not None else None
    if identity is not None and key is not None:
        _check_certificate_binds_key(identity, public_bytes(key.public_key()), pkcs12_path)
    if not case.evidence_path.is_file():
        raise ReportError(f"no evidence store at {case.evidence_path}", hint="the report quotes the stored evidence; collect first")
    with EvidenceStore.open_readonly(case.evidence_path, case.id) as store:  # rendering changes nothing in the store
        check = store.verify()
        if not check.ok:
            raise ReportError(f"refusing to report on broken evidence: {check.problem}", hint="restore the store from a verified copy")
        rows = list(store.rows())[: findings.evidence_rows]
        if len(rows) < findings.evidence_rows or (rows and rows[-1].row_hash != findings.evidence_head_hash):
            raise ReportError(
                "findings.json was not made from this evidence store (its chain head is not in the store)",
                hint="re-run `provenance case analyze` on this store",
            )
        models = store.models()
        journal = store.journal()
        view = EvidenceView.load(store, keep=deployed_as_now(case.spec))
    view = _view_upto(view, store_rows=rows)

    generated_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    signer = None
    if key is not None:
        raw = public_bytes(key.public_key())
        signer = {"public_key": raw.hex(), "key_fingerprint": fingerprint(raw), "name": findings.analyst, "note": signer_note or ""}
        if identity is not None:
            signer["certificate"] = identity.summary()
            signer["tsa_url"] = tsa_url or ""
    evidence_bytes = mf.canonical_bytes(mf.evidence_manifest(rows, findings.evidence_head_hash))
    attachment_bytes = {mf.FINDINGS: findings_bytes, mf.CASE_FILE: case_bytes, mf.EVIDENCE_MANIFEST: evidence_bytes}
    cited = {row for test in findings.tests for row in test.evidence_rows}
    context = build_context(findings, case, rows, view, models)
    context["journal"] = journal_summary(journal, sha256_json(json.loads(findings_bytes)))
    cited |= {a["row_id"] for s in context["suites"] for e in s["exhibits"]
              for a in (e["suspect"], e["teacher_answer"], e.get("logged"), e["control"], *e.get("controls", [])) if a}
    manifest = mf.build_manifest(
        case_id=findings.case_id,
        generated_at=generated_at,
        tool_version=_version(),
        attachments=attachment_bytes,
        rows=rows,
        cited=cited,
        signer=signer,
        journal={"entries": len(journal), "head_hash": journal[-1].row_hash if journal else "0" * 64},
    )
    manifest_bytes = mf.canonical_bytes(manifest)
    report_hash = mf.sha256_bytes(manifest_bytes)
    signature_bytes = _signature_record(manifest_bytes, key, signer)

    descriptions = {
        mf.FINDINGS: ("findings.json: every test, p-value and verdict (the machine-readable twin of this report)", "Data"),
        mf.CASE_FILE: ("the case file the findings were made from", "Source"),
        mf.EVIDENCE_MANIFEST: ("every evidence row the findings rest on: id, row hash, model key, suite, time", "Data"),
        mf.MANIFEST: ("the signed manifest; its SHA-256 is the report hash", "Supplement"),
        mf.SIGNATURE: ("Ed25519 signatures over the manifest and over this PDF's bytes, and the public key", "Supplement"),
    }
    payloads = {**attachment_bytes, mf.MANIFEST: manifest_bytes, mf.SIGNATURE: signature_bytes}
    context.update(
        report_hash=report_hash,
        generated_at=generated_at,
        signer=signer,
        store_check=f"chain intact, {check.rows_checked} rows checked (head {check.head_hash[:16]}…)",
        attachments=[
            {"name": name, "description": descriptions[name][0], "sha256": manifest["attachments"].get(name)}
            for name in payloads
        ],
        css=(reports_dir() / "report.css").read_text(encoding="utf-8"),
        glossary=GLOSSARY,
        expert={"name": case.spec.case.expert, "qualifications": case.spec.case.qualifications, "statement": case.spec.case.statement},
    )
    html = _environment().get_template("report.html.j2").render(**context)

    out = Path(out_dir) if out_dir is not None else case.directory
    out.mkdir(parents=True, exist_ok=True)
    pdf, pages, refused = _pdf(html, payloads, descriptions, signature_bytes)
    if key is not None:
        pdf = sign_document(pdf, key)
    if identity is not None:
        from provenance.report.pades import sign_pdf

        pdf = sign_pdf(pdf, identity, tsa_url=tsa_url, tsa_timeout=tsa_timeout)
    html_path, pdf_path = out / "report.html", out / "report.pdf"
    atomic_write(html_path, html.encode("utf-8"))
    atomic_write(pdf_path, pdf)
    return ReportResult(
        pdf_path=pdf_path,
        html_path=html_path,
        report_hash=report_hash,
        signed=key is not None,
        key_fingerprint=signer["key_fingerprint"] if signer else None,
        certificate_sha256=identity.fingerprint if identity is not None else None,
        time_stamped=identity is not None and bool(tsa_url),
        pages=pages,
        pdf_bytes=len(pdf),
        seconds=time.perf_counter() - started,
        refused_urls=refused,
    )


def _signing_identity(
    pkcs12_path: str | Path | None, passphrase: bytes | None, key_path: str | Path | None
) -> SigningIdentity | None:
    """The X.509 identity for the PDF signature; checked before any rendering work."""
    if pkcs12_path is None:
        return None
    if key_path is None:
        raise ReportError(
            "a PDF signature (--pkcs12) is added to a report signed with --key",
            hint="pass --key KEYFILE too: the Ed25519 key signs the manifest that `provenance verify` checks",
        )
    identity = load_pkcs12(pkcs12_path, passphrase)
    identity.check_valid_at(datetime.now(timezone.utc))
    return identity


def _check_certificate_binds_key(identity: SigningIdentity, ed25519_public: bytes, pkcs12_path: str | Path | None) -> None:
    """Refuse a PKCS#12 whose certificate names another Ed25519 key than --key (made by another keygen)."""
    bound = identity.summary().get("ed25519_public_key")
    if bound and bound != ed25519_public.hex():
        raise ReportError(
            f"the certificate in {pkcs12_path} was made for another signing key than --key (another `provenance keygen`)",
            hint="give the --key and --pkcs12 that one `provenance keygen KEYFILE --certificate` wrote (KEYFILE and KEYFILE.p12)",
        )


def _view_upto(view: EvidenceView, store_rows: list) -> EvidenceView:  # noqa: ANN001
    """The view as of the findings: rows appended after the analysis are not quoted."""
    last = store_rows[-1].id if store_rows else 0
    for suites in view.answers.values():
        for probes in suites.values():
            for probe, answers in list(probes.items()):
                probes[probe] = [a for a in answers if a.row_id <= last]
    for suites in view.scores.values():
        for teachers in suites.values():
            for teacher, records in teachers.items():
                teachers[teacher] = {p: r for p, r in records.items() if r.row_id <= last}
    return view


def _pdf(html: str, payloads: dict[str, bytes], descriptions: dict[str, tuple[str, str]], signature: bytes) -> tuple[bytes, int, list[str]]:
    """HTML to PDF/A-3b with the attachments; only packaged assets may be loaded."""
    try:
        from weasyprint import CSS, HTML, Attachment
        from weasyprint.text.fonts import FontConfiguration

        from provenance.report.fetcher import AssetOnlyFetcher
    except OSError as exc:  # weasyprint loads Pango with ctypes at import
        raise ReportError(
            f"the PDF renderer cannot load the Pango libraries ({exc})",
            hint="install them: apt-get install libpango-1.0-0 libpangoft2-1.0-0 (the fonts ship with provenance)",
        ) from None

    fetcher = AssetOnlyFetcher()
    fonts = FontConfiguration()  # without it, @font-face rules are ignored
    attachments = [
        Attachment(file_obj=io.BytesIO(data), name=name, description=descriptions[name][0], relationship=descriptions[name][1])
        for name, data in payloads.items()
    ]
    with _quiet_weasyprint():  # refused URLs are recorded in fetcher.refused, not logged as warnings
        document = HTML(string=html, base_url=base_url(), url_fetcher=fetcher).render(
            stylesheets=[CSS(url=base_url() + "fonts.css", url_fetcher=fetcher, font_config=fonts)],
            font_config=fonts,
            pdf_variant=PDF_VARIANT,
        )
        pdf = document.write_pdf(
            pdf_variant=PDF_VARIANT,
            attachments=attachments,
            finisher=_uncompress_signature(signature),
            uncompressed_pdf=False,
        )
    return pdf, len(document.pages), list(fetcher.refused)


@contextlib.contextmanager
def _quiet_weasyprint() -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _version() -> str:
    try:
        return metadata.version("provenance")
    except metadata.PackageNotFoundError:
        return "unknown"
