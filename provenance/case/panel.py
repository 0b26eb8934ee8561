"""Reusable reference panels: a panel file, and how a case that names one takes its models in.

A panel (``PANEL_DIR/panel.toml``) is a list of independent models, the teacher whose
answers they score, and the suites they answer. ``provenance panel build PANEL_DIR``
collects it once into ``PANEL_DIR/evidence.sqlite``; a case names it with
``[case] panel = "relative/path/to/PANEL_DIR"``.

Design: a panel's models join a case as **controls** (``join_panel``). Controls are
what the panel of every family test is made of, and they are the case's scorers: they
score the teacher's answers and every other reference author's, which is exactly what
cross-likelihood needs of a panel member. The panel's rows are reused through
collection's ordinary reuse (identical request, same key, copied with its origin), so
a request is only copied when the case would have asked exactly it. That is why a
case whose design differs from the panel's in anything that enters a request (seed,
probes, sampling settings, the teacher and how it is deployed) is refused here, with
the difference named, rather than silently re-asking the panel's models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from provenance import config
from provenance.case.schema import (
    _ID_PATTERN,
    Budget,
    CaseFile,
    ModelSpec,
    SuiteSpec,
    _Strict,
    check_suite_names,
)
from provenance.errors import PanelError
from provenance.hashing import sha256_json
from provenance.modelref import is_package_ref, resolve_package_ref
from provenance.probes import load_suite

PANEL_FILE_NAME = "panel.toml"
#: Suites a panel is never built with: membership asks the case's own campaign's prompts (and its
#: test is exact, it needs no panel); style reads the other suites' answers and has no probes.
CASE_OWN_SUITES = ("membership", "style")
#: Sampling settings of a suite that enter every request: the case's must be the panel's.
_SAMPLING_KEYS = ("max_new_tokens", "temperature", "top_p")
#: Model keys that decide nothing a request records (how it is loaded or paced, what it calls itself).
_NOT_IN_REQUESTS = ("path", "batch_size", "device", "claims", "relation", "allow_pickle", "trust_remote_code",
                    "concurrency", "requests_per_minute", "tokens_per_minute", "timeout_s", "max_retries",
                    "api_key_env")  # fmt: skip


class PanelInfo(_Strict):
    """What the panel is (``[panel]``)."""

    id: str = Field(pattern=_ID_PATTERN, description="short identifier; the panel's evidence store is bound to it")
    title: str = Field(default="", description="what the panel holds, for people")
    seed: int = Field(default=config.DEFAULT_SEED, ge=0, le=2**31 - 1,
                      description="the master seed of every sampled request; a case must use the same")


class PanelFile(_Strict):
    """A whole panel file (``panel.toml``)."""

    panel: PanelInfo
    teacher: ModelSpec = Field(description="the teacher whose answers the panel's models score ([teacher])")
    model: list[ModelSpec] = Field(min_length=1, description="the panel's independent models ([[model]])")
    suites: dict[str, SuiteSpec] = Field(min_length=1)
    budget: Budget = Field(default_factory=Budget)

    @field_validator("suites")
    @classmethod
    def _panel_suites(cls, suites: dict[str, SuiteSpec]) -> dict[str, SuiteSpec]:
        check_suite_names(suites)
        own = sorted(set(suites) & set(CASE_OWN_SUITES))
        if own:
            raise ValueError(f"a panel is not built with {', '.join(own)} (membership tests a case's own campaign; "
                             "style reads the other suites' answers)")
        return suites

    @model_validator(mode="after")
    def _unique_names(self) -> PanelFile:
        names = [self.teacher.name, *(m.name for m in self.model)]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"model names must be unique; repeated: {', '.join(repeated)}")
        related = [m.name for m in self.model if m.relation is not None]
        if related:
            raise ValueError(f"relation describes a model's relation to a case's suspect; a panel has none "
                             f"(on {', '.join(related)})")
        return self

    def enabled_suites(self) -> dict[str, SuiteSpec]:
        return {name: spec for name, spec in self.suites.items() if spec.enabled}


def panel_design(panel: PanelFile) -> dict[str, Any]:
    """What decides the panel's requests, as canonical data (everything but its title)."""
    data = panel.model_dump(mode="json")
    data["panel"].pop("title", None)
    return data


def panel_design_sha256(panel: PanelFile) -> str:
    return sha256_json(panel_design(panel))


def _location(model: ModelSpec, directory: Path) -> Path | None:
    """Where a model's files are, for a file in ``directory`` (None for an API model)."""
    if model.path is None:
        return None
    if is_package_ref(model.path):
        return resolve_package_ref(model.path)
    path = Path(model.path).expanduser()
    return (path if path.is_absolute() else directory / path).resolve()


def _relocated(model: ModelSpec, panel_dir: Path, case_dir: Path) -> ModelSpec:
    """A panel model as the case names it: a relative path made relative to the case's folder."""
    if model.path is None or is_package_ref(model.path) or Path(model.path).expanduser().is_absolute():
        return model
    target = (panel_dir / model.path).resolve()
    return model.model_copy(update={"path": os.path.relpath(target, case_dir.resolve())})


