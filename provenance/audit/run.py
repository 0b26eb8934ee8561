"""``run_audit``: plan the pairs, run the new ones, record everything, write the index.

The order is what makes a killed audit safe to re-run: a run row is opened first,
every pair's outcome is committed to the history as soon as it is known, and the
index and the run's "finished" mark come last. A re-run finds the finished pairs
by their keys and runs only what is left; a pair cut off mid-collection resumes
from its own evidence store.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from provenance.audit.diff import AuditDiff, diff_pairs
from provenance.audit.history import HISTORY_FILE, History
from provenance.audit.index import index_data, write_index
from provenance.audit.loader import Audit, load_audit
from provenance.audit.plan import PlannedPair, plan
from provenance.audit.pool import run_in_pool, threads_per_worker
from provenance.audit.worker import PairJob, PairOutcome
from provenance.errors import AuditFileError, ProvenanceError

LOCK_FILE = ".audit.lock"

#: Called as on_event(kind, pair_or_none, done, total): kind is "planned", "started" or "finished".
EventCallback = Callable[[str, PlannedPair | None, int, int], None]


@dataclass(frozen=True)
class AuditRun:
    """What one ``run_audit`` did."""

    run_id: int
    pairs: list[dict]
    diff: AuditDiff
    index_json: Path
    index_html: Path
    history_path: Path
    wall_seconds: float
    ran: int
    reused: int
    failed: int

    @property
    def exit_code(self) -> int:
        return self.diff.exit_code


@contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """One run per output folder: a timer firing while the last run is still going must not
    run the same pairs into the same evidence stores twice."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ProvenanceError(
                f"another audit run is using {out}",
                hint="wait for it to finish (its pairs are recorded as they finish), or give this audit another output",
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def keep_findings(findings_path: str | None, pair_key: str | None) -> str | None:
    """A copy of a pair's findings named by its pair key; the path history records.

    A pair's folder holds the evidence of every pair key that shares its collection
    settings, and each analysis rewrites ``findings.json`` there (e.g. at another
    alpha). A later run that reuses this pair key must read these findings, not the
    latest ones, so the history points at a copy nothing overwrites.
    """
    if not findings_path or not pair_key or not Path(findings_path).is_file():
        return findings_path
    source = Path(findings_path)
    kept = source.with_name(f"{source.stem}.{pair_key[:16]}{source.suffix}")
    shutil.copyfile(source, kept)
    return str(kept)


def _as_audit(audit: Audit | str | Path) -> Audit:
    return audit if isinstance(audit, Audit) else load_audit(audit)


