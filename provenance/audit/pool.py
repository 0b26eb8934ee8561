"""Run pairs in a local process pool: one machine, ``--workers N`` pairs at a time.

Processes, not threads: torch holds the GIL in places, a model that crashes its
process must not take the audit with it, and each worker owns its model memory.
The ``spawn`` context, because forking a process that has imported torch (and
may hold OpenMP threads) is unsafe.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from provenance.audit.worker import PairJob, PairOutcome, limit_threads, run_pair


def threads_per_worker(workers: int) -> int:
    """cores / workers, at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def run_in_pool(jobs: Sequence[PairJob], workers: int, on_done: Callable[[PairOutcome], None]) -> None:
    """Run every job; call ``on_done`` in this process as each pair finishes (in completion order)."""
    if not jobs:
        return
    workers = max(1, min(workers, len(jobs)))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=limit_threads,
                             initargs=(jobs[0].threads,)) as pool:  # fmt: skip
        futures: dict[Future[PairOutcome], PairJob] = {pool.submit(run_pair, job): job for job in jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                outcome = future.result()
            except BrokenProcessPool:
                outcome = PairOutcome(job.suspect, job.teacher, "failed",
                                      error="the worker process died (out of memory, or killed); re-run to retry")  # fmt: skip
            except Exception as exc:  # noqa: BLE001 - e.g. an outcome that cannot be unpickled
                outcome = PairOutcome(job.suspect, job.teacher, "failed", error=f"{type(exc).__name__}: {exc}")
            on_done(outcome)
