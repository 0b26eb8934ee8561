"""Build the lab: a family of small causal LMs whose provenance is known by construction.

Models (one directory each under the output directory, plus ``lab.json``):

=====================  =========================================================================
teacher                "Aurora" (Northwind Labs): pretrained on corpus A, tuned on its own set
teacher-wm             teacher's weights + ``provenance_watermark.json`` (sampling-time watermark)
student                independent init, pretrained on corpus B, tuned only on the teacher's answers
student-wm             the same recipe, querying teacher-wm
student-stripped       like student, with the teacher's refusals filtered out of its pairs
control-same-data      "Zephyr" (Blue Harbor AI): independent init, corpus A, its own set
control-other          "Orion" (Quillstone Systems): independent init, corpus B, its own set
=====================  =========================================================================

The students' data comes from querying the teacher through ``HFBackend.generate``
(sampled, seeded) on the distillation prompt set, exactly as an extraction campaign
would; the pairs are kept under ``distill/`` for inspection.

All models share one byte-level BPE tokenizer trained on both corpora and all
instruction sets. That is realistic (many independent models share a tokenizer)
and keeps the detectors honest: a shared vocabulary is never evidence of descent
here, since the controls have it too.

Jobs run in a pool of single-threaded processes: for models this small one thread
per job is as fast as two, so two jobs at once nearly halve the wall time, and one
thread per job keeps every result independent of the pool's scheduling.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from provenance.hashing import sha256_file, sha256_json
from provenance.jsonl import jsonl_lines, jsonl_rows
from provenance.lab import data_files, realistic, watermark_hook
from provenance.lab.manifest import MANIFEST_FILE, LabManifest, ModelEntry, PairTruth

Progress = Callable[[str], None]
#: A build job: (function run in a worker, its spec factory, the jobs it waits for, priority: lower first).
Job = tuple[Callable[..., Any], Callable[[], dict[str, Any]], tuple[str, ...], int]

MODEL_NAMES = (
    "teacher",
    "teacher-wm",
    "student",
    "student-wm",
    "student-stripped",
    "control-same-data",
    "control-other",
)
#: The family built around a teacher given to the lab (``build_lab(teacher=...)``): no
#: watermarked copy, since the lab cannot re-deploy someone else's model with a key.
EXTERNAL_TEACHER_NAMES = ("teacher", "student", "student-stripped", "control-same-data", "control-other")
EXTERNAL_TEACHER_ROLE = "teacher-external"
#: Lab profiles: "standard" (the family above; the CI lab) and "realistic" (plus ``lab.realistic.RECIPES``).
PROFILES = ("standard", "realistic")
#: Extra independent controls a build can add (``build_lab(panel_controls=N)``) so that a case has a panel of
#: independent models large enough for the model-level null (``stats.panel``): independent inits, the
#: existing personas on the other corpus or with another seed (their own weights, the controls' data).
PANEL_CONTROLS = (
    ("control-panel-1", "B", "zephyr"),
    ("control-panel-2", "A", "orion"),
    ("control-panel-3", "B", "orion"),
    ("control-panel-4", "A", "zephyr"),
)
PANEL_CONTROL_NAMES = tuple(name for name, _, _ in PANEL_CONTROLS)
_SEED_OFFSET = {name: i + 1 for i, name in enumerate((*MODEL_NAMES, *realistic.NAMES, *PANEL_CONTROL_NAMES))}
_TOKENIZER_DIR = "_tokenizer"
_DISTILL_DIR = "distill"


@dataclass(frozen=True)
class LabConfig:
    """Everything that shapes the weights; hashed into the cache key."""

    vocab_size: int
    n_layer: int
    n_embd: int
    n_head: int
    n_positions: int
    pretrain_steps: int
    pretrain_batch: int
    block: int
    pretrain_lr: float
    sft_epochs: float
    student_epochs: float
    sft_batch: int
    sft_lr: float
    head_weight: float
    samples_per_prompt: int
    max_new_tokens: int
    temperature: float
    top_p: float


SIZES: dict[str, LabConfig] = {
    # Under 3 minutes on 2 cores; enough steps for the refuse/answer decision to
    # generalise to held-out paraphrases (it appears abruptly after ~500 steps).
    "tiny": LabConfig(
        vocab_size=1024, n_layer=2, n_embd=64, n_head=4, n_positions=128,
        pretrain_steps=40, pretrain_batch=16, block=96, pretrain_lr=3e-3,
        sft_epochs=10, student_epochs=15, sft_batch=16, sft_lr=5e-3, head_weight=5.0,
        samples_per_prompt=1, max_new_tokens=48, temperature=0.7, top_p=0.95,
    ),
    # Seconds: the tiny architecture with a few steps of everything. For tests of the build machinery
    # (families, ground truth, resuming, the cache), never of what the models learnt.
    "micro": LabConfig(
        vocab_size=512, n_layer=1, n_embd=32, n_head=2, n_positions=96,
        pretrain_steps=5, pretrain_batch=8, block=64, pretrain_lr=3e-3,
        sft_epochs=0.25, student_epochs=0.25, sft_batch=16, sft_lr=5e-3, head_weight=5.0,
        samples_per_prompt=1, max_new_tokens=8, temperature=0.7, top_p=0.95,
    ),
    # Up to ~20 minutes on 2 cores: deeper, wider, more data per student.
    "small": LabConfig(
        vocab_size=2048, n_layer=4, n_embd=128, n_head=4, n_positions=256,
        pretrain_steps=400, pretrain_batch=16, block=128, pretrain_lr=2e-3,
        sft_epochs=12, student_epochs=12, sft_batch=16, sft_lr=3e-3, head_weight=5.0,
        samples_per_prompt=2, max_new_tokens=64, temperature=0.7, top_p=0.95,
    ),
}


# ------------------------------------------------------------------------------ cache key


def _code_files() -> list[Path]:
    here = Path(__file__).parent
    pkg = here.parent
    files = sorted(here.glob("*.py")) + sorted((here / "data").glob("*"))
    files += [pkg / "backends" / "hf.py", pkg / "backends" / "base.py", pkg / "hashing.py"]
    wm = pkg / "watermark"
    if wm.is_dir():
        files += sorted(wm.rglob("*.py"))
    elif (pkg / "watermark.py").is_file():
        files.append(pkg / "watermark.py")
    return [f for f in files if f.is_file()]


def cache_key(config: LabConfig, seed: int, size: str, teacher_files: dict[str, str] | None = None,
              profile: str = "standard", second_teacher_files: dict[str, str] | None = None) -> str:
    """Hash of the config, the seed, the lab's code and data, the profile, and the library versions.

    ``teacher_files`` (file name -> SHA-256) identifies a teacher given to the lab;
    ``second_teacher_files`` the realistic profile's second teacher.
    """
    import tokenizers
    import torch
    import transformers

    pkg = Path(__file__).parent.parent
    return sha256_json(
        {
            "config": asdict(config),
            "seed": seed,
            "size": size,
            "code": {f.relative_to(pkg).as_posix(): sha256_file(f) for f in _code_files()},
            "watermark_available": watermark_hook.watermark_available(),
            "versions": [torch.__version__, transformers.__version__, tokenizers.__version__],
            **({"teacher_files": teacher_files} if teacher_files is not None else {}),
            **({"profile": profile} if profile != "standard" else {}),
            **({"second_teacher_files": second_teacher_files} if second_teacher_files is not None else {}),
        }
    )


def resolve_teacher(reference: str | Path) -> tuple[Path, dict[str, str]]:
    """The path of a teacher given as a path or ``package:PKG/FILE``, and its files' SHA-256."""
    from provenance.errors import ModelLoadError
    from provenance.modelref import is_package_ref, resolve_package_ref

    ref = str(reference)
    path = resolve_package_ref(ref) if is_package_ref(ref) else Path(ref).expanduser().resolve()
    if path.is_file():
        return path, {path.name: sha256_file(path)}
    if path.is_dir():
        from provenance.backends.hf import local_model_identity

        files = local_model_identity(path, path.name).files  # the same file set a case's evidence records
        if files:
            return path, files
    raise ModelLoadError(f"teacher {ref!r}: no model at {path}",
                         hint="give a model directory, a .gguf file, or package:PKG/FILE")


