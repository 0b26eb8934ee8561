"""What an audit file may say, validated with pydantic like a case file.

An audit is many cases with one shape: every suspect against every teacher, with
the same controls, suites, alpha and per-pair budget. So the audit file reuses the
case file's tables (``ModelSpec``, ``SuiteSpec``, ``Budget``, ``WatermarkSpec``) and
adds only what is audit-specific: scanned folders and where the output goes.
Unknown keys are errors, as in case files.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from provenance import config
from provenance.case.schema import (
    _ID_PATTERN,
    Budget,
    ModelSpec,
    SuiteSpec,
    WatermarkSpec,
    _Strict,
    check_suite_names,
)


class AuditInfo(_Strict):
    """Who runs the audit, its statistical settings, and where its output goes."""

    id: str = Field(pattern=_ID_PATTERN, description="short identifier; pair case ids start with it")
    title: str = Field(min_length=1)
    analyst: str = Field(min_length=1)
    seed: int = Field(default=config.DEFAULT_SEED, ge=0)
    alpha: float = Field(default=config.DEFAULT_ALPHA, gt=0, lt=1)
    output: str = Field(
        default="audit-output",
        min_length=1,
        description="folder for pair cases, reports, the index and the history; relative to the audit file",
    )


class ScanSpec(_Strict):
    """A folder watched for new model directories; each complete one becomes a suspect.

    Scanned models are untrusted downloads, so they are never loaded with pickle or
    remote code: there is deliberately no ``allow_pickle`` / ``trust_remote_code`` here.
    """

    path: str = Field(min_length=1, description="folder to scan; relative to the audit file")
    pattern: str = Field(default="*", min_length=1, description="glob that a model directory's name must match")
    exclude: list[str] = Field(default_factory=list, description="directory names to leave out")
    device: str = "auto"
    batch_size: int = Field(default=16, ge=1, le=4096)


class ReportSpec(_Strict):
    """How each pair's report is written."""

    key_file: str | None = Field(
        default=None, min_length=1, description="Ed25519 private key (PEM) to sign reports with; unsigned when absent"
    )
    pdf: bool = Field(default=True, description="write a PDF report per pair when the report module is available")


class AuditFile(_Strict):
    """A whole audit file (``audit.toml``)."""

    audit: AuditInfo
    suspect: list[ModelSpec] = Field(default_factory=list, description="models named one by one (local or API)")
    scan: list[ScanSpec] = Field(default_factory=list, description="folders scanned for model directories")
    teacher: list[ModelSpec] = Field(min_length=1, description="the reference teachers every suspect is tested against")
    control: list[ModelSpec] = Field(default_factory=list)
    reference: list[ModelSpec] = Field(
        default_factory=list,
        description="models outside every comparison whose answers are reference text (cross-likelihood, markers)",
    )
    suites: dict[str, SuiteSpec] = Field(min_length=1)
    budget: Budget = Field(default_factory=Budget, description="per pair")
    watermark: list[WatermarkSpec] = Field(default_factory=list)
    report: ReportSpec = Field(default_factory=ReportSpec)

    @field_validator("suites")
    @classmethod
    def _known_suites(cls, suites: dict[str, SuiteSpec]) -> dict[str, SuiteSpec]:
        if "membership" in suites:
            raise ValueError("the membership suite tests one campaign's logged exchanges: run it in a case file with "
                             "[campaign], not in an audit")
        return check_suite_names(suites)

    @model_validator(mode="after")
    def _consistent(self) -> AuditFile:
        if not self.suspect and not self.scan:
            raise ValueError("nothing to audit: give [[suspect]] models, [[scan]] folders, or both")
        for group, models in (("suspect", self.suspect),
                              ("teacher + control + reference", [*self.teacher, *self.control, *self.reference])):
            names = [m.name for m in models]
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{group} names must be unique; repeated: {', '.join(repeated)}")
        teachers = {t.name for t in self.teacher}
        for mark in self.watermark:
            if mark.teacher not in teachers:
                raise ValueError(f"[[watermark]] names teacher {mark.teacher!r}, which is not a teacher of this audit")
        return self
