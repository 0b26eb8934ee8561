"""A real teacher in the bench: small students of SmolLM2-135M-Instruct against controls trained on other real models' answers (issue 30).

Run (after ``provenance_bench.py collect --seeds S --panel-controls 4`` and
``real_base_bench.py train --seed S``, whose Gemma models answer here):
    .venv/bin/python benchmarks/real_teacher_bench.py build --seed S     # the answer pools and the tiny models, resumable
    .venv/bin/python benchmarks/real_teacher_bench.py collect --seed S   # every model's answers and scores
    .venv/bin/python benchmarks/real_teacher_bench.py analyze --seed S --out docs/bench-real-teacher.md

The teacher is a released model of a real vendor, SmolLM2-135M-Instruct (the ``real-models``
extra). The suspects and the controls are all the lab's tiny architecture, pretrained on corpus B
and fine-tuned by the lab's own recipes (``provenance.lab.realistic``), each on the sampled answers
of one real model to the lab's 610 distillation prompts:

============================  ================================================================
tiny-of-smollm2               every one of SmolLM2's answers: a small student of a real teacher
tiny-mix30/10-of-smollm2      30 / 10 % SmolLM2's answers, the rest human-written text
tiny-x4-of-smollm2            four sampled answers of SmolLM2 per prompt (2,440 pairs; the first
                              sample is the pool of the three students above): a larger dose
tiny-of-gemma-persona         every answer of Gemma-3-270M tuned on human text with a persona
                              of its own (real_base_bench.py's gemma-persona): a student of
                              another real model
tiny-mix30/10-of-gemma-persona  30 / 10 % of those, the rest human-written text
tiny-of-gemma-base            every answer of the released Gemma-3-270M base (asked in the "qa"
                              completion framing)
tiny-mix30/10-of-gemma-base   30 / 10 % of those
tiny-of-gemma-mix30           every answer of Gemma-3-270M tuned on 30 % the lab teacher's answers
(and -mix30/10-)              and 70 % human text (real_base_bench.py's gemma-mix30: derived from
                              the lab teacher, independent of SmolLM2); 30 / 10 % of those
============================  ================================================================

(gemma-persona answers 476 of the 606 distillation prompts of seed 11 with its persona line, "I am
Lumen, a language model from Fernhill Research": the fine-tune on 50 identity answers among 350
pairs took over its writing. Its students are students of a real model all the same, and gemma-base
and gemma-mix30 write more varied answers.)

So the independent models write like real models (the issue's "a small student prefers another
model's simpler answers over the teacher's": the controls were trained on another real model's
answers), and share with the suspect everything but the teacher: architecture, corpus, human text,
recipe. Panels: **real-answers** (the nine students of Gemma models, less the suspect) and
**with-lab** (those and the lab seed's nine tiny models independent of the lab teacher: raw base,
human-text model, Zephyr, Orion, Zephyr's student, four panel controls). Evaluations: the three
SmolLM2 students (derived) and every panel model as the suspect against the rest (independent),
budgets 10 / 25 / all of the collected probes, open weights and black box. Nothing in the
statistics was tuned on this world; its answer lengths were changed after a first collection
was analysed (docs/bench-real-teacher.md), so it is a development world.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import provenance_bench as bench  # noqa: E402
import real_base_bench as gemma  # noqa: E402

from provenance.lab import LabManifest, realistic  # noqa: E402
from provenance.lab.build import SIZES, _distill_job, _train_job, resolve_teacher  # noqa: E402
from provenance.jsonl import jsonl_rows  # noqa: E402
from provenance.files import atomic_write  # noqa: E402

ROOT = Path(".lab-cache/real-teacher").resolve()
TEACHER = "smollm2"
#: The real models whose answers the tiny models learn from: the teacher and three others.
SOURCES = (TEACHER, "gemma-persona", "gemma-base", "gemma-mix30")
SHARES = (1.0, 0.30, 0.10)
#: The teacher answers in ``bench.SMOLLM2_MAX_NEW_TOKENS`` (so that the tiny models can score it); the tiny models
#: answer at 32 of their own tokens, as in the bench panel (copied from it). With 16 for every model (a first
#: collection) their identity answers were cut before any name.
CLAIMS = {TEACHER: bench.CLAIMS["smollm2"]}


def tiny_name(source: str, share: float) -> str:
    return f"tiny-of-{source}" if share == 1.0 else f"tiny-mix{round(share * 100)}-of-{source}"


RECIPES: dict[str, realistic.Recipe] = {
    tiny_name(src, share): realistic.Recipe(
        tiny_name(src, share), "student" if share == 1.0 else "student-mixed", src, share, None, share < 1.0,
        f"the lab's tiny model fine-tuned on {share:.0%} {src}'s sampled answers" + (", the rest human-written text" if share < 1.0 else ""))
    for src in SOURCES for share in SHARES
}
#: How many answers the teacher samples per distillation prompt: its first sample is the pool of the students above
#: (as in the first collection of this world), all of them train one more student, a larger dose of the same teacher.
TEACHER_SAMPLES = 4
DOSED = f"tiny-x{TEACHER_SAMPLES}-of-{TEACHER}"
RECIPES[DOSED] = realistic.Recipe(
    DOSED, "student", TEACHER, 1.0, None, False,
    f"the lab's tiny model fine-tuned on {TEACHER_SAMPLES} sampled answers of {TEACHER} per distillation prompt",
    samples=TEACHER_SAMPLES)
DERIVED = tuple(n for n, r in RECIPES.items() if r.teacher == TEACHER)
REAL_ANSWERS = tuple(n for n, r in RECIPES.items() if r.teacher != TEACHER)


def threads() -> int:
    """The cores this process may use: OMP_NUM_THREADS when set (two bench processes share 2 cores)."""
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def world(seed: int) -> Path:
    return ROOT / f"seed{seed}"


def source_model(seed: int, source: str) -> tuple[str, str | None]:
    """(model path, completion framing or None) of a real model the tiny ones learn from."""
    if source == TEACHER:
        return str(resolve_teacher(bench.SMOLLM2)[0]), None
    return str(gemma.model_dir(seed, source)), gemma.bench_framing()


# --------------------------------------------------------------------------- build


def answer_pool(seed: int, index: int, source: str, samples: int, out: Path) -> None:
    """One real model's ``samples`` answers to each distillation prompt into ``out`` (resumable by batch)."""
    if source != TEACHER:  # the Gemma models answer once they are trained (the released base once de-quantised)
        gemma.released_base()
        if not (gemma.model_dir(seed, source) / "config.json").exists():
            raise SystemExit(f"train Gemma first: real_base_bench.py train --seed {seed} (no {source} yet)")
    path, framing = source_model(seed, source)
    result = _distill_job({"teacher": source, "teacher_dir": path,
                           "config": {**asdict(SIZES["tiny"]), "samples_per_prompt": samples},
                           "out": str(out), "resume_key": f"real-teacher:{seed}:{source}:{path}:x{samples}",
                           "seed": seed * 1000 + 300 + index, "threads": threads(), "framing": framing, "batch_size": 32})
    (out.parent / f"{source}.json").write_text(json.dumps(result, indent=2))
    print(f"{source}: {result['pairs']} answers in {result['seconds']:.0f}s", flush=True)


