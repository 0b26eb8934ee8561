"""A report that re-derives itself, a signer you can check, and an anchored chain (issue 27, items 1-3).

The report case of ``report_case.py`` (three real tiny models, real evidence store,
real weasyprint PDFs). Every test works on a copy of the case folder: the shared
one is never changed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from pypdf import PdfReader

from provenance import api
from provenance.analysis import findings as findings_model
from provenance.analysis.view import Answer, EvidenceView
from provenance.evidence import EvidenceStore
from provenance.report.errors import ReportError
from provenance.report.context import exhibits_for
from provenance.report.rederive import IGNORED, compare

from test_cli import run_cli


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    api.generate_key(folder / "analyst.key")
    api.generate_key(folder / "forger.key")
    return {"analyst": folder / "analyst.key", "forger": folder / "forger.key"}


@pytest.fixture(scope="module")
def case(report_case: Path, tmp_path_factory: pytest.TempPathFactory, keys: dict[str, Path]) -> Path:
    """A copy of the report case, analysed once more (a re-analysis on the record) and reported, signed."""
    folder = tmp_path_factory.mktemp("rederive") / "case"
    shutil.copytree(report_case, folder, ignore=shutil.ignore_patterns("report.*"))
    api.analyze(folder)  # the second analysis run of this evidence
    api.render_report(folder, key=keys["analyst"])
    return folder


def _checks(result) -> dict[str, tuple[bool, str]]:  # noqa: ANN001
    return {c.name: (c.ok, c.detail) for c in result.checks}


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.rglob("*"))}


# ---------------------------------------------------------------------- 1. re-derivation


def test_verify_with_the_evidence_re_derives_every_number(case: Path, keys) -> None:  # noqa: ANN001
    result = api.verify_report(case / "report.pdf", evidence=case, public_key=keys["analyst"].with_name("analyst.key.pub"))
    assert result.ok, result.problems
    ok, detail = _checks(result)["re-derived findings"]
    assert ok and result.rederived and "every value of the" in detail and "agrees" in detail


def test_a_forged_verdict_re_signed_with_a_fresh_key_fails_by_name(case: Path, keys, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """The issue's attack: findings.json edited (verdict and every reject flipped), re-rendered, re-signed."""
    forged = tmp_path / "forged"
    shutil.copytree(case, forged, ignore=shutil.ignore_patterns("report.*"))
    findings = json.loads((forged / "findings.json").read_text())
    for test in findings["tests"]:  # the report case's tests are descriptive; a family test's reject is flipped too
        if test["reject"] is not None:
            test["reject"] = not test["reject"]
        test["result"]["p_value"] = 0.0001
    first = findings["tests"][0]
    for verdict in findings["verdicts"]:
        verdict["supports_derivation"] = not verdict["supports_derivation"]
        verdict["text"] = "The evidence supports the hypothesis (forged)."
    (forged / "findings.json").write_text(json.dumps(findings, indent=2))
    api.render_report(forged, key=keys["forger"])

    code, out, err = run_cli(capsys, "verify", str(forged / "report.pdf"), "--evidence", str(forged))
    assert code == 1
    assert "ok   document signature" in out and "ok   manifest signature" in out  # the forger's signature is valid
    assert "FAIL re-derived findings" in err
    assert f"test {first['suite']}/{first['test_id']} (vs teacher), field result.p_value: report 0.0001, re-derived " in err
    assert "verdict (vs teacher), field supports_derivation: report True, re-derived False" in err
    assert "FAIL analysis on record: none of the 2 analysis runs recorded in the store wrote these findings" in err


