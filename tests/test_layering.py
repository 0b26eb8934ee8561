"""The package's layering: no two modules import each other (at module level or inside a function)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "provenance"


def _imports() -> dict[str, set[str]]:
    modules = {"provenance." + ".".join(f.relative_to(PACKAGE).with_suffix("").parts): f for f in PACKAGE.rglob("*.py")}
    modules = {name.removesuffix(".__init__"): f for name, f in modules.items()}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("provenance"):
                submodules = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                # "from provenance.lab import data_files" imports the submodule, not the package's own code
                graph[name] |= submodules or ({node.module} & modules.keys())
            elif isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names} & modules.keys()
    return graph


def test_no_two_modules_import_each_other() -> None:
    graph = _imports()
    cycles = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets
                     if b != a and a in graph.get(b, ())})
    assert cycles == [], cycles


def test_collection_does_not_know_the_watermark_suite_and_gguf_does_not_know_the_hf_backend() -> None:
    graph = _imports()
    assert not any(m.startswith("provenance.watermark") for m in graph["provenance.collect"])
    assert "provenance.backends.hf" not in graph["provenance.backends.gguf"]
