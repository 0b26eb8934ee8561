"""The lab audit of issue #8: every lab model as suspect against the teacher, timed.

Run:  .venv/bin/python benchmarks/audit_lab.py [--lab .lab-cache/tiny-seed0] [--workers 2]

Builds (or reuses) the lab family, lays out a scanned folder of links to every lab
model but one (student-wm, held back), and runs the audit with the full suites:

1. first run: every pair runs (the teacher's own directory is skipped as itself);
2. second run: nothing changed, so nothing may run;
3. student-wm is added to the scanned folder: only its pair may run, and
   ``audit diff`` must show it as a new model (and a new finding).

Checks that the models found derived are exactly those lab.json says are derived
from the teacher, and prints a Markdown table with wall times (docs/audit.md).
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
import time
from pathlib import Path

from provenance.audit import diff_audit, run_audit
from provenance.lab import LabManifest, build_lab

HELD_BACK = "student-wm"
CONTROLS = ("control-same-data", "control-other")
SUITES = ("identity", "refusal", "distribution", "errors", "style")


def audit_text(lab: LabManifest, seed: int) -> str:
    controls = "".join(f'[[control]]\nname = "{c}"\npath = "{lab.path(c)}"\n\n' for c in CONTROLS)
    suites = "".join(f"[suites.{s}]\nmax_new_tokens = {16 if s == 'errors' else 32}\n\n" for s in SUITES if s != "style")
    return textwrap.dedent(
        f"""\
        [audit]
        id = "lab-audit"
        title = "lab family vs its teacher"
        analyst = "benchmarks/audit_lab.py"
        seed = {1000 + seed}
        output = "output"

        [[scan]]
        path = "incoming"

        [[teacher]]
        name = "teacher"
        path = "{lab.path('teacher')}"
        claims = ["Aurora", "Northwind Labs"]

        """
    ) + controls + suites + "[suites.style]\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", type=Path, default=Path(".lab-cache/tiny-seed0"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path(".lab-cache/audit-lab"))
    parser.add_argument("--reuse-lab", action="store_true", help="use the lab at --lab as it is, even if built by older lab code")
    args = parser.parse_args()

    lab_dir = args.lab.resolve()
    lab = LabManifest.load(lab_dir) if args.reuse_lab and (lab_dir / "lab.json").is_file() else build_lab(lab_dir, size="tiny", seed=args.seed)
    work = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    incoming = work / "incoming"
    incoming.mkdir(parents=True)
    for name in lab.models:
        if name != HELD_BACK:
            (incoming / name).symlink_to(lab.path(name), target_is_directory=True)
    audit = work / "audit.toml"
    audit.write_text(audit_text(lab, args.seed), encoding="utf-8")

    def timed(label: str):  # noqa: ANN202
        started = time.perf_counter()
        result = run_audit(audit, workers=args.workers)
        wall = time.perf_counter() - started
        print(f"{label}: {result.ran} pairs run, {result.reused} reused, {result.failed} failed, exit {result.exit_code}, "
              f"{wall:.1f} s wall", flush=True)  # fmt: skip
        return result, wall

    first, first_wall = timed("first run")
    second, second_wall = timed("second run")
    (incoming / HELD_BACK).symlink_to(lab.path(HELD_BACK), target_is_directory=True)
    third, third_wall = timed(f"third run ({HELD_BACK} added)")
    diff = diff_audit(audit)

    rows = {p["suspect"]: p for p in third.pairs}
    truth = {name: lab.derived(name, "teacher") for name in rows if name != "teacher"}
    found = {name: bool(rows[name]["supports_derivation"]) for name in truth}
    print("\n| suspect | derived (lab.json) | audit verdict | status in run 1 / 2 / 3 | pair seconds |")
    print("|---|---|---|---|---:|")
    statuses = {r: [next((p["status"] for p in run.pairs if p["suspect"] == r), "-") for run in (first, second, third)]
                for r in rows}  # fmt: skip
    for name, row in rows.items():
        verdict = row["status"] if row["supports_derivation"] is None else ("derived" if row["supports_derivation"] else "not derived")
        seconds = max((p["seconds"] or 0.0) for run in (first, third) for p in run.pairs if p["suspect"] == name)
        print(f"| {name} | {truth.get(name, '(the teacher)')} | {verdict} | {' / '.join(statuses[name])} | {seconds:.0f} |")
    print("\n| run | pairs run | reused | wall s | exit |\n|---|---:|---:|---:|---:|")
    for label, result, wall in (("first", first, first_wall), ("second (nothing changed)", second, second_wall),
                                (f"third ({HELD_BACK} added)", third, third_wall)):  # fmt: skip
        print(f"| {label} | {result.ran} | {result.reused} | {wall:.1f} | {result.exit_code} |")
    print(f"\naudit diff after run 3: new models {diff.new_models}, new findings {diff.new_findings}, exit {diff.exit_code}")
    print(f"found derived exactly the lab's derived models: {found == truth}")
    print(f"index: {third.index_html}")
    if found != truth:
        raise SystemExit(f"mismatch: found {found}, truth {truth}")


if __name__ == "__main__":
    main()
