"""``scan``: logs in; ranked campaigns, their evidence, an HTML page and transcript exports out.

Steps: stream and validate the logs into Parquet (``logs``), compute account
features with DuckDB (``features``), link and score accounts (``campaigns``), then
write ``campaigns.json`` (every group, ranked, with what made it stand out and the
read report), ``accounts.json`` (every account's features), ``traffic.html``
(timeline and daily volume of the flagged campaigns against everyone else), and
one transcript file per flagged campaign under ``campaigns/`` in the format the
transcript backend imports, with the log file and line of every exchange.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from provenance.files import atomic_open, atomic_write
from provenance.traffic.campaigns import DEFAULT_THRESHOLD, Campaign, link_accounts, score_campaigns
from provenance.traffic.features import account_features, templatedness
from provenance.traffic.logs import (
    DEFAULT_YEARS,
    ReadReport,
    TrafficLogError,
    normalise,
    sql_path,
)
from provenance.traffic.plans import plan_pairs
from provenance.traffic.requests import request_types
from provenance.traffic.timing import activity, lockstep_pairs

#: What a scan writes into its --out folder (besides campaigns/ and work/).
_OUTPUTS = ("campaigns.json", "accounts.json", "traffic.html")


@dataclass(frozen=True)
class ScanResult:
    """What ``scan`` wrote and found."""

    out_dir: Path
    campaigns: list[Campaign]
    read: ReadReport
    exchanges: int
    accounts: int
    seconds: float
    timings: dict[str, float]

    @property
    def flagged(self) -> list[Campaign]:
        return [c for c in self.campaigns if c.flagged]


def scan(
    logs: list[str | Path],
    out_dir: str | Path,
    *,
    release_dates: list[datetime] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    strict: bool = False,
    memory_limit: str = "2GB",
    on_step: Callable[[str], None] | None = None,
    years: tuple[int, int] = DEFAULT_YEARS,
    log_format: str | None = None,
    field_map: str | Path | None = None,
) -> ScanResult:
    """Find suspected extraction campaigns in exchange logs (JSON Lines, Parquet, OTel GenAI, LiteLLM; ``field_map``: any other).

    ``on_step`` is told the name of each stage as it starts (the CLI prints them: a scan of
    millions of exchanges takes minutes); each stage's seconds are in the result and in
    ``campaigns.json``.
    """
    import duckdb

    started = time.perf_counter()
    if not math.isfinite(threshold):
        raise TrafficLogError(f"threshold {threshold} is not a number a campaign score can reach",
                              hint=f"give a finite score, e.g. --threshold {DEFAULT_THRESHOLD}")  # fmt: skip
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TrafficLogError(f"--out {out} is a file, not a folder", hint="give a folder for the scan's outputs")
    linked = [name for name in _OUTPUTS if (out / name).is_symlink()]
    if linked:  # refused before anything is written, not half way
        raise TrafficLogError(f"{out / linked[0]} is a symbolic link; refusing to write through it",
                              hint="remove the link, or give another --out folder")  # fmt: skip
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrafficLogError(f"cannot create --out {out}: {exc.strerror or exc}", hint="give a folder you can write") from None
    timings: dict[str, float] = {}

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        """Announce a stage (``on_step``) and time it into ``timings``."""
        if on_step is not None:
            on_step(name)
        begun = time.perf_counter()
        yield
        timings[name] = round(time.perf_counter() - begun, 2)

    with step("reading and validating the logs"):
        parquet, report = _read_logs([Path(p) for p in logs], out / "work", strict=strict, memory_limit=memory_limit,
                                     years=years, log_format=log_format, field_map=field_map)  # fmt: skip
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = {sql_path(out / 'work' / 'spill')}")
    with step("account features"):
        features = account_features(con, parquet, release_dates or [])
        exchanges = con.execute("SELECT count(*) FROM x").fetchone()[0]
    with step("prompt templates (MinHash)"):
        templatedness(con, features)
    with step("request types (TF-IDF clusters)"):
        types = request_types(con, features)
    with step("timing and content-plan links"):
        activity(con, features)
        grouped = {a: rep for rep, members in link_accounts(features).groups.items() for a in members}
        behaviour = [(a, b, "lock-step activity", f"lock-step activity ({link.share:.0%} of requests within {link.window:g} s, "
                      f"{link.null:.0%} at best when shifted by whole minutes or hours)") for a, b, link in lockstep_pairs(features, grouped)]
        behaviour += [(a, b, "content plan", f"one content plan ({e['rare_terms_shared']} rare terms shared, Jaccard {e['jaccard']}, "
                       f"e.g. {', '.join(e['examples'][:3])}; spans overlap {e['span_overlap']:.0%}; "
                       f"{e['identical_prompts']} identical prompts)") for a, b, e in plan_pairs(con, features)]  # fmt: skip
    with step("linking and scoring accounts"):
        campaigns = score_campaigns(features, threshold=threshold, behaviour=behaviour)
    with step("writing campaigns, accounts, page and transcripts"):
        _write_accounts(out / "accounts.json", features)
        _flagged_exchanges(con, campaigns)
        exports = _export_transcripts(con, campaigns, out / "campaigns")
        _write_html(con, campaigns, out / "traffic.html", report)
    _write_json(out / "campaigns.json", {
        "exchanges": exchanges, "accounts": len(features), "threshold": threshold, "years": list(years),
        "release_dates": [d.isoformat() for d in release_dates or []], "read": report.to_dict(),
        "seconds": timings, "request_types": types,
        "campaigns": [dict(c.to_dict(rank), transcript=exports.get(rank)) for rank, c in enumerate(campaigns, start=1)],
    })  # fmt: skip
    return ScanResult(out, campaigns, report, int(exchanges), len(features), time.perf_counter() - started, timings)


def _read_logs(logs: list[Path], work: Path, *, strict: bool, memory_limit: str, years: tuple[int, int],
               log_format: str | None, field_map: str | Path | None) -> tuple[Path, ReadReport]:  # fmt: skip
    """Logs in other formats (OTel, LiteLLM, mapped) converted to canonical lines first, then validated as one."""
    from provenance.traffic.formats import convert, load_map

    fields = load_map(Path(field_map)) if field_map is not None else None
    canonical, formats, unavailable, conversions = [], {}, {}, []
    for index, log in enumerate(logs):
        if not log.is_file():
            raise TrafficLogError(f"no log at {log}", hint="give JSON Lines (.jsonl), Parquet, OTel JSON or LiteLLM files")
        conversion = convert(log, work, index, fmt=log_format, fields=fields, strict=strict)
        formats[log.name] = conversion.source_format if conversion else "canonical"
        if conversion is not None:
            conversions.append(conversion)
        canonical.append(conversion.path if conversion else log)
        for name, why in (conversion.unavailable() if conversion else {}).items():
            unavailable[name] = why if name not in unavailable else unavailable[name]
    parquet, report = normalise(canonical, work, strict=strict, memory_limit=memory_limit, years=years)
    report.formats, report.unavailable = formats, unavailable
    for conversion in conversions:  # records a converter skipped, beside the lines the canonical reader skipped
        for reason, count in conversion.skipped.items():
            report.add(f"{conversion.source_format}: {reason}", count, list(conversion.examples[reason]))
    return parquet, report


def _plain(features: Any) -> dict[str, Any]:  # noqa: ANN401
    """An account's features for ``accounts.json`` (its MinHash signatures are working data, not evidence)."""
    return {f.name: getattr(features, f.name) for f in dataclasses.fields(features) if not f.name.endswith("_signature")}