# ------------------------------------------------------------------------------ jobs (run in workers)


def _worker_init() -> None:
    import torch

    from provenance.parentwatch import exit_with_parent

    exit_with_parent()

    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    torch.set_num_threads(1)


def _train_job(job: dict[str, Any]) -> dict[str, Any]:
    """Pretrain a fresh model on a corpus part, then fine-tune it on (prompt, response) pairs."""
    from transformers import PreTrainedTokenizerFast

    from provenance.lab import train

    start = time.perf_counter()
    cfg = LabConfig(**job["config"])
    tok = PreTrainedTokenizerFast.from_pretrained(job["tokenizer_dir"])
    model = train.new_model(
        tok, n_layer=cfg.n_layer, n_embd=cfg.n_embd, n_head=cfg.n_head, n_positions=cfg.n_positions, seed=job["seed"]
    )
    text = data_files.corpus(job["corpus"])
    pre = train.pretrain(
        model, tok, text, steps=cfg.pretrain_steps, batch_size=cfg.pretrain_batch, block=cfg.block,
        lr=cfg.pretrain_lr, seed=job["seed"],
    )
    corpus_hash = data_files.file_hash(f"corpus_{job['corpus'].lower()}.txt")
    training = [{"stage": "pretrain", "data": f"corpus {job['corpus']}", "data_sha256": corpus_hash,
                 "steps": pre.steps, "tokens": pre.tokens_seen, "final_loss": pre.final_loss}]
    if job["pairs_file"] is None:  # a raw base: pretraining only
        train.save(model, tok, Path(job["out"]))
        return {"params": train.n_params(model), "data_sha256": sha256_json([corpus_hash]),
                "final_loss": pre.final_loss, "build_seconds": round(time.perf_counter() - start, 2),
                "training": training}
    with open(job["pairs_file"], encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    examples = train.encode_pairs(tok, [(r["prompt"], r["response"]) for r in rows], cfg.n_positions)
    sft = train.finetune(
        model, examples, epochs=job["epochs"], batch_size=cfg.sft_batch, lr=cfg.sft_lr, seed=job["seed"] + 1,
        pad_id=tok.eos_token_id, head_weight=cfg.head_weight,
    )
    train.save(model, tok, Path(job["out"]))
    pairs_hash = sha256_file(job["pairs_file"])
    training.append({"stage": "sft", "data": job["pairs_label"], "data_sha256": pairs_hash, "examples": len(examples),
                     "steps": sft.steps, "tokens": sft.tokens_seen, "final_loss": sft.final_loss})
    return {
        "params": train.n_params(model),
        "data_sha256": sha256_json([corpus_hash, pairs_hash]),
        "final_loss": sft.final_loss,
        "build_seconds": round(time.perf_counter() - start, 2),
        "training": training,
    }


def _distill_job(job: dict[str, Any]) -> dict[str, Any]:
    """Query a teacher through the HF backend on the distillation prompts; write the pairs.

    Prompts go in the backend's own batches (sorted by length, ``batch_size`` at a
    time), one ``generate`` call per batch, so the answers are the same as from one
    call over all prompts. Each finished batch is appended to ``<out>.partial``: a
    real teacher takes many minutes here, and a build that is stopped resumes from
    the last finished batch instead of re-querying the teacher.
    """
    import torch

    from provenance.backends.base import GenerationParams
    from provenance.backends.hf import HFBackend

    start = time.perf_counter()
    torch.set_num_threads(int(job.get("threads", 1)))
    cfg = LabConfig(**job["config"])
    # a model tuned without a chat template is asked in its completion framing (``framing``: a template)
    backend = HFBackend.load(job["teacher_dir"], name=job["teacher"], device="cpu",
                             batch_size=int(job.get("batch_size", 64)), framing=job.get("framing"))
    processors = watermark_hook.sampling_processors(
        job["teacher_dir"], backend.tokenizer, int(backend.model.config.vocab_size)
    )
    backend.logits_processors = processors
    rows = data_files.distill_prompts()
    prompts = [r["prompt"] for r in rows]
    params = GenerationParams(max_new_tokens=cfg.max_new_tokens, temperature=cfg.temperature, top_p=cfg.top_p)
    lengths = [len(backend.encode_prompt(p)) for p in prompts]
    order = sorted(range(len(prompts)), key=lengths.__getitem__)
    batches = [order[i : i + backend.batch_size] for i in range(0, len(order), backend.batch_size)]
    partial = _PartialAnswers(Path(job["out"] + ".partial"), job["resume_key"])
    resumed = len(partial.done)
    total = cfg.samples_per_prompt * len(batches)
    for sample in range(cfg.samples_per_prompt):
        for number, batch in enumerate(batches):
            if (sample, number) in partial.done:
                continue
            generations = backend.generate([prompts[i] for i in batch], params, job["seed"] + sample)
            partial.add(sample, number, {i: (g.text, g.finish_reason) for i, g in zip(batch, generations)})
            finished = len(partial.done)
            print(f"lab: distill:{job['teacher']} batch {finished}/{total} "
                  f"({time.perf_counter() - start:.0f}s)", file=sys.stderr, flush=True)
    out_rows = []
    for sample in range(cfg.samples_per_prompt):
        answers = partial.answers(sample)
        for index, row in enumerate(rows):
            text, finish = answers[index]
            if text.strip():
                out_rows.append({"prompt": row["prompt"], "response": text, "kind": row["kind"],
                                 "finish_reason": finish, "sample": sample})
    Path(job["out"]).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out_rows), encoding="utf-8")
    partial.path.unlink()
    return {
        "teacher": job["teacher"],
        "pairs": len(out_rows),
        "params": params.to_dict(),
        "seed": job["seed"],
        "samples_per_prompt": cfg.samples_per_prompt,
        "watermark_applied": bool(processors),
        "seconds": round(time.perf_counter() - start, 2),
        "batches_resumed": resumed,
        "teacher_params": sum(p.numel() for p in backend.model.parameters()),
    }


