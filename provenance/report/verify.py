"""``verify_report``: is this PDF the report that was signed, and is its evidence unchanged?

Every check is run and reported by name, so a failure says what was changed: the
PDF's bytes (document signature), the manifest (manifest signature), an attachment
(its hash against the signed manifest), the signer (against a pinned public key),
or, given the evidence store, a row that the report cites (its recomputed hash
against the manifest). The PDF signature (PAdES) is validated with pyHanko: intact,
covering the whole file, time-stamped, the certificate valid when it signed,
the same certificate the signed manifest names and, given ``trust``
certificates, chained to one of them. An unsigned report is never reported as verified unless
the caller explicitly accepts unsigned reports.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from provenance.errors import ProvenanceError
from provenance.evidence import EvidenceStore
from provenance.hashing import sha256_json
from provenance.report import manifest as mf
from provenance.report.errors import ReportError
from provenance.report.certificates import load_certificates
from provenance.report.keys import fingerprint, load_public_key
from provenance.report.pades import PdfSignatureStatus, read_document_timestamps, read_pdf_signatures
from provenance.report.sign import SignatureSlotError, document_signature_ok, first_revision_end, signature_ok

#: How many bad rows a failure message names before it only counts them.
_NAMED_ROWS = 10


@dataclass(frozen=True)
class Check:
    """One named check and its outcome, with a message a lawyer can read."""

    name: str
    ok: bool
    detail: str


@dataclass
class ReportCheck:
    """The outcome of ``verify_report``: ``ok`` only if every check passed."""

    path: str
    signed: bool = False
    key_fingerprint: str | None = None
    report_hash: str | None = None
    pdf_signer: str | None = None
    signing_time: str | None = None
    checks: list[Check] = field(default_factory=list)
    #: Who signed is checked: the Ed25519 key matched --public-key, or the PDF signature chained to --trust.
    signer_verified: bool = False
    #: What a reader must weigh although no check failed (analyst and certificate holder differ, ...).
    warnings: list[str] = field(default_factory=list)
    #: Whether the findings were re-derived from the evidence (``--evidence``) and agreed.
    rederived: bool = False

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def signer_line(self) -> str:
        """The last line of ``provenance verify``: who signed, and whether that was checked."""
        if not self.signed:
            return "signer: none (the report is unsigned)"
        if self.signer_verified:
            return f"signer VERIFIED: key {self.key_fingerprint}" + (f", PDF signature by {self.pdf_signer}" if self.pdf_signer else "")
        return (f"signer NOT VERIFIED: signed by key {self.key_fingerprint}" + (f" and a certificate of {self.pdf_signer}" if self.pdf_signer else "")
                + ", but nothing says whose key that is; give --public-key ANALYST.pub or --trust CERT")

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "signed": self.signed,
            "key_fingerprint": self.key_fingerprint,
            "report_hash": self.report_hash,
            "pdf_signer": self.pdf_signer,
            "signing_time": self.signing_time,
            "signer_verified": self.signer_verified,
            "rederived": self.rederived,
            "warnings": list(self.warnings),
            "checks": [c.__dict__ for c in self.checks],
        }


def coverage_words(coverage: str, modification: str) -> str:
    """What a PDF signature covers, in the words pdfsig and pyHanko use for the same file.

    A PAdES B-LT signature is followed by a revision that adds only validation data (the
    DSS: certificates, revocation data, time stamps). The signature then covers its own
    revision, not the whole file: pdfsig says "Not total document signed", pyHanko
    "entire revision" with "LTA updates". Both are the expected state of a long-term
    signature, and saying "the whole document" would contradict them.
    """
    if coverage == "ENTIRE_FILE":
        return "covers the whole document"
    if coverage == "ENTIRE_REVISION" and modification in ("NONE", "LTA_UPDATES"):
        return ("covers the document as signed; the later revision adds only long-term-validation data (certificates, "
                "revocation data, time stamps), so pdfsig says 'Not total document signed' and pyHanko 'entire revision, "
                "LTA updates'")
    return f"coverage {coverage.lower().replace('_', ' ')}, later changes {modification.lower().replace('_', ' ')}"

def read_attachments(data: bytes) -> dict[str, bytes]:
    """The PDF's embedded files by name; raises ValueError when the PDF cannot be parsed.

    A name embedded more than once maps to ``b""`` so that it fails its hash check.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        found = PdfReader(io.BytesIO(data), strict=False).attachments
        return {name: contents[0] if len(contents) == 1 else b"" for name, contents in found.items()}
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


