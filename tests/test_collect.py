"""Collection into the evidence store: resumable, never re-asks, survives kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provenance.backends import open_backend
from provenance.case import load_case
from provenance.collect import collect
from provenance.errors import EvidenceStoreError
from provenance.evidence import EvidenceStore

from conftest import write_case


class _Recorder:
    """A backend factory that loads the real backend and counts the prompts it is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.loaded: list[str] = []

    def __call__(self, spec, path, identity):  # noqa: ANN001
        backend = open_backend(spec, path, identity)
        self.loaded.append(spec.name)
        real_generate = backend.generate

        def generate(prompts, params, seed):  # noqa: ANN001
            self.sent.extend(prompts)
            return real_generate(prompts, params, seed)

        backend.generate = generate  # type: ignore[method-assign]
        return backend


def test_collect_stores_every_answer_with_its_request_and_model(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    case = load_case(write_case(tmp_path, tiny_model, tiny_model_b, limit=5))
    summary = collect(case)
    assert (summary.planned, summary.stored, summary.cached, summary.complete) == (10, 10, 0, True)
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        rows = list(store.rows())
        models = store.models()
        assert store.verify().ok
    assert len(rows) == 10 and len({r.request_key for r in rows}) == 10
    assert {r.extra["model_name"] for r in rows} == {"suspect", "teacher"}
    first = rows[0]
    assert first.method == "generate" and first.suite == "identity" and first.seed == 7
    assert first.params == {"max_new_tokens": 8, "temperature": 0.0, "top_p": 1.0}
    assert first.response["token_ids"] and len(first.response["logprobs"]) == len(first.response["token_ids"])
    assert len(first.extra["suite_sha256"]) == 64
    identity = models[first.model_key]
    assert "model.safetensors" in identity["files"]


def test_rerun_sends_nothing_and_loads_no_model(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    case = load_case(write_case(tmp_path, tiny_model, tiny_model_b, limit=4))
    collect(case)
    recorder = _Recorder()
    again = collect(case, backend_factory=recorder)
    assert (again.stored, again.cached) == (0, 8)
    assert recorder.sent == [] and recorder.loaded == []


def test_changed_weights_are_a_new_model_and_are_asked_again(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    import shutil

    suspect = Path(shutil.copytree(tiny_model, tmp_path / "suspect-model"))
    case = load_case(write_case(tmp_path / "case", suspect, tiny_model_b, limit=3))
    collect(case)
    (suspect / "config.json").write_text((suspect / "config.json").read_text() + "\n")
    recorder = _Recorder()
    again = collect(case, backend_factory=recorder)
    assert again.stored == 3 and recorder.loaded == ["suspect"]


def test_budget_stops_collection_cleanly_and_a_larger_one_resumes(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    path = write_case(tmp_path, tiny_model, tiny_model_b, limit=6, batch_size=4, max_requests=5)
    first = collect(load_case(path))
    assert first.budget_exhausted and first.stored == 5 and not first.complete
    path.write_text(path.read_text().replace("max_requests = 5", "max_requests = 1000"))
    recorder = _Recorder()
    second = collect(load_case(path), backend_factory=recorder)
    assert second.complete and (second.cached, second.stored) == (5, 7)
    assert len(recorder.sent) == 7


def _count_rows(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM evidence").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_resume_after_kill_resends_nothing(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    """Really kill -9 a collecting process, then resume: nothing lost, nothing re-asked."""
    path = write_case(tmp_path, tiny_model, tiny_model_b, limit=73, batch_size=1)
    db = tmp_path / "evidence.sqlite"
    process = subprocess.Popen(
        [sys.executable, "-m", "provenance.cli", "case", "collect", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _count_rows(db) < 15 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the collection finished before it could be killed"
    case = load_case(path)
    with EvidenceStore.open(db, case.id) as store:
        report = store.verify()
        before = {row.request_key for row in store.rows()}
    assert report.ok, report.problem
    assert 15 <= len(before) < 146

    recorder = _Recorder()
    summary = collect(case, backend_factory=recorder)
    assert summary.complete and summary.cached == len(before) and summary.stored == 146 - len(before)
    assert len(recorder.sent) == 146 - len(before)
    with EvidenceStore.open(db, case.id) as store:
        keys = [row.request_key for row in store.rows()]
        assert store.verify().ok
    assert len(keys) == len(set(keys)) == 146
    assert before <= set(keys)


def test_collected_answers_match_a_fresh_generation(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    """What is stored is what the model says: re-asking the model gives the stored text."""
    from provenance.backends.base import GenerationParams
    from provenance.backends.hf import HFBackend

    case = load_case(write_case(tmp_path, tiny_model, tiny_model_b, limit=3))
    collect(case)
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        rows = [r for r in store.rows() if r.extra["model_name"] == "suspect"]
    backend = HFBackend.load(tiny_model, batch_size=1)
    fresh = backend.generate([r.prompt for r in rows], GenerationParams(**rows[0].params), rows[0].seed)
    assert [g.token_ids for g in fresh] == [tuple(r.response["token_ids"]) for r in rows]


pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_distribution_suite_scores_teacher_answers_under_suspect_and_controls(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    probes = tmp_path / "dist.toml"
    probes.write_text(
        '[suite]\nname = "distribution"\nversion = "t"\nquestion = "q"\nsource = "s"\n'
        + "".join(f'[[probe]]\nid = "d{i}"\nprompt = "Tell me about item {i}."\n' for i in range(4))
    )
    extra = f'\n[[control]]\nname = "control"\npath = "{tiny_model_b}"\n\n[suites.distribution]\nprobes = "{probes}"\nmax_new_tokens = 6\n'
    case = load_case(write_case(tmp_path / "case", tiny_model, tiny_model_b, limit=2, extra=extra))
    summary = collect(case)
    # generation: 3 models x (2 identity + 4 distribution); scoring: 4 teacher answers x (suspect + control),
    # and the control's 4 answers (reference text) x the suspect (a model never scores its own answers)
    assert summary.complete and summary.planned == 3 * 6 + 4 * 2 + 4 == summary.stored
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        rows = list(store.rows())
    text = {r.request_key: (r.extra["model_name"], r.response["text"]) for r in rows if r.method == "generate"}
    scores = [r for r in rows if r.method == "score"]
    assert {r.extra["model_name"] for r in scores if "teacher" in r.params} == {"suspect", "control"}
    assert {r.extra["model_name"] for r in scores if "source" in r.params} == {"suspect"}
    for row in scores:
        source, answer = text[row.params["source_request"]]
        assert row.params["continuation"] == answer
        assert row.params.get("teacher", row.params.get("source")) == source != row.extra["model_name"]
        assert len(row.response["logprobs"]) == len(row.response["token_ids"])
    # the teacher answered before anyone scored its answers
    first_score = min(r.id for r in scores)
    assert all(r.id < first_score for r in rows if r.extra["model_name"] == "teacher")
    assert collect(case).stored == 0


def test_backend_that_cannot_score_still_completes_with_the_skip_recorded(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    from provenance.backends import Capability

    def generate_only(spec, path, identity):  # noqa: ANN001, ANN202 - a real backend declaring less
        backend = open_backend(spec, path, identity)
        if spec.name != "teacher":
            backend.capabilities = frozenset({Capability.GENERATE})
        return backend

    probes = tmp_path / "dist.toml"
    probes.write_text(
        '[suite]\nname = "distribution"\nversion = "t"\nquestion = "q"\nsource = "s"\n'
        + "".join(f'[[probe]]\nid = "d{i}"\nprompt = "Item {i}?"\n' for i in range(3))
    )
    extra = f'\n[suites.distribution]\nprobes = "{probes}"\nmax_new_tokens = 4\n'
    case = load_case(write_case(tmp_path / "case", tiny_model, tiny_model_b, limit=1, extra=extra))
    summary = collect(case, backend_factory=generate_only)
    assert summary.complete and summary.planned == summary.stored == 2 * 4
    assert summary.skipped == [{"model": "suspect", "what": "score", "reason": "the backend cannot score continuations"}]


def test_answers_stored_by_another_case_are_copied_with_their_origin_not_asked_again(
    tmp_path: Path, tiny_model: Path, tiny_model_b: Path
) -> None:
    first = load_case(write_case(tmp_path / "first", tiny_model, tiny_model_b, case_id="first", limit=4))
    collect(first)
    # A second case shares the teacher (tiny_model_b) but examines another suspect (a copy with other weights).
    import shutil

    other = Path(shutil.copytree(tiny_model, tmp_path / "other-suspect"))
    (other / "config.json").write_text((other / "config.json").read_text() + "\n")
    second = load_case(write_case(tmp_path / "second", other, tiny_model_b, case_id="second", limit=4))
    recorder = _Recorder()
    summary = collect(second, backend_factory=recorder, reuse_from=[first.evidence_path])
    assert summary.complete and summary.copied == 4 and recorder.loaded == ["suspect"]
    with EvidenceStore.open(first.evidence_path, "first") as store:
        originals = {r.request_key: r for r in store.rows()}
    with EvidenceStore.open(second.evidence_path, "second") as store:
        assert store.verify().ok
        copies = [r for r in store.rows() if "copied_from" in (r.extra or {})]
    assert {r.extra["model_name"] for r in copies} == {"teacher"}
    for row in copies:
        origin = originals[row.request_key]
        assert row.response == origin.response
        assert row.extra["copied_from"] == {"store": str(first.evidence_path), "case_id": "first", "row_id": origin.id,
                                            "row_hash": origin.row_hash, "created_at": origin.created_at}


def test_reusing_a_tampered_store_is_refused(tmp_path: Path, tiny_model: Path, tiny_model_b: Path) -> None:
    import sqlite3

    first = load_case(write_case(tmp_path / "first", tiny_model, tiny_model_b, case_id="first", limit=2))
    collect(first)
    with sqlite3.connect(first.evidence_path) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE evidence SET prompt = prompt || '!' WHERE id = 1")
    second = load_case(write_case(tmp_path / "second", tiny_model, tiny_model_b, case_id="second", limit=2))
    with pytest.raises(EvidenceStoreError, match="refusing to reuse"):
        collect(second, reuse_from=[first.evidence_path])
