"""Secrets never stored (issue 28): a key the server quotes back is redacted before the row is hashed.

A real loopback server (tests/openai_server.py, in its key-echoing mode) serves a real tiny
model; collection goes through the real HTTP client into a real evidence store.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from provenance.backends.openai_http import OpenAIHttpClient
from provenance.case import load_case
from provenance.collect import collect
from provenance.errors import EndpointError

from openai_server import OpenAICompatServer
from test_backend_openai import KEY, http_case, suspect_rows

KEYED = 'api_key_env = "PROVENANCE_TEST_KEY"\n'


def test_api_key_echoed_in_an_answer_is_redacted_before_the_row_is_hashed(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROVENANCE_TEST_KEY", KEY)
    with OpenAICompatServer({"tiny": tiny_model}, api_key=KEY, echo_key=True) as server:
        path = http_case(tmp_path, server.base_url, tiny_model_b, suspect_extra=KEYED)
        assert collect(load_case(path)).complete
    rows = suspect_rows(path)  # suspect_rows checks the chain: the hashes cover the redacted text
    assert rows and all(r.response["text"].startswith("your key is Bearer [redacted]") for r in rows)
    assert all("redacted" in r.extra["response_meta"] for r in rows)  # recorded in the row, under its hash
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("evidence.sqlite*"))
    assert KEY.encode() not in stored


@pytest.mark.parametrize(("key", "why"), [
    ("sk-caf\u00e9", "U+00E9"), ("sk-abc\r\n", "carriage return"), ("sk abc", "a space"), ("sk-\u0430bc", "U+0430"),
])  # fmt: skip
def test_api_key_a_header_cannot_carry_is_refused_with_the_reason(
    tmp_path: Path, tiny_model_b: Path, monkeypatch: pytest.MonkeyPatch, key: str, why: str
) -> None:
    monkeypatch.setenv("PROVENANCE_TEST_KEY", key)
    path = http_case(tmp_path, "http://127.0.0.1:9/v1", tiny_model_b, suspect_extra=KEYED)
    with pytest.raises(EndpointError, match=f"PROVENANCE_TEST_KEY holds .*{re.escape(why)}.*HTTP header cannot carry") as caught:
        collect(load_case(path))
    assert "cannot reach" not in str(caught.value) and key not in str(caught.value)
    with pytest.raises(EndpointError, match="HTTP header cannot carry"):
        OpenAIHttpClient("http://127.0.0.1:9/v1", api_key=key)