_RAW_SIGNATURE = re.compile(rb'\{"algorithm":"Ed25519".{0,2000}?"signed":true\}', re.DOTALL)


def raw_signature_record(data: bytes) -> dict[str, Any] | None:
    """signature.json read straight from the file's bytes (it is stored uncompressed).

    Why not only through the PDF parser: a damaged or edited PDF may not parse, and
    the document signature must still be checked and reported as the failure.
    """
    matches = _RAW_SIGNATURE.findall(data)
    if len(matches) != 1:
        return None
    try:
        return json.loads(matches[0])
    except ValueError:
        return None


def verify_report(
    pdf_path: str | Path,
    *,
    evidence: str | Path | None = None,
    public_key: str | Path | None = None,
    allow_unsigned: bool = False,
    trust: Sequence[str | Path] = (),
) -> ReportCheck:
    """Check a report's signatures, attachments and (with the store) its cited evidence rows.

    ``trust``: certificate files (the signer's, or a CA's) that the PDF signature
    must chain to; without them it is reported as untrusted-but-intact.
    """
    path = Path(pdf_path)
    anchors = [cert for item in trust for cert in load_certificates(item)]
    if not path.is_file():
        raise ReportError(f"no report at {path}", hint="check the path")
    data = path.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise ReportError(f"{path} is not a PDF", hint="give the report.pdf that `provenance report` wrote")
    result = ReportCheck(path=str(path))
    try:
        attachments = read_attachments(data)
    except ValueError as exc:
        attachments = {}
        result.add("PDF structure", False, f"the PDF cannot be parsed ({exc}): it was damaged or edited")
    raw = raw_signature_record(data)
    if mf.SIGNATURE not in attachments and raw is not None:
        attachments[mf.SIGNATURE] = mf.canonical_bytes(raw)
    missing = [n for n in (mf.MANIFEST, mf.SIGNATURE) if n not in attachments]
    if missing:
        result.add("attachments", False, f"missing {', '.join(missing)}: not a provenance report, or its signature was removed")
        if raw is not None:  # still say whether the bytes are as signed
            _signature_checks(result, data, raw, b"", {}, allow_unsigned)
        return result
    try:
        signature = json.loads(attachments[mf.SIGNATURE])
        manifest_bytes = attachments[mf.MANIFEST]
        manifest = json.loads(manifest_bytes)
    except ValueError:
        result.add("attachments", False, "manifest.json or signature.json is not valid JSON (edited)")
        if raw is not None:  # a flipped byte inside an attachment: the document signature says so too
            _signature_checks(result, data, raw, b"", {}, allow_unsigned)
        return result
    if raw is not None and raw != signature:
        result.add("signature block", False, "the signature.json attachment differs from the signature stored in the file")
    result.report_hash = mf.sha256_bytes(manifest_bytes)

    key = _signature_checks(result, data, signature, manifest_bytes, manifest, allow_unsigned)
    _pdf_signature_checks(result, data, manifest, anchors, trust_given=bool(trust))
    if key is not None and public_key is not None:
        expected = fingerprint(load_public_key(public_key))
        result.add(
            "signer",
            result.key_fingerprint == expected,
            f"signed by key {result.key_fingerprint}" + ("" if result.key_fingerprint == expected else f", not by the expected key {expected}"),
        )
        result.signer_verified = result.key_fingerprint == expected
    if key is not None and trust and any(c.name == "trust" and c.ok for c in result.checks) and any(
        c.name == "PDF signer in manifest" and c.ok for c in result.checks
    ):
        result.signer_verified = True
    _signer_identity_checks(result, manifest, signature)
    _attachment_checks(result, attachments, manifest)
    if evidence is not None:
        _evidence_checks(result, Path(evidence), manifest, attachments)
    return result


