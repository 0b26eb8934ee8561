"""Traffic forensics on simulated vendor logs with known campaigns (issues 18 and 29): detection and throughput.

Run:
    .venv/bin/python benchmarks/traffic_bench.py --seeds 0 12 13 14 15 16 17 --dev 1 2 3 --out docs/traffic.md

Seed 0 is the tuning seed: the flagging threshold is set there, as the midpoint between the
highest-scoring group without a campaign member and the lowest-scoring group of only campaign
members (among groups that look like extraction, the precondition of flagging), before any other
seed is scanned. Seeds 1-3 are *development* seeds, looked at while the rules were built (issue 29:
the content-plan Jaccard of 0.2 was read off them). Seeds 12-17 were never looked at before this
table and are the held-back figures (seeds 4-11 were looked at in earlier rounds and are not
reported). Account-level precision and recall count the *named members* of flagged groups; the
accounts listed beside a group as "shares infrastructure, no behaviour of its own" are never named,
exported or counted, and are reported in their own column. The false-positive rate is reported for
benign accounts and for each kind of hard negative apart.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

from provenance.traffic import scan, write_log


def _scan(workdir: Path, seed: int, threshold: float) -> tuple[dict, list, float, int]:
    folder = workdir / f"seed{seed}"
    truth = write_log(folder, seed=seed)
    releases = [datetime.fromisoformat(d).replace(tzinfo=None) for d in truth["release_dates"]]
    started = time.perf_counter()
    result = scan([folder / "log.jsonl"], folder / "scan", release_dates=releases, threshold=threshold)
    return truth, result.campaigns, time.perf_counter() - started, result.exchanges


def tune(kinds: dict[str, str], campaigns: list) -> float:
    """Midpoint between the best non-campaign group and the worst all-campaign group (tuning seed only)."""
    eligible = [c for c in campaigns if c.extracts]  # a group that asks for no reasoning or code is never flagged
    bad = max((c.score for c in eligible if not any(kinds[a].startswith("campaign") for a in c.accounts)), default=0.0)
    good = min((c.score for c in eligible if all(kinds[a].startswith("campaign") for a in c.accounts)), default=bad + 1)
    return round((bad + good) / 2, 1) if good > bad else round(bad + 0.1, 1)


def attribution(operators: dict[str, str], campaigns: list, threshold: float) -> dict:
    """Do flagged groups match operators? Merged: flagged groups holding two or more operators' accounts;
    split: operators whose flagged accounts lie in two or more flagged groups."""
    groups = [{operators[a] for a in c.accounts if a in operators} for c in campaigns if c.extracts and c.score >= threshold]
    groups = [g for g in groups if g]
    found = {o for g in groups for o in g}
    return {
        "operators_found": f"{len(found)}/{len(set(operators.values()))}",
        "merged_groups": sum(len(g) > 1 for g in groups),
        "operators_merged": len({o for g in groups if len(g) > 1 for o in g}),
        "split_operators": sum(sum(o in g for g in groups) > 1 for o in found),
    }


def measure(truth: dict, campaigns: list, threshold: float) -> dict:
    kinds = truth["accounts"]
    flagged = {a for c in campaigns if c.extracts and c.score >= threshold for a in c.accounts}
    beside = {m["account"] for c in campaigns if c.extracts and c.score >= threshold for m in c.infrastructure_only} - flagged
    by_kind = Counter(kinds.values())
    hit = Counter(kinds[a] for a in flagged)
    positives = {a for a, k in kinds.items() if k.startswith("campaign")}
    negatives = len(kinds) - len(positives)
    true = len(flagged & positives)
    return {
        "precision": true / len(flagged) if flagged else 1.0,
        "recall": true / len(positives),
        "fp_rate": (len(flagged) - true) / negatives,
        "by_kind": {k: f"{hit[k]}/{n}" for k, n in sorted(by_kind.items())},
        "flagged_groups": sum(c.extracts and c.score >= threshold for c in campaigns),
        "benign_named": sum(kinds[a].startswith("benign") for a in flagged),
        "benign_accounts": sum(k.startswith("benign") for k in kinds.values()),
        "infrastructure_only": f"{sum(kinds[a].startswith('benign') for a in beside)}/{len(beside)}",
        "largest_null_p": max((c.null_probability or 0.0 for c in campaigns if c.extracts and c.score >= threshold), default=None),
        **attribution(truth.get("operators", {}), campaigns, threshold),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 12, 13, 14, 15, 16, 17], help="tuning seed first, then held-back seeds")
    parser.add_argument("--dev", type=int, nargs="*", default=[1, 2, 3], help="development seeds (looked at while building)")
    parser.add_argument("--looked", type=int, nargs="*", default=[],
                        help="seeds held back but looked at with earlier rules of this round (reported apart)")
    parser.add_argument("--workdir", type=Path, default=Path(".lab-cache/bench/traffic"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    truth, campaigns, seconds, exchanges = _scan(args.workdir, args.seeds[0], 1e9)  # nothing flagged: the threshold is chosen on the scores
    threshold = tune(truth["accounts"], campaigns)
    truth, campaigns, seconds, exchanges = _scan(args.workdir, args.seeds[0], threshold)  # again: the null needs the threshold
    rows = [(args.seeds[0], "tuning", measure(truth, campaigns, threshold), seconds, exchanges)]
    for seed in [*args.dev, *args.looked, *args.seeds[1:]]:
        truth, campaigns, seconds, exchanges = _scan(args.workdir, seed, threshold)
        split = "development" if seed in args.dev else "looked at (earlier rules)" if seed in args.looked else "held back"
        rows.append((seed, split, measure(truth, campaigns, threshold), seconds, exchanges))
    for row in rows:
        print(json.dumps({"seed": row[0], "split": row[1], **row[2], "seconds": round(row[3], 1)}), flush=True)
    kind_names = sorted(rows[0][2]["by_kind"])
    lines = [f"Threshold (chosen on seed {args.seeds[0]}): campaign score >= {threshold}.", "",
             "| seed | split | account precision | account recall | false-positive accounts | flagged groups | operators found | "
             "merged groups | operators merged | split operators | benign named | listed beside (benign/all) | largest chance ordinary accounts score as high (flagged) | "
             + " | ".join(f"named {k}" for k in kind_names) + " | exchanges | scan s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(kind_names) + "---|---|"]  # fmt: skip
    for seed, split, m, seconds, exchanges in rows:
        lines.append(f"| {seed} | {split} | {m['precision']:.3f} | {m['recall']:.3f} | {m['fp_rate']:.2%} | {m['flagged_groups']} | "
                     f"{m['operators_found']} | {m['merged_groups']} | {m['operators_merged']} | {m['split_operators']} | "
                     f"{m['benign_named']}/{m['benign_accounts']} | {m['infrastructure_only']} | "
                     f"{'-' if m['largest_null_p'] is None else format(m['largest_null_p'], '.2g')} | "
                     + " | ".join(m["by_kind"].get(k, "-") for k in kind_names) + f" | {exchanges} | {seconds:.1f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.write_text("# Traffic forensics (`benchmarks/traffic_bench.py`)\n\n" + (__doc__ or "").split("\n\n", 2)[2].strip()
                            + "\n\n" + table, encoding="utf-8")


if __name__ == "__main__":
    main()
