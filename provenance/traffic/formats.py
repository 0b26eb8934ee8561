"""Logs in the formats vendors and gateways keep, converted to the scanner's canonical JSON Lines.

Three sources besides the canonical log (one exchange a line, ``logs.REQUIRED``):

- ``otel``: OpenTelemetry GenAI semantic-convention spans in OTLP/JSON (``resourceSpans`` ->
  ``scopeSpans`` -> ``spans``, attributes as ``{key, value: {stringValue|intValue|...}}`` lists),
  one export document per file or one per line (the collector's file exporter);
- ``litellm``: a LiteLLM proxy spend-log export (``LiteLLM_SpendLogs`` rows as JSON, JSON Lines or CSV);
- ``mapped``: any other JSON Lines or Parquet schema, through a field mapping (``--map FILE.toml``).

Each source record becomes one canonical line written under the scan's work folder, which
``logs.normalise`` then validates like any log. A field the source lacks is filled with a value
that can link no two accounts (``unavailable:<account>``, or a non-address for the IP), so the
features that need it are silently off rather than wrong; which ones, and why, goes into the read
report (``Conversion.unavailable``) and from there onto the page and into campaigns.json.

Bad records: a record that cannot become an exchange (a line that is not JSON, no account or prompt, a
time that is not a time, a shape the format does not have, nesting too deep to read) is skipped and
counted by reason, with where it was, as the canonical reader does with a bad line (``--strict``
stops at the first instead). Only a file that cannot be read at all (an unparseable single JSON
document, a CSV or Parquet file the reader cannot go on in) stops the scan.

API keys: a key-like field (LiteLLM's ``api_key`` is already a hash, but an export may hold a raw
one) is kept only as ``key:`` + the first 16 hex digits of its SHA-256, an identity token that links
accounts using the same key and never reproduces the key.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from provenance.traffic.logs import TrafficLogError

FORMATS = ("canonical", "otel", "litellm", "mapped")

#: What each canonical field feeds, said on the page when a log lacks it.
DEGRADES = {
    "source_ip": "no client IP: no infrastructure links (shared /24 prefix with a user agent)",
    "user_agent": "no user agent: no infrastructure links, and no agent on the page",
    "api_key_id": "no API-key id: no API-key identity links",
    "organisation": "no organisation: no organisation identity links",
    "payment_id": "no payment id: no payment identity links",
    "model": "no model name: every exchange counted under 'unknown'",
    "usage": "no token counts: token usage read as 0",
    "subsecond": "timestamps whole seconds only: lock-step links at 5 s and coarser only",
}


@dataclass
class Conversion:
    """One converted log: the canonical file, its source format and what the source lacked."""

    path: Path
    source_format: str
    records: int = 0
    missing: dict[str, int] = field(default_factory=dict)  # canonical field -> records lacking it
    subsecond: bool = False
    notes: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason -> records skipped for it
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> where the first few were

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        if len(shown := self.examples.setdefault(reason, [])) < _EXAMPLES:
            shown.append(where)

    def unavailable(self) -> dict[str, str]:
        """Each degraded feature with its reason (and how many records lacked the field)."""
        out = {}
        for name, count in sorted(self.missing.items()):
            if name in DEGRADES and count:
                share = "all" if count == self.records else f"{count} of {self.records}"
                out[name] = f"{DEGRADES[name]} ({share} records lack it)"
        if self.records and not self.subsecond:
            out["subsecond"] = DEGRADES["subsecond"]
        return out


#: How many locations of skipped records are kept per reason.
_EXAMPLES = 5


class _BadRecord(Exception):
    """One record that cannot become an exchange: skipped and counted, or (``strict``) the scan's error."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.hint = reason, hint


def key_token(value: str) -> str:
    """An identity token for a key-like value: never the value itself."""
    return "key:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# ---------------------------------------------------------------- detection


def _first_record(path: Path) -> tuple[str, Any]:
    """('json', object) or ('csv', header) of the file's first record, for detection."""
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            return "csv", next(csv.reader(handle), [])
    if path.suffix.lower() == ".parquet":
        return "parquet", None
    with open(path, "rb") as handle:
        head = handle.read(1 << 16).lstrip()
        handle.seek(0)
        line = b""
        while not line.strip():
            line = handle.readline(_FIRST_LINE)
            if not line:
                break
    if head.startswith(b"["):
        return "json", None
    if head.startswith(b"{") and b'"resourceSpans"' in head[:4096]:
        return "json", {"resourceSpans": []}  # an OTLP export whose first record is long or pretty-printed
    try:
        return "json", json.loads(line)
    except ValueError:
        pass
    if path.stat().st_size <= _FIRST_LINE:
        try:
            return "json", json.loads(path.read_bytes())  # one pretty-printed document
        except ValueError:
            pass
    return "json", None