def _signer_identity_checks(result: ReportCheck, manifest: dict[str, Any], signature: dict[str, Any]) -> None:
    """The analyst the case names against the certificate's holder; the certificate against the Ed25519 key."""
    signer = manifest.get("signer") or {}
    certificate = signer.get("certificate") or {}
    if not certificate:
        return
    analyst, holder = str(signer.get("name") or ""), str(certificate.get("name") or "")
    if analyst and holder and analyst.strip().casefold() != holder.strip().casefold():
        result.warnings.append(
            f"the case names the analyst '{analyst}' but the PDF signature's certificate is held by '{holder}'"
            f" ({certificate.get('organisation') or 'no organisation'}): who stands behind the findings is not one person"
        )
    bound = certificate.get("ed25519_public_key")
    if bound:
        same = bound == signature.get("public_key")
        result.add(
            "certificate and key",
            same,
            "the certificate names the Ed25519 key that signed the manifest (made by one keygen)" if same
            else "the certificate names another Ed25519 key than the one that signed the manifest (a certificate of another keygen)",
        )
    elif signature.get("signed"):
        result.warnings.append(
            "the certificate does not name the Ed25519 signing key (not made by `provenance keygen --certificate`):"
            " that both belong to one signer rests on the manifest naming the certificate"
        )


def _signature_checks(result: ReportCheck, data: bytes, signature: dict[str, Any], manifest_bytes: bytes,
                      manifest: dict[str, Any], allow_unsigned: bool) -> Ed25519PublicKey | None:  # fmt: skip
    result.add(
        "manifest hash",
        signature.get("manifest_sha256") == result.report_hash,
        f"report hash {result.report_hash}"
        + ("" if signature.get("manifest_sha256") == result.report_hash else f" but signature.json names {signature.get('manifest_sha256')} (manifest replaced)"),
    )
    if not signature.get("signed"):
        result.add(
            "signature",
            allow_unsigned,
            "the report is NOT SIGNED: its hashes detect accidental damage, but anyone could have produced it"
            + (" (accepted: --allow-unsigned)" if allow_unsigned else "; re-render with `provenance report --key KEYFILE`"),
        )
        return None
    result.signed = True
    try:
        raw = bytes.fromhex(signature["public_key"])
        key = Ed25519PublicKey.from_public_bytes(raw)
    except (KeyError, ValueError, TypeError):
        result.add("signature", False, "signature.json holds no valid Ed25519 public key")
        return None
    result.key_fingerprint = fingerprint(raw)
    signer = manifest.get("signer") or {}
    result.add(
        "signer in manifest",
        signer.get("public_key") == signature["public_key"],
        "the signed manifest names the signing key" if signer.get("public_key") == signature["public_key"] else "the manifest names another key than signature.json (re-signed by someone else)",
    )
    ok = signature_ok(manifest_bytes, str(signature.get("manifest_signature", "")), key)
    result.add("manifest signature", ok, "valid" if ok else "does not match manifest.json: the manifest was changed after signing")
    try:
        ok = document_signature_ok(data, key)
        detail = "valid: no byte of the PDF changed since signing" if ok else "does not match: bytes of the PDF were changed after it was signed"
    except SignatureSlotError as exc:
        ok, detail = False, f"cannot be located ({exc}): the signature block was altered"
    result.add("document signature", ok, detail)
    return key


