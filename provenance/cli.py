"""The ``provenance`` command: a thin layer over the library API.

Exit codes (documented in the README, relied on by schedulers):
  0  done
  1  a check failed (``verify`` found tampering)
  2  a problem with the input: bad case file, missing model, unsafe checkpoint,
     unusable evidence store; the message says what to do
  3  collection stopped at the case's query budget; what was collected is kept,
     re-run with a larger budget to resume
  4  ``verify`` of a report: every check passed, but the signer is NOT VERIFIED
     (no --public-key or --trust said whose key signed it)
``provenance audit run|diff`` exit 0 (nothing new), 1 (a new finding) or 2 (an
error, or a pair failed); see ``provenance.audit.cli``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from provenance import api
from provenance.errors import ProvenanceError

EXIT_CHECK_FAILED = 1
EXIT_BUDGET = 3
#: ``verify`` of a report: every check passed, but the signer was not checked (no --public-key, no --trust).
EXIT_SIGNER_NOT_VERIFIED = 4

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Forensic model-provenance analysis.")
case_app = typer.Typer(no_args_is_help=True, help="Create, run and check investigations (case files).")
app.add_typer(case_app, name="case")

err = Console(stderr=True)

CasePath = Annotated[Path, typer.Argument(help="case directory, or its case.toml")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def _with_progress(step, case_path: Path):  # noqa: ANN001, ANN202 - api.collect or api.run_case
    """Run a collecting library call with a progress bar on stderr."""
    case = api.load_case(case_path)  # a bad case file fails before any progress bar
    with _progress() as progress:
        task = progress.add_task("collecting", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"collecting ({label})")

        return step(case, on_progress=on_progress)


@case_app.command("init")
def case_init(
    directory: Annotated[Path, typer.Argument(help="folder for the new case")],
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing case.toml")] = False,
) -> None:
    """Write a commented case.toml template."""
    path = api.init_case(directory, force=force)
    typer.echo(f"wrote {path}")


@case_app.command("collect")
def case_collect(case: CasePath, as_json: JsonFlag = False) -> None:
    """Query every model with every probe; store each answer before anything reads it."""
    summary = _with_progress(api.collect, case)
    _print_summary(summary, as_json)
    if summary.budget_exhausted:
        raise typer.Exit(EXIT_BUDGET)


@case_app.command("analyze")
def case_analyze(case: CasePath, as_json: JsonFlag = False) -> None:
    """Test the stored evidence and write findings.json (reads only the evidence store)."""
    findings, path = api.analyze(case)
    _print_findings(findings, path, as_json)


@case_app.command("run")
def case_run(case: CasePath, as_json: JsonFlag = False) -> None:
    """Run the whole investigation: collect (resuming), then analyze."""
    result = _with_progress(api.run_case, case)
    if result.findings is None:
        _print_summary(result.collection, as_json)
        raise typer.Exit(EXIT_BUDGET)
    if not as_json:
        _print_summary(result.collection, as_json)
    _print_findings(result.findings, result.findings_path, as_json)


def _print_findings(findings: api.Findings, path: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(findings.model_dump(mode="json"), indent=2, sort_keys=True))
        return
    for test in findings.tests:
        p_adj = "" if test.p_adjusted is None else f"  p_holm={test.p_adjusted:.3g}"
        mark = "*" if test.reject else " "
        typer.echo(f"{mark} {test.teacher:>12} {test.suite}/{test.test_id}: p={test.result['p_value']:.3g}{p_adj}")
    for skipped in findings.skipped:
        typer.echo(f"  skipped {skipped.suite}: {skipped.reason}")
    for u in findings.uninformative:
        typer.echo(f"  uninformative {u.suite}/{u.test_id} (vs {u.teacher}): {u.reason}")
    for warning in findings.warnings:
        typer.echo(f"  warning: {warning}")
    for verdict in findings.verdicts:
        typer.echo(verdict.text)
    typer.echo(f"findings: {path}")


panel_app = typer.Typer(no_args_is_help=True, help="Reusable reference panels: independent models collected once.")
app.add_typer(panel_app, name="panel")


@panel_app.command("build")
def panel_build(
    directory: Annotated[Path, typer.Argument(help="panel folder holding panel.toml (or the panel.toml itself)")],
    as_json: JsonFlag = False,
) -> None:
    """Collect every panel model's answers, and its scores of the teacher's and the other models' answers, once."""
    api.load_panel(directory)  # a bad panel file fails before any progress bar
    with _progress() as progress:
        task = progress.add_task("building panel", total=None)

        def on_progress(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=f"building panel ({label})")

        summary = api.build_panel(directory, on_progress=on_progress)
    _print_summary(summary, as_json)
    if summary.budget_exhausted:
        raise typer.Exit(EXIT_BUDGET)