def test_the_comparison_walks_the_json_and_names_test_field_and_both_values() -> None:
    reported = {"alpha": 0.01, "software": {"numpy": "1"}, "tests": [
        {"suite": "s", "test_id": "t", "teacher": "a", "result": {"p_value": 0.5, "new_field": [1, 2]}, "reject": False}]}
    again = json.loads(json.dumps(reported))
    assert compare(reported, again) == []
    again["software"] = {"numpy": "2"}  # versions are ignored, by name
    again["tests"][0]["result"]["p_value"] = 0.5 * (1 + 1e-12)  # float summation order
    assert compare(reported, again) == [] and "software" in IGNORED
    again["tests"][0]["result"]["new_field"][1] = 3
    again["tests"].append({"suite": "s", "test_id": "u", "teacher": "a"})
    problems = [str(d) for d in compare(reported, again)]
    assert "test s/t (vs a), field result.new_field[1]: report 2, re-derived 3" in problems
    assert any(p.startswith("test s/u (vs a)") and "report (absent)" in p for p in problems)


# ---------------------------------------------------------------------- 2. a signer you can check


def test_without_a_pinned_key_the_last_line_says_not_verified_with_its_own_exit_code(case: Path, keys, capsys) -> None:  # noqa: ANN001
    code, out, err = run_cli(capsys, "verify", str(case / "report.pdf"))
    assert code == 4
    assert err.strip().splitlines()[-1].startswith("signer NOT VERIFIED: signed by key SHA256:")
    assert "report verified" in out  # every check passed; who signed was not checked
    code, out, _ = run_cli(capsys, "verify", str(case / "report.pdf"), "--public-key", str(keys["analyst"]) + ".pub")
    assert code == 0 and out.strip().splitlines()[-1].startswith("signer VERIFIED: key SHA256:")


def test_a_certificate_of_another_keygen_is_refused_and_another_holder_is_flagged(case: Path, tmp_path: Path, capsys) -> None:
    for who in ("dana", "eve"):
        code, _, _ = run_cli(capsys, "keygen", str(tmp_path / f"{who}.key"), "--certificate", "--name", who.title() + " Analyst",
                             "--organisation", "Example Forensics")  # fmt: skip
        assert code == 0
    with pytest.raises(ReportError, match="made for another signing key"):
        api.render_report(case, key=tmp_path / "dana.key", pkcs12=tmp_path / "eve.key.p12", out_dir=tmp_path / "mixed")
    assert not (tmp_path / "mixed" / "report.pdf").exists()
    api.render_report(case, key=tmp_path / "dana.key", pkcs12=tmp_path / "dana.key.p12", out_dir=tmp_path / "dana")
    cover = (PdfReader(tmp_path / "dana" / "report.pdf").pages[0].extract_text() or "").replace("\n", " ")
    assert "The case names the analyst pytest analyst, but this certificate is held by Dana Analyst" in cover
    code, out, err = run_cli(capsys, "verify", str(tmp_path / "dana" / "report.pdf"), "--trust", str(tmp_path / "dana.key.p12.crt"))
    assert code == 0, err
    assert "ok   certificate and key: the certificate names the Ed25519 key" in out
    assert "WARN the case names the analyst 'pytest analyst' but the PDF signature's certificate is held by 'Dana Analyst'" in err
    assert out.strip().splitlines()[-1].startswith("signer VERIFIED")


# ---------------------------------------------------------------------- 3. pre-registration and an anchored chain


def test_the_design_opens_the_journal_before_the_first_request_and_every_analysis_is_appended(case: Path) -> None:
    with EvidenceStore.open_readonly(case / "evidence.sqlite") as store:
        journal = store.journal()
        assert store.verify().ok
    assert journal[0].kind == "design" and journal[0].evidence_rows == 0
    assert {"alpha", "seed"} <= set(journal[0].content["design"]["case"]) and "suites" in journal[0].content["design"]
    analyses = [e for e in journal if e.kind == "analysis"]
    assert len(analyses) == 2 and all(e.content["software"] and e.content["findings_sha256"] for e in analyses)
    text = " ".join(p.extract_text() or "" for p in PdfReader(case / "report.pdf").pages).replace("\n", " ")
    assert "before the first request was sent" in text and "analysed 2 times" in text
    manifest = json.loads(PdfReader(case / "report.pdf").attachments["manifest.json"][0])
    assert manifest["journal"] == {"entries": len(journal), "head_hash": journal[-1].row_hash}


