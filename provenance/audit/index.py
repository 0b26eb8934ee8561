"""The audit index: every pair of a run with its verdict and links, as JSON and HTML.

Model names, directory names, verdict texts and error messages all come from
outside (a scanned folder's names are chosen by whoever uploaded the model), so
the HTML is rendered by jinja2 with autoescape on; links are relative to the
index so the output folder can be moved or served as it is.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from provenance.audit.diff import AuditDiff
from provenance.files import atomic_write

INDEX_SCHEMA = "provenance.audit-index/1"


def _link(target: str | None, base: Path) -> str | None:
    if not target:
        return None
    return Path(os.path.relpath(target, base)).as_posix()


def _environment() -> jinja2.Environment:
    templates = resources.files("provenance.audit") / "templates"
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (templates / name).read_text(encoding="utf-8")),
        autoescape=True,  # model output and file names are hostile
        undefined=jinja2.StrictUndefined,
    )


def index_data(audit_id: str, title: str, run: dict[str, Any], pairs: list[dict[str, Any]], diff: AuditDiff, out: Path) -> dict[str, Any]:
    """The index as plain data: what index.json holds and index.html shows."""
    new = set(diff.new_findings)
    rows = []
    for p in pairs:
        rows.append({
            "suspect": p["suspect"],
            "teacher": p["teacher"],
            "source": p["source"],
            "status": p["status"],
            "supports_derivation": p["supports_derivation"],
            "new_finding": (p["suspect"], p["teacher"]) in new,
            "verdict": p["verdict"],
            "error": p["error"],
            "suspect_sha256": p["suspect_hash"],
            "teacher_sha256": p["teacher_hash"],
            "pair_key": p["pair_key"],
            "case_dir": _link(p["case_dir"], out),
            "findings": _link(p["findings_path"], out),
            "report": _link(p["report_path"], out),
            "seconds": p["seconds"],
        })  # fmt: skip
    return {
        "schema": INDEX_SCHEMA,
        "audit_id": audit_id,
        "title": title,
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run": {k: run.get(k) for k in ("id", "started_at", "finished_at", "status", "executor", "wall_seconds")},
        "counts": {
            "pairs": len(rows),
            "derived": sum(1 for r in rows if r["supports_derivation"]),
            "failed": sum(1 for r in rows if r["status"] == "failed"),
            "new_findings": len(new),
        },
        "changes": [c.__dict__ for c in diff.changes],
        "pairs": rows,
    }


def write_index(out: Path, data: dict[str, Any]) -> tuple[Path, Path]:
    """Write index.json and index.html into the audit's output folder."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "index.json", out / "index.html"
    atomic_write(json_path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    atomic_write(html_path, _environment().get_template("index.html.j2").render(**data))
    return json_path, html_path
