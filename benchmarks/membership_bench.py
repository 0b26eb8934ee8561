"""Membership suite (issues 19, 31): the sequential test's power, level and queries, by access mode and campaign share.

Run:
    .venv/bin/python benchmarks/membership_bench.py --seeds 4 5 6 --epochs 8 --out docs/membership-sequential.md
    .venv/bin/python benchmarks/membership_bench.py --simulate 20000 --out docs/membership-simulated.md

Per seed, a *world* (``provenance.lab.membership.build_world``): a campaign of 300 of the
teacher's sampled answers (temperature 1.0) to prompts of its own domain, students of
the campaign at campaign shares 100 / 30 / 10 % (the rest other instruction data), the
hard control (a student of the teacher's *other* answers to the same prompts) and an
independent model (the other instruction data only), all fine-tuned from one base.

Every suspect is a real case (collection, analysis) with the other two non-campaign
models as controls. One collection of the whole log per suspect; the sequential rule
is then replayed on its store the way ``provenance case run`` applies it while
collecting (``MembershipSuite.progress`` on the stored prefix: the rule stops at the
same exchange whatever was stored after it, ``tests/test_membership.py`` checks that a
stopped collection and the whole log give the same numbers), once with the suspect's
scores (open weights: the likelihood test carries the family) and once without them
(black box: the overlap test carries it). The queries a sequential collection makes
are the exchanges up to the stopping point, rounded up to the next look
(``LOOK_EVERY``). Beside it, the previous release's fixed design on the same store: the
first 100 exchanges, Holm over both tests.

``--simulate N``: the level under optional stopping on simulated exchangeable twins,
looked at after every pair of a 456-exchange log, with the guard and the futility rule,
and the power and stopping time under shifts.

No threshold is tuned: alpha is the case default (0.01); the bet, the payoff and the
futility rule were fixed on simulated pairs before any world was run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path

SUSPECTS = ("campaign-student-100", "campaign-student-30", "campaign-student-10", "same-teacher-student", "independent")
CONTROLS = {"same-teacher-student": ("independent",), "independent": ("same-teacher-student",)}
DEFAULT_CONTROLS = ("same-teacher-student", "independent")
ALPHA = 0.01


def _case(world: Path, manifest: dict, suspect: str, controls: tuple[str, ...]) -> Path:
    folder = world / "cases-sequential" / suspect
    folder.mkdir(parents=True, exist_ok=True)
    s = manifest["sampling"]
    tables = "".join(f'\n[[control]]\nname = "{c}"\npath = "{(world / c).resolve()}"\nbatch_size = 64\n' for c in controls)
    (folder / "case.toml").write_text(
        f'[case]\nid = "membership-{suspect}"\ntitle = "membership bench"\nanalyst = "bench"\nalpha = {ALPHA}\n\n'
        f'[suspect]\nname = "suspect"\npath = "{(world / suspect).resolve()}"\nbatch_size = 64\n\n'
        f'[[teacher]]\nname = "teacher"\npath = "{manifest["teacher"]}"\nbatch_size = 32\n{tables}\n'
        f'[campaign]\npath = "{(world / manifest["campaign"]["path"]).resolve()}"\n\n'
        f'[suites.membership]\nsequential = false\nlimit = {manifest["campaign"]["exchanges"]}\n'
        f'temperature = {s["temperature"]}\ntop_p = {s["top_p"]}\nmax_new_tokens = {s["max_new_tokens"]}\n',
        encoding="utf-8")
    return folder


def replay(case_dir: Path, *, black_box: bool, sequential: bool = True, limit: int | None = None) -> dict:
    """The membership suite's decision on a case's stored evidence, as open weights or black box."""
    from provenance.analysis.run import evaluate
    from provenance.analysis.view import EvidenceView
    from provenance.case import load_case
    from provenance.evidence import EvidenceStore
    from provenance.planning import deployed_as_now
    from provenance.suites import SuiteContext
    from provenance.suites.membership import LOOK_EVERY, MembershipDesign

    case = load_case(case_dir)
    spec = case.spec
    with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
        view = EvidenceView.load(store, keep=deployed_as_now(spec))
    if black_box:
        view.scores.pop(spec.suspect.name, None)
    teacher = spec.campaign_teacher().name
    design = MembershipDesign(sequential=sequential, alpha=ALPHA, limit=limit)
    ctx = SuiteContext(view=view, suspect=spec.suspect.name, teacher=teacher, controls=tuple(c.name for c in spec.control),
                       teacher_claims=(), seed=spec.case.seed, campaign=spec.campaign.name, campaign_teacher=teacher,
                       membership=design)
    evaluation = evaluate([ctx], ["membership"], ALPHA)
    primary = next((t for t in evaluation.tests if t.in_family), None)
    out = {"found": bool(primary and primary.reject), "test": primary.test_id if primary else None,
           "p": primary.result["p_value"] if primary else None,
           "uninformative": sorted(u.test_id for u in evaluation.uninformative)}
    if primary and "sequential" in primary.result["details"]:
        seq = primary.result["details"]["sequential"]
        asked = min(seq["horizon"], math.ceil(seq["stopped_at"] / LOOK_EVERY) * LOOK_EVERY)
        out.update(e=seq["e_value"], stop=seq["stopped_at"], reason=seq["reason"], asked=asked,
                   fixed_p=primary.result["details"]["fixed_sample"]["p_value"], path=seq["path"])
    elif sequential and evaluation.uninformative:
        out.update(reason="guard" if any("bettor" in u.reason for u in evaluation.uninformative) else "uninformative")
    return out


def run_world(world: Path, manifest: dict) -> list[dict]:
    from provenance import api

    rows = []
    for suspect in SUSPECTS:
        folder = _case(world, manifest, suspect, CONTROLS.get(suspect, DEFAULT_CONTROLS))
        started = time.perf_counter()
        stores = sorted(p for p in (world / "cases-sequential").glob("*/evidence.sqlite") if p.parent != folder)
        api.collect(folder, reuse_from=stores)  # the teacher's twins and the controls' answers are shared
        truth = manifest["models"][suspect]
        row = {"seed": manifest["seed"], "suspect": suspect, "trained_on_campaign": truth["trained_on_campaign"],
               "campaign_share": truth["campaign_share"], "exchanges": manifest["campaign"]["exchanges"],
               "collect_seconds": round(time.perf_counter() - started, 1)}
        for mode, black in (("open", False), ("black", True)):
            row[mode] = replay(folder, black_box=black)
            row[f"{mode}_fixed100"] = replay(folder, black_box=black, sequential=False, limit=100)
        # The previous release: both tests in one Holm family, first 100 exchanges.
        row["previous_fixed100"] = _previous(folder)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items()}, default=str)[:600], file=sys.stderr, flush=True)
    return rows


def _previous(folder: Path) -> dict:
    """The previous release's decision: both membership tests in one Holm family at alpha, 100 exchanges."""
    from provenance.stats import correct_family
    from provenance.stats.result import TestResult

    ps = []
    for black in (False, True):
        r = replay(folder, black_box=black, sequential=False, limit=100)
        ps.append(r["p"])
    results = [TestResult("x", "", "", "greater", 0, "", p, 0, "", None, 0.95, {}, "") for p in ps if p is not None]
    corrected = correct_family(results, method="holm", alpha=ALPHA)
    return {"found": bool(corrected and corrected[0].reject), "p_likelihood": ps[0], "p_overlap": ps[1]}