def _write_json(path: Path, data: Any) -> None:  # noqa: ANN401
    atomic_write(path, json.dumps(data, indent=1, ensure_ascii=False, default=str))


def _write_accounts(path: Path, features: dict[str, Any]) -> None:
    """``accounts.json`` written account by account (a log of millions of exchanges has hundreds of thousands)."""
    with atomic_open(path) as handle:
        handle.write("{")
        for index, account in enumerate(sorted(features)):
            handle.write(("\n" if not index else ",\n") + json.dumps(account, ensure_ascii=False) + ": "
                         + json.dumps(_plain(features[account]), ensure_ascii=False, default=str))  # fmt: skip
        handle.write("\n}\n")


def _flagged_exchanges(con: Any, campaigns: list[Campaign]) -> None:  # noqa: ANN401
    """Table ``flagged``: every exchange of a flagged campaign with its rank, stored in (rank, time) order.

    One pass over the log for all campaigns (a big log has thousands of flagged groups); each
    export or plot then reads only its own campaign's row groups.
    """
    ranks = [(account, rank) for rank, c in enumerate(campaigns, start=1) if c.flagged for account in c.accounts]
    con.execute("""
        CREATE OR REPLACE TEMP TABLE flagged_accounts AS
        SELECT unnest(?::VARCHAR[]) AS account_id, unnest(?::INTEGER[]) AS rank
    """, [[a for a, _ in ranks], [r for _, r in ranks]])  # fmt: skip
    con.execute("""
        CREATE OR REPLACE TEMP TABLE flagged AS
        SELECT f.rank, x.* FROM x JOIN flagged_accounts f USING (account_id) ORDER BY f.rank, x.ts, x.source, x.line
    """)


