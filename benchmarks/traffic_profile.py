"""Where a traffic scan's time goes (issue 29, throughput): per-stage seconds and, optionally, a cProfile.

Run (on a log written by ``benchmarks/traffic_scale.py --generate-only``):
    .venv/bin/python benchmarks/traffic_profile.py --exchanges 250000 [--profile] [--compare OTHER_SCAN_DIR]

The scan runs in this process (``provenance.traffic.scan.scan``) so cProfile sees every
stage; ``--compare`` checks that ``campaigns.json`` and ``accounts.json`` equal another
scan's of the same log (stage seconds aside), the check that a speed change kept results.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from datetime import datetime
from pathlib import Path


def comparable(scan_dir: Path) -> tuple[dict, dict]:
    """A scan's campaigns.json (without its stage seconds) and accounts.json."""
    campaigns = json.loads((scan_dir / "campaigns.json").read_text(encoding="utf-8"))
    campaigns.pop("seconds", None)
    accounts = json.loads((scan_dir / "accounts.json").read_text(encoding="utf-8"))
    return campaigns, accounts


def differences(a: object, b: object, where: str = "", limit: int = 10) -> list[str]:
    """Where two JSON values differ (at most ``limit`` places)."""
    found: list[str] = []

    def walk(x: object, y: object, path: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for key in sorted(set(x) | set(y)):
                if key not in x or key not in y:
                    found.append(f"{path}/{key}: only in {'second' if key not in x else 'first'}")
                else:
                    walk(x[key], y[key], f"{path}/{key}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for k, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{k}]")
        elif x != y:
            found.append(f"{path}: {str(x)[:120]} != {str(y)[:120]}")

    walk(a, b, where)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exchanges", type=int, default=250_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path(".lab-cache/traffic-scale"))
    parser.add_argument("--out", type=Path, default=None, help="scan folder (default: the log's folder / scan-profile)")
    parser.add_argument("--profile", action="store_true", help="write a cProfile and print its top functions")
    parser.add_argument("--compare", type=Path, default=None, help="another scan folder of the same log")
    args = parser.parse_args()
    from provenance.traffic.scan import scan

    folder = args.work / f"n{args.exchanges}-seed{args.seed}"
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    out = args.out or folder / "scan-profile"
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    result = scan([folder / "log.jsonl"], out, release_dates=[datetime.fromisoformat(truth["release_dates"][0])])
    if profiler:
        profiler.disable()
    seconds = time.perf_counter() - started
    print(json.dumps({"exchanges": result.exchanges, "seconds": round(seconds, 1),
                      "exchanges_per_second": round(result.exchanges / seconds), "stages": result.timings}, indent=1))  # fmt: skip
    if profiler:
        profiler.dump_stats(str(out / "scan.prof"))
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(30)
    if args.compare:
        found = []
        for name, (a, b) in zip(("campaigns.json", "accounts.json"), zip(comparable(out), comparable(args.compare))):
            found += differences(a, b, name)
        print("same results as", args.compare if not found else f"DIFFERENT from {args.compare}:\n  " + "\n  ".join(found))
        if found:
            sys.exit(1)


if __name__ == "__main__":
    main()