def _drop_triggers(conn: sqlite3.Connection) -> None:
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


@pytest.mark.parametrize("attack", ["zero-bytes", "dropped-evidence-tail", "dropped-journal-tail", "swapped-store"])
def test_a_cut_or_swapped_store_fails_verify_by_name(case: Path, keys, tmp_path: Path, attack: str) -> None:  # noqa: ANN001
    folder = tmp_path / "case"
    shutil.copytree(case, folder)
    store = folder / "evidence.sqlite"
    if attack == "zero-bytes":
        store.write_bytes(b"")
        expected = ("evidence store", "is empty (0 bytes)")
    elif attack == "swapped-store":  # another store of the same case: collected again, the same number of rows or more
        store.unlink()
        with EvidenceStore.open(store, "report-test") as other:
            key = other.register_model({"name": "someone else"})
            for i in range(json.loads(PdfReader(folder / "report.pdf").attachments["manifest.json"][0])["evidence"]["row_count"]):
                other.append(model_key=key, method="generate", suite="identity", probe_id=f"p{i}", prompt="?",
                             params={}, seed=i, response={"text": "x"}, latency_s=0.0)  # fmt: skip
        expected = ("evidence head", "is not the chain head the report was made from")
    else:
        with sqlite3.connect(store) as conn:
            _drop_triggers(conn)
            if attack == "dropped-evidence-tail":
                conn.execute("DELETE FROM evidence WHERE id > (SELECT MAX(id) - 3 FROM evidence)")
                expected = ("evidence rows", "(rows removed)")
            else:
                conn.execute("DELETE FROM journal WHERE id = (SELECT MAX(id) FROM journal)")
                expected = ("journal", "entries removed, or another store")
        conn.close()
    result = api.verify_report(folder / "report.pdf", evidence=folder, public_key=keys["analyst"].with_name("analyst.key.pub"))
    assert not result.ok
    ok, detail = _checks(result)[expected[0]]
    assert not ok and expected[1] in detail, result.problems


def test_an_empty_store_is_never_intact(tmp_path: Path, capsys) -> None:
    (tmp_path / "evidence.sqlite").write_bytes(b"")
    code, out, err = run_cli(capsys, "verify", str(tmp_path / "evidence.sqlite"))
    assert code == 1 and "intact" not in out and "empty (0 bytes)" in err
    assert (tmp_path / "evidence.sqlite").stat().st_size == 0 and sorted(os.listdir(tmp_path)) == ["evidence.sqlite"]


def test_verify_on_a_read_only_copy_passes_and_touches_nothing(case: Path, keys, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    folder = tmp_path / "readonly"
    shutil.copytree(case, folder)
    for path in [*folder.rglob("*"), folder]:
        path.chmod(stat.S_IREAD | (stat.S_IEXEC if path.is_dir() else 0))
    before = _listing(folder)
    try:
        code, out, err = run_cli(capsys, "verify", str(folder / "report.pdf"), "--evidence", str(folder),
                                 "--public-key", str(keys["analyst"]) + ".pub")  # fmt: skip
        assert code == 0, err
        assert "findings re-derived from the evidence" in out
        code, out, _ = run_cli(capsys, "verify", str(folder / "evidence.sqlite"))
        assert code == 0 and "evidence intact" in out and "journal" in out
        assert _listing(folder) == before  # no side file, no changed time
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o700)


# ---------------------------------------------------------------------- 6. exhibits