from provenance.audit.cli import audit_app  # noqa: E402 - kept beside the other sub-apps

app.add_typer(audit_app, name="audit")

lab_app = typer.Typer(no_args_is_help=True, help="Build model families with known provenance.")
app.add_typer(lab_app, name="lab")


@lab_app.command("build")
def lab_build(
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for the model family [default: .lab-cache/[PROFILE-]SIZE-seedN]")
    ] = None,
    size: Annotated[str, typer.Option("--size", help="tiny (minutes, for tests) or small (clearer behaviour)")] = "tiny",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    force: Annotated[bool, typer.Option("--force", help="rebuild even if a cached build matches")] = False,
    teacher: Annotated[
        str | None,
        typer.Option(
            "--teacher",
            help="distil the students from this model instead of the lab's own teacher: a model directory, "
            "a .gguf file, or package:PKG/FILE (no watermarked pair is built then)",
        ),
    ] = None,
    profile: Annotated[
        str,
        typer.Option("--profile", help="standard (the CI family) or realistic (adds students at teacher shares of "
                     "30/10/3 % and 100/300/1,000 exchanges, a raw base, a human-text model, a student of another teacher)"),
    ] = "standard",
    second_teacher: Annotated[
        str | None,
        typer.Option("--second-teacher", help="realistic profile: also distil a student from this released model "
                     "(a model directory, a .gguf file or package:PKG/FILE), listed in lab.json as second-teacher"),
    ] = None,
) -> None:
    """Train the lab family (teacher, students, controls) on CPU; cached by config and code."""
    if out is None:
        stem = f"{size}-seed{seed}" if profile == "standard" else f"{profile}-{size}-seed{seed}"
        if teacher is not None:
            name = Path(teacher.split("/")[-1]).stem or "teacher"
            stem = f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}-{stem}"
        out = Path(".lab-cache") / stem
    manifest = _build_lab(out, size, seed, force, teacher, profile, second_teacher)
    for row in manifest.table():
        typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))
    typer.echo(f"lab: {out / 'lab.json'}")


def _build_lab(out: Path, size: str, seed: int, force: bool, teacher: str | None = None,  # noqa: ANN202
               profile: str = "standard", second_teacher: str | None = None, panel_controls: int = 0):
    from provenance.lab import SIZES, build_lab
    from provenance.lab.build import PROFILES

    if size not in SIZES:
        raise ProvenanceError(f"unknown lab size {size!r}", hint=f"use one of: {', '.join(SIZES)}")
    if profile not in PROFILES:
        raise ProvenanceError(f"unknown lab profile {profile!r}", hint=f"use one of: {', '.join(PROFILES)}")
    if profile != "standard" and teacher is not None:
        raise ProvenanceError("--profile realistic is built around the lab's own teacher",
                              hint="leave out --teacher, or build the standard profile around it")
    if second_teacher is not None and profile != "realistic":
        raise ProvenanceError("--second-teacher belongs to the realistic profile", hint="add --profile realistic")
    return build_lab(
        out, size=size, seed=seed, force=force, teacher=teacher, profile=profile, second_teacher=second_teacher,
        panel_controls=panel_controls, progress=lambda line: err.print(escape(line)),
    )


