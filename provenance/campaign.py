"""A campaign's logged exchanges as the membership suite's probes, and what the report says of it.

The campaign file is a transcript (``backends.transcript``): one logged exchange a
line, as ``provenance traffic scan`` exports it. The membership suite tests a seeded
sample of its distinct prompts, chosen from the file's hash and the case's seed
before any model is asked, so nobody can pick the exchanges that happen to show a
preference. The first ``limit`` of the sample are tested: a smaller budget tests a
prefix of the same sample.
"""

from __future__ import annotations

import json
import random
from functools import lru_cache
from pathlib import Path
from typing import Any

from provenance.backends.transcript import read_transcript
from provenance.errors import CaseFileError
from provenance.hashing import sha256_file
from provenance.probes import Probe, ProbeSuite

SUITE = "membership"
#: Logged exchanges tested when the case file gives no ``limit``.
DEFAULT_PAIRS = 100


@lru_cache(maxsize=4)
def _read(path: Path, size: int, mtime_ns: int) -> tuple[str, list[tuple[int, Any]]]:
    """The file's SHA-256 and its validated records, read once per version of the file."""
    return sha256_file(path), read_transcript(path)


def _campaign_file(path: Path) -> tuple[Path, str, list[tuple[int, Any]]]:
    path = Path(path).resolve()
    if not path.is_file():
        raise CaseFileError(f"no campaign file at {path}", hint="[campaign] path names the transcript a traffic scan exported")
    stat = path.stat()
    return (path, *_read(path, stat.st_size, stat.st_mtime_ns))


def campaign_probes(path: Path, seed: int) -> ProbeSuite:
    """The campaign's distinct prompts (first logged line of each) in a seeded order; ids are ``line-N``."""
    path, digest, records = _campaign_file(path)
    first_line: dict[str, int] = {}
    for number, record in records:
        first_line.setdefault(record.prompt, number)
    prompts = sorted(first_line, key=first_line.__getitem__)
    random.Random(f"membership:{digest}:{seed}").shuffle(prompts)
    probes = tuple(Probe(id=f"line-{first_line[p]}", prompt=p, category="logged", language="en",
                         extra={"transcript_line": first_line[p], "order": rank})
                   for rank, p in enumerate(prompts, start=1))
    return ProbeSuite(
        name=SUITE, version=f"campaign-{digest[:12]}",
        question="Was the suspect trained on the exchanges this campaign collected?",
        source=f"campaign transcript {path.name} ({len(records)} exchanges, {len(prompts)} distinct prompts)",
        capability="generate", probes=probes, sha256=digest, path=str(path),
    )


def campaign_summary(path: Path, scan: Path | None = None, rank: int | None = None) -> dict[str, Any]:
    """What the report says of the campaign: volume, time span, models, and the scan's accounts if given."""
    path, digest, records = _campaign_file(path)
    times = sorted(r.timestamp for _, r in records)
    summary: dict[str, Any] = {
        "file": path.name,
        "sha256": digest,
        "exchanges": len(records),
        "distinct_prompts": len({r.prompt for _, r in records}),
        "first_logged": times[0],
        "last_logged": times[-1],
        "recorded_models": sorted({r.model for _, r in records}),
    }
    if scan is not None and rank is not None:
        summary["scan"] = _from_scan(scan, rank)
    return summary


def _from_scan(scan: Path, rank: int) -> dict[str, Any]:
    try:
        data = json.loads(scan.read_text(encoding="utf-8"))
        found = next(c for c in data["campaigns"] if c["rank"] == rank)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CaseFileError(f"cannot read campaign {rank} from {scan}: {exc}",
                            hint="[campaign] scan names the campaigns.json of `provenance traffic scan`") from None
    except StopIteration:
        raise CaseFileError(f"{scan} has no campaign of rank {rank}") from None
    keep = ("rank", "score", "flagged", "account_count", "accounts", "requests", "separate_payers", "first_seen",
            "last_seen", "links", "evidence")
    return {"campaigns_json": scan.name, "campaigns_json_sha256": sha256_file(scan), **{k: found.get(k) for k in keep}}
