"""Reading a vendor's exchange log: validated line by line, normalised into Parquet for DuckDB.

One exchange a row: timestamp, account id, API-key id, source IP, user agent,
optional organisation / payment id, model, request messages, response text, token
usage. The log is never loaded whole into memory. Python makes one pass over its
bytes in large chunks (``lines``: UTF-8, line ends, bytes no JSON line holds),
then DuckDB loads the lines into a table (in memory up to ``memory_limit``, spilled
to ``work/spill`` past it; row n is line n, checked on samples), parses and
validates every line in one SQL statement (``_VALIDATE``: a reason per bad line,
flat fields per good one) and writes one Parquet file that every feature query
reads. Python parsing each line cost about 65 microseconds a line; this costs about
15 with the Parquet written (16 million lines in 234 s on 2 cores). A Parquet log is
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provenance.errors import ProvenanceError
from provenance.traffic.lines import MAX_LINE, PLACEHOLDER

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
    examples: dict[str, list[int | str]] = field(default_factory=dict)  # line numbers, or converted records' places
    out_of_order: int = 0
    time_zones: Counter = field(default_factory=Counter)
    formats: dict[str, str] = field(default_factory=dict)  # log file name -> format it was read as
    unavailable: dict[str, str] = field(default_factory=dict)  # degraded feature -> why (``formats.Conversion``)

    def skip(self, reason: str, line: int) -> None:
        self.skipped[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < _NAMED:
            self.examples[reason].append(line)

    def add(self, reason: str, count: int, examples: list[int | str]) -> None:
        """``count`` more skipped for ``reason`` (e.g. records a converter skipped), keeping the first few places."""
        self.skipped[reason] += count
        self.examples[reason] = (self.examples.get(reason, []) + examples)[:_NAMED]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "skipped": dict(self.skipped),
            "skipped_examples": self.examples,
            "out_of_order_timestamps": self.out_of_order,
            "time_zone_offsets": {k: v for k, v in sorted(self.time_zones.items())},
            "formats": self.formats,
            "unavailable_features": self.unavailable,
        }


#: Each line's fields as DuckDB's JSON reader types them (``timestamp`` and the nested ones kept as JSON).
_SHAPE = json.dumps({
    "timestamp": "JSON", **{k: "VARCHAR" for k in ("account_id", "api_key_id", "source_ip", "user_agent", "organisation",
                                                    "payment_id", "model", "response")},
    "messages": "JSON", "usage": "JSON",
})  # fmt: skip
_NO_TIME_ZONE = "timestamp has no time zone (ambiguous: give Z or an offset)"
_NUMBER = ("BIGINT", "UBIGINT", "DOUBLE")


def _missing_fields() -> str:
    """The required fields a line lacks (null or empty counts as missing), comma-separated, in ``REQUIRED`` order."""
    assert REQUIRED[0] == "timestamp"  # checked on its own, first
    parts = [f"CASE WHEN j.{k} IS NULL OR CAST(j.{k} AS VARCHAR) IN ('', '\"\"') THEN '{k}' END" for k in REQUIRED[1:]]
    return f"concat_ws(', ', {', '.join(parts)})"


#: The years a kept timestamp may fall in (first, last), by default: what the rest of the pipeline (DuckDB dates,
#: the page's matplotlib axes, transcript exports) can hold, and any real API log's span. ``scan(years=...)`` changes it.
DEFAULT_YEARS = (1970, 2100)
_OUT_OF_RANGE = "timestamp outside the years {first}-{last}"
_REPEATED_KEY = "a key appears twice in one object (which value is meant?)"
_BAD_OFFSET = "timestamp offset is not a UTC offset (at most +-14:00, minutes under 60)"


def _epoch(year: int) -> int:
    """Seconds since 1970 at the start of ``year`` (UTC)."""
    from datetime import datetime, timezone

    return int(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp())


def check_years(years: tuple[int, int]) -> tuple[int, int]:
    """``years`` as (first, last), refused unless 1 <= first <= last <= 9998 (what a timestamp can hold)."""
    first, last = years
    if not (1 <= first <= last <= 9998):
        raise TrafficLogError(f"years {first}-{last} is not a range of years a timestamp can hold",
                              hint="give FIRST-LAST with 1 <= FIRST <= LAST <= 9998, e.g. 1970-2100")  # fmt: skip
    return first, last


#: One row per line: why it was skipped (NULL when kept, '' for a blank line) and, when kept, its flat fields.
#: The checks run in the order of the reasons' priority, over the table ``raw_lines`` of loaded lines.
def _validate_sql(years: tuple[int, int] = DEFAULT_YEARS) -> str:
    """The validating statement for timestamps within ``years`` (first and last year included)."""
    first, last = check_years(years)
    low, high = _epoch(first), _epoch(last + 1)  # [low, high): epoch seconds a kept line may carry
    out_of_range = _OUT_OF_RANGE.format(first=first, last=last)
    return f"""
