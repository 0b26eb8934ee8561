"""Real log formats: OTel GenAI spans (OTLP/JSON), LiteLLM spend logs (JSON/CSV), mapped schemas, degradation."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from provenance.traffic.formats import convert, detect, load_map
from provenance.traffic.logs import TrafficLogError

RAW_KEY = "sk-live-THIS-IS-A-SECRET-123456"


def _attr(key: str, value: object) -> dict:
    kind = "intValue" if isinstance(value, int) else "stringValue"
    return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}


def _otel_doc(n: int, *, with_ip: bool = True) -> dict:
    spans = []
    for i in range(n):
        attrs = [_attr("gen_ai.operation.name", "chat"), _attr("gen_ai.provider.name", "openai"),
                 _attr("gen_ai.request.model", "teacher-1"), _attr("gen_ai.response.id", f"chatcmpl-{i}"),
                 _attr("gen_ai.usage.input_tokens", 12 + i), _attr("gen_ai.usage.output_tokens", 40),
                 _attr("enduser.id", f"acct-{i % 5}"), _attr("user_agent.original", "python-httpx/0.27"),
                 _attr("gen_ai.input.messages", json.dumps([{"role": "user", "parts": [{"type": "text", "content": f"Solve task {i} step by step"}]}])),
                 _attr("gen_ai.output.messages", json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": f"answer {i}"}],
                                                              "finish_reason": "stop"}]))]  # fmt: skip
        if with_ip:
            attrs.append(_attr("client.address", f"203.0.113.{i % 5}"))
        start = 1_767_225_600_000_000_000 + i * 1_500_000_000  # 2026-01-01, 1.5 s apart
        spans.append({"traceId": f"{i:032x}", "spanId": f"{i:016x}", "name": "chat teacher-1", "kind": 3,
                      "startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 900_000_000), "attributes": attrs})
    plain = {"traceId": "f" * 32, "spanId": "e" * 16, "name": "GET /health", "startTimeUnixNano": "1767225600000000000",
             "attributes": [_attr("http.request.method", "GET")]}  # no gen_ai.*: not an exchange
    return {"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "gateway")]},
                               "scopeSpans": [{"scope": {"name": "opentelemetry.instrumentation.openai"}, "spans": spans + [plain]}]}]}


def _litellm_rows(n: int) -> list[dict]:
    return [{"request_id": f"chatcmpl-{i}", "call_type": "acompletion", "api_key": RAW_KEY if i == 0 else f"88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4{i % 3}",
             "spend": 0.00042, "total_tokens": 52, "prompt_tokens": 12, "completion_tokens": 40,
             "startTime": f"2026-01-01 10:00:{i:02d}.250000", "endTime": f"2026-01-01 10:00:{i:02d}.900000",
             "model": "teacher-1", "model_group": "teacher", "api_base": "https://api.example", "user": f"user-{i % 4}",
             "metadata": {"user_api_key_team_id": "team-a", "headers": {"User-Agent": "openai-python/1.30"}},
             "cache_hit": "False", "cache_key": "", "request_tags": [], "team_id": f"team-{i % 2}", "end_user": "",
             "requester_ip_address": f"198.51.100.{i % 4}",
             "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"Translate item {i}"}],
             "response": {"id": f"chatcmpl-{i}", "object": "chat.completion",
                          "choices": [{"index": 0, "message": {"role": "assistant", "content": f"item {i} translated"}}]}}
            for i in range(n)]  # fmt: skip


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_otel_details_event_and_older_message_events(tmp_path: Path) -> None:
    doc = _otel_doc(2)
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]
    moved = [a for a in spans[0]["attributes"] if a["key"] in ("gen_ai.input.messages", "gen_ai.output.messages")]
    spans[0]["attributes"] = [a for a in spans[0]["attributes"] if a not in moved]
    spans[0]["events"] = [{"name": "gen_ai.client.inference.operation.details", "timeUnixNano": "1", "attributes": moved}]
    kept = [a for a in spans[1]["attributes"] if a["key"] not in ("gen_ai.input.messages", "gen_ai.output.messages")]
    spans[1]["attributes"] = kept
    spans[1]["events"] = [{"name": "gen_ai.user.message", "attributes": [_attr("content", "older prompt")]},
                          {"name": "gen_ai.choice", "attributes": [_attr("content", "older answer")]}]
    log = tmp_path / "t.json"
    log.write_text(json.dumps(doc, indent=1))  # pretty-printed: one document over many lines
    rows = _lines(convert(log, tmp_path / "w", 0).path)
    assert rows[0]["messages"][-1]["content"] == "Solve task 0 step by step" and rows[0]["response"] == "answer 0"
    assert rows[1]["messages"] == [{"role": "user", "content": "older prompt"}] and rows[1]["response"] == "older answer"


def test_otel_spans_read_as_exchanges(tmp_path: Path) -> None:
    log = tmp_path / "traces.json"
    log.write_text(json.dumps(_otel_doc(10)) + "\n" + json.dumps(_otel_doc(3)) + "\n")  # collector file exporter: one a line
    assert detect(log) == "otel"
    long = tmp_path / "long.json"
    long.write_text(json.dumps({**_otel_doc(400), "x": 1}) + "\n")  # first record far past the 64 KiB read ahead
    assert len(long.read_bytes()) > 1 << 16 and detect(long) == "otel"
    conversion = convert(log, tmp_path / "work", 0)
    rows = _lines(conversion.path)
    assert len(rows) == 13 and conversion.records == 13  # the health-check span is not an exchange
    first = rows[0]
    assert first["account_id"] == "acct-0" and first["source_ip"] == "203.0.113.0" and first["model"] == "teacher-1"
    assert first["messages"] == [{"role": "user", "content": "Solve task 0 step by step"}] and first["response"] == "answer 0"
    assert first["usage"] == {"prompt_tokens": 12, "completion_tokens": 40}
    assert rows[1]["timestamp"] == "2026-01-01T00:00:01.500000Z"
    unavailable = conversion.unavailable()
    assert "source_ip" not in unavailable and "subsecond" not in unavailable
    assert "api_key_id" in unavailable  # OTel GenAI has no key attribute


@pytest.mark.parametrize("shape", ["jsonl", "json", "csv"])
def test_litellm_spend_logs_read_and_keys_never_written(tmp_path: Path, shape: str) -> None:
    rows = _litellm_rows(8)
    log = tmp_path / f"spend.{shape}"
    if shape == "jsonl":
        log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    elif shape == "json":
        log.write_text(json.dumps(rows, indent=2))  # the admin UI's export: one array
    else:
        with open(log, "w", newline="") as handle:  # a DB export: nested columns as JSON text
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            for r in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()})
    assert detect(log) == "litellm"
    conversion = convert(log, tmp_path / "work", 0)
    out = _lines(conversion.path)
    assert [r["account_id"] for r in out[:4]] == ["user-0", "user-1", "user-2", "user-3"]
    assert out[1]["timestamp"] == "2026-01-01T10:00:01.250000Z" and out[1]["organisation"] == "team-1"
    assert out[1]["source_ip"] == "198.51.100.1" and out[1]["user_agent"] == "openai-python/1.30"
    assert out[1]["messages"][-1] == {"role": "user", "content": "Translate item 1"} and out[1]["response"] == "item 1 translated"
    assert out[1]["api_key_id"] == out[4]["api_key_id"] != out[2]["api_key_id"]  # same key, same token
    text = conversion.path.read_text()
    assert RAW_KEY not in text and "88dc28d0f030c55ed4ab" not in text  # only key:<sha256 prefix> tokens
    assert list(conversion.unavailable()) == ["payment_id"]  # a gateway never sees the card


def _mapping(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "map.toml"
    path.write_text(body)
    return path


MAP = """
[fields]
timestamp = "time"
account_id = "customer.id"
prompt = "request.input"
response = "reply.text"
model = "engine"
"""


def test_mapped_schema_and_its_validation(tmp_path: Path) -> None:
    log = tmp_path / "vendor.jsonl"
    log.write_text("".join(json.dumps({"time": f"2026-02-01T00:00:{i:02d}Z", "customer": {"id": f"c{i % 3}"},
                                       "request": {"input": f"question {i}"}, "reply": {"text": f"r{i}"}, "engine": "m"}) + "\n"
                           for i in range(6)))  # fmt: skip
    fields = load_map(_mapping(tmp_path, MAP))
    conversion = convert(log, tmp_path / "work", 0, fields=fields)
    out = _lines(conversion.path)
    assert out[4]["account_id"] == "c1" and out[4]["messages"] == [{"role": "user", "content": "question 4"}]
    assert out[4]["source_ip"] == "unavailable" and out[4]["user_agent"] == "unavailable:c1"
    why = conversion.unavailable()
    assert "no infrastructure links" in why["source_ip"] and "all records" in why["source_ip"]
    assert "lock-step" in why["subsecond"]
    with pytest.raises(TrafficLogError, match="unknown field 'fields.acount_id'"):
        load_map(_mapping(tmp_path, MAP + 'acount_id = "x"\n'))
    with pytest.raises(TrafficLogError, match="missing field 'fields.response'"):
        load_map(_mapping(tmp_path, MAP.replace('response = "reply.text"\n', "")))


@pytest.mark.parametrize(("name", "body", "where"), [
    ("bad.jsonl", json.dumps(_litellm_rows(1)[0]) + '\n{"request_id": \n', "line 2"),
    ("nouser.jsonl", json.dumps({**_litellm_rows(1)[0], "user": "", "api_key": ""}) + "\n", "line 1: no account id"),
    ("bad.json", json.dumps(_otel_doc(2))[:-30], "line 1"),
])  # fmt: skip
def test_strict_stops_at_a_malformed_record_with_one_line_naming_the_place(tmp_path: Path, name: str, body: str, where: str) -> None:
    log = tmp_path / name
    log.write_text(body)
    with pytest.raises(TrafficLogError) as caught:
        convert(log, tmp_path / "work", 0, fmt="litellm" if name.endswith("l") else "otel", strict=True)
    assert str(log) in str(caught.value) and where in str(caught.value) and "\n" not in str(caught.value)


def test_bad_records_are_skipped_and_counted_by_reason_and_place(tmp_path: Path) -> None:
    rows = [json.dumps(r) for r in _litellm_rows(4)]
    rows[1] = '{"request_id": '  # cut off
    rows[2] = json.dumps({**_litellm_rows(3)[2], "user": "", "api_key": ""})
    log = tmp_path / "spend.jsonl"
    log.write_text("\n".join(rows + ["[1, 2]", json.dumps({**_litellm_rows(5)[4], "startTime": "yesterday"})]) + "\n")
    conversion = convert(log, tmp_path / "work", 0)
    assert conversion.records == 2 and len(_lines(conversion.path)) == 2  # lines 1 and 4 kept
    assert conversion.skipped == {"not JSON": 1, "no account id": 1, "a spend-log record must be an object": 1,
                                  "timestamp is not a time": 1}  # fmt: skip
    assert conversion.examples["not JSON"] == [f"{log}, line 2"] and conversion.examples["timestamp is not a time"] == [f"{log}, line 6"]
    alone = tmp_path / "nothing.jsonl"  # every record bad: refused, naming the first
    alone.write_text(rows[1] + "\n" + rows[2] + "\n")
    with pytest.raises(TrafficLogError, match=r"no exchange in this litellm log; skipped .*line 1: not JSON and 1 more"):
        convert(alone, tmp_path / "work", 1, fmt="litellm")


def test_hostile_spans_among_good_ones_are_counted_on_the_page_and_the_good_ones_scanned(tmp_path: Path) -> None:
    from provenance.traffic import scan

    good = _otel_doc(40)
    hostile = [{"resourceSpans": [{"scopeSpans": [{"spans": [7, {"startTimeUnixNano": "soon", "attributes": [_attr("gen_ai.x", "m")]}]}]}]},
               {"resourceSpans": [{"scopeSpans": [{"spans": [{"events": 5, "attributes": [_attr("gen_ai.x", "m")]}]}]}]},
               {"resourceSpans": "nope"}, [[[[[[]]]]]]]  # fmt: skip
    log = tmp_path / "collector.jsonl"  # the collector's file exporter: one export document a line
    log.write_text("\n".join([json.dumps(good)] + [json.dumps(h) for h in hostile] + ["[" * 100_000]) + "\n")
    result = scan([log], tmp_path / "out")
    assert result.exchanges == 40
    skipped = json.loads((tmp_path / "out" / "campaigns.json").read_text())["read"]["skipped"]
    assert skipped == {"otel: span is not an object": 1, "otel: timestamp is not a time": 1,
                       "otel: no timestamp": 1,
                       "otel: not an OTLP/JSON trace export (no resourceSpans list)": 2, "otel: not JSON": 1}  # fmt: skip
    assert "otel: span is not an object" in (tmp_path / "out" / "traffic.html").read_text()
    with pytest.raises(TrafficLogError, match=r"collector.jsonl, line 2, resourceSpans\[0\] span 0: span is not an object"):
        scan([log], tmp_path / "strict", strict=True)


def test_scan_page_says_which_features_were_unavailable(tmp_path: Path) -> None:
    from provenance.traffic import scan

    log = tmp_path / "traces.json"
    log.write_text(json.dumps(_otel_doc(60, with_ip=False)))
    result = scan([log], tmp_path / "out")
    assert result.exchanges == 60 and result.read.formats == {"traces.json": "otel"}
    page = (tmp_path / "out" / "traffic.html").read_text()
    assert "Features unavailable in this log" in page and "no client IP: no infrastructure links" in page
    report = json.loads((tmp_path / "out" / "campaigns.json").read_text())["read"]
    assert "source_ip" in report["unavailable_features"] and "subsecond" not in report["unavailable_features"]


def test_mapped_parquet_and_the_cli_flags(tmp_path: Path) -> None:
    import duckdb
    from typer.testing import CliRunner

    from provenance.cli import app

    log = tmp_path / "vendor.parquet"
    rows = ", ".join(f"(TIMESTAMPTZ '2026-02-01 00:00:{i:02d}.5+00', 'c{i % 3}', 'question {i}', 'r{i}', '192.0.2.{i % 3}')"
                     for i in range(40))  # fmt: skip
    duckdb.sql(f"COPY (SELECT * FROM (VALUES {rows}) t(time, who, ask, reply, ip)) TO '{log}' (FORMAT parquet)")
    mapping = _mapping(tmp_path, '[fields]\ntimestamp = "time"\naccount_id = "who"\nprompt = "ask"\nresponse = "reply"\nsource_ip = "ip"\n')
    out = _lines(convert(log, tmp_path / "work", 0, fields=load_map(mapping)).path)
    assert len(out) == 40 and out[5]["timestamp"] == "2026-02-01T00:00:05.500000Z" and out[5]["source_ip"] == "192.0.2.2"
    result = CliRunner().invoke(app, ["traffic", "scan", str(log), "--out", str(tmp_path / "o"), "--map", str(mapping)])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "o" / "campaigns.json").read_text())["read"]["formats"] == {"vendor.parquet": "mapped"}
    wrong = CliRunner().invoke(app, ["traffic", "scan", str(log), "--out", str(tmp_path / "p"), "--format", "otel"])
    assert wrong.exit_code != 0 and f"{log}, line 1: not JSON" in str(wrong.exception)  # forced format, one-line error


@pytest.mark.parametrize("hostile", [
    {"resourceSpans": [None, 3, {"scopeSpans": [None, {"spans": [7]}]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "soon", "attributes": [_attr("gen_ai.request.model", "m")]}]}]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "9" * 40, "attributes": [_attr("gen_ai.x", "m")]}]}]}]},
    {"resourceSpans": [{"scopeSpans": [{"spans": [{"startTimeUnixNano": "1767225600000000000", "attributes": [
        _attr("enduser.id", "a"), {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "many"}},
        _attr("gen_ai.input.messages", '[{"role": "user", "parts": [{"content": "hi"}]}]')]}]}]}]},
    {"resourceSpans": "nope"},
    [[[[[[[[[[[[]]]]]]]]]]]],
])  # fmt: skip
def test_hostile_otel_is_refused_with_one_line_never_a_crash(tmp_path: Path, hostile: object) -> None:
    log = tmp_path / "h.json"
    log.write_text(json.dumps(hostile))
    with pytest.raises(TrafficLogError) as caught:
        convert(log, tmp_path / "w", 0, fmt="otel")
    assert "\n" not in str(caught.value) and str(log) in str(caught.value)
