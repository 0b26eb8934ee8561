"""Reading a log's lines (issue 18): every kept exchange keeps the line number it had in the file.

The byte pass (``lines``) and DuckDB's validation are tested on logs written byte for
byte: CRLF line ends, blank and whitespace lines, raw control bytes, carriage returns
inside valid JSON, a last line without a line end, and chunk boundaries that put a
damaged line after clean chunks (so the log is copied from that chunk on).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import duckdb
import pytest

from provenance.traffic.lines import frame
from provenance.traffic.logs import ReadReport, TrafficLogError, normalise

GOOD = {"timestamp": "2026-03-02T10:00:00Z", "account_id": "a", "api_key_id": "k", "source_ip": "1.2.3.4",
        "user_agent": "ua", "model": "m", "messages": [{"role": "user", "content": "hi"}], "response": "hello"}  # fmt: skip


def _line(i: int, **changes: object) -> bytes:
    record = {**GOOD, "account_id": f"acct-{i}", "timestamp": f"2026-03-02T10:{i // 60 % 60:02d}:{i % 60:02d}Z", **changes}
    return json.dumps(record).encode()


def _rows(parquet: Path) -> dict[int, str]:
    return dict(duckdb.connect().execute(f"SELECT line, account_id FROM read_parquet('{parquet}')").fetchall())


def test_line_numbers_survive_every_kind_of_damage_across_chunk_boundaries(tmp_path: Path) -> None:
    lines: list[bytes] = [_line(i) for i in range(1, 400)]
    damaged = {
        120: b"", 121: b"   \t", 200: _line(200) + b"\r",  # blank, whitespace, CRLF end: not counted, line kept
        250: _line(250).replace(b', "account_id"', b',\r "account_id"'),  # a CR as whitespace between tokens: valid
        251: _line(251)[:-2] + b'\x1f"}', 252: b"\xff" + _line(252), 253: _line(253).replace(b"hi", b"h\x00i"),
        254: b'{"account_id": "acct-254\r"}', 300: _line(300, messages=[{"role": "system", "content": "x"}]),
        301: _line(301, timestamp=True), 302: _line(302, timestamp="yesterday"), 303: _line(303, timestamp=1772445600),
        304: b"[1, 2]", 305: _line(305, usage={"prompt_tokens": "many"}), 306: _line(306, response=""),
    }  # fmt: skip
    for number, text in damaged.items():
        lines[number - 1] = text
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(lines))  # the last line has no line end
    expected_kept = {n for n in range(1, 400)} - {120, 121, 251, 252, 253, 254, 300, 301, 302, 304, 305, 306}
    report = ReadReport()
    framed = frame(log, tmp_path / "work", report, chunk_size=4096)  # many chunks; damage after clean ones
    assert framed.copied and framed.lines == 399 and len(framed.samples) > 5
    assert report.to_dict()["skipped_examples"] == {"not UTF-8": [252], "not JSON": [251, 253, 254]}
    parquet, read = normalise([log], tmp_path / "work")
    rows = _rows(parquet)
    assert set(rows) == expected_kept
    assert all(rows[n] == f"acct-{n}" for n in expected_kept)
    assert read.to_dict()["skipped_examples"] == {
        "not UTF-8": [252], "not JSON": [251, 253, 254], "messages hold no user turn": [300],
        "timestamp is neither an ISO 8601 string nor epoch seconds": [301],
        "timestamp is not an ISO 8601 date and time": [302], "a line must hold one JSON object": [304],
        "usage token counts are not integers": [305], "missing field(s): response": [306],
    }  # fmt: skip
    assert read.rows == len(expected_kept) and read.time_zones == {"+00:00": len(expected_kept) - 1, "+00:00 (epoch)": 1}


def test_a_clean_log_is_read_in_place_and_rows_match_lines_at_random(tmp_path: Path) -> None:
    rng = random.Random(3)
    log = tmp_path / "log.jsonl"
    with open(log, "wb") as handle:
        for i in range(1, 20_001):
            handle.write(_line(i, response="x" * rng.randint(1, 400)) + b"\n")
    framed = frame(log, tmp_path / "work", ReadReport(), chunk_size=1 << 20)
    assert not framed.copied and framed.path == log and framed.lines == 20_000
    parquet, read = normalise([log], tmp_path / "work")
    rows = _rows(parquet)
    assert read.rows == 20_000 and all(rows[n] == f"acct-{n}" for n in rng.sample(range(1, 20_001), 500))


def test_a_line_longer_than_the_reader_takes_is_skipped_and_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from provenance.traffic import lines, logs

    monkeypatch.setattr(lines, "MAX_LINE", 4096)  # the same path as 16 MiB, without writing 16 MiB
    monkeypatch.setattr(logs, "MAX_LINE", 4096)
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join([_line(1), _line(2, response="x" * 5000), _line(3)]) + b"\n")
    parquet, read = normalise([log], tmp_path / "work")
    assert set(_rows(parquet)) == {1, 3} and read.to_dict()["skipped_examples"] == {"line longer than 4,096 bytes": [2]}


def test_strict_names_the_first_bad_line_whichever_pass_found_it(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join([_line(1), _line(2, account_id=None), b"\xfe" + _line(3)]) + b"\n")
    with pytest.raises(TrafficLogError, match="line 2: missing field"):
        normalise([log], tmp_path / "work", strict=True)
    log.write_bytes(b"\n".join([_line(1), b"\xfe" + _line(2), _line(3, account_id=None)]) + b"\n")
    with pytest.raises(TrafficLogError, match="line 2: not UTF-8"):
        normalise([log], tmp_path / "work", strict=True)