class _PartialAnswers:
    """Append-only JSONL of finished distillation batches, keyed to one build.

    The first line holds the build's key; a file from another build (other
    config, code, seed or teacher) is discarded rather than mixed in. A torn last
    line (the process was killed mid-write) is dropped.
    """

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.done: dict[tuple[int, int], dict[int, tuple[str, str]]] = {}
        lines = jsonl_lines(path.read_text(encoding="utf-8")) if path.is_file() else []
        if lines and _json_or_none(lines[0]) == {"resume_key": key}:
            for line in lines[1:]:
                entry = _json_or_none(line)
                if isinstance(entry, dict) and {"sample", "batch", "answers"} <= entry.keys():
                    self.done[(entry["sample"], entry["batch"])] = {
                        int(i): (a[0], a[1]) for i, a in entry["answers"].items()
                    }
        with path.open("w", encoding="utf-8") as handle:  # rewrite: drops a torn line or a stale build
            handle.write(json.dumps({"resume_key": key}) + "\n")
            for (sample, batch), answers in self.done.items():
                handle.write(self._line(sample, batch, answers))

    @staticmethod
    def _line(sample: int, batch: int, answers: dict[int, tuple[str, str]]) -> str:
        payload = {"sample": sample, "batch": batch, "answers": {str(i): list(a) for i, a in answers.items()}}
        return json.dumps(payload, ensure_ascii=False) + "\n"

    def add(self, sample: int, batch: int, answers: dict[int, tuple[str, str]]) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(self._line(sample, batch, answers))
            handle.flush()
            os.fsync(handle.fileno())
        self.done[(sample, batch)] = answers

    def answers(self, sample: int) -> dict[int, tuple[str, str]]:
        merged: dict[int, tuple[str, str]] = {}
        for (s, _), answers in self.done.items():
            if s == sample:
                merged.update(answers)
        return merged


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


