"""Everything the templates show, gathered from findings.json, the evidence and the case file.

No model is asked anything here: numbers come from findings.json, quotes and
figures from the stored evidence rows, names and roles from the case file. The
result is a plain dict of plain values so the templates stay logic-free, and any
suite that appears in findings.json (one added after this module was written
included) gets its methods, results table, effect figure and exhibits.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from provenance.analysis.findings import Findings, TestFinding
from provenance.analysis.view import Answer, EvidenceView
from provenance.case import Case
from provenance.costs import cost_of, prices_of
from provenance.evidence import EvidenceRow
from provenance.report import plots
from provenance.report.assets import reports_dir

#: Exhibits per test: the cited prompts that drove it most (see EXHIBIT_RULE); plus a seeded random sample per teacher.
EXHIBITS_PER_TEST = 2
RANDOM_EXHIBITS = 2
#: Kept for callers that count exhibits per suite (membership): the rows with the largest overlap with the logged answer.
EXHIBITS_PER_SUITE = 3
EXHIBIT_RULE = (
    "Exhibits are chosen by rule, and each says why it was chosen. For each test, the {k} prompts among those whose answers the "
    "test cites that drove it most: the largest contributions to its statistic where the suite records them, otherwise the "
    "prompts on which the suspect's answer is closest to the teacher's relative to the controls (Jaccard index of lower-cased "
    "word sets with the teacher minus the largest with any control; ties broken by probe id). Outside the refusal and "
    "identity suites, a test's second exhibit is the highest-ranked prompt on which neither the suspect nor the teacher refused or "
    "named the teacher (content several suites count), and no answer of the suspect is shown twice. Then {r} prompts drawn at random "
    "(seeded with the case seed) from every prompt the suite compared, so a reader also sees ordinary answers. Every control's "
    "answer to the same prompt is shown, and an answer that stopped at the token limit is marked as cut. They illustrate the "
    "tests; they are not the evidence on their own: every test above uses all of its cited rows."
)
REPORT_LIBRARIES = ("provenance", "weasyprint", "pydyf", "jinja2", "matplotlib", "cryptography", "pypdf")

_WORD = re.compile(r"\w+", re.UNICODE)


def _versions(names: Sequence[str]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


#: What each suite's method rests on in the published literature, for the report's "scientific
#: basis" section (the questions of an admissibility hearing: is the method published, tested,
#: with a known error rate, under a stated procedure). Only works the method actually uses.
SCIENTIFIC_BASIS: dict[str, list[str]] = {
    "identity": [
        "Fisher's exact test (Fisher 1935, The Design of Experiments); Agresti 2002, Categorical Data Analysis",
    ],
    "refusal": [
        "Cohen's kappa (Cohen 1960, Educ. Psychol. Meas. 20:37); its asymptotic variance (Fleiss, Cohen & Everitt 1969, Psychol. Bull. 72:323)",
        "Shifted-null bootstrap test (Hall & Wilson 1991, Biometrics 47:757); intersection-union test (Berger 1982, Technometrics 24:295)",
    ],
    "distribution": [
        "Likelihood-based membership and provenance signals of training text (Shokri et al. 2017, IEEE S&P; Carlini et al. 2021, USENIX Security)",
        "Bits per byte as a tokenizer-independent likelihood (Gao et al. 2020, The Pile, arXiv:2101.00027)",
        "Log-odds ratio with informative Dirichlet prior for marker n-grams (Monroe, Colaresi & Quinn 2008, Political Analysis 16:372)",
        "Attributing text to the model that wrote it with n-gram classifiers (Sun et al. 2025, Idiosyncrasies in Large Language Models, arXiv:2502.12150)",
        "Permutation tests (Good 2005, Permutation, Parametric and Bootstrap Tests of Hypotheses; Phipson & Smyth 2010, SAGMB 9:39)",
    ],
    "errors": [
        "Error consistency, Cohen's kappa on correctness (Geirhos, Meding & Wichmann 2020, NeurIPS)",
        "Shifted-null bootstrap test (Hall & Wilson 1991, Biometrics 47:757)",
    ],
    "style": ["Stylometric attribution of model outputs (Sun et al. 2025, arXiv:2502.12150); descriptive here"],
    "membership": [
        "Membership inference against models trained on given records (Shokri et al. 2017, IEEE S&P; Carlini et al. 2022, IEEE S&P, Membership Inference Attacks From First Principles)",
        "Non-members drawn from the members' own distribution, else membership tests measure distribution shift (Duan et al. 2024, COLM, Do Membership Inference Attacks Work on Large Language Models?)",
        "Sign-flip permutation test of paired differences (Good 2005; Phipson & Smyth 2010, SAGMB 9:39); intersection-union test (Berger 1982, Technometrics 24:295)",
    ],
    "watermark": [
        "Green-list watermark and its z-test (Kirchenbauer et al. 2023, ICML)",
        "Watermark radioactivity in distilled students (Sander et al. 2024, NeurIPS; Gu et al. 2024, ICLR, On the learnability of watermarks)",
    ],
}


def calibration_record() -> dict[str, Any]:
    """Measured error rates per suite (from docs/bench.md), shipped with the report."""
    return json.loads((reports_dir() / "assets" / "calibration.json").read_text(encoding="utf-8"))


def calibration_for(findings: Findings, view: EvidenceView, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """The record's error rates for this case's own conditions: access mode, query budget, number of controls.

    Access is "open" when cross-likelihood ran (the suspect and controls could score),
    else "black-box"; the budget is the largest measured one not above the fewest probes
    the suspect answered in any family suite; the rates are those measured with as many
    controls as the case has, or pooled over panels where the bench has no such panel.
    The record's default (all probes, open weights) is used when it measured no conditions.
    ``record["condition"]`` names what was chosen.
    """
    record = dict(record if record is not None else calibration_record())
    conditions = record.get("conditions") or []
    if not conditions:
        return record
    access = "open" if any(t.test_id == "cross-likelihood" for t in findings.tests) else "black-box"
    family_suites = {t.suite for t in findings.tests if t.in_family}
    answered = [len(view.first_answers(findings_suspect(findings), s)) for s in family_suites if s != "style"]
    fewest = min((n for n in answered if n), default=0)
    full = fewest >= int(record.get("full_probe_sets_from", 10**9))  # the bench's "all": every probe of every suite
    n_controls = sum(1 for m in findings.models if m.role == "control")
    fitting = [c for c in conditions if c["access"] == access
               and (c["budget"] <= fewest if c["budget"] is not None else full)]
    if not fitting:
        return record
    budget = max((c["budget"] if c["budget"] is not None else 10**9) for c in fitting)
    at_budget = [c for c in fitting if (c["budget"] if c["budget"] is not None else 10**9) == budget]
    chosen = next((c for c in at_budget if c.get("controls") == n_controls),
                  next((c for c in at_budget if c.get("controls") is None), at_budget[0]))
    label = "all probes" if chosen["budget"] is None else f"{chosen['budget']} probes per suite"
    panel = (f"{chosen['controls']} control{'s' if chosen['controls'] != 1 else ''} as in this case" if chosen.get("controls") is not None
             else record.get("panel", "pooled over control panels (the bench has none with this case's number of controls)"))
    record["suites"] = chosen["suites"]
    record["overall"] = chosen["overall"]
    record["condition"] = {"access": access, "budget": chosen["budget"], "controls": chosen.get("controls")}
    verdict = chosen.get("verdict") or {}
    fp, n = int(verdict.get("false_positives", 0)), int(verdict.get("independent", 0))
    record["verdict_note"] = (
        f"Measured for this condition ({access} access, {label}, {panel}): {chosen['overall']}."
        + (f" The measured false-positive rate ({fp}/{n}) is above the case's alpha ({findings.alpha}): the verdict's "
           "error rate is the measured one, not alpha." if n and fp / n > findings.alpha else "")
        + " " + record.get("represented", "The bench's models are tiny laboratory models and one small released "
                           "model (SmolLM2-135M-Instruct); a case of other kinds of model is not represented in it.")
    )
    record["how"] = f"{record.get('how', '')} Rates for this case's conditions: {access} access, {label}, {panel}."
    return record


def findings_suspect(findings: Findings) -> str:
    return next((m.name for m in findings.models if m.role == "suspect"), "")


def fmt_p(value: Any) -> str:
    """A p-value as a court reader expects it: 3 significant digits, tiny values in e-notation."""
    if value is None:
        return "n/a"
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.3g}" if value >= 1e-4 else f"{value:.2e}"


def fmt_num(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return {"Infinity": "∞", "-Infinity": "−∞"}.get(value, value)
    value = float(value)
    if not math.isfinite(value):
        return "∞" if value > 0 else ("−∞" if value < 0 else "undefined")
    return f"{value:.4g}"


def _test_row(test: TestFinding) -> dict[str, Any]:
    result = test.result
    ci = result.get("ci")
    return {
        "suite": test.suite,
        "test_id": test.test_id,
        "teacher": test.teacher,
        "in_family": test.in_family,
        "reject": test.reject,
        "statistic": f"{result.get('statistic_name', 'statistic')} = {fmt_num(result.get('statistic'))}",
        "p": fmt_p(result.get("p_value")),
        "p_adj": fmt_p(test.p_adjusted) if test.in_family else "not in family",
        "effect": f"{result.get('effect_name', 'effect')} = {fmt_num(result.get('effect'))}",
        "ci": "none" if ci is None else f"[{fmt_num(ci[0])}, {fmt_num(ci[1])}] ({float(result.get('ci_level', 0.95)):.0%})",
        "n": ", ".join(f"{str(k).replace('_', ' ')} {v}" for k, v in (result.get("n") or {}).items()),  # no field names
        "summary": test.summary,
        "rows": len(test.evidence_rows),
        "note": (result.get("details") or {}).get("note"),
    }


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _jaccard(a: str, b: str) -> float:
    wa, wb = _words(a), _words(b)
    return len(wa & wb) / len(wa | wb) if wa | wb else 0.0


def _answer(answer: Answer | None, model: str, role: str, cut: dict[int, int | None] | None = None) -> dict[str, Any] | None:
    """An answer as an exhibit shows it; ``cut``: row ids of answers that stopped at the token limit, with that limit."""
    if answer is None:
        return None
    truncated = cut is not None and answer.row_id in cut
    return {"model": model, "role": role, "row_id": answer.row_id, "text": answer.text, "truncated": truncated,
            "token_limit": cut.get(answer.row_id) if truncated and cut is not None else None}  # fmt: skip


def truncated_rows(rows: Sequence[EvidenceRow]) -> dict[int, int | None]:
    """Answers that stopped at the token limit (``finish_reason`` "length"), with the limit they were asked under."""
    return {r.id: r.params.get("max_new_tokens") for r in rows
            if r.method == "generate" and (r.response or {}).get("finish_reason") == "length"}  # fmt: skip


def _contributions(test: TestFinding) -> dict[str, float]:
    """Per-prompt contributions to a test's statistic, where the suite records them (``details.contributions``)."""
    raw = (test.result.get("details") or {}).get("contributions")
    if not isinstance(raw, dict):
        return {}
    out = {}
    for probe, value in raw.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            out[str(probe)] = float(value)
    return out


