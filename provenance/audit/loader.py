"""Read an audit file and say exactly what is wrong with it when it is wrong."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from provenance.audit.schema import AuditFile
from provenance.case.loader import _describe, _location
from provenance.case.schema import ModelSpec
from provenance.errors import AuditFileError
from provenance.hashing import sha256_file
from provenance.modelref import is_package_ref, resolve_package_ref

AUDIT_FILE_NAME = "audit.toml"


@dataclass(frozen=True)
class Audit:
    """A validated audit file and where it lives."""

    spec: AuditFile
    path: Path
    sha256: str

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def id(self) -> str:
        return self.spec.audit.id

    @property
    def output(self) -> Path:
        """The audit's output folder (pairs, index, history)."""
        return self.resolve(self.spec.audit.output)

    def resolve(self, path: str) -> Path:
        """A path from the audit file: relative paths are taken from the audit file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.directory / p).resolve()

    def model_path(self, model: ModelSpec) -> Path:
        """Where a model is, as ``Case.model_path`` finds it (``package:PKG/FILE`` included)."""
        if model.path is None:
            return self.directory
        if is_package_ref(model.path):
            return resolve_package_ref(model.path)
        return self.resolve(model.path)


def resolve_audit_path(path: str | Path) -> Path:
    """Accept an audit directory or the audit file itself."""
    path = Path(path)
    return path / AUDIT_FILE_NAME if path.is_dir() else path


def load_audit(path: str | Path) -> Audit:
    """Load and validate an audit file; errors name the file and the key path."""
    file = resolve_audit_path(path)
    if not file.is_file():
        raise AuditFileError(f"no audit file at {file}", hint="write one; see the example in README.md (Audits)")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise AuditFileError(f"{file}: not valid TOML: {exc}", hint="fix the syntax at the position shown") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditFileError(f"{file}: cannot read: {exc}") from exc
    try:
        spec = AuditFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"{file}: {_location(e['loc'])}: {_describe(e)}" for e in exc.errors()]
        message = lines[0] if len(lines) == 1 else f"{len(lines)} problems: " + "; ".join(lines)
        raise AuditFileError(message, hint="see the audit file example in README.md (Audits)") from exc
    return Audit(spec=spec, path=file.resolve(), sha256=sha256_file(file))