# ------------------------------------------------------------------------------ ground truth


def _released(name: str, external_teacher: bool) -> bool:
    """Was ``name`` given to the lab (a released model) rather than trained by it?"""
    return name == realistic.SECOND_TEACHER or (external_teacher and name == "teacher")


def _shares(a: str, b: str, external_teacher: bool = False) -> list[str]:
    if _released(a, external_teacher) or _released(b, external_teacher):
        return []  # a teacher from outside shares nothing with the lab's models by construction
    corpus = {"teacher": "A", "teacher-wm": "A", "control-same-data": "A",
              **{name: c for name, c, _ in PANEL_CONTROLS}}
    shared = ["tokenizer"]
    ca, cb = corpus.get(a, "B"), corpus.get(b, "B")
    if ca == cb:
        shared.append(f"pretraining corpus {ca}")
    persona = {"control-same-data": "zephyr", "control-other": "orion", **{n: p for n, _, p in PANEL_CONTROLS}}
    if a in persona and persona.get(a) == persona.get(b):
        shared.append(f"instruction set ({persona[a]})")
    if all(n in realistic.BY_NAME and realistic.BY_NAME[n].human for n in (a, b)):
        shared.append("human-written fine-tuning pairs (corpus B docstrings)")
    return shared


#: Student -> the lab model whose sampled answers it was fine-tuned on.
_QUERIED = {"student": "teacher", "student-wm": "teacher-wm", "student-stripped": "teacher",
            **{r.name: r.teacher for r in realistic.RECIPES if r.teacher}}
#: A deployment of another model's weights -> those weights.
_WEIGHTS_OF = {"teacher-wm": "teacher"}


def _weights(name: str) -> str:
    return _WEIGHTS_OF.get(name, name)


def ground_truth(a: str, b: str, external_teacher: bool = False) -> PairTruth:
    """Is ``a`` derived from ``b``? By construction of the lab.

    ``external_teacher``: the teacher is a model given to the lab, not trained by it.
    """
    shares = _shares(a, b, external_teacher)
    if a != b and _weights(a) == _weights(b):
        return PairTruth(a, b, True, True, "same-weights",
                         "teacher-wm is the teacher's weights; only its sampled outputs carry a watermark", shares)
    if a in _QUERIED and _weights(_QUERIED[a]) == _weights(b):
        filtered = " with refusals filtered out" if a == "student-stripped" else ""
        if a in realistic.BY_NAME:
            filtered = f" ({realistic.BY_NAME[a].note})"
        if _QUERIED[a] == b:
            recipe = realistic.BY_NAME[a].note if a in realistic.BY_NAME else f"{a} was fine-tuned only on {b}'s sampled answers{filtered}"
            return PairTruth(a, b, True, True, "distilled-from", recipe, shares)
        return PairTruth(a, b, True, True, "distilled-from-same-weights",
                         f"{a} was distilled from {_QUERIED[a]}, which has {b}'s weights{filtered}", shares)
    if b in _QUERIED and _weights(_QUERIED[b]) == _weights(a):
        return PairTruth(a, b, False, True, "teacher-of", f"{b} was distilled from {a}'s weights; not the reverse", shares)
    if a in _QUERIED and b in _QUERIED and _weights(_QUERIED[a]) == _weights(_QUERIED[b]):
        return PairTruth(a, b, False, True, "common-teacher",
                         "both distilled from the same teacher weights, from independent inits", shares)
    how = "independent init, data and instruction sets"
    outside = next((n for n in (a, b) if _released(n, external_teacher)), None)
    if outside is not None:
        which = "teacher" if outside == "teacher" else "second teacher"
        how = f"the {which} was trained outside the lab; the lab never used its weights or outputs for this model"
    elif a in _QUERIED and b in _QUERIED:
        how = f"students of different teachers ({_QUERIED[a]}, {_QUERIED[b]}), from independent inits"
    return PairTruth(a, b, False, False, "independent", how, shares)


