"""The long fuzz run (issue 28): each boundary's Hypothesis property with many examples, in chunks.

CI runs 50 derandomized examples per boundary (``tests/test_fuzz_boundaries.py``). This runs
each boundary's property with ``PROVENANCE_FUZZ_EXAMPLES=CHUNK`` in a process of its own, chunk
after chunk on different seeds (``--hypothesis-seed``), the boundaries taking turns, until
``--examples`` are reached: a run cut short keeps every finished chunk of every boundary. Each chunk appends one JSON line to ``--record``
(boundary, seed, examples run, invalid, whether it failed and the falsifying example, wall
time); ``--table`` rewrites the table in docs/boundary.md's "Fuzz runs" section from every
recorded chunk. One chunk runs at a time: the machine's two cores are shared.

    echo 19 > /proc/self/autogroup; OMP_NUM_THREADS=1 .venv/bin/python benchmarks/fuzz_long.py \\
        --boundary http --boundary store-verify --examples 10000 --chunk 2500
    .venv/bin/python benchmarks/fuzz_long.py --table      # the table from the record, nothing run
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = "tests/test_fuzz_boundaries.py"
#: Boundary name -> (its property, what the table calls it).
BOUNDARIES = {
    "case": ("test_fuzz_case_file_loader_accepts_or_gives_one_line", "case file loader"),
    "transcript": ("test_fuzz_transcript_reader_accepts_or_gives_one_line", "transcript reader"),
    "traffic": ("test_fuzz_traffic_log_reader_keeps_or_counts_every_line", "traffic log reader (JSONL)"),
    "parquet": ("test_fuzz_parquet_traffic_log_reader_keeps_or_counts_every_row", "traffic log reader (Parquet)"),
    "http": ("test_fuzz_http_answers_give_an_answer_or_an_endpoint_error", "HTTP answers"),
    "store-verify": ("test_fuzz_damaged_evidence_store_verifies_or_fails_in_one_line", "damaged evidence stores (`verify`)"),
    "store-analyze": ("test_fuzz_analyze_and_report_on_a_damaged_store_are_one_line_and_write_nothing",
                      "damaged evidence stores (`case analyze`, `report`)"),
    "keys": ("test_fuzz_key_and_certificate_files_load_or_give_one_line", "key and certificate files (`--key`, `--public-key`, "
             "`--pkcs12`, `--trust`)"),
    "keygen": ("test_fuzz_keygen_writes_a_whole_key_or_nothing", "`keygen` over planted files and odd names"),
}  # fmt: skip
RECORD = ROOT / "benchmarks" / "fuzz_long_runs.jsonl"
DOC = ROOT / "docs" / "boundary.md"
BEGIN, END = "<!-- fuzz_long table: begin -->", "<!-- fuzz_long table: end -->"
_COUNTS = re.compile(r"(\d+) passing, (\d+) failing, and (\d+) invalid test cases")


def run_chunk(boundary: str, examples: int, seed: int, limit_s: int) -> dict:
    """One process running ``boundary``'s property for ``examples`` examples on ``seed``; what it found."""
    test, _ = BOUNDARIES[boundary]
    env = {**os.environ, "PROVENANCE_FUZZ_EXAMPLES": str(examples), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "pytest", f"{TESTS}::{test}", "-q", "-p", "no:cacheprovider", "--timeout", "0",
               "--hypothesis-show-statistics", f"--hypothesis-seed={seed}"]  # fmt: skip
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=limit_s)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(errors="replace"), "timeout"
    wall = time.perf_counter() - started
    # The statistics list each phase (explicit, reuse, generate, shrink); generated examples are what was tried at random.
    phases = re.findall(r"during (\w+) phase[^\n]*\n(?:[^\n]*\n)*?\s*- (\d+) passing, (\d+) failing, and (\d+) invalid", output)
    counts = {phase: (int(p), int(f), int(i)) for phase, p, f, i in phases}
    generated = counts.get("generate", (0, 0, 0))
    failed = code != 0
    falsifying = re.search(r"Falsifying (?:explicit )?example:.*?(?=\n\S|\Z)", output, re.S) if failed else None
    return {
        "boundary": boundary, "seed": seed, "asked": examples, "examples": generated[0] + generated[1],
        "invalid": generated[2], "explicit": sum(counts.get("explicit", (0, 0, 0))[:2]), "failed": failed,
        "exit": code, "failure": (falsifying.group(0)[:2000] if falsifying else output[-2000:]) if failed else None,
        "wall_s": round(wall, 1), "at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }  # fmt: skip


def table(record: Path) -> str:
    """The Markdown table of every recorded chunk, one row per boundary."""
    totals: dict[str, dict] = defaultdict(lambda: {"chunks": 0, "examples": 0, "invalid": 0, "failed": 0, "wall_s": 0.0})
    for line in record.read_text().splitlines() if record.exists() else []:
        chunk = json.loads(line)
        row = totals[chunk["boundary"]]
        row["chunks"] += 1
        row["examples"] += chunk["examples"]
        row["invalid"] += chunk["invalid"]
        row["failed"] += chunk["failed"]
        row["wall_s"] += chunk["wall_s"]
    lines = ["| boundary | examples run | invalid (rejected by the strategies) | chunks (seeds) | chunks failed | wall time |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, (_, label) in BOUNDARIES.items():
        if name in totals:
            row = totals[name]
            lines.append(f"| {label} | {row['examples']:,} | {row['invalid']:,} | {row['chunks']} | {row['failed']} | "
                         f"{row['wall_s'] / 60:.1f} min |")  # fmt: skip
    return "\n".join(lines)


def write_table(record: Path, doc: Path) -> None:
    """Replace the table between the markers in ``doc`` (docs/boundary.md)."""
    text = doc.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{doc} has no {BEGIN} ... {END} markers")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{table(record)}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boundary", action="append", choices=sorted(BOUNDARIES), help="repeatable; default: every boundary")
    parser.add_argument("--examples", type=int, default=10_000, help="examples per boundary (default 10,000)")
    parser.add_argument("--chunk", type=int, default=2_500, help="examples per process (default 2,500)")
    parser.add_argument("--seed", type=int, default=1, help="the first chunk's seed; the next chunks count up")
    parser.add_argument("--limit-s", type=int, default=3_600, help="wall-clock limit of one chunk")
    parser.add_argument("--record", type=Path, default=RECORD)
    parser.add_argument("--table", action="store_true", help="only rewrite docs/boundary.md's table from the record")
    args = parser.parse_args()
    if not args.table:
        # Chunks take turns across the boundaries, so a run cut short has some of every boundary.
        done = dict.fromkeys(args.boundary or list(BOUNDARIES), 0)
        seed = args.seed
        while done:
            for boundary in list(done):
                chunk = run_chunk(boundary, min(args.chunk, args.examples - done[boundary]), seed, args.limit_s)
                with args.record.open("a") as handle:
                    handle.write(json.dumps(chunk) + "\n")
                print(f"{boundary} seed {seed}: {chunk['examples']} examples, {chunk['invalid']} invalid, "
                      f"{'FAILED' if chunk['failed'] else 'ok'}, {chunk['wall_s']:.0f} s", flush=True)  # fmt: skip
                done[boundary] += chunk["examples"]
                if chunk["failed"] or chunk["examples"] == 0 or done[boundary] >= args.examples:
                    if chunk["failed"] or chunk["examples"] == 0:  # fix it first; or the property cannot run at all
                        print(chunk["failure"], flush=True)
                    del done[boundary]
            seed += 1
    write_table(args.record, DOC)
    print(table(args.record))


if __name__ == "__main__":
    main()
