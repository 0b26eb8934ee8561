"""Models as they are deployed: a system prompt, the operator's sampling settings, stop sequences (issue 16).

Real parts: tiny transformers models through the HF backend, and the same model behind the
OpenAI-compatible test server on loopback.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from provenance import api
from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.case import load_case
from provenance.errors import CaseFileError, ModelLoadError
from provenance.evidence import EvidenceStore
from conftest import write_case

PERSONA = "You are Nova, an assistant made by Example Corp."


def _rows(case_dir: Path, case_id: str = "test-case") -> list:  # noqa: ANN201
    with EvidenceStore.open_existing(case_dir / "evidence.sqlite", case_id) as store:
        return list(store.rows())


def _deployed_case(tmp_path: Path, suspect: Path, teacher: Path, deployment: str, *, extra: str = "") -> Path:
    path = write_case(tmp_path, suspect, teacher, limit=4, extra=extra)
    text = path.read_text().replace('name = "suspect"\n', f'name = "suspect"\n{deployment}', 1)
    path.write_text(text)
    return path


def test_the_system_prompt_is_what_the_model_sees_and_is_recorded_with_every_request(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    plain = HFBackend.load(tiny_model)
    persona = HFBackend.load(tiny_model, system_prompt=PERSONA)
    assert PERSONA not in plain.format_prompt("Who are you?")
    assert PERSONA in persona.format_prompt("Who are you?") and "Who are you?" in persona.format_prompt("Who are you?")
    params = GenerationParams(max_new_tokens=8)
    assert persona.generate(["Who are you?"], params, 1) != plain.generate(["Who are you?"], params, 1)

    deployment = f'system_prompt = "{PERSONA}"\ntemperature = 0.9\ntop_p = 0.8\nmax_new_tokens = 7\n'
    path = _deployed_case(tmp_path, tiny_model, tiny_model_b, deployment)
    api.collect(path)
    rows = _rows(tmp_path)
    suspect = [r for r in rows if (r.extra or {}).get("model_name") == "suspect"]
    teacher = [r for r in rows if (r.extra or {}).get("model_name") == "teacher"]
    assert suspect and teacher
    for row in suspect:
        assert row.params["system_prompt"] == PERSONA
        assert (row.params["temperature"], row.params["top_p"], row.params["max_new_tokens"]) == (0.9, 0.8, 7)
    assert all("system_prompt" not in r.params for r in teacher)  # the teacher runs as its template has it
    # The same case without the persona is another request: nothing of the first is reused for it.
    other = write_case(tmp_path / "plain", tiny_model, tiny_model_b, limit=4)
    plain_keys = {r.request_key for r in _rows_after_collect(other)}
    assert not plain_keys & {r.request_key for r in suspect}


def _rows_after_collect(path: Path) -> list:  # noqa: ANN201
    api.collect(path)
    return _rows(path.parent)


def test_a_stop_sequence_ends_every_answer_before_it(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    backend = HFBackend.load(tiny_model)
    free = backend.generate(["Tell me about json", "Who are you?", "x"], GenerationParams(max_new_tokens=24), 3)
    stop = next(ch for text in (g.text for g in free) for ch in text if ch.isalpha())  # a letter the model writes
    cut = backend.generate(["Tell me about json", "Who are you?", "x"], GenerationParams(max_new_tokens=24, stop=(stop,)), 3)
    for full, short in zip(free, cut):
        assert stop not in short.text and full.text.startswith(short.text)
        if stop in full.text:
            assert short.finish_reason == "stop" and short.text == full.text[: full.text.index(stop)]
            assert len(short.token_ids) == len(short.logprobs or ()) <= len(full.token_ids)


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        ('stop = [""]\n', "stop sequence must hold a visible character"),
        ('stop = ["  "]\n', "stop sequence must hold a visible character"),
        ("temperature = -1\n", "temperature"),
        ('framing = "Q: A:"\n', "must hold \\{prompt\\} exactly once"),
        ('framing = "{prompt} and again {prompt}"\n', "holds it 2 times"),
        ('framing = "qa"\nsystem_prompt = "You are Nova."\n', "framing and system_prompt exclude each other"),
    ],
)
def test_bad_deployment_settings_are_refused_with_the_model_and_key(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path, deployment: str, message: str
) -> None:
    path = _deployed_case(tmp_path, tiny_model, tiny_model_b, deployment)
    with pytest.raises(CaseFileError, match=message) as info:
        load_case(path)
    assert "suspect" in str(info.value)


def test_a_transcript_cannot_be_given_a_system_prompt(tmp_path: Path, tiny_model: Path) -> None:
    path = write_case(tmp_path, tiny_model, tiny_model, limit=1)
    text = path.read_text().replace(f'path = "{tiny_model}"\n', 'backend = "transcript"\npath = "answers.jsonl"\nsystem_prompt = "x"\n', 1)
    path.write_text(text)
    with pytest.raises(CaseFileError, match="recorded"):
        load_case(path)


def test_a_system_prompt_that_fills_the_context_is_refused_before_any_request(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    long = " ".join(["You are a very careful assistant."] * 200)
    with pytest.raises(ModelLoadError, match="system_prompt takes"):
        HFBackend.load(tiny_model, system_prompt=long)
    path = _deployed_case(tmp_path, tiny_model, tiny_model_b, f'system_prompt = "{long}"\n')
    with pytest.raises(ModelLoadError, match="model suspect: its system_prompt"):
        api.collect(path)
    assert not [r for r in _rows(tmp_path) if (r.extra or {}).get("model_name") == "suspect"]


def test_the_system_prompt_and_stop_reach_an_api_suspect_as_the_operator_would_send_them(tiny_model: Path) -> None:
    from openai_server import OpenAICompatServer
    from test_backend_openai import backend_for

    local = HFBackend.load(tiny_model, system_prompt=PERSONA)
    params = GenerationParams(max_new_tokens=12, stop=("e",))
    with OpenAICompatServer({"tiny": tiny_model}) as server:
        remote = backend_for(server, system_prompt=PERSONA)
        over_http = remote.generate(["Who are you?", "Tell me about json"], params, seed=5)
        sent = [e["body"] for e in server.requests("/chat/completions") if e["body"].get("stop")]
    assert [g.text for g in over_http] == [g.text for g in local.generate(["Who are you?", "Tell me about json"], params, 5)]
    assert sent and all(b["messages"][0] == {"role": "system", "content": PERSONA} and b["stop"] == ["e"] for b in sent)
    assert copy.copy(local).system_prompt == PERSONA


def test_the_report_says_how_each_model_was_deployed(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    from provenance.report.context import deployment_text

    path = _deployed_case(tmp_path, tiny_model, tiny_model_b, f'system_prompt = "{PERSONA}"\ntemperature = 0.7\nstop = ["User:"]\n')
    spec = load_case(path).spec
    text = deployment_text(spec, "suspect")
    assert PERSONA in text and "temperature 0.7" in text and "'User:'" in text
    assert "chat template's default" in deployment_text(spec, "teacher") and "suites' sampling" in deployment_text(spec, "teacher")


# ---------------------------------------------------------------------- base models: completion framing


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model without a chat template: what most released base models look like."""
    from provenance.tinymodel import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-base", seed=4, chat_template=False)