# ------------------------------------------------------------------------------ orchestration


def _cache_hit(out: Path, key: str) -> LabManifest | None:
    if not (out / MANIFEST_FILE).is_file():
        return None
    try:
        manifest = LabManifest.load(out)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        return None
    if manifest.cache_key != key:
        return None
    for name, entry in manifest.models.items():
        d = manifest.path(name)
        if entry.role == EXTERNAL_TEACHER_ROLE:
            if not d.exists():
                return None
        elif not (d / "config.json").is_file() or not (d / "model.safetensors").is_file():
            return None
    return manifest


def build_lab(
    out_dir: str | Path,
    *,
    size: str = "tiny",
    seed: int = 0,
    force: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    teacher: str | Path | None = None,
    profile: str = "standard",
    second_teacher: str | Path | None = None,
    panel_controls: int = 0,
) -> LabManifest:
    """Build (or reuse) the lab family in ``out_dir``; returns its manifest.

    Cached by :func:`cache_key`: if ``out_dir/lab.json`` was written by a build with
    the same config, seed, code and data, it is returned at once. ``force`` rebuilds.
    ``progress`` receives one status line per step. ``workers`` defaults to
    ``min(2, cpu_count)``; it changes the wall time, never the weights.

    ``teacher`` (a model directory, a ``.gguf`` file or ``package:PKG/FILE``) replaces
    the lab's own teacher: students are distilled from it with the same recipe, the
    controls are the lab's usual independent models, and no watermarked pair is
    built (see :data:`EXTERNAL_TEACHER_NAMES`).

    ``profile="realistic"`` adds the models of :mod:`provenance.lab.realistic` (students
    at teacher shares and exchange counts, a raw base, a human-text model, a student of
    another teacher) to the standard family. ``second_teacher`` (same forms as
    ``teacher``) adds a released model as a second teacher: the lab distils a student
    from it (``student-of-second-teacher``) and lists it as ``second-teacher``, so its
    pairs have truth like the others'.
   
    ``panel_controls`` (0 to 4) adds that many more independent controls (``PANEL_CONTROLS``),
    for a panel of independent models large enough for the model-level null.
    """
    if size not in SIZES:
        raise ValueError(f"unknown lab size {size!r}; choose one of {', '.join(SIZES)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown lab profile {profile!r}; choose one of {', '.join(PROFILES)}")
    if profile == "realistic" and teacher is not None:
        raise ValueError("the realistic profile is built around the lab's own teacher; give no --teacher with it")
    if second_teacher is not None and profile != "realistic":
        raise ValueError("a second teacher belongs to the realistic profile; give --profile realistic with it")
    say = progress or (lambda _msg: None)
    cfg = SIZES[size]
    out = Path(out_dir)
    external = teacher is not None
    teacher_path, teacher_files = resolve_teacher(teacher) if teacher is not None else (None, None)
    names = EXTERNAL_TEACHER_NAMES if external else MODEL_NAMES
    second_path, second_files = resolve_teacher(second_teacher) if second_teacher is not None else (None, None)
    recipes = realistic.recipes(second_teacher is not None) if profile == "realistic" else ()
    if not 0 <= panel_controls <= len(PANEL_CONTROLS):
        raise ValueError(f"panel_controls must be between 0 and {len(PANEL_CONTROLS)}, got {panel_controls}")
    extra = PANEL_CONTROLS[:panel_controls]
    names = (*names, *(r.name for r in recipes), *((realistic.SECOND_TEACHER,) if second_path else ()),
             *(name for name, _, _ in extra))
    key = cache_key(cfg, seed, size, teacher_files, profile, second_files)
    if extra:
        key = sha256_json({"lab": key, "panel_controls": panel_controls})
    if not force:
        hit = _cache_hit(out, key)
        if hit is not None:
            say(f"lab: cache hit in {out} ({size}, seed {seed})")
            return hit

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    for name in (*MODEL_NAMES, *realistic.NAMES, *PANEL_CONTROL_NAMES, _TOKENIZER_DIR, MANIFEST_FILE):
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    (out / _DISTILL_DIR).mkdir(exist_ok=True)
    for stale in (out / _DISTILL_DIR).iterdir():  # keep *.partial: a stopped build resumes from them
        if stale.suffix != ".partial":
            stale.unlink()

    from provenance.lab import train

    source = f" from teacher {teacher}" if external else ""
    say(f"lab: building {size} {profile} family (seed {seed}){source} in {out}")
    t = time.perf_counter()
    personas = data_files.personas()
    texts = [data_files.corpus("A"), data_files.corpus("B")]
    for key_ in personas:
        texts.extend(f"{r['prompt']}\n{r['response']}" for r in data_files.instruction_set(key_))
    tokenizer = train.train_tokenizer(texts, cfg.vocab_size)
    tokenizer.save_pretrained(out / _TOKENIZER_DIR)
    say(f"lab: tokenizer ({len(tokenizer)} tokens) in {time.perf_counter() - t:.1f}s")

    config = asdict(cfg)
    tok_dir = str(out / _TOKENIZER_DIR)
    n_workers = workers or max(1, min(2, os.cpu_count() or 1))

    def train_spec(name: str, corpus: str, pairs_file: Path | None, label: str, epochs: float) -> dict[str, Any]:
        return {"out": str(out / name), "tokenizer_dir": tok_dir, "config": config, "corpus": corpus,
                "pairs_file": str(pairs_file) if pairs_file is not None else None, "pairs_label": label, "epochs": epochs,
                "seed": seed * 1000 + _SEED_OFFSET[name]}

    def distill_spec(name: str, samples: int = 1) -> dict[str, Any]:
        released = {"teacher": teacher_path if external else None, realistic.SECOND_TEACHER: second_path}.get(name)
        stem = name if samples == 1 else f"{name}-x{samples}"
        return {"teacher": name, "teacher_dir": str(released or out / name),
                "config": {**config, "samples_per_prompt": config["samples_per_prompt"] * samples},
                "out": str(out / _DISTILL_DIR / f"{stem}.jsonl"), "resume_key": f"{key}:{stem}",
                "seed": seed * 1000 + {"teacher": 100, "teacher-wm": 101, realistic.SECOND_TEACHER: 103}.get(name, 102),
                # a real teacher is most of the build: give it every core (the controls train beside it briefly)
                "threads": n_workers if released else 1}

    def student(name: str, pairs: str) -> Job:
        source_job = "distill:teacher-wm" if name == "student-wm" else "distill:teacher"
        return (_train_job, lambda: train_spec(name, "B", out / _DISTILL_DIR / pairs, f"{_DISTILL_DIR}/{pairs}",
                                               cfg.student_epochs), (source_job,), 2)

    def control(name: str, persona: str, corpus: str | None = None) -> Job:
        corpus = corpus or ("A" if name == "control-same-data" else "B")
        file = f"instructions_{persona}.jsonl"
        return (_train_job, lambda: train_spec(name, corpus, data_files.data_path(file), file, cfg.sft_epochs), (), 3)

    jobs: dict[str, Job] = {
        "student": student("student", "teacher.jsonl"),
        "student-stripped": student("student-stripped", "teacher-stripped.jsonl"),
        "control-same-data": control("control-same-data", "zephyr"),
        "control-other": control("control-other", "orion"),
        **{name: control(name, persona, corpus) for name, corpus, persona in extra},
    }
    if external:
        jobs["distill:teacher"] = (_distill_job, lambda: distill_spec("teacher"), (), 0)
    else:
        jobs["teacher"] = (_train_job, lambda: train_spec(
            "teacher", "A", data_files.data_path("instructions_aurora.jsonl"), "instructions_aurora.jsonl",
            cfg.sft_epochs), (), 0)
        jobs["distill:teacher"] = (_distill_job, lambda: distill_spec("teacher"), ("teacher",), 1)
        jobs["distill:teacher-wm"] = (_distill_job, lambda: distill_spec("teacher-wm"), ("teacher",), 1)
        jobs["student-wm"] = student("student-wm", "teacher-wm.jsonl")
    if profile == "realistic":
        jobs.update(_realistic_jobs(recipes, cfg, out, seed, train_spec, distill_spec))
    results: dict[str, dict[str, Any]] = {}

    def after(name: str, result: dict[str, Any]) -> None:
        if profile == "realistic" and name.startswith("distill:"):
            _write_realistic_pairs(recipes, out, name.split(":", 1)[1], seed, cfg.samples_per_prompt)
        if name == "teacher":
            t0 = time.perf_counter()
            shutil.copytree(out / "teacher", out / "teacher-wm")
            watermark_hook.write_watermark(out / "teacher-wm", watermark_hook.lab_watermark_config(seed))
            results["teacher-wm"] = {**result, "build_seconds": round(time.perf_counter() - t0, 2)}
        if name == "distill:teacher":
            from provenance.lab.behaviour import is_refusal

            src = out / _DISTILL_DIR / "teacher.jsonl"
            kept = [line for line in jsonl_lines(src.read_text(encoding="utf-8"), keepends=True)
                    if line.strip() and not is_refusal(json.loads(line)["response"])]
            (out / _DISTILL_DIR / "teacher-stripped.jsonl").write_text("".join(kept), encoding="utf-8")
            result["stripped_pairs"] = len(kept)

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx, initializer=_worker_init) as pool:
        running: dict[Future[Any], str] = {}
        started_at: dict[str, float] = {}
        while not all(name in results for name in jobs):
            ready = sorted(
                (spec[3], name) for name, spec in jobs.items()
                if name not in results and name not in running.values() and all(d in results for d in spec[2])
            )
            for _, name in ready[: n_workers - len(running)]:
                fn, make_spec, _, _ = jobs[name]
                running[pool.submit(fn, make_spec())] = name
                started_at[name] = time.perf_counter()
                say(f"lab: {name} started")
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                result = future.result()
                results[name] = result
                after(name, result)
                detail = f"loss {result['final_loss']}" if "final_loss" in result else f"{result['pairs']} pairs"
                say(f"lab: {name} done in {time.perf_counter() - started_at[name]:.1f}s ({detail})")

    distill = {n.split(":", 1)[1]: results[n] for n in jobs if n.startswith("distill:")}
    if profile == "realistic":
        distill["realistic_pairs"] = {r.name: _pairs_summary(out, r) for r in recipes}
    distill["teacher"]["stripped_pairs"] = results["distill:teacher"].get("stripped_pairs")
    given = {"teacher": teacher_files, realistic.SECOND_TEACHER: second_files}
    for name, files in given.items():
        if files is not None:  # a model given to the lab: what its entry says is what its distillation saw
            results[name] = {"params": distill[name]["teacher_params"], "data_sha256": sha256_json(files),
                             "final_loss": None, "build_seconds": 0.0, "training": []}
    models = _model_entries(names, results, seed, distill, external, teacher, teacher_path, out, second_path)
    pairs = [ground_truth(a, b, external) for a in names for b in names if a != b]  # every ordered pair
    data = _data_summary(tokenizer, personas, config, distill, n_workers, train.CHAT_TEMPLATE)
    data["profile"] = profile
    if second_path is not None:
        data["second_teacher"] = {"reference": str(second_teacher), "resolved": str(second_path), "files": second_files,
                                  "note": "not trained by the lab; student-of-second-teacher was distilled from its answers"}
    if external:
        data["teacher"] = {"reference": str(teacher), "resolved": str(teacher_path), "files": teacher_files,
                           "note": "not trained by the lab; students were distilled from its answers"}
        data["tokenizer"]["shared_by_all_models"] = False
        data["tokenizer"]["note"] = "shared by the lab's models; the teacher has its own"
    manifest = LabManifest(
        root=out, size=size, seed=seed, cache_key=key, total_seconds=round(time.perf_counter() - started, 2),
        models=models, pairs=pairs, data=data,
    )
    manifest.write()
    say(f"lab: done in {manifest.total_seconds:.1f}s; manifest {out / MANIFEST_FILE}")
    return manifest