def _pdf_signature_checks(result: ReportCheck, data: bytes, manifest: dict[str, Any], anchors: list, *, trust_given: bool) -> None:  # noqa: ANN001
    """The PAdES signature: intact, whole file, time, certificate, manifest's certificate, trust."""
    expected = ((manifest.get("signer") or {}).get("certificate") or {}).get("certificate_sha256")
    try:
        appended = len(data) - first_revision_end(data)
    except SignatureSlotError:
        appended = 0  # the document-signature check already names this failure
    try:
        statuses = read_pdf_signatures(data, anchors)
    except Exception as exc:  # noqa: BLE001 - a damaged file may break the parser in any way; say so
        result.add("PDF signature", False, f"cannot be read ({type(exc).__name__}): the signature or the file structure was damaged")
        return
    if not statuses:
        if expected:
            result.add("PDF signature", False, f"the signed manifest names certificate {expected[:16]}… but the PDF carries no PDF signature (removed)")
        if appended:
            result.add(
                "later revisions",
                False,
                f"{appended} bytes were appended after the report was signed and no PDF signature covers them (an incremental update edited it)",
            )
        elif trust_given:
            result.add("PDF signature", False, "--trust was given but the report carries no PDF signature (render with --pkcs12)")
        return
    for status in statuses:
        _one_pdf_signature(result, status, expected, trust_given)
    try:
        stamps = read_document_timestamps(data, anchors)
    except Exception as exc:  # noqa: BLE001 - a damaged file may break the parser in any way; say so
        result.add("document time stamp", False, f"cannot be read ({type(exc).__name__})")
        return
    for stamp in stamps:
        when = f"{stamp.time:%Y-%m-%d %H:%M:%S %Z}" if stamp.time else "unknown"
        trusted = "the authority is trusted" if stamp.trusted else "the authority is not among the --trust certificates"
        ok = stamp.intact and stamp.valid
        result.add("document time stamp", ok,
                   f"PAdES B-LTA, {when}, by {stamp.authority}; it seals the signature and its validation data, so an "
                   f"archive can renew it with a later time stamp; {trusted}" if ok
                   else "does not match the document: bytes it covers were changed after it was made")


def _one_pdf_signature(result: ReportCheck, s: PdfSignatureStatus, expected: str | None, trust_given: bool) -> None:
    result.pdf_signer = s.signer_subject
    result.signing_time = s.signing_time.isoformat() if s.signing_time else None
    if not s.intact or not s.valid:
        detail = "does not match the document: bytes it covers were changed after signing"
    elif not s.covers_document:
        detail = f"the document was changed after signing: a later incremental update ({s.modification.lower().replace('_', ' ')}) that the signature does not cover"
    else:
        detail = f"PAdES, intact, {coverage_words(s.coverage, s.modification)}; signed by {s.signer_subject}, certificate SHA-256 {s.certificate_sha256[:16]}…"
    result.add("PDF signature", s.intact and s.valid and s.covers_document, detail)
    result.add(
        "PDF signer in manifest",
        s.certificate_sha256 == expected,
        "the signed manifest names this certificate"
        if s.certificate_sha256 == expected
        else ("the manifest names no certificate: the PDF signature was added by someone else" if not expected else f"the manifest names certificate {expected[:16]}…, not this one (re-signed)"),
    )
    when = f"{s.signing_time:%Y-%m-%d %H:%M:%S %Z}" if s.signing_time else "unknown"
    if s.timestamp_intact is None:
        result.add("time stamp", True, f"none: the signing time {when} is the signer's own clock")
    else:
        trusted = "the authority is trusted" if s.timestamp_trusted else "the authority is not among the --trust certificates"
        ok = bool(s.timestamp_intact)
        result.add("time stamp", ok, f"RFC 3161, {when}, by {s.timestamp_authority}; {trusted}" if ok else "the time-stamp token does not match the signature (forged or damaged)")
    validity = f"valid {s.certificate_not_before:%Y-%m-%d} to {s.certificate_not_after:%Y-%m-%d}"
    if s.signing_time is not None and s.signing_time > s.certificate_not_after:
        result.add("certificate validity", False, f"EXPIRED when it signed ({when}); it was {validity}")
    elif s.signing_time is not None and s.signing_time < s.certificate_not_before:
        result.add("certificate validity", False, f"NOT YET VALID when it signed ({when}); it is {validity}")
    else:
        result.add("certificate validity", True, f"{validity}; valid at the signing time ({s.signing_time_source})")
    if trust_given:
        reason = (s.trust_problem or "no chain").lower().replace("_", " ")
        result.add("trust", s.trusted, "chains to a --trust certificate" if s.trusted else f"NOT trusted: {reason} to the --trust certificates")
    else:
        result.add("trust", True, "untrusted but intact: no --trust certificate given, so who holds the key is not checked")


