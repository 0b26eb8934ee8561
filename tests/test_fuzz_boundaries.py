"""Property-based fuzzing of the input boundaries (issue 28), with Hypothesis.

Each boundary gets generated hostile input (random bytes, truncations, huge and nested
values, odd Unicode, NaN and infinities, extreme dates, repeated keys) and must either
accept it or refuse it with its own one-line error, never another exception, and never
change the input file. CI runs a bounded number of examples per boundary (``FUZZ_EXAMPLES``,
50 by default; ``PROVENANCE_FUZZ_EXAMPLES=10000`` for a long run, with ``--timeout 0``: see docs/boundary.md).
"""

from __future__ import annotations

import atexit
import functools
import json
import math
import os
import warnings
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from provenance.backends.transcript import read_transcript
from provenance.case import load_case
from provenance.errors import CaseFileError, TranscriptError
from provenance.traffic.logs import TrafficLogError, normalise, sql_path

from conftest import write_case

FUZZ_EXAMPLES = int(os.environ.get("PROVENANCE_FUZZ_EXAMPLES", "50"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=FUZZ_EXAMPLES <= 50, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])  # fmt: skip

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

# ------------------------------------------------------------------ hostile pieces

ODD_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\u202e", "\x00", "\ufeff", "\u2028", "\u0085", "\r", "\n", "\x1e", "\ud800", "\udfff", "é", "\U0001f600"]),
    ),
    max_size=40,
)
EXTREME_NUMBERS = st.one_of(
    st.sampled_from([float("nan"), float("inf"), float("-inf"), 1e300, -1e300, 2**63, -(2**63) - 1, 2**64, 0, -0.0, 1e-320]),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True),
)
EXTREME_DATES = st.one_of(
    st.sampled_from(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "3000-01-01T00:00:00Z", "2026-03-02T10:00:00+25:00",
                     "2026-03-02T10:00:00", "2026-02-30T10:00:00Z", "2026-03-02T10:00:00-99", "", "now", "1e300"]),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)).map(lambda d: d.isoformat() + "Z"),
    EXTREME_NUMBERS,
)  # fmt: skip
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), EXTREME_NUMBERS, ODD_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(ODD_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=True)


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _mutate(draw: st.DrawFn, text: bytes) -> bytes:
    """A valid file made hostile: truncated, bytes flipped or inserted, a BOM, a key repeated, a line doubled."""
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "bom", "random", "repeat-line", "nest"]))
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if kind == "flip":
        at = draw(st.integers(0, max(0, len(text) - 1)))
        return text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
    if kind == "insert":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(ODD_TEXT).encode("utf-8", "surrogatepass") + text[at:]
    if kind == "bom":
        return b"\xef\xbb\xbf" + text
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "nest":
        return text + b"\nx = " + _deep(draw(st.integers(1, 5000))).encode() + b"\n"
    lines = text.split(b"\n")
    line = draw(st.sampled_from(lines))
    return b"\n".join([*lines, line])