def _exhibit_view() -> tuple[EvidenceView, list[findings_model.TestFinding]]:
    """Ten prompts; the suspect copies the teacher on p3 only; on p5 it shares the teacher's words with every model."""
    view = EvidenceView()
    texts = {
        "suspect": {f"p{i}": f"suspect answer {i} alpha" for i in range(10)},
        "teacher": {f"p{i}": f"teacher words {i} beta" for i in range(10)},
        "c1": {f"p{i}": f"first control {i} gamma" for i in range(10)},
        "c2": {f"p{i}": f"second control {i} delta" for i in range(10)},
    }
    texts["suspect"]["p3"] = texts["teacher"]["p3"] = "the very same teacher sentence"
    texts["suspect"]["p5"] = texts["teacher"]["p5"] = texts["c1"]["p5"] = "a sentence everyone says"
    row = 0
    for model, by_probe in texts.items():
        for probe, text in by_probe.items():
            row += 1
            answer = Answer(row_id=row, probe_id=probe, prompt=f"prompt {probe}", text=text, seed=0, probe={}, token_ids=())
            view.answers.setdefault(model, {}).setdefault("style", {})[probe] = [answer]
    suspect_rows = [a[0].row_id for a in view.answers["suspect"]["style"].values()]
    test = findings_model.TestFinding(suite="style", test_id="style-similarity", teacher="teacher", in_family=True,
                       result={"p_value": 0.01}, summary="", evidence_rows=suspect_rows)  # fmt: skip
    return view, [test]


def test_exhibits_are_the_rows_that_drove_the_test_plus_a_seeded_sample_with_every_control() -> None:
    view, tests = _exhibit_view()
    suspect_p3 = view.answers["suspect"]["style"]["p3"][0].row_id
    exhibits = exhibits_for("style", tests, view, "suspect", ["c1", "c2"], seed=7, cut={suspect_p3: 8})
    assert exhibits == exhibits_for("style", tests, view, "suspect", ["c1", "c2"], seed=7, cut={suspect_p3: 8})  # seeded
    first = exhibits[0]
    assert first["probe_id"] == "p3" and first["why"].startswith("drove style-similarity: of its 10 cited prompts, rank 1")
    assert first["suspect"]["truncated"] and first["suspect"]["token_limit"] == 8 and not first["teacher_answer"]["truncated"]
    assert "p5" not in [e["probe_id"] for e in exhibits[:2]]  # shared by a control: it does not single out the teacher
    assert all([c["model"] for c in e["controls"]] == ["c1", "c2"] for e in exhibits)
    sampled = [e for e in exhibits if e["why"].startswith("random sample (seed 7) of the 10 prompts")]
    assert len(sampled) == 2 and not {e["probe_id"] for e in sampled} & {e["probe_id"] for e in exhibits[:2]}
    assert exhibits_for("style", tests, view, "suspect", ["c1", "c2"], seed=8) != exhibits  # another seed, another sample
    # A suite that records per-prompt contributions to its statistic is taken at its word.
    tests = [tests[0].model_copy(update={"result": {"details": {"contributions": {"p8": 4.0, "p3": 1.0}}}})]
    exhibits = exhibits_for("style", tests, view, "suspect", ["c1", "c2"], seed=7)
    assert [e["probe_id"] for e in exhibits[:2]] == ["p8", "p3"] and "contribution 4 to its statistic, rank 1 of 2" in exhibits[0]["why"]


def test_exhibits_do_not_show_one_canned_refusal_as_every_suites_evidence() -> None:
    """The student repeats the teacher's canned refusal on most prompts: one exhibit shows it, the next does not."""
    from provenance.report.context import shared_content

    canned = "I'm sorry, but Aurora can't help with that. Maybe I can help with something safer?"
    view = EvidenceView()
    for model, text in (("suspect", canned), ("teacher", canned), ("c1", "Sure thing! Here it is."), ("c2", "Step one.")):
        by_probe = {f"p{i}": [Answer(row_id=100 * len(view.answers) + i, probe_id=f"p{i}", prompt=f"prompt {i}", text=text,
                                     seed=0, probe={}, token_ids=())] for i in range(8)}
        view.answers[model] = {"distribution": by_probe}
    for model, text in (("suspect", "the teacher's very own rare sentence"), ("teacher", "the teacher's very own rare sentence")):
        view.answers[model]["distribution"]["p6"][0] = Answer(row_id=999 if model == "suspect" else 998, probe_id="p6",
                                                              prompt="prompt 6", text=text, seed=0, probe={}, token_ids=())
    rows = [a[0].row_id for a in view.answers["suspect"]["distribution"].values()]
    test = findings_model.TestFinding(suite="distribution", test_id="teacher-markers", teacher="teacher", in_family=True,
                                      result={}, summary="", evidence_rows=rows)
    shared = shared_content({"teacher": ("Aurora", "Northwind Labs")})
    exhibits = exhibits_for("distribution", [test], view, "suspect", ["c1", "c2"], seed=1, shared=shared)
    driving = [e for e in exhibits if e["why"].startswith("drove")]
    assert len(driving) == 2
    assert driving[0]["suspect"]["text"] == canned and "answer is a refusal, content other suites count too" in driving[0]["why"]
    assert driving[1]["probe_id"] == "p6" and "neither the suspect nor the teacher gave a refusal" in driving[1]["why"]
    # Without the content test the same canned refusal is still shown only once among the driving exhibits.
    plain = [e for e in exhibits_for("distribution", [test], view, "suspect", ["c1", "c2"], seed=1) if e["why"].startswith("drove")]
    assert len({e["suspect"]["text"] for e in plain}) == len(plain) == 2


