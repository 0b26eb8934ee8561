"""A built panel's evidence store, opened for a case to reuse, or refused with the reason.

Collection copies a stored row only when the case would make the very same request
(``collect._Collector._copy_reusable``). The case's design was checked against the
panel file when the case was loaded (``provenance.case.panel.join_panel``); here the
panel's *evidence* is checked against that file and against the models as they are
now: the store is intact, it was built from this panel.toml, and every model the case
takes from it (its teacher and its models) has the files it was built with. A panel
that fails any of these would make the case re-ask what the panel was meant to
answer once, so it is refused, naming what changed.
"""

from __future__ import annotations

from provenance.backends import identify_model
from provenance.case import Case
from provenance.case.loader import load_panel, panel_directory
from provenance.case.panel import panel_design, panel_design_sha256
from provenance.errors import PanelError
from provenance.evidence import EvidenceStore
from provenance.hashing import sha256_json
from provenance.journal import design_changes

PANEL_EVIDENCE = "evidence.sqlite"


def open_panel_store(case: Case) -> EvidenceStore | None:
    """The verified, read-only evidence store of the panel ``case`` names; None when it names none.

    The caller closes the store.
    """
    panel_dir = panel_directory(case.spec, case.directory)
    if panel_dir is None:
        return None
    panel = load_panel(panel_dir)
    pid = panel.panel.id
    build = f"run `provenance panel build {panel_dir}`"
    path = panel_dir / PANEL_EVIDENCE
    if not path.is_file():
        raise PanelError(f"panel '{pid}' at {panel_dir} has no evidence store: it has not been built", hint=build)
    store = EvidenceStore.open_readonly(path, case_id=pid)
    try:
        check = store.verify()
        if not check.ok:
            raise PanelError(f"refusing to reuse panel '{pid}': its evidence is broken: {check.problem}",
                             hint="restore the panel's evidence.sqlite from a verified copy, or rebuild it")
        designs = [e for e in store.journal() if e.kind == "design"]
        if not designs or designs[-1].content.get("design_sha256") != panel_design_sha256(panel):
            changed = design_changes(designs[-1].content.get("design", {}), panel_design(panel)) if designs else []
            raise PanelError(f"panel '{pid}': its panel.toml is not the one its evidence was built from"
                             + (f" (changed: {', '.join(changed[:4])})" if changed else ""), hint=build)
        built = store.models()
        names = {m.name for m in (panel.teacher, *panel.model)}
        for model in (m for m in case.spec.models() if m.name in names):
            if sha256_json(identify_model(model, case.model_path(model)).to_dict()) not in built:
                raise PanelError(f"panel '{pid}': model '{model.name}' is not the model the panel was built with "
                                 "(its files, location or endpoint changed since)", hint=build)
    except BaseException:
        store.close()
        raise
    return store
