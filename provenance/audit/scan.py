"""Find the suspects of an audit: named models, and model directories in scanned folders.

A scanned folder is where new downloads land, so a directory may be caught half
copied. Loading it then would either fail obscurely or, worse, succeed on a
truncated file. So before a scanned directory becomes a suspect its files are
checked for completeness: a ``config.json`` that parses, at least one
``*.safetensors`` file, each one's header readable and the size it declares
present on disk, every shard an index names present, every file readable. A
directory that fails is still listed, with the reason, so the audit reports that
pair as failed and a later run retries it once the copy is complete. A ``*.gguf``
file in a scanned folder is a suspect too, checked the same way (its tensors must
end inside the file, its architecture must be one transformers can de-quantise).
"""

from __future__ import annotations

import fnmatch
import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from provenance.audit.loader import Audit
from provenance.case.schema import ModelSpec
from provenance.errors import ProvenanceError

#: safetensors: an 8-byte little-endian header length, then a JSON header. A header
#: larger than this is not a real model (and would be a memory bomb to read).
_MAX_HEADER_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Suspect:
    """One suspect of an audit run; ``problem`` says why it cannot be tested now."""

    name: str
    source: str  #: "suspect" (named in the audit file) or "scan:<folder>"
    spec: ModelSpec | None
    path: Path | None
    problem: str | None = None


def safetensors_problem(file: Path) -> str | None:
    """Why a safetensors file is not complete, or None when it is.

    The header declares every tensor's byte range; a file shorter than the end of
    the last range is a copy still in progress (or a truncated download).
    """
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                return f"{file.name}: {size} bytes, shorter than a safetensors header (still being copied?)"
            (header_len,) = struct.unpack("<Q", prefix)
            if header_len > _MAX_HEADER_BYTES:
                return f"{file.name}: declares a {header_len}-byte header; not a safetensors file"
            if 8 + header_len > size:
                return f"{file.name}: header declares {header_len} bytes but the file has {size} (still being copied?)"
            header = json.loads(handle.read(header_len))
    except OSError as exc:
        return f"cannot read {file.name}: {exc.strerror or exc}"
    except (json.JSONDecodeError, UnicodeDecodeError):
        return f"{file.name}: safetensors header is not valid JSON (damaged or still being copied?)"
    ends = [
        int(t["data_offsets"][1])
        for k, t in header.items()
        if k != "__metadata__" and isinstance(t, dict) and isinstance(t.get("data_offsets"), list)
    ]
    declared = 8 + header_len + max(ends, default=0)
    if declared > size:
        return f"{file.name}: header declares {declared} bytes but the file has {size} (still being copied?)"
    return None


def model_dir_problem(path: Path) -> str | None:
    """Why a model directory cannot be audited yet, or None when it looks complete."""
    config = path / "config.json"
    if not config.is_file():
        return "no config.json (still being copied?)"
    try:
        json.loads(config.read_text(encoding="utf-8"))
    except OSError as exc:
        return f"cannot read config.json: {exc.strerror or exc}"
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "config.json is not valid JSON (damaged or still being copied?)"
    for file in sorted(path.rglob("*")):
        if ".cache" in file.relative_to(path).parts:
            continue
        if file.is_symlink() and not file.exists():
            return f"cannot read {file.relative_to(path)}: dangling link"
        if file.is_file():
            try:
                with open(file, "rb") as handle:
                    handle.read(1)
            except OSError as exc:
                return f"cannot read {file.relative_to(path)}: {exc.strerror or exc}"
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        return "no *.safetensors weights (still being copied? pickle checkpoints are not audited)"
    index = path / "model.safetensors.index.json"
    if index.is_file():
        try:
            shards = set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError, AttributeError):
            return "model.safetensors.index.json is not valid (damaged or still being copied?)"
        missing = sorted(s for s in shards if not (path / s).is_file())
        if missing:
            return f"shard(s) named in the index are missing: {', '.join(missing[:3])} (still being copied?)"
    for file in weights:
        problem = safetensors_problem(file)
        if problem:
            return problem
    return None


def gguf_problem(file: Path) -> str | None:
    """Why a GGUF file cannot be audited yet (truncated, foreign, unsupported), or None."""
    from provenance.backends.gguf import check_gguf_file
    from provenance.errors import ModelLoadError

    try:
        check_gguf_file(file)
    except ModelLoadError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read {file.name}: {exc.strerror or exc}"
    return None


def _safe_name(directory_name: str) -> str:
    """A directory name turned into a model name a case file accepts."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", directory_name).lstrip("._-")
    return name or "model"


def _model_path(audit: Audit, model: ModelSpec) -> Path | None:
    try:
        return audit.model_path(model)
    except ProvenanceError:
        return None  # an unresolvable package: reference; identifying the model reports it


def discover(audit: Audit) -> list[Suspect]:
    """Every suspect of this run: named models first, then scanned model directories and
    ``*.gguf`` files (sorted).

    Hidden directories (``.name``) are skipped silently: copy tools write into such
    temporary names and rename when done.
    """
    suspects = [
        Suspect(name=m.name, source="suspect", spec=m, path=None if m.path is None else _model_path(audit, m))
        for m in audit.spec.suspect
    ]
    taken = {s.name for s in suspects}
    for scan in audit.spec.scan:
        folder = audit.resolve(scan.path)
        source = f"scan:{scan.path}"
        if not folder.is_dir():
            suspects.append(Suspect(f"scan-{_safe_name(scan.path)}", source, None, folder, f"scanned folder {folder} does not exist"))
            continue
        for entry in sorted(folder.iterdir()):
            gguf = entry.suffix.lower() == ".gguf" and not entry.is_dir()
            if entry.name.startswith(".") or not (entry.is_dir() or gguf) or entry.name in scan.exclude:
                continue
            if not fnmatch.fnmatch(entry.name, scan.pattern):
                continue
            stem = _safe_name(entry.stem if gguf else entry.name)
            name, n = stem, 2
            while name in taken:
                name, n = f"{stem}-{n}", n + 1
            taken.add(name)
            problem = gguf_problem(entry) if gguf else model_dir_problem(entry)
            spec = ModelSpec(name=name, path=str(entry.resolve()), device=scan.device, batch_size=scan.batch_size)
            suspects.append(Suspect(name, source, spec, entry.resolve(), problem))
    return suspects