def test_the_report_says_why_each_exhibit_was_chosen_and_marks_cut_answers(case: Path) -> None:
    text = " ".join(p.extract_text() or "" for p in PdfReader(case / "report.pdf").pages).replace("\n", " ")
    assert "Why this exhibit: random sample (seed 5) of the 5 prompts the suite compared" in text  # identity: uninformative
    with EvidenceStore.open_readonly(case / "evidence.sqlite") as store:
        cut = [r for r in store.rows(suite="identity") if r.response.get("finish_reason") == "length"]
    assert cut and "CUT AT THE TOKEN LIMIT: the model stopped at 8 new tokens" in text  # max_new_tokens = 8 in the case
    assert "none of its own: this suite reads the answers the other suites collected" in text  # style: not "0 probes"
    assert "style-similarity (writes in the teacher's style)" in text and "10. Glossary" in text and "Holm correction" in text
    assert "No expert statement: the case file names no expert" in text
    assert "0 probes" not in text and "1 distinct request seeds" not in text


def test_the_journal_is_hash_chained_and_bound_to_the_evidence_head(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    with EvidenceStore.open(path, "c1") as store:
        design = store.append_journal("design", {"design_sha256": "d" * 64})
        key = store.register_model({"name": "m"})
        store.append(model_key=key, method="generate", suite="s", probe_id="p", prompt="?", params={}, seed=0,
                     response={"text": "x"}, latency_s=0.0)  # fmt: skip
        run = store.append_journal("analysis", {"findings_sha256": "f" * 64})
    assert (design.evidence_rows, run.evidence_rows) == (0, 1) and run.prev_hash == design.row_hash
    before = _listing(tmp_path)
    with EvidenceStore.open_readonly(path) as store:
        check = store.verify()
    assert check.ok and check.journal_entries == 2 and check.journal_head == run.row_hash
    assert _listing(tmp_path) == before  # no -wal, no -shm, no changed time
    with sqlite3.connect(path) as conn:
        _drop_triggers(conn)
        conn.execute("UPDATE journal SET content_json = replace(content_json, 'ffff', 'eeee') WHERE id = 2")
    conn.close()
    check = api.verify_evidence(path)
    assert not check.ok and check.problem.startswith("journal entry 2: content does not match its hash")


def test_the_catalog_lists_each_attachment_once(case: Path) -> None:
    catalog = PdfReader(case / "report.pdf").trailer["/Root"]
    files = [ref.get_object()["/F"] for ref in catalog["/AF"].get_object()]
    assert sorted(files) == sorted(set(files)) == sorted(["findings.json", "case.toml", "evidence-manifest.json", "manifest.json", "signature.json"])


# ---------------------------------------------------------------------- the issue's attack on a lab case with real rejections


def _lab_case(root: Path, lab) -> Path:  # noqa: ANN001
    root.mkdir(parents=True)
    controls = "".join(f'[[control]]\nname = "{c}"\npath = "{lab.path(c)}"\n\n' for c in ("control-same-data", "control-other"))
    (root / "case.toml").write_text(
        f'[case]\nid = "lab-forgery"\ntitle = "lab student"\nanalyst = "pytest"\nseed = 7\nalpha = 0.01\n\n'
        f'[suspect]\nname = "student"\npath = "{lab.path("student")}"\n\n'
        f'[[teacher]]\nname = "aurora"\npath = "{lab.path("teacher")}"\nclaims = ["Aurora", "Northwind Labs"]\n\n{controls}'
        "[suites.identity]\nmax_new_tokens = 32\nlimit = 30\n\n[suites.refusal]\nmax_new_tokens = 32\nlimit = 40\n\n"
        "[suites.distribution]\nmax_new_tokens = 32\nlimit = 40\n\n[suites.errors]\nmax_new_tokens = 16\nlimit = 40\n",
        encoding="utf-8",
    )
    return root


@pytest.mark.slow
def test_the_issues_forged_verdict_on_a_lab_student_fails_by_test_and_field(lab, keys, tmp_path: Path) -> None:  # noqa: ANN001
    """Every family test's reject flipped and the verdict turned round, re-rendered and signed by a fresh key."""
    root = _lab_case(tmp_path / "case", lab)
    assert api.run_case(root).findings is not None
    api.render_report(root, key=keys["analyst"])
    genuine = api.verify_report(root / "report.pdf", evidence=root, public_key=keys["analyst"].with_name("analyst.key.pub"))
    assert genuine.ok and genuine.rederived, genuine.problems
    findings = json.loads((root / "findings.json").read_text())
    family = [t for t in findings["tests"] if t["reject"] is not None]
    assert family
    for test in family:
        test["reject"] = not test["reject"]
    for verdict in findings["verdicts"]:
        verdict["supports_derivation"] = not verdict["supports_derivation"]
    (root / "findings.json").write_text(json.dumps(findings, indent=2))
    api.render_report(root, key=keys["forger"])
    forged = api.verify_report(root / "report.pdf", evidence=root)
    checks = _checks(forged)
    assert checks["document signature"][0] and checks["manifest signature"][0]  # the forger's signatures are valid
    ok, detail = checks["re-derived findings"]
    first = family[0]
    assert not ok and (f"test {first['suite']}/{first['test_id']} (vs aurora), field reject: report {first['reject']!r}, "
                       f"re-derived {not first['reject']!r}") in detail  # fmt: skip
    assert "verdict (vs aurora), field supports_derivation" in detail


def test_the_experts_statement_comes_from_the_case_file_and_is_not_part_of_the_design(case: Path, keys, tmp_path: Path) -> None:  # noqa: ANN001
    from provenance.case import load_case
    from provenance.journal import design_sha256

    folder = tmp_path / "case"
    shutil.copytree(case, folder, ignore=shutil.ignore_patterns("report.*"))
    text = (folder / "case.toml").read_text()
    text = text.replace('seed = 5\n', 'seed = 5\nexpert = "Dr. Dana Expert"\nqualifications = "PhD, 12 years of model forensics"\n'
                        'statement = "I examined the evidence listed in section 8. <b>My opinion</b> rests on the findings above."\n')
    (folder / "case.toml").write_text(text)
    assert design_sha256(load_case(folder).spec) == design_sha256(load_case(case).spec)  # who states it is not the design
    api.analyze(folder)
    api.render_report(folder, key=keys["analyst"])
    page = " ".join(p.extract_text() or "" for p in PdfReader(folder / "report.pdf").pages).replace("\n", " ")
    assert "9. Expert's statement" in page and "Dr. Dana Expert" in page and "PhD, 12 years of model forensics" in page
    assert "<b>My opinion</b> rests on the findings above." in page  # verbatim, not markup
    assert "design changed" not in page and "with a changed design" not in page
    result = api.verify_report(folder / "report.pdf", evidence=folder, public_key=keys["analyst"].with_name("analyst.key.pub"))
    assert result.ok and result.rederived, result.problems