#: Suites whose own question is the shared content (a refusal, a self-description): their exhibits may be all of it.
_CONTENT_SUITES = ("refusal", "identity")


def shared_content(teacher_claims: dict[str, Sequence[str]], aliases: Any = None) -> Any:
    """``kind(teacher, text)``: "a refusal", "names the teacher" or None, for answers several suites count."""
    from provenance.features import claims_identity, classify_refusal

    def kind(teacher: str, text: str) -> str | None:
        if classify_refusal(text).is_refusal:
            return "a refusal"
        names = teacher_claims.get(teacher) or ()
        if names and claims_identity(text, names, aliases):
            return "names the teacher"
        return None

    return kind


def exhibits_for(suite: str, tests: Sequence[TestFinding], view: EvidenceView, suspect: str, controls: Sequence[str],
                 uninformative_for: Sequence[str] = (), *, seed: int = 0,
                 cut: dict[int, int | None] | None = None, shared: Any = None) -> list[dict[str, Any]]:  # fmt: skip
    """The suite's exhibits by EXHIBIT_RULE, per teacher that it tested, each with the reason it was chosen.

    A teacher for which the suite was only *uninformative* (``uninformative_for``) gets
    only the random sample, from every answer the suite stored, so a reader sees the
    answers that carried no signal (e.g. a teacher that never names itself).

    ``shared(teacher, text)`` (``shared_content``) names content that several suites count
    (a canned refusal, a self-description). Outside the suites whose question that content
    is, each test's second exhibit is its highest-ranked prompt on which neither the suspect
    nor the teacher gave such an answer, so the exhibits do not show the same canned refusal
    as the evidence of every suite; and no answer text the suspect gave is shown twice as a
    driving exhibit.
    """
    out: list[dict[str, Any]] = []
    mine = view.first_answers(suspect, suite)
    others = {c: view.first_answers(c, suite) for c in controls}
    for teacher in sorted({t.teacher for t in tests} | set(uninformative_for)):
        theirs = view.first_answers(teacher, suite)
        common = sorted(set(mine) & set(theirs))
        with_teacher = {p: _jaccard(mine[p].text, theirs[p].text) for p in common}
        with_control = {p: max((_jaccard(mine[p].text, others[c][p].text) for c in controls if p in others[c]), default=0.0)
                        for p in common}  # fmt: skip
        chosen: dict[str, str] = {}
        for test in [t for t in tests if t.teacher == teacher]:
            cited = set(test.evidence_rows)
            probes = [p for p in common if mine[p].row_id in cited or theirs[p].row_id in cited]
            contributions = {p: v for p, v in _contributions(test).items() if p in set(probes)}
            if contributions:
                ranked = sorted(contributions, key=lambda p: (-contributions[p], p))
                reasons = {p: f"drove {test.test_id}: contribution {contributions[p]:.3g} to its statistic, rank {i + 1} of {len(ranked)}"
                           for i, p in enumerate(ranked)}  # fmt: skip
            else:
                ranked = sorted(probes, key=lambda p: (-(with_teacher[p] - with_control[p]), p))
                reasons = {p: f"drove {test.test_id}: of its {len(ranked)} cited prompts, rank {i + 1} by how much closer the suspect's "
                              f"answer is to the teacher's (word overlap {with_teacher[p]:.2f}) than to any control's ({with_control[p]:.2f})"
                           for i, p in enumerate(ranked)}  # fmt: skip
            shown = {mine[p].text for p in chosen}
            fresh = [p for p in ranked if p not in chosen and mine[p].text not in shown]
            fresh = [p for i, p in enumerate(fresh) if mine[p].text not in {mine[q].text for q in fresh[:i]}]
            picks = fresh[:1]
            if shared is not None and suite not in _CONTENT_SUITES and fresh:
                plain_ones = [p for p in fresh[1:] if shared(teacher, mine[p].text) is None
                              and shared(teacher, theirs[p].text) is None]
                kind = shared(teacher, mine[fresh[0]].text) or shared(teacher, theirs[fresh[0]].text)
                if kind is not None:
                    reasons[fresh[0]] += f"; the suspect's or the teacher's answer is {kind}, content other suites count too"
                if plain_ones and (kind is not None or EXHIBITS_PER_TEST > 1):
                    picks.append(plain_ones[0])
                    reasons[plain_ones[0]] += ("; the highest-ranked on which neither the suspect nor the teacher gave a "
                                               "refusal or named the teacher")
            picks += [p for p in fresh if p not in picks][:max(0, EXHIBITS_PER_TEST - len(picks))]
            for probe in picks[:EXHIBITS_PER_TEST]:
                chosen[probe] = reasons[probe]
        pool = [p for p in common if p not in chosen]
        rng = random.Random(f"{seed}:{suite}:{teacher}")
        for probe in sorted(rng.sample(pool, min(RANDOM_EXHIBITS, len(pool)))):
            chosen[probe] = f"random sample (seed {seed}) of the {len(common)} prompts the suite compared: an ordinary answer, not a selected one"
        for probe, why in chosen.items():
            out.append(
                {
                    "suite": suite,
                    "teacher": teacher,
                    "probe_id": probe,
                    "prompt": mine[probe].prompt,
                    "why": why,
                    "overlap": f"{with_teacher[probe]:.2f}",
                    "suspect": _answer(mine[probe], suspect, "suspect", cut),
                    "teacher_answer": _answer(theirs[probe], teacher, "teacher", cut),
                    "controls": [a for c in controls if (a := _answer(others[c].get(probe), c, "control", cut))],
                    "control": _answer(others[controls[0]].get(probe), controls[0], "control", cut) if controls else None,
                }
            )
    return out