WITH parsed AS (
    SELECT rowid + 1 AS line, raw,
           CASE WHEN raw = '{PLACEHOLDER}' THEN 'placeholder'
                WHEN NOT json_valid(raw) THEN CASE WHEN regexp_full_match(raw, '\\s*') THEN 'blank' ELSE 'not json' END
                WHEN left(ltrim(raw), 1) <> '{{' THEN 'not object' END AS frame
    FROM raw_lines
), fields AS (
    SELECT line, frame, CASE WHEN frame IS NULL THEN json_transform(raw, '{_SHAPE}') END AS j,
           -- a line's own keys only: checking every message's too cost a third more time (about 10 % for these)
           CASE WHEN frame IS NULL THEN len(json_keys(raw)) <> len(list_distinct(json_keys(raw))) END AS repeated
    FROM parsed
), typed AS (
    SELECT line, frame, j, repeated, json_type(j.timestamp) AS ts_type,
           CASE WHEN json_type(j.timestamp) = 'VARCHAR' THEN j.timestamp ->> '$' END AS ts_text,
           CASE WHEN json_type(j.messages) = 'ARRAY' THEN CAST(json_extract(j.messages, '$[*]') AS JSON[]) END AS msgs
    FROM fields
), turns AS (
    SELECT *, list_filter(msgs, lambda m: CASE WHEN json_exists(m, '$.role') THEN (m ->> 'role') = 'user' ELSE true END) AS users,
           CASE WHEN ts_type IN {_NUMBER} THEN TRY_CAST(j.timestamp AS DOUBLE) END AS epoch,
           CASE WHEN ts_type IN {_NUMBER} THEN CASE WHEN TRY_CAST(j.timestamp AS DOUBLE) >= {low}
                                                     AND TRY_CAST(j.timestamp AS DOUBLE) < {high}
                                                    THEN to_timestamp(TRY_CAST(j.timestamp AS DOUBLE)) END
                ELSE TRY_CAST(ts_text AS TIMESTAMPTZ) END AS moment,
           regexp_extract(ts_text, '(Z|z|[+-]\\d\\d(:?\\d\\d)?)$', 1) AS zone_text,
           {_missing_fields()} AS missing
    FROM typed
), zoned AS (
    SELECT *, coalesce(TRY_CAST(substr(zone_text, 2, 2) AS INTEGER), 0) AS zone_hours,
           CASE WHEN length(replace(zone_text, ':', '')) = 5 THEN TRY_CAST(right(zone_text, 2) AS INTEGER) ELSE 0 END
               AS zone_minutes
    FROM turns
)
SELECT line,
       CASE WHEN frame = 'placeholder' THEN 'placeholder'
            WHEN frame = 'blank' THEN ''
            WHEN frame = 'not json' THEN 'not JSON'
            WHEN frame = 'not object' THEN 'a line must hold one JSON object'
            WHEN repeated THEN '{_REPEATED_KEY}'
            WHEN ts_type IS NULL OR ts_type NOT IN ('VARCHAR', {", ".join(repr(n) for n in _NUMBER)})
                THEN 'timestamp is neither an ISO 8601 string nor epoch seconds'
            WHEN ts_type <> 'VARCHAR' AND (epoch IS NULL OR moment IS NULL) THEN '{out_of_range}'
            WHEN moment IS NULL OR NOT isfinite(moment) THEN 'timestamp is not an ISO 8601 date and time'
            WHEN ts_type = 'VARCHAR' AND zone_text = '' THEN '{_NO_TIME_ZONE}'
            WHEN ts_type = 'VARCHAR' AND upper(zone_text) <> 'Z'
                 AND (zone_minutes >= 60 OR zone_hours * 60 + zone_minutes > 14 * 60)
                THEN '{_BAD_OFFSET}'
            WHEN moment < to_timestamp({low}) OR moment >= to_timestamp({high}) THEN '{out_of_range}'
            WHEN missing <> '' THEN 'missing field(s): ' || missing
            WHEN msgs IS NULL OR len(msgs) = 0
                 OR NOT list_bool_and(list_transform(msgs, lambda m: json_type(m) = 'OBJECT' AND json_exists(m, '$.content')))
                THEN 'messages is not a non-empty list of {{role, content}} objects'
            WHEN len(users) = 0 THEN 'messages hold no user turn'
            WHEN users[-1] ->> 'content' IS NULL THEN 'the last user turn has no content'
            WHEN j.usage IS NOT NULL AND json_type(j.usage) <> 'OBJECT' THEN 'usage is not an object'
            WHEN (j.usage ->> 'prompt_tokens' IS NOT NULL AND TRY_CAST(j.usage ->> 'prompt_tokens' AS BIGINT) IS NULL)
                 OR (j.usage ->> 'completion_tokens' IS NOT NULL AND TRY_CAST(j.usage ->> 'completion_tokens' AS BIGINT) IS NULL)
                THEN 'usage token counts are not integers'
       END AS reason,
       CASE WHEN ts_type <> 'VARCHAR' THEN '+00:00 (epoch)'
            WHEN upper(zone_text) = 'Z' THEN '+00:00'
            ELSE left(zone_text, 3) || ':' || CASE WHEN length(replace(zone_text, ':', '')) = 5
                                                   THEN right(replace(zone_text, ':', ''), 2) ELSE '00' END END AS zone,
       CAST(moment AS TIMESTAMP) AS ts,
       j.account_id, j.api_key_id, j.source_ip, j.user_agent, nullif(j.organisation, '') AS organisation,
       nullif(j.payment_id, '') AS payment_id, j.model, users[-1] ->> 'content' AS prompt, len(users) AS user_turns,
       CAST(j.messages AS VARCHAR) AS messages, j.response,
       coalesce(TRY_CAST(j.usage ->> 'prompt_tokens' AS BIGINT), 0) AS prompt_tokens,
       coalesce(TRY_CAST(j.usage ->> 'completion_tokens' AS BIGINT), 0) AS completion_tokens
