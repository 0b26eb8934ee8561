"""Reusable reference panels: built once, reused by every case that names one, refused when they differ.

Real parts only: tiny random transformers models, the real backends, evidence stores and
analysis. The panel is built once per module (three models and a teacher).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from provenance.analysis.run import analyze
from provenance.backends import open_backend
from provenance.case import load_case
from provenance.case.loader import load_panel
from provenance.collect import collect
from provenance.errors import PanelError
from provenance.evidence import EvidenceStore
from provenance.panel import build_panel
from provenance.report.rederive import case_from_report
from provenance.tinymodel import build_tiny_model

PANEL_MODELS = ("panel-a", "panel-b", "panel-c")
#: identity: 3 probes, distribution: 4 (the scored suite)
IDENTITY, DISTRIBUTION = 3, 4


class _Recorder:
    """A backend factory that loads the real backend and counts what each model is asked."""

    def __init__(self) -> None:
        self.loaded: list[str] = []
        self.asked: dict[str, int] = {}

    def __call__(self, spec, path, identity):
        backend = open_backend(spec, path, identity)
        self.loaded.append(spec.name)
        real_generate, real_score = backend.generate, backend.score

        def generate(prompts, params, seed):
            self.asked[spec.name] = self.asked.get(spec.name, 0) + len(prompts)
            return real_generate(prompts, params, seed)

        def score(prompts, continuations):
            self.asked[spec.name] = self.asked.get(spec.name, 0) + len(prompts)
            return real_score(prompts, continuations)

        backend.generate, backend.score = generate, score  # type: ignore[method-assign]
        return backend


def _suites(identity_limit: int = IDENTITY, distribution: str = "") -> str:
    return textwrap.dedent(f"""\
        [suites.identity]
        max_new_tokens = 8
        limit = {identity_limit}

        [suites.distribution]
        max_new_tokens = 8
        limit = {DISTRIBUTION}
        """) + distribution


def write_panel(directory: Path, teacher: Path, members: dict[str, Path], *, suites: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(f"""\
        [panel]
        id = "tiny-panel"
        title = "three tiny random models"
        seed = 7

        [teacher]
        name = "teacher"
        path = "{teacher}"
        batch_size = 4
        """)
    for name, path in members.items():
        text += f'\n[[model]]\nname = "{name}"\npath = "{path}"\nbatch_size = 4\n'
    (directory / "panel.toml").write_text(text + "\n" + (suites if suites is not None else _suites()), encoding="utf-8")
    return directory


def write_panel_case(directory: Path, suspect: Path, teacher: Path, panel: str, *, seed: int = 7,
                     teacher_name: str = "teacher", suites: str | None = None, extra: str = "") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(f"""\
        [case]
        id = "panel-case"
        title = "a case against a reusable panel"
        analyst = "pytest"
        seed = {seed}
        panel = "{panel}"

        [suspect]
        name = "suspect"
        path = "{suspect}"
        batch_size = 4

        [[teacher]]
        name = "{teacher_name}"
        path = "{teacher}"
        batch_size = 4
        """) + extra + "\n" + (suites if suites is not None else _suites())
    path = directory / "case.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_model_b: Path):
    """A built panel of three tiny models scoring the teacher (tiny_model); the suspect is tiny_model_b."""
    root = tmp_path_factory.mktemp("panels")
    members = {name: build_tiny_model(root / "models" / name, seed=20 + i) for i, name in enumerate(PANEL_MODELS)}
    panel_dir = write_panel(root / "panels" / "tiny", tiny_model, members)
    summary = build_panel(panel_dir)
    return root, panel_dir, summary


def test_building_a_panel_stores_every_models_answers_scores_and_identity_in_a_verifiable_store(built) -> None:
    _, panel_dir, summary = built
    k = len(PANEL_MODELS)
    generated = (k + 1) * (IDENTITY + DISTRIBUTION)
    scored = k * k * DISTRIBUTION  # each model scores the teacher's answers and the other k - 1 models' answers
    assert summary.complete and (summary.planned, summary.stored, summary.cached) == (generated + scored, generated + scored, 0)
    with EvidenceStore.open_readonly(panel_dir / "evidence.sqlite") as store:
        assert store.verify().ok
        rows = list(store.rows())
        identities = store.models()
        design = [e for e in store.journal() if e.kind == "design"]
    assert {i["name"] for i in identities.values()} == {"teacher", *PANEL_MODELS}
    assert all("model.safetensors" in i["files"] for i in identities.values())
    assert {r.model_key for r in rows} == set(identities)
    assert {(r.extra["model_name"], r.extra["role"]) for r in rows} == {("teacher", "teacher"), *((m, "panel") for m in PANEL_MODELS)}
    scores = [r for r in rows if r.method == "score"]
    for model in PANEL_MODELS:
        mine = [r for r in scores if r.extra["model_name"] == model]
        assert sum(r.params.get("teacher") == "teacher" for r in mine) == DISTRIBUTION
        assert {r.params.get("source") for r in mine} - {None} == set(PANEL_MODELS) - {model}
    assert design and design[0].evidence_rows == 0  # the panel's design was fixed before its first request
    again = build_panel(panel_dir)  # resumable: nothing is asked twice
    assert (again.stored, again.cached) == (0, generated + scored)


def test_a_case_naming_the_panel_copies_the_panels_rows_and_asks_only_what_is_new(built, tiny_model, tiny_model_b) -> None:
    root, panel_dir, summary = built
    case = load_case(write_panel_case(root / "cases" / "reuse", tiny_model_b, tiny_model, "../../panels/tiny"))
    assert [c.name for c in case.spec.control] == list(PANEL_MODELS)  # the panel's models joined as controls
    recorder = _Recorder()
    collected = collect(case, backend_factory=recorder)
    k = len(PANEL_MODELS)
    suspect_new = IDENTITY + DISTRIBUTION + (k + 1) * DISTRIBUTION  # its answers; its scores of the teacher's and the panel's
    assert collected.complete
    assert collected.copied == summary.stored  # every row of the panel was reused, none asked again
    assert collected.stored - collected.copied == suspect_new
    assert recorder.loaded == ["suspect"] and recorder.asked == {"suspect": suspect_new}
    with EvidenceStore.open_readonly(case.evidence_path) as store:
        assert store.verify().ok
        copies = [r for r in store.rows() if "copied_from" in (r.extra or {})]
    assert len(copies) == summary.stored
    assert {r.extra["copied_from"]["store"] for r in copies} == {str(panel_dir / "evidence.sqlite")}
    assert {r.extra["copied_from"]["case_id"] for r in copies} == {"tiny-panel"}
    assert {r.extra["role"] for r in copies if r.extra["model_name"] in PANEL_MODELS} == {"control"}


def test_the_panels_models_are_panel_members_of_the_family_tests_in_the_findings(built, tiny_model, tiny_model_b) -> None:
    root, _, _ = built
    case_path = write_panel_case(root / "cases" / "findings", tiny_model_b, tiny_model, "../../panels/tiny")
    case = load_case(case_path)
    assert collect(case).complete
    findings = analyze(case)
    assert {m.name: m.role for m in findings.models if m.name in PANEL_MODELS} == dict.fromkeys(PANEL_MODELS, "control")
    panels = [set(t.result["details"]["panel"]) for t in findings.tests if "panel" in t.result.get("details", {})]
    assert panels and all(p == set(PANEL_MODELS) for p in panels)
    cross = [t for t in findings.tests if t.test_id == "cross-likelihood"]
    assert cross and cross[0].result["n"]["panel_models"] == len(PANEL_MODELS)
    # verify re-derives from the embedded case file: the panel is joined there too
    again = case_from_report(case_path.read_bytes(), case_path.parent)
    assert [c.name for c in again.spec.control] == list(PANEL_MODELS)


def test_a_case_with_its_own_control_asks_the_panel_models_only_to_score_the_controls_answers(
    built, tiny_model, tiny_model_b, tmp_path: Path
) -> None:
    root, _, summary = built
    control = build_tiny_model(tmp_path / "control", seed=40)
    extra = f'\n[[control]]\nname = "own-control"\npath = "{control}"\nbatch_size = 4\n'
    case = load_case(write_panel_case(root / "cases" / "own-control", tiny_model_b, tiny_model, "../../panels/tiny", extra=extra))
    assert [c.name for c in case.spec.control] == ["own-control", *PANEL_MODELS]
    recorder = _Recorder()
    collected = collect(case, backend_factory=recorder)
    assert collected.complete and collected.copied == summary.stored
    k = len(PANEL_MODELS)
    assert all(recorder.asked[m] == DISTRIBUTION for m in PANEL_MODELS)  # each scores the new control's answers, nothing else
    assert recorder.asked["own-control"] == IDENTITY + DISTRIBUTION + (k + 1) * DISTRIBUTION


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"seed": 8}, "case.seed: the case has 8, panel 'tiny-panel' was built with seed 7"),
        ({"suites": _suites(identity_limit=IDENTITY + 1)}, "suites.identity.limit: the case asks 4 probes, panel 'tiny-panel' stored the first 3"),
        ({"suites": _suites().replace("max_new_tokens = 8\nlimit = 4", "max_new_tokens = 9\nlimit = 4")},
         "suites.distribution.max_new_tokens: the case has 9, panel 'tiny-panel' was built with 8"),
        ({"suites": _suites() + "\n[suites.errors]\nlimit = 2\n"}, "suites.errors: the case enables it, panel 'tiny-panel' was built without it"),
        ({"suites": _suites(distribution="probes = \"probes/other.toml\"\n")}, "suites.distribution.probes: the case's probe file"),
        ({"teacher_name": "aurora"}, "panel 'tiny-panel' was built with teacher 'teacher', which is not a teacher of this case"),
        ({"extra": 'system_prompt = "You are Aurora."\n'}, "teacher 'teacher'.system_prompt: the case has 'You are Aurora.'"),
    ],
    ids=["seed", "limit", "sampling", "suite", "probes", "teacher", "teacher-deployment"],
)
def test_a_case_whose_design_differs_from_the_panels_is_refused_naming_the_difference(
    built, tiny_model, tiny_model_b, tmp_path: Path, change: dict, reason: str
) -> None:
    root, _, _ = built
    panel = Path(root / "panels" / "tiny").resolve()
    if "probes" in str(change.get("suites", "")):
        (tmp_path / "probes").mkdir()
        text = (Path(__file__).parents[1] / "probes" / "distribution.toml").read_text(encoding="utf-8")
        (tmp_path / "probes" / "other.toml").write_text(text + "\n# edited\n", encoding="utf-8")
    case_path = write_panel_case(tmp_path, tiny_model_b, tiny_model, str(panel), **change)
    with pytest.raises(PanelError) as refused:
        load_case(case_path)
    assert reason in refused.value.message and "\n" not in refused.value.message
    assert refused.value.exit_code == 2


def test_the_command_line_refuses_a_differing_panel_in_one_line_with_exit_code_2(built, tiny_model, tiny_model_b,
                                                                               tmp_path: Path, capsys) -> None:
    from test_cli import run_cli

    _, panel_dir, _ = built
    case_path = write_panel_case(tmp_path, tiny_model_b, tiny_model, str(panel_dir), seed=9)
    code, _, err = run_cli(capsys, "case", "collect", str(case_path))
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(errors) == 1 and "case.seed" in errors[0]
    assert not (tmp_path / "evidence.sqlite").exists()  # refused before the first request


def test_a_panel_whose_file_or_models_changed_since_it_was_built_is_refused_at_collection(
    built, tiny_model, tiny_model_b, tmp_path: Path
) -> None:
    _, panel_dir, _ = built
    copy = Path(shutil.copytree(panel_dir, tmp_path / "panel"))
    toml = copy / "panel.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("limit = 3", "limit = 5"), encoding="utf-8")
    case = load_case(write_panel_case(tmp_path / "case", tiny_model_b, tiny_model, "../panel"))  # the design still fits
    with pytest.raises(PanelError, match=r"panel.toml is not the one its evidence was built from \(changed: suites.identity.limit\)"):
        collect(case)
    unbuilt = tmp_path / "unbuilt"
    unbuilt.mkdir()
    shutil.copy(toml, unbuilt / "panel.toml")
    with pytest.raises(PanelError, match="has no evidence store: it has not been built"):
        collect(load_case(write_panel_case(tmp_path / "case2", tiny_model_b, tiny_model, "../unbuilt")))


def test_a_panel_file_is_checked_like_a_case_file(tmp_path: Path, tiny_model: Path) -> None:
    panel = write_panel(tmp_path, tiny_model, {"a": tiny_model}, suites=_suites() + "\n[suites.membership]\nlimit = 2\n")
    with pytest.raises(PanelError, match="a panel is not built with membership"):
        load_panel(panel)
    write_panel(tmp_path, tiny_model, {"teacher": tiny_model})
    with pytest.raises(PanelError, match="model names must be unique; repeated: teacher"):
        load_panel(tmp_path)


def test_the_command_line_builds_a_panel_resuming_without_asking_again(built, capsys) -> None:
    import json

    from test_cli import run_cli

    _, panel_dir, summary = built
    code, stdout, _ = run_cli(capsys, "panel", "build", str(panel_dir), "--json")
    out = json.loads(stdout)
    assert code == 0 and out["complete"] and (out["stored"], out["cached"]) == (0, summary.stored)


def test_the_case_template_names_a_panel_only_in_a_comment(tmp_path: Path) -> None:
    import tomllib

    from provenance.case import init_case
    from provenance.case.schema import CaseFile

    text = init_case(tmp_path / "new").read_text(encoding="utf-8")
    assert '# panel = "../panels/' in text
    assert CaseFile.model_validate(tomllib.loads(text)).case.panel is None


def test_rows_copied_from_the_panel_do_not_count_against_the_cases_query_budget(built, tiny_model, tiny_model_b) -> None:
    root, _, summary = built
    asked = IDENTITY + DISTRIBUTION + (len(PANEL_MODELS) + 1) * DISTRIBUTION  # what the suspect is asked
    budget = f"\n[budget]\nmax_requests = {asked}\n"
    case = load_case(write_panel_case(root / "cases" / "budget", tiny_model_b, tiny_model, "../../panels/tiny",
                                      suites=_suites() + budget))
    collected = collect(case)
    assert collected.complete and collected.copied == summary.stored and collected.stored == summary.stored + asked
    tight = load_case(write_panel_case(root / "cases" / "tight", tiny_model_b, tiny_model, "../../panels/tiny",
                                       suites=_suites() + f"\n[budget]\nmax_requests = {asked - 1}\n"))
    assert collect(tight).budget_exhausted  # the suspect's own requests still do


def test_a_panel_whose_model_files_changed_since_the_build_is_refused(tmp_path: Path, tiny_model: Path,
                                                                     tiny_model_b: Path) -> None:
    member = Path(shutil.copytree(tiny_model_b, tmp_path / "member"))
    suites = _suites(identity_limit=1).replace(f"limit = {DISTRIBUTION}", "limit = 1")
    panel_dir = write_panel(tmp_path / "panel", tiny_model, {"member": member}, suites=suites)
    assert build_panel(panel_dir).complete
    suspect = Path(shutil.copytree(tiny_model_b, tmp_path / "suspect"))
    case = load_case(write_panel_case(tmp_path / "case", suspect, tiny_model, "../panel", suites=suites))
    (member / "config.json").write_text((member / "config.json").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(PanelError, match="model 'member' is not the model the panel was built with"):
        collect(case)
    assert not case.evidence_path.exists()  # refused before the case's first request