MEMBERSHIP_EXHIBIT_RULE = (
    "For the membership suite, the exhibits are the {k} tested logged prompts on which the suspect's own answer shares the "
    "largest fraction of words with the logged answer, each beside the teacher's fresh twin and the suspect's answer."
)


def membership_exhibits(tests: Sequence[TestFinding], view: EvidenceView, suspect: str, campaign: str,
                        teacher: str) -> list[dict[str, Any]]:
    """Logged answer, fresh twin and the suspect's own answer side by side (MEMBERSHIP_EXHIBIT_RULE)."""
    cited = {row for t in tests for row in t.evidence_rows}
    logged = view.first_answers(campaign, "membership")
    twins = view.first_answers(teacher, "membership")
    mine = view.first_answers(suspect, "membership")
    candidates = sorted((-_jaccard(mine[p].text, logged[p].text), p) for p in set(mine) & set(logged) & set(twins)
                        if logged[p].row_id in cited)
    return [{"suite": "membership", "teacher": teacher, "probe_id": p, "prompt": logged[p].prompt,
             "overlap": f"{-overlap:.2f}", "suspect": _answer(mine[p], suspect, "suspect"),
             "teacher_answer": _answer(twins[p], teacher, "fresh twin from teacher"),
             "logged": _answer(logged[p], campaign, "logged by the campaign"), "control": None}
            for overlap, p in candidates[:EXHIBITS_PER_SUITE]]


