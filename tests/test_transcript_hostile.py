"""Hostile transcripts (issue 28): each is refused at load time, naming file and line, before any row is stored."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.backends.transcript import TranscriptBackend
from provenance.errors import TranscriptError

from test_backend_transcript import record

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _load(tmp_path: Path, *lines: str) -> TranscriptBackend:
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return TranscriptBackend.load(path, name="suspect")


@pytest.mark.parametrize(("value", "shown"), [("NaN", "NaN"), ("Infinity", "Infinity"), ("1e999", "inf"), ("0.5", "0.5")])
def test_transcript_refuses_logprobs_that_are_not_log_probabilities(tmp_path: Path, value: str, shown: str) -> None:
    line = json.dumps(record("a", "b")).removesuffix("}") + f', "logprobs": [-0.1, {value}]}}'
    with pytest.raises(TranscriptError, match="line 1:") as caught:
        _load(tmp_path, line)
    assert shown in str(caught.value)


def test_transcript_refuses_a_timestamp_without_a_time_zone(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="line 1: 'timestamp': timestamp has no time zone"):
        _load(tmp_path, json.dumps(record("a", "b", timestamp="2025-03-01T12:00:00")))
    assert _load(tmp_path, json.dumps(record("a", "b", timestamp="2025-03-01T12:00:00+05:30"))).identity


def test_transcript_refuses_a_key_given_twice_in_one_line(tmp_path: Path) -> None:
    line = json.dumps(record("a", "b")).removesuffix("}") + ', "response": "other"}'
    with pytest.raises(TranscriptError, match="line 1: key 'response' appears twice"):
        _load(tmp_path, line)


def test_transcript_refuses_a_lone_surrogate_before_storing_anything(tmp_path: Path) -> None:
    lines = [json.dumps(record(f"p{i}", "fine")) for i in range(400)] + [json.dumps(record("x", "\ud800"))]
    with pytest.raises(TranscriptError, match="line 401: holds a lone surrogate U\\+D800"):
        _load(tmp_path, *lines)


def test_transcript_with_deeply_nested_json_is_one_line_not_a_recursion_error(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="line 1: not valid JSON") as caught:
        _load(tmp_path, "[" * 100_000 + "]" * 100_000)
    assert len(str(caught.value).splitlines()) == 1
