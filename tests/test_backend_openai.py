"""The OpenAI-compatible backend against a real HTTP server on loopback serving a real model.

Nothing here patches the client: faults (429 with Retry-After, 500, a dropped connection,
a response slower than the timeout, malformed JSON) are produced by the server over HTTP
(``openai_server.py``), and every test checks what ended up in the evidence store.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from provenance import api
from provenance.backends.base import Capability, GenerationParams
from provenance.backends.hf import HFBackend
from provenance.backends.openai import OpenAIBackend
from provenance.backends.openai_http import OpenAIHttpClient
from provenance.case import load_case
from provenance.collect import collect
from provenance.errors import CaseFileError, EndpointError
from provenance.evidence import EvidenceStore

from openai_server import Fault, OpenAICompatServer

TEMPLATE = "<|user|>\\n{prompt}\\n<|assistant|>\\n"  # the tiny models' chat template, as TOML text
KEY = "sk-provenance-DISTINCTIVE-3f9a7c21e8"
PROBE_PROMPT = "Hello"  # the backend's capability probe

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def server(tiny_model: Path):  # noqa: ANN201
    with OpenAICompatServer({"tiny": tiny_model}) as srv:
        yield srv


@pytest.fixture
def fresh(server: OpenAICompatServer) -> OpenAICompatServer:
    server.reset()
    return server


@pytest.fixture(scope="module")
def hf(tiny_model: Path) -> HFBackend:
    return HFBackend.load(tiny_model, batch_size=4)


def http_case(
    directory: Path,
    base_url: str,
    teacher: Path,
    *,
    limit: int = 4,
    suspect_extra: str = "",
    budget: str = "",
    case_id: str = "http-case",
) -> Path:
    """A case whose suspect is reached over HTTP and whose teacher is a local model."""
    directory.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(
        f"""\
        [case]
        id = "{case_id}"
        title = "http"
        analyst = "pytest"
        seed = 7

        [suspect]
        name = "suspect"
        backend = "openai"
        base_url = "{base_url}"
        model = "tiny"
        prompt_template = "{TEMPLATE}"
        timeout_s = 5
        concurrency = 2
        batch_size = 4
        """
    )
    text += suspect_extra
    text += textwrap.dedent(
        f"""

        [[teacher]]
        name = "teacher"
        path = "{teacher}"
        batch_size = 8

        [suites.identity]
        max_new_tokens = 8
        limit = {limit}

        [budget]
        max_requests = 100000
        """
    )
    path = directory / "case.toml"
    path.write_text(text + budget, encoding="utf-8")
    return path


def suspect_rows(case_path: Path) -> list:  # noqa: ANN201
    case = load_case(case_path)
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        assert store.verify().ok
        return [r for r in store.rows() if r.extra["model_name"] == "suspect"]


def sent_prompts(server: OpenAICompatServer, *, answered_only: bool = False) -> list[str]:
    """User prompts the server received (capability probes left out)."""
    out = []
    for entry in server.requests("/chat/completions"):
        if answered_only and entry["fault"] is not None:
            continue
        prompt = entry["body"]["messages"][-1]["content"]
        if prompt != PROBE_PROMPT:
            out.append(prompt)
    return out


def backend_for(server: OpenAICompatServer, **kwargs) -> OpenAIBackend:  # noqa: ANN003
    from provenance.backends.base import ModelIdentity

    client = OpenAIHttpClient(server.base_url, timeout_s=5, backoff_base_s=0.01, max_retries=kwargs.pop("max_retries", 3))
    identity = ModelIdentity(name="s", backend="openai", source=server.base_url)
    return OpenAIBackend(client, identity, model="tiny", **kwargs)


# ---------------------------------------------------------------- answers equal the local model's


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_http_answers_are_the_local_models_answers_for_the_same_seed(
    fresh: OpenAICompatServer, hf: HFBackend, temperature: float
) -> None:
    prompts = ["Who are you?", "Tell me about json", "x"]
    params = GenerationParams(max_new_tokens=10, temperature=temperature)
    backends = [backend_for(fresh)]
    if temperature == 0:  # the server seeds a sample by the text it is given, which differs in completions form
        backends.append(backend_for(fresh, api="completions", prompt_template=TEMPLATE.replace("\\n", "\n")))
    for backend in backends:
        over_http = backend.generate(prompts, params, seed=5)
        local = hf.generate(prompts, params, seed=5)
        assert [g.text for g in over_http] == [g.text for g in local]
        for a, b in zip(over_http, local):
            assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
            assert a.finish_reason == b.finish_reason


def test_scoring_over_echo_gives_the_local_log_probs(fresh: OpenAICompatServer, hf: HFBackend) -> None:
    backend = backend_for(fresh, prompt_template=TEMPLATE.replace("\\n", "\n"))
    assert Capability.SCORE in backend.capabilities
    prompts, texts = ["Who are you?", "", "a b"], ["I am a model, made here.", "Reference text.", " c d"]
    for a, b in zip(backend.score(prompts, texts), hf.score(prompts, texts)):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4)
    top = backend.top_logprobs(["Who are you?"], 3)[0]
    assert [t.token for t in top] == [t.token for t in hf.top_logprobs(["Who are you?"], 3)[0]]


def test_n_choices_come_from_one_request(fresh: OpenAICompatServer) -> None:
    backend = backend_for(fresh)
    backend.capabilities  # noqa: B018 - probe before counting
    fresh.reset()
    choices = backend.sample("Who are you?", GenerationParams(max_new_tokens=8, temperature=1.0), seed=3, n=3)
    assert len(choices) == 3 and len({c.text for c in choices}) > 1
    assert len(fresh.requests("/chat/completions")) == 1


def test_capabilities_are_declared_from_what_the_server_returns(tiny_model: Path) -> None:
    template = TEMPLATE.replace("\\n", "\n")
    with OpenAICompatServer({"tiny": tiny_model}, logprobs=False) as plain:
        caps = backend_for(plain, prompt_template=template).capabilities
        assert caps == {Capability.GENERATE}
        answer = backend_for(plain).generate(["Who are you?"], GenerationParams(max_new_tokens=4), seed=0)[0]
        assert answer.text and answer.logprobs is None
    with OpenAICompatServer({"tiny": tiny_model}) as full:
        assert backend_for(full).capabilities == {Capability.GENERATE, Capability.TOP_LOGPROBS}
        everything = {Capability.GENERATE, Capability.SCORE, Capability.TOP_LOGPROBS}
        assert backend_for(full, prompt_template=template).capabilities == everything


def test_a_suite_needing_scores_is_skipped_with_the_reason_when_the_server_cannot_score(
    tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path
) -> None:
    probes = tmp_path / "dist.toml"
    probes.write_text(
        '[suite]\nname = "distribution"\nversion = "t"\nquestion = "q"\nsource = "s"\n'
        + "".join(f'[[probe]]\nid = "d{i}"\nprompt = "Item {i}?"\n' for i in range(2))
    )
    path = http_case(tmp_path / "case", fresh.base_url, tiny_model_b, limit=1)
    text = path.read_text().replace(f'prompt_template = "{TEMPLATE}"\n', "")  # without it, no echo scoring
    path.write_text(text + f'\n[suites.distribution]\nprobes = "{probes}"\nmax_new_tokens = 4\n')
    summary = collect(load_case(path))
    assert summary.complete
    assert summary.skipped == [{"model": "suspect", "what": "score", "reason": "the backend cannot score continuations"}]
    assert fresh.requests("/v1/completions") == []  # no scoring request was sent


# ---------------------------------------------------------------- evidence and the store


def test_each_stored_response_carries_its_identity_evidence(tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path) -> None:
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=3)
    summary = collect(load_case(path))
    assert summary.complete and summary.stored == 6
    rows = suspect_rows(path)
    assert len(rows) == 3
    meta = rows[0].extra["response_meta"]
    assert meta["endpoint"] == f"{fresh.base_url}/chat/completions"
    assert meta["requested_model"] == meta["returned_model"] == "tiny"
    assert meta["system_fingerprint"].startswith("fp_") and meta["response_id"].startswith("chatcmpl-")
    assert meta["headers"]["x-request-id"] == meta["response_id"]
    assert "set-cookie" not in meta["headers"]  # only identifying headers are kept
    assert meta["latency_s"] > 0 and meta["timestamp"].endswith("Z") and meta["usage"]["total_tokens"] > 0
    case = load_case(path)
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        identity = store.models()[rows[0].model_key]
    assert identity["backend"] == "openai" and identity["details"]["model"] == "tiny"


def test_same_request_and_seed_is_served_from_the_store(tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path) -> None:
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=3)
    collect(load_case(path))
    fresh.reset()
    again = collect(load_case(path))
    assert (again.stored, again.cached) == (0, 6)
    assert fresh.requests() == []  # not even a capability probe


@pytest.mark.parametrize(
    ("faults", "timeout_s"),
    [
        pytest.param([Fault("429", retry_after=0.4, match="What is your name?")], 5, id="429-retry-after"),
        pytest.param([Fault("500", match="Who are you?"), Fault("500", match="Who are you?")], 5, id="500-twice"),
        pytest.param([Fault("drop", match="What are you?")], 5, id="dropped-connection"),
        pytest.param([Fault("slow", delay_s=3.0, match="Introduce yourself.")], 1.5, id="slower-than-timeout"),
        pytest.param([Fault("malformed", match="Who are you?")], 5, id="malformed-json"),
    ],
)
def test_transient_faults_are_retried_and_nothing_is_lost_or_duplicated(
    tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path, hf: HFBackend, faults: list[Fault], timeout_s: float
) -> None:
    fresh.inject(*faults)
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=4)
    path.write_text(path.read_text().replace("timeout_s = 5", f"timeout_s = {timeout_s}"))
    summary = collect(load_case(path))
    assert summary.complete and summary.stored == summary.planned == 8
    rows = suspect_rows(path)
    assert len(rows) == 4 and len({r.request_key for r in rows}) == 4
    # what is stored is what the model says, faults or not
    expected = hf.generate([r.prompt for r in rows], GenerationParams(max_new_tokens=8), seed=7)
    assert [r.response["text"] for r in rows] == [g.text for g in expected]
    assert not fresh.faults, "every injected fault was hit"
    faulted = [e for e in fresh.requests() if e["fault"]]
    assert len(faulted) == len(faults)
    # each prompt was answered exactly once (the slow one may also have been computed after the client gave up)
    answered = Counter(sent_prompts(fresh, answered_only=True))
    assert answered == Counter(r.prompt for r in rows)
    retried = next(r for r in rows if r.prompt == faults[0].match)
    meta = retried.extra["response_meta"]
    assert meta["attempts"] == len(faults) + 1 and len(meta["retries"]) == len(faults)
    if faults[0].kind == "429":
        log = fresh.requests("/chat/completions")
        at = [e["at"] for e in log if e["body"]["messages"][-1]["content"] == faults[0].match]
        assert at[1] - at[0] >= 0.4  # Retry-After was honoured


def test_answers_of_a_batch_that_fails_part_way_are_kept_and_not_asked_again(
    tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path
) -> None:
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=4, suspect_extra="max_retries = 1\n")
    fresh.inject(Fault("500", match="What are you?"), Fault("500", match="What are you?"))  # fails for good
    with pytest.raises(EndpointError, match="gave up after 2 attempts"):
        collect(load_case(path))
    kept = [r.prompt for r in suspect_rows(path)]
    assert sorted(kept) == sorted(["Who are you?", "What is your name?", "Introduce yourself."])  # one batch of 4
    fresh.reset()
    assert collect(load_case(path)).complete
    assert sent_prompts(fresh) == ["What are you?"]


def test_client_errors_are_not_retried_and_say_what_to_fix(fresh: OpenAICompatServer) -> None:
    from provenance.backends.base import ModelIdentity

    client = OpenAIHttpClient(fresh.base_url, timeout_s=5, backoff_base_s=0.01)
    backend = OpenAIBackend(client, ModelIdentity(name="s", backend="openai", source="x"), model="no-such-model")
    with pytest.raises(EndpointError, match="HTTP 404") as info:
        backend.generate(["Who are you?"], GenerationParams(max_new_tokens=4), seed=0)
    assert "model name" in info.value.hint
    assert len(fresh.requests()) == 1  # the probe only: a 404 is an answer, not a failure to retry


def test_unreachable_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OpenAIHttpClient(f"http://127.0.0.1:{port}/v1", timeout_s=1, max_retries=1, backoff_base_s=0.01)
    with pytest.raises(EndpointError, match="cannot reach") as info:
        client.post("/chat/completions", {"model": "m"})
    assert "base_url" in info.value.hint


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace('model = "tiny"\n', ""), r"suspect: .*needs base_url and model"),
        (lambda t: t.replace("http://127.0.0.1", "http://user:pw@127.0.0.1"), r"suspect\.base_url: .*no user, password"),
        (lambda t: t.replace("concurrency = 2", "concurrency = 2\nallow_pickle = true"), r"allow_pickle belong\(s\) to backend = \"hf\""),
        (lambda t: t.replace('path = "/m/t"', 'path = "/m/t"\nbase_url = "http://x/v1"'), r"teacher\[0\]: .*base_url belong"),
        (lambda t: t.replace("timeout_s = 5", "timeout_s = 0"), r"suspect\.timeout_s"),
        (lambda t: t.replace('api_key_env = "K"', 'api_key_env = "not a name"'), r"suspect\.api_key_env"),
    ],
)
def test_bad_api_model_entries_name_the_key(tmp_path: Path, edit, expected: str) -> None:  # noqa: ANN001
    path = http_case(tmp_path, "http://127.0.0.1:9/v1", Path("/m/t"), suspect_extra='api_key_env = "K"\n')
    path.write_text(edit(path.read_text()))
    with pytest.raises(CaseFileError, match=expected):
        load_case(path)


def test_the_templates_api_model_example_is_a_valid_case_entry(tmp_path: Path) -> None:
    from provenance.case import init_case

    path = init_case(tmp_path / "case")
    lines = path.read_text().splitlines()
    start = lines.index("# Any model may instead be reached over an OpenAI-compatible API:") + 1
    end = next(i for i in range(start, len(lines)) if lines[i] == "#")
    example = "\n".join(line.removeprefix("# ") for line in lines[start:end])
    path.write_text(path.read_text() + "\n" + example + "\n")
    model = load_case(path).spec.control[-1]
    assert (model.backend, model.api_key_env, model.prompt_template) == (
        "openai", "VENDOR_API_KEY", "<|user|>\n{prompt}\n<|assistant|>\n"
    )


# ---------------------------------------------------------------- the key stays secret


def test_api_key_comes_only_from_the_named_environment_variable(tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROVENANCE_TEST_KEY", raising=False)
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, suspect_extra='api_key_env = "PROVENANCE_TEST_KEY"\n')
    with pytest.raises(EndpointError, match="PROVENANCE_TEST_KEY.*not set"):
        collect(load_case(path))
    path.write_text(path.read_text().replace('api_key_env = "PROVENANCE_TEST_KEY"', f'api_key = "{KEY}"'))
    with pytest.raises(CaseFileError, match="api_key: unknown key"):
        load_case(path)


def test_api_key_never_reaches_evidence_logs_or_errors(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("PROVENANCE_TEST_KEY", KEY)
    with OpenAICompatServer({"tiny": tiny_model}, api_key=KEY) as keyed:
        path = http_case(tmp_path / "ok", keyed.base_url, tiny_model_b, suspect_extra='api_key_env = "PROVENANCE_TEST_KEY"\n')
        assert collect(load_case(path)).complete
        assert all(e["headers"]["authorization"] == f"Bearer {KEY}" for e in keyed.requests())  # it was sent
        _, findings_path = api.analyze(path.parent)  # what a report is rendered from
        # a wrong key: the server quotes it back in its 401, the error must not
        wrong = KEY.replace("DISTINCTIVE", "WRONGWRONG")
        monkeypatch.setenv("PROVENANCE_TEST_KEY", wrong)
        bad = http_case(tmp_path / "bad", keyed.base_url, tiny_model_b, suspect_extra='api_key_env = "PROVENANCE_TEST_KEY"\n')
        with pytest.raises(EndpointError, match="HTTP 401") as info:
            collect(load_case(bad))
        assert wrong in keyed.requests()[-1]["headers"]["authorization"]
    assert wrong not in str(info.value) and "[redacted]" in str(info.value)
    assert "PROVENANCE_TEST_KEY" in info.value.hint
    stored = b"".join(p.read_bytes() for d in (tmp_path / "ok", tmp_path / "bad") for p in d.glob("evidence.sqlite*"))
    assert stored and KEY.encode() not in stored and wrong.encode() not in stored
    assert KEY not in findings_path.read_text() and "PROVENANCE_TEST_KEY" not in findings_path.read_text()
    assert KEY not in caplog.text and wrong not in caplog.text
    assert wrong not in repr(OpenAIBackend.from_spec(load_case(path).spec.suspect).client)


# ---------------------------------------------------------------- pacing and budgets


def test_pacing_settings_reach_the_client(tmp_path: Path) -> None:
    path = http_case(tmp_path, "http://127.0.0.1:9/v1", Path("/m/t"), suspect_extra=(
        "requests_per_minute = 30\ntokens_per_minute = 20000\nmax_retries = 2\n"
    ))  # fmt: skip
    backend = OpenAIBackend.from_spec(load_case(path).spec.suspect)
    assert (backend.client.limiter.rpm, backend.client.limiter.tpm, backend.client.max_retries) == (30, 20000, 2)
    assert backend.concurrency == 2 and backend.prompt_template == TEMPLATE.replace("\\n", "\n")


def test_concurrency_limit_holds_at_the_server(tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path) -> None:
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=12)
    path.write_text(path.read_text().replace("concurrency = 2", "concurrency = 3").replace("batch_size = 4", "batch_size = 12", 1))
    assert collect(load_case(path)).complete
    assert 1 < fresh.max_in_flight <= 3


def test_token_budget_stops_cleanly_and_a_larger_one_resumes_without_resending(
    tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path
) -> None:
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=8, budget="max_tokens = 100\n")
    path.write_text(path.read_text().replace("batch_size = 4", "batch_size = 2", 1))
    first = collect(load_case(path))
    assert first.budget_exhausted and not first.complete
    stored = [r.prompt for r in suspect_rows(path)]
    used = sum(r.extra["response_meta"]["usage"]["total_tokens"] for r in suspect_rows(path))
    assert 100 <= used < 100 + 2 * 60 and len(stored) < 8  # stops at the first batch past the budget
    fresh.reset()
    path.write_text(path.read_text().replace("max_tokens = 100", "max_tokens = 100000"))
    second = collect(load_case(path))
    assert second.complete and second.stored == 8 - len(stored)
    assert set(sent_prompts(fresh)).isdisjoint(stored)
    assert len(suspect_rows(path)) == 8


def test_money_budget_stops_at_the_case_prices_and_the_summary_says_what_it_cost(
    tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path
) -> None:
    """[budget] max_cost at the suspect's per-token prices, from the usage the server reports."""
    prices = "input_price_per_million = 2000.0\noutput_price_per_million = 8000.0\n"
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=8, suspect_extra=prices, budget="max_cost = 0.5\n")
    path.write_text(path.read_text().replace("batch_size = 4", "batch_size = 2", 1))
    first = collect(load_case(path))
    rows = suspect_rows(path)
    spent = sum((r.extra["response_meta"]["usage"]["prompt_tokens"] * 2000.0
                 + r.extra["response_meta"]["usage"]["completion_tokens"] * 8000.0) / 1e6 for r in rows)
    assert first.budget_exhausted and not first.complete and len(rows) < 8
    assert first.cost == pytest.approx(spent) and 0.5 <= spent  # stops at the first batch past the budget
    path.write_text(path.read_text().replace("max_cost = 0.5", "max_cost = 1000.0"))
    second = collect(load_case(path))
    assert second.complete and len(suspect_rows(path)) == 8 and second.cost > first.cost
    from pypdf import PdfReader

    api.analyze(path.parent)
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(api.render_report(path.parent).pdf_path).pages)
    assert f"{second.cost:.4g} at the case file's prices (2000 / 8000 per million prompt / completion tokens)" in text
    assert "8 requests asked by this case" in text
    # An API model without prices cannot be held to a money budget: refused before any request.
    bare = http_case(tmp_path / "bare", fresh.base_url, tiny_model_b, limit=8, budget="max_cost = 1.0\n")
    with pytest.raises(CaseFileError, match="max_cost needs input_price_per_million"):
        load_case(bare)