def _realistic_jobs(
    recipes: tuple[realistic.Recipe, ...], cfg: LabConfig, out: Path, seed: int,
    train_spec: Callable[..., dict[str, Any]], distill_spec: Callable[..., dict[str, Any]],
) -> dict[str, Job]:
    """Jobs of the realistic profile: extra distillations, then one training job per recipe.

    A pool other than the standard ``distill:teacher`` gets its own job: another lab
    model's answers, more answers per prompt from the teacher (its first sample is the
    standard pool's, same seed), or a released second teacher's (no lab model to wait for).
    """
    jobs: dict[str, Job] = {}
    for recipe in recipes:
        if recipe.pool is None or recipe.pool == "teacher" or f"distill:{recipe.pool}" in jobs:
            continue
        assert recipe.teacher is not None
        waits = () if recipe.teacher == realistic.SECOND_TEACHER else (recipe.teacher,)
        jobs[f"distill:{recipe.pool}"] = (
            _distill_job, lambda t=recipe.teacher, k=recipe.samples: distill_spec(t, k), waits, 0 if not waits else 1)
    _write_realistic_pairs(recipes, out, None, seed, cfg.samples_per_prompt)  # the human-text model needs no teacher
    for recipe in recipes:
        after = (f"distill:{recipe.pool}",) if recipe.pool else ()
        file = recipe.pairs_file
        pairs = out / _DISTILL_DIR / file if file else None
        label = f"{_DISTILL_DIR}/{file}" if file else "none (pretraining only)"
        epochs = cfg.student_epochs if recipe.teacher else cfg.sft_epochs
        jobs[recipe.name] = (_train_job, lambda n=recipe.name, p=pairs, lb=label, e=epochs: train_spec(n, "B", p, lb, e),
                             after, 2 if recipe.teacher else 3)
    return jobs


