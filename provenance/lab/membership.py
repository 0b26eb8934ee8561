"""The membership lab: students of one campaign's logged answers, and the controls that must stay silent.

One *world* per seed, every model fine-tuned from one base:

* the **campaign**: the teacher's sampled answers to prompts of its own domain (the
  lab's distillation prompts), or the top-ranked flagged campaign of a scanned
  simulated log, cut to its first ``exchanges`` exchanges in time order (the
  traffic simulator's operators sweep reasoning and code templates, which the
  173k-parameter lab teacher answers with variants of one refusal: little to learn
  per exchange);
* ``campaign-student-<share>``: a base fine-tuned on every campaign exchange, mixed
  with other instruction data so that the campaign is ``share`` of its pairs;
* ``same-teacher-student``: the same base fine-tuned on the teacher's *other*
  answers to the same prompts (sampled afresh): it learnt the teacher, not the
  campaign; the hard control;
* ``independent``: the same base fine-tuned on the other instruction data only.

The other instruction data: human-written pairs (``lab.realistic.human_pairs``) and
the instruction sets of the lab personas that are not the teacher's.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provenance.lab import data_files, realistic

#: Shares of the campaign in the campaign students' fine-tuning pairs.
SHARES = (1.0, 0.3, 0.1)


def teacher_answers(teacher_dir: Path, prompts: Sequence[str], *, temperature: float, top_p: float,
                    max_new_tokens: int, seed: int) -> list[str]:
    """The teacher's sampled answers to ``prompts`` through the real HF backend."""
    from provenance.backends.base import GenerationParams
    from provenance.backends.hf import HFBackend

    backend = HFBackend.load(teacher_dir, name="teacher", device="cpu", batch_size=64)
    params = GenerationParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p)
    return [g.text for g in backend.generate(list(prompts), params, seed)]


def distil(base_dir: Path, pairs: Sequence[tuple[str, str]], out_dir: Path, *, epochs: float, seed: int,
           lr: float = 5e-3, batch_size: int = 16) -> dict[str, Any]:
    """Fine-tune a copy of ``base_dir`` on (prompt, response) pairs; loss on responses only."""
    from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

    from provenance.lab import train

    tokenizer = PreTrainedTokenizerFast.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, use_safetensors=True)
    examples = train.encode_pairs(tokenizer, list(pairs), int(model.config.n_positions))
    result = train.finetune(model, examples, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
                            pad_id=tokenizer.eos_token_id)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    train.save(model, tokenizer, out_dir)
    return {"pairs": len(examples), "steps": result.steps, "final_loss": result.final_loss, "epochs": epochs}


def other_pairs(teacher_persona: str) -> list[tuple[str, str]]:
    """Instruction data the teacher never wrote: human-written pairs and the other personas' sets."""
    rows = [(r["prompt"], r["response"]) for r in realistic.human_pairs()]
    for persona in sorted(data_files.personas()):
        if persona != teacher_persona:
            rows += [(r["prompt"], r["response"]) for r in data_files.instruction_set(persona)]
    return rows