@lab_app.command("traffic")
def lab_traffic(
    out: Annotated[Path, typer.Option("--out", help="folder for log.jsonl and truth.json")],
    seed: Annotated[int, typer.Option("--seed", help="the simulation's seed")] = 0,
    teacher: Annotated[Path | None, typer.Option("--teacher", help="a model directory whose answers fill the log's responses")] = None,
    scale: Annotated[float, typer.Option("--scale", min=0.01, help="multiply the number of accounts")] = 1.0,
) -> None:
    """Simulate a vendor's exchange log with known extraction campaigns and hard negatives."""
    from provenance.traffic import write_log

    backend = None
    if teacher is not None:
        from provenance.backends.hf import HFBackend

        backend = HFBackend.load(teacher, name=teacher.name)
    truth = write_log(out, seed=seed, teacher=backend, scale=scale)
    kinds: dict[str, int] = {}
    for kind in truth["accounts"].values():
        kinds[kind] = kinds.get(kind, 0) + 1
    typer.echo(f"wrote {out / 'log.jsonl'} ({truth['exchanges']} exchanges) and {out / 'truth.json'}")
    for kind, count in sorted(kinds.items()):
        typer.echo(f"  {count:5d} accounts: {kind}")


traffic_app = typer.Typer(no_args_is_help=True, help="Find extraction campaigns in a teacher vendor's API logs.")
app.add_typer(traffic_app, name="traffic")


@traffic_app.command("scan")
def traffic_scan(
    logs: Annotated[list[Path], typer.Argument(help="exchange logs: JSON Lines, Parquet, OTel GenAI spans (OTLP/JSON) or LiteLLM spend logs")],
    out: Annotated[Path, typer.Option("--out", help="folder for campaigns.json, accounts.json, traffic.html, campaigns/")],
    release: Annotated[list[str] | None, typer.Option("--release", help="a model release time (ISO 8601, UTC); repeatable")] = None,
    threshold: Annotated[float | None, typer.Option("--threshold", help="campaign score to flag (default: the bench's)")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="stop at the first bad line instead of skipping and counting it")] = False,
    years: Annotated[str, typer.Option("--years", help="FIRST-LAST: a line dated outside these years is skipped and counted")] = "1970-2100",
    log_format: Annotated[str | None, typer.Option("--format", help="canonical, otel, litellm or mapped (default: detected)")] = None,
    field_map: Annotated[Path | None, typer.Option("--map", help="TOML field mapping for another JSONL/Parquet schema")] = None,
) -> None:
    """Rank suspected extraction campaigns, with their evidence, and export their exchanges as transcripts."""
    from datetime import datetime

    from provenance.traffic import scan
    from provenance.traffic.campaigns import DEFAULT_THRESHOLD

    try:
        releases = [datetime.fromisoformat(r.replace("Z", "+00:00")).replace(tzinfo=None) for r in release or []]
    except ValueError:
        raise ProvenanceError(f"--release {release} is not an ISO 8601 time", hint="e.g. --release 2026-03-09T00:00:00Z") from None
    span = re.fullmatch(r"\s*(\d{1,4})\s*-\s*(\d{1,4})\s*", years)
    if span is None:
        raise ProvenanceError(f"--years {years!r} is not FIRST-LAST", hint="e.g. --years 1970-2100")
    started = time.perf_counter()
    result = scan(logs, out, release_dates=releases, threshold=DEFAULT_THRESHOLD if threshold is None else threshold, strict=strict,
                  years=(int(span[1]), int(span[2])), log_format=log_format, field_map=field_map, on_step=lambda name: err.print(f"[{time.perf_counter() - started:6.1f} s] {name}"))  # fmt: skip
    skipped = sum(result.read.skipped.values())
    typer.echo(f"read {result.exchanges} exchanges from {result.accounts} accounts in {result.seconds:.1f} s"
               + (f"; skipped {skipped} bad lines ({dict(result.read.skipped)})" if skipped else ""))  # fmt: skip
    for rank, campaign in enumerate(result.campaigns[:10], start=1):
        mark = "FLAGGED" if campaign.flagged else "       "
        why = "; ".join(e["words"] for e in campaign.evidence[:3])
        typer.echo(f"{rank:3d} {mark} score {campaign.score:5.1f}  {len(campaign.accounts):4d} accounts  {campaign.requests:7d} requests  {why}")
    typer.echo(f"campaigns: {out / 'campaigns.json'}; page: {out / 'traffic.html'}; transcripts: {out / 'campaigns'}")


