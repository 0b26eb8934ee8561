"""Run pairs as Ray tasks on an existing cluster (optional extra ``ray``): one task per pair.

The task is the same ``run_pair`` the process pool runs, so results are the same.
Each task asks Ray for the CPUs it will use and, when a model in the pair runs on
a GPU (device ``cuda*``, or ``auto`` on a cluster that has GPUs), for one GPU.
Workers write each pair's evidence into the pair's case directory, so the audit's
output folder and the model paths must be visible at the same paths on every node
(a shared filesystem), as is usual for a Ray cluster's data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from provenance.audit.worker import PairJob, PairOutcome, run_pair
from provenance.errors import EnvironmentProblem, ProvenanceError


def _ray():  # noqa: ANN202 - the ray module
    try:
        import ray
    except ImportError as exc:
        raise EnvironmentProblem(
            "--ray needs the optional Ray extra, which is not installed",
            hint="pip install 'provenance[ray]' (or run without --ray to use the local process pool)",
        ) from exc
    return ray


def run_on_ray(
    jobs: Sequence[PairJob], address: str, on_done: Callable[[PairOutcome], None], *, local_cpus: int | None = None
) -> None:
    """Run every job on the Ray cluster at ``address`` ("local" starts a private one with ``local_cpus``)."""
    if not jobs:
        return
    ray = _ray()
    started_here = not ray.is_initialized()
    if started_here:
        try:
            if address == "local":
                ray.init(address="local", num_cpus=local_cpus, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ProvenanceError(f"cannot connect to the Ray cluster at {address}: {exc}",
                                  hint="start it with `ray start --head`, or give its address (host:6379 or ray://host:10001)") from exc  # fmt: skip
    try:
        has_gpus = ray.cluster_resources().get("GPU", 0) > 0
        task = ray.remote(max_retries=0)(run_pair)
        refs = {}
        for job in jobs:
            gpus = 1 if job.needs_gpu == "always" or (job.needs_gpu == "if-available" and has_gpus) else 0
            refs[task.options(num_cpus=job.threads, num_gpus=gpus).remote(job)] = job
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                job = refs[ref]
                try:
                    outcome = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a lost node or worker: this pair failed
                    outcome = PairOutcome(job.suspect, job.teacher, "failed", error=f"Ray task failed: {type(exc).__name__}: {exc}")
                on_done(outcome)
    finally:
        if started_here:
            ray.shutdown()
