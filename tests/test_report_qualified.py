"""The verdict box carries its lines of evidence and its qualifications (issue 27, items 4 and 5).

Rendered from the shared report case (real weasyprint PDF, read back with pypdf),
with the verdict's lines, counterfactuals and qualifications set in findings.json
(the analysis that computes them is tested in test_lines_of_evidence.py): the report
must put them with the verdict, on the cover and in the summary, and keep the
analyst's notes out of the verdict.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pypdf import PdfReader

from provenance import api

QUALIFICATION = ("The method assumes that the independent models differ from the suspect as independent models differ "
                 "from one another, not in capability.")


def _text(page) -> str:  # noqa: ANN001
    return " ".join((page.extract_text() or "").split())


def test_qualifications_and_lines_stand_with_the_verdict_on_the_cover_and_in_the_summary(report_case: Path, tmp_path: Path) -> None:
    folder = tmp_path / "case"
    shutil.copytree(report_case, folder, ignore=shutil.ignore_patterns("report.*"))
    findings = json.loads((folder / "findings.json").read_text())
    assert findings["schema_version"] == "1.4"
    verdict = findings["verdicts"][0]
    verdict.update(
        lines=[{"suites": ["identity"], "tests": ["identity/teacher-identity-claims"], "joined_by": [],
                "text": "identity: identity/teacher-identity-claims"}],
        lines_text="The 1 test that rejected form 1 independent line of evidence.",
        counterfactuals=[{"kind": "suite", "without": "identity", "decision": "does-not-support", "rejected_tests": [],
                          "removed": {}, "text": "Without the identity suite the verdict would be: does not support."}],
        qualifications=[QUALIFICATION],
    )
    findings["warnings"] = ["an operator note: prefer controls matched to the suspect (see the README)"]
    (folder / "findings.json").write_text(json.dumps(findings, indent=2))
    result = api.render_report(folder)
    pages = [_text(p) for p in PdfReader(result.pdf_path).pages]
    cover = pages[0]
    assert "is qualified as follows:" in cover and QUALIFICATION in cover
    assert "form 1 independent line of evidence" in cover
    summary = next(p for p in pages if "1. Summary of findings" in p)
    assert "Lines of evidence." in summary and "Without the identity suite the verdict would be: does not support." in summary
    assert "What qualifies this verdict." in summary and QUALIFICATION in summary
    whole = " ".join(pages)
    assert "Warning: an operator note" not in whole  # not among what the evidence does not show
    assert "Notes the analysis gave the analyst" in whole and "an operator note" in whole
    assert "Line of evidence" in whole and "Leave one suite out" in whole  # the glossary names them
