"""Development measurement, not the release: run a bench script with a balanced prompt split (stop 41).

    .venv/bin/python benchmarks/balanced_split_trial.py benchmarks/real_teacher_bench.py analyze --seed 22 --json-out X

The candidate: the same seeded hash orders the prompts and the order is cut in two (the selection half
gets floor(n/2)), instead of one hash bit per prompt deciding its half (``features.markers.split_prompts``,
whose halves are unbalanced). Results: docs/bench-real-teacher.md, seed 22."""
from __future__ import annotations

import hashlib
import runpy
import sys
from collections.abc import Iterable

sys.path.insert(0, "benchmarks")
import provenance.features.markers as markers  # noqa: E402
import provenance.suites.distribution as distribution  # noqa: E402


def balanced_split(probe_ids: Iterable[str], seed: int) -> tuple[list[str], list[str]]:
    """The release's seeded hash as an order, cut in two: halves of floor(n/2) and ceil(n/2) prompts."""
    order = sorted(probe_ids, key=lambda pid: hashlib.sha256(f"{seed}:{pid}".encode()).digest())
    half = len(order) // 2
    return sorted(order[:half]), sorted(order[half:])


def main() -> None:
    """Patch the split in this process only (so ``provenance_bench.py analyze`` needs ``--workers 1``) and run."""
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    args = sys.argv[1:]
    one_worker = "--workers" in args and args.index("--workers") + 1 < len(args) and args[args.index("--workers") + 1] == "1"
    if "provenance_bench.py" in args[0] and not one_worker:
        raise SystemExit("provenance_bench.py analyze spawns workers without the patch: pass --workers 1")
    markers.split_prompts = balanced_split
    distribution.split_prompts = balanced_split
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")


if __name__ == "__main__":
    main()