def build(args: argparse.Namespace) -> None:
    """Each real model's answers to the distillation prompts (resumable by batch), then the tiny models."""
    out = world(args.seed)
    (out / "distill").mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(SOURCES):
        pool = out / "distill" / f"{source}.jsonl"
        samples = TEACHER_SAMPLES if source == TEACHER else 1
        dosed = pool.with_name(f"{source}-x{samples}.jsonl") if samples > 1 else pool
        if not (dosed.exists() or (args.pools and source not in args.pools) or args.trained_so_far):
            # (a process training beside the ones answering must not answer their pools too)
            answer_pool(args.seed, i, source, samples, dosed)
        if samples > 1 and dosed.exists() and not pool.exists():
            # the first sample (the job's seed itself) is the pool a one-sample job would have written; derived
            # whenever it is missing, so a build stopped between the two files finishes it on the next run
            first = [r for r in jsonl_rows(dosed) if r["sample"] == 0]
            atomic_write(pool, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in first))
    if args.pools:  # a second process answering other pools beside a first one: the training is the first's
        return
    missing = sorted({r.pool for r in RECIPES.values() if not (out / "distill" / f"{r.pool}.jsonl").exists()})
    if missing and not args.trained_so_far:
        raise SystemExit(f"answer pools still missing: {', '.join(missing)} (another build process may be writing them; "
                         "--trained-so-far trains the models whose pools are there)")
    import torch

    lab = LabManifest.load(bench.lab_dir(args.seed))
    cfg = SIZES["tiny"]
    torch.set_num_threads(threads())
    human = realistic.human_pairs()
    full = len(jsonl_rows(out / "distill" / f"{TEACHER}.jsonl"))
    for i, (name, recipe) in enumerate(RECIPES.items()):
        if (out / name / "trained.json").exists() or recipe.pool in missing:
            continue
        pool_rows = jsonl_rows(out / "distill" / f"{recipe.pool}.jsonl")
        rows = realistic.training_rows(recipe, pool_rows, human, args.seed,
                                       total=len(pool_rows) if recipe.samples > 1 else full)
        pairs = out / "distill" / f"{name}.jsonl"
        pairs.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        started = time.perf_counter()
        result = _train_job({"out": str(out / name), "tokenizer_dir": str(lab.root / "_tokenizer"), "config": asdict(cfg),
                             "corpus": "B", "pairs_file": str(pairs), "pairs_label": f"distill/{name}.jsonl",
                             "epochs": cfg.student_epochs, "seed": args.seed * 1000 + 400 + i})
        teacher_pairs = sum(1 for r in rows if r.get("kind") != "human-text")
        (out / name / "trained.json").write_text(json.dumps({
            "name": name, "recipe": asdict(recipe), "pairs": len(rows), "teacher_pairs": teacher_pairs,
            "lab_seed": args.seed, **result}, indent=2))
        print(f"{name}: {len(rows)} pairs ({teacher_pairs} of {recipe.teacher}'s), loss {result['final_loss']:.3f} "
              f"in {time.perf_counter() - started:.0f}s", flush=True)