_ROOT = Path(tempfile.mkdtemp(prefix="fuzz-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


def _scratch(name: str) -> Path:
    """An empty folder ``name`` for one example (emptied again by the next: 10,000 examples leave one folder)."""
    folder = _ROOT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def _one_line(message: str) -> bool:
    return "\n" not in message.strip() and "Traceback" not in message


def _one_cli_error(stderr: str) -> bool:
    """What the CLI prints on a refusal: one ``error:`` line, and at most one ``hint:`` line after it."""
    lines = stderr.strip().splitlines()
    return ("Traceback" not in stderr and len(lines) in (1, 2) and lines[0].startswith("error:")
            and (len(lines) == 1 or lines[1].startswith("hint:")))  # fmt: skip


# ------------------------------------------------------------------ case files


@st.composite
def case_files(draw: st.DrawFn) -> bytes:
    base = write_case(_scratch("base"), Path("/m/a"), Path("/m/b")).read_bytes()
    if draw(st.booleans()):
        return _mutate(draw, base)
    key = draw(st.sampled_from(["seed", "alpha", "title", "analyst", "limit", "max_new_tokens", "temperature", "id"]))
    value = draw(st.one_of(EXTREME_NUMBERS.map(lambda v: repr(v).replace("inf", "inf").replace("nan", "nan")),
                           ODD_TEXT.map(lambda t: json.dumps(t)), st.sampled_from(["nan", "inf", "-inf", "[]", "{}", "true"])))  # fmt: skip
    section = "[suites.identity]" if key in ("limit", "max_new_tokens", "temperature") else "[case]"
    text = base.decode()
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    at = lines.index(section) + 1
    lines.insert(at, f"{key} = {value}")
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@FUZZ
@given(data=case_files())
def test_fuzz_case_file_loader_accepts_or_gives_one_line(data: bytes) -> None:
    path = _scratch("case") / "case.toml"
    path.write_bytes(data)
    try:
        case = load_case(path)
    except CaseFileError as exc:
        assert _one_line(exc.message)  # several problems are joined on one line
        assert "\n" not in (exc.hint or "")
    else:
        assert 0 < case.spec.case.alpha < 1 and math.isfinite(case.spec.case.alpha)
        assert 0 <= case.spec.case.seed < 2**31
    assert path.read_bytes() == data  # the loader never writes


# ------------------------------------------------------------------ transcripts

GOOD_RECORD = {"prompt": "Who are you?", "response": "me", "model": "m", "timestamp": "2025-03-01T12:00:00Z", "source": "s"}


@st.composite
def transcript_lines(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["good", "field", "raw", "nested", "repeat", "logprobs"]))
    if kind == "good":
        return _json_text(GOOD_RECORD)
    if kind == "field":
        key = draw(st.sampled_from([*GOOD_RECORD, "logprobs", "extra"]))
        value = draw(st.one_of(JSON_VALUES, EXTREME_DATES))
        return _json_text({**GOOD_RECORD, key: value})
    if kind == "raw":
        return draw(st.one_of(ODD_TEXT, st.binary(max_size=80).map(lambda b: b.decode("latin-1"))))
    if kind == "nested":
        return _json_text(GOOD_RECORD)[:-1] + ', "logprobs": ' + _deep(draw(st.integers(1, 200_000))) + "}"
    if kind == "repeat":
        return _json_text(GOOD_RECORD)[:-1] + f', "response": {_json_text(draw(ODD_TEXT))}}}'
    values = draw(st.lists(EXTREME_NUMBERS, min_size=1, max_size=5))
    return _json_text({**GOOD_RECORD, "logprobs": values})


@FUZZ
@given(lines=st.lists(transcript_lines(), min_size=1, max_size=6))
def test_fuzz_transcript_reader_accepts_or_gives_one_line(lines: list[str]) -> None:
    path = _scratch("transcript") / "t.jsonl"
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    path.write_bytes(data)
    try:
        records = read_transcript(path)
    except TranscriptError as exc:
        assert _one_line(exc.message) and exc.message.startswith(("cannot read", str(path)))
    else:
        for _, record in records:
            assert all(math.isfinite(v) and v <= 0 for v in record.logprobs or ())
            assert datetime.fromisoformat(record.timestamp.replace("Z", "+00:00")).tzinfo is not None
            for text in (record.prompt, record.response, record.model, record.source):
                text.encode("utf-8")  # no lone surrogate reaches the evidence
    assert path.read_bytes() == data


# ------------------------------------------------------------------ traffic logs

TRAFFIC = {"timestamp": "2026-03-02T10:00:00Z", "account_id": "a", "api_key_id": "k", "source_ip": "1.2.3.4",
           "user_agent": "ua", "model": "m", "messages": [{"role": "user", "content": "hi"}], "response": "hello"}  # fmt: skip


@st.composite
def traffic_lines(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["good", "timestamp", "field", "raw", "nested", "repeat"]))
    if kind == "good":
        return json.dumps(TRAFFIC).encode()
    if kind == "timestamp":
        return _json_text({**TRAFFIC, "timestamp": draw(EXTREME_DATES)}).encode("utf-8", "surrogatepass")
    if kind == "field":
        key = draw(st.sampled_from([*TRAFFIC, "usage", "organisation"]))
        return _json_text({**TRAFFIC, key: draw(JSON_VALUES)}).encode("utf-8", "surrogatepass")
    if kind == "raw":
        return draw(st.one_of(st.binary(max_size=120), st.just(b"\xef\xbb\xbf"))).replace(b"\n", b"")
    if kind == "nested":
        return (json.dumps(TRAFFIC)[:-1] + ', "usage": ' + _deep(draw(st.integers(1, 20_000))) + "}").encode()
    return (json.dumps(TRAFFIC)[:-1] + ', "account_id": "b"}').encode()


def _blank(line: bytes) -> bool:
    """A line the reader passes over without counting: empty or whitespace only (CRs included)."""
    return not line.strip(b" \t\r\f")


