"""Recorded transcripts imported as evidence: validated line by line, traceable to their file."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from provenance.backends.base import GenerationParams
from provenance.backends.transcript import TranscriptBackend
from provenance.case import load_case
from provenance.collect import collect
from provenance.errors import TranscriptError
from provenance.evidence import EvidenceStore
from provenance.hashing import sha256_file

PROMPTS = ["Who are you?", "What is your name?", "What are you?"]

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def record(prompt: str, response: str, **extra: object) -> dict[str, object]:
    return {
        "prompt": prompt,
        "response": response,
        "model": "vendor-chat-2025",
        "timestamp": "2025-03-01T12:00:00Z",
        "source": "exported chat log, analyst J. Doe",
        **extra,
    }


def write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def transcript_case(directory: Path, transcript: Path, teacher: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "case.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [case]
            id = "transcript-case"
            title = "t"
            analyst = "pytest"
            seed = 7

            [suspect]
            name = "suspect"
            backend = "transcript"
            path = "{transcript}"

            [[teacher]]
            name = "teacher"
            path = "{teacher}"

            [suites.identity]
            max_new_tokens = 8
            limit = 3
            """
        ),
        encoding="utf-8",
    )
    return path


def test_imported_rows_carry_their_file_hash_line_and_source(tmp_path: Path, tiny_model: Path) -> None:
    transcript = write_jsonl(
        tmp_path / "answers.jsonl",
        [record(p, f"I am Aurora, answer {i}.", logprobs=[-0.5, -1.0]) for i, p in enumerate(PROMPTS)],
    )
    case = load_case(transcript_case(tmp_path / "case", transcript, tiny_model))
    summary = collect(case)
    assert summary.complete and summary.stored == 6
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        rows = [r for r in store.rows() if r.extra["model_name"] == "suspect"]
        identity = store.models()[rows[0].model_key]
        assert store.verify().ok
    digest = sha256_file(transcript)
    assert identity["backend"] == "transcript" and identity["files"] == {"answers.jsonl": digest}
    assert [r.response["text"] for r in rows] == [f"I am Aurora, answer {i}." for i in range(3)]
    assert rows[0].response["logprobs"] == [-0.5, -1.0]
    meta = [r.extra["response_meta"] for r in rows]
    assert {m["transcript_sha256"] for m in meta} == {digest}
    assert [m["transcript_line"] for m in meta] == [1, 2, 3]
    assert meta[0]["recorded_model"] == "vendor-chat-2025" and meta[0]["source"].startswith("exported")


def test_an_edited_transcript_is_a_new_model_and_is_imported_again(tmp_path: Path, tiny_model: Path) -> None:
    transcript = write_jsonl(tmp_path / "answers.jsonl", [record(p, "first") for p in PROMPTS])
    case_path = transcript_case(tmp_path / "case", transcript, tiny_model)
    collect(load_case(case_path))
    write_jsonl(transcript, [record(p, "second") for p in PROMPTS])
    again = collect(load_case(case_path))
    assert again.stored == 3 and again.cached == 3


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (['{"prompt": "a", "response": "b"'], r"line 1: not valid JSON"),
        ([json.dumps(record("a", "b")), json.dumps({k: v for k, v in record("a", "b").items() if k != "response"})],
         r"line 2: 'response' is missing"),
        (["", json.dumps(record("a", "b", timestamp="yesterday"))], r"line 2: 'timestamp': timestamp must be ISO 8601"),
        ([json.dumps(record("a", "b", temperature=0.7))], r"line 1: unknown key 'temperature'"),
        ([json.dumps(record("a", "b", logprobs=["x"]))], r"line 1: 'logprobs.0'"),
        ([json.dumps(record("a", 42))], r"line 1: 'response'"),
        (["[1, 2]"], r"line 1: must be a JSON object"),
    ],
)
def test_bad_lines_are_named_by_file_and_line_number(tmp_path: Path, lines: list[str], expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(TranscriptError, match=expected) as info:
        TranscriptBackend.load(path, name="suspect")
    assert str(path) in info.value.message and info.value.hint


def test_a_prompt_the_transcript_lacks_is_an_error_naming_it(tmp_path: Path) -> None:
    backend = TranscriptBackend.load(write_jsonl(tmp_path / "t.jsonl", [record("Who are you?", "me")]), name="s")
    with pytest.raises(TranscriptError, match="no recorded answer to 1 prompt.*What is your name"):
        backend.generate(["Who are you?", "What is your name?"], GenerationParams(), seed=0)


def test_several_recordings_of_a_prompt_are_samples_picked_by_seed(tmp_path: Path) -> None:
    backend = TranscriptBackend.load(
        write_jsonl(tmp_path / "t.jsonl", [record("Q", "one"), record("Q", "two"), record("Q", "three")]), name="s"
    )
    params = GenerationParams(temperature=1.0)
    picked = [backend.generate(["Q"], params, seed=s)[0].text for s in (7, 8, 9)]
    assert sorted(picked) == ["one", "three", "two"]
    assert backend.generate(["Q"], params, seed=7)[0].text == picked[0]


def test_line_separators_inside_answers_do_not_split_records(tmp_path: Path) -> None:
    # JSON allows U+2028, U+2029 and U+0085 unescaped in strings, and exporters that write
    # UTF-8 as it is (ensure_ascii=False) leave them raw; str.splitlines() would cut there.
    from provenance.backends.transcript import read_transcript
    from provenance.jsonl import jsonl_lines

    answers = ["one\u2028two", "three\x85four", "five\u2029six"]
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(record(p, a), ensure_ascii=False) + "\n" for p, a in zip(PROMPTS, answers)),
                    encoding="utf-8")
    assert len(path.read_text(encoding="utf-8").splitlines()) > 3  # the trap
    rows = read_transcript(path)
    assert [(n, r.response) for n, r in rows] == [(1, answers[0]), (2, answers[1]), (3, answers[2])]
    text = path.read_text(encoding="utf-8")
    assert "".join(jsonl_lines(text, keepends=True)) == text and len(jsonl_lines(text)) == 3
