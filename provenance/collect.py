"""Collection: ask every model of a case every probe, and store each answer first.

The evidence store is the only output. A request whose answer is already stored is
never sent again, so a killed collection resumes where it stopped, and a model
whose answers are all stored is not even loaded. Answers are written one row per
response, committed as soon as the batch that produced them returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from provenance.backends import Backend, GenerationParams, ModelIdentity, identify_model, open_backend
from provenance.case import Case, ModelSpec, SuiteSpec
from provenance.evidence import EvidenceStore
from provenance.probes import Probe, ProbeSuite, load_suite

#: Called as on_progress(done, total, label) after every stored or cached response.
ProgressCallback = Callable[[int, int, str], None]
BackendFactory = Callable[[ModelSpec, Path, ModelIdentity], Backend]


@dataclass(frozen=True)
class PlannedRequest:
    """One probe to one model with one seed, and the key its answer is stored under."""

    model: ModelSpec
    model_key: str
    suite: ProbeSuite
    probe: Probe
    params: GenerationParams
    seed: int
    key: str


@dataclass
class CollectionSummary:
    """What a collection did: how many answers it stored, found stored, or left out."""

    evidence_path: Path
    planned: int = 0
    cached: int = 0
    stored: int = 0
    budget_exhausted: bool = False
    per_model: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.budget_exhausted and self.cached + self.stored == self.planned

    def to_dict(self) -> dict[str, object]:
        return {
            "evidence_path": str(self.evidence_path),
            "planned": self.planned,
            "cached": self.cached,
            "stored": self.stored,
            "budget_exhausted": self.budget_exhausted,
            "complete": self.complete,
            "per_model": self.per_model,
        }


def suite_params(spec: SuiteSpec) -> GenerationParams:
    return GenerationParams(max_new_tokens=spec.max_new_tokens, temperature=spec.temperature, top_p=spec.top_p)


def plan_requests(case: Case, model: ModelSpec, model_key: str) -> Iterator[PlannedRequest]:
    """Every (suite, probe, sample) this model must answer, in a stable order."""
    for suite_name, spec in case.spec.enabled_suites().items():
        suite = load_suite(spec.probes or suite_name)
        params = suite_params(spec)
        for sample in range(spec.samples):
            seed = case.spec.case.seed + sample
            for probe in suite.limited(spec.limit):
                key = EvidenceStore.request_key(
                    model_key=model_key,
                    method="generate",
                    suite=suite_name,
                    probe_id=probe.id,
                    prompt=probe.prompt,
                    params=params.to_dict(),
                    seed=seed,
                )
                yield PlannedRequest(model, model_key, suite, probe, params, seed, key)


def _batches(requests: list[PlannedRequest], size: int) -> Iterator[list[PlannedRequest]]:
    """Requests that can share one generate() call: same params and seed."""
    groups: dict[tuple[object, ...], list[PlannedRequest]] = {}
    for request in requests:
        groups.setdefault((request.suite.name, request.params, request.seed), []).append(request)
    for group in groups.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


def collect(
    case: Case,
    *,
    on_progress: ProgressCallback | None = None,
    backend_factory: BackendFactory = open_backend,
) -> CollectionSummary:
    """Collect every planned answer of ``case`` into its evidence store."""
    summary = CollectionSummary(evidence_path=case.evidence_path)
    budget = case.spec.budget.max_requests
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        plans: list[tuple[ModelSpec, ModelIdentity, list[PlannedRequest]]] = []
        for model in case.spec.models():
            identity = identify_model(model, case.model_path(model))
            model_key = store.register_model(identity.to_dict())
            plans.append((model, identity, list(plan_requests(case, model, model_key))))
        summary.planned = sum(len(requests) for _, _, requests in plans)
        done = 0
        for model, identity, requests in plans:
            pending = [r for r in requests if store.lookup(r.key) is None]
            cached = len(requests) - len(pending)
            summary.cached += cached
            summary.per_model[model.name] = {"planned": len(requests), "cached": cached, "stored": 0}
            done += cached
            if on_progress:
                on_progress(done, summary.planned, model.name)
            if not pending:
                continue
            backend = backend_factory(model, case.model_path(model), identity)
            for batch in _batches(pending, model.batch_size):
                room = budget - store.count()
                if room <= 0:
                    summary.budget_exhausted = True
                    return summary
                batch = batch[:room]
                started = time.perf_counter()
                answers = backend.generate([r.probe.prompt for r in batch], batch[0].params, batch[0].seed)
                latency = time.perf_counter() - started
                for request, answer in zip(batch, answers, strict=True):
                    store.append(
                        model_key=request.model_key,
                        method="generate",
                        suite=request.suite.name,
                        probe_id=request.probe.id,
                        prompt=request.probe.prompt,
                        params=request.params.to_dict(),
                        seed=request.seed,
                        response=answer.to_dict(),
                        latency_s=latency,
                        extra={
                            "batch_size": len(batch),
                            "suite_version": request.suite.version,
                            "suite_sha256": request.suite.sha256,
                            "model_name": model.name,
                            "role": case.spec.role_of(model.name),
                        },
                    )
                    summary.stored += 1
                    summary.per_model[model.name]["stored"] += 1
                    done += 1
                if on_progress:
                    on_progress(done, summary.planned, model.name)
    return summary