def _count_suspect_rows(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM evidence WHERE extra_json LIKE '%\"role\":\"suspect\"%'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_resume_after_kill_resends_no_stored_request(tmp_path: Path, fresh: OpenAICompatServer, tiny_model_b: Path) -> None:
    """kill -9 a collection mid-way through the HTTP suspect, restart it, count requests at the server."""
    path = http_case(tmp_path, fresh.base_url, tiny_model_b, limit=24)
    path.write_text(path.read_text().replace("concurrency = 2", "concurrency = 1").replace("batch_size = 4", "batch_size = 1", 1))
    db = tmp_path / "evidence.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-m", "provenance.cli", "case", "collect", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _count_suspect_rows(db) < 6 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the collection finished before it could be killed"
    before = [r.prompt for r in suspect_rows(path)]
    assert 6 <= len(before) < 24
    fresh.reset()
    summary = collect(load_case(path))
    assert summary.complete and summary.cached == 24 + len(before)
    resent = set(sent_prompts(fresh)) & set(before)
    assert resent == set(), f"re-sent {len(resent)} stored requests"
    assert Counter(sent_prompts(fresh)) == Counter(p for p in (r.prompt for r in suspect_rows(path)) if p not in before)
    rows = suspect_rows(path)
    assert len(rows) == len({r.request_key for r in rows}) == 24
