"""X.509 signing identities for the report's PDF signature (PAdES).

The Ed25519 key of :mod:`provenance.report.keys` signs *what* was analysed, for
``provenance verify``. Ordinary PDF readers (Acrobat, a court's filing system)
know nothing of it; they check a PDF signature made with an X.509 certificate.
That certificate comes either from the organisation (a PKCS#12 file, passphrase
from an environment variable, never the command line) or, for an analyst without
one, from :func:`make_self_signed`: it proves only that the same key signed, and
the report says so on its cover.

ECDSA P-256 keys: every PDF reader validates them, unlike Ed25519 in CMS.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from provenance.report.errors import KeyFileError
from provenance.report.keys import write_private, write_public

#: Environment variable that holds a PKCS#12 file's passphrase (never a command-line argument).
PASSPHRASE_ENV = "PROVENANCE_PKCS12_PASSPHRASE"
#: Lifetime of a self-signed certificate: the CA/Browser Forum's old ceiling, long enough for a case.
SELF_SIGNED_DAYS = 825


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER bytes, as hex: what PDF readers show as its fingerprint."""
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


@dataclass(frozen=True)
class SigningIdentity:
    """A private key, its certificate and the chain above it (issuer first)."""

    key: ec.EllipticCurvePrivateKey | object
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def self_signed(self) -> bool:
        return self.certificate.issuer == self.certificate.subject

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.certificate)

    def summary(self) -> dict[str, str | bool]:
        """What the manifest and the cover say about the signer's certificate."""
        cert = self.certificate
        return {
            "subject": cert.subject.rfc4514_string(),
            "name": _attribute(cert.subject, NameOID.COMMON_NAME),
            "organisation": _attribute(cert.subject, NameOID.ORGANIZATION_NAME),
            "issuer": cert.issuer.rfc4514_string(),
            "self_signed": self.self_signed,
            "certificate_sha256": self.fingerprint,
            "not_before": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ed25519_public_key": bound_ed25519_key(cert) or "",
        }

    def check_valid_at(self, when: datetime) -> None:
        """Refuse to sign with a certificate that is expired or not yet valid."""
        cert = self.certificate
        if when < cert.not_valid_before_utc:
            raise KeyFileError(
                f"the signing certificate is not valid until {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC",
                hint="check this machine's clock, or use a certificate that is valid now",
            )
        if when > cert.not_valid_after_utc:
            raise KeyFileError(
                f"the signing certificate expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
                hint="renew it (or make a new self-signed one with `provenance keygen --certificate`)",
            )


#: How a certificate of ``keygen --certificate`` names the Ed25519 key made beside it (a URI in subjectAltName).
KEY_URN = "urn:provenance:ed25519-public-key:"


