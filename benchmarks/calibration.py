"""Calibration on the lab: how often each suite finds derivation, by ground truth.

Run:  .venv/bin/python benchmarks/calibration.py --seeds 0 1 2 [--size tiny] [--alpha 0.05]

For every lab seed: builds (or reuses) the lab family, then runs one case per
suspect against the teacher, with every independent lab model other than the
suspect as a control. A suite "finds" derivation in a run when any of its family
tests has a Holm-adjusted p-value below --alpha. Truth comes from lab.json only.
Prints a Markdown table: per suspect and suite, finds / runs; and the observed
false-positive rate over all (seed x suite) runs on non-derived suspects.
"""

from __future__ import annotations

import argparse
import json
import textwrap
import time
from collections import defaultdict
from pathlib import Path

from provenance import api
from provenance.lab import LabManifest, build_lab

SUSPECTS = ("student", "student-stripped", "control-same-data", "control-other")
CONTROLS = ("control-same-data", "control-other")
SUITES = ("identity", "refusal", "distribution", "errors", "style")


def case_text(lab, suspect: str, seed: int) -> str:  # noqa: ANN001
    controls = "".join(
        f'[[control]]\nname = "{c}"\npath = "{lab.path(c)}"\n\n' for c in CONTROLS if c != suspect
    )
    suites = "".join(f"[suites.{s}]\nmax_new_tokens = {16 if s == 'errors' else 32}\n\n" for s in SUITES if s != "style")
    return textwrap.dedent(
        f"""\
        [case]
        id = "calibration-{seed}-{suspect}"
        title = "calibration"
        analyst = "benchmarks/calibration.py"
        seed = {1000 + seed}

        [suspect]
        name = "{suspect}"
        path = "{lab.path(suspect)}"

        [[teacher]]
        name = "teacher"
        path = "{lab.path('teacher')}"
        claims = ["Aurora", "Northwind Labs"]

        """
    ) + controls + suites + "[suites.style]\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--workdir", type=Path, default=Path(".lab-cache/calibration"))
    parser.add_argument("--suspects", nargs="+", default=list(SUSPECTS), choices=SUSPECTS,
                        help="which lab models to examine (default: all)")
    parser.add_argument(
        "--reuse-labs", action="store_true",
        help="use a lab already built under .lab-cache/ as it is, even if built by older lab code "
        "(keeps stored evidence valid: the models, hence their identities, do not change)",
    )
    parser.add_argument("--stored-only", action="store_true",
                        help="analyse cases whose evidence is already stored; skip the others (no collection)")
    parser.add_argument("--json-out", type=Path,
                        help="also write the per-suite false-positive record the report quotes "
                        "(reports/assets/calibration.json)")
    args = parser.parse_args()

    finds: dict[tuple[str, str], list[bool]] = defaultdict(list)
    verdicts: dict[str, list[bool]] = defaultdict(list)
    truth: dict[str, bool] = {}
    false_findings: list[str] = []
    seeds_used: dict[str, list[int]] = defaultdict(list)
    started = time.perf_counter()
    for seed in args.seeds:
        lab_dir = Path(".lab-cache").resolve() / f"{args.size}-seed{seed}"
        if args.reuse_labs and (lab_dir / "lab.json").is_file():
            lab = LabManifest.load(lab_dir)
        else:
            lab = build_lab(lab_dir, size=args.size, seed=seed)
        for suspect in args.suspects:
            truth[suspect] = lab.derived(suspect, "teacher")
            root = args.workdir / f"seed{seed}-{suspect}"
            if args.stored_only:
                if not (root / "evidence.sqlite").is_file():
                    continue
                findings = api.analyze(root)[0]
            else:
                root.mkdir(parents=True, exist_ok=True)
                (root / "case.toml").write_text(case_text(lab, suspect, seed))
                findings = api.run_case(root).findings
            assert findings is not None
            seeds_used[suspect].append(seed)
            verdicts[suspect].append(findings.verdicts[0].supports_derivation)
            for suite in SUITES:
                tests = [t for t in findings.tests if t.suite == suite and t.in_family]
                if tests:
                    found = [t for t in tests if (t.p_adjusted or 1.0) < args.alpha]
                    finds[(suspect, suite)].append(bool(found))
                    if found and not truth[suspect]:
                        false_findings.append(
                            f"seed {seed} {suspect} {suite}: "
                            + ", ".join(f"{t.test_id} p_adj={t.p_adjusted:.3g}" for t in found)
                        )
            print(f"seed {seed} {suspect}: verdict {verdicts[suspect][-1]} ({time.perf_counter() - started:.0f}s)", flush=True)

    print(f"\nalpha = {args.alpha} (Holm-adjusted within each case), seeds {args.seeds}, size {args.size}\n")
    print("| suspect | derived (lab.json) | verdict at case alpha 0.01 | " + " | ".join(SUITES) + " |")
    print("|---|---|---|" + "---|" * len(SUITES))
    for suspect in args.suspects:
        cells = [f"{sum(finds[(suspect, s)])}/{len(finds[(suspect, s)])}" for s in SUITES]
        print(f"| {suspect} | {truth[suspect]} | {sum(verdicts[suspect])}/{len(verdicts[suspect])} | " + " | ".join(cells) + " |")
    null_runs = [f for (suspect, _), runs in finds.items() if not truth[suspect] for f in runs]
    print(f"\nfalse-positive rate over (seed x suite) runs on independent suspects: "
          f"{sum(null_runs)}/{len(null_runs)} = {sum(null_runs) / max(1, len(null_runs)):.3f}")
    for line in false_findings:
        print(f"  false finding: {line}")
    print(f"total time {time.perf_counter() - started:.0f}s")
    if args.json_out:
        write_record(args.json_out, finds, truth, seeds_used, false_findings, args.alpha)


def write_record(
    path: Path, finds: dict[tuple[str, str], list[bool]], truth: dict[str, bool],
    seeds_used: dict[str, list[int]], false_findings: list[str], alpha: float,
) -> None:
    """The per-suite false-positive rates a report quotes, in the shape provenance.report reads."""
    independent = [s for s in truth if not truth[s]]
    suites = {}
    for suite in SUITES:
        runs = [f for s in independent for f in finds[(s, suite)]]
        suites[suite] = {"false_positives": sum(runs), "runs": len(runs), "rate": f"{sum(runs)}/{len(runs)}"}
    total = sum(v["false_positives"] for v in suites.values())
    n = sum(v["runs"] for v in suites.values())
    seeds = sorted({seed for s in independent for seed in seeds_used[s]})
    record = {
        "source": f"docs/calibration.md: benchmarks/calibration.py on the tiny lab, seeds {', '.join(map(str, seeds))}",
        "how": (
            f"For each of {len(seeds)} lab seeds, each independent lab model ({', '.join(independent)}) was examined "
            "as the suspect against the lab teacher, with every other independent lab model as a control: "
            f"{n // len(SUITES)} runs per suite in which the truth is 'not derived'. A false positive is a run in "
            f"which any of the suite's family tests had a Holm-adjusted p-value below {alpha}. These rates were "
            "measured on tiny lab models; a real case's rate may differ."
        ),
        "suites": suites,
        "overall": f"{total}/{n} = {total / max(1, n):.2f} over (seed x suite) runs on independent suspects",
        "false_findings": false_findings,
    }
    path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