@app.command("demo")
def demo(
    case: Annotated[Path, typer.Option("--case", help="the demo case")] = Path("casefiles/demo"),
) -> None:
    """Build the lab models (cached), run the demo case on them, write the signed report."""
    _build_lab(Path(".lab-cache/tiny-seed0"), "tiny", 0, False, panel_controls=4)
    case_run(case, as_json=False)
    from provenance.report.certificates import demo_signing_material

    fresh = not DEMO_KEY.with_name(DEMO_KEY.name + ".p12").exists()
    key, p12 = demo_signing_material(DEMO_KEY)
    if fresh:
        err.print(f"demo signing key {key} and self-signed certificate {p12} (they identify no one)")
    _report(case, key, None, False, signer_note=DEMO_KEY_NOTE, pkcs12=p12, passphrase=None)


@case_app.command("verify")
def case_verify(case: CasePath, as_json: JsonFlag = False) -> None:
    """Check the hash chain of a case's evidence store."""
    _verify(case, as_json)


@app.command("verify")
def verify(
    target: Annotated[Path, typer.Argument(help="report.pdf, evidence.sqlite, or a case directory / case.toml")],
    evidence: Annotated[
        Path | None, typer.Option("--evidence", help="for a report: the case folder (or its evidence.sqlite), to check every cited row and re-derive every number of the findings")
    ] = None,
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="for a report: the analyst's .pub file the signature must match")
    ] = None,
    allow_unsigned: Annotated[
        bool, typer.Option("--allow-unsigned", help="for a report: accept a report rendered without a key")
    ] = False,
    trust: Annotated[
        list[Path] | None,
        typer.Option("--trust", help="for a report: a certificate (signer's or CA's, PEM/DER) the PDF signature must chain to; repeatable"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check a report's signatures, attachments and cited evidence; or an evidence store's hash chain."""
    if target.suffix.lower() == ".pdf":
        _verify_report(target, evidence, public_key, allow_unsigned, trust or [], as_json)
    else:
        _verify(target, as_json)


DEMO_KEY = Path(".lab-cache/demo-signing-key.pem")
DEMO_KEY_NOTE = ("Signed with a DEMO key and a DEMO self-signed certificate that `provenance demo` generated; they "
                 "identify no one.")


@app.command("keygen")
def keygen(
    keyfile: Annotated[Path, typer.Argument(help="where to write the private key (mode 0600); KEYFILE.pub gets the public key")],
    force: Annotated[bool, typer.Option("--force", help="replace an existing key")] = False,
    certificate: Annotated[
        bool,
        typer.Option("--certificate", help="also write KEYFILE.p12 (key + self-signed X.509 certificate for PDF signatures) and KEYFILE.p12.crt"),
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="with --certificate: the analyst's name")] = None,
    organisation: Annotated[str | None, typer.Option("--organisation", help="with --certificate: the analyst's organisation")] = None,
) -> None:
    """Create an Ed25519 signing key for reports (and, with --certificate, a self-signed certificate for PDF signatures).

    The PKCS#12 file is encrypted with the passphrase in PROVENANCE_PKCS12_PASSPHRASE when that is set.
    """
    from provenance.report.certificates import passphrase_from_env
    from provenance.report.keys import fingerprint, public_bytes

    if (name or organisation) and not certificate:
        raise ProvenanceError("--name and --organisation describe a certificate", hint="add --certificate")
    if certificate and not (name and organisation):
        raise ProvenanceError("a certificate names its holder", hint='pass --name "Analyst Name" --organisation "Organisation"')
    p12 = keyfile.with_name(keyfile.name + ".p12")
    if certificate and p12.exists() and not force:
        raise ProvenanceError(f"{p12} already exists", hint="choose another KEYFILE, or pass --force to replace both")
    if certificate:  # all that the certificate would refuse, before the key is written
        from provenance.report.certificates import check_certificate_inputs

        check_certificate_inputs(p12, name=name or "", organisation=organisation or "", force=force)
    public = api.generate_key(keyfile, force=force)
    typer.echo(f"wrote {keyfile} (private, mode 0600: keep it secret) and {keyfile}.pub")
    typer.echo(f"fingerprint {fingerprint(public)}: publish it so others can check your reports")
    if certificate:
        passphrase = passphrase_from_env()
        identity = api.generate_certificate(p12, name=name or "", organisation=organisation or "", passphrase=passphrase, force=force,
                                            ed25519_public_key=public_bytes(public))  # fmt: skip
        locked = "encrypted with PROVENANCE_PKCS12_PASSPHRASE" if passphrase else "NOT encrypted: set PROVENANCE_PKCS12_PASSPHRASE to encrypt it"
        typer.echo(f"wrote {p12} (key + SELF-SIGNED certificate, mode 0600, {locked}) and {p12}.crt")
        typer.echo(f"certificate SHA-256 {identity.fingerprint}: give {p12}.crt to those who verify with --trust")


KeyOption = Annotated[Path | None, typer.Option("--key", help="private key file from `provenance keygen`; without it the report is unsigned")]
OutOption = Annotated[Path | None, typer.Option("--out", help="folder for report.pdf and report.html (default: the case folder)")]
Pkcs12Option = Annotated[
    Path | None,
    typer.Option("--pkcs12", help="PKCS#12 file (certificate + key) for a PDF signature any reader shows; passphrase from PROVENANCE_PKCS12_PASSPHRASE"),
]
TsaOption = Annotated[
    str | None, typer.Option("--tsa-url", help="RFC 3161 time-stamping authority for the PDF signature (default: the case file's [report] tsa_url)")
]


@app.command("report")
def report(
    case: CasePath, key: KeyOption = None, out: OutOption = None, pkcs12: Pkcs12Option = None, tsa_url: TsaOption = None,
    as_json: JsonFlag = False,
) -> None:  # fmt: skip
    """Render report.pdf (PDF/A-3b, evidence attached, signed with --key and --pkcs12) and report.html from findings.json."""
    _report(case, key, out, as_json, pkcs12=pkcs12, tsa_url=tsa_url)


@case_app.command("report")
def case_report(
    case: CasePath, key: KeyOption = None, out: OutOption = None, pkcs12: Pkcs12Option = None, tsa_url: TsaOption = None,
    as_json: JsonFlag = False,
) -> None:  # fmt: skip
    """Render report.pdf and report.html from findings.json (same as `provenance report`)."""
    _report(case, key, out, as_json, pkcs12=pkcs12, tsa_url=tsa_url)


def _report(
    case: Path, key: Path | None, out: Path | None, as_json: bool, signer_note: str | None = None,
    pkcs12: Path | None = None, tsa_url: str | None = None, passphrase: bytes | None | bool = True,
) -> None:  # fmt: skip
    """``passphrase``: True reads the PKCS#12 passphrase from the environment; None or bytes are used as given."""
    from provenance.report.certificates import passphrase_from_env

    if passphrase is True:
        passphrase = passphrase_from_env() if pkcs12 is not None else None
    if out is not None:
        from provenance.files import make_folder

        make_folder(out)  # a file at --out: one line, nothing written
    result = api.render_report(
        case, key=key, signer_note=signer_note, out_dir=out, pkcs12=pkcs12, pkcs12_passphrase=passphrase, tsa_url=tsa_url
    )
    if as_json:
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(result).items()}
        typer.echo(json.dumps(data, indent=2))
        return
    signed = f"signed, key {result.key_fingerprint}" if result.signed else "UNSIGNED (give --key to sign)"
    if result.certificate_sha256:
        stamp = "time-stamped" if result.time_stamped else "NOT time-stamped: signer's clock"
        signed += f"; PDF signature, certificate {result.certificate_sha256[:16]}…, {stamp}"
    typer.echo(
        f"report: {result.pdf_path} ({result.pages} pages, {result.pdf_bytes / 1024:.0f} KiB, PDF/A-3b, {signed})\n"
        f"html:   {result.html_path}\nreport hash {result.report_hash}; rendered in {result.seconds:.1f} s"
    )
    if not result.signed:
        err.print("[yellow]the report is not signed[/yellow]: `provenance verify` will say so")


def _verify_report(
    pdf: Path, evidence: Path | None, public_key: Path | None, allow_unsigned: bool, trust: list[Path], as_json: bool
) -> None:
    result = api.verify_report(pdf, evidence=evidence, public_key=public_key, allow_unsigned=allow_unsigned, trust=trust)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for check in result.checks:
            mark = "ok  " if check.ok else "FAIL"
            line = f"{mark} {check.name}: {check.detail}"
            (typer.echo if check.ok else lambda text: err.print(escape(text), soft_wrap=True, highlight=False))(line)
        for warning in result.warnings:
            err.print(f"WARN {escape(warning)}", soft_wrap=True, highlight=False)
        if result.ok:
            typer.echo(f"report verified: {pdf} (report hash {result.report_hash})"
                       + ("" if evidence is None else "; findings re-derived from the evidence" if result.rederived else ""))
        else:
            err.print(f"[red]report NOT verified[/red]: {escape('; '.join(result.problems))}", soft_wrap=True, highlight=False)
        # The last line: who signed, and whether anyone checked that.
        if result.signer_verified or not result.signed:
            typer.echo(result.signer_line)
        else:
            err.print(escape(result.signer_line), soft_wrap=True, highlight=False)
    if not result.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)
    if result.signed and not result.signer_verified:
        raise typer.Exit(EXIT_SIGNER_NOT_VERIFIED)