@FUZZ
@example(lines=[b"\xef\xbb\xbf"], bom=True, crlf=False)  # found by the long run: a second BOM after the first
@example(lines=[b"\xef\xbb\xbf", json.dumps(TRAFFIC).encode()], bom=False, crlf=False)
@example(lines=[b"\r", json.dumps(TRAFFIC).encode()], bom=False, crlf=True)  # found by the long run: a CR-only line
@given(lines=st.lists(traffic_lines(), min_size=1, max_size=8), bom=st.booleans(), crlf=st.booleans())
def test_fuzz_traffic_log_reader_keeps_or_counts_every_line(lines: list[bytes], bom: bool, crlf: bool) -> None:
    import duckdb

    folder = _scratch("traffic")
    log = folder / "log.jsonl"
    data = (b"\xef\xbb\xbf" if bom else b"") + (b"\r\n" if crlf else b"\n").join(lines) + b"\n"
    log.write_bytes(data)
    try:
        parquet, report = normalise([log], folder / "work")
    except TrafficLogError as exc:
        assert _one_line(exc.message) and "no readable exchange" in exc.message
    else:
        first = lines[0] if bom else lines[0].removeprefix(b"\xef\xbb\xbf")  # one BOM opening the file is dropped
        assert report.rows + sum(report.skipped.values()) == len(lines) - sum(map(_blank, [first, *lines[1:]]))  # none lost
        low, high = duckdb.connect().execute(f"SELECT min(ts), max(ts) FROM read_parquet('{parquet}')").fetchone()
        assert datetime(1970, 1, 1) <= low <= high < datetime(2101, 1, 1)  # the page stage can hold every kept line
    assert log.read_bytes() == data


# ------------------------------------------------------------------ HTTP answers