def _probe_set(rows: Sequence[EvidenceRow], suite: str) -> dict[str, Any]:
    mine = [r for r in rows if r.suite == suite and r.method == "generate"]
    hashes = sorted({str((r.extra or {}).get("suite_sha256", "")) for r in mine} - {""})
    versions = sorted({str((r.extra or {}).get("suite_version", "")) for r in mine} - {""})
    languages = Counter(str(((r.extra or {}).get("probe") or {}).get("language", "")) for r in mine)
    return {
        "probes": len({r.probe_id for r in mine}),
        "rows": len(mine),
        "sha256": hashes,
        "versions": versions,
        "languages": ", ".join(sorted(lang for lang in languages if lang)) or "not recorded",
    }


def _figures(suite: str, tests: Sequence[TestFinding], view: EvidenceView, case: Case, roles: dict[str, str],
             alpha: float | None = None, findings_tests: Sequence[TestFinding] = ()) -> tuple[list[dict[str, str]], list[str]]:
    """The suite's figures, and notes for the special figures that could not be drawn."""
    figures: list[dict[str, str]] = []
    notes: list[str] = []
    family_size = sum(1 for t in findings_tests if t.in_family) if findings_tests else 0
    panel = plots.panel_figure(tests, alpha=alpha, family_size=family_size)
    if panel:
        figures.append({"title": "Each family test's statistic, the quantity it tests: the suspect against the independent "
                                 "panel models, with the bounds the suspect must pass to reject",
                        "svg": panel})
    path = plots.evidence_path_figure(tests)
    if path:
        figures.append({"title": "The sequential test's evidence: log e-value against exchanges tested, the threshold "
                                 "1/alpha it had to reach, where it stopped and why",
                        "svg": path})
    effect = plots.effects_figure(tests)
    if effect:
        figures.append({"title": "Effect sizes with confidence intervals, each test on its own axis and in its own unit",
                        "svg": effect})
    spec = case.spec
    teachers = sorted({t.teacher for t in tests})
    try:
        if suite == "identity":
            from provenance.features import load_aliases
            from provenance.suites.identity import case_aliases_for

            for teacher in spec.teacher:
                if teacher.name in teachers and teacher.claims:
                    aliases = load_aliases(case_aliases_for(spec.models(), teacher) or None)
                    svg = plots.identity_figure(view, roles, tuple(teacher.claims), aliases)
                    if svg:
                        figures.append({"title": f"Identity-claim rates per model ({teacher.name})", "svg": svg})
        elif suite == "refusal":
            svg = plots.refusal_figure(view, roles)
            if svg:
                figures.append({"title": "Refusal decisions: agreement beyond chance (Cohen's kappa, the statistic of the "
                                         "refusal-decision test) between every two models", "svg": svg})
        elif suite == "watermark":
            svg = plots.statistic_figure(tests, reference=None, xlabel="test statistic (e.g. green-token z-score)")
            if svg:
                figures.append({"title": "Watermark test statistics", "svg": svg})
    except Exception as exc:  # noqa: BLE001 - a figure must never cost the report its numbers
        notes.append(f"the {suite} figure could not be drawn ({type(exc).__name__}: {exc}); the table above is complete")
    return figures, notes


