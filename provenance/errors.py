"""Errors a user can cause. Each carries a one-line message and a fix.

The CLI turns any ``ProvenanceError`` into ``error: <message>`` plus the hint,
with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ProvenanceError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class CaseFileError(ProvenanceError):
    """The case file is missing, malformed, or fails validation."""


class AuditFileError(ProvenanceError):
    """The audit file is missing, malformed, or fails validation (named file and key path)."""


class ModelLoadError(ProvenanceError):
    """A model directory is missing, incomplete, or cannot be loaded."""


class UnsafeCheckpointError(ModelLoadError):
    """The model needs pickle or remote code, which the case has not allowed."""


class EvidenceStoreError(ProvenanceError):
    """The evidence store cannot be opened, written, or belongs to another case."""


class ContextWindowError(ProvenanceError):
    """A prompt plus its answer (or the continuation to score) does not fit the model's context."""


class PanelError(ProvenanceError):
    """A reference panel is missing, not built, changed since it was built, or built for another design than the case."""


class CapabilityError(ProvenanceError):
    """A backend was asked for something it declared it cannot do."""


class BudgetExhausted(ProvenanceError):
    """The case's query budget ran out; what was collected is kept."""


class EndpointError(ProvenanceError):
    """An API endpoint cannot be reached, refuses the key, or keeps failing.

    Messages never contain the API key: the client redacts it from anything it quotes.
    """


class TranscriptError(ProvenanceError):
    """A recorded-transcript file is missing, malformed, or lacks a prompt the case asks."""


class OutputPathError(ProvenanceError):
    """A file the project would write is a symbolic link, a folder, or in a folder that cannot be written."""


class EnvironmentProblem(ProvenanceError):
    """The machine, not the input: a missing dependency, a full disk, a permission the OS denies (exit 3)."""

    exit_code = 3
