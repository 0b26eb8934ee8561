"""Evidence reports: a real case, real weasyprint PDFs read back with pypdf, real tampering.

One small case (three tiny models, identity suite) is collected once per module; a
model "answers" with hostile text, stored through the real evidence store, so the
report must quote HTML, a file:// image, a NUL byte, a right-to-left override, CJK
and right-to-left scripts and a 2,000-character line without obeying any of it.
Reports are rendered once per module and copied for each tampering.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from provenance import api
from provenance.evidence import EvidenceStore
from provenance.hashing import sha256_json
from provenance.report.assets import reports_dir
from provenance.report.fetcher import AssetOnlyFetcher
from provenance.report.errors import KeyFileError, ReportError
from provenance.report.quote import quote
from provenance.report.sign import signature_slot

from test_cli import run_cli

ATTACHMENTS = {"findings.json", "case.toml", "evidence-manifest.json", "manifest.json", "signature.json"}


@pytest.fixture(scope="module")
def case_dir(report_case: Path) -> Path:
    return report_case


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("keys")
    api.generate_key(folder / "analyst.key")
    api.generate_key(folder / "other.key")
    return {"analyst": folder / "analyst.key", "other": folder / "other.key"}


@pytest.fixture(scope="module")
def signed(case_dir: Path, keys: dict[str, Path], tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return api.render_report(case_dir, key=keys["analyst"], out_dir=tmp_path_factory.mktemp("signed"))


def _verify(pdf: Path, case_dir: Path | None = None, **kwargs):  # noqa: ANN003, ANN202
    evidence = case_dir / "evidence.sqlite" if case_dir else None
    return api.verify_report(pdf, evidence=evidence, **kwargs)


def _text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() or "" for page in reader.pages)


# ---------------------------------------------------------------------- the document


def test_report_reads_back_with_its_sections_hash_and_page_count(signed, case_dir: Path) -> None:  # noqa: ANN001
    reader = PdfReader(signed.pdf_path)
    assert len(reader.pages) == signed.pages >= 5
    text = _text(reader)
    for heading in ("Summary of findings", "Models examined", "Methods", "Results", "Exhibits", "Limitations",
                    "Reproducibility", "Chain of custody"):  # fmt: skip
        assert heading in text, heading
    assert "report-test" in text and "pytest analyst" in text
    assert "Power curves of the provenance bench" in text  # methods: the bench's power curve, from the shipped record
    flat = " ".join(text.split())
    assert "Scientific basis" in flat and "95 % CI [" in flat  # measured error rates with their intervals
    assert signed.report_hash[:16] in text.replace("\n", "")
    findings = json.loads((case_dir / "findings.json").read_text())
    assert findings["evidence_head_hash"][:16] in text.replace("\n", "")


def test_report_is_pdfa_3b_with_every_font_embedded(signed) -> None:  # noqa: ANN001
    reader = PdfReader(signed.pdf_path)
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8")
    assert "pdfaid:part" in xmp and ">3<" in xmp.replace('"3"', ">3<") and "B" in xmp
    assert "/OutputIntents" in root and "/ID" in reader.trailer and not reader.is_encrypted
    # PDF/A-3 associated files: each attachment is listed in the catalog's /AF with its relationship
    related = {str(f.get_object()["/F"]): str(f.get_object()["/AFRelationship"]) for f in root["/AF"]}
    assert set(related) == ATTACHMENTS and related["findings.json"] == "/Data" and related["case.toml"] == "/Source"
    fonts = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            fonts[str(font["/BaseFont"])] = font
    assert fonts
    for name, font in fonts.items():
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"] if "/DescendantFonts" in font else font["/FontDescriptor"]
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), f"{name} is not embedded"
    assert any("Report-CJK" in name for name in fonts), sorted(fonts)  # CJK model output got the shipped CJK font


def test_findings_case_file_and_manifests_are_embedded(signed, case_dir: Path) -> None:  # noqa: ANN001
    attachments = {name: data[0] for name, data in PdfReader(signed.pdf_path).attachments.items()}
    assert set(attachments) == ATTACHMENTS
    assert attachments["findings.json"] == (case_dir / "findings.json").read_bytes()
    assert attachments["case.toml"] == (case_dir / "case.toml").read_bytes()
    manifest = json.loads(attachments["manifest.json"])
    evidence = json.loads(attachments["evidence-manifest.json"])
    with EvidenceStore.open_existing(case_dir / "evidence.sqlite") as store:
        rows = {r.id: r.row_hash for r in store.rows()}
    assert {row[0]: row[1] for row in evidence["rows"]} == rows
    assert manifest["evidence"]["head_hash"] == evidence["head_hash"] == rows[max(rows)]
    assert "PRIVATE" not in attachments["signature.json"].decode()  # only the public key travels


def test_hostile_model_output_is_quoted_as_text_and_nothing_is_fetched(signed) -> None:  # noqa: ANN001
    assert signed.refused_urls == []  # the renderer never even asked for /etc/passwd or the network
    reader = PdfReader(signed.pdf_path)
    for page in reader.pages:
        xobjects = page["/Resources"].get("/XObject") or {}
        assert not [x for x in xobjects.values() if x.get_object().get("/Subtype") == "/Image"]
    text = _text(reader)
    assert "<img src=file:///etc/passwd>" in text and '<script>alert("owned")</script>' in text
    assert "[U+0000]" in text and "[U+202E]" in text  # NUL and the bidi override are shown, not obeyed
    joined = text.replace("\n", "")  # CJK lines may break between any two characters
    assert "你好世界" in joined and "안녕하세요" in joined and "こんにちは" in joined and "שלום" in joined
    assert "[quote cut at 1,500 of" in text and "MODEL OUTPUT (quoted)" in text
    html = signed.html_path.read_text(encoding="utf-8")
    assert "&lt;img src=file:///etc/passwd&gt;" in html
    assert "<img" not in html and "<script" not in html and "<iframe" not in html and "<link" not in html
    assert "{{ 7*7 }}" in text  # template syntax in model output stays text


# ---------------------------------------------------------------------- verification and tampering


def test_signed_report_verifies_with_its_evidence_and_pinned_key(signed, case_dir: Path, keys) -> None:  # noqa: ANN001
    result = _verify(signed.pdf_path, case_dir, public_key=keys["analyst"].with_name("analyst.key.pub"))
    assert result.ok, result.problems
    assert result.signed and result.report_hash == signed.report_hash
    names = {c.name for c in result.checks}
    assert {"document signature", "manifest signature", "signer", "cited evidence rows", "evidence chain"} <= names


def test_a_changed_byte_fails_the_document_signature(signed, tmp_path: Path) -> None:  # noqa: ANN001
    data = bytearray(signed.pdf_path.read_bytes())
    start, end = signature_slot(bytes(data))
    where = len(data) // 2 if not start <= len(data) // 2 < end else end + 10
    data[where] ^= 0x01
    copy = tmp_path / "changed-byte.pdf"
    copy.write_bytes(bytes(data))
    result = _verify(copy)
    assert not result.ok
    assert any("document signature" in p and "changed after it was signed" in p for p in result.problems), result.problems


def test_an_appended_incremental_update_is_caught_without_a_pdf_signature(signed, tmp_path: Path) -> None:  # noqa: ANN001
    """The Ed25519 signature covers the first revision; what is appended after it must be covered by a PDF signature."""
    writer = PdfWriter(signed.pdf_path, incremental=True)
    writer.add_metadata({"/Title": "Edited"})
    copy = tmp_path / "appended.pdf"
    with open(copy, "wb") as handle:
        writer.write(handle)
    result = _verify(copy)
    checks = {c.name: c for c in result.checks}
    assert checks["document signature"].ok and not result.ok
    assert "appended after the report was signed and no PDF signature covers them" in checks["later revisions"].detail


def test_a_swapped_attachment_is_named(signed, tmp_path: Path) -> None:  # noqa: ANN001
    writer = PdfWriter(clone_from=PdfReader(signed.pdf_path))
    for embedded in writer.attachment_list:
        if embedded.name == "findings.json":
            findings = json.loads(embedded.content)
            findings["verdicts"][0]["text"] = "The evidence proves everything."
            embedded.content = json.dumps(findings).encode()
    copy = tmp_path / "swapped.pdf"
    with open(copy, "wb") as handle:
        writer.write(handle)
    result = _verify(copy)
    assert not result.ok
    problems = "\n".join(result.problems)
    assert "attachment findings.json: SHA-256" in problems and "does not match the signed manifest" in problems
    assert "attachment case.toml" not in problems  # it names what changed, not everything


def _tamper_row(store_path: Path, row_id: int, *, rechain: bool) -> None:
    """Change one stored answer; with ``rechain``, also forge every hash after it."""
    with sqlite3.connect(store_path) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE evidence SET response_json = replace(response_json, 'owned', 'fine') WHERE id = ?", (row_id,))
    if rechain:
        with EvidenceStore.open_existing(store_path) as store:
            rows = list(store.rows())
        prev = rows[row_id - 2].row_hash if row_id > 1 else "0" * 64
        with sqlite3.connect(store_path) as conn:
            for row in rows[row_id - 1 :]:
                content = {**row.content(), "prev_hash": prev}
                prev = sha256_json(content)
                conn.execute("UPDATE evidence SET prev_hash = ?, row_hash = ? WHERE id = ?", (content["prev_hash"], prev, row.id))


def _hostile_row(case_dir: Path) -> int:
    with EvidenceStore.open_existing(case_dir / "evidence.sqlite") as store:
        return next(r.id for r in store.rows(suite="identity") if r.probe_id == "hostile-1" and "owned" in r.response["text"])


@pytest.mark.parametrize("rechain", [False, True], ids=["edited-row", "edited-row-with-forged-chain"])
def test_an_altered_evidence_row_is_named(signed, case_dir: Path, tmp_path: Path, rechain: bool) -> None:  # noqa: ANN001
    row_id = _hostile_row(case_dir)
    store = tmp_path / "evidence.sqlite"
    shutil.copy(case_dir / "evidence.sqlite", store)
    _tamper_row(store, row_id, rechain=rechain)
    result = api.verify_report(signed.pdf_path, evidence=store)
    assert not result.ok
    problems = "\n".join(result.problems)
    assert f"cited evidence rows: row {row_id} changed" in problems, problems
    assert ("evidence chain: row" in problems) is not rechain  # a forged chain passes its own check, not the report's


def test_report_signed_by_another_key_fails_the_pinned_key(case_dir: Path, keys, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    code, out, _ = run_cli(capsys, "report", str(case_dir), "--key", str(keys["other"]), "--out", str(tmp_path))
    assert code == 0 and "PDF/A-3b" in out and "signed, key SHA256:" in out
    pdf = tmp_path / "report.pdf"
    code, out, err = run_cli(capsys, "verify", str(pdf), "--evidence", str(case_dir / "evidence.sqlite"))
    assert code == 4 and "report verified" in out and "signer NOT VERIFIED" in err  # intact, but whose key is not checked
    code, _, err = run_cli(capsys, "verify", str(pdf), "--public-key", str(keys["analyst"]) + ".pub")
    assert code == 1 and "FAIL signer" in err and "not by the expected key" in err


def test_unsigned_report_is_never_verified_silently(case_dir: Path, tmp_path: Path, capsys) -> None:
    result = api.render_report(case_dir, out_dir=tmp_path)
    assert not result.signed
    assert "UNSIGNED" in _text(PdfReader(result.pdf_path))
    code, _, err = run_cli(capsys, "verify", str(result.pdf_path))
    assert code == 1 and "NOT SIGNED" in err
    code, out, _ = run_cli(capsys, "verify", str(result.pdf_path), "--allow-unsigned", "--evidence", str(case_dir / "evidence.sqlite"))
    assert code == 0 and "report verified" in out


# ---------------------------------------------------------------------- inputs and keys


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "keygen", str(tmp_path / "k.pem"))
    assert code == 0 and "fingerprint SHA256:" in out
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in (tmp_path / "k.pem").read_bytes() and b"PUBLIC KEY" in (tmp_path / "k.pem.pub").read_bytes()
    code, _, err = run_cli(capsys, "keygen", str(tmp_path / "k.pem"))
    assert code == 2 and "already exists" in err


def test_a_key_others_can_read_is_refused_with_a_fix(case_dir: Path, tmp_path: Path, capsys) -> None:
    api.generate_key(tmp_path / "loose.key")
    os.chmod(tmp_path / "loose.key", 0o644)
    with pytest.raises(KeyFileError, match="readable by other users"):
        api.render_report(case_dir, key=tmp_path / "loose.key", out_dir=tmp_path)
    code, _, err = run_cli(capsys, "report", str(case_dir), "--key", str(tmp_path / "loose.key"), "--out", str(tmp_path))
    assert code == 2 and "chmod 600" in err and not (tmp_path / "report.pdf").exists()


def test_report_needs_findings_made_from_this_case_file(case_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "case"
    shutil.copytree(case_dir, copy, ignore=shutil.ignore_patterns("report.*"))
    (copy / "case.toml").write_text((copy / "case.toml").read_text().replace("Report test", "Edited title"))
    with pytest.raises(ReportError, match="changed after findings.json was written"):
        api.render_report(copy)
    (copy / "findings.json").unlink()
    with pytest.raises(ReportError, match="no findings.json"):
        api.render_report(copy)


def test_a_suite_the_report_does_not_know_is_rendered_generically(case_dir: Path, tmp_path: Path) -> None:
    """New suites (watermark, ...) appear in findings.json before the templates learn of them."""
    copy = tmp_path / "case"
    shutil.copytree(case_dir, copy, ignore=shutil.ignore_patterns("report.*"))
    findings = json.loads((copy / "findings.json").read_text())
    test = {**findings["tests"][0], "suite": "future-suite", "test_id": "green-token-z", "summary": "A summary <b>escaped</b>."}
    findings["tests"].append(test)
    findings["suites"]["future-suite"] = {"question": "Does a new suite render?", "statistic": "z"}
    (copy / "findings.json").write_text(json.dumps(findings))
    result = api.render_report(copy)
    text = _text(PdfReader(result.pdf_path)).replace("\n", " ")
    assert "future-suite" in text and "Does a new suite render?" in text and "green-token-z" in text
    assert "not measured for this suite" in text and "A summary <b>escaped</b>." in text


def test_verify_of_something_that_is_not_a_pdf_is_bad_input(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.pdf").write_text("hello")
    code, _, err = run_cli(capsys, "verify", str(tmp_path / "x.pdf"))
    assert code == 2 and "is not a PDF" in err


# ---------------------------------------------------------------------- the two locks on hostile text


def test_url_fetcher_serves_only_packaged_assets(tmp_path: Path) -> None:
    fetcher = AssetOnlyFetcher()
    assert fetcher.fetch((reports_dir() / "assets" / "DejaVuSans.ttf").as_uri()).read()[:4] == b"\x00\x01\x00\x00"
    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link.txt").symlink_to(outside)
    linked = AssetOnlyFetcher(tmp_path / "root")
    for url in (
        "file:///etc/passwd",
        reports_dir().as_uri() + "/../../../../../etc/passwd",
        "http://127.0.0.1:9/evil.css",
        "https://example.invalid/x.png",
        "data:text/css,body{}",
        "file://otherhost" + str(reports_dir() / "report.css"),
    ):
        with pytest.raises(ValueError, match="only its own packaged assets"):
            fetcher.fetch(url)
    with pytest.raises(ValueError):
        linked.fetch((tmp_path / "root" / "link.txt").as_uri())
    assert len(fetcher.refused) == 6 and linked.refused


def test_quote_escapes_marks_invisible_characters_and_cuts_long_text() -> None:
    html = str(quote('<b onclick="x">hi</b>\x00\u202e\ud800\t\n'))
    assert html.startswith("&lt;b onclick=&#34;x&#34;&gt;hi&lt;/b&gt;")
    assert "[U+0000]" in html and "[U+202E]" in html and "[U+D800]" in html and "\t\n" in html
    cut = str(quote("a" * 50, limit=10, row_id=7))
    assert cut.startswith("a" * 10 + "<span") and "cut at 10 of 50 characters; the full text is evidence row 7" in cut


def test_error_rates_the_report_quotes_are_the_bench_record_of_held_back_seeds() -> None:
    """reports/assets/calibration.json is written by benchmarks/provenance_bench.py from docs/bench.json."""
    import sys

    from provenance.report.context import calibration_record

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "benchmarks"))
    try:
        import provenance_bench as bench
    finally:
        sys.path.pop(0)
    evaluations = [bench.Evaluation(**{**r, "controls": tuple(r["controls"])})
                   for r in json.loads((root / "docs" / "bench.json").read_text(encoding="utf-8"))]
    out = root / "docs" / ".record-check.json"
    try:
        bench.write_record(out, evaluations)
        assert json.loads(out.read_text(encoding="utf-8")) == calibration_record()
    finally:
        out.unlink(missing_ok=True)
    record = calibration_record()
    # It says which part of the bench it comes from: held-back seeds, or a development seed where no held-back
    # seed was measured with this code (the reader is told, not given a development figure as held back).
    assert ("held-back lab seeds" in record["source"] or "development (no held-back seed measured" in record["source"])
    assert record["overall"] in (root / "docs" / "bench.md").read_text(encoding="utf-8")


def test_the_report_quotes_the_error_rates_of_the_cases_own_conditions() -> None:
    from types import SimpleNamespace

    from provenance.report.context import calibration_for

    record = {
        "full_probe_sets_from": 73, "suites": {"x": "default"}, "overall": "default", "how": "h",
        "conditions": [
            {"access": a, "budget": b, "controls": None, "suites": {"x": f"{a}-{b}"}, "overall": f"{a}-{b}"}
            for a in ("open", "black-box") for b in (10, 25, 50, None)
        ] + [{"access": "open", "budget": None, "controls": 2, "suites": {"x": "two"}, "overall": "open-None-2"}],
    }

    def case(access_open: bool, answered: int, controls: int = 1) -> tuple[object, object]:
        tests = [SimpleNamespace(test_id="cross-likelihood" if access_open else "teacher-markers", suite="distribution",
                                 in_family=True)]
        models = [SimpleNamespace(name="s", role="suspect"), *(SimpleNamespace(name=f"c{i}", role="control")
                                                              for i in range(controls))]
        findings = SimpleNamespace(tests=tests, models=models)
        view = SimpleNamespace(first_answers=lambda model, suite: dict.fromkeys(range(answered)))
        return findings, view

    assert calibration_for(*case(True, 313), record)["overall"] == "open-None"
    assert calibration_for(*case(False, 313), record)["overall"] == "black-box-None"
    assert calibration_for(*case(True, 30), record)["overall"] == "open-25"
    assert "open access, 25 probes per suite" in calibration_for(*case(True, 30), record)["how"]
    assert calibration_for(*case(True, 5), record)["overall"] == "default"  # fewer than any measured budget
    # The panel with as many controls as the case, where the bench has one; else pooled, and said.
    two = calibration_for(*case(True, 313, controls=2), record)
    assert two["overall"] == "open-None-2" and two["condition"] == {"access": "open", "budget": None, "controls": 2}
    assert "2 controls as in this case" in two["how"] and "(s)" not in two["how"]
    assert "pooled over control panels" in calibration_for(*case(True, 313, controls=3), record)["how"]
