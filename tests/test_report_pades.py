"""Court-grade signatures: PAdES with an RFC 3161 time stamp, validated with pyHanko, tampered with for real.

The PKI (root CA -> analyst, root CA -> TSA) is made in tests/pki.py, and the
time-stamping authority is a real HTTP server on loopback answering RFC 3161
requests. The report is the shared report case's (tests/report_case.py), rendered
once with a PDF signature and copied for each tampering.
"""

from __future__ import annotations

import io
import json
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from pki import NOW, closed_port_url, identity, issue, make_root, time_stamping_authority, write_pkcs12
from provenance import api
from provenance.report.certificates import load_pkcs12
from provenance.report.errors import KeyFileError, ReportError
from provenance.report.pades import TimestampError, read_pdf_signatures, sign_pdf
from provenance.report.sign import first_revision_end
from test_cli import run_cli


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("pki")
    root, other_root = make_root("Test Root CA"), make_root("Another Root CA")
    analyst = issue(root, "Dana Analyst")
    return {
        "root": root, "root_pem": root.pem(folder / "root.pem"), "other_root_pem": other_root.pem(folder / "other-root.pem"),
        "analyst": analyst, "identity": identity(analyst, root), "p12": write_pkcs12(analyst, root, folder / "analyst.p12", b"s3cret"),
        "other": identity(issue(other_root, "Someone Else"), other_root),
        "key": _ed25519(folder),
    }  # fmt: skip


def _ed25519(folder: Path) -> Path:
    api.generate_key(folder / "analyst.key")
    return folder / "analyst.key"