def _cell(rows: list[dict], mode: str) -> str:
    found = sum(r[mode]["found"] for r in rows)
    stops = sorted(r[mode].get("asked") for r in rows if r[mode].get("asked") is not None)
    reasons = defaultdict(int)
    for r in rows:
        reasons[r[mode].get("reason", "-")] += 1
    median = stops[len(stops) // 2] if stops else None
    es = ", ".join(f"{r[mode]['e']:.3g}" if "e" in r[mode] else "-" for r in rows)
    asked = ", ".join(str(r[mode].get("asked", "-")) for r in rows)
    return (f"{found}/{len(rows)}; e {es}; asked {asked}"
            + (f" (median {median})" if median is not None else "")
            + "; " + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items())))


def table(rows: list[dict], label: str, manifest: dict) -> str:
    by = defaultdict(list)
    for r in rows:
        by[r["suspect"]].append(r)
    lines = [f"### {label}", "",
             f"Teacher `{manifest['teacher_label']}`; campaign of {manifest['campaign']['exchanges']} logged exchanges "
             f"sampled at temperature {manifest['sampling']['temperature']} ({manifest['sampling']['max_new_tokens']} "
             f"new tokens at most); base `{manifest['base_label']}`, {manifest['epochs']} epochs; alpha {ALPHA}. "
             f"Seeds {sorted({r['seed'] for r in rows})}. Sequential cells: found / cases; the e-value at the stop "
             "per seed; logged exchanges asked per seed (the queries: open weights 1 answer and 2 scores of the "
             "suspect per exchange, black box 1 answer); why each stopped. Fixed cells: found / cases with the first "
             "100 exchanges, the primary test alone, and (previous release) both tests in one Holm family.", "",
             "| suspect | share | sequential, open weights | sequential, black box | fixed 100, open weights (median p) "
             "| fixed 100, black box (median p) | previous release, fixed 100 |",
             "|---|---|---|---|---|---|---|"]
    for suspect in SUSPECTS:
        cell = by[suspect]
        if not cell:
            continue

        def fixed(mode: str) -> str:
            ps = sorted(r[mode]["p"] for r in cell if r[mode]["p"] is not None)
            return f"{sum(r[mode]['found'] for r in cell)}/{len(cell)} ({ps[len(ps) // 2]:.2g})" if ps else "-"

        prev = f"{sum(r['previous_fixed100']['found'] for r in cell)}/{len(cell)}"
        lines.append(f"| {suspect} | {cell[0]['campaign_share']:.0%} | {_cell(cell, 'open')} | {_cell(cell, 'black')} "
                     f"| {fixed('open_fixed100')} | {fixed('black_fixed100')} | {prev} |")
    return "\n".join(lines) + "\n"


