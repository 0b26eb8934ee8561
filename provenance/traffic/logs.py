"""Reading a vendor's exchange log: validated line by line, normalised into Parquet for DuckDB.

One exchange a row: timestamp, account id, API-key id, source IP, user agent,
optional organisation / payment id, model, request messages, response text, token
usage. The log is streamed (never loaded whole): each JSON line is checked and
flattened, written to a normalised JSON Lines file in bounded batches, and DuckDB
turns that into one Parquet file that every feature query reads. A Parquet log is
read by DuckDB directly and checked column by column.

Bad input is never dropped silently: a line that is not JSON, not UTF-8, lacks a
field or has a timestamp without a time zone is skipped and *counted by reason*,
with the first few line numbers kept for the scan report; with ``strict`` the first
one stops the scan with its line number. Out-of-order timestamps are normal in
merged logs and only counted; mixed time zones are normalised to UTC.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from provenance.errors import ProvenanceError

#: Fields every exchange must carry (``organisation`` and ``payment_id`` are optional).
REQUIRED = ("timestamp", "account_id", "api_key_id", "source_ip", "user_agent", "model", "messages", "response")
#: How many offending line numbers are kept per reason.
_NAMED = 5


class TrafficLogError(ProvenanceError):
    """A log cannot be read (a missing or truncated file, or a bad line under ``strict``)."""


@dataclass
class ReadReport:
    """What reading the log found: rows kept, rows skipped by reason (with example line numbers)."""

    rows: int = 0
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[int]] = field(default_factory=dict)
    out_of_order: int = 0
    time_zones: Counter = field(default_factory=Counter)

    def skip(self, reason: str, line: int) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < _NAMED:
            self.examples[reason].append(line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "skipped": dict(self.skipped),
            "skipped_examples": self.examples,
            "out_of_order_timestamps": self.out_of_order,
            "time_zone_offsets": {k: v for k, v in sorted(self.time_zones.items())},
        }


def _timestamp(value: Any) -> tuple[datetime, str]:  # noqa: ANN401
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=timezone.utc), "+00:00 (epoch)"
    if not isinstance(value, str):
        raise ValueError("timestamp is neither an ISO 8601 string nor epoch seconds")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("timestamp has no time zone (ambiguous: give Z or an offset)")
    offset = parsed.strftime("%z")
    return parsed.astimezone(timezone.utc), f"{offset[:3]}:{offset[3:]}"


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """One validated exchange as the flat row the feature queries read."""
    missing = [k for k in REQUIRED if record.get(k) in (None, "")]
    if missing:
        raise KeyError(f"missing field(s): {', '.join(missing)}")
    messages = record["messages"]
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) and "content" in m for m in messages):
        raise ValueError("messages is not a non-empty list of {role, content} objects")
    user = [str(m["content"]) for m in messages if m.get("role", "user") == "user"]
    if not user:
        raise ValueError("messages hold no user turn")
    usage = record.get("usage") or {}
    return {
        "account_id": str(record["account_id"]),
        "api_key_id": str(record["api_key_id"]),
        "source_ip": str(record["source_ip"]),
        "user_agent": str(record["user_agent"]),
        "organisation": None if record.get("organisation") in (None, "") else str(record["organisation"]),
        "payment_id": None if record.get("payment_id") in (None, "") else str(record["payment_id"]),
        "model": str(record["model"]),
        "prompt": user[-1],
        "user_turns": len(user),
        "messages": json.dumps(messages, ensure_ascii=False),
        "response": str(record["response"]),
        "prompt_tokens": int(usage.get("prompt_tokens") or 0),
        "completion_tokens": int(usage.get("completion_tokens") or 0),
    }


def iter_jsonl(path: Path, report: ReadReport, *, strict: bool = False) -> Iterator[dict[str, Any]]:
    """Validated, flattened exchanges of a JSON Lines log, with their line numbers."""
    previous: datetime | None = None
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                reason = "not UTF-8"
            else:
                try:
                    record = json.loads(text)
                    if not isinstance(record, dict):
                        raise ValueError("a line must hold one JSON object")
                    when, zone = _timestamp(record.get("timestamp"))
                    row = _flatten(record)
                except json.JSONDecodeError:
                    reason = "not JSON"
                except KeyError as exc:
                    reason = str(exc).strip("'\"")
                except (ValueError, TypeError) as exc:
                    reason = str(exc)
                else:
                    report.rows += 1
                    report.time_zones[zone] += 1
                    if previous is not None and when < previous:
                        report.out_of_order += 1
                    previous = when
                    yield {"line": number, "ts": when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **row}
                    continue
            if strict:
                raise TrafficLogError(f"{path}, line {number}: {reason}", hint="fix the line, or scan without --strict to skip and count such lines")
            report.skip(reason, number)


def normalise(logs: list[Path], work: Path, *, strict: bool = False, batch: int = 50_000) -> tuple[Path, ReadReport]:
    """Every log into ``work/exchanges.parquet`` (DuckDB), streaming; returns it and what was read."""
    import duckdb

    work.mkdir(parents=True, exist_ok=True)
    report = ReadReport()
    staging = work / "exchanges.staging.jsonl"
    parquet_inputs: list[Path] = []
    with open(staging, "w", encoding="utf-8") as out:
        buffer: list[str] = []
        for log in logs:
            if not log.is_file():
                raise TrafficLogError(f"no log at {log}", hint="give JSON Lines (.jsonl) or Parquet (.parquet) files")
            if log.suffix == ".parquet":
                parquet_inputs.append(log)
                continue
            for row in iter_jsonl(log, report, strict=strict):
                row["source"] = log.name
                buffer.append(json.dumps(row, ensure_ascii=False))
                if len(buffer) >= batch:
                    out.write("\n".join(buffer) + "\n")
                    buffer.clear()
        if buffer:
            out.write("\n".join(buffer) + "\n")
    target = work / "exchanges.parquet"
    con = duckdb.connect()
    selects = []
    if staging.stat().st_size:
        selects.append(f"SELECT * REPLACE (CAST(ts AS TIMESTAMP) AS ts) FROM read_json('{_sql_path(staging)}', format='newline_delimited', columns={_COLUMNS})")
    for path in parquet_inputs:
        selects.append(_parquet_select(con, path, report))
    if not selects:
        raise TrafficLogError("the logs hold no readable exchange", hint=f"skipped lines by reason: {dict(report.skipped)}")
    con.execute(f"COPY ({' UNION ALL BY NAME '.join(selects)}) TO '{_sql_path(target)}' (FORMAT parquet)")
    staging.unlink()
    return target, report


_COLUMNS = (
    "{line: 'BIGINT', ts: 'VARCHAR', account_id: 'VARCHAR', api_key_id: 'VARCHAR', source_ip: 'VARCHAR', "
    "user_agent: 'VARCHAR', organisation: 'VARCHAR', payment_id: 'VARCHAR', model: 'VARCHAR', prompt: 'VARCHAR', "
    "user_turns: 'BIGINT', messages: 'VARCHAR', response: 'VARCHAR', prompt_tokens: 'BIGINT', completion_tokens: 'BIGINT', "
    "source: 'VARCHAR'}"
)


def _sql_path(path: Path) -> str:
    return str(path.resolve()).replace("'", "''")


def _parquet_select(con: Any, path: Path, report: ReadReport) -> str:  # noqa: ANN401 - a DuckDB connection
    """A Parquet log's rows in the normalised columns; a truncated file or a missing column is an error."""
    import duckdb

    try:
        names = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{_sql_path(path)}')").fetchall()}
    except duckdb.Error as exc:
        raise TrafficLogError(f"{path} is not a readable Parquet file ({str(exc).splitlines()[0]})",
                              hint="the file may be truncated: copy it again") from None  # fmt: skip
    needed = {"timestamp", "account_id", "api_key_id", "source_ip", "user_agent", "model", "prompt", "response"}
    missing = sorted(needed - names)
    if missing:
        raise TrafficLogError(f"{path} lacks column(s) {', '.join(missing)}", hint=f"a Parquet log needs {', '.join(sorted(needed))}")
    total, bad = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE timestamp IS NULL OR account_id IS NULL OR prompt IS NULL) "
        f"FROM read_parquet('{_sql_path(path)}')"
    ).fetchone()
    report.rows += total - bad
    if bad:
        report.skipped["missing field(s) in Parquet rows"] += bad
    optional = {c: (c if c in names else "NULL") for c in ("organisation", "payment_id", "prompt_tokens", "completion_tokens", "user_turns")}
    return (
        f"SELECT row_number() OVER () AS line, CAST(timestamp AS TIMESTAMP) AS ts, account_id, api_key_id, source_ip, "
        f"user_agent, {optional['organisation']} AS organisation, {optional['payment_id']} AS payment_id, model, prompt, "
        f"coalesce({optional['user_turns']}, 1) AS user_turns, NULL AS messages, response, "
        f"coalesce({optional['prompt_tokens']}, 0) AS prompt_tokens, coalesce({optional['completion_tokens']}, 0) AS completion_tokens, "
        f"'{path.name}' AS source FROM read_parquet('{_sql_path(path)}') "
        f"WHERE timestamp IS NOT NULL AND account_id IS NOT NULL AND prompt IS NOT NULL"
    )
