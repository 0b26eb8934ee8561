"""Evidence: the append-only, hash-chained record of every model request and response."""

from provenance.evidence.store import (
    GENESIS_HASH,
    METHODS,
    SCHEMA_VERSION,
    EvidenceRow,
    EvidenceStore,
    JournalEntry,
    VerifyReport,
)

__all__ = ["GENESIS_HASH", "METHODS", "SCHEMA_VERSION", "EvidenceRow", "EvidenceStore", "JournalEntry", "VerifyReport"]
