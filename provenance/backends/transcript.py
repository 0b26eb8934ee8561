"""Recorded transcripts: answers collected elsewhere (a web UI, a partner's logs), imported as evidence.

A transcript is a JSONL file, one recorded exchange per line::

    {"prompt": "...", "response": "...", "model": "vendor-model-2025", "timestamp": "2025-03-01T12:00:00Z",
     "source": "screen recording 14, analyst J. Doe", "logprobs": [-0.1, -2.3]}

``logprobs`` is optional (per-token log-probs of the response, when the recording has
them). Every line is validated on load and a problem names the file and the line,
because a transcript is evidence someone else produced and must be checked before it
is trusted. The file's SHA-256 is the model's identity and is carried by every row
imported from it, with the line number, so a report can point at the exact record.

The backend answers only what was recorded: a prompt the case asks that the
transcript lacks is an error naming it. Several recordings of one prompt are samples:
seed ``s`` gets recording ``s mod n`` (file order), so consecutive seeds get distinct ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from provenance.backends.base import Backend, Capability, Generation, GenerationParams, ModelIdentity
from provenance.errors import TranscriptError
from provenance.jsonl import jsonl_lines
from provenance.hashing import sha256_file

_MAX_REPORTED = 5  # problems quoted in one error message


class TranscriptRecord(BaseModel):
    """One validated line of a transcript file."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    prompt: str
    response: str
    model: str = Field(min_length=1)
    timestamp: str
    source: str = Field(min_length=1)
    logprobs: list[float] | None = None

    @field_validator("timestamp")
    @classmethod
    def _iso_timestamp(cls, value: str) -> str:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("timestamp must be ISO 8601, e.g. 2025-03-01T12:00:00Z") from None
        if moment.tzinfo is None:  # the traffic scanner refuses these too: 12:00 where?
            raise ValueError("timestamp has no time zone (ambiguous): give Z or an offset, e.g. 2025-03-01T12:00:00Z")
        return value

    @field_validator("logprobs")
    @classmethod
    def _log_probabilities(cls, values: list[float] | None) -> list[float] | None:
        for index, value in enumerate(values or ()):
            if not (math.isfinite(value) and value <= 0):
                raise ValueError(f"logprobs[{index}] = {value} is not a log-probability (a finite number <= 0)")
        return values


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when a key repeats (``json`` would silently keep the last value)."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise _RepeatedKey(key)
        data[key] = value
    return data


class _RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _lone_surrogate(value: Any) -> str | None:  # noqa: ANN401 - any JSON value
    """The first lone surrogate (``\\ud800``: JSON can escape one, no text holds one) in a parsed value, if any."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                return f"U+{ord(item[exc.start]):04X}"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def parse_json_line(line: str) -> Any:  # noqa: ANN401 - any JSON value
    """One JSONL line parsed strictly: a repeated key, NaN/Infinity, a lone surrogate or absurd nesting is a ``ValueError``."""
    try:
        data = json.loads(line, object_pairs_hook=_no_repeated_keys, parse_constant=_no_constant)
    except _RepeatedKey as exc:
        raise ValueError(f"key '{exc.key}' appears twice in one object (which one is meant?)") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    surrogate = _lone_surrogate(data)
    if surrogate is not None:
        raise ValueError(f"holds a lone surrogate {surrogate}, which is not text (the file was produced wrongly)")
    return data


def _no_constant(name: str) -> Any:  # noqa: ANN401
    raise ValueError(f"not valid JSON ({name} is not a JSON number)")


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(x) for x in error.get("loc", ())) or "line"
    if error.get("type") == "missing":
        return f"'{where}' is missing"
    if error.get("type") == "extra_forbidden":
        return f"unknown key '{where}'"
    return f"'{where}': {error.get('msg', 'invalid')}".replace("Value error, ", "")


def read_transcript(path: Path) -> list[tuple[int, TranscriptRecord]]:
    """Every record of ``path`` with its 1-based line number; raises naming the bad lines."""
    if not path.is_file():
        raise TranscriptError(f"no transcript file at {path}", hint="check the model's path in the case file")
    records: list[tuple[int, TranscriptRecord]] = []
    problems: list[str] = []
    try:
        lines = jsonl_lines(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptError(f"cannot read transcript {path}: {exc}", hint="it must be UTF-8 JSONL") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = parse_json_line(line)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if not isinstance(data, dict):
            problems.append(f"line {number}: must be a JSON object, not {type(data).__name__}")
            continue
        try:
            records.append((number, TranscriptRecord.model_validate(data)))
        except ValidationError as exc:
            problems.extend(f"line {number}: {_problem(e)}" for e in exc.errors())
    if problems:
        shown = "; ".join(problems[:_MAX_REPORTED])
        more = f" (and {len(problems) - _MAX_REPORTED} more)" if len(problems) > _MAX_REPORTED else ""
        raise TranscriptError(
            f"{path}: {shown}{more}",
            hint="each line needs prompt, response, model, timestamp, source and optionally logprobs",
        )
    if not records:
        raise TranscriptError(f"{path} holds no records", hint="one JSON object per line")
    return records


def transcript_identity(spec: Any, path: Path) -> ModelIdentity:
    """The file's SHA-256 and the model names it records: what every imported row points to."""
    return _identity(spec.name, path, read_transcript(path))


def _identity(name: str, path: Path, records: list[tuple[int, TranscriptRecord]]) -> ModelIdentity:
    return ModelIdentity(
        name=name,
        backend="transcript",
        source=str(path.resolve()),
        files={path.name: sha256_file(path)},
        details={"recorded_models": sorted({r.model for _, r in records}), "records": len(records)},
    )


class TranscriptBackend(Backend):
    """Answers from a recorded transcript; nothing is generated."""

    capabilities = frozenset({Capability.GENERATE})

    def __init__(self, path: Path, records: list[tuple[int, TranscriptRecord]], identity: ModelIdentity) -> None:
        self.path = path
        self._identity = identity
        self.sha256 = identity.files.get(path.name) or sha256_file(path)
        self._by_prompt: dict[str, list[tuple[int, TranscriptRecord]]] = {}
        for number, record in records:
            self._by_prompt.setdefault(record.prompt, []).append((number, record))

    @classmethod
    def load(cls, path: str | Path, *, name: str, identity: ModelIdentity | None = None) -> TranscriptBackend:
        path = Path(path)
        records = read_transcript(path)
        return cls(path, records, identity or _identity(name, path, records))

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    def generate(self, prompts: Sequence[str], params: GenerationParams, seed: int) -> list[Generation]:
        """The recorded response to each prompt; ``params`` cannot change a recording and are ignored."""
        missing = [p for p in prompts if p not in self._by_prompt]
        if missing:
            raise TranscriptError(
                f"{self.path} has no recorded answer to {len(missing)} prompt(s), e.g. {missing[0][:80]!r}",
                hint="record those prompts, or cut the suite with limit so it asks only what was recorded",
            )
        answers = []
        for prompt in prompts:
            recordings = self._by_prompt[prompt]
            number, record = recordings[seed % len(recordings)]
            meta = {
                "transcript_file": self.path.name,
                "transcript_sha256": self.sha256,
                "transcript_line": number,
                "recorded_model": record.model,
                "recorded_at": record.timestamp,
                "source": record.source,
            }
            logprobs = None if record.logprobs is None else tuple(record.logprobs)
            answers.append(Generation(text=record.response, logprobs=logprobs, finish_reason="stop", meta=meta))
        return answers