def _export_transcripts(con: Any, campaigns: list[Campaign], folder: Path) -> dict[int, str]:  # noqa: ANN401
    """One transcript JSONL per flagged campaign: prompt, response, model, time, and where it was logged.

    DuckDB writes each file from the ``flagged`` table (a campaign can hold millions of
    exchanges; nothing is held in Python).
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for rank, campaign in enumerate(campaigns, start=1):
        if not campaign.flagged:
            continue
        path = folder / f"campaign-{rank:03d}.jsonl"
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(6)}")  # no one can plant a link here
        con.execute(f"""
            COPY (SELECT prompt, response, model, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS timestamp,
                         source || ' line ' || line || ' (account ' || account_id || ')' AS source
                  FROM flagged WHERE rank = {rank} ORDER BY ts, flagged.source, line)
            TO {sql_path(tmp)} (FORMAT json)
        """)  # noqa: S608 - our own rank and file name
        os.replace(tmp, path)
        written[rank] = str(path.relative_to(folder.parent))
    return written


def _write_html(con: Any, campaigns: list[Campaign], path: Path, report: ReadReport) -> None:  # noqa: ANN401
    """The ranked campaigns with their evidence, a timeline and daily volumes (SVG, no external resource)."""
    import io

    import jinja2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    flagged = [(rank, c) for rank, c in enumerate(campaigns, start=1) if c.flagged][:8]
    figure, (timeline, volume) = plt.subplots(2, 1, figsize=(9, 6), constrained_layout=True)
    daily = con.execute("SELECT CAST(ts AS DATE) AS d, count(*) FROM x GROUP BY d ORDER BY d").fetchall()
    volume.plot([d for d, _ in daily], [n for _, n in daily], color="#888", label="all accounts")
    for index, (rank, campaign) in enumerate(flagged):
        rows = con.execute(f"SELECT CAST(ts AS DATE) AS d, count(*) FROM flagged WHERE rank = {rank} GROUP BY d ORDER BY d").fetchall()  # noqa: S608
        volume.plot([d for d, _ in rows], [n for _, n in rows], label=f"campaign {rank}")
        times = con.execute(f"SELECT ts FROM flagged WHERE rank = {rank} USING SAMPLE 2000 ROWS").fetchall()  # noqa: S608
        timeline.scatter([t for (t,) in times], [index] * len(times), s=2)
    timeline.set_yticks(range(len(flagged)), [f"campaign {rank}" for rank, _ in flagged])
    timeline.set_title("When each flagged campaign sent requests (sample)")
    volume.set_title("Exchanges per day")
    volume.legend(fontsize=7)
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    template = jinja2.Environment(autoescape=True).from_string(_PAGE)
    html = template.render(campaigns=list(enumerate(campaigns, start=1))[:50], flagged=[(r, c) for r, c in enumerate(campaigns, start=1) if c.flagged],
                           figure=buffer.getvalue(), read=report.to_dict())
    atomic_write(path, html)


_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Traffic scan</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>body{font-family:sans-serif;max-width:1000px;margin:auto}td,th{border-bottom:1px solid #ddd;padding:3px;text-align:left;font-size:13px}</style>
</head><body><h1>Suspected extraction campaigns</h1>
{% if read.unavailable_features %}<p><b>Features unavailable in this log:</b></p><ul>
{% for name, why in read.unavailable_features.items() %}<li>{{ name }}: {{ why }}</li>{% endfor %}</ul>{% endif %}
<p>{{ read.rows }} exchanges read; skipped: {{ read.skipped or "none" }}; out-of-order timestamps: {{ read.out_of_order_timestamps }}.</p>
{{ figure|safe }}
<p>Chance ordinary accounts score as high: the share of random groups of this log's benign-looking accounts (outside every group at the threshold), linked the same way (same
size and separate payers), that score at least the group's score; it does not judge the links themselves.</p>
<table><tr><th>rank</th><th>score</th><th>chance ordinary accounts score as high</th><th>flagged</th><th>accounts</th><th>requests</th><th>what made it stand out</th></tr>
{% for rank, c in campaigns %}<tr><td>{{ rank }}</td><td>{{ '%.1f'|format(c.score) }}</td>
<td>{{ '%.2g'|format(c.null_probability) if c.null_probability is not none else '' }}</td><td>{{ 'yes' if c.flagged else 'no' }}</td>
<td>{{ c.accounts|length }}</td><td>{{ c.requests }}</td><td>{% for e in c.evidence %}{{ e.words }}: {{ e.value }}{% if e.z is defined %}
(population median {{ e.population_median }}, z {{ e.z }}){% elif e.population_median is defined %} (population median {{ e.population_median }})
{% endif %}<br>{% endfor %}</td></tr>{% endfor %}
</table>
{% for rank, c in flagged %}<h2>Campaign {{ rank }}: each member and why it is named</h2>
<table><tr><th>account</th><th>why it is a member</th></tr>
{% for m in c.members %}<tr><td>{{ m.account }}</td><td>{% for w in m.why %}{{ w }}<br>{% endfor %}</td></tr>{% endfor %}</table>
{% if c.infrastructure_only %}<h3>Shares infrastructure, no behaviour of its own (not named, not exported, not counted)</h3>
<table><tr><th>account</th><th>evidence</th></tr>
{% for m in c.infrastructure_only %}<tr><td>{{ m.account }}</td><td>{{ m.evidence }}</td></tr>{% endfor %}</table>{% endif %}
{% endfor %}</body></html>"""