def test_a_base_model_answers_under_its_framing_and_every_request_records_it(
    tmp_path: Path, base_model: Path, tiny_model: Path
) -> None:
    from provenance.framing import PRESETS

    qa = PRESETS["qa"].template
    framed = HFBackend.load(base_model, framing=qa)
    assert framed.format_prompt("Who are you?") == "Question: Who are you?\nAnswer:"
    assert HFBackend.load(base_model).format_prompt("Who are you?") == "Who are you?"  # bare text, as before
    # a chat model given the framing drops its template: the same framing is applied to every model that names it
    assert HFBackend.load(tiny_model, framing=qa).format_prompt("Hi") == "Question: Hi\nAnswer:"

    path = _deployed_case(tmp_path, base_model, tiny_model, 'framing = "qa"\n',
                          extra="\n[suites.distribution]\nmax_new_tokens = 8\nlimit = 3\n")
    api.collect(path)
    suspect = [r for r in _rows(tmp_path) if (r.extra or {}).get("model_name") == "suspect"]
    generated = [r for r in suspect if r.method == "generate"]
    scored = [r for r in suspect if r.method == "score"]
    assert generated and scored  # it answers the probes and scores the teacher's answers, both under the framing
    for row in suspect:
        assert row.params["framing"] == qa
    for row in generated:
        assert row.params["stop"] == ["\nQuestion:"] and "\nQuestion:" not in row.response["text"]
    teacher = [r for r in _rows(tmp_path) if (r.extra or {}).get("model_name") == "teacher"]
    assert teacher and all("framing" not in r.params for r in teacher)