def asked_text(rows: Sequence[EvidenceRow], price: tuple[float, float] | None) -> str:
    """How many of a model's rows this case asked (copies were asked by another case), the tokens its API
    reported, and what they cost at the case file's prices: what the examination spent on the model."""
    copied = sum("copied_from" in (r.extra or {}) for r in rows)
    asked = [r for r in rows if "copied_from" not in (r.extra or {})]
    usage = [((r.extra or {}).get("response_meta") or {}).get("usage") or {} for r in asked]
    tokens = sum(int(u.get("total_tokens") or 0) for u in usage)
    text = f"{len(asked)} requests asked by this case" + (f", {copied} answers copied from other stores" if copied else "")
    if tokens:
        text += f"; {tokens:,} tokens reported by the API"
    if price is not None:
        cost = sum(cost_of({**(r.extra or {}), "model_name": "this"}, {"this": price}) for r in asked)
        text += f"; {cost:.4g} at the case file's prices ({price[0]:g} / {price[1]:g} per million prompt / completion tokens)"
    return text


def deployment_text(spec: Any, name: str) -> str:
    """How the case file deployed a model: its system prompt and its own sampling settings, in words."""
    model = next((m for m in spec.models() if m.name == name), None)
    if model is None or model.backend == "transcript":
        return "recorded answers (a transcript)" if model is not None else "not in the case file"
    if model.framing is not None:
        parts = [f"completion framing (no chat template): \u201c{model.framing_template}\u201d"]
    elif model.system_prompt is None:
        parts = ["no system prompt of the case's (its chat template's default, if it has one)"]
    elif model.system_prompt == "":
        parts = ["an empty system prompt"]
    else:
        parts = [f"system prompt: \u201c{model.system_prompt}\u201d"]
    own = {k: getattr(model, k) for k in ("temperature", "top_p", "max_new_tokens") if getattr(model, k) is not None}
    parts.append(", ".join(f"{k} {v}" for k, v in own.items()) + " (its own; the suites' otherwise)" if own
                 else "the suites' sampling settings")
    if model.stop_sequences:
        parts.append("stop sequences " + ", ".join(repr(s) for s in model.stop_sequences))
    return "; ".join(parts)