def run_audit(
    audit: Audit | str | Path,
    *,
    workers: int = 1,
    ray_address: str | None = None,
    on_event: EventCallback | None = None,
) -> AuditRun:
    """Run every suspect x teacher pair not already done for the same files and suites.

    ``workers`` pairs run at once in a local process pool; with ``ray_address``,
    each pair is a Ray task on that cluster instead ("local" starts a private
    Ray instance with ``workers`` CPUs).
    """
    started = time.perf_counter()
    audit = _as_audit(audit)
    out = audit.output
    emit = on_event or (lambda *_: None)
    with _exclusive(out), History(out / HISTORY_FILE) as history:
        pairs = plan(audit, history)
        executor = f"ray:{ray_address}" if ray_address else f"pool:{workers}"
        run_id = history.start_run(audit.id, audit.sha256, executor)
        total = len(pairs)
        emit("planned", None, 0, total)
        done = 0
        to_run: dict[tuple[str, str], PlannedPair] = {}
        for pair in pairs:
            common = dict(
                suspect=pair.suspect, teacher=pair.teacher, source=pair.source, suspect_hash=pair.suspect_hash,
                teacher_hash=pair.teacher_hash, control_hashes=pair.control_hashes, suite_hashes=pair.suite_hashes,
                pair_key=pair.pair_key, case_dir=None if pair.case_dir is None else str(pair.case_dir),
            )  # fmt: skip
            if pair.status == "run":
                to_run[pair.slot] = pair
                continue
            if pair.status == "reused":
                r = pair.reused or {}
                history.record_pair(run_id, **common, status="reused", supports_derivation=r.get("supports_derivation"),
                                    verdict=r.get("verdict"), findings_path=r.get("findings_path"),
                                    report_path=r.get("report_path"), seconds=0.0)  # fmt: skip
            elif pair.status == "identical":
                history.record_pair(run_id, **common, status="identical", supports_derivation=True, verdict=pair.reason)
            else:
                history.record_pair(run_id, **common, status=pair.status, error=pair.reason)
            done += 1
            emit("finished", pair, done, total)

        threads = threads_per_worker(workers)
        key_file = audit.spec.report.key_file
        jobs = [
            PairJob(p.suspect, p.teacher, str(p.case_dir), threads=threads, needs_gpu=p.needs_gpu,
                    report=audit.spec.report.pdf, key_file=None if key_file is None else str(audit.resolve(key_file)))
            for p in to_run.values()
        ]  # fmt: skip

        def on_done(outcome: PairOutcome) -> None:
            nonlocal done
            pair = to_run[(outcome.suspect, outcome.teacher)]
            error = outcome.error
            if outcome.report_error:
                error = f"report not written: {outcome.report_error}"
            history.record_pair(
                run_id, suspect=pair.suspect, teacher=pair.teacher, source=pair.source,
                suspect_hash=pair.suspect_hash, teacher_hash=pair.teacher_hash, control_hashes=pair.control_hashes,
                suite_hashes=pair.suite_hashes, pair_key=pair.pair_key, case_dir=str(pair.case_dir),
                status=outcome.status, supports_derivation=outcome.supports_derivation, verdict=outcome.verdict,
                error=error, findings_path=keep_findings(outcome.findings_path, pair.pair_key),
                report_path=outcome.report_path,
                seconds=outcome.seconds,
            )  # fmt: skip
            done += 1
            emit("finished", pair, done, total)

        for pair in to_run.values():
            emit("started", pair, done, total)
        if ray_address:
            from provenance.audit.raypool import run_on_ray

            run_on_ray(jobs, ray_address, on_done, local_cpus=workers)
        else:
            run_in_pool(jobs, workers, on_done)

        rows = history.pairs(run_id)
        previous = [r for r in history.runs() if r["id"] != run_id]
        before = previous[-1]["id"] if previous else None
        diff = diff_pairs(before, history.pairs(before) if before else [], run_id, rows)
        wall = time.perf_counter() - started
        failed = sum(1 for r in rows if r["status"] == "failed")
        history.finish_run(
            run_id, wall_seconds=wall, pairs_total=len(rows), pairs_run=len(jobs),
            pairs_reused=sum(1 for r in rows if r["status"] == "reused"), pairs_failed=failed,
            new_findings=len(diff.new_findings),
        )  # fmt: skip
        run = next(r for r in history.runs() if r["id"] == run_id)
        json_path, html_path = write_index(out, index_data(audit.id, audit.spec.audit.title, run, rows, diff, out))
    return AuditRun(
        run_id=run_id, pairs=rows, diff=diff, index_json=json_path, index_html=html_path,
        history_path=out / HISTORY_FILE, wall_seconds=wall, ran=len(jobs),
        reused=sum(1 for r in rows if r["status"] == "reused"), failed=failed,
    )  # fmt: skip


def diff_audit(audit: Audit | str | Path) -> AuditDiff:
    """What changed between the last two finished runs (or, after one run, since nothing)."""
    audit = _as_audit(audit)
    path = audit.output / HISTORY_FILE
    if not path.is_file():
        raise AuditFileError(f"no audit history at {path}", hint="run `provenance audit run` on this audit file first")
    with History(path) as history:
        runs = history.runs()
        if not runs:
            raise AuditFileError(f"no finished audit run in {path}", hint="run `provenance audit run` to completion first")
        after = runs[-1]["id"]
        before = runs[-2]["id"] if len(runs) > 1 else None
        return diff_pairs(before, history.pairs(before) if before else [], after, history.pairs(after))
