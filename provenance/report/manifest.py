"""What a report's signature covers: the manifest, and the evidence manifest.

A PDF cannot contain its own hash, so the report hash printed on the cover is the
SHA-256 of the **manifest**: canonical JSON (sorted keys, no whitespace, UTF-8) that
names the SHA-256 of every attachment (findings.json, the case file, the evidence
manifest), the evidence store's chain head and row count at analysis time, the
collection time span, every evidence row the findings cite with its row hash, and
the signer's public key. The manifest is embedded byte for byte as
``manifest.json``; anyone can recompute its hash with any JSON tool.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from provenance.evidence import EvidenceRow
from provenance.hashing import canonical_json

MANIFEST_VERSION = 1

FINDINGS = "findings.json"
CASE_FILE = "case.toml"
EVIDENCE_MANIFEST = "evidence-manifest.json"
MANIFEST = "manifest.json"
SIGNATURE = "signature.json"
#: Attachments whose hashes the manifest lists (the manifest and signature describe them).
HASHED_ATTACHMENTS = (FINDINGS, CASE_FILE, EVIDENCE_MANIFEST)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_bytes(value: Any) -> bytes:
    """The one byte form of ``value`` that is hashed, signed and embedded."""
    return canonical_json(value).encode("utf-8")


def evidence_manifest(rows: Iterable[EvidenceRow], head_hash: str) -> dict[str, Any]:
    """Every row the report was made from: id, row hash, model key, suite, time.

    With this, an opposing expert holding the evidence store can check every row,
    not only the cited ones, without trusting the report's tables.
    """
    listed = [[r.id, r.row_hash, r.model_key, r.suite, r.created_at] for r in rows]
    return {
        "columns": ["id", "row_hash", "model_key", "suite", "created_at"],
        "head_hash": head_hash,
        "row_count": len(listed),
        "rows": listed,
    }


def build_manifest(
    *,
    case_id: str,
    generated_at: str,
    tool_version: str,
    attachments: Mapping[str, bytes],
    rows: list[EvidenceRow],
    cited: Iterable[int],
    signer: Mapping[str, str] | None,
    journal: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The manifest: see the module docstring for what it commits to."""
    by_id = {r.id: r for r in rows}
    cited_ids = sorted(set(cited))
    missing = [i for i in cited_ids if i not in by_id]
    if missing:
        raise ValueError(f"findings cite evidence rows the store does not hold: {missing[:5]}")
    return {
        "manifest_version": MANIFEST_VERSION,
        "tool": f"provenance {tool_version}",
        "case_id": case_id,
        "generated_at": generated_at,
        "attachments": {name: sha256_bytes(attachments[name]) for name in HASHED_ATTACHMENTS},
        "evidence": {
            "head_hash": rows[-1].row_hash if rows else "0" * 64,
            "row_count": len(rows),
            "first_created_at": min((r.created_at for r in rows), default=None),
            "last_created_at": max((r.created_at for r in rows), default=None),
            "cited": [[i, by_id[i].row_hash] for i in cited_ids],
        },
        "signer": dict(signer) if signer else None,
        # The store's journal (design, analysis runs) as of signing: its length and last entry's hash.
        **({"journal": dict(journal)} if journal is not None else {}),
    }
