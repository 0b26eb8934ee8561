"""The report tests' case: three tiny models, the identity suite, and hostile model output.

A model "answers" with hostile text, stored through the real evidence store, so a
report must quote HTML, a file:// image, a NUL byte, a right-to-left override, CJK
and right-to-left scripts and a 2,000-character line without obeying any of it.
Built once per session (``report_case`` in conftest.py) and shared by every report test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from provenance import api
from provenance.evidence import EvidenceStore
from provenance.tinymodel import build_tiny_model

HOSTILE = (
    '<img src=file:///etc/passwd> <script>alert("owned")</script> <style>*{display:none}</style> '
    '<link rel="stylesheet" href="http://127.0.0.1:9/evil.css"> '
    "NUL:\x00: override:\u202eevil\u202c: "
    "Arabic مرحبا بالعالم Hebrew שלום עולם Chinese 你好世界 Japanese こんにちは Korean 안녕하세요 "
    + "W" * 2000
)
CONTROL_HOSTILE = "<iframe src='file:///etc/shadow'></iframe> &amp; {{ 7*7 }}"


def write_report_case(root: Path, suspect: Path, teacher: Path, control: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "case.toml").write_text(
        textwrap.dedent(
            f"""\
            [case]
            id = "report-test"
            title = "Report test: suspect vs teacher"
            analyst = "pytest analyst"
            seed = 5

            [suspect]
            name = "suspect"
            path = "{suspect}"

            [[teacher]]
            name = "teacher"
            path = "{teacher}"
            claims = ["Aurora", "Northwind Labs"]

            [[control]]
            name = "control"
            path = "{control}"

            [suites.identity]
            max_new_tokens = 8
            limit = 4

            [suites.style]
            """
        ),
        encoding="utf-8",
    )
    return root


def store_hostile_answers(case_dir: Path) -> None:
    """Append one answer per model to a probe of our own, through the real store."""
    with EvidenceStore.open_existing(case_dir / "evidence.sqlite", "report-test") as store:
        template = {}
        for row in store.rows(suite="identity"):
            template.setdefault(row.extra["model_name"], row)
        for name, text in (("suspect", HOSTILE), ("teacher", HOSTILE), ("control", CONTROL_HOSTILE)):
            row = template[name]
            store.append(
                model_key=row.model_key, method="generate", suite="identity", probe_id="hostile-1",
                prompt="Who are you? <b>answer</b>", params=row.params, seed=row.seed,
                response={**row.response, "text": text}, latency_s=0.01, extra=row.extra,
            )  # fmt: skip


def build_report_case(root: Path, models: Path, tiny_model: Path, tiny_model_b: Path) -> Path:
    """Collect and analyse the case; the caller owns ``root`` and ``models``."""
    control = build_tiny_model(models / "tiny-c", seed=3)
    write_report_case(root, tiny_model, tiny_model_b, control)
    assert api.collect(root).complete
    store_hostile_answers(root)
    api.analyze(root)
    return root