def _requested(model: ModelSpec) -> dict[str, Any]:
    """What of a model's entry enters the requests it answers (its name, backend, deployment, endpoint)."""
    return {k: v for k, v in model.model_dump(mode="json").items() if k not in _NOT_IN_REQUESTS}


def join_panel(spec: CaseFile, case_dir: Path, panel: PanelFile, panel_dir: Path) -> CaseFile:
    """The case's spec with the panel's models appended to its controls, or PanelError naming the difference.

    ``case_dir`` is the case file's folder, ``panel_dir`` the panel's. The panel's models keep
    their names (a score request records the names of the models whose text it scores) and
    their deployment; their relative paths are rewritten relative to the case's folder.
    """
    pid = panel.panel.id
    rebuild = f"build a panel for this case's design with `provenance panel build`, or change the case to match {panel_dir}"
    if spec.case.seed != panel.panel.seed:
        raise PanelError(f"case.seed: the case has {spec.case.seed}, panel '{pid}' was built with seed {panel.panel.seed}",
                         hint=rebuild)  # fmt: skip
    _check_teacher(spec, case_dir, panel, panel_dir, rebuild)
    _check_suites(spec, case_dir, panel, panel_dir, rebuild)
    case_models = {m.name: m for m in spec.models()}
    if spec.campaign is not None:
        case_models[spec.campaign.name] = spec.campaign.as_model()
    where = {_location(m, case_dir): m.name for m in spec.models() if m.path is not None}
    for member in panel.model:
        if member.name in case_models:
            raise PanelError(f"panel '{pid}' has a model named '{member.name}', like a model of the case",
                             hint="rename the case's model (the panel's names are recorded in its stored requests)")
        same = where.get(_location(member, panel_dir)) if member.path is not None else None
        if same == spec.suspect.name:
            raise PanelError(f"the suspect is panel '{pid}''s model '{member.name}': a model cannot be in its own null",
                             hint="use a panel without the suspect")
        if same is not None:
            raise PanelError(f"panel '{pid}''s model '{member.name}' is the case's model '{same}' (same files): it would "
                             "count twice in the panel", hint=f"remove '{same}' from the case; the panel brings it")
    members = [_relocated(m, panel_dir, case_dir) for m in panel.model]
    return spec.model_copy(update={"control": [*spec.control, *members]})


def _check_teacher(spec: CaseFile, case_dir: Path, panel: PanelFile, panel_dir: Path, rebuild: str) -> None:
    pid, built = panel.panel.id, panel.teacher
    teacher = next((t for t in spec.teacher if t.name == built.name), None)
    if teacher is None:
        raise PanelError(f"panel '{pid}' was built with teacher '{built.name}', which is not a teacher of this case "
                         f"(teachers: {', '.join(t.name for t in spec.teacher)})", hint=rebuild)  # fmt: skip
    if _location(teacher, case_dir) != _location(built, panel_dir):
        raise PanelError(f"teacher '{teacher.name}': the case's is {_location(teacher, case_dir)}, panel '{pid}' was "
                         f"built with {_location(built, panel_dir)}", hint=rebuild)  # fmt: skip
    mine, theirs = _requested(teacher), _requested(built)
    differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    if differ:
        key = differ[0]
        raise PanelError(f"teacher '{teacher.name}'.{key}: the case has {mine.get(key)!r}, panel '{pid}' was built with "
                         f"{theirs.get(key)!r}", hint=rebuild)  # fmt: skip


def _check_suites(spec: CaseFile, case_dir: Path, panel: PanelFile, panel_dir: Path, rebuild: str) -> None:
    pid, built_suites = panel.panel.id, panel.enabled_suites()
    for name, mine in spec.enabled_suites().items():
        if name in CASE_OWN_SUITES:
            continue
        built = built_suites.get(name)
        if built is None:
            raise PanelError(f"suites.{name}: the case enables it, panel '{pid}' was built without it", hint=rebuild)
        for key in _SAMPLING_KEYS:
            if getattr(mine, key) != getattr(built, key):
                raise PanelError(f"suites.{name}.{key}: the case has {getattr(mine, key)}, panel '{pid}' was built with "
                                 f"{getattr(built, key)}", hint=rebuild)  # fmt: skip
        if mine.samples > built.samples:
            raise PanelError(f"suites.{name}.samples: the case asks {mine.samples} samples per prompt, panel '{pid}' "
                             f"stored {built.samples}", hint=rebuild)  # fmt: skip
        if built.limit is not None and (mine.limit is None or mine.limit > built.limit):
            raise PanelError(f"suites.{name}.limit: the case asks {mine.limit or 'all'} probes, panel '{pid}' stored "
                             f"the first {built.limit}", hint=rebuild)  # fmt: skip
        case_probes = load_suite(mine.probes or name, base=case_dir)
        panel_probes = load_suite(built.probes or name, base=panel_dir)
        if case_probes.sha256 != panel_probes.sha256:
            raise PanelError(f"suites.{name}.probes: the case's probe file {case_probes.path} differs from the one "
                             f"panel '{pid}' was built with ({panel_probes.path})", hint=rebuild)  # fmt: skip
