"""The demo shows the signature a PDF reader sees (issue 27, item 9).

``provenance demo`` signs its report with a demo key and a demo self-signed
certificate bound to it, labelled as identifying no one, so the PDF carries a PAdES
signature field that a reader's signature panel shows. The slow test runs the real
``demo`` command on the session's lab (a cut-down copy of the demo case) and reads
the field back with pypdf and pyHanko.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from provenance.report.certificates import DEMO_HOLDER, bound_ed25519_key, demo_signing_material, load_pkcs12
from provenance.report.keys import load_private_key, public_bytes
from provenance.report.pades import read_pdf_signatures
from test_cli import run_cli

REPO = Path(__file__).resolve().parents[1]


def test_the_demo_certificate_is_self_signed_bound_to_the_demo_key_labelled_and_kept(tmp_path: Path) -> None:
    key, p12 = demo_signing_material(tmp_path / "demo-signing-key.pem")
    identity = load_pkcs12(p12)
    summary = identity.summary()
    assert identity.self_signed and summary["organisation"] == DEMO_HOLDER[1] == "DEMO certificate: identifies no one"
    assert bound_ed25519_key(identity.certificate) == public_bytes(load_private_key(key).public_key()).hex()
    before = p12.read_bytes(), key.read_bytes()
    assert demo_signing_material(key) == (key, p12) and (p12.read_bytes(), key.read_bytes()) == before  # made once


def test_verify_words_a_signature_followed_by_validation_data_as_pdfsig_and_pyhanko_do(report_case: Path, tmp_path: Path) -> None:
    """A PAdES B-LT signature covers its revision, not the file: "the whole document" would contradict pdfsig."""
    import shutil
    import subprocess

    from provenance import api

    key, p12 = demo_signing_material(tmp_path / "demo-signing-key.pem")
    result = api.render_report(report_case, key=key, pkcs12=p12, pkcs12_passphrase=None, out_dir=tmp_path / "out")
    [status] = read_pdf_signatures(result.pdf_path.read_bytes())
    assert (status.coverage, status.modification) == ("ENTIRE_REVISION", "LTA_UPDATES")  # pyHanko's words
    checks = {c.name: c for c in api.verify_report(result.pdf_path, evidence=report_case).checks}
    detail = checks["PDF signature"].detail
    assert checks["PDF signature"].ok and "whole document" not in detail
    assert "covers the document as signed; the later revision adds only long-term-validation data" in detail
    if shutil.which("pdfsig"):  # poppler-utils, where installed
        out = subprocess.run(["pdfsig", str(result.pdf_path)], capture_output=True, text=True).stdout
        assert "Not total document signed" in out and "Signature is Valid" in out and "Not total document signed" in detail


def _demo_case(root: Path, lab_root: Path) -> Path:
    """The demo case file on the session's lab, with short probe sets."""
    text = (REPO / "casefiles" / "demo" / "case.toml").read_text(encoding="utf-8")
    text = text.replace("../../.lab-cache/tiny-seed0", str(lab_root))
    for suite in ("identity", "refusal", "distribution", "errors"):
        text = text.replace(f"[suites.{suite}]\n", f"[suites.{suite}]\nlimit = 8\n")
    root.mkdir(parents=True)
    (root / "case.toml").write_text(text, encoding="utf-8")
    return root


@pytest.mark.slow
def test_the_demo_report_has_a_pades_signature_field_a_reader_shows(lab, tmp_path: Path, monkeypatch, capsys) -> None:  # noqa: ANN001
    # The demo builds (or reuses) the lab at .lab-cache/tiny-seed0 under the working folder: the session's lab.
    work = tmp_path / "work"
    (work / ".lab-cache").mkdir(parents=True)
    (work / ".lab-cache" / "tiny-seed0").symlink_to(lab.root, target_is_directory=True)
    case = _demo_case(work / "case", lab.root)
    monkeypatch.chdir(work)
    code, out, err = run_cli(capsys, "demo", "--case", str(case))
    assert code == 0, err
    assert "PDF signature, certificate" in out
    reader = PdfReader(case / "report.pdf")
    fields = [f for f in (reader.get_fields() or {}).values() if f.get("/FT") == "/Sig"]
    assert len(fields) == 1
    value = fields[0]["/V"].get_object()
    assert value["/SubFilter"] == "/ETSI.CAdES.detached" and value["/Filter"] == "/Adobe.PPKLite"  # PAdES baseline
    [status] = read_pdf_signatures((case / "report.pdf").read_bytes())
    assert status.intact and status.valid and status.covers_document
    assert "DEMO certificate: identifies no one" in status.signer_subject and not status.trusted
    text = " ".join(p.extract_text() or "" for p in reader.pages[:2]).replace("\n", " ")
    assert "SELF-SIGNED certificate" in text and "they identify no one" in text
    # The demo's exhibits show the controls' answers, and mark an answer cut at the token limit where one is shown.
    from provenance.evidence import EvidenceStore
    from provenance.report.context import truncated_rows

    whole = " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)
    exhibits = whole[whole.index("5. Exhibits"):whole.index("6. Limitations")]
    assert "Control control-same-data · evidence row" in exhibits and "Control control-panel-4 · evidence row" in exhibits
    with EvidenceStore.open_readonly(case / "evidence.sqlite") as store:
        cut = truncated_rows(list(store.rows()))
    shown = {int(r) for r in re.findall(r"evidence row (\d+)", exhibits)}
    if shown & set(cut):
        assert "CUT AT THE TOKEN LIMIT" in exhibits
