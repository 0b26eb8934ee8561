"""Plan an audit run: which (suspect, teacher) pairs to run, reuse, skip or report as failed.

A pair is identified by a *pair key*: a hash over what decides its findings, namely
the content of the suspect, teacher and controls (SHA-256 of their files, or an
API model's endpoint and name), each suite's probe-file version and hash and its
settings, alpha, seed, budget, and the teacher's watermark. A pair whose key was
already run to findings (and whose findings are still on disk) is reused, not
re-run. Models are identified by hashing, never by loading, so planning is cheap
compared with running.

Each pair gets its own case directory named by suspect, teacher and the part of the
key that decides collection, so a suspect whose weights change gets a new evidence
store and the old one is kept, while a change that only the analysis reads (alpha,
declared names) re-analyses the evidence already in the folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from provenance.audit.casefile import case_text, write_case
from provenance.audit.history import History
from provenance.audit.loader import Audit
from provenance.audit.scan import Suspect, discover
from provenance.backends import ModelIdentity, identify_model
from provenance.case import ModelSpec
from provenance.case.schema import WatermarkSpec
from provenance.errors import ProvenanceError
from provenance.hashing import sha256_file, sha256_json, sha256_text
from provenance.probes import load_suite

PAIR_KEY_SCHEMA = "provenance.audit-pair/1"

Status = Literal["run", "reused", "skipped", "identical", "failed"]


@dataclass(frozen=True)
class Identified:
    """A model and its content hash, or the reason it could not be identified."""

    spec: ModelSpec | None
    content: str | None
    problem: str | None = None


@dataclass
class PlannedPair:
    """One (suspect, teacher) pair and what this run will do with it."""

    suspect: str
    teacher: str
    source: str
    status: Status
    suspect_hash: str | None = None
    teacher_hash: str | None = None
    control_hashes: list[str] = field(default_factory=list)
    suite_hashes: dict[str, str] = field(default_factory=dict)
    pair_key: str | None = None
    case_dir: Path | None = None
    reason: str | None = None  #: why skipped or failed
    reused: dict | None = None  #: the history row a reused pair takes its result from
    needs_gpu: str = "never"  #: "always", "if-available" or "never" (what the backends will ask for)

    @property
    def slot(self) -> tuple[str, str]:
        return (self.suspect, self.teacher)


def content_hash(identity: ModelIdentity) -> str:
    """What a model *is*, independent of its name and where it is stored."""
    if identity.backend == "hf":
        return sha256_json({"backend": "hf", "files": identity.files})
    return sha256_json({"backend": identity.backend, "files": identity.files, "details": identity.details})


def _local_files(path: Path, history: History) -> dict[str, str]:
    """The ``files`` of ``local_model_identity`` (same file set), through the history's hash cache."""
    return {
        file.relative_to(path).as_posix(): history.file_sha256(file)
        for file in sorted(path.rglob("*"))
        if file.is_file() and ".cache" not in file.relative_to(path).parts
    }


def identify(audit: Audit, spec: ModelSpec, path: Path | None, history: History) -> Identified:
    """Hash a model without loading it; a problem becomes a reason, not an exception."""
    try:
        where = path if path is not None else audit.model_path(spec)
        if spec.backend == "hf" and where.is_dir():
            from provenance.backends.hf import check_model_dir

            check_model_dir(where, allow_pickle=spec.allow_pickle, trust_remote_code=spec.trust_remote_code)
            return Identified(spec, sha256_json({"backend": "hf", "files": _local_files(where, history)}))
        return Identified(spec, content_hash(identify_model(spec, where)))
    except ProvenanceError as exc:
        return Identified(spec, None, str(exc))
    except OSError as exc:
        return Identified(spec, None, f"cannot read {getattr(exc, 'filename', '') or spec.path}: {exc.strerror or exc}")


def suite_fingerprints(audit: Audit) -> dict[str, str]:
    """Per enabled suite: probe-file version, hash and settings, hashed together.

    Probe files are found as collection finds them (``spec.probes`` or the suite's
    name); analysis-only suites (style) have no probe file of their own.
    """
    from provenance.suites import SUITES

    out = {}
    for name, spec in sorted(audit.spec.suites.items()):
        if not spec.enabled:
            continue
        settings = spec.model_dump(mode="json")
        if name in SUITES and not SUITES[name].collects:
            out[name] = sha256_json({"analysis_only": True, "settings": settings})
            continue
        suite = load_suite(spec.probes or name, base=audit.directory)
        out[name] = sha256_json({"version": suite.version, "sha256": suite.sha256, "settings": settings})
    return out


def _gpu_need(models: list[ModelSpec]) -> str:
    local = [m for m in models if m.backend == "hf"]
    if any(m.device.startswith("cuda") for m in local):
        return "always"
    if any(m.device == "auto" for m in local):
        return "if-available"
    return "never"


def _same_place(audit: Audit, suspect: Suspect, teacher: ModelSpec) -> bool:
    """Whether the suspect entry points at the teacher's own files (a scan of the reference folder)."""
    if suspect.path is None or teacher.path is None:
        return suspect.spec is not None and suspect.spec.model_dump(exclude={"name"}) == teacher.model_dump(exclude={"name"})
    try:
        return suspect.path.resolve() == audit.model_path(teacher).resolve()
    except ProvenanceError:
        return False