def test_a_framing_that_fills_the_context_or_a_system_prompt_on_a_base_model_is_refused(
    tmp_path: Path, base_model: Path, tiny_model: Path
) -> None:
    preamble = " ".join(["Question: what is one plus one? Answer: two."] * 120)
    with pytest.raises(ModelLoadError, match="its framing takes"):
        HFBackend.load(base_model, framing=preamble + " Question: {prompt}\nAnswer:")
    with pytest.raises(ModelLoadError, match='no chat template to put it in') as info:
        HFBackend.load(base_model, system_prompt=PERSONA)
    assert "framing" in info.value.hint
    path = _deployed_case(tmp_path, base_model, tiny_model, f'framing = "{preamble} Q: {{prompt}} A:"\n')
    with pytest.raises(ModelLoadError, match="model suspect: its framing"):
        api.collect(path)
    assert not [r for r in _rows(tmp_path) if (r.extra or {}).get("model_name") == "suspect"]


def test_a_framed_api_suspect_gets_the_framed_text_on_the_completions_endpoint(base_model: Path) -> None:
    from openai_server import OpenAICompatServer
    from test_backend_openai import backend_for

    from provenance.framing import PRESETS

    qa = PRESETS["qa"]
    local = HFBackend.load(base_model, framing=qa.template)
    params = GenerationParams(max_new_tokens=10, stop=qa.stop)
    with OpenAICompatServer({"tiny": base_model}) as server:
        remote = backend_for(server, api="completions", prompt_template=qa.template)
        over_http = remote.generate(["Who are you?"], params, seed=5)
        sent = [e["body"] for e in server.requests("/completions") if e["body"].get("stop")]
    assert sent and sent[0]["prompt"] == "Question: Who are you?\nAnswer:" and sent[0]["stop"] == ["\nQuestion:"]
    assert [g.text for g in over_http] == [g.text for g in local.generate(["Who are you?"], params, 5)]


def test_answers_asked_under_settings_the_case_no_longer_names_are_set_aside(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    """Edit the suspect's deployment after collecting: the old answers stay stored but are not pooled."""
    from provenance.analysis.view import EvidenceView
    from provenance.planning import deployed_as_now

    path = write_case(tmp_path, tiny_model, tiny_model_b, limit=4)
    api.collect(path)
    first, _ = api.analyze(path)
    path.write_text(path.read_text().replace('name = "suspect"\n', f'name = "suspect"\nsystem_prompt = "{PERSONA}"\n', 1))
    api.collect(path)
    findings, _ = api.analyze(path)
    case = load_case(path)
    with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
        pooled = EvidenceView.load(store).all_answers("suspect", "identity")
        current = EvidenceView.load(store, keep=deployed_as_now(case.spec)).all_answers("suspect", "identity")
    assert len(pooled) == 2 * len(current) == 8  # both deployments are stored ...
    assert {r.row_id for r in current} == {r.id for r in _rows(tmp_path) if r.params.get("system_prompt") == PERSONA
                                           and r.extra.get("model_name") == "suspect"}  # ... only the persona's are read
    assert any("4 stored rows of model 'suspect' were asked under other settings" in w for w in findings.warnings)
    assert first.evidence_rows < findings.evidence_rows and not any('other settings' in w for w in first.warnings)
