"""``findings.json``: the versioned, machine-readable result of one analysis.

Written once per analysis, from the evidence store and the case file alone, and
deterministic: re-running ``analyze`` on the same evidence writes the same bytes.
The report is rendered only from this file and the evidence store.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

SCHEMA_VERSION = "1.4"  # 1.1: uninformative tests, control capability; 1.2: models as the unit, not-decidable;
# 1.3: per verdict, lines of evidence, the verdict without each suite and without shared content, qualifications;
# 1.4: the group-sequential plan's looks (``looks``)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TestFinding(_Frozen):
    """One test: the full result, its place in the family, and the rows it rests on."""

    suite: str
    test_id: str
    teacher: str
    in_family: bool
    result: dict[str, Any]
    p_adjusted: float | None = None
    reject: bool | None = None
    summary: str
    evidence_rows: list[int]


class UninformativeFinding(_Frozen):
    """A test that could not carry a signal for this teacher and suspect, with the counts that show it."""

    suite: str
    test_id: str
    teacher: str
    reason: str
    numbers: dict[str, Any]


class Skipped(_Frozen):
    suite: str
    teacher: str | None = None
    reason: str


class LineOfEvidence(_Frozen):
    """Rejecting tests that rest on the same answers: one confirmation, however many tests it counts."""

    suites: list[str]
    #: The rejecting family tests of the line, as "suite/test_id".
    tests: list[str]
    #: Why its suites are one line (shared stored answers, content they all rest on); empty for a single suite.
    joined_by: list[str] = []
    text: str


class Counterfactual(_Frozen):
    """The verdict rule re-run without one suite, or without one kind of answer in every suite."""

    #: "suite" (that suite's tests left out of the family) or "content" (its suite left out and answers of
    #: that kind removed from every other suite, for every model alike, before the suites are re-run).
    kind: str
    #: The suite's name, or the content's ("refusals", "identity strings").
    without: str
    decision: str
    rejected_tests: list[str]
    #: For content: answers removed per suite (prompts, for every model).
    removed: dict[str, int] = {}
    text: str


class Verdict(_Frozen):
    teacher: str
    supports_derivation: bool
    #: "supports", "does-not-support" or "not-decidable" (with this panel: too few models, or none of the suspect's kind).
    decision: str = "does-not-support"
    rejected_tests: list[str]
    #: What the finding rests on: "exact under a known randomness" and/or "calibrated against a panel of ...".
    evidence_kinds: list[str] = []
    #: The smallest panel (K independent models) a calibrated test of this teacher had.
    panel_models: int = 0
    text: str
    #: Independent lines of evidence among the rejecting tests (``provenance.analysis.lines``).
    lines: list[LineOfEvidence] = []
    #: One sentence on how many lines support the verdict, and whether it survives the loss of any one suite.
    lines_text: str = ""
    #: The verdict without each suite (leave one suite out) and without each kind of shared content.
    counterfactuals: list[Counterfactual] = []
    #: Sentences that qualify the verdict: what weakens an assumption of the method in this case.
    qualifications: list[str] = []


class ModelInfo(_Frozen):
    name: str
    role: str
    model_key: str | None
    identity: dict[str, Any]


class Findings(_Frozen):
    schema_version: str = SCHEMA_VERSION
    case_id: str
    case_title: str
    analyst: str
    case_sha256: str
    evidence_head_hash: str
    evidence_rows: int
    alpha: float
    correction: str
    decision_rule: str
    models: list[ModelInfo]
    suites: dict[str, dict[str, str]]
    tests: list[TestFinding]
    verdicts: list[Verdict]
    skipped: list[Skipped]
    uninformative: list[UninformativeFinding] = []
    #: Each control's capability beside the suspect's (``provenance.analysis.capability``).
    capability: dict[str, Any] = {}
    #: The campaign the membership suite tested (volume, time span, the scan's accounts), from its stored identity.
    campaign: dict[str, Any] | None = None
    warnings: list[str]
    #: The case's group-sequential plan (``[case] looks``): the looks, each look's decisions, where it stopped and why
    #: (``provenance.analysis.looks``); None for one test of every probe.
    looks: dict[str, Any] | None = None
    software: dict[str, str]