FROM zoned
"""


_VALIDATE = _validate_sql()


def normalise(logs: list[Path], work: Path, *, strict: bool = False, memory_limit: str = "2GB",
              years: tuple[int, int] = DEFAULT_YEARS) -> tuple[Path, ReadReport]:  # fmt: skip
    """Every log into ``work/exchanges.parquet`` (DuckDB, out of core); returns it and what was read.

    A timestamp outside ``years`` (first and last included) is skipped and counted like any bad line.
    """
    import duckdb

    years = check_years(years)
    for log in logs:
        if not log.is_file():
            raise TrafficLogError(f"no log at {log}", hint="give JSON Lines (.jsonl) or Parquet (.parquet) files")
    _refuse_repeated(logs)
    work.mkdir(parents=True, exist_ok=True)
    report = ReadReport()
    con = duckdb.connect()  # in memory, spilling to work/spill past memory_limit: a log bigger than memory still loads
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET TimeZone = 'UTC'")  # casts to TIMESTAMP are in UTC, not in the zone of the analyst's machine
    con.execute(f"SET temp_directory = {sql_path(work / 'spill')}")
    con.execute("SET preserve_insertion_order = true")  # row n of a loaded file is its line n (checked on samples)
    selects = []
    last_moment = None
    try:
        for index, log in enumerate(logs):
            if log.suffix == ".parquet":
                selects.append(_parquet_select(con, log, report, years))
                continue
            table = f"checked_{index}"
            last_moment, loaded = _check_lines(con, log, work, report, table, strict=strict, previous=last_moment, years=years)
            if not loaded:  # an empty file: no table, nothing to select
                continue
            selects.append(f"SELECT line, ts, account_id, api_key_id, source_ip, user_agent, organisation, payment_id, model, "
                           f"prompt, user_turns, messages, response, prompt_tokens, completion_tokens, "
                           f"{sql_text(log.name)} AS source FROM {table} WHERE reason IS NULL")  # fmt: skip
        if not report.rows:
            raise TrafficLogError("the logs hold no readable exchange",
                                  hint=f"skipped lines by reason: {dict(report.skipped)}; another schema needs --map FILE.toml")
        target = work / "exchanges.parquet"
        target.unlink(missing_ok=True)  # DuckDB would write through a planted link
        con.execute(f"COPY ({' UNION ALL BY NAME '.join(selects)}) TO {sql_path(target)} (FORMAT parquet)")
    finally:
        con.close()
        for leftover in work.glob("*.framed"):
            leftover.unlink()
    return target, report


def _refuse_repeated(logs: list[Path]) -> None:
    """One log named twice (the same file, or two copies of the same bytes) would count every exchange twice."""
    import hashlib

    by_size: dict[int, list[Path]] = {}
    for log in logs:
        by_size.setdefault(log.stat().st_size, []).append(log)
    for same_size in by_size.values():
        if len(same_size) < 2:  # a log of its own size cannot repeat another: no need to read it
            continue
        seen: dict[str, Path] = {}
        for log in same_size:
            digest = hashlib.sha256()
            with open(log, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):  # noqa: B023 - consumed at once
                    digest.update(block)
            earlier = seen.setdefault(digest.hexdigest(), log)
            if earlier is not log:
                raise TrafficLogError(f"{log} is the same log as {earlier} (identical bytes): its exchanges would count twice",
                                      hint="give each log once")  # fmt: skip


def sql_text(text: str) -> str:
    """``text`` as a quoted SQL string literal (file names and paths go into DuckDB statements this way)."""
    return "'" + text.replace("'", "''") + "'"


def sql_path(path: Path) -> str:
    """The resolved ``path`` as a quoted SQL string literal."""
    return sql_text(str(path.resolve()))


def _check_lines(con: Any, log: Path, work: Path, report: ReadReport, table: str, *,  # noqa: ANN401 - a DuckDB connection
                 strict: bool, previous: Any, years: tuple[int, int] = DEFAULT_YEARS) -> tuple[Any, bool]:  # noqa: ANN401
    """Load one JSON Lines log, validate every line in SQL into ``table``.

    Returns the last kept timestamp (or ``previous``) and whether ``table`` was made (an empty log makes none).
    """
    from provenance.traffic.lines import frame

    early = ReadReport()  # what the byte pass skipped (UTF-8, forbidden bytes), merged in line order below
    framed = frame(log, work, early)
    if not framed.lines:
        return previous, False
    con.execute(f"""CREATE OR REPLACE TABLE raw_lines AS SELECT raw FROM read_csv({sql_path(framed.path)},
        columns = {{'raw': 'VARCHAR'}}, delim = '\x1f', quote = '', escape = '', header = false, auto_detect = false,
        new_line = '\\n', strict_mode = true, max_line_size = {MAX_LINE + 1024}, buffer_size = {4 * (MAX_LINE + 1024)})""")  # fmt: skip
    loaded = con.execute("SELECT count(*) FROM raw_lines").fetchone()[0]
    wanted = sorted(framed.samples)
    seen = dict(con.execute(f"SELECT rowid + 1, raw FROM raw_lines WHERE rowid + 1 IN ({', '.join(map(str, wanted))})").fetchall())
    if loaded != framed.lines or any(seen.get(n) != framed.samples[n] for n in wanted):
        raise TrafficLogError(f"{log}: the lines DuckDB read are not the file's lines ({loaded} rows for {framed.lines} lines)",
                              hint="line numbers could not be kept; report this with the DuckDB version")  # fmt: skip
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {_VALIDATE if years == DEFAULT_YEARS else _validate_sql(years)}")
    con.execute("DROP TABLE raw_lines")
    bad = con.execute(f"""SELECT reason, count(*), list(line ORDER BY line)[1:{_NAMED}] FROM {table}
                          WHERE reason NOT IN ('', 'placeholder') GROUP BY reason""").fetchall()  # fmt: skip
    found = {reason: (count, lines) for reason, count, lines in bad}
    for reason, count in early.skipped.items():
        count_sql, lines_sql = found.get(reason, (0, []))
        found[reason] = (count + count_sql, sorted(early.examples[reason] + list(lines_sql))[:_NAMED])
    if strict and found:
        reason, (_, lines) = min(found.items(), key=lambda item: item[1][1][0])
        raise TrafficLogError(f"{log}, line {lines[0]}: {reason}", hint="fix the line, or scan without --strict to skip and count such lines")
    for reason, (count, lines) in sorted(found.items(), key=lambda item: item[1][1][0]):
        report.skipped[reason] += count
        report.examples.setdefault(reason, [])
        report.examples[reason] = (report.examples[reason] + list(lines))[:_NAMED]
    rows, out_of_order, first, last = con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE ts < before), arg_min(ts, line), arg_max(ts, line)
        FROM (SELECT line, ts, lag(ts) OVER (ORDER BY line) AS before FROM {table} WHERE reason IS NULL)
    """).fetchone()  # fmt: skip
    report.rows += rows
    report.out_of_order += out_of_order + (1 if previous is not None and first is not None and first < previous else 0)
    for zone, count in con.execute(f"SELECT zone, count(*) FROM {table} WHERE reason IS NULL GROUP BY zone").fetchall():
        report.time_zones[zone] += count
    return (last if last is not None else previous), True


