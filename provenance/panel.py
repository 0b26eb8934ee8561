"""``provenance panel build``: collect a reusable reference panel once.

A panel folder holds ``panel.toml`` (``provenance.case.panel.PanelFile``): its id and
seed, the teacher whose answers its models score, its independent models and the
suites they answer. Building it asks, into ``PANEL_DIR/evidence.sqlite`` (hash-chained,
every model's identity registered, the panel's design journalled before the first
request):

* the teacher and every panel model: every probe of every suite;
* every panel model (where its backend can score): the teacher's answers to the scored
  suites, and every other panel model's answers to them (cross-likelihood needs each
  panel member to score the teacher's text and the other authors' text).

Requests are planned by collection's own planning (``plan_generation``, ``plan_scoring``)
with the panel read as a case whose controls are its models, so a case that names the
panel computes the very same request keys and copies the rows instead of asking again.
Like a case's collection it resumes: a re-run asks only what is not stored.
"""

from __future__ import annotations

from pathlib import Path

from provenance.backends import identify_model, open_backend
from provenance.case import Case, CaseFile
from provenance.case.loader import load_panel
from provenance.case.panel import (
    PANEL_FILE_NAME,
    PanelFile,
    panel_design,
    panel_design_sha256,
)
from provenance.case.schema import CaseInfo
from provenance.collect import (
    SCORED_SUITES,
    BackendFactory,
    CollectionSummary,
    ProgressCallback,
    _Collector,  # collection's own runner: budget, batching, copying, storing each answer first
    plan_generation,
    plan_scoring,
)
from provenance.evidence import EvidenceStore
from provenance.hashing import sha256_file
from provenance.journal import software_version
from provenance.planning import PlannedRequest

__all__ = ["build_panel", "panel_case"]


class _PanelAsCase(CaseFile):
    """A panel read by collection's planning: its models are the controls, and each is in the role "panel".

    ``CaseFile`` needs a suspect; the first panel model stands in that slot only for the
    planning functions (which ask ``role_of``): no request is planned from the slot.
    """

    def role_of(self, name: str) -> str:
        return "teacher" if any(t.name == name for t in self.teacher) else "panel"


def panel_case(panel: PanelFile, panel_dir: Path) -> Case:
    """The panel as a ``Case`` in ``panel_dir``: its id, seed, suites, budget, teacher and models."""
    file = panel_dir / PANEL_FILE_NAME
    info = CaseInfo(id=panel.panel.id, title=panel.panel.title or panel.panel.id, analyst="provenance panel build",
                    seed=panel.panel.seed)  # fmt: skip
    spec = _PanelAsCase(case=info, suspect=panel.model[0], teacher=[panel.teacher], control=list(panel.model[1:]),
                        suites=panel.suites, budget=panel.budget)  # fmt: skip
    return Case(spec=spec, path=file.resolve(), sha256=sha256_file(file))


def _record_design(store: EvidenceStore, panel: PanelFile, panel_sha256: str) -> None:
    """The panel's design, journalled before its first request (again only when panel.toml changed)."""
    digest = panel_design_sha256(panel)
    designs = [e for e in store.journal() if e.kind == "design"]
    if designs and designs[-1].content.get("design_sha256") == digest:
        return
    store.append_journal("design", {"design_sha256": digest, "panel_file_sha256": panel_sha256,
                                    "design": panel_design(panel), "software": software_version()})  # fmt: skip


def build_panel(
    directory: str | Path,
    *,
    on_progress: ProgressCallback | None = None,
    backend_factory: BackendFactory = open_backend,
) -> CollectionSummary:
    """Collect (or resume collecting) a panel's answers and scores into ``PANEL_DIR/evidence.sqlite``."""
    directory = Path(directory)
    panel_dir = (directory.parent if directory.suffix == ".toml" else directory).resolve()
    panel = load_panel(panel_dir)
    case = panel_case(panel, panel_dir)
    teacher, members = panel.teacher, list(panel.model)
    summary = CollectionSummary(evidence_path=case.evidence_path)
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        _record_design(store, panel, case.sha256)
        identities = {}
        for model in (teacher, *members):
            identity = identify_model(model, case.model_path(model))
            identities[model.name] = (identity, store.register_model(identity.to_dict()))
        generation = {m.name: list(plan_generation(case, m, identities[m.name][1])) for m in (teacher, *members)}
        sources = [teacher, *members]
        scored = {m.name: [r for r in generation[m.name] if r.suite.name in SCORED_SUITES] for m in sources}
        summary.planned = sum(len(v) for v in generation.values()) + sum(
            len(scored[src.name]) for scorer in members for src in sources if src.name != scorer.name
        )
        collector = _Collector(case, store, summary, backend_factory, on_progress)

        def stored_answers() -> list[tuple[PlannedRequest, str]]:
            return [(r, str(row.response["text"])) for src in sources for r in scored[src.name]
                    if (row := store.lookup(r.key)) is not None]  # fmt: skip

        if not collector.run_model(teacher, identities[teacher.name][0], generation[teacher.name]):
            return summary
        teachers = frozenset({teacher.name})
        asked: dict[str, set[str]] = {}
        for model in members:  # each scores what is stored while it is loaded: the teacher's, earlier models'
            identity, model_key = identities[model.name]
            scoring = list(plan_scoring(model, model_key, stored_answers(), teachers=teachers))
            asked[model.name] = {r.key for r in scoring}
            if not collector.run_model(model, identity, generation[model.name] + scoring):
                return summary
        for model in members:  # then the answers of the models that came after it
            identity, model_key = identities[model.name]
            late = [r for r in plan_scoring(model, model_key, stored_answers(), teachers=teachers)
                    if r.key not in asked[model.name]]
            if late and not collector.run_model(model, identity, late):
                return summary
    return summary