def bound_ed25519_key(certificate: x509.Certificate) -> str | None:
    """The Ed25519 public key (hex) the certificate names, if it was made by ``provenance keygen --certificate``."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for uri in names.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.startswith(KEY_URN):
            return uri[len(KEY_URN):]
    return None


def check_certificate_inputs(path: Path, *, name: str, organisation: str, force: bool) -> None:
    """What ``make_self_signed`` would refuse, checked before anything is written (``keygen`` writes the key first)."""
    from provenance.report.keys import refuse_unwritable

    if not name.strip() or not organisation.strip():
        raise KeyFileError("a certificate needs the analyst's name and organisation", hint="pass --name and --organisation")
    for label, text in (("--name", name), ("--organisation", organisation)):
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise KeyFileError(f"{label} holds a character UTF-8 cannot encode (U+{ord(text[exc.start]):04X} at {exc.start})",
                               hint="give the name as text") from None  # fmt: skip
    refuse_unwritable(path, path.with_name(path.name + ".crt"))
    if path.exists() and not force:
        raise KeyFileError(f"{path} already exists", hint="choose another path, or pass --force to replace it")


def make_self_signed(
    path: str | Path,
    *,
    name: str,
    organisation: str,
    passphrase: bytes | None = None,
    days: int = SELF_SIGNED_DAYS,
    force: bool = False,
    ed25519_public_key: bytes | None = None,
) -> SigningIdentity:
    """Write a PKCS#12 file (mode 0600) with a new key and a self-signed certificate, and ``.crt`` beside it.

    The ``.crt`` (PEM) is what others pass to ``provenance verify --trust`` once they
    have checked its fingerprint with the analyst by another channel. ``ed25519_public_key``
    (the raw key ``keygen`` made beside it) is named in the certificate, so a report signed
    with this certificate and another keygen's Ed25519 key is refused, and verify checks it.
    """
    path = Path(path)
    check_certificate_inputs(path, name=name, organisation=organisation, force=force)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, name.strip()), x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation.strip())]
    )
    now = datetime.now(timezone.utc).replace(microsecond=0)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate a clock a little behind the verifier's
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ed25519_public_key is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(KEY_URN + ed25519_public_key.hex())]), critical=False
        )
    certificate = builder.sign(key, hashes.SHA256())
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    data = pkcs12.serialize_key_and_certificates(name.strip().encode(), key, certificate, None, encryption)
    write_private(path, data)
    write_public(path.with_name(path.name + ".crt"), certificate.public_bytes(serialization.Encoding.PEM))
    return SigningIdentity(key, certificate)


def passphrase_from_env(variable: str = PASSPHRASE_ENV) -> bytes | None:
    """The PKCS#12 passphrase from the environment, or None when the variable is unset or empty."""
    value = os.environ.get(variable)
    return value.encode("utf-8") if value else None


def load_pkcs12(path: str | Path, passphrase: bytes | None = None) -> SigningIdentity:
    """An organisation's (or ``keygen``'s) PKCS#12 file: key, certificate, chain."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no PKCS#12 file at {path}", hint="make one with `provenance keygen KEYFILE --certificate ...`")
    try:
        with warnings.catch_warnings():
            # A bundle that is BER, not DER (some exporters write it) loads through cryptography's fallback,
            # which warns on stderr: the user's one line must stay one line (found by the key-file fuzz property).
            warnings.simplefilter("ignore", UserWarning)
            key, certificate, chain = pkcs12.load_key_and_certificates(path.read_bytes(), passphrase)
    except ValueError:
        hint = f"set {PASSPHRASE_ENV} to its passphrase" if passphrase is None else f"check {PASSPHRASE_ENV}"
        raise KeyFileError(f"{path} cannot be opened: not a PKCS#12 file, or the passphrase is wrong", hint=hint) from None
    if key is None or certificate is None:
        raise KeyFileError(f"{path} holds no private key and certificate pair", hint="export the key with its certificate")
    return SigningIdentity(key, certificate, tuple(chain or ()))


def load_certificates(path: str | Path) -> list[x509.Certificate]:
    """Trust anchors for ``verify --trust``: one or more PEM certificates, or one DER certificate."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no certificate at {path}", hint="give the signer's or the CA's certificate (PEM or DER)")
    data = path.read_bytes()
    try:
        return x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise KeyFileError(f"{path} is not an X.509 certificate", hint="give a PEM (.crt, .pem) or DER (.cer) certificate") from None


#: The demo's certificate holder: the name the demo case gives its analyst, and an organisation that says what it is.
DEMO_HOLDER = ("provenance demo", "DEMO certificate: identifies no one")


def demo_signing_material(key_path: str | Path) -> tuple[Path, Path]:
    """The demo's Ed25519 key and a self-signed PKCS#12 certificate bound to it, made once and kept.

    ``provenance demo`` signs its report with both, so a newcomer who opens the PDF finds
    a signature in the reader's signature panel. The certificate's organisation says that
    it identifies no one, and it has no passphrase (it protects nothing of value).
    """
    from provenance.report.keys import generate_key, load_private_key, public_bytes

    key_path = Path(key_path)
    if not key_path.exists():
        generate_key(key_path)
    p12 = key_path.with_name(key_path.name + ".p12")
    if not p12.exists():
        public = public_bytes(load_private_key(key_path).public_key())
        make_self_signed(p12, name=DEMO_HOLDER[0], organisation=DEMO_HOLDER[1], ed25519_public_key=public)
    return key_path, p12