def _verify(target: Path, as_json: bool) -> None:
    try:
        report = api.verify_evidence(target)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # bytes of the store overwritten: a failed check, not a crash
        report = api.VerifyReport(False, 0, None, f"{target} cannot be read as an evidence store ({exc}): damaged or replaced", "0" * 64)
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2))
    elif report.ok:
        typer.echo(f"evidence intact: {report.rows_checked} rows, chain head {report.head_hash}; "
                   f"journal {report.journal_entries} entries" + (f", head {report.journal_head}" if report.journal_entries else ""))
    else:
        err.print(f"[red]evidence broken[/red]: {escape(report.problem or '')}", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)


def _print_summary(summary: api.CollectionSummary, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    typer.echo(
        f"evidence: {summary.evidence_path}\n"
        f"planned {summary.planned}, newly stored {summary.stored}, already stored {summary.cached}"
        + (f" ({summary.copied} of the newly stored copied from other stores, not asked)" if summary.copied else "")
    )
    if summary.budget_exhausted:
        err.print("[yellow]stopped at the case's query budget[/yellow]; raise [budget].max_requests and re-run to resume")


#: Exit code of a bug in provenance itself (sysexits' EX_SOFTWARE): one line, the traceback only with --debug.
EXIT_INTERNAL = 70


def _one_line(text: str) -> str:
    """``text`` on one line: any character a terminal or ``str.splitlines`` breaks on, or that does not print,
    shown as ``[U+XXXX]`` (messages quote damaged files and model output: a record separator is a line break)."""
    return "".join(c if c.isprintable() else f"[U+{ord(c):04X}]" for c in text)


def _say(message: str, hint: str | None = None) -> None:
    err.print(f"[red]error:[/red] {escape(_one_line(message))}", highlight=False, soft_wrap=True)
    if hint:
        err.print(f"hint: {escape(_one_line(hint))}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: every failure is one line and a documented exit code; tracebacks only with ``--debug``.

    2: a problem with the input (``ProvenanceError``, a damaged SQLite file); 3: the machine
    (``EnvironmentProblem``, an ``OSError`` no boundary expected: disk full, permission denied);
    70: a bug. ``--debug`` (anywhere on the command line) or ``PROVENANCE_DEBUG=1`` re-raises with the traceback.
    """
    import os

    debug = "--debug" in sys.argv[1:] or os.environ.get("PROVENANCE_DEBUG") == "1"
    sys.argv = [sys.argv[0], *(a for a in sys.argv[1:] if a != "--debug")]
    try:
        app()
    except ProvenanceError as exc:
        _say(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:  # Python's sqlite3 decodes TEXT columns as UTF-8
        if debug:
            raise
        reason = " ".join(str(exc).split())  # the message quotes the damaged text, line breaks included: one line
        _say(f"a SQLite file cannot be read ({reason}): damaged, or not an evidence store",
             "check it with `provenance verify`; restore it from a copy")  # fmt: skip
        sys.exit(2)
    except OSError as exc:
        if debug:
            raise
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        if isinstance(exc, (FileExistsError, FileNotFoundError, IsADirectoryError, NotADirectoryError)):
            _say(f"{(where or ' a path').strip()}: {exc.strerror or exc}", "check the paths given (a file where a folder belongs?)")
            sys.exit(2)  # a path the user gave
        _say(f"the system refused{where}: {exc.strerror or exc}", "check free disk space and permissions, then re-run")
        sys.exit(3)
    except Exception as exc:  # noqa: BLE001 - the last boundary: a bug, said in one line
        if debug:
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        _say(f"internal error: {type(exc).__name__}: {first}", "this is a bug in provenance; re-run with --debug for the "
             "traceback and report it")  # fmt: skip
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
