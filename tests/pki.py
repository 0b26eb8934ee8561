"""A test PKI and a real RFC 3161 time-stamping authority on loopback.

The chain is made here with ``cryptography`` (root CA -> analyst certificate, root
CA -> TSA certificate); the TSA is an HTTP server on 127.0.0.1 that parses each
RFC 3161 request and answers with a token signed by pyHanko's own test signer
(``DummyTimeStamper``), so pyHanko's client talks to it over the wire exactly as
to a public TSA. The same server can be told to stall or answer garbage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provenance.report.certificates import SigningIdentity

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _name(common: str, organisation: str = "Test Forensics Ltd") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)])


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=not ca, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
    )  # fmt: skip


@dataclass(frozen=True)
class Issued:
    key: object
    certificate: x509.Certificate

    def pem(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path


def make_root(common: str) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=3650)).not_valid_after(NOW + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    return Issued(key, cert)


def issue(root: Issued, common: str, *, valid_from: datetime | None = None, valid_to: datetime | None = None,
          tsa: bool = False) -> Issued:  # fmt: skip
    """A certificate under ``root``: an analyst's (ECDSA) or, with ``tsa``, a time-stamping authority's (RSA)."""
    key = rsa.generate_private_key(65537, 2048) if tsa else ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder().subject_name(_name(common)).issuer_name(root.certificate.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(valid_from or NOW - timedelta(days=1)).not_valid_after(valid_to or NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root.key.public_key()), critical=False)
    )  # fmt: skip
    if tsa:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    return Issued(key, builder.sign(root.key, hashes.SHA256()))


def identity(cert: Issued, root: Issued) -> SigningIdentity:
    return SigningIdentity(cert.key, cert.certificate, (root.certificate,))


def write_pkcs12(cert: Issued, root: Issued, path: Path, passphrase: bytes | None = None) -> Path:
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    path.write_bytes(pkcs12.serialize_key_and_certificates(b"analyst", cert.key, cert.certificate, [root.certificate], encryption))
    path.chmod(0o600)
    return path


@contextmanager
def time_stamping_authority(root: Issued, *, mode: str = "ok", delay_s: float = 0.0) -> Iterator[str]:
    """Serve RFC 3161 on loopback; ``mode`` "ok", "garbage" (HTTP 200, not a token) or "slow" (sleeps ``delay_s``)."""
    from asn1crypto import keys as asn1_keys
    from asn1crypto import tsp
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    def asn1(cert: x509.Certificate):  # noqa: ANN202
        return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))

    tsa = issue(root, "Test Time-Stamping Authority", tsa=True)
    key_der = tsa.key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    stamper = DummyTimeStamper(
        asn1(tsa.certificate), asn1_keys.PrivateKeyInfo.load(key_der), certs_to_embed=SimpleCertificateStore.from_certs([asn1(root.certificate)])
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if mode == "slow":
                time.sleep(delay_s)
            if mode == "garbage":
                answer = b"\x30\x03\x02\x01\x07 this is not a time-stamp response"
            else:
                answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except OSError:  # the client gave up (the "slow" mode)
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/tsa"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (the TSA is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"