def _key_sha256(audit: Audit, mark: WatermarkSpec) -> str | None:
    """The watermark key's SHA-256 (never the key): another key is another pair.

    None when the key cannot be read here; the pair's case then reports that itself.
    """
    try:
        if mark.key_file is not None:
            return sha256_file(audit.resolve(mark.key_file))
        value = os.environ.get(mark.key_env or "")
        return None if value is None else sha256_text(value)
    except OSError:
        return None


def _dir_name(suspect: str, teacher: str, key: str) -> str:
    return f"{suspect}--{teacher}--{key[:12]}"


def plan(audit: Audit, history: History) -> list[PlannedPair]:
    """Every pair of this run, with its status; writes the case files of pairs to run."""
    suspects: list[Suspect] = discover(audit)
    teachers = [identify(audit, t, None, history) for t in audit.spec.teacher]
    controls = [identify(audit, c, None, history) for c in audit.spec.control]
    references = [identify(audit, r, None, history) for r in audit.spec.reference]
    suites = suite_fingerprints(audit)
    info = audit.spec.audit
    pairs: list[PlannedPair] = []
    for suspect in suspects:
        ident = (
            Identified(suspect.spec, None, suspect.problem)
            if suspect.problem or suspect.spec is None
            else identify(audit, suspect.spec, suspect.path, history)
        )
        for teacher in teachers:
            assert teacher.spec is not None
            pair = PlannedPair(suspect.name, teacher.spec.name, suspect.source, "failed",
                               suspect_hash=ident.content, teacher_hash=teacher.content, suite_hashes=suites)  # fmt: skip
            pairs.append(pair)
            if ident.problem:
                pair.reason = f"suspect {suspect.name}: {ident.problem}"
                continue
            if teacher.problem:
                pair.reason = f"teacher {teacher.spec.name}: {teacher.problem}"
                continue
            if ident.content == teacher.content:
                if _same_place(audit, suspect, teacher.spec):
                    pair.status, pair.reason = "skipped", f"the suspect is the teacher {teacher.spec.name} itself"
                else:
                    # Another copy of the teacher's exact files: derivation needs no statistics.
                    pair.status = "identical"
                    pair.reason = (f"the suspect's files are byte-identical to teacher {teacher.spec.name}'s "
                                   f"(SHA-256 of every file matches): it is a copy of the teacher")  # fmt: skip
                continue
            bad = next((c for c in (*controls, *references) if c.problem), None)
            if bad is not None:
                assert bad.spec is not None
                role = "control" if any(bad is c for c in controls) else "reference"
                pair.reason = f"{role} {bad.spec.name}: {bad.problem}"
                continue
            # A control with the suspect's own files would make the suspect look closer
            # to a control than to any teacher by construction: leave it out of this pair.
            used = [c for c in controls if c.content != ident.content]
            pair.control_hashes = [c.content for c in used if c.content]
            # Reference text must be written by neither the suspect nor the teacher (a copy of either
            # would be "reference" text the suspect is derived from, or is itself).
            refs = [r for r in references if r.content not in (ident.content, teacher.content)]
            mark = next((w for w in audit.spec.watermark if w.teacher == teacher.spec.name), None)
            collection = {
                "schema": PAIR_KEY_SCHEMA,
                "suspect": ident.content,
                "teacher": teacher.content,
                "controls": sorted(pair.control_hashes),
                **({"references": sorted(r.content for r in refs if r.content)} if refs else {}),
                "suites": suites,
                "seed": info.seed,
                "budget": audit.spec.budget.model_dump(mode="json"),
                "watermark": None if mark is None else {
                    **mark.model_dump(mode="json", exclude={"key_file", "key_env", "tokenizer"}),
                    "key_sha256": _key_sha256(audit, mark),
                },
            }  # fmt: skip
            # What only the analysis reads: a change here re-analyses the pair's stored
            # evidence (same folder, every request already answered), it does not re-collect.
            analysis = {
                "teacher_claims": teacher.spec.claims,
                # the names the other models declare are case-local for the identity suite
                "other_claims": sorted({c for m in (ident.spec, *(u.spec for u in used)) if m for c in m.claims}),
                "alpha": info.alpha,
            }
            pair.pair_key = sha256_json({**collection, **analysis})
            pair.case_dir = audit.output / "pairs" / _dir_name(suspect.name, teacher.spec.name, sha256_json(collection))
            assert ident.spec is not None
            text = case_text(
                audit,
                case_id=f"{info.id}.{suspect.name}.{teacher.spec.name}"[:120],
                suspect=ident.spec,
                teacher=teacher.spec,
                controls=[c.spec for c in used if c.spec is not None],
                references=[r.spec for r in refs if r.spec is not None],
            )
            done = history.completed(pair.pair_key)
            if done is not None and done["findings_path"] and Path(done["findings_path"]).is_file():
                pair.status, pair.reused = "reused", done
                continue
            try:
                write_case(pair.case_dir, text)
            except ProvenanceError as exc:
                pair.reason = f"cannot write the pair's case file: {exc}"
                continue
            pair.status = "run"
            pair.needs_gpu = _gpu_need([ident.spec, teacher.spec, *(c.spec for c in used if c.spec is not None)])
    return pairs