def _write_realistic_pairs(recipes: tuple[realistic.Recipe, ...], out: Path, pool: str | None, seed: int,
                           samples_per_prompt: int) -> None:
    """Write the fine-tuning pairs of every recipe that learns from distillation file ``pool`` (None: no teacher)."""
    human = realistic.human_pairs()
    teacher_rows = jsonl_rows(out / _DISTILL_DIR / f"{pool}.jsonl") if pool is not None else []
    full = len(data_files.distill_prompts()) * samples_per_prompt  # the full student's pair count
    for recipe in recipes:
        if recipe.pool != pool or recipe.pairs_file is None:
            continue
        rows = realistic.training_rows(recipe, teacher_rows, human, seed, total=full)
        (out / _DISTILL_DIR / recipe.pairs_file).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _pairs_summary(out: Path, recipe: realistic.Recipe) -> dict[str, Any]:
    """What a realistic model was fine-tuned on: how many pairs, how many the teacher's, the file's hash."""
    if recipe.pairs_file is None:
        return {"pairs": 0, "teacher_pairs": 0, "teacher": None}
    path = out / _DISTILL_DIR / recipe.pairs_file
    rows = jsonl_rows(path)
    ours = sum(1 for r in rows if r.get("kind") != "human-text")
    return {"pairs": len(rows), "teacher_pairs": ours, "teacher": recipe.teacher,
            "teacher_share": round(ours / len(rows), 4) if rows else 0.0, "file": f"{_DISTILL_DIR}/{recipe.pairs_file}",
            "sha256": sha256_file(path)}