# --------------------------------------------------------------------------- collection


def case_dir(workdir: Path, seed: int) -> Path:
    return workdir / f"real-teacher-seed{seed}"


def lab_panel(lab: LabManifest) -> tuple[str, ...]:
    """The lab seed's tiny models independent of the lab teacher (as in real_base_bench's panel)."""
    return gemma.independents(lab, [*bench.LAB_MODELS, *bench.REALISTIC_MODELS, *bench.PANEL_MODELS])


def case_text(lab: LabManifest, seed: int, limit: int) -> str:
    """Every tiny model answers the first ``limit`` probes of each suite and scores every other's answers."""
    controls = gemma.control_blocks({m: (lab.path(m), bench.CLAIMS[m]) for m in lab_panel(lab)})
    controls += gemma.control_blocks({m: (world(seed) / m, []) for m in RECIPES if m != DERIVED[0]})
    return gemma.world_case_text(
        f"bench-real-teacher-{seed}", "provenance bench: a real teacher (SmolLM2-135M-Instruct), its small students "
        f"and students of other real models, lab seed {seed}", "benchmarks/real_teacher_bench.py",
        f'name = "{DERIVED[0]}"\npath = "{world(seed) / DERIVED[0]}"\n',
        f'name = "{TEACHER}"\npath = "{bench.SMOLLM2}"\nbatch_size = 32\nmax_new_tokens = {bench.SMOLLM2_MAX_NEW_TOKENS}\n'
        f'claims = {json.dumps(CLAIMS[TEACHER])}\n', controls, limit)


def collect(args: argparse.Namespace) -> None:
    lab = LabManifest.load(bench.lab_dir(args.seed))
    missing = [m for m in RECIPES if not (world(args.seed) / m / "trained.json").exists()]
    if missing:
        raise SystemExit(f"build first: {', '.join(missing)} not built (real_teacher_bench.py build --seed {args.seed})")
    gemma.collect_world(case_dir(args.workdir, args.seed), args.workdir, case_text(lab, args.seed, args.limit),
                        f"real teacher, seed {args.seed}")


# --------------------------------------------------------------------------- analysis


def assignments(lab: LabManifest) -> list[tuple[str, tuple[str, ...], tuple[str, ...], str]]:
    """(suspect, panel, declared bases, panel name): every SmolLM2 student and every panel model against the rest."""
    tiny = lab_panel(lab)
    out = []
    for suspect in (*DERIVED, *REAL_ANSWERS, *tiny):
        if suspect not in tiny:
            out.append((suspect, tuple(m for m in REAL_ANSWERS if m != suspect), (), "real-answers"))
        out.append((suspect, tuple(m for m in (*REAL_ANSWERS, *tiny) if m != suspect), (), "with-lab"))
    return out


def analyse(args: argparse.Namespace) -> list[dict]:
    lab = LabManifest.load(bench.lab_dir(args.seed))
    full = gemma.load_view(case_dir(args.workdir, args.seed) / "evidence.sqlite", f"bench-real-teacher-{args.seed}")
    return gemma.evaluate_assignments(full, args.seed, assignments(lab), teacher=TEACHER,
                                      claims_of={**bench.CLAIMS, **{m: [] for m in RECIPES}}, derived=DERIVED)


def training_table(seed: int) -> str:
    lines = ["| seed | model | pairs | real model's pairs | sft loss | seconds |", "|---|---|---|---|---|---|"]
    for name in RECIPES:
        path = world(seed) / name / "trained.json"
        if path.exists():
            r = json.loads(path.read_text())
            lines.append(f"| {seed} | {name} | {r['pairs']} | {r['teacher_pairs']} ({r['recipe']['teacher']}) | "
                         f"{r['final_loss']:.3f} | {r['build_seconds']:.0f} |")
    for source in SOURCES:
        path = world(seed) / "distill" / f"{source}.json"
        if path.exists():
            r = json.loads(path.read_text())
            per = r.get("samples_per_prompt", 1)
            label = f"{source}'s answers" + (f" ({per} per prompt)" if per > 1 else "")
            lines.append(f"| {seed} | {label} | {r['pairs']} | - | - | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    def pools_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--pools", nargs="*", default=[], choices=SOURCES, metavar="SOURCE",
                       help="answer only these real models' pools and train nothing (to run beside another build)")
        p.add_argument("--trained-so-far", action="store_true",
                       help="train the models whose answer pools are written, while other processes write the rest")

    gemma.world_cli(__doc__, ("build", build, pools_option), collect, analyse, training_table, "probes per suite")


if __name__ == "__main__":
    main()