class _Answers:
    """A real loopback HTTP server whose every answer is the body (and status) a test sets."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.status, self.body = 200, b"{}"
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(owner.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture(scope="module")
def answers():  # noqa: ANN201
    server = _Answers()
    yield server
    server.server.shutdown()


TOKEN_LOGPROB = st.one_of(JSON_VALUES, st.fixed_dictionaries(
    {"token": ODD_TEXT, "logprob": EXTREME_NUMBERS}, optional={"top_logprobs": JSON_VALUES}))
LOGPROBS = st.one_of(JSON_VALUES, st.fixed_dictionaries({"content": st.one_of(JSON_VALUES, st.lists(TOKEN_LOGPROB, max_size=3))}),
                     st.fixed_dictionaries({"token_logprobs": st.lists(EXTREME_NUMBERS, max_size=3)}))
MESSAGE = st.one_of(JSON_VALUES, st.fixed_dictionaries({"role": st.just("assistant"), "content": st.one_of(ODD_TEXT, JSON_VALUES)}))
CHOICE_PIECES = st.one_of(
    JSON_VALUES,
    st.fixed_dictionaries({"index": st.integers(-2, 2)}, optional={
        "message": MESSAGE, "text": st.one_of(ODD_TEXT, JSON_VALUES), "logprobs": LOGPROBS, "finish_reason": JSON_VALUES}),
)  # fmt: skip
BODIES = st.one_of(
    st.fixed_dictionaries({"choices": st.lists(CHOICE_PIECES, max_size=3)},
                          optional={"model": JSON_VALUES, "usage": JSON_VALUES, "id": JSON_VALUES, "created": JSON_VALUES,
                                    "system_fingerprint": JSON_VALUES}).map(lambda b: _json_text(b).encode("utf-8", "surrogatepass")),
    JSON_VALUES.map(lambda v: _json_text(v).encode("utf-8", "surrogatepass")),
    st.binary(max_size=100),
    st.integers(1, 100_000).map(lambda n: ('{"choices": ' + _deep(n) + "}").encode()),
)  # fmt: skip


_NAN_LOGPROB = (b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, '
                b'"logprobs": {"content": [{"token": "hi", "logprob": NaN, "top_logprobs": []}]}}]}')


@FUZZ
@example(body=_NAN_LOGPROB, status=200, api="chat")
@example(body=_NAN_LOGPROB.replace(b"NaN", b"0.5"), status=200, api="chat")
@example(body=b'{"choices": [{"index": 0, "text": "hi", "logprobs": {"token_logprobs": [Infinity]}}]}', status=200, api="completions")
@given(body=BODIES, status=st.sampled_from([200, 200, 200, 400, 401, 404, 422]), api=st.sampled_from(["chat", "completions"]))
def test_fuzz_http_answers_give_an_answer_or_an_endpoint_error(answers, body: bytes, status: int, api: str) -> None:  # noqa: ANN001
    from provenance.backends.base import GenerationParams, ModelIdentity
    from provenance.backends.openai import OpenAIBackend
    from provenance.backends.openai_http import OpenAIHttpClient
    from provenance.errors import EndpointError

    answers.status, answers.body = status, body
    client = OpenAIHttpClient(answers.base_url, api_key="sk-fuzz-SECRET", timeout_s=5, max_retries=0, backoff_base_s=0.001)
    backend = OpenAIBackend(client, ModelIdentity(name="s", backend="openai", source=answers.base_url), model="m", api=api,
                            concurrency=1)  # fmt: skip
    try:
        generation = backend.generate(["hello"], GenerationParams(max_new_tokens=4), seed=1)[0]
    except EndpointError as exc:
        assert _one_line(exc.message) and "sk-fuzz-SECRET" not in exc.message
    else:
        assert isinstance(generation.text, str)
        generation.text.encode("utf-8")  # what is stored is text
        assert all(isinstance(v, float) and math.isfinite(v) and v <= 1e-4 for v in generation.logprobs or ())
    finally:
        client.close()


# ------------------------------------------------------------------ evidence stores


@pytest.fixture(scope="module")
def store_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from provenance.evidence import EvidenceStore

    from test_evidence_store import IDENTITY, _append

    path = tmp_path_factory.mktemp("store") / "evidence.sqlite"
    with EvidenceStore.open(path, "c1") as store:
        key = store.register_model(IDENTITY)
        for i in range(1, 30):
            _append(store, key, i, response={"text": f"answer {i} " * 40})
    return path.read_bytes()


@st.composite
def damage(draw: st.DrawFn) -> list[tuple[str, int, bytes]]:
    """Where and how to damage a store: overwrite, truncate at, or insert at an offset (a fraction of its size)."""
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["overwrite", "truncate", "insert", "zero-page"]))
        steps.append((kind, draw(st.integers(0, 10_000)), draw(st.binary(min_size=1, max_size=64))))
    return steps


def _damaged(data: bytes, steps: list[tuple[str, int, bytes]]) -> bytes:
    for kind, where, junk in steps:
        at = where * len(data) // 10_000
        if kind == "overwrite":
            data = data[:at] + junk + data[at + len(junk):]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "insert":
            data = data[:at] + junk + data[at:]
        else:
            page = at // 4096 * 4096
            data = data[:page] + bytes(4096) + data[page + 4096:]
    return data


@FUZZ
@given(steps=damage())
def test_fuzz_damaged_evidence_store_verifies_or_fails_in_one_line(store_bytes: bytes, steps, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    path = _scratch("store") / "evidence.sqlite"
    data = _damaged(store_bytes, steps)
    path.write_bytes(data)
    code, _, err = run_cli(capsys, "verify", str(path))
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err
    assert path.read_bytes() == data  # verify never writes to what it checks


# ------------------------------------------------------------------ traffic logs in Parquet

#: Column types a hostile Parquet log may give any column, each with the values drawn for it (None: a null).
_UTF8_TEXT = ODD_TEXT.map(lambda t: t.encode("utf-8", "replace").decode("utf-8"))  # Parquet strings are UTF-8
_PARQUET_KINDS: dict[str, st.SearchStrategy] = {
    "VARCHAR": st.one_of(_UTF8_TEXT, EXTREME_DATES.map(str)),
    "BIGINT": st.integers(-(2**63), 2**63 - 1),
    "HUGEINT": st.integers(-(2**100), 2**100),
    "DOUBLE": st.floats(allow_nan=True, allow_infinity=True),
    "BOOLEAN": st.booleans(),
    "BLOB": st.binary(max_size=40),
    "TIMESTAMP": st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    "TIMESTAMP_S": st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    "TIMESTAMP_NS": st.datetimes(min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31)),
    "TIMESTAMPTZ": st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    "DATE": st.dates(),
    "TIME": st.times(),
    "BIGINT[]": st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=3),
    "VARCHAR[]": st.lists(_UTF8_TEXT, max_size=3),
    "STRUCT(role VARCHAR, content VARCHAR)": st.fixed_dictionaries({"role": _UTF8_TEXT, "content": _UTF8_TEXT}),
    "INTEGER": st.none(),  # a column of nulls only
}
_PARQUET_REQUIRED = ("timestamp", "account_id", "api_key_id", "source_ip", "user_agent", "model", "prompt", "response")
_PARQUET_OPTIONAL = ("organisation", "payment_id", "prompt_tokens", "completion_tokens", "user_turns", "messages", "extra")
_PARQUET_GOOD = {"timestamp": ("TIMESTAMP", datetime(2026, 3, 2, 10)), "prompt_tokens": ("BIGINT", 3),
                 "completion_tokens": ("BIGINT", 5), "user_turns": ("BIGINT", 1)}  # fmt: skip


@st.composite
def parquet_logs(draw: st.DrawFn) -> tuple[list[str], list[str], list[list[object]]]:
    """A Parquet log as (columns, their types, rows): each column well typed or of a hostile type, values with nulls."""
    rows = draw(st.integers(1, 6))
    columns, types, values = [], [], []
    for name in [*_PARQUET_REQUIRED, *_PARQUET_OPTIONAL]:
        present = draw(st.sampled_from(["good"] * 3 + ["hostile"] * 2 + ["absent"] * (1 if name in _PARQUET_REQUIRED else 4)))
        if present == "absent":
            continue
        good_type, good_value = _PARQUET_GOOD.get(name, ("VARCHAR", "x"))
        kind = good_type if present == "good" else draw(st.sampled_from(sorted(_PARQUET_KINDS)))
        good = st.just(good_value) if present == "good" else _PARQUET_KINDS[kind]
        if name == "timestamp" and present == "good":
            good = st.one_of(st.just(good_value), _PARQUET_KINDS["TIMESTAMP"])  # extreme dates in a well-typed column
        column = [draw(st.one_of(st.none(), good) if draw(st.booleans()) else good) for _ in range(rows)]
        columns.append(name)
        types.append(kind)
        values.append(column)
    return columns, types, [list(row) for row in zip(*values)] if values else []


def _write_parquet(path: Path, columns: list[str], types: list[str], rows: list[list[object]]) -> bool:
    """Write the drawn log with DuckDB; False when DuckDB cannot hold a drawn value in its type."""
    import duckdb

    if not columns:
        return False
    cells = ", ".join(f"CAST(? AS {t})" for t in types)
    select = " UNION ALL ".join(f"SELECT {cells}" for _ in rows)
    names = ", ".join(f'"{c}"' for c in columns)
    params = [v for row in rows for v in row]
    try:
        with duckdb.connect() as con:
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"COPY (SELECT * FROM ({select}) AS t({names})) TO {sql_path(path)} (FORMAT parquet)", params)
    except (duckdb.Error, OverflowError, ValueError):
        return False
    return True


@functools.cache
def _jsonl_schema() -> list[tuple[str, str]]:
    """Column names and types of a normalised JSON Lines log: a Parquet log must normalise to the same."""
    import duckdb

    folder = _scratch("parquet-schema")
    log = folder / "good.jsonl"
    log.write_text(json.dumps(TRAFFIC) + "\n")
    parquet, _ = normalise([log], folder / "work-jsonl")
    return [(r[0], r[1]) for r in duckdb.connect().execute(f"DESCRIBE SELECT * FROM read_parquet({sql_path(parquet)})").fetchall()]


_PARQUET_WELL_TYPED = (list(_PARQUET_REQUIRED), ["TIMESTAMP", *["VARCHAR"] * 7], [[datetime(2026, 3, 2, 10), *"akiumpr"]])
_PARQUET_ILL_TYPED = (list(_PARQUET_REQUIRED), ["VARCHAR", "BIGINT", *["VARCHAR"] * 4, "BLOB", "VARCHAR[]"],
                      [["2026-03-02 10:00:00", 7, "k", "i", "u", "m", b"\xff", ["a"]]])  # fmt: skip


@FUZZ
@example(log=_PARQUET_WELL_TYPED, damage=None, with_jsonl=True)  # found by the property: messages typed NULL, not VARCHAR
@example(log=_PARQUET_ILL_TYPED, damage=None, with_jsonl=False)  # found by the property: account_id BIGINT reached the scan
@given(log=parquet_logs(), damage=st.one_of(st.none(), st.tuples(st.sampled_from(["truncate", "flip"]), st.integers(0, 10_000),
                                                                    st.integers(0, 255))),
       with_jsonl=st.booleans())  # fmt: skip
def test_fuzz_parquet_traffic_log_reader_keeps_or_counts_every_row(log, damage, with_jsonl: bool) -> None:  # noqa: ANN001
    import duckdb
    from hypothesis import assume

    columns, types, rows = log
    folder = _scratch("parquet")
    path = folder / "log.parquet"
    assume(_write_parquet(path, columns, types, rows))
    if damage is not None:  # a file cut short or a byte changed, anywhere
        kind, where, byte = damage
        data = path.read_bytes()
        at = where * len(data) // 10_001
        path.write_bytes(data[:at] if kind == "truncate" else data[:at] + bytes([byte]) + data[at + 1 :])
    data = path.read_bytes()
    good = folder / "good.jsonl"
    good.write_text(json.dumps(TRAFFIC) + "\n")
    logs = [good, path] if with_jsonl else [path]
    try:
        parquet, report = normalise(logs, folder / "work")
    except TrafficLogError as exc:
        assert _one_line(exc.message) and (str(path) in exc.message or "no readable exchange" in exc.message), exc.message
    else:
        if damage is None:
            assert report.rows + sum(report.skipped.values()) == len(rows) + with_jsonl  # every row kept or counted
        con = duckdb.connect()
        described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_path(parquet)})").fetchall()]
        assert described == _jsonl_schema()  # the later stages see one shape, whatever the log's
        missing = " OR ".join(f"{c} IS NULL" for c in ("ts", "account_id", "api_key_id", "source_ip", "user_agent", "model", "prompt", "response"))
        kept = con.execute(f"SELECT count(*), min(ts), max(ts), count(*) FILTER (WHERE {missing}) FROM read_parquet({sql_path(parquet)})").fetchone()
        assert kept[0] == report.rows and kept[3] == 0  # a kept row has every required field
        assert datetime(1970, 1, 1) <= kept[1] <= kept[2] < datetime(2101, 1, 1)
    assert path.read_bytes() == data


# ------------------------------------------------------------------ keys and certificates

_PASSPHRASE = "fuzz passphrase"


@pytest.fixture(scope="module")
def signing_files(tmp_path_factory: pytest.TempPathFactory, report_case: Path) -> dict[str, object]:
    """Real signing material from ``keygen`` (key, .pub, PKCS#12 with and without a passphrase, certificate in PEM
    and DER), and the report case without its evidence store: ``report --key`` then stops after loading the keys."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from provenance import api
    from provenance.report.keys import public_bytes

    folder = tmp_path_factory.mktemp("keys")
    public = api.generate_key(folder / "k.key")
    api.generate_certificate(folder / "k.key.p12", name="Fuzz Analyst", organisation="Fuzz Org", passphrase=None,
                             ed25519_public_key=public_bytes(public))  # fmt: skip
    api.generate_certificate(folder / "locked.p12", name="Fuzz Analyst", organisation="Fuzz Org",
                             passphrase=_PASSPHRASE.encode(), ed25519_public_key=public_bytes(public))  # fmt: skip
    pem = (folder / "k.key.p12.crt").read_bytes()
    case = folder / "case"
    case.mkdir()
    for name in ("case.toml", "findings.json"):
        shutil.copy2(report_case / name, case / name)
    return {
        "key": (folder / "k.key").read_bytes(), "pub": (folder / "k.key.pub").read_bytes(),
        "p12": (folder / "k.key.p12").read_bytes(), "locked-p12": (folder / "locked.p12").read_bytes(),
        "crt": pem, "der": x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER),
        "key-path": folder / "k.key", "case": case,
    }  # fmt: skip


