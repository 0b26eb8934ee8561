"""Traffic forensics (issue 18): a simulated vendor log with known campaigns, scanned for real.

The log is the lab simulator's (a quarter of its default size), read through the real
DuckDB pipeline; bad lines are written byte for byte; the campaign exports are read
back by the transcript backend a model-side case uses.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from provenance.traffic import scan, write_log
from provenance.traffic.logs import TrafficLogError

RELEASE = datetime(2026, 3, 9)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    folder = tmp_path_factory.mktemp("traffic")
    truth = write_log(folder, seed=5, scale=0.25)
    return truth, scan([folder / "log.jsonl"], folder / "scan", release_dates=[RELEASE])


def test_campaign_accounts_are_flagged_and_hard_negatives_are_not(scanned) -> None:  # noqa: ANN001
    truth, result = scanned
    kinds = truth["accounts"]
    flagged = {a for c in result.flagged for a in c.accounts}
    campaign = {a for a, k in kinds.items() if k.startswith("campaign")}
    assert len(flagged & campaign) >= 0.9 * len(campaign)
    assert not {kinds[a] for a in flagged - campaign}, sorted({kinds[a] for a in flagged - campaign})
    neighbours = {a for a, k in kinds.items() if k == "benign: shares infrastructure"}
    beside = {m["account"] for c in result.flagged for m in c.infrastructure_only}
    assert neighbours and not neighbours & flagged and neighbours & beside  # listed beside a campaign, never named
    top = result.campaigns[0]
    assert all(kinds[a].startswith("campaign") for a in top.accounts) and len(top.accounts) > 1
    words = " ".join(e["words"] for e in top.evidence)
    assert "reasoning or code" in words and "separate payers" in words
    assert any(e.get("population_median") is not None and e["value"] > e["population_median"] for e in top.evidence)


def test_outputs_rank_explain_and_export_transcripts_a_case_can_import(scanned) -> None:  # noqa: ANN001
    from provenance.backends.transcript import TranscriptBackend

    truth, result = scanned
    data = json.loads((result.out_dir / "campaigns.json").read_text())
    assert data["exchanges"] == truth["exchanges"] and data["read"]["skipped"] == {}
    assert [c["rank"] for c in data["campaigns"]] == list(range(1, len(data["campaigns"]) + 1))
    first = data["campaigns"][0]
    export = result.out_dir / first["transcript"]
    backend = TranscriptBackend.load(export, name="campaign-1")
    lines = export.read_text().splitlines()
    assert len(lines) == first["requests"] and "line " in json.loads(lines[0])["source"]
    assert backend.identity.files  # the export is evidence: its hash is the model identity
    html = (result.out_dir / "traffic.html").read_text()
    assert "<svg" in html and "<script" not in html and "Suspected extraction campaigns" in html


def test_bad_lines_are_counted_by_reason_with_their_line_numbers(tmp_path: Path) -> None:
    good = {"timestamp": "2026-03-02T10:00:00+02:00", "account_id": "a", "api_key_id": "k", "source_ip": "1.2.3.4",
            "user_agent": "ua", "model": "m", "messages": [{"role": "user", "content": "hi there"}], "response": "hello"}  # fmt: skip
    earlier = {**good, "timestamp": "2026-03-02T07:00:00Z", "account_id": "b"}
    lines = [json.dumps(good).encode(), b"{not json", json.dumps({**good, "account_id": None}).encode(), b"\xff\xfe bad bytes",
             json.dumps({**good, "timestamp": "2026-03-02T10:00:00"}).encode(), json.dumps(earlier).encode()]  # fmt: skip
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join(lines) + b"\n")
    result = scan([log], tmp_path / "scan")
    read = result.read.to_dict()
    assert read["rows"] == 2 and result.exchanges == 2
    assert read["skipped_examples"] == {"not JSON": [2], "missing field(s): account_id": [3], "not UTF-8": [4],
                                        "timestamp has no time zone (ambiguous: give Z or an offset)": [5]}  # fmt: skip
    assert read["out_of_order_timestamps"] == 1 and set(read["time_zone_offsets"]) == {"+02:00", "+00:00"}
    with pytest.raises(TrafficLogError, match="line 2: not JSON"):
        scan([log], tmp_path / "strict", strict=True)


def test_parquet_logs_are_read_and_a_truncated_one_is_named(scanned, tmp_path: Path) -> None:  # noqa: ANN001
    import duckdb

    _, result = scanned
    parquet = tmp_path / "log.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT ts AS timestamp, account_id, api_key_id, source_ip, user_agent, payment_id, model, prompt, response "
        f"FROM read_parquet('{result.out_dir / 'work' / 'exchanges.parquet'}') LIMIT 500) TO '{parquet}' (FORMAT parquet)"
    )
    assert scan([parquet], tmp_path / "from-parquet").exchanges == 500
    truncated = tmp_path / "cut.parquet"
    truncated.write_bytes(parquet.read_bytes()[: parquet.stat().st_size // 2])
    with pytest.raises(TrafficLogError, match="not a readable Parquet file"):
        scan([truncated], tmp_path / "cut")
    with pytest.raises(TrafficLogError, match="no log at"):
        scan([tmp_path / "missing.jsonl"], tmp_path / "none")


def test_simulated_responses_come_from_the_teacher_model(tiny_model: Path, tmp_path: Path) -> None:
    from provenance.backends.hf import HFBackend

    from provenance.backends.base import GenerationParams

    teacher = HFBackend.load(tiny_model, name="teacher", batch_size=64)
    truth = write_log(tmp_path, seed=1, teacher=teacher, scale=0.01, max_new_tokens=4)
    records = [json.loads(line) for line in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert truth["teacher"] == "teacher" and len(records) == truth["exchanges"]
    prompt = records[0]["messages"][-1]["content"]
    assert records[0]["response"] == teacher.generate([prompt], GenerationParams(max_new_tokens=4), 1)[0].text


def test_cli_simulates_and_scans_a_log(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    code, out, _ = run_cli(capsys, "lab", "traffic", "--out", str(tmp_path / "log"), "--seed", "2", "--scale", "0.1")
    assert code == 0 and "campaign: hydra" in out and (tmp_path / "log" / "truth.json").is_file()
    code, out, _ = run_cli(capsys, "traffic", "scan", str(tmp_path / "log" / "log.jsonl"), "--out", str(tmp_path / "scan"),
                           "--release", "2026-03-09T00:00:00Z")  # fmt: skip
    assert code == 0 and "FLAGGED" in out and "campaigns.json" in out
    code, _, err = run_cli(capsys, "traffic", "scan", str(tmp_path / "log" / "log.jsonl"), "--out", str(tmp_path / "x"), "--release", "soon")
    assert code == 2 and "ISO 8601" in err
