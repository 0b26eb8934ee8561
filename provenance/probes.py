"""Probe suite data: versioned TOML files under ``probes/``, hashed into evidence.

Prompts live in data, not in Python lists, so an opposing expert can read exactly
what was asked, and the file's SHA-256 in the evidence proves which version it was.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from provenance.errors import CaseFileError
from provenance.hashing import sha256_text


class _ProbeModel(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    id: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    category: str = "general"
    language: str = "en"


class _SuiteMeta(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    version: str
    question: str
    source: str
    capability: str = "generate"


@dataclass(frozen=True)
class Probe:
    """One prompt of a suite; ``extra`` holds suite-specific fields (expected answers, labels)."""

    id: str
    prompt: str
    category: str
    language: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeSuite:
    """A suite's metadata and probes, with the SHA-256 of the file they came from."""

    name: str
    version: str
    question: str
    source: str
    capability: str
    probes: tuple[Probe, ...]
    sha256: str
    path: str

    def limited(self, limit: int | None) -> tuple[Probe, ...]:
        return self.probes if limit is None else self.probes[:limit]


def probes_dir() -> Path:
    """Where the packaged probe files are (the repo's ``probes/`` in a checkout)."""
    return Path(str(resources.files("provenance._probes")))


def load_suite(name_or_path: str | Path, *, base: Path | None = None) -> ProbeSuite:
    """Load a suite by name (``identity``) or by path to a TOML file.

    A relative path is taken from ``base`` (the folder of the case or audit file that names
    it), never from the working directory; the suite records the resolved path.
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml":
        path = (base / candidate if base is not None and not candidate.is_absolute() else candidate).resolve()
    else:
        path = probes_dir() / f"{name_or_path}.toml"
    if not path.is_file():
        raise CaseFileError(f"no probe file {path}", hint="name a suite that ships in probes/ or give a path to a .toml file")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
        meta = _SuiteMeta.model_validate(data.get("suite", {}))
        raw = [_ProbeModel.model_validate(item) for item in data.get("probe", [])]
    except (tomllib.TOMLDecodeError, ValidationError) as exc:
        raise CaseFileError(f"{path}: invalid probe file: {str(exc).splitlines()[0]}") from exc
    ids = [p.id for p in raw]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise CaseFileError(f"{path}: probe ids must be unique; repeated: {', '.join(repeated[:5])}")
    if not raw:
        raise CaseFileError(f"{path}: holds no [[probe]] entries")
    probes = tuple(
        Probe(id=p.id, prompt=p.prompt, category=p.category, language=p.language, extra=dict(p.model_extra or {}))
        for p in raw
    )
    return ProbeSuite(
        name=meta.name,
        version=meta.version,
        question=meta.question,
        source=meta.source,
        capability=meta.capability,
        probes=probes,
        sha256=sha256_text(text),
        path=str(path),
    )
