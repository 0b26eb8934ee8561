"""One pair, run in a worker: the unit of work both executors (process pool, Ray) ship.

``run_pair`` takes and returns plain picklable dataclasses and never raises: any
failure of the pair (a model that does not load, an unreadable file, a budget that
runs out) becomes a ``failed`` outcome with the reason, so one bad model never
stops the rest of the audit. All the work is ``provenance.api.run_case`` on the
pair's generated case directory; evidence is written by the worker straight into
that case's own store, so a killed worker loses at most its in-flight batch.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass


@dataclass(frozen=True)
class PairJob:
    """What a worker needs: where the pair's case is, and how many threads it may use."""

    suspect: str
    teacher: str
    case_dir: str
    threads: int = 1
    needs_gpu: str = "never"  #: "always", "if-available" or "never"
    report: bool = False  #: write a report when the library offers one
    key_file: str | None = None  #: sign the report with this key


@dataclass(frozen=True)
class PairOutcome:
    """What came of one pair: a verdict, or the reason there is none."""

    suspect: str
    teacher: str
    status: str  #: "done" or "failed"
    supports_derivation: bool | None = None
    verdict: str | None = None
    findings_path: str | None = None
    report_path: str | None = None
    report_error: str | None = None
    error: str | None = None
    seconds: float = 0.0
    stored: int = 0
    cached: int = 0
    worker: str = ""


def limit_threads(threads: int) -> None:
    """Worker initializer: end with the parent, and take only a share of the cores.

    N workers x all cores each would thrash.
    """
    from provenance.parentwatch import exit_with_parent

    exit_with_parent()
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _report(job: PairJob, case_dir: str) -> tuple[str | None, str | None]:
    """Render the pair's report when ``provenance.api`` offers ``render_report``; else findings.json stands."""
    from provenance import api

    render = getattr(api, "render_report", None)
    if not job.report or render is None:
        return None, None
    try:
        result = render(case_dir, key=job.key_file)
    except Exception as exc:  # noqa: BLE001 - a report failure must not lose the verdict
        return None, f"{type(exc).__name__}: {exc}"
    path = getattr(result, "pdf_path", None) or getattr(result, "html_path", None)
    return (None if path is None else str(path)), None


def run_pair(job: PairJob) -> PairOutcome:
    """Run (or resume) one pair's case and summarise its verdict. Never raises."""
    from provenance import api
    from provenance.errors import ProvenanceError

    started = time.perf_counter()
    where = f"{os.uname().nodename}:{os.getpid()}"
    limit_threads(job.threads)

    def failed(reason: str) -> PairOutcome:
        return PairOutcome(job.suspect, job.teacher, "failed", error=reason, seconds=time.perf_counter() - started, worker=where)

    try:
        result = api.run_case(job.case_dir)
    except ProvenanceError as exc:
        return failed(str(exc))
    except Exception as exc:  # noqa: BLE001 - a model that fails to load must not stop the audit
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        at = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
        return failed(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}{at}")
    if result.findings is None:
        return failed(
            f"collection stopped at the pair's query budget after {result.collection.stored + result.collection.cached} "
            f"of {result.collection.planned} requests; raise [budget] in the audit file to finish it"
        )
    verdict = next((v for v in result.findings.verdicts if v.teacher), None)
    report_path, report_error = _report(job, job.case_dir)
    return PairOutcome(
        job.suspect,
        job.teacher,
        "done",
        supports_derivation=None if verdict is None else verdict.supports_derivation,
        verdict=None if verdict is None else verdict.text,
        findings_path=str(result.findings_path),
        report_path=report_path,
        report_error=report_error,
        seconds=time.perf_counter() - started,
        stored=result.collection.stored,
        cached=result.collection.cached,
        worker=where,
    )
