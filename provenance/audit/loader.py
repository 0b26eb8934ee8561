"""Read an audit file and say exactly what is wrong with it when it is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from provenance.audit.schema import AuditFile
from provenance.case.loader import model_location, validate_toml_file
from provenance.case.schema import ModelSpec
from provenance.errors import AuditFileError
from provenance.hashing import sha256_file

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
        return model_location(model, self.directory, resolve_relative=True)


def resolve_audit_path(path: str | Path) -> Path:
    """Accept an audit directory or the audit file itself."""
    path = Path(path)
    return path / AUDIT_FILE_NAME if path.is_dir() else path


def load_audit(path: str | Path) -> Audit:
    """Load and validate an audit file; errors name the file and the key path."""
    file = resolve_audit_path(path)
    spec = validate_toml_file(
        file, AuditFile, AuditFileError, what="audit file",
        missing_hint="write one; see the example in README.md (Audits)",
        schema_hint="see the audit file example in README.md (Audits)",
    )
    return Audit(spec=spec, path=file.resolve(), sha256=sha256_file(file))