@pytest.fixture(scope="module")
def pades(report_case: Path, pki: dict, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    with time_stamping_authority(pki["root"]) as url:
        result = api.render_report(
            report_case, key=pki["key"], pkcs12=pki["p12"], pkcs12_passphrase=b"s3cret", tsa_url=url,
            out_dir=tmp_path_factory.mktemp("pades"),
        )  # fmt: skip
    return result


def _checks(result) -> dict[str, tuple[bool, str]]:  # noqa: ANN001
    return {c.name: (c.ok, c.detail) for c in result.checks}


def _copy(data: bytes, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------------- signed, time-stamped, trusted


def test_signed_report_validates_intact_time_stamped_and_trusted(pades, pki: dict, report_case: Path) -> None:  # noqa: ANN001
    assert pades.certificate_sha256 == pki["identity"].fingerprint and pades.time_stamped
    result = api.verify_report(pades.pdf_path, evidence=report_case / "evidence.sqlite", trust=[pki["root_pem"]])
    assert result.ok, result.problems
    checks = _checks(result)
    assert checks["PDF signature"][0] and "covers the document as signed" in checks["PDF signature"][1]
    assert "the later revision adds only long-term-validation data" in checks["PDF signature"][1]  # B-LT: the DSS revision
    assert "RFC 3161" in checks["time stamp"][1] and "Test Time-Stamping Authority" in checks["time stamp"][1]
    assert "the authority is trusted" in checks["time stamp"][1]
    assert checks["trust"] == (True, "chains to a --trust certificate")
    assert checks["PDF signer in manifest"][0] and checks["document signature"][0] and checks["certificate validity"][0]
    assert "Dana Analyst" in result.pdf_signer
    # pyHanko's own reading: one signature, intact, trusted, with a time stamp within a minute of rendering
    (status,) = read_pdf_signatures(pades.pdf_path.read_bytes(), [pki["root"].certificate])
    assert status.intact and status.trusted and status.signing_time_source == "time stamp"
    assert abs(status.signing_time - NOW) < timedelta(hours=1)


def test_with_a_tsa_the_signature_gets_a_document_time_stamp_for_archive_renewal(pades, pki: dict, report_case: Path) -> None:  # noqa: ANN001
    """PAdES B-LTA: a /DocTimeStamp over the signature and its DSS, checked by verify and read back by pypdf."""
    from provenance.report.pades import read_document_timestamps

    data = pades.pdf_path.read_bytes()
    [stamp] = read_document_timestamps(data, [pki["root"].certificate])
    assert stamp.intact and stamp.valid and stamp.trusted and "Test Time-Stamping Authority" in stamp.authority
    types = [f.get("/V").get_object().get("/Type") for f in PdfReader(pades.pdf_path).get_fields().values() if f.get("/FT") == "/Sig"]
    assert sorted(types) == ["/DocTimeStamp", "/Sig"]
    checks = _checks(api.verify_report(pades.pdf_path, evidence=report_case / "evidence.sqlite", trust=[pki["root_pem"]]))
    ok, detail = checks["document time stamp"]
    assert ok and "PAdES B-LTA" in detail and "the authority is trusted" in detail
    assert checks["PDF signature"][0]  # the later revisions are validation data and a time stamp, nothing else


def test_signed_report_keeps_pdfa_3b_attachments_and_shows_the_signature_block(pades, pki: dict) -> None:  # noqa: ANN001
    reader = PdfReader(pades.pdf_path)
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert "pdfaid:part" in xmp and ">3<" in xmp.replace('"3"', ">3<")
    assert "/DSS" in reader.trailer["/Root"]  # PAdES B-LT: the validation material travels with the report
    assert set(reader.attachments) == {"findings.json", "case.toml", "evidence-manifest.json", "manifest.json", "signature.json"}
    manifest = json.loads(reader.attachments["manifest.json"][0])
    assert manifest["signer"]["certificate"]["certificate_sha256"] == pki["identity"].fingerprint
    text = "".join(page.extract_text() or "" for page in reader.pages[:2]).replace("\n", " ")
    assert "PDF signature (PAdES) by Dana Analyst, Test Forensics Ltd" in text
    assert pki["identity"].fingerprint[:24] in text.replace(" ", "") and "time-stamped by the RFC 3161 authority" in text
    assert "SELF-SIGNED" not in text


def test_without_trust_anchors_the_signature_is_intact_but_untrusted(pades) -> None:  # noqa: ANN001
    result = api.verify_report(pades.pdf_path)
    assert result.ok, result.problems
    assert _checks(result)["trust"] == (True, "untrusted but intact: no --trust certificate given, so who holds the key is not checked")


# ---------------------------------------------------------------------- tampering after signing


def test_a_changed_byte_breaks_both_signatures(pades, tmp_path: Path) -> None:  # noqa: ANN001
    data = bytearray(pades.pdf_path.read_bytes())
    data[len(data) // 4] ^= 0x01  # inside the first revision
    result = api.verify_report(_copy(bytes(data), tmp_path, "byte.pdf"))
    checks = _checks(result)
    assert not result.ok and not checks["document signature"][0]
    assert checks["PDF signature"] == (False, "does not match the document: bytes it covers were changed after signing")


def test_an_appended_update_that_edits_a_page_is_caught(pades, tmp_path: Path) -> None:  # noqa: ANN001
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    out = io.BytesIO(pades.pdf_path.read_bytes())
    writer = IncrementalPdfFileWriter(out)
    box = writer.add_object(generic.StreamObject(stream_data=b"q 1 1 1 rg 50 500 400 200 re f Q"))  # white-out a verdict
    writer.add_stream_to_page(0, box)
    writer.write_in_place()
    result = api.verify_report(_copy(out.getvalue(), tmp_path, "edited.pdf"))
    checks = _checks(result)
    assert checks["document signature"][0]  # the first revision is untouched ...
    assert not result.ok and not checks["PDF signature"][0]  # ... but the PDF signature names the edit
    assert "changed after signing" in checks["PDF signature"][1]


def test_a_swapped_attachment_is_named(pades, tmp_path: Path) -> None:  # noqa: ANN001
    writer = PdfWriter(clone_from=PdfReader(pades.pdf_path))
    for embedded in writer.attachment_list:
        if embedded.name == "case.toml":
            embedded.content = b'[case]\nid = "another"\n'
    swapped = io.BytesIO()
    writer.write(swapped)
    problems = "\n".join(api.verify_report(_copy(swapped.getvalue(), tmp_path, "swapped.pdf")).problems)
    assert "attachment case.toml: SHA-256" in problems and "PDF signature" in problems


def test_a_pdf_signature_added_by_someone_else_is_named(pades, pki: dict, tmp_path: Path) -> None:  # noqa: ANN001
    """Strip nothing, re-sign: the Ed25519-signed manifest names the analyst's certificate, not the newcomer's."""
    first = pades.pdf_path.read_bytes()
    original = first[: first_revision_end(first)]
    resigned = sign_pdf(original, pki["other"])
    result = api.verify_report(_copy(resigned, tmp_path, "resigned.pdf"))
    assert not result.ok and "not this one (re-signed)" in _checks(result)["PDF signer in manifest"][1]
    removed = api.verify_report(_copy(original, tmp_path, "removed.pdf"))
    assert not removed.ok and "carries no PDF signature (removed)" in _checks(removed)["PDF signature"][1]


def test_a_report_signed_by_another_certificate_fails_trust(pades, pki: dict, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    code, _, err = run_cli(capsys, "verify", str(pades.pdf_path), "--trust", str(pki["other_root_pem"]))
    assert code == 1 and "FAIL trust: NOT trusted" in err


@pytest.mark.parametrize("when", ["expired", "not-yet-valid"])
def test_an_expired_or_not_yet_valid_certificate_is_reported_as_such(pades, pki: dict, tmp_path: Path, when: str) -> None:  # noqa: ANN001
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from provenance.report.pades import _asn1_certificate, _asn1_key

    window = (NOW - timedelta(days=800), NOW - timedelta(days=400)) if when == "expired" else (NOW + timedelta(days=30), NOW + timedelta(days=400))
    stale = issue(pki["root"], "Stale Analyst", valid_from=window[0], valid_to=window[1])
    with pytest.raises(KeyFileError, match="expired on" if when == "expired" else "not valid until"):
        sign_pdf(b"%PDF-1.7", identity(stale, pki["root"]))  # provenance refuses to sign with it ...
    signer = signers.SimpleSigner(signing_cert=_asn1_certificate(stale.certificate), signing_key=_asn1_key(stale.key), cert_registry=None)
    meta = signers.PdfSignatureMetadata(field_name="Sig", subfilter=fields.SigSeedSubFilter.PADES)
    data = pades.pdf_path.read_bytes()
    signed = signers.PdfSigner(meta, signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data[: first_revision_end(data)])))
    result = api.verify_report(_copy(signed.getvalue(), tmp_path, f"{when}.pdf"), trust=[pki["root_pem"]])  # ... another tool might
    ok, detail = _checks(result)["certificate validity"]
    assert not ok and detail.startswith("EXPIRED when it signed" if when == "expired" else "NOT YET VALID when it signed")


# ---------------------------------------------------------------------- the time-stamping authority fails


@pytest.mark.parametrize("failure", ["down", "slow", "garbage"])
def test_a_failing_tsa_gives_one_line_and_no_signature(pades, pki: dict, failure: str) -> None:  # noqa: ANN001
    data = pades.pdf_path.read_bytes()
    first = data[: first_revision_end(data)]
    if failure == "down":
        with pytest.raises(TimestampError) as caught:
            sign_pdf(first, pki["identity"], tsa_url=closed_port_url(), tsa_timeout=2)
    else:
        with time_stamping_authority(pki["root"], mode=failure, delay_s=3) as url:
            with pytest.raises(TimestampError) as caught:
                sign_pdf(first, pki["identity"], tsa_url=url, tsa_timeout=1)
    message = str(caught.value)
    assert "time-stamping authority" in message and "\n" not in message


def test_cli_self_signed_certificate_signs_and_a_dead_tsa_writes_nothing(report_case: Path, tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PROVENANCE_PKCS12_PASSPHRASE", "correct horse")
    code, out, _ = run_cli(capsys, "keygen", str(tmp_path / "me.key"), "--certificate", "--name", "Sam Solo", "--organisation", "Solo Lab")
    p12 = tmp_path / "me.key.p12"
    assert code == 0 and "SELF-SIGNED" in out and "encrypted" in out and stat.S_IMODE(p12.stat().st_mode) == 0o600
    assert load_pkcs12(p12, b"correct horse").self_signed
    dead = tmp_path / "dead"
    code, _, err = run_cli(capsys, "report", str(report_case), "--key", str(tmp_path / "me.key"), "--pkcs12", str(p12),
                           "--tsa-url", closed_port_url(), "--out", str(dead))  # fmt: skip
    assert code == 2 and "time-stamping authority" in err and not (dead / "report.pdf").exists()
    code, out, _ = run_cli(capsys, "report", str(report_case), "--key", str(tmp_path / "me.key"), "--pkcs12", str(p12), "--out", str(tmp_path))
    assert code == 0 and "NOT time-stamped" in out
    text = " ".join(p.extract_text() or "" for p in PdfReader(tmp_path / "report.pdf").pages[:2]).replace("\n", " ")
    assert "SELF-SIGNED certificate" in text and "by the signer's own clock" in text
    code, out, _ = run_cli(capsys, "verify", str(tmp_path / "report.pdf"), "--trust", str(p12) + ".crt")
    assert code == 0 and "ok   trust: chains to a --trust certificate" in out and "none: the signing time" in out


def test_bad_signing_inputs_are_refused_before_rendering(report_case: Path, pki: dict, tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    with pytest.raises(ReportError, match="is added to a report signed with --key"):
        api.render_report(report_case, pkcs12=pki["p12"], pkcs12_passphrase=b"s3cret", out_dir=tmp_path)
    monkeypatch.delenv("PROVENANCE_PKCS12_PASSPHRASE", raising=False)
    code, _, err = run_cli(capsys, "report", str(report_case), "--key", str(pki["key"]), "--pkcs12", str(pki["p12"]), "--out", str(tmp_path))
    assert code == 2 and "PROVENANCE_PKCS12_PASSPHRASE" in err and not (tmp_path / "report.pdf").exists()
    code, _, err = run_cli(capsys, "keygen", str(tmp_path / "x.key"), "--certificate")
    assert code == 2 and "--name" in err


def test_a_pkcs12_bundle_with_trailing_bytes_loads_without_a_warning_on_stderr(tmp_path: Path) -> None:
    # Found by the key-file fuzz property: cryptography falls back from DER to BER on such a bundle and warns on
    # stderr, which turned the CLI's one-line refusal of the next problem into three lines.
    import warnings

    from provenance.report.certificates import load_pkcs12

    root = make_root("Warn Root")
    path = write_pkcs12(issue(root, "Warn Analyst"), root, tmp_path / "a.p12")
    path.write_bytes(path.read_bytes() + b"\n\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        loaded = load_pkcs12(path)
    assert loaded.certificate is not None
