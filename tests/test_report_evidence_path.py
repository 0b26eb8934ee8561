"""The report draws the sequential test's evidence path with its threshold and stop (issue 31, item 4).

The real matplotlib figure, embedded in a real weasyprint PDF and read back with pypdf.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from provenance.analysis.findings import TestFinding as Finding
from provenance.report import plots


def _membership(path: list[float], reason: str, why: str) -> Finding:
    sequential = {"stopped_at": len(path), "reason": reason, "why": why, "e_value": path[-1], "e_max": max(path),
                  "threshold": 100.0, "path": path, "guard_path": [1.0] * len(path), "pairs_available": 456}
    return Finding(suite="membership", test_id="membership-likelihood", teacher="teacher", in_family=True,
                   reject=reason == "evidence", summary="", evidence_rows=[1],
                   result={"effect": 0.1, "effect_name": "log-likelihood gain (nats)", "details": {"sequential": sequential}})


def test_the_evidence_path_figure_shows_threshold_stop_and_reason_in_a_real_pdf() -> None:
    import weasyprint

    path = [1.2 ** k for k in range(1, 31)]  # crosses 100 at 26; stored as the rule saw it
    svg = plots.evidence_path_figure([_membership(path, "evidence", "the evidence crossed 1/alpha")])
    assert svg is not None
    labels = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert "threshold 1/alpha = 100" in labels and "stopped after 30" in labels
    pdf = weasyprint.HTML(string=f"<html><body><p>Evidence path</p>{svg}</body></html>").write_pdf()
    # pypdf reads SVG text runs without their spaces: compare with whitespace removed.
    text = re.sub(r"\s", "", "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))
    for words in ("threshold 1/alpha = 100", "stopped after 30", "the evidence crossed 1/alpha", "log10 e-value"):
        assert re.sub(r"\s", "", words) in text, words


def test_no_evidence_path_figure_without_a_sequential_test() -> None:
    fixed = Finding(suite="membership", test_id="membership-likelihood", teacher="teacher", in_family=True,
                    reject=False, summary="", evidence_rows=[1], result={"effect": 0.1, "details": {}})
    assert plots.evidence_path_figure([fixed]) is None
