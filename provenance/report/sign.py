"""Signing a finished PDF, and checking that signature, at the byte level.

Two Ed25519 signatures go into the ``signature.json`` attachment:

* ``manifest_signature`` over the bytes of ``manifest.json`` (made before rendering);
* ``document_signature`` over **every byte of the PDF's first revision except the
  128 hex digits of the document signature itself** (the ByteRange idea of PDF
  signatures, kept simple enough to check with any Ed25519 tool: cut the file after
  its first ``%%EOF`` line, delete those 128 characters and verify the rest). Any
  changed, added or removed byte of that revision breaks it.

The first revision is all weasyprint wrote. A PDF signature (PAdES, see
:mod:`provenance.report.pades`) is an incremental update after it and covers the
whole file; ``provenance verify`` accepts later revisions only when such a
signature covers them, so an appended edit is caught either way.

To make that possible the ``signature.json`` stream is stored uncompressed and its
placeholder (128 zeros) is overwritten in place after weasyprint has written the
file, so no offset in the PDF moves.
"""

from __future__ import annotations

import re

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PLACEHOLDER = "0" * 128
_FIELD = re.compile(rb'"document_signature":"([0-9a-f]{128})"')
_FIRST_EOF = re.compile(rb"startxref\s+\d+\s+%%EOF(\r\n|\r|\n)?")


class SignatureSlotError(ValueError):
    """The PDF holds no document-signature slot, or more than one."""


def signature_slot(pdf: bytes) -> tuple[int, int]:
    """Byte offsets ``[start, end)`` of the 128 hex digits of the document signature."""
    matches = list(_FIELD.finditer(pdf))
    if len(matches) != 1:
        raise SignatureSlotError(f"the PDF holds {len(matches)} document-signature fields, not exactly 1")
    return matches[0].span(1)


def first_revision_end(pdf: bytes) -> int:
    """Offset just after the first revision's ``%%EOF`` line (the file's length when there is one revision)."""
    start, _ = signature_slot(pdf)
    found = _FIRST_EOF.search(pdf, start)
    return found.end() if found else len(pdf)


def signed_bytes(pdf: bytes) -> bytes:
    """What the document signature covers: the first revision without the signature's 128 hex digits."""
    start, end = signature_slot(pdf)
    return pdf[:start] + pdf[end : first_revision_end(pdf)]


def sign_document(pdf: bytes, key: Ed25519PrivateKey) -> bytes:
    """Fill the placeholder slot of a freshly written PDF with the document signature."""
    start, end = signature_slot(pdf)
    if pdf[start:end] != PLACEHOLDER.encode():
        raise SignatureSlotError("the document-signature slot is already filled")
    signature = key.sign(signed_bytes(pdf)).hex().encode()
    return pdf[:start] + signature + pdf[end:]


def document_signature_ok(pdf: bytes, key: Ed25519PublicKey) -> bool:
    """True if the document signature in ``pdf`` matches every other byte of its first revision."""
    start, end = signature_slot(pdf)
    try:
        key.verify(bytes.fromhex(pdf[start:end].decode()), signed_bytes(pdf))
    except InvalidSignature:
        return False
    return True


def signature_ok(message: bytes, signature_hex: str, key: Ed25519PublicKey) -> bool:
    """True if ``signature_hex`` is ``key``'s Ed25519 signature of ``message``."""
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