#: The most bytes read to detect a format from a first line (or a one-document file).
_FIRST_LINE = 64 << 20


def detect(path: Path) -> str:
    """The format of ``path`` where it is unambiguous; refused (with a hint) where it is not."""
    kind, first = _first_record(path)
    if kind == "parquet":
        return "canonical"
    if kind == "csv":
        if {"request_id", "startTime", "spend"} <= set(first):
            return "litellm"
        raise TrafficLogError(f"{path}: a CSV file that is not a LiteLLM spend-log export",
                              hint="give --format, or a field mapping with --map FILE.toml")  # fmt: skip
    if isinstance(first, dict):
        if "resourceSpans" in first:
            return "otel"
        if {"request_id", "startTime"} <= set(first) and ("spend" in first or "api_key" in first):
            return "litellm"
    if first is None and path.read_bytes().lstrip().startswith(b"["):
        return "litellm"  # a JSON array export (the admin UI's) is checked record by record below
    # anything else is read as canonical lines: that reader skips and counts each bad line by reason (a foreign
    # schema then shows as "missing field(s)" on every line, and the error's hint names --map)
    return "canonical"


# ---------------------------------------------------------------- helpers


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _timestamp(value: Any) -> tuple[str, bool]:  # noqa: ANN401 - any JSON value
    """An ISO 8601 UTC string and whether it has sub-second detail; naive times are UTC (as LiteLLM stores them)."""
    if isinstance(value, bool) or value is None or value == "":
        raise _BadRecord("no timestamp", hint="every record needs a time")
    try:
        if isinstance(value, int | float):
            seconds = float(value) / 1e9 if value > 1e14 else float(value)  # OTel nanoseconds or epoch seconds
            moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
        elif isinstance(value, str) and value.isdigit():
            return _timestamp(int(value))
        elif isinstance(value, str):
            text = value.strip().replace(" ", "T", 1)
            if text.endswith(("+00", "-00")):
                text += ":00"
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        else:
            raise ValueError(type(value).__name__)
    except (ValueError, OverflowError, OSError):
        raise _BadRecord("timestamp is not a time", hint="ISO 8601, epoch seconds or OTel nanoseconds") from None
    return _iso(moment), moment.microsecond != 0


def _text(value: Any) -> str | None:  # noqa: ANN401
    """A content value as text: strings as they are, OTel parts / OpenAI content lists joined."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [_text(p.get("content", p.get("text"))) if isinstance(p, dict) else _text(p) for p in value]
        return "\n".join(p for p in parts if p) or None
    if isinstance(value, dict):
        return _text(value.get("content", value.get("text")))
    return str(value)


def _messages(value: Any) -> list[dict[str, str]]:  # noqa: ANN401
    """OpenAI-style or OTel-style (``parts``) message lists as [{role, content}]."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [{"role": "user", "content": value}] if value else []
    if isinstance(value, dict):
        value = value.get("messages", [value])
    out = []
    for m in value if isinstance(value, list) else []:
        if isinstance(m, dict):
            content = _text(m.get("parts")) if "parts" in m else _text(m.get("content"))
            if content is not None:
                out.append({"role": str(m.get("role", "user")), "content": content})
    return out


def _response_text(value: Any) -> str | None:  # noqa: ANN401
    """A response as text: an OpenAI response object, OTel output messages, or text."""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if not isinstance(parsed, dict | list):
            return value
        value = parsed
    if isinstance(value, dict) and "choices" in value:
        texts = [_text((c.get("message") or {}).get("content") if isinstance(c, dict) else None) or
                 (c.get("text") if isinstance(c, dict) else None) for c in value.get("choices") or []]  # fmt: skip
        return "\n".join(t for t in texts if t) or None
    if isinstance(value, list):
        texts = [_text(m.get("parts")) if isinstance(m, dict) and "parts" in m else _text(m) for m in value]
        return "\n".join(t for t in texts if t) or None
    return _text(value)


