"""Audit files, folder scanning, diffs and the index: the parts of an audit that run no model.

The audits themselves, on the lab's real models, are in test_audit.py.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from provenance.audit import load_audit
from provenance.audit.casefile import case_text, write_case
from provenance.audit.diff import EXIT_ERROR, EXIT_NEW_FINDING, EXIT_NOTHING_NEW, diff_pairs
from provenance.audit.index import index_data, write_index
from provenance.audit.scan import discover, model_dir_problem
from provenance.case import load_case
from provenance.errors import AuditFileError, ProvenanceError


def _audit_file(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "audit.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


BASE = """\
    [audit]
    id = "watch"
    title = "weekly watch"
    analyst = "pytest"
    output = "out"

    [[scan]]
    path = "incoming"

    [[teacher]]
    name = "aurora"
    path = "models/teacher"
    claims = ["Aurora"]

    [suites.identity]
    limit = 4
    """


def test_misspelt_key_names_the_file_and_key_path(tmp_path: Path) -> None:
    path = _audit_file(tmp_path, BASE.replace('claims = ["Aurora"]', 'claims = ["Aurora"]\n    allow_pickel = true'))
    with pytest.raises(AuditFileError) as info:
        load_audit(path)
    assert str(path) in info.value.message and "teacher[0].allow_pickel" in info.value.message
    assert "unknown key" in info.value.message and info.value.hint


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("[[scan]]\npath = \"incoming\"\n", ""), "nothing to audit"),
        (lambda t: t.replace("[suites.identity]", "[suites.identiti]"), "unknown suite"),
        (lambda t: t.replace('id = "watch"', 'id = "no spaces please"'), "audit.id"),
        (lambda t: t + "[[scan]]\npath = 'x'\nallow_pickle = true\n", r"scan\[1\]\.allow_pickle"),
        (lambda t: t.replace("title", "titel"), "audit.titel"),
    ],
)
def test_invalid_audit_files_are_refused_with_the_key(tmp_path: Path, edit, expected: str) -> None:  # noqa: ANN001
    path = _audit_file(tmp_path, edit(textwrap.dedent(BASE)))
    with pytest.raises(AuditFileError, match=expected):
        load_audit(path)


def test_bad_toml_and_missing_file_are_audit_file_errors(tmp_path: Path) -> None:
    with pytest.raises(AuditFileError, match="no audit file"):
        load_audit(tmp_path / "absent.toml")
    bad = _audit_file(tmp_path, "[audit\n")
    with pytest.raises(AuditFileError, match="not valid TOML"):
        load_audit(bad)


def test_pair_case_file_is_a_valid_case_with_absolute_paths(tmp_path: Path) -> None:
    audit = load_audit(_audit_file(tmp_path, BASE + '\n[budget]\nmax_requests = 500\n\n[suites.style]\n'))
    teacher = audit.spec.teacher[0]
    suspect = teacher.model_copy(update={"name": "aurora", "path": "/elsewhere/suspect", "claims": []})
    case = write_case(tmp_path / "pair", case_text(audit, case_id="watch.x.aurora", suspect=suspect, teacher=teacher, controls=[]))
    spec = case.spec
    assert spec.suspect.name == "suspect-aurora"  # renamed: a case's model names must differ
    assert spec.teacher[0].path == str(tmp_path / "models" / "teacher")
    assert spec.teacher[0].claims == ["Aurora"]
    assert spec.suites["identity"].limit == 4 and "style" in spec.suites
    assert spec.budget.max_requests == 500 and spec.case.alpha == audit.spec.audit.alpha


def test_scan_refuses_half_copied_and_unreadable_model_directories(tmp_path: Path, tiny_model: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    complete = incoming / "complete"
    shutil.copytree(tiny_model, complete)
    assert model_dir_problem(complete) is None

    half = incoming / "half"
    shutil.copytree(tiny_model, half)
    weights = half / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])  # a copy in progress: the header promises more bytes
    assert "still being copied" in (model_dir_problem(half) or "")

    header_only = incoming / "header-only"
    shutil.copytree(tiny_model, header_only)
    (header_only / "model.safetensors").write_bytes(data[:5])
    assert "shorter than a safetensors header" in (model_dir_problem(header_only) or "")

    no_config = incoming / "no-config"
    shutil.copytree(tiny_model, no_config)
    (no_config / "config.json").unlink()
    assert "no config.json" in (model_dir_problem(no_config) or "")

    dangling = incoming / "dangling"
    shutil.copytree(tiny_model, dangling)
    (dangling / "tokenizer.json").unlink()
    (dangling / "tokenizer.json").symlink_to(tmp_path / "gone.json")
    assert "cannot read tokenizer.json" in (model_dir_problem(dangling) or "")

    (incoming / ".partial-download").mkdir()  # copy tools write to hidden names first
    (incoming / "notes.txt").write_text("not a model")

    audit = load_audit(_audit_file(tmp_path, BASE))
    found = {s.name: s for s in discover(audit)}
    assert set(found) == {"complete", "half", "header-only", "no-config", "dangling"}
    assert found["complete"].problem is None and found["complete"].source == "scan:incoming"
    assert all(found[n].problem for n in ("half", "header-only", "no-config", "dangling"))


def _row(suspect: str, status: str, derived: bool | None, suspect_hash: str = "s1", error: str | None = None) -> dict:
    return {"suspect": suspect, "teacher": "aurora", "status": status, "supports_derivation": derived,
            "suspect_hash": suspect_hash, "teacher_hash": "t", "error": error}  # fmt: skip


def test_diff_reports_new_models_changed_verdicts_and_new_findings() -> None:
    before = [_row("a", "done", False), _row("b", "done", True), _row("c", "done", False, "c1"), _row("gone", "done", False)]
    after = [
        _row("a", "reused", False),
        _row("b", "reused", True),  # still derived, same files: not new
        _row("c", "done", True, "c2"),  # a new version of c, now derived: new
        _row("new", "done", True),
        _row("broken", "failed", None, None, "config.json is not valid JSON"),
    ]
    diff = diff_pairs(1, before, 2, after)
    assert diff.new_models == ["broken", "new"]
    assert diff.new_findings == [("c", "aurora"), ("new", "aurora")]
    whats = {(c.suspect, c.what) for c in diff.changes}
    assert whats == {("c", "model changed"), ("new", "new model"), ("broken", "new model"), ("gone", "gone")}
    assert diff.failed == [("broken", "aurora", "config.json is not valid JSON")]
    assert diff.exit_code == EXIT_NEW_FINDING


def test_diff_exit_codes_nothing_new_and_failure() -> None:
    rows = [_row("a", "done", True)]
    assert diff_pairs(1, rows, 2, [_row("a", "reused", True)]).exit_code == EXIT_NOTHING_NEW
    assert diff_pairs(None, [], 1, rows).exit_code == EXIT_NEW_FINDING  # a first run's findings are all new
    failed = diff_pairs(1, rows, 2, [_row("a", "reused", True), _row("b", "failed", None, None, "x")])
    assert failed.exit_code == EXIT_ERROR
    changed = diff_pairs(1, rows, 2, [_row("a", "done", False)])
    assert [c.what for c in changed.changes] == ["verdict changed"] and changed.exit_code == EXIT_NOTHING_NEW


def test_index_html_escapes_hostile_names_and_messages(tmp_path: Path) -> None:
    hostile = '<script>alert("x")</script>'
    row = {**_row(hostile, "failed", None, None, f"cannot load {hostile}"), "source": "scan:<b>", "verdict": hostile,
           "pair_key": None, "case_dir": None, "findings_path": None, "report_path": None, "seconds": 1.0}  # fmt: skip
    diff = diff_pairs(None, [], 1, [row])
    json_path, html_path = write_index(tmp_path, index_data("watch", hostile, {"id": 1, "executor": "pool:1"}, [row], diff, tmp_path))
    html = html_path.read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>" not in html
    data = json.loads(json_path.read_text())
    assert data["pairs"][0]["suspect"] == hostile and data["counts"]["failed"] == 1


def test_readme_audit_example_is_a_valid_audit_file(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Audits", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    audit = load_audit(_audit_file(tmp_path, example))
    assert audit.spec.scan[0].path == "/srv/downloads"
    assert audit.spec.suspect[0].backend == "openai" and audit.spec.report.key_file


def test_suite_fingerprints_follow_probe_files_and_settings(tmp_path: Path) -> None:
    from provenance.audit.plan import suite_fingerprints

    base = load_audit(_audit_file(tmp_path / "a", BASE + "\n[suites.style]\n"))
    changed = load_audit(_audit_file(tmp_path / "b", BASE.replace("limit = 4", "limit = 5") + "\n[suites.style]\n"))
    first, second = suite_fingerprints(base), suite_fingerprints(changed)
    assert set(first) == {"identity", "style"}  # style reads other suites' answers: no probe file, still keyed
    assert first["identity"] != second["identity"] and first["style"] == second["style"]


def test_file_hash_cache_rehashes_a_changed_file(tmp_path: Path) -> None:
    from provenance.audit.history import History
    from provenance.hashing import sha256_file

    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"a" * 1000)
    with History(tmp_path / "history.sqlite") as history:
        assert history.file_sha256(weights) == sha256_file(weights)
        weights.write_bytes(b"b" * 1000)  # same size: the stat signature still changes (mtime/ctime)
        os.utime(weights, ns=(1, 1))
        assert history.file_sha256(weights) == sha256_file(weights)
        assert history.file_sha256(weights) == history.file_sha256(weights)


def test_a_second_concurrent_run_on_the_same_output_is_refused(tmp_path: Path) -> None:
    import fcntl

    from provenance.audit import run_audit

    audit = load_audit(_audit_file(tmp_path, BASE))
    audit.output.mkdir(parents=True)
    with open(audit.output / ".audit.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running audit holds it
        with pytest.raises(ProvenanceError, match="another audit run"):
            run_audit(audit)


def test_scan_takes_gguf_files_and_refuses_a_truncated_one(tmp_path: Path) -> None:
    pytest.importorskip("gguf")
    from provenance.gguf_export import build_tiny_llama, export_llama_gguf

    model, tokenizer = build_tiny_llama(tmp_path / "tiny-llama", seed=3)
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    whole = export_llama_gguf(model, tokenizer, incoming / "tiny-llama.F32.gguf", name="Tiny Llama")
    data = whole.read_bytes()
    (incoming / "partial.gguf").write_bytes(data[: len(data) // 2])
    found = {s.name: s for s in discover(load_audit(_audit_file(tmp_path, BASE)))}
    assert set(found) == {"tiny-llama.F32", "partial"}
    assert found["tiny-llama.F32"].problem is None
    assert found["partial"].problem and "partial.gguf" in found["partial"].problem


def test_api_suspect_is_planned_by_endpoint_and_model_without_a_request(tmp_path: Path, tiny_model: Path) -> None:
    from provenance.audit.history import History
    from provenance.audit.plan import plan

    text = textwrap.dedent(BASE).replace('path = "models/teacher"', f'path = "{tiny_model}"')
    text = text.replace('[[scan]]\npath = "incoming"\n', "")
    api = '[[suspect]]\nname = "vendor-mini"\nbackend = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "mini-1"\n'
    audit = load_audit(_audit_file(tmp_path, text + api))
    with History(tmp_path / "history.sqlite") as history:
        first = plan(audit, history)
        again = plan(audit, history)
    (pair,) = first
    assert pair.status == "run" and pair.suspect == "vendor-mini" and pair.needs_gpu == "if-available"
    assert pair.pair_key == again[0].pair_key  # nothing was sent to port 9: the key is the endpoint and model name
    case = (pair.case_dir / "case.toml").read_text()
    assert 'backend = "openai"' in case and 'model = "mini-1"' in case and str(tiny_model) in case

    other = load_audit(_audit_file(tmp_path / "other", text + api.replace("mini-1", "mini-2")))
    with History(tmp_path / "other.sqlite") as history:
        assert plan(other, history)[0].pair_key != pair.pair_key


def test_watermark_table_reaches_the_pair_case_and_its_key_is_part_of_the_pair_key(tmp_path: Path, tiny_model: Path) -> None:
    from provenance.audit.history import History
    from provenance.audit.plan import plan

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "wm.key").write_text("secret-1")
    text = textwrap.dedent(BASE).replace('path = "models/teacher"', f'path = "{tiny_model}"')
    text = text.replace('[[scan]]\npath = "incoming"\n', "")
    text += '[[suspect]]\nname = "other"\npath = "suspect"\n\n'
    text += '[[watermark]]\nteacher = "aurora"\nscheme = "kgw"\nkey_file = "keys/wm.key"\n\n[watermark.params]\ngamma = 0.5\n'
    shutil.copytree(tiny_model, tmp_path / "suspect")
    (tmp_path / "suspect" / "extra.txt").write_text("not the teacher's files")
    audit = load_audit(_audit_file(tmp_path, text))
    with History(tmp_path / "history.sqlite") as history:
        (pair,) = plan(audit, history)
        case = load_case(pair.case_dir)
        (tmp_path / "keys" / "wm.key").write_text("secret-2")
        (rekeyed,) = plan(audit, history)
    mark = case.spec.watermark_of(case.spec.teacher[0].name)
    assert mark is not None and mark.key_file == str(tmp_path / "keys" / "wm.key") and mark.params.gamma == 0.5
    assert "secret" not in (pair.case_dir / "case.toml").read_text()
    assert rekeyed.pair_key != pair.pair_key


def test_an_analysis_only_change_keeps_the_pairs_evidence_folder(tmp_path: Path, tiny_model: Path) -> None:
    # Declared names and alpha are read only by the analysis: the pair is analysed again
    # (new pair key) over the evidence already collected in its folder (same folder).
    from provenance.audit.history import History
    from provenance.audit.plan import plan

    text = textwrap.dedent(BASE).replace('path = "models/teacher"', f'path = "{tiny_model}"')
    text = text.replace('[[scan]]\npath = "incoming"\n', "")
    shutil.copytree(tiny_model, tmp_path / "suspect")
    (tmp_path / "suspect" / "extra.txt").write_text("not the teacher's files")
    suspect = '[[suspect]]\nname = "other"\npath = "suspect"\n'
    with History(tmp_path / "history.sqlite") as history:
        (first,) = plan(load_audit(_audit_file(tmp_path, text + suspect)), history)
        (named,) = plan(load_audit(_audit_file(tmp_path, text + suspect + 'claims = ["Zephyr"]\n')), history)
    assert named.pair_key != first.pair_key and named.case_dir == first.case_dir
    assert 'claims = ["Zephyr"]' in (named.case_dir / "case.toml").read_text()
    # Each analysis rewrites findings.json in the shared folder; history keeps a copy per key.
    from provenance.audit.run import keep_findings

    findings = named.case_dir / "findings.json"
    findings.write_text('{"alpha": 0.01}')
    kept = keep_findings(str(findings), named.pair_key)
    findings.write_text('{"alpha": 0.05}')
    assert kept and Path(kept).read_text() == '{"alpha": 0.01}' and Path(kept).parent == named.case_dir
    assert keep_findings(None, named.pair_key) is None


def test_reference_models_reach_every_pair_case_and_its_key(tmp_path: Path, tiny_model: Path) -> None:
    """[[reference]] in an audit: reference text for every pair, never the suspect's or the teacher's own files."""
    from provenance.audit.history import History
    from provenance.audit.plan import plan

    text = textwrap.dedent(BASE).replace('path = "models/teacher"', f'path = "{tiny_model}"')
    text = text.replace('[[scan]]\npath = "incoming"\n', "")
    shutil.copytree(tiny_model, tmp_path / "suspect")
    (tmp_path / "suspect" / "extra.txt").write_text("not the teacher's files")
    shutil.copytree(tiny_model, tmp_path / "outsider")
    (tmp_path / "outsider" / "extra.txt").write_text("another lineage")
    text += '[[suspect]]\nname = "other"\npath = "suspect"\n\n'
    plain = load_audit(_audit_file(tmp_path / "plain", text.replace('"suspect"', f'"{tmp_path / "suspect"}"')))
    text += '[[reference]]\nname = "outsider"\npath = "outsider"\n\n[[reference]]\nname = "teacher-copy"\n'
    text += f'path = "{tiny_model}"\n\n'
    audit = load_audit(_audit_file(tmp_path, text))
    with History(tmp_path / "history.sqlite") as history:
        (pair,) = plan(audit, history)
        (without,) = plan(plain, history)
    case = load_case(pair.case_dir)
    assert [m.name for m in case.spec.reference] == ["outsider"]  # the teacher's own files are never reference text
    assert case.spec.reference[0].path == str(tmp_path / "outsider")
    assert pair.pair_key != without.pair_key


def test_reference_names_must_not_repeat_a_teacher_or_control(tmp_path: Path) -> None:
    text = textwrap.dedent(BASE) + '[[reference]]\nname = "aurora"\npath = "elsewhere"\n'
    with pytest.raises(AuditFileError, match="repeated: aurora"):
        load_audit(_audit_file(tmp_path, text))
