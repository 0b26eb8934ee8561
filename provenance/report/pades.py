"""The report's PDF signature (PAdES, ETSI EN 319 142) and its RFC 3161 time stamp, via pyHanko.

Why pyHanko and not our own CMS: a signature that ordinary readers must accept is
a standard with many corners (ByteRange, CAdES attributes, DSS, time-stamp
tokens); pyHanko implements and validates all of them.

The signature is an incremental update after the first revision that weasyprint
wrote (and the Ed25519 document signature covers), so the PDF/A-3b
identification, the attachments and the manifest stay as they were. With
validation material (PAdES B-LT: the certificates, and revocation data when the
certificate names any) pyHanko appends one more revision holding only the
document security store; validation accepts that kind of update and no other.
With a time-stamping authority the signature is PAdES B-LTA: pyHanko appends a
document time stamp over the signature and the DSS, which an archive renews with
later ones before the algorithms or certificates age (``read_document_timestamps``).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from provenance.report.certificates import SigningIdentity, certificate_fingerprint
from provenance.report.errors import ReportError

#: Name of the signature form field the report's signature lives in.
SIGNATURE_FIELD = "ProvenanceReportSignature"
#: Seconds to wait for a time-stamping authority before giving up.
TSA_TIMEOUT_S = 30.0


class TimestampError(ReportError):
    """The time-stamping authority could not be reached or answered something unusable."""


def _asn1_certificate(certificate: x509.Certificate):  # noqa: ANN202 - asn1crypto type
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _asn1_key(key: Any):  # noqa: ANN001, ANN202
    from asn1crypto import keys as asn1_keys

    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return asn1_keys.PrivateKeyInfo.load(der)


def _has_revocation_pointers(certificate: x509.Certificate) -> bool:
    from cryptography.x509.oid import ExtensionOID

    oids = {ext.oid for ext in certificate.extensions}
    return bool(oids & {ExtensionOID.CRL_DISTRIBUTION_POINTS, ExtensionOID.AUTHORITY_INFORMATION_ACCESS})


@contextmanager
def _quiet_pyhanko() -> Iterator[None]:
    """pyHanko logs every path-building failure with a traceback; our checks report them in words."""
    loggers = [logging.getLogger(n) for n in ("pyhanko", "pyhanko_certvalidator")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def sign_pdf(
    pdf: bytes,
    identity: SigningIdentity,
    *,
    tsa_url: str | None = None,
    tsa_timeout: float = TSA_TIMEOUT_S,
    reason: str = "Model provenance evidence report",
) -> bytes:
    """Add a PAdES signature (with a time stamp when ``tsa_url`` is given) as an incremental update.

    Raises :class:`TimestampError` with one line when the TSA is down, slow or
    answers garbage; nothing is returned half-signed.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps.common_utils import TimestampRequestError
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
    from pyhanko_certvalidator import ValidationContext
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    identity.check_valid_at(datetime.now(timezone.utc))
    chain = [_asn1_certificate(c) for c in identity.chain]
    signer = signers.SimpleSigner(
        signing_cert=_asn1_certificate(identity.certificate),
        signing_key=_asn1_key(identity.key),
        cert_registry=SimpleCertificateStore.from_certs(chain),
    )
    # Validation material is embedded for the chain the signer brought: its top is the anchor.
    anchor = chain[-1] if chain else _asn1_certificate(identity.certificate)
    context = ValidationContext(
        trust_roots=[anchor], other_certs=chain, allow_fetching=_has_revocation_pointers(identity.certificate)
    )
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=identity.summary()["name"] or None,
        embed_validation_info=True,
        validation_context=context,
        use_pades_lta=tsa_url is not None,  # B-LTA: a document time stamp over the DSS, for archive renewal
    )
    timestamper = None
    if tsa_url:
        if not tsa_url.startswith(("http://", "https://")):
            raise TimestampError(f"the time-stamping authority URL {tsa_url!r} is not http(s)", hint="give the TSA's http(s) URL")
        timestamper = RequestsHTTPTimeStamper(tsa_url, https=tsa_url.startswith("https://"), timeout=tsa_timeout)
    try:
        with _quiet_pyhanko():
            out = signers.PdfSigner(meta, signer, timestamper=timestamper).sign_pdf(
                IncrementalPdfFileWriter(io.BytesIO(pdf)), in_place=False
            )
    except (TimestampRequestError, OSError, ValueError) as exc:
        if tsa_url is None:
            raise ReportError(f"the PDF signature could not be made: {exc}", hint="check the certificate and key") from None
        reason_text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TimestampError(
            f"the time-stamping authority at {tsa_url} gave no usable time stamp ({type(exc).__name__}: {reason_text[:200]})",
            hint="try again later, use another TSA, or sign without --tsa-url (the report then says its time is the signer's clock)",
        ) from None
    except Exception as exc:  # pyHanko wraps ASN.1 decoding errors of a garbage TSA answer in its own types
        if tsa_url is None:
            raise
        raise TimestampError(
            f"the time-stamping authority at {tsa_url} answered something that is not a time stamp ({type(exc).__name__})",
            hint="check the TSA URL; no report was written",
        ) from None
    return out.getvalue()