def _attachment_checks(result: ReportCheck, attachments: dict[str, bytes], manifest: dict[str, Any]) -> None:
    for name, expected in sorted((manifest.get("attachments") or {}).items()):
        if name not in attachments:
            result.add(f"attachment {name}", False, "missing from the PDF")
            continue
        actual = mf.sha256_bytes(attachments[name])
        result.add(
            f"attachment {name}",
            actual == expected,
            "matches the signed manifest" if actual == expected else f"SHA-256 {actual[:16]}… does not match the signed manifest's {expected[:16]}… (replaced or edited)",
        )
    try:
        findings = json.loads(attachments.get(mf.FINDINGS, b"{}"))
    except ValueError:
        findings = {}
    head = (manifest.get("evidence") or {}).get("head_hash")
    if findings.get("evidence_head_hash") != head:
        result.add("findings vs manifest", False, "findings.json names another evidence chain head than the manifest")


def _store_paths(evidence: Path) -> tuple[Path, Path]:
    """The store and the folder the case's relative paths (watermark keys) are taken from."""
    if evidence.is_dir():
        return evidence / "evidence.sqlite", evidence
    return evidence, evidence.parent


def _evidence_checks(result: ReportCheck, evidence: Path, manifest: dict[str, Any], attachments: dict[str, bytes]) -> None:
    """Every cited row present and unchanged; the chain intact; the store not cut short; the findings re-derived.

    The store is opened read-only (``EvidenceStore.open_readonly``): verify writes nothing, not even SQLite's side files.
    """
    store_path, directory = _store_paths(evidence)
    try:
        store = EvidenceStore.open_readonly(store_path)
    except ProvenanceError as exc:
        result.add("evidence store", False, exc.message)
        return
    with store:
        _stored_rows_checks(result, store, manifest)
        _journal_checks(result, store, manifest, attachments)
        _rederive_check(result, store, attachments, directory)


def _stored_rows_checks(result: ReportCheck, store: EvidenceStore, manifest: dict[str, Any]) -> None:
    chain = store.verify()
    result.add("evidence chain", chain.ok, f"intact, {chain.rows_checked} rows" if chain.ok else str(chain.problem))
    cited = (manifest.get("evidence") or {}).get("cited") or []
    stored = {row.id: row for row in store.rows()}
    expected_rows = int((manifest.get("evidence") or {}).get("row_count", 0))
    head = (manifest.get("evidence") or {}).get("head_hash")
    if len(stored) < expected_rows:
        result.add("evidence rows", False, f"the store holds {len(stored)} rows; the report was made from {expected_rows} (rows removed)")
    elif expected_rows and (stored[expected_rows].row_hash if expected_rows in stored else None) != head:
        result.add("evidence head", False, f"row {expected_rows} is not the chain head the report was made from (another store, or a rewritten chain)")
    else:
        later = len(stored) - expected_rows
        result.add("evidence head", True, f"row {expected_rows} is the chain head the report was made from"
                   + (f"; {later} rows were added after it" if later else ""))  # fmt: skip
    bad: list[str] = []
    for row_id, row_hash in cited:
        row = stored.get(row_id)
        if row is None:
            bad.append(f"row {row_id} is missing")
        elif sha256_json(row.content()) != row_hash:
            bad.append(f"row {row_id} changed (its content no longer hashes to the value in the report)")
        elif row.row_hash != row_hash:
            bad.append(f"row {row_id} has another hash than the report cites (chain rewritten)")
    detail = f"all {len(cited)} cited rows present and unchanged"
    if bad:
        more = f" and {len(bad) - _NAMED_ROWS} more" if len(bad) > _NAMED_ROWS else ""
        detail = "; ".join(bad[:_NAMED_ROWS]) + more
    result.add("cited evidence rows", not bad, detail)