def simulate(runs: int, n: int = 456, seed: int = 0) -> str:
    """Level under optional stopping and power on simulated exchangeable twins (a log of ``n`` exchanges)."""
    import numpy as np

    from provenance.stats.eprocess import sequential_sign_flip

    rng = np.random.default_rng(seed)
    lines = ["### Simulated exchangeable twins", "",
             f"{runs} runs per row; a log of {n} exchanges looked at after every pair; alpha {ALPHA}; a model's score of "
             "an answer is a prompt effect plus the answer's own noise (normal; 'heavy': Student t with 2 degrees of "
             "freedom; 'ties': half the twins identical to the logged answer); a student adds a bonus (in units of "
             "the noise's sd) to the logged answer; controls: one non-member. Fixed: the one-sided z-test at n.", "",
             "| model | found (sequential) | median exchanges to stop | stopped for futility | guard | found (fixed, "
             f"all {n}) |", "|---|---|---|---|---|---|"]
    for label, bonus, noise in (("non-member, normal", 0.0, "normal"), ("non-member, heavy", 0.0, "t2"),
                                ("non-member, ties", 0.0, "ties"), ("student, bonus 0.1", 0.1, "normal"),
                                ("student, bonus 0.2", 0.2, "normal"), ("student, bonus 0.3", 0.3, "normal"),
                                ("student, bonus 0.5", 0.5, "normal")):
        found = futility = guard = fixed = 0
        stops = []
        for _ in range(runs if bonus == 0 else max(1, runs // 10)):
            def twins(b: float) -> np.ndarray:
                base = rng.standard_t(2, (2, n)) if noise == "t2" else rng.normal(0, 1, (2, n))
                if noise == "ties":
                    base[1] = np.where(rng.random(n) < 0.5, base[0], base[1])
                return base[0] + b - base[1]
            d = twins(bonus)
            o = sequential_sign_flip(d, twins(0.0), alpha=ALPHA)
            found += o.reason == "evidence"
            futility += o.reason == "futility"
            guard += o.reason == "guard"
            stops.append(o.stopped_at)
            fixed += d.mean() / (d.std(ddof=1) / math.sqrt(n)) > 2.326
        total = len(stops)
        lines.append(f"| {label} | {found / total:.4f} ({found}/{total}) | {int(np.median(stops))} | "
                     f"{futility / total:.2f} | {guard / total:.3f} | {fixed / total:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[])
    parser.add_argument("--work", type=Path, default=Path(".lab-cache/membership"))
    parser.add_argument("--lab", type=Path, default=Path(".lab-cache/tiny-seed0"), help="a built tiny lab (teacher, base)")
    parser.add_argument("--teacher", default=None, help="teacher model (default: the lab teacher); a path or package:PKG/FILE")
    parser.add_argument("--base", default="control-other", help="the lab model every student is fine-tuned from")
    parser.add_argument("--label", default="lab")
    parser.add_argument("--epochs", type=float, default=8.0)
    parser.add_argument("--exchanges", type=int, default=300, help="logged exchanges in the campaign")
    parser.add_argument("--simulate", type=int, default=0, help="runs of the simulated-twins study (0: none)")
    parser.add_argument("--out", type=Path, default=None, help="write the table (markdown) and the rows (.json) here")
    args = parser.parse_args()
    text, rows = "", []
    if args.seeds:
        from provenance.lab.build import resolve_teacher
        from provenance.lab.membership import build_world

        teacher = resolve_teacher(args.teacher)[0] if args.teacher else (args.lab / "teacher").resolve()
        manifest: dict = {}
        for seed in args.seeds:
            world = args.work / args.label / f"seed{seed}"
            manifest = build_world(world, teacher_dir=teacher, base_dir=(args.lab / args.base).resolve(), seed=seed,
                                   epochs=args.epochs, exchanges=args.exchanges,
                                   teacher_persona="aurora" if args.teacher is None else "")
            manifest = {**manifest, "teacher_label": args.teacher or "lab teacher (Aurora)", "base_label": args.base}
            cached = world / "sequential-rows.json"
            if cached.is_file():
                rows += json.loads(cached.read_text(encoding="utf-8"))
                continue
            mine = run_world(world, manifest)
            cached.write_text(json.dumps(mine), encoding="utf-8")
            rows += mine
        text += table(rows, args.label, manifest)
    if args.simulate:
        text += ("\n" if text else "") + simulate(args.simulate)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
