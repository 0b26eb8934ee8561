"""Errors a user can cause while rendering or verifying a report (exit code 2 in the CLI)."""

from __future__ import annotations

from provenance.errors import ProvenanceError


class ReportError(ProvenanceError):
    """A report cannot be rendered or read: no findings, findings that do not match the evidence, not a report."""


class KeyFileError(ProvenanceError):
    """A signing key is missing, unreadable, not Ed25519, or readable by other users."""