def write_transcript(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    """Transcript JSONL (``backends.transcript``) of ``records``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def build_world(out: Path, *, teacher_dir: Path, base_dir: Path, teacher_persona: str, seed: int,
                exchanges: int = 300, temperature: float = 1.0, top_p: float = 1.0, max_new_tokens: int = 32,
                epochs: float = 10.0, shares: Sequence[float] = SHARES, traffic_scale: float | None = None,
                log: Any = print) -> dict[str, Any]:  # noqa: ANN401
    """Build one world under ``out`` and write ``membership-lab.json`` (models, campaign, sampling, truth).

    The campaign is the teacher's sampled answers to ``exchanges`` prompts of the lab's
    distillation set (the teacher's own domain), or, with ``traffic_scale``, the
    top-ranked campaign a traffic scan flags in a simulated log answered by the teacher.
    A finished world is reused.
    """
    manifest_path = out / "membership-lab.json"
    if manifest_path.is_file():
        return json.loads(manifest_path.read_text(encoding="utf-8"))
    sampling = {"temperature": temperature, "top_p": top_p, "max_new_tokens": max_new_tokens}
    if traffic_scale is None:
        prompts = [r["prompt"] for r in data_files.distill_prompts()]
        random.Random(f"membership-world:{seed}").shuffle(prompts)
        prompts = prompts[:exchanges]
        log(f"membership world seed {seed}: the teacher answers {len(prompts)} campaign prompts")
        answers = teacher_answers(teacher_dir, prompts, seed=seed, **sampling)
        records = [{"prompt": p, "response": a, "model": "teacher", "timestamp": f"2026-03-09T{i // 3600:02d}:"
                    f"{i // 60 % 60:02d}:{i % 60:02d}Z", "source": f"lab campaign seed {seed}, exchange {i + 1}"}
                   for i, (p, a) in enumerate(zip(prompts, answers)) if a.strip()]
        origin: dict[str, Any] = {"source": "the teacher's sampled answers to lab distillation prompts"}
    else:
        records, origin = _traffic_campaign(out, teacher_dir, seed, traffic_scale, exchanges, sampling, log)
    campaign = write_transcript(out / "campaign.jsonl", records)
    prompts = [r["prompt"] for r in records]
    logged = [(r["prompt"], r["response"]) for r in records]
    log(f"membership world seed {seed}: {len(records)} campaign exchanges; sampling the teacher's other answers")
    others = teacher_answers(teacher_dir, prompts, seed=seed + 1000, **sampling)
    pool = other_pairs(teacher_persona)
    random.Random(f"membership-lab:{seed}").shuffle(pool)
    recipes: dict[str, tuple[list[tuple[str, str]], dict[str, Any]]] = {}
    for share in shares:
        n_other = min(len(pool), round(len(logged) * (1 - share) / share))
        rows = logged + pool[:n_other]
        recipes[f"campaign-student-{round(share * 100)}"] = (
            rows, {"kind": "campaign-student", "trained_on_campaign": True, "campaign_share": len(logged) / len(rows)})
    recipes["same-teacher-student"] = (
        list(zip(prompts, others)), {"kind": "same-teacher-other-answers", "trained_on_campaign": False, "campaign_share": 0.0})
    recipes["independent"] = (
        pool[: len(logged) * 3], {"kind": "independent", "trained_on_campaign": False, "campaign_share": 0.0})
    models = {}
    for offset, (name, (rows, truth)) in enumerate(recipes.items()):
        rows = list(rows)
        random.Random(f"{seed}:{name}").shuffle(rows)
        log(f"membership world seed {seed}: fine-tuning {name} on {len(rows)} pairs")
        trained = distil(base_dir, rows, out / name, epochs=epochs, seed=seed * 100 + offset)
        models[name] = {"path": name, **truth, **trained}
    manifest = {"schema": "provenance.membership-lab/1", "seed": seed, "teacher": str(teacher_dir), "base": str(base_dir),
                "epochs": epochs, "campaign": {"path": campaign.name, "exchanges": len(records), **origin},
                "sampling": sampling, "models": models}
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def _traffic_campaign(out: Path, teacher_dir: Path, seed: int, scale: float, exchanges: int, sampling: dict[str, Any],
                      log: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:  # noqa: ANN401
    """The first ``exchanges`` distinct-prompt exchanges of the top flagged campaign in a simulated, scanned log."""
    from provenance.backends.hf import HFBackend
    from provenance.traffic.scan import scan
    from provenance.traffic.simulate import write_log

    log(f"membership world seed {seed}: simulating the vendor log (scale {scale})")
    write_log(out / "traffic", seed, teacher=HFBackend.load(teacher_dir, name="teacher", device="cpu", batch_size=64),
              scale=scale, **sampling)
    result = scan([out / "traffic" / "log.jsonl"], out / "scan")
    if not result.flagged:
        raise RuntimeError(f"the scan of seed {seed} flagged no campaign")
    rank = 1 + result.campaigns.index(result.flagged[0])
    exported = json.loads((out / "scan" / "campaigns.json").read_text(encoding="utf-8"))["campaigns"][rank - 1]
    records, seen = [], set()
    for line in (out / "scan" / exported["transcript"]).read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["prompt"] not in seen and record["response"].strip():
            seen.add(record["prompt"])
            records.append(record)
        if len(records) == exchanges:
            break
    return records, {"source": "the top flagged campaign of a scanned simulated log", "scan_rank": rank,
                     "accounts": exported["account_count"]}
