"""Watermark keys: read from a file or an environment variable, never written anywhere.

A key is secret material of the teacher's operator. Evidence and findings only
ever carry its SHA-256 (``WatermarkKey.sha256``), which proves which key was used
without revealing it; ``repr`` hides the material so a stray log line cannot
leak it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from provenance.errors import CaseFileError
from provenance.hashing import sha256_text


@dataclass(frozen=True)
class WatermarkKey:
    """Secret key material (a string); compare and record it by its SHA-256 only."""

    material: str = field(repr=False)
    #: Where the key came from (a path or ``env:NAME``), for error messages; never the key.
    source: str = ""

    def __post_init__(self) -> None:
        if not self.material:
            raise CaseFileError(f"the watermark key from {self.source or 'its source'} is empty", hint="put the key material there")

    @property
    def sha256(self) -> str:
        """SHA-256 of the key material: safe to store in evidence and reports."""
        return sha256_text(self.material)


def key_from_file(path: str | Path) -> WatermarkKey:
    """Read a key file: a JSON object with a ``"key"`` field (e.g. the lab's
    ``provenance_watermark.json``), or else the file's text with surrounding whitespace removed."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseFileError(f"cannot read the watermark key file {path}: {exc.strerror or exc}",
                            hint="check key_file in the case's [[watermark]] table (relative to the case file)") from exc
    material = text.strip()
    if material.startswith("{"):
        try:
            data = json.loads(material)
        except json.JSONDecodeError as exc:
            raise CaseFileError(f"watermark key file {path} looks like JSON but does not parse: {exc}") from exc
        if not isinstance(data, dict) or "key" not in data:
            raise CaseFileError(f"watermark key file {path} is JSON without a \"key\" field",
                                hint="store the key under \"key\", or store the bare key as plain text")
        material = str(data["key"])
    return WatermarkKey(material, source=str(path))


def key_from_env(name: str) -> WatermarkKey:
    """Read a key from the environment variable ``name``."""
    value = os.environ.get(name)
    if value is None:
        raise CaseFileError(f"environment variable {name} (the watermark key) is not set",
                            hint=f"export {name}=<key> before running, or use key_file")
    return WatermarkKey(value.strip(), source=f"env:{name}")
