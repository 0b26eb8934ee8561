"""Audits: every suspect x teacher pair as a case, on a schedule, with history and diffs.

Modules, one job each: ``schema``/``loader`` (the audit file), ``scan`` (finding
suspects, refusing half-copied model directories), ``casefile`` (a pair's
generated case), ``plan`` (pair keys and what to re-run), ``worker`` (one pair),
``pool``/``raypool`` (executors), ``history`` (SQLite record of runs), ``diff``
(what changed, exit codes), ``index`` (index.json and index.html), ``run``
(``run_audit``, tying them together).
"""

from __future__ import annotations

from provenance.audit.diff import EXIT_ERROR, EXIT_NEW_FINDING, EXIT_NOTHING_NEW, AuditDiff
from provenance.audit.loader import Audit, load_audit
from provenance.audit.run import AuditRun, diff_audit, run_audit

__all__ = [
    "EXIT_ERROR",
    "EXIT_NEW_FINDING",
    "EXIT_NOTHING_NEW",
    "Audit",
    "AuditDiff",
    "AuditRun",
    "diff_audit",
    "load_audit",
    "run_audit",
]
