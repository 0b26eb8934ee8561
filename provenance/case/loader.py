"""Read a case file and say exactly what is wrong with it when it is wrong."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from provenance.case.panel import PANEL_FILE_NAME, PanelFile, join_panel
from provenance.case.schema import CaseFile, ModelSpec
from provenance.errors import CaseFileError, PanelError, ProvenanceError
from provenance.hashing import sha256_file
from provenance.modelref import is_package_ref, resolve_package_ref

CASE_FILE_NAME = "case.toml"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Case:
    """A validated case file and where it lives."""

    spec: CaseFile
    path: Path
    sha256: str

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def id(self) -> str:
        return self.spec.case.id

    @property
    def evidence_path(self) -> Path:
        return self.directory / "evidence.sqlite"

    def model_path(self, model: ModelSpec) -> Path:
        """A model's path, relative paths taken from the case file's folder.

        An API model has no files; its path is the case folder (backends ignore it).
        ``package:PKG/FILE`` names a file inside an installed package (``provenance.modelref``).
        """
        return model_location(model, self.directory)


def model_location(model: ModelSpec, directory: Path, *, resolve_relative: bool = False) -> Path:
    """Where ``model`` is, for a case or audit file in ``directory``.

    An API model (no path) gets ``directory``; ``package:PKG/FILE`` names a file in an
    installed package; a relative path is taken from ``directory`` (and made canonical
    with ``resolve_relative``).
    """
    if model.path is None:
        return directory
    if is_package_ref(model.path):
        return resolve_package_ref(model.path)
    path = Path(model.path).expanduser()
    if path.is_absolute():
        return path
    return (directory / path).resolve() if resolve_relative else directory / path


def _location(loc: tuple[object, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]" if parts else f"[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def _describe(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; unknown keys are not ignored)"
    if kind == "missing":
        return "required key is missing"
    return str(error.get("msg", "invalid value"))


def resolve_case_path(path: str | Path) -> Path:
    """Accept a case directory or the case file itself."""
    path = Path(path)
    return path / CASE_FILE_NAME if path.is_dir() else path


def validate_toml_file(
    file: Path, schema: type[M], error: type[ProvenanceError], *, what: str, missing_hint: str, schema_hint: str
) -> M:
    """Read ``file`` as TOML and validate it against ``schema``; every problem names the file and key path.

    Shared by case files and audit files, so both report mistakes the same way.
    """
    if not file.is_file():
        raise error(f"no {what} at {file}", hint=missing_hint)
    try:
        raw = file.read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            raise error(f"{file}: starts with a byte-order mark (U+FEFF), which TOML does not allow",
                        hint="save the file as UTF-8 without BOM")  # fmt: skip
        data = tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{file}: not valid TOML: {exc}", hint="fix the syntax at the position shown") from exc
    except RecursionError:
        raise error(f"{file}: not valid TOML: values nested too deeply", hint="a case file needs no deep nesting") from None
    except UnicodeDecodeError as exc:
        raise error(f"{file}: not UTF-8 (byte {exc.start + 1} cannot be decoded)", hint="save the file as UTF-8") from None
    except OSError as exc:
        raise error(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        lines = [f"{file}: {_location(e['loc'])}: {_describe(e)}" for e in exc.errors()]
        message = lines[0] if len(lines) == 1 else f"{len(lines)} problems: " + "; ".join(lines)
        raise error(message, hint=schema_hint) from exc


def load_case(path: str | Path) -> Case:
    """Load and validate ``case.toml`` (or a directory holding one)."""
    file = resolve_case_path(path)
    spec = validate_toml_file(
        file, CaseFile, CaseFileError, what="case file",
        missing_hint="create one with `provenance case init DIR`",
        schema_hint="see the commented template from `provenance case init`",
    )
    for key in ("title", "analyst"):
        value = getattr(spec.case, key)
        hidden = _INVISIBLE.search(value)
        if hidden is not None:  # shown on the report's cover and in its metadata: what is read must be what is stored
            raise CaseFileError(
                f"{file}: case.{key}: holds the invisible character [U+{ord(hidden.group()):04X}] at position {hidden.start() + 1}",
                hint="type the text again without control, zero-width or direction-changing characters",
            )
    return Case(spec=with_panel(spec, file.resolve().parent), path=file.resolve(), sha256=sha256_file(file))


def panel_directory(spec: CaseFile, directory: Path) -> Path | None:
    """The folder of the panel a case names (``[case] panel``, relative to the case's ``directory``), or None."""
    if spec.case.panel is None:
        return None
    path = Path(spec.case.panel).expanduser()
    return (path if path.is_absolute() else directory / path).resolve()


def load_panel(directory: str | Path) -> PanelFile:
    """Load and validate ``panel.toml`` from a panel folder (or the file itself)."""
    directory = Path(directory)
    file = directory if directory.suffix == ".toml" else directory / PANEL_FILE_NAME
    return validate_toml_file(
        file, PanelFile, PanelError, what="panel file",
        missing_hint="a panel folder holds panel.toml (see the README, \"Reusable panels\")",
        schema_hint="see the README, \"Reusable panels\"",
    )


def with_panel(spec: CaseFile, directory: Path) -> CaseFile:
    """A case's spec with the models of the panel it names joined as controls (``provenance.case.panel``)."""
    panel_dir = panel_directory(spec, directory)
    if panel_dir is None:
        return spec
    return join_panel(spec, directory, load_panel(panel_dir), panel_dir)


#: Characters a reader cannot see (controls but tab and newline, zero-width, direction overrides, BOM, surrogates, tags):
#: the same set ``provenance.report.quote`` marks in model output.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\ud800-\udfff\U000e0000-\U000e007f]"
)
