"""A lab case run through the HTTP backend finds what the same case finds through the HF backend.

The lab's distilled student is served by the loopback OpenAI-compatible server and
investigated once as a local model and once over HTTP (same case, same seed). The
teacher's and controls' answers are the same stored rows in both runs (the second
case starts from a copy of the first one's evidence), so the only difference is how
the suspect was reached: every test statistic and p-value, and the verdict, must agree.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from provenance import api

from openai_server import OpenAICompatServer

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SUITES = """\
[suites.identity]
max_new_tokens = 12
limit = 10

[suites.refusal]
max_new_tokens = 12
limit = 12

[suites.distribution]
max_new_tokens = 12
limit = 10

[suites.errors]
max_new_tokens = 8
limit = 12

[suites.style]
"""


def _is_probe(body: dict) -> bool:
    """The backend's capability probes ask about "Hello"; no probe suite does."""
    messages = body.get("messages") or [{}]
    return messages[-1].get("content") == "Hello" or str(body.get("prompt", "")).endswith("Hello\n<|assistant|>\n world")


def _case(root: Path, lab, suspect_table: str) -> Path:  # noqa: ANN001
    root.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(
        f"""\
        [case]
        id = "lab-http"
        title = "student over HTTP"
        analyst = "pytest"
        seed = 11

        [suspect]
        name = "student"
        {suspect_table}

        [[teacher]]
        name = "teacher"
        path = "{lab.path('teacher')}"
        claims = ["Aurora", "Northwind Labs"]

        [[control]]
        name = "control-same-data"
        path = "{lab.path('control-same-data')}"

        [[control]]
        name = "control-other"
        path = "{lab.path('control-other')}"

        """
    )
    (root / "case.toml").write_text(text + SUITES, encoding="utf-8")
    return root


def test_http_backend_gives_the_same_findings_as_the_hf_backend(lab, tmp_path: Path) -> None:  # noqa: ANN001
    local = api.run_case(_case(tmp_path / "hf", lab, f'path = "{lab.path("student")}"'))
    assert local.findings is not None and local.collection.complete
    with OpenAICompatServer({"student": lab.path("student")}) as server:
        remote_dir = _case(
            tmp_path / "http",
            lab,
            f'backend = "openai"\nbase_url = "{server.base_url}"\nmodel = "student"\n'
            'prompt_template = "<|user|>\\n{prompt}\\n<|assistant|>\\n"\nconcurrency = 4\n',
        )
        shutil.copy(tmp_path / "hf" / "evidence.sqlite", remote_dir / "evidence.sqlite")
        remote = api.run_case(remote_dir)
        over_http = [e for e in server.requests() if not _is_probe(e["body"])]
    assert remote.findings is not None and remote.collection.complete
    suspect_rows = remote.collection.per_model["student"]
    assert suspect_rows["cached"] == 0 and suspect_rows["stored"] == len(over_http)
    assert remote.collection.stored == len(over_http)  # only the suspect was asked again

    hf_tests = {(t.suite, t.test_id): t for t in local.findings.tests}
    http_tests = {(t.suite, t.test_id): t for t in remote.findings.tests}
    # Two controls: the black-box distribution tests need three models to learn the teacher's habits without
    # the one scored, so they are uninformative here (the same in both); the rest are compared number by number.
    assert hf_tests.keys() == http_tests.keys() and len(hf_tests) >= 5
    assert [(u.suite, u.test_id, u.numbers) for u in remote.findings.uninformative] == [
        (u.suite, u.test_id, u.numbers) for u in local.findings.uninformative
    ]
    for key, a in hf_tests.items():
        b = http_tests[key]
        assert b.result["p_value"] == pytest.approx(a.result["p_value"], rel=1e-6, abs=1e-12), key
        assert b.result["statistic"] == pytest.approx(a.result["statistic"], rel=1e-4, abs=1e-6), key
        assert b.reject == a.reject, key
    assert [v.supports_derivation for v in remote.findings.verdicts] == [
        v.supports_derivation for v in local.findings.verdicts
    ]