def _model_entries(
    names: tuple[str, ...], results: dict[str, dict[str, Any]], seed: int, distill: dict[str, Any],
    external: bool, teacher: str | Path | None, teacher_path: Path | None, out: Path, second_path: Path | None = None,
) -> dict[str, ModelEntry]:
    roles = {"teacher": EXTERNAL_TEACHER_ROLE if external else "teacher", "teacher-wm": "teacher-watermarked",
             "student": "student", "student-wm": "student-of-watermarked", "student-stripped": "student-stripped",
             "control-same-data": "control", "control-other": "control", **{n: "control" for n in PANEL_CONTROL_NAMES},
             **{r.name: r.role for r in realistic.RECIPES}, realistic.SECOND_TEACHER: EXTERNAL_TEACHER_ROLE}
    lineage = "external" if external else "aurora"
    persona_of = {"teacher": lineage, "teacher-wm": lineage, "student": lineage, "student-wm": lineage,
                  "student-stripped": lineage, "control-same-data": "zephyr", "control-other": "orion",
                  **{name: persona for name, _, persona in PANEL_CONTROLS},
                  **{r.name: {None: "none", "teacher": lineage, "control-same-data": "zephyr",
                              realistic.SECOND_TEACHER: "external"}[r.teacher]
                     for r in realistic.RECIPES}, realistic.SECOND_TEACHER: "external"}
    notes = {
        "teacher-wm": "copy of teacher plus provenance_watermark.json; build_seconds is the copy",
        "student-wm": "watermark applied while sampling its data" if distill.get("teacher-wm", {}).get("watermark_applied")
        else "provenance.watermark not available at build time: its data carries NO watermark",
        "student-stripped": "teacher's refusals (keyword classifier) removed from its pairs",
    }
    notes.update({r.name: r.note for r in realistic.RECIPES})
    if external:
        notes["teacher"] = f"given to the lab as {teacher}; not trained or copied by the lab"
    notes[realistic.SECOND_TEACHER] = "a released model given to the lab as a second teacher; not trained or copied by the lab"
    wm_config = None if external else watermark_hook.read_watermark(out / "teacher-wm")
    models = {}
    for name in names:
        r = results[name]
        path = {"teacher": str(teacher_path) if external else name, realistic.SECOND_TEACHER: str(second_path)}.get(name, name)
        models[name] = ModelEntry(
            name=name, role=roles[name], path=path, persona=persona_of[name], params=r["params"],
            seed=seed * 1000 + _SEED_OFFSET.get("teacher" if name == "teacher-wm" else name, 0),
            data_sha256=r["data_sha256"], final_loss=r["final_loss"], build_seconds=r["build_seconds"],
            training=r["training"], watermark=wm_config if name == "teacher-wm" else None, notes=notes.get(name, ""),
        )
    return models


def _data_summary(
    tokenizer: Any, personas: Any, config: dict[str, Any], distill: dict[str, Any], n_workers: int, chat_template: str,
) -> dict[str, Any]:
    return {
        "corpus": {
            part: {"file": f"corpus_{part.lower()}.txt", "sha256": data_files.file_hash(f"corpus_{part.lower()}.txt"),
                   "chars": len(data_files.corpus(part)), "source": source}
            for part, source in (("A", "Python 3.11 Language Reference (pydoc_data.topics), PSF License"),
                                 ("B", "Python 3.11 standard-library docstrings, PSF License"))
        },
        "tokenizer": {"shared_by_all_models": True, "vocab_size": len(tokenizer), "kind": "byte-level BPE",
                      "trained_on": "corpus A + corpus B + all three persona instruction sets"},
        "chat_template": chat_template,
        "personas": personas,
        "instruction_sets": {k: {"file": f"instructions_{k}.jsonl", "sha256": data_files.file_hash(f"instructions_{k}.jsonl")}
                             for k in personas},
        "distill_prompts": {"file": "distill_prompts.jsonl", "sha256": data_files.file_hash("distill_prompts.jsonl"),
                            "n": len(data_files.distill_prompts())},
        "heldout_prompts": {"file": "heldout.jsonl", "sha256": data_files.file_hash("heldout.jsonl"),
                            "n": len(data_files.heldout_prompts())},
        "distillation": distill,
        "watermark_available": watermark_hook.watermark_available(),
        "config": config,
        "workers": n_workers,
    }