def _journal_checks(result: ReportCheck, store: EvidenceStore, manifest: dict[str, Any], attachments: dict[str, bytes]) -> None:
    """The journal as the signed manifest records it: its head entry present, and these findings' analysis on record."""
    recorded = manifest.get("journal")
    if not recorded:
        result.warnings.append("the report records no journal (made before pre-registration was recorded): when its design was fixed is not shown")
        return
    entries = store.journal()
    count, head = int(recorded.get("entries", 0)), recorded.get("head_hash")
    if len(entries) < count:
        result.add("journal", False, f"the store's journal holds {len(entries)} entries; the report was made with {count} (entries removed, or another store)")
        return
    if count and entries[count - 1].row_hash != head:
        result.add("journal", False, f"journal entry {count} is not the one the report was signed with (another store, or a rewritten journal)")
        return
    later = len(entries) - count
    result.add("journal", True, f"entry {count} is the journal head the report was signed with" + (f"; {later} entries were added after it" if later else ""))
    try:
        findings_hash = sha256_json(json.loads(attachments.get(mf.FINDINGS, b"")))
    except ValueError:
        return  # the attachment check names it
    analyses = [e for e in entries[:count] if e.kind == "analysis"]
    runs = [e for e in analyses if e.content.get("findings_sha256") == findings_hash]
    if not analyses:
        result.warnings.append("the journal records no analysis run (the findings were made before the journal existed)")
    else:
        result.add(
            "analysis on record",
            bool(runs),
            f"journal entry {runs[-1].id} records the analysis run that wrote these findings ({runs[-1].created_at})" if runs
            else f"none of the {len(analyses)} analysis runs recorded in the store wrote these findings (edited after the analysis)",
        )
    designs = [e for e in entries[:count] if e.kind == "design"]
    if not designs:
        result.warnings.append("the journal records no design: the case was not pre-registered before collection")
    elif designs[0].evidence_rows:
        result.warnings.append(f"the design was recorded only after {designs[0].evidence_rows} evidence rows had been collected")


def _rederive_check(result: ReportCheck, store: EvidenceStore, attachments: dict[str, bytes], directory: Path) -> None:
    """Re-run the analysis from the store and the embedded case file; every number must agree."""
    from provenance.report.rederive import rederive

    try:
        reported = json.loads(attachments.get(mf.FINDINGS, b""))
    except ValueError:
        result.add("re-derived findings", False, "findings.json cannot be read, so it cannot be re-derived")
        return
    try:
        differences = rederive(store, attachments.get(mf.CASE_FILE, b""), reported, directory)
    except (ProvenanceError, ValueError) as exc:
        result.add("re-derived findings", False, f"the analysis cannot be re-run from the evidence: {getattr(exc, 'message', str(exc))}")
        return
    except Exception as exc:  # noqa: BLE001 - evidence and findings are hostile input: a crash is a failed check, by name
        result.add("re-derived findings", False, f"the analysis failed on this evidence ({type(exc).__name__}: {str(exc)[:200]})")
        return
    if differences:
        more = f" and {len(differences) - _NAMED_ROWS} more" if len(differences) > _NAMED_ROWS else ""
        result.add(
            "re-derived findings",
            False,
            f"{len(differences)} values differ from a re-analysis of the evidence with the embedded case file: "
            + "; ".join(str(d) for d in differences[:_NAMED_ROWS]) + more,
        )
        return
    tests = len(reported.get("tests") or [])
    result.rederived = True
    result.add("re-derived findings", True,
               f"re-analysed {reported.get('evidence_rows')} rows with the embedded case file: every value of the {tests} tests and the verdicts agrees")
