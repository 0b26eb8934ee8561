"""``provenance audit run|diff``: the commands, thin over ``provenance.audit``.

Exit codes (for cron, systemd timers and CI schedulers; also in the README):
  0  nothing new: no new finding, no pair failed
  1  a new finding: a pair found derived that the previous run had not found
     derived for the same files (a new model, a new version, a changed verdict)
  2  an error: a bad audit file, or a pair that failed (the index says why)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from provenance import audit as lib
from provenance.audit.diff import AuditDiff

audit_app = typer.Typer(no_args_is_help=True, help="Audit released models against your teachers, on a schedule.")
err = Console(stderr=True)

AuditPath = Annotated[Path, typer.Argument(help="audit file (audit.toml), or the folder holding it")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print the result as JSON")]


@audit_app.command("run")
def run(
    audit: AuditPath,
    workers: Annotated[int, typer.Option("--workers", min=1, help="pairs run at once in a local process pool")] = 1,
    ray: Annotated[
        str | None,
        typer.Option("--ray", help="run each pair as a task on the Ray cluster at ADDRESS ('local' starts one); needs the ray extra"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every suspect x teacher pair not yet done for the same model files and suites; write the index."""
    spec = lib.load_audit(audit)  # a bad audit file fails before any progress bar
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err) as progress:  # fmt: skip
        task = progress.add_task("planning (hashing models)", total=None)

        def on_event(kind: str, pair, done: int, total: int) -> None:  # noqa: ANN001 - PlannedPair | None
            label = "pairs" if pair is None else f"pairs (last: {escape(pair.suspect)} vs {escape(pair.teacher)})"
            progress.update(task, completed=done, total=total, description=label)

        result = lib.run_audit(spec, workers=workers, ray_address=ray, on_event=on_event)
    if as_json:
        typer.echo(json.dumps({
            "run_id": result.run_id, "wall_seconds": result.wall_seconds, "ran": result.ran, "reused": result.reused,
            "failed": result.failed, "index_json": str(result.index_json), "index_html": str(result.index_html),
            "diff": result.diff.to_dict(), "pairs": result.pairs,
        }, indent=2, default=str))  # fmt: skip
    else:
        for row in result.pairs:
            state = row["status"] if row["supports_derivation"] is None else ("DERIVED" if row["supports_derivation"] else "not derived")
            note = f": {row['error']}" if row["error"] else ""
            typer.echo(f"{row['suspect']:>24} vs {row['teacher']:<12} {state:<12} ({row['status']}){note}")
        _print_diff(result.diff)
        typer.echo(
            f"run {result.run_id}: {result.ran} pairs run, {result.reused} reused, {result.failed} failed "
            f"in {result.wall_seconds:.1f} s\nindex: {result.index_html}"
        )
    raise typer.Exit(result.exit_code)


@audit_app.command("diff")
def diff(audit: AuditPath, as_json: JsonFlag = False) -> None:
    """Show what changed between the last two runs: new models, changed verdicts, new findings."""
    result = lib.diff_audit(audit)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_diff(result)
    raise typer.Exit(result.exit_code)


def _print_diff(result: AuditDiff) -> None:
    since = f"run {result.before}" if result.before is not None else "nothing (first run)"
    typer.echo(f"changes in run {result.after} since {since}:")
    for change in result.changes:
        was = f" (was {change.before})" if change.before else ""
        now = f", now {change.after}" if change.after else ""
        typer.echo(f"  {change.suspect} vs {change.teacher}: {change.what}{was}{now}")
    if not result.changes:
        typer.echo("  none")
    for suspect, teacher in result.new_findings:
        typer.echo(f"NEW FINDING: {suspect} appears derived from {teacher}")
    for suspect, teacher, reason in result.failed:
        err.print(f"[yellow]failed[/yellow] {escape(suspect)} vs {escape(teacher)}: {escape(reason)}", soft_wrap=True, highlight=False)