def _parquet_select(con: Any, path: Path, report: ReadReport, years: tuple[int, int] = DEFAULT_YEARS) -> str:  # noqa: ANN401
    """A Parquet log's rows in the normalised columns; a truncated file or a missing column is an error.

    Every column is cast to the type a JSON Lines log normalises to (TRY_CAST: a value of another type
    becomes NULL), so the later stages see one shape whatever the log's column types; a row whose required
    field is null or empty, or whose timestamp is not a time or outside ``years``, is skipped and counted.
    """
    import duckdb

    try:
        names = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_path(path)})").fetchall()}
    except duckdb.Error as exc:
        raise TrafficLogError(f"{path} is not a readable Parquet file ({str(exc).splitlines()[0]})",
                              hint="the file may be truncated: copy it again") from None  # fmt: skip
    needed = {"timestamp", "account_id", "api_key_id", "source_ip", "user_agent", "model", "prompt", "response"}
    missing = sorted(needed - names)
    if missing:
        raise TrafficLogError(f"{path} lacks column(s) {', '.join(missing)}", hint=f"a Parquet log needs {', '.join(sorted(needed))}")

    def column(name: str, sql_type: str) -> str:
        quoted = '"' + name.replace('"', '""') + '"'
        return f"TRY_CAST({quoted} AS {sql_type})" if name in names else f"CAST(NULL AS {sql_type})"

    texts = ("account_id", "api_key_id", "source_ip", "user_agent", "organisation", "payment_id", "model", "prompt", "response")
    typed = (
        f"SELECT row_number() OVER () AS line, \"timestamp\" IS NULL AS no_time, {column('timestamp', 'TIMESTAMP')} AS ts, "
        + "".join(f"nullif({column(c, 'VARCHAR')}, '') AS {c}, " for c in texts)
        + f"coalesce({column('user_turns', 'BIGINT')}, 1) AS user_turns, CAST(NULL AS VARCHAR) AS messages, "
        f"coalesce({column('prompt_tokens', 'BIGINT')}, 0) AS prompt_tokens, "
        f"coalesce({column('completion_tokens', 'BIGINT')}, 0) AS completion_tokens "
        f"FROM read_parquet({sql_path(path)})"
    )
    lacking = " OR ".join(["no_time", *(f"{c} IS NULL" for c in sorted(needed - {"timestamp"}))])
    low, high = f"make_timestamp({years[0]}, 1, 1, 0, 0, 0)", f"make_timestamp({years[1] + 1}, 1, 1, 0, 0, 0)"
    try:
        total, bad, not_time, outside, _ = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {lacking}), count(*) FILTER (WHERE NOT ({lacking}) AND ts IS NULL), "
            f"count(*) FILTER (WHERE NOT ({lacking}) AND ts IS NOT NULL AND NOT (ts >= {low} AND ts < {high})), "
            f"count(organisation) + count(payment_id) + sum(user_turns + prompt_tokens + completion_tokens) "  # read every column
            f"FROM ({typed})"
        ).fetchone()
    except duckdb.Error as exc:  # a damaged page: found here, not in the COPY that writes the normalised log
        raise TrafficLogError(f"{path} is not a readable Parquet file ({str(exc).splitlines()[0]})",
                              hint="the file may be damaged: copy it again") from None  # fmt: skip
    report.rows += total - bad - not_time - outside
    if bad:
        report.skipped["missing field(s) in Parquet rows"] += bad
    if not_time:
        report.skipped["timestamp is not a time (Parquet rows)"] += not_time
    if outside:
        report.skipped[_OUT_OF_RANGE.format(first=years[0], last=years[1]) + " (Parquet rows)"] += outside
    return (
        f"SELECT line, ts, account_id, api_key_id, source_ip, user_agent, organisation, payment_id, model, prompt, "
        f"user_turns, messages, response, prompt_tokens, completion_tokens, {sql_text(path.name)} AS source "
        f"FROM ({typed}) WHERE NOT ({lacking}) AND ts >= {low} AND ts < {high}"
    )