class _Writer:
    """Writes canonical lines, counts what each record lacked, and skips (or, ``strict``, stops at) bad records."""

    def __init__(self, conversion: Conversion, strict: bool = False) -> None:
        self.conversion, self.strict = conversion, strict
        self.handle = open(conversion.path, "w", encoding="utf-8")

    def record(self, where: str, item: Any, convert: Callable[[Any], Any]) -> Any:  # noqa: ANN401
        """``convert(item)``, or None for a bad record (``item`` a reader's ``_BadRecord``, or one ``convert`` raises)."""
        try:
            if isinstance(item, _BadRecord):
                raise item
            return convert(item)
        except _BadRecord as bad:
            self._bad(where, bad)
        except RecursionError:
            self._bad(where, _BadRecord("nested too deeply to read"))
        except (TypeError, AttributeError, KeyError, ValueError, OverflowError) as exc:  # hostile shapes
            self._bad(where, _BadRecord(f"not in the format's shape ({type(exc).__name__})"))
        return None

    def _bad(self, where: str, bad: _BadRecord) -> None:
        if self.strict:
            raise TrafficLogError(f"{where}: {bad.reason}", hint=bad.hint or "scan without --strict to skip and count such records")
        self.conversion.skip(bad.reason, where)

    def write(self, *, timestamp: Any, account: Any, prompt_messages: list[dict[str, str]],  # noqa: ANN401
              response: str | None, api_key: Any = None, key_is_id: bool = False, ip: Any = None, agent: Any = None,  # noqa: ANN401
              organisation: Any = None, payment: Any = None, model: Any = None,  # noqa: ANN401
              prompt_tokens: Any = None, completion_tokens: Any = None) -> None:  # noqa: ANN401
        c = self.conversion
        ts, fine = _timestamp(timestamp)
        if account in (None, ""):
            raise _BadRecord("no account id", hint="map a user or account field (account_id)")
        account = str(account)
        if not prompt_messages:
            raise _BadRecord("no prompt", hint="the record needs its request messages")
        prompt_tokens, completion_tokens = (None if v == "" else v for v in (prompt_tokens, completion_tokens))
        try:
            usage = None if prompt_tokens is None and completion_tokens is None else {
                "prompt_tokens": int(prompt_tokens or 0), "completion_tokens": int(completion_tokens or 0)}
        except (TypeError, ValueError):
            raise _BadRecord("token counts are not integers") from None
        c.records += 1
        c.subsecond |= fine

        def have(name: str, value: Any) -> bool:  # noqa: ANN401
            if value in (None, ""):
                c.missing[name] = c.missing.get(name, 0) + 1
                return False
            return True

        line = {
            "timestamp": ts, "account_id": account,
            "api_key_id": (str(api_key) if key_is_id else key_token(str(api_key))) if have("api_key_id", api_key)
                          else f"unavailable:{account}",
            "source_ip": str(ip) if have("source_ip", ip) else "unavailable",  # not an address: no /24 prefix
            "user_agent": str(agent) if have("user_agent", agent) else f"unavailable:{account}",
            "model": str(model) if have("model", model) else "unknown",
            "messages": prompt_messages, "response": response if response is not None else "",
        }  # fmt: skip
        if have("organisation", organisation):
            line["organisation"] = str(organisation)
        if have("payment_id", payment):
            line["payment_id"] = str(payment)
        if usage is None:
            c.missing["usage"] = c.missing.get("usage", 0) + 1
        else:
            line["usage"] = usage
        self.handle.write(json.dumps(line, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


def _json_records(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, object) for a JSON array, one JSON document, or JSON Lines; a line that is not JSON is a ``_BadRecord``."""
    head = path.read_bytes()[:1 << 16].lstrip()
    if head.startswith(b"[") or (head.startswith(b"{") and b"\n" in head and not _one_line_json(head)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", "?")
            raise TrafficLogError(f"{path}, line {line}: not JSON ({str(exc).split(':')[0]})",
                                  hint="the file must be a JSON array, one JSON document or JSON Lines") from None  # fmt: skip
        for index, item in enumerate(data if isinstance(data, list) else [data], start=1):
            yield f"{path}, record {index}", item
        return
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except (ValueError, UnicodeDecodeError, RecursionError):
                item = _BadRecord("not JSON", hint="one JSON object a line")
            yield f"{path}, line {number}", item


def _one_line_json(head: bytes) -> bool:
    """Whether the file is JSON Lines: one of its first lines is a whole object (a pretty-printed document's never is,
    but for an empty one), so a cut-off first line does not make a JSON Lines file one broken document."""
    for line in head.splitlines()[:4]:
        try:
            if (value := json.loads(line)) and isinstance(value, dict):
                return True
        except (ValueError, RecursionError):
            continue
    return False


# ---------------------------------------------------------------- OpenTelemetry GenAI


def _otel_value(value: Any) -> Any:  # noqa: ANN401
    """An OTLP/JSON AnyValue as a Python value."""
    if not isinstance(value, dict):
        return value
    for kind in ("stringValue", "boolValue", "doubleValue"):
        if kind in value:
            return value[kind]
    if "intValue" in value:  # a string in OTLP/JSON; a bad one stays text and is refused where a number is needed
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "arrayValue" in value:
        return [_otel_value(v) for v in (value["arrayValue"] or {}).get("values", [])]
    if "kvlistValue" in value:
        return _otel_attrs((value["kvlistValue"] or {}).get("values", []))
    return None


def _otel_attrs(items: Any) -> dict[str, Any]:  # noqa: ANN401
    if not isinstance(items, list):
        return {}
    return {str(i["key"]): _otel_value(i.get("value")) for i in items if isinstance(i, dict) and "key" in i}


def _first(attrs: dict[str, Any], *names: str) -> Any:  # noqa: ANN401
    for name in names:
        if attrs.get(name) not in (None, ""):
            return attrs[name]
    return None


def _otel(path: Path, writer: _Writer) -> None:
    """GenAI spans (those with ``gen_ai.*`` attributes) as exchanges; other spans are skipped."""
    for where, doc in _json_records(path):
        for span_where, span, attrs in writer.record(where, doc, _otel_spans) or []:
            writer.record(f"{where}, {span_where}", span, lambda span, attrs=attrs: _otel_span(span, attrs, writer))


def _otel_spans(doc: Any) -> list[tuple[str, Any, dict[str, Any]]]:  # noqa: ANN401
    """(where, span, attributes) of each GenAI span of one export document; a span not an object is a ``_BadRecord``."""
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans"), list):
        raise _BadRecord("not an OTLP/JSON trace export (no resourceSpans list)")
    spans = []
    for r_index, rs in enumerate(doc["resourceSpans"]):
        resource = _otel_attrs(((rs or {}).get("resource") or {}).get("attributes")) if isinstance(rs, dict) else {}
        for scope in _list((rs or {}).get("scopeSpans") if isinstance(rs, dict) else None):
            for s_index, span in enumerate(_list(scope.get("spans") if isinstance(scope, dict) else None)):
                if not isinstance(span, dict):
                    spans.append((f"resourceSpans[{r_index}] span {s_index}", _BadRecord("span is not an object"), {}))
                    continue
                attrs = {**resource, **_otel_attrs(span.get("attributes"))}
                if any(k.startswith("gen_ai.") for k in attrs):
                    spans.append((f"span {span.get('spanId', s_index)}", span, attrs))
    return spans


def _list(value: Any) -> list[Any]:  # noqa: ANN401
    """A JSON value that should be a list, as one (anything else holds nothing)."""
    return value if isinstance(value, list) else []


def _otel_span(span: dict[str, Any], attrs: dict[str, Any], writer: _Writer) -> None:
    prompt = _messages(attrs.get("gen_ai.input.messages")) if attrs.get("gen_ai.input.messages") else []
    system = attrs.get("gen_ai.system_instructions")
    response = _response_text(attrs.get("gen_ai.output.messages")) if attrs.get("gen_ai.output.messages") else None
    for event in _list(span.get("events")):  # the older convention: one event a message
        if not isinstance(event, dict):
            continue
        name, body = event.get("name", ""), _otel_attrs(event.get("attributes"))
        if body.get("gen_ai.input.messages") and not prompt:  # gen_ai.client.inference.operation.details
            prompt = _messages(body["gen_ai.input.messages"])
        if body.get("gen_ai.output.messages") and response is None:
            response = _response_text(body["gen_ai.output.messages"])
        system = system or body.get("gen_ai.system_instructions")
        content = _first(body, "gen_ai.prompt", "gen_ai.completion", "content")
        if name in ("gen_ai.user.message", "gen_ai.system.message", "gen_ai.content.prompt") and content and not prompt:
            role = "system" if name == "gen_ai.system.message" else "user"
            parsed = _messages(content) if name == "gen_ai.content.prompt" else [{"role": role, "content": _text(content) or ""}]
            prompt = prompt + parsed
        elif name in ("gen_ai.choice", "gen_ai.content.completion") and content and response is None:
            response = _response_text(content)
    if not prompt and attrs.get("gen_ai.prompt"):
        prompt = _messages(attrs["gen_ai.prompt"])
    if response is None and attrs.get("gen_ai.completion"):
        response = _response_text(attrs["gen_ai.completion"])
    if system and prompt:
        prompt = [{"role": "system", "content": _text(system) or ""}] + prompt
    writer.write(timestamp=span.get("startTimeUnixNano"),
                 account=_first(attrs, "enduser.id", "user.id", "gen_ai.user.id", "user.name"),
                 prompt_messages=prompt, response=response,
                 api_key=_first(attrs, "gen_ai.api_key.id", "api_key.id"), key_is_id=False,
                 ip=_first(attrs, "client.address", "network.peer.address", "http.client_ip"),
                 agent=_first(attrs, "user_agent.original", "http.user_agent"),
                 organisation=_first(attrs, "enduser.organization", "organization.id", "gen_ai.organization.id"),
                 model=_first(attrs, "gen_ai.request.model", "gen_ai.response.model"),
                 prompt_tokens=_first(attrs, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
                 completion_tokens=_first(attrs, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"))  # fmt: skip


# ---------------------------------------------------------------- LiteLLM spend logs


def _maybe_json(value: Any) -> Any:  # noqa: ANN401
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _litellm_records(path: Path) -> Iterator[tuple[str, Any]]:
    if path.suffix.lower() == ".csv":
        csv.field_size_limit(min(sys.maxsize, 1 << 30))
        with open(path, newline="", encoding="utf-8", errors="strict") as handle:
            try:
                for number, row in enumerate(csv.DictReader(handle), start=2):
                    yield f"{path}, line {number}", _BadRecord("more cells than the header names") if None in row else row
            except (csv.Error, UnicodeDecodeError) as exc:
                raise TrafficLogError(f"{path}: not a readable CSV ({exc})".splitlines()[0]) from None
        return
    yield from _json_records(path)


def _litellm(path: Path, writer: _Writer) -> None:
    for where, row in _litellm_records(path):
        writer.record(where, row, lambda row: _litellm_row(row, writer))


def _litellm_row(row: Any, writer: _Writer) -> None:  # noqa: ANN401
    if not isinstance(row, dict):
        raise _BadRecord("a spend-log record must be an object")
    metadata = _maybe_json(row.get("metadata"))
    metadata = metadata if isinstance(metadata, dict) else {}
    headers = metadata.get("headers") if isinstance(metadata.get("headers"), dict) else {}
    agent = _first({k.lower(): v for k, v in headers.items()}, "user-agent") or metadata.get("user_agent")
    key = row.get("api_key") or metadata.get("user_api_key")
    writer.write(timestamp=row.get("startTime"),
                 account=_first(row, "user", "end_user") or metadata.get("user_api_key_user_id")
                 or (key_token(str(key)) if key else None),
                 prompt_messages=_messages(_maybe_json(row.get("messages"))),
                 response=_response_text(_maybe_json(row.get("response"))),
                 api_key=key, ip=row.get("requester_ip_address"), agent=agent,
                 organisation=_first(row, "team_id", "organization_id") or metadata.get("user_api_key_team_id"),
                 model=_first(row, "model", "model_group"),
                 prompt_tokens=row.get("prompt_tokens"), completion_tokens=row.get("completion_tokens"))  # fmt: skip


# ---------------------------------------------------------------- mapped schemas


class FieldMap(BaseModel):
    """Where each canonical field is in another schema: a dotted path into the record (``a.b.c``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timestamp: str
    account_id: str
    prompt: str  # a text field, or a list of {role, content} messages
    response: str
    api_key_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    organisation: str | None = None
    payment_id: str | None = None
    model: str | None = None
    prompt_tokens: str | None = None
    completion_tokens: str | None = None
    api_key_is_raw: bool = True  # hash it (the default): set false only for a field that is already an opaque id


class MapFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fields: FieldMap


def load_map(path: Path) -> FieldMap:
    """A mapping file, validated: an unknown or missing field is refused by name."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TrafficLogError(f"{path}: not a readable TOML mapping ({exc})", hint="see docs/traffic.md, 'Log formats'") from None
    try:
        return MapFile.model_validate(data).fields
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"])
            kind = {"missing": "missing field", "extra_forbidden": "unknown field"}.get(error["type"], error["msg"])
            problems.append(f"{kind} {name!r}")
        raise TrafficLogError(f"{path}: {'; '.join(problems)}",
                              hint="[fields] needs timestamp, account_id, prompt, response; see docs/traffic.md") from None  # fmt: skip


def _dig(record: Any, dotted: str | None) -> Any:  # noqa: ANN401
    if dotted is None:
        return None
    value = record
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _parquet_records(path: Path) -> Iterator[tuple[str, Any]]:
    import duckdb

    con = duckdb.connect()
    try:
        from provenance.traffic.logs import sql_path

        cursor = con.execute(f"SELECT * FROM read_parquet({sql_path(path)})")
        names = [d[0] for d in cursor.description]
        number = 0
        while rows := cursor.fetchmany(10_000):
            for row in rows:
                number += 1
                yield f"{path}, row {number}", dict(zip(names, row, strict=True))
    except duckdb.Error as exc:
        raise TrafficLogError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    finally:
        con.close()


def _mapped(path: Path, writer: _Writer, fields: FieldMap) -> None:
    records = _parquet_records(path) if path.suffix.lower() == ".parquet" else _json_records(path)
    for where, record in records:
        writer.record(where, record, lambda record: _mapped_record(record, writer, fields))


def _mapped_record(record: Any, writer: _Writer, fields: FieldMap) -> None:  # noqa: ANN401
    if not isinstance(record, dict):
        raise _BadRecord("a record must be an object")
    prompt = _dig(record, fields.prompt)
    prompt_messages = _messages(prompt) if not isinstance(prompt, str) else ([{"role": "user", "content": prompt}] if prompt else [])
    moment = _dig(record, fields.timestamp)
    if isinstance(moment, datetime):
        moment = _iso(moment)
    writer.write(timestamp=moment, account=_dig(record, fields.account_id), prompt_messages=prompt_messages,
                 response=_response_text(_dig(record, fields.response)),
                 api_key=_dig(record, fields.api_key_id), key_is_id=not fields.api_key_is_raw,
                 ip=_dig(record, fields.source_ip), agent=_dig(record, fields.user_agent),
                 organisation=_dig(record, fields.organisation), payment=_dig(record, fields.payment_id),
                 model=_dig(record, fields.model), prompt_tokens=_dig(record, fields.prompt_tokens),
                 completion_tokens=_dig(record, fields.completion_tokens))  # fmt: skip


# ---------------------------------------------------------------- entry point


def convert(path: Path, work: Path, index: int, *, fmt: str | None = None, fields: FieldMap | None = None,
            strict: bool = False) -> Conversion | None:  # fmt: skip
    """``path`` as a canonical JSON Lines file under ``work`` (None when it is canonical already).

    Bad records are skipped and counted in the ``Conversion`` (``strict``: the first one is the error).
    """
    if fmt is not None and fmt not in FORMATS:
        raise TrafficLogError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    if fields is not None:
        fmt = "mapped"
    fmt = fmt or detect(path)
    if fmt == "canonical":
        return None
    if fmt == "mapped" and fields is None:
        raise TrafficLogError("--format mapped needs --map FILE.toml")
    work.mkdir(parents=True, exist_ok=True)
    target = work / f"converted_{index}_{path.stem[:40]}.jsonl"
    target.unlink(missing_ok=True)
    conversion = Conversion(target, fmt)
    writer = _Writer(conversion, strict)
    try:
        if fmt == "otel":
            _otel(path, writer)
        elif fmt == "litellm":
            _litellm(path, writer)
        else:
            assert fields is not None
            _mapped(path, writer, fields)
    except RecursionError:
        raise TrafficLogError(f"{path}: nested too deeply to read") from None
    finally:
        writer.close()
    if not conversion.records:
        first = ""
        if conversion.skipped:  # every record was bad: name the first, as --strict would have
            reason = next(iter(conversion.skipped))
            more = sum(conversion.skipped.values()) - 1
            first = f"; skipped {conversion.examples[reason][0]}: {reason}" + (f" and {more} more" if more else "")
        raise TrafficLogError(f"{path}: no exchange in this {fmt} log{first}",
                              hint=f"OTel spans need gen_ai.* attributes; records skipped by reason: {dict(conversion.skipped)}")
    return conversion