@dataclass(frozen=True)
class PdfSignatureStatus:
    """One PDF signature as a verifier sees it, in plain fields (pyHanko's status, flattened)."""

    field_name: str
    intact: bool
    valid: bool
    covers_document: bool
    coverage: str
    modification: str
    signer_subject: str
    certificate_sha256: str
    certificate_not_before: datetime
    certificate_not_after: datetime
    signing_time: datetime | None
    signing_time_source: str  # "time stamp" or "signer's clock"
    timestamp_authority: str | None
    timestamp_intact: bool | None
    timestamp_trusted: bool | None
    trusted: bool
    trust_problem: str | None

    @property
    def certificate_valid_at_signing(self) -> bool:
        when = self.signing_time
        return when is None or self.certificate_not_before <= when <= self.certificate_not_after


def _name(cert: Any) -> str:  # noqa: ANN401 - an asn1crypto certificate
    return cert.subject.human_friendly


def read_pdf_signatures(pdf: bytes, trust: Sequence[x509.Certificate] = ()) -> list[PdfSignatureStatus]:
    """Validate every PDF signature in ``pdf`` against ``trust`` (no anchors: intact but untrusted).

    Nothing is fetched from the network: a verifier on an air-gapped machine gets
    the same answer, and the report cannot make the verifier call out.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import ModificationLevel
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    anchors = [_asn1_certificate(c) for c in trust]
    statuses = []
    with _quiet_pyhanko():
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        for embedded in reader.embedded_regular_signatures:
            context = ValidationContext(trust_roots=anchors, allow_fetching=False, revocation_mode="soft-fail")
            status = validate_pdf_signature(embedded, signer_validation_context=context, ts_validation_context=context)
            coverage, level = status.coverage, status.modification_level
            covers = coverage == SignatureCoverageLevel.ENTIRE_FILE or (
                coverage == SignatureCoverageLevel.ENTIRE_REVISION and level is not None and level <= ModificationLevel.LTA_UPDATES
            )
            stamp = status.timestamp_validity
            cert = status.signing_cert
            statuses.append(
                PdfSignatureStatus(
                    field_name=embedded.field_name,
                    intact=bool(status.intact),
                    valid=bool(status.valid),
                    covers_document=covers,
                    coverage=coverage.name if coverage is not None else "UNKNOWN",
                    modification=level.name if level is not None else "UNKNOWN",
                    signer_subject=_name(cert),
                    certificate_sha256=certificate_fingerprint(x509.load_der_x509_certificate(cert.dump())),
                    certificate_not_before=cert.not_valid_before,
                    certificate_not_after=cert.not_valid_after,
                    signing_time=stamp.timestamp if stamp is not None else status.signer_reported_dt,
                    signing_time_source="time stamp" if stamp is not None else "signer's clock",
                    timestamp_authority=_name(stamp.signing_cert) if stamp is not None and stamp.signing_cert else None,
                    timestamp_intact=bool(stamp.intact and stamp.valid) if stamp is not None else None,
                    timestamp_trusted=bool(stamp.trusted) if stamp is not None else None,
                    trusted=bool(status.trusted),
                    trust_problem=status.trust_problem_indic.name if status.trust_problem_indic is not None else None,
                )
            )
    return statuses


@dataclass(frozen=True)
class DocumentTimestampStatus:
    """A PAdES B-LTA document time stamp (a /DocTimeStamp signature over everything before it)."""

    field_name: str
    intact: bool
    valid: bool
    trusted: bool
    time: datetime | None
    authority: str | None
    coverage: str


def read_document_timestamps(pdf: bytes, trust: Sequence[x509.Certificate] = ()) -> list[DocumentTimestampStatus]:
    """Validate every document time stamp in ``pdf`` offline (the archive-renewal layer of PAdES B-LTA).

    A document time stamp seals the signature and its validation data (the DSS) at a time an
    authority vouches for, so an archive can add another before the algorithms or
    certificates age. Nothing is fetched.
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_timestamp
    from pyhanko_certvalidator import ValidationContext

    anchors = [_asn1_certificate(c) for c in trust]
    out = []
    with _quiet_pyhanko():
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        for embedded in reader.embedded_timestamp_signatures:
            context = ValidationContext(trust_roots=anchors, allow_fetching=False, revocation_mode="soft-fail")
            status = validate_pdf_timestamp(embedded, validation_context=context)
            out.append(DocumentTimestampStatus(
                field_name=embedded.field_name, intact=bool(status.intact), valid=bool(status.valid),
                trusted=bool(status.trusted), time=status.timestamp,
                authority=_name(status.signing_cert) if status.signing_cert else None,
                coverage=status.coverage.name if status.coverage is not None else "UNKNOWN",
            ))
    return out