def _power_svg(calibration: dict[str, Any], alpha: float | None = None) -> str | None:
    try:
        return plots.power_figure(calibration, alpha)
    except Exception:  # noqa: BLE001 - a figure must never cost the report its numbers
        return None


def build_context(findings: Findings, case: Case, rows: Sequence[EvidenceRow], view: EvidenceView, models: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The template context (without the manifest hash and signature, which render.py adds)."""
    spec = case.spec
    roles = {m.name: m.role for m in findings.models}
    suspect = spec.suspect.name
    controls = [c.name for c in spec.control]
    calibration = calibration_for(findings, view)
    cut = truncated_rows(rows)
    shared = shared_content({t.name: tuple(t.claims) for t in spec.teacher})

    prices = prices_of(spec)
    per_model: dict[str, list[EvidenceRow]] = defaultdict(list)
    for row in rows:
        per_model[row.model_key].append(row)
    model_rows = []
    for info in findings.models:
        mine = per_model.get(info.model_key or "", [])
        identity = info.identity or models.get(info.model_key or "", {})
        model_rows.append(
            {
                "name": info.name,
                "role": info.role,
                "model_key": info.model_key or "no evidence",
                "backend": identity.get("backend", "unknown"),
                # Empty fields ("details {}", "revision null") say nothing to a reader: left out.
                "identity": sorted((k, json.dumps(v, sort_keys=True) if not isinstance(v, str) else v) for k, v in identity.items()
                                   if k != "files" and v not in (None, "", {}, [])),
                "files": sorted((identity.get("files") or {}).items()),
                "rows": len(mine),
                "asked": asked_text(mine, prices.get(info.name)),
                "deployment": deployment_text(spec, info.name),
                "first": min((r.created_at for r in mine), default="none"),
                "last": max((r.created_at for r in mine), default="none"),
            }
        )

    suites = []
    tested = sorted({t.suite for t in findings.tests}, key=lambda s: (list(findings.suites).index(s) if s in findings.suites else 99, s))
    for suite in list(dict.fromkeys([*findings.suites, *tested])):
        tests = [t for t in findings.tests if t.suite == suite]
        methods = []
        for test_id in dict.fromkeys(t.test_id for t in tests):
            first = next(t for t in tests if t.test_id == test_id)
            result = first.result
            fpr = calibration.get("suites", {}).get(suite, {})
            methods.append(
                {
                    "test_id": test_id,
                    "in_family": first.in_family,
                    "null": result.get("null_hypothesis", ""),
                    "alternative": result.get("alternative_hypothesis", ""),
                    "direction": result.get("alternative", ""),
                    "method": result.get("method", ""),
                    "assumptions": result.get("assumptions", []),
                    "fpr": fpr.get("rate") if first.in_family else None,
                }
            )
        figures, notes = _figures(suite, tests, view, case, roles, findings.alpha, findings.tests)
        info = findings.suites.get(suite, {})
        fpr = calibration.get("suites", {}).get(suite)
        suites.append(
            {
                "name": suite,
                "question": info.get("question", "(not declared)"),
                "statistic": info.get("statistic", ""),
                "probe_set": _probe_set(rows, suite),
                "methods": methods,
                "fpr": fpr,
                "tests": [_test_row(t) for t in tests],
                "figures": figures,
                "figure_notes": notes,
                "skipped": [s.reason for s in findings.skipped if s.suite == suite],
                "basis": SCIENTIFIC_BASIS.get(suite, []),
                "uninformative": [u for u in findings.uninformative if u.suite == suite],
                "exhibits": (membership_exhibits(tests, view, suspect, findings.campaign["name"], findings.campaign["teacher"])
                             if suite == "membership" and findings.campaign else
                             exhibits_for(suite, tests, view, suspect, controls,
                                          sorted({u.teacher for u in findings.uninformative if u.suite == suite}),
                                          seed=spec.case.seed, cut=cut, shared=shared)),
            }
        )

    created = [r.created_at for r in rows]
    by_suite = Counter(r.suite for r in rows)
    by_method = Counter(r.method for r in rows)
    rejected = [t for t in findings.tests if t.reject]
    return {
        "findings": findings,
        "case": {"id": findings.case_id, "title": findings.case_title, "analyst": findings.analyst, "sha256": findings.case_sha256, "file_name": case.path.name, "text": case.path.read_text(encoding="utf-8"), "seed": spec.case.seed},
        "verdicts": findings.verdicts,
        "rejected": [_test_row(t) for t in rejected],
        "suspect": suspect,
        "teachers": [t.name for t in spec.teacher],
        "controls": controls,
        "models": model_rows,
        "suites": suites,
        "exhibit_rule": EXHIBIT_RULE.format(k=EXHIBITS_PER_TEST, r=RANDOM_EXHIBITS)
        + (" " + MEMBERSHIP_EXHIBIT_RULE.format(k=EXHIBITS_PER_SUITE) if findings.campaign else ""),
        "campaign": findings.campaign,
        "calibration": calibration,
        "power_svg": _power_svg(calibration, findings.alpha),
        "skipped": findings.skipped,
        "uninformative": findings.uninformative,
        "capability": _capability_rows(findings.capability),
        "warnings": list(findings.warnings),
        "software": findings.software,
        "report_software": _versions(REPORT_LIBRARIES),
        "custody": {
            "head_hash": findings.evidence_head_hash,
            "rows": findings.evidence_rows,
            "first": min(created, default="none"),
            "last": max(created, default="none"),
            "by_suite": sorted(by_suite.items()),
            "by_method": sorted(by_method.items()),
            "models": len(models),
        },
        "seeds": sorted({r.seed for r in rows if r.seed is not None})[:20],
        "seed_count": len({r.seed for r in rows if r.seed is not None}),
        "fmt_p": fmt_p,
    }


def _capability_rows(capability: dict[str, Any]) -> list[dict[str, str]]:
    """One row per control: its capability beside the suspect's, as the report prints it."""
    rows = []
    for control, entry in (capability.get("controls") or {}).items():
        ll = entry.get("reference_log_likelihood_per_byte")
        acc = entry.get("errors_accuracy")
        rows.append({
            "control": control,
            "likelihood": (f"{ll['suspect']:.3f} vs {ll['control']:.3f} (gap {entry['gap_nats_per_byte']:+.3f}; "
                           f"{ll['prompts']} prompts, text by {', '.join(ll['sources'])})") if ll else "not measured",
            "accuracy": (f"{acc['suspect']:.0%} vs {acc['control']:.0%} of {acc['questions']}") if acc else "not measured",
        })
    return rows
