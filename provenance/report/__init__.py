"""Evidence reports: findings.json + evidence store -> signed PDF/A-3b (and HTML), and their verification.

Submodules: ``render`` (the pipeline), ``context`` (what the templates show),
``plots`` (SVG figures), ``quote`` (escaping model output), ``assets`` (packaged
files and the URL fetcher), ``manifest`` and ``sign`` (what is signed, and how),
``keys`` (Ed25519 keys), ``verify``. The names below load lazily, because the
renderer pulls in weasyprint and matplotlib, which a CLI call that makes no report
should not pay for.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "render_report": "provenance.report.render",
    "ReportResult": "provenance.report.render",
    "verify_report": "provenance.report.verify",
    "ReportCheck": "provenance.report.verify",
    "generate_key": "provenance.report.keys",
    "ReportError": "provenance.report.errors",
    "KeyFileError": "provenance.report.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'provenance.report' has no attribute {name!r}")