def _mutated_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` made hostile (see ``_mutate``), or left whole now and then so the accepting side is tried too."""
    return data if draw(st.integers(0, 9)) == 0 else _mutate(draw, data)


def _loads(kind: str, data: bytes, passphrase: str | None) -> bool:
    """Whether the ``cryptography`` library itself reads ``data`` as what ``kind`` names: the oracle."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import pkcs12

    try:
        if kind == "key":
            return isinstance(serialization.load_pem_private_key(data, None), Ed25519PrivateKey)
        if kind == "pub":
            return isinstance(serialization.load_pem_public_key(data), Ed25519PublicKey)
        if kind in ("p12", "locked-p12"):
            with warnings.catch_warnings():  # the BER fallback's warning would be read as the CLI's output
                warnings.simplefilter("ignore", UserWarning)
                key, cert, _ = pkcs12.load_key_and_certificates(data, passphrase.encode() if passphrase else None)
            return key is not None and cert is not None
        return bool(x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data))
    except Exception:  # noqa: BLE001 - any refusal by the library is "does not load"
        return False


def _run_cli_with_passphrase(capsys, passphrase: str | None, args: list[str]):  # noqa: ANN001, ANN202
    """``run_cli`` with PROVENANCE_PKCS12_PASSPHRASE set to ``passphrase`` (unset for None), restored after."""
    from test_cli import run_cli

    old = os.environ.pop("PROVENANCE_PKCS12_PASSPHRASE", None)
    if passphrase is not None:
        os.environ["PROVENANCE_PKCS12_PASSPHRASE"] = passphrase
    try:
        return run_cli(capsys, *args)
    finally:
        os.environ.pop("PROVENANCE_PKCS12_PASSPHRASE", None)
        if old is not None:
            os.environ["PROVENANCE_PKCS12_PASSPHRASE"] = old


@FUZZ
@given(data=st.data(), kind=st.sampled_from(["key", "pub", "p12", "locked-p12", "crt", "der"]),
       passphrase=st.sampled_from([None, _PASSPHRASE, "wrong"]), mode=st.sampled_from([0o600, 0o600, 0o600, 0o644]))  # fmt: skip
def test_fuzz_key_and_certificate_files_load_or_give_one_line(signing_files, data, kind: str, passphrase, mode: int, capsys) -> None:  # noqa: ANN001
    """Corrupt keys and certificates given to ``report --key``/``--pkcs12``, ``verify --trust`` and ``--public-key``."""
    from provenance.report.errors import KeyFileError
    from provenance.report.keys import load_public_key


    folder = _scratch("keys")
    path = folder / {"key": "given.key", "pub": "given.pub", "p12": "given.p12", "locked-p12": "given.p12", "crt": "given.crt",
                     "der": "given.cer"}[kind]  # fmt: skip
    content = _mutated_bytes(data.draw, signing_files[kind])
    path.write_bytes(content)
    path.chmod(mode)
    case = signing_files["case"]
    loads = _loads(kind, content, passphrase)
    if kind == "pub":  # read after a signed report's checks (seconds a report): the reader `verify --public-key` calls
        try:
            load_public_key(path)
        except KeyFileError as exc:
            assert _one_line(exc.message) and str(path) in exc.message and not loads
        else:
            assert loads
        assert path.read_bytes() == content
        return
    if kind == "key":
        args = ["report", str(case), "--key", str(path)]
    elif kind in ("p12", "locked-p12"):
        args = ["report", str(case), "--key", str(signing_files["key-path"]), "--pkcs12", str(path)]
    else:
        args = ["verify", str(folder / "report.pdf"), "--trust", str(path)]  # the anchors are read before the report
    code, out, err = _run_cli_with_passphrase(capsys, passphrase or None, args)
    assert code == 2 and _one_cli_error(err) and "internal error" not in err, err  # past the keys, the next refusal
    past_keys = "no evidence store" in err or "no report at" in err
    assert past_keys == (loads and (kind != "key" or mode == 0o600)), err  # refused exactly when the library refuses it
    assert sorted(p.name for p in case.iterdir()) == ["case.toml", "findings.json"]  # no report written
    assert sorted(p.name for p in folder.iterdir()) == [path.name] and path.read_bytes() == content


_KEYGEN_FILES = ("k.key", "k.key.pub", "k.key.p12", "k.key.p12.crt", "k.key.tmp")


def _tree(folder: Path) -> dict[str, object]:
    """Every entry under ``folder``: a link's target, a file's bytes and mode, or 'folder'."""
    seen: dict[str, object] = {}
    for entry in sorted(folder.rglob("*")):
        name = str(entry.relative_to(folder))
        if entry.is_symlink():
            seen[name] = ("link", os.readlink(entry))
        elif entry.is_dir():
            seen[name] = "folder"
        else:
            seen[name] = (entry.read_bytes(), entry.stat().st_mode & 0o777)
    return seen


_ENV_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


_NOTHING_PLANTED = dict.fromkeys(_KEYGEN_FILES, "absent")


@FUZZ
@example(planted={**_NOTHING_PLANTED, "k.key.pub": "folder"}, junk=b"", force=False, certificate=False, name=None, organisation=None,
         passphrase=None)  # found by the property: the private key was written, then the .pub refused (half a key pair)
@example(planted={**_NOTHING_PLANTED, "k.key.p12.crt": "folder"}, junk=b"", force=False, certificate=True, name="a",
         organisation="o", passphrase=None)  # the same for the certificate: key and .pub written, then the .crt refused
@example(planted=_NOTHING_PLANTED, junk=b"", force=False, certificate=True, name=" ", organisation="o",
         passphrase=None)  # a blank name: refused only after the key was written
@given(planted=st.fixed_dictionaries({name: st.sampled_from(["absent"] * 3 + ["file", "link", "folder"]) for name in _KEYGEN_FILES}),
       junk=st.binary(max_size=50), force=st.booleans(), certificate=st.booleans(),
       name=st.one_of(st.none(), ODD_TEXT), organisation=st.one_of(st.none(), ODD_TEXT), passphrase=st.one_of(st.none(), _ENV_TEXT))  # fmt: skip
def test_fuzz_keygen_writes_a_whole_key_or_nothing(planted, junk: bytes, force: bool, certificate: bool, name, organisation,  # noqa: ANN001
                                                   passphrase, capsys) -> None:  # noqa: ANN001
    """``keygen`` over planted files, links and folders, with odd names and passphrases: a whole key, or one line and nothing."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import pkcs12


    root = _scratch("keygen")
    keys, victims = root / "keys", root / "victims"
    keys.mkdir()
    victims.mkdir()
    for entry, how in planted.items():
        if how == "file":
            (keys / entry).write_bytes(junk)
        elif how == "link":
            (victims / entry).write_bytes(b"victim")
            (keys / entry).symlink_to(victims / entry)
        elif how == "folder":
            (keys / entry).mkdir()
    before, victims_before = _tree(keys), _tree(victims)
    args = ["keygen", str(keys / "k.key"), *(["--force"] if force else []), *(["--certificate"] if certificate else [])]
    for option, value in (("--name", name), ("--organisation", organisation)):
        if value is not None:
            args += [option, value]
    code, out, err = _run_cli_with_passphrase(capsys, passphrase, args)
    assert _tree(victims) == victims_before  # no planted link followed
    assert code in (0, 2) and "Traceback" not in err and "internal error" not in err, err
    if code == 2:
        assert _one_cli_error(err), err
        assert _tree(keys) == before, err  # refused: nothing written, nothing replaced
        return
    key_path = keys / "k.key"
    assert not key_path.is_symlink() and key_path.stat().st_mode & 0o777 == 0o600
    key = serialization.load_pem_private_key(key_path.read_bytes(), None)
    assert isinstance(key, Ed25519PrivateKey)
    assert serialization.load_pem_public_key((keys / "k.key.pub").read_bytes()).public_bytes_raw() == key.public_key().public_bytes_raw()
    after = _tree(keys)
    if certificate:
        p12 = (keys / "k.key.p12").read_bytes()
        loaded_key, cert, _ = pkcs12.load_key_and_certificates(p12, passphrase.encode() if passphrase else None)
        assert loaded_key is not None and cert is not None and after["k.key.p12"][1] == 0o600
    else:
        assert all(after.get(n) == before.get(n) for n in ("k.key.p12", "k.key.p12.crt"))
    assert after.get("k.key.tmp") == before.get("k.key.tmp")  # a planted temporary is never written through


# ------------------------------------------------------------------ analyze and report on a damaged store


@pytest.fixture(scope="module")
def analysed_case(report_case: Path) -> dict[str, bytes]:
    """The report case's files: case.toml, findings.json (made from the intact store) and evidence.sqlite."""
    return {name: (report_case / name).read_bytes() for name in ("case.toml", "findings.json", "evidence.sqlite")}


def _case_copy(name: str, files: dict[str, bytes], store: bytes, *, findings: bool) -> Path:
    folder = _scratch(name)
    (folder / "case.toml").write_bytes(files["case.toml"])
    (folder / "evidence.sqlite").write_bytes(store)
    if findings:
        (folder / "findings.json").write_bytes(files["findings.json"])
    return folder


@FUZZ
@example(steps=[("overwrite", 189, b"\x80")])  # found by the long run (seed 201, after 40 examples)
@example(steps=[("overwrite", 8070, b"\n\x80")])  # found by the long run (seed 301): the message quoted a line break
@example(steps=[("overwrite", 370, b"\x1c")])  # found by the long run (seed 602)
@given(steps=damage())
def test_fuzz_analyze_and_report_on_a_damaged_store_are_one_line_and_write_nothing(analysed_case, steps, capsys) -> None:  # noqa: ANN001
    """``case analyze`` and ``report`` on a store with bytes overwritten, cut, inserted or a page zeroed.

    ``analyze`` gives findings (exit 0) or one line (exit 2) and then writes no findings.json and leaves
    the store's bytes alone. ``report`` is tried where ``analyze`` refused (a store it would render from
    costs a full render, about 10 s, and the report tests render intact ones): one line, exit 2, no report.
    """
    from hypothesis import event

    from test_cli import run_cli

    store = _damaged(analysed_case["evidence.sqlite"], steps)
    case = _case_copy("analyze", analysed_case, store, findings=False)
    code, _, err = run_cli(capsys, "case", "analyze", str(case))
    assert code in (0, 2) and "Traceback" not in err and "internal error" not in err, err
    if code == 0:
        event("analyze: findings from a damaged store that still verifies")
        json.loads((case / "findings.json").read_text())
        return
    event("analyze: refused")
    assert _one_cli_error(err), err
    assert sorted(p.name for p in case.iterdir()) == ["case.toml", "evidence.sqlite"], err  # no findings, no journal file
    assert (case / "evidence.sqlite").read_bytes() == store  # a refusal writes nothing into the store either
    case = _case_copy("report", analysed_case, store, findings=True)
    code, _, err = run_cli(capsys, "report", str(case))
    assert code == 2 and _one_cli_error(err) and "internal error" not in err, err
    assert sorted(p.name for p in case.iterdir()) == ["case.toml", "evidence.sqlite", "findings.json"], err
    assert (case / "evidence.sqlite").read_bytes() == store


def test_traffic_times_are_normalised_to_utc_whatever_the_machines_time_zone(tmp_path: Path) -> None:
    """A line at 10:00Z is 10:00 in the normalised log on a machine in Tokyo too (it was 19:00: DuckDB's
    TIMESTAMPTZ-to-TIMESTAMP cast used the machine's zone). Its own process: the zone is read at start."""
    import subprocess
    import sys

    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps(TRAFFIC) + "\n" + json.dumps({**TRAFFIC, "timestamp": "2026-03-02T12:00:00+02:00"}) + "\n")
    script = ("import sys, duckdb; from pathlib import Path; from provenance.traffic.logs import normalise, sql_path; "
              "p, _ = normalise([Path(sys.argv[1])], Path(sys.argv[2])); "
              "print(duckdb.connect().execute(f'SELECT list(strftime(ts, \\'%H:%M\\') ORDER BY line) FROM read_parquet({sql_path(p)})').fetchone()[0])")  # fmt: skip
    for zone in ("Asia/Tokyo", "America/Los_Angeles"):
        out = subprocess.run([sys.executable, "-c", script, str(log), str(tmp_path / zone.replace("/", "-"))], check=True,
                             capture_output=True, text=True, env={**os.environ, "TZ": zone}).stdout  # fmt: skip
        assert out.strip() == "['10:00', '10:00']", (zone, out)
