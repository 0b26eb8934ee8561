"""provenance: forensic model-provenance analysis.

Finds the traces that distillation leaves (identity claims, refusal style,
output distributions, watermarks, shared mistakes) and writes them up as evidence.
The library API lives in ``provenance.api``; the common entry points are
re-exported here lazily, so ``import provenance`` stays fast and torch-free.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {"run_case", "collect", "analyze", "load_case", "init_case", "verify_evidence", "render_report", "verify_report"}


def __getattr__(name: str) -> Any:
    if name in _API:
        from provenance import api

        return getattr(api, name)
    raise AttributeError(f"module 'provenance' has no attribute {name!r}")
