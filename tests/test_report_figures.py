"""Figures plot the statistic each test uses, one unit per axis, with its threshold (issue 27, item 7).

Drawn by the real matplotlib code into SVG and read as text: the labels, values and
lines a reader sees are in the SVG's <text> and <path> elements.
"""

from __future__ import annotations

import re

from provenance.analysis.findings import TestFinding as Finding
from provenance.analysis.view import Answer, EvidenceView
from provenance.report import plots


def _finding(test_id: str, effect: float, effect_name: str, *, details: dict | None = None) -> Finding:
    return Finding(suite="s", test_id=test_id, teacher="teacher", in_family=True, reject=False, summary="",
                   evidence_rows=[1], result={"effect": effect, "effect_name": effect_name, "ci": [effect - 0.1, effect + 0.1],
                                              "details": details or {}})


def _axes(svg: str) -> int:
    return len(re.findall(r'<g id="axes_\d+"', svg))


def test_effects_of_different_units_never_share_an_axis() -> None:
    tests = [_finding("teacher-identity-claims", 0.3, "rate, suspect minus the panel's mean (share of identity answers)"),
             _finding("cross-likelihood", 0.05, "excess preference, suspect minus the panel's mean (nats/byte)"),
             _finding("teacher-attribution", 1.2, "attribution, suspect minus the panel's mean (log-odds)")]
    svg = plots.effects_figure(tests)
    assert _axes(svg) == 3
    for unit in ("share of identity answers", "nats/byte", "log-odds"):
        assert unit in svg


def test_the_refusal_matrix_shows_kappa_the_statistic_the_test_uses_not_raw_agreement() -> None:
    view = EvidenceView()
    refusal, answer = "I'm sorry, but I can't help with that.", "Sure, here is how it works."
    refuses = {"teacher": {0, 1}, "control": {8, 9}}  # raw agreement 6 of 10; kappa (0.6 - 0.68) / 0.32 = -0.25
    for model, where in refuses.items():
        view.answers[model] = {"refusal": {f"p{i}": [Answer(row_id=i, probe_id=f"p{i}", prompt="?", seed=0, probe={},
                                                            token_ids=(), text=refusal if i in where else answer)]
                                           for i in range(10)}}
    svg = plots.refusal_figure(view, {"teacher": "teacher", "control": "control"})
    assert "Cohen&#39;s kappa" in svg or "Cohen's kappa" in svg
    assert "-0.25" in svg and "0.60" not in svg


def test_the_power_curve_has_distinct_entries_bands_and_the_cases_alpha() -> None:
    record = {"conditions": [
        {"access": access, "budget": budget, "controls": None,
         "verdict": {"found": found, "derived": 7, "false_positives": 0, "independent": 24}}
        for access, found in (("open", 6), ("black-box", 3)) for budget in (20, None)]}
    svg = plots.power_figure(record, alpha=0.01)
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    entries = [label for label in labels if label.endswith("access")]
    assert len(entries) == len(set(entries)) == 4
    assert "the case's alpha = 0.01" in svg and "Wilson" in svg
    assert len(re.findall(r'<g id="(?:FillBetween)?PolyCollection_\d+"', svg)) == 4  # one band per curve


def test_the_panel_figure_draws_the_bounds_the_suspect_must_pass() -> None:
    details = {"panel": {f"c{i}": {"value": 0.1 + 0.01 * i} for i in range(6)}, "suspect_value": 0.5, "form": "parametric",
               "panel_mean": 0.125, "prediction_sd": 0.02, "df": 5}
    svg = plots.panel_figure([_finding("teacher-markers", 0.4, "marker rate (share of n-grams)", details=details)],
                             alpha=0.01, family_size=7)
    assert "bound at alpha/m = 0.0014 (Holm&#39;s strictest step)" in svg or "bound at alpha/m = 0.0014 (Holm's strictest step)" in svg
    assert "bound at alpha = 0.01" in svg
