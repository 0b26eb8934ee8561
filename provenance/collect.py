"""Collection: ask every model of a case every probe, and store each answer first.

The evidence store is the only output. A request whose answer is already stored is
never sent again, so a killed collection resumes where it stopped, and a model
whose answers are all stored is not even loaded. Answers are written one row per
response, committed as soon as the batch that produced them returns.

Two kinds of request are made:

* ``generate``: every model answers every probe of every enabled suite;
* ``score``: for suites that compare output distributions (``SCORED_SUITES``),
  the suspect and each control score every teacher answer (log-probability of the
  teacher's text after the same prompt), and the answers of every *reference
  source* (the controls and the ``[[reference]]`` models) except their own: the
  cross-likelihood statistic compares each model's preference for the teacher's
  text over reference text written for the same prompts, which cancels capability.
  Scoring needs the scored answers first, so teachers and reference models are
  collected first; then each scorer generates and scores what is stored while it
  is loaded; a last pass scores the answers of controls that came after it.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from provenance.backends import Backend, BatchInterrupted, Capability, ModelIdentity, identify_model, open_backend
from provenance.case import Case, ModelSpec
from provenance.errors import ContextWindowError, EvidenceStoreError
from provenance.evidence import EvidenceStore
from provenance.journal import record_design
from provenance.panel_reuse import open_panel_store
from provenance.campaign import campaign_probes, campaign_summary
from provenance.costs import cost_of, prices_of
from provenance.planning import PlannedRequest, deployment_params, generation_params
from provenance.probes import Probe, ProbeSuite, load_suite
from provenance.suites import SUITES
from provenance.suites.membership import LOOK_EVERY, MembershipDesign

#: Called as on_progress(done, total, label) after every stored or cached response.
ProgressCallback = Callable[[int, int, str], None]
BackendFactory = Callable[[ModelSpec, Path, ModelIdentity], Backend]

#: Suites whose analysis uses cross-likelihood: teacher answers scored by the others.
SCORED_SUITES = frozenset({"distribution"})


@dataclass
class CollectionSummary:
    """What a collection did: how many answers it stored, found stored, or left out."""

    evidence_path: Path
    planned: int = 0
    cached: int = 0
    stored: int = 0
    budget_exhausted: bool = False
    #: Answers copied from other cases' evidence stores (``reuse_from``), counted in ``stored`` too.
    copied: int = 0
    per_model: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    #: The sequential membership test where collection stopped: its e-value, why, how far into the log.
    sequential: dict[str, Any] | None = None
    #: What the API models' answers asked so far cost at the case file's prices (copies cost nothing).
    cost: float = 0.0

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
            "copied": self.copied,
            "complete": self.complete,
            "per_model": self.per_model,
            "skipped": self.skipped,
            "cost": self.cost,
            **({"sequential": self.sequential} if self.sequential is not None else {}),
        }


def _key(request_fields: dict[str, Any]) -> str:
    return EvidenceStore.request_key(**request_fields)


def _answers_suite(case: Case, model: ModelSpec, suite_name: str) -> bool:
    """Whether ``model`` answers ``suite_name``'s probes in this case."""
    role = case.spec.role_of(model.name)
    if suite_name in SUITES and not SUITES[suite_name].collects:
        return False  # analysis-only suites read the other suites' answers
    if suite_name == "membership":  # the logged answers, their twins, and the compared models' own answers
        return role in ("campaign", "suspect", "control") or model.name == case.spec.campaign_teacher().name
    if role == "campaign":
        return False
    # a reference model only writes reference text for cross-likelihood
    return role != "reference" or suite_name in SCORED_SUITES


def suite_probes(case: Case, suite_name: str, spec: Any, prefix: int | None = None) -> tuple[ProbeSuite, tuple[Probe, ...]]:  # noqa: ANN401
    """A suite's probe file and the probes this case asks (its ``limit``).

    The membership suite's probes are a seeded sample of the campaign's logged prompts:
    the whole log when sequential (``MembershipDesign``), else the first ``limit`` (100
    by default). ``prefix``: ask only the first so many (a round of sequential collection, or a look of the
    case's group-sequential plan).
    """
    if suite_name == "membership":
        campaign = case.spec.campaign
        suite = campaign_probes(case.model_path(campaign.as_model()), case.spec.case.seed)
        probes = suite.limited(MembershipDesign.of(case.spec).probe_limit)
        return suite, probes if prefix is None else probes[:prefix]
    suite = load_suite(spec.probes or suite_name, base=case.directory)  # a probe file's path is the case folder's
    probes = suite.limited(spec.limit)
    return suite, probes if prefix is None else probes[:prefix]


def case_models(case: Case) -> list[ModelSpec]:
    """Every model collection asks: the case's models, and the campaign's logged exchanges when tested."""
    campaign = case.spec.campaign
    tested = campaign is not None and "membership" in case.spec.enabled_suites()
    return [*case.spec.models(), *([campaign.as_model()] if tested else [])]


def plan_generation(case: Case, model: ModelSpec, model_key: str,
                    prefix: dict[str, int] | None = None) -> Iterator[PlannedRequest]:
    """Every (suite, probe, sample) this model must answer, in a stable order (``prefix``: a suite's first N only)."""
    for suite_name, spec in case.spec.enabled_suites().items():
        if not _answers_suite(case, model, suite_name):
            continue
        suite, probes = suite_probes(case, suite_name, spec, (prefix or {}).get(suite_name))
        params = generation_params(case.spec, suite_name, spec, model)
        recorded = {**params.to_dict(), **deployment_params(model)}
        for sample in range(spec.samples):
            seed = case.spec.case.seed + sample
            for probe in probes:
                fields = {
                    "model_key": model_key,
                    "method": "generate",
                    "suite": suite_name,
                    "probe_id": probe.id,
                    "prompt": probe.prompt,
                    "params": recorded,
                    "seed": seed,
                }
                yield PlannedRequest(
                    model, model_key, suite, probe, "generate", dict(recorded), seed, _key(fields), generation=params
                )


def plan_scoring(
    scorer: ModelSpec, scorer_key: str, source_answers: list[tuple[PlannedRequest, str]], *, teachers: frozenset[str]
) -> Iterator[PlannedRequest]:
    """Score each stored answer of another model under ``scorer`` (cross-likelihood).

    A teacher's answer is recorded with ``params["teacher"]`` (the key every earlier
    collection used, so stored scores stay valid); a reference source's with
    ``params["source"]``. A model never scores its own answers.
    """
    for teacher_request, text in source_answers:
        source = teacher_request.model.name
        if source == scorer.name:
            continue
        role = "teacher" if source in teachers else "source"
        params = {"continuation": text, "source_request": teacher_request.key, role: source,
                  **deployment_params(scorer)}
        fields = {
            "model_key": scorer_key,
            "method": "score",
            "suite": teacher_request.suite.name,
            "probe_id": teacher_request.probe.id,
            "prompt": teacher_request.probe.prompt,
            "params": params,
            "seed": None,
        }
        yield PlannedRequest(
            scorer,
            scorer_key,
            teacher_request.suite,
            teacher_request.probe,
            "score",
            params,
            None,
            _key(fields),
            continuation=text,
        )


def _tokens_of(extra: dict[str, Any] | None) -> int:
    """Tokens an API reported for one stored answer (0 for local models)."""
    usage = ((extra or {}).get("response_meta") or {}).get("usage") or {}
    return int(usage.get("total_tokens") or 0)


def _batches(requests: list[PlannedRequest], size: int) -> Iterator[list[PlannedRequest]]:
    """Requests that can share one backend call: same method, suite, params and seed."""
    groups: dict[tuple[object, ...], list[PlannedRequest]] = {}
    for request in requests:
        shared = request.generation if request.method == "generate" else None
        groups.setdefault((request.method, request.suite.name, shared, request.seed, request.subset), []).append(request)
    for group in groups.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


class _Collector:
    """Runs planned requests against backends, storing each answer as it comes."""

    def __init__(
        self,
        case: Case,
        store: EvidenceStore,
        summary: CollectionSummary,
        backend_factory: BackendFactory,
        on_progress: ProgressCallback | None,
        reuse: Sequence[EvidenceStore] = (),
    ) -> None:
        self.reuse = list(reuse)
        self.case = case
        self.store = store
        self.summary = summary
        self.backend_factory = backend_factory
        self.on_progress = on_progress
        self.done = 0
        #: Tokens API backends reported using, stored ones included (the token budget).
        self.tokens_used = sum(_tokens_of(row.extra) for row in store.rows())
        #: Rows copied from other stores (a panel's, ``reuse_from``): stored, but never asked, so not in the budget.
        self.copied_rows = sum("copied_from" in (row.extra or {}) for row in store.rows())
        #: What the API answers stored so far cost at the case's prices (the money budget).
        self.prices = prices_of(case.spec)
        self.summary.cost = sum(cost_of(row.extra, self.prices) for row in store.rows()) if self.prices else 0.0

    def _tick(self, label: str) -> None:
        if self.on_progress:
            self.on_progress(self.done, self.summary.planned, label)

    def run_model(
        self, model: ModelSpec, identity: ModelIdentity, requests: list[PlannedRequest]
    ) -> bool:
        """Answer ``requests`` with ``model``; False when the budget ran out."""
        counts = self.summary.per_model.setdefault(model.name, {"planned": 0, "cached": 0, "stored": 0})
        pending = [r for r in requests if self.store.lookup(r.key) is None]
        counts["planned"] += len(requests)
        counts["cached"] += len(requests) - len(pending)
        self.summary.cached += len(requests) - len(pending)
        self.done += len(requests) - len(pending)
        pending = self._copy_reusable(model, pending, counts)
        self._tick(model.name)
        if not pending:
            return True
        backend = self.backend_factory(model, self.case.model_path(model), identity)
        try:
            if any(r.method == "score" for r in pending) and not backend.supports(Capability.SCORE):
                unscorable = [r for r in pending if r.method == "score"]
                self.summary.skipped.append(
                    {"model": model.name, "what": "score", "reason": "the backend cannot score continuations"}
                )
                # Requests that cannot be made are not planned: the collection is still complete.
                self.summary.planned -= len(unscorable)
                counts["planned"] -= len(unscorable)
                pending = [r for r in pending if r.method != "score"]
            if any(r.subset is not None for r in pending) and not backend.supports(Capability.NEXT_TOKEN_DISTRIBUTION):
                unreadable = [r for r in pending if r.subset is not None]
                self.summary.skipped.append(
                    {"model": model.name, "what": "watermark reading", "reason": "the backend cannot report next-token distributions"}
                )
                self.summary.planned -= len(unreadable)
                counts["planned"] -= len(unreadable)
                pending = [r for r in pending if r.subset is None]
            for batch in _batches(pending, model.batch_size):
                room = self.case.spec.budget.max_requests - (self.store.count() - self.copied_rows)
                max_tokens, max_cost = self.case.spec.budget.max_tokens, self.case.spec.budget.max_cost
                if room <= 0 or (max_tokens is not None and self.tokens_used >= max_tokens) or (
                        max_cost is not None and self.summary.cost >= max_cost):
                    self.summary.budget_exhausted = True
                    return False
                try:
                    self._run_batch(model, backend, batch[:room], counts)
                except ContextWindowError:
                    if not all(r.method == "score" and "source" in r.params for r in batch[:room]):
                        raise  # a teacher's answer or a probe that does not fit: the user must act
                    self._run_singly(model, backend, batch[:room], counts)
                if room < len(batch):  # the budget ran out inside this batch
                    self.summary.budget_exhausted = True
                    return False
        finally:
            del backend
            gc.collect()
        return True

    def _copy_reusable(self, model: ModelSpec, pending: list[PlannedRequest], counts: dict[str, int]) -> list[PlannedRequest]:
        """Copy answers another case already stored for the very same request; return what is left to ask.

        The request key covers the model's identity (weights hashes), method, suite,
        probe, prompt, parameters and seed, so a stored row under the same key in another
        evidence store is the answer this request would get. The copy keeps the original
        response, latency and metadata and records where it came from (store, case, row id,
        row hash, time of the original), so the chain of custody reaches the original row.
        """
        if not self.reuse:
            return pending
        left = []
        for request in pending:
            found = next(((src, row) for src in self.reuse if (row := src.lookup(request.key)) is not None), None)
            if found is None:
                left.append(request)
                continue
            src, row = found
            self.store.append(
                model_key=row.model_key, method=row.method, suite=row.suite, probe_id=row.probe_id, prompt=row.prompt,
                params=row.params, seed=row.seed, response=row.response, latency_s=row.latency_s,
                extra={**(row.extra or {}), "model_name": model.name, "role": self.case.spec.role_of(model.name),
                       "copied_from": {"store": str(src.path), "case_id": src.case_id, "row_id": row.id,
                                       "row_hash": row.row_hash, "created_at": row.created_at}},
            )
            self.summary.stored += 1
            self.summary.copied += 1
            self.copied_rows += 1
            counts["stored"] += 1
            self.done += 1
        return left

    def _run_singly(self, model: ModelSpec, backend: Backend, batch: list[PlannedRequest], counts: dict[str, int]) -> None:
        """Score reference answers one by one, leaving out (with a record) those too long for this model.

        Reference text written by a model with another tokenizer can need more of this
        model's tokens than its context holds; the analysis then uses the prompts that
        every model could score, so one long answer does not stop a collection.
        """
        too_long = 0
        for request in batch:
            try:
                self._run_batch(model, backend, [request], counts)
            except ContextWindowError:
                too_long += 1
                self.summary.planned -= 1
                counts["planned"] -= 1
        self.summary.skipped.append({
            "model": model.name, "what": "score",
            "reason": f"{too_long} reference answer(s) too long for the model's context; left out of cross-likelihood",
        })

    def _run_batch(self, model: ModelSpec, backend: Backend, batch: list[PlannedRequest], counts: dict[str, int]) -> None:
        started = time.perf_counter()
        prompts = [r.probe.prompt for r in batch]
        failure: BaseException | None = None
        try:
            if batch[0].method == "generate":
                assert batch[0].generation is not None
                answers: list[Any] = backend.generate(prompts, batch[0].generation, batch[0].seed or 0)
            elif batch[0].subset is not None:
                answers = backend.subset_mass(prompts, [r.continuation or "" for r in batch], batch[0].subset)
            else:
                answers = backend.score(prompts, [r.continuation or "" for r in batch])
        except BatchInterrupted as partial:  # answers that came back are paid for: store them, then fail
            batch, answers = [batch[i] for i in sorted(partial.done)], [partial.done[i] for i in sorted(partial.done)]
            failure = partial.cause
        latency = time.perf_counter() - started
        for request, answer in zip(batch, answers, strict=True):
            self.store.append(
                model_key=request.model_key,
                method=request.method,
                suite=request.suite.name,
                probe_id=request.probe.id,
                prompt=request.probe.prompt,
                params=request.params,
                seed=request.seed,
                response=answer.to_dict(),
                latency_s=latency,
                extra={
                    **({"response_meta": answer.meta} if getattr(answer, "meta", None) else {}),
                    "batch_size": len(batch),
                    "suite_version": request.suite.version,
                    "suite_sha256": request.suite.sha256,
                    "model_name": model.name,
                    "role": self.case.spec.role_of(model.name),
                    "probe": {"category": request.probe.category, "language": request.probe.language, **request.probe.extra},
                },
            )
            self.summary.stored += 1
            self.tokens_used += _tokens_of({"response_meta": getattr(answer, "meta", None)})
            if self.prices:
                self.summary.cost += cost_of({"response_meta": getattr(answer, "meta", None), "model_name": model.name},
                                             self.prices)
            counts["stored"] += 1
            self.done += 1
        self._tick(model.name)
        if failure is not None:
            raise failure


def _campaign_identity(case: Case, identity: ModelIdentity) -> ModelIdentity:
    """The campaign file's identity with what the report says of the campaign (volume, span, the scan's accounts)."""
    campaign = case.spec.campaign
    scan = case.directory / campaign.scan if campaign.scan else None
    summary = campaign_summary(case.model_path(campaign.as_model()), scan, campaign.rank)
    return replace(identity, details={**identity.details, "campaign": summary})


def collect(
    case: Case,
    *,
    on_progress: ProgressCallback | None = None,
    backend_factory: BackendFactory = open_backend,
    reuse_from: Sequence[str | Path] = (),
) -> CollectionSummary:
    """Collect every planned answer of ``case`` into its evidence store.

    ``reuse_from``: other cases' evidence stores. A request already answered there
    (same model identity, probe, parameters and seed) is copied with its origin
    instead of asked again: a teacher's or a control's answers are collected once for
    every case that needs them. Each source store's hash chain is verified first.
    A reference panel the case names (``[case] panel``) is reused the same way.
    """
    summary = CollectionSummary(evidence_path=case.evidence_path)
    spec = case.spec
    with ExitStack() as sources:
        reuse = []
        for path in reuse_from:
            source = sources.enter_context(EvidenceStore.open_readonly(path))  # another case's store: read, never written
            check = source.verify()
            if not check.ok:
                raise EvidenceStoreError(f"refusing to reuse answers from {path}: {check.problem}",
                                         hint="reuse only verified evidence stores")
            reuse.append(source)
        panel = open_panel_store(case)  # the case's panel ([case] panel): its models joined the case as controls
        if panel is not None:
            reuse.append(sources.enter_context(panel))
        if _sequential(case):
            return _collect_sequentially(case, summary, on_progress, backend_factory, reuse)
        from provenance.analysis.looks import plan_of

        plan = plan_of(case)
        if plan is not None:
            return _collect_in_looks(case, plan, summary, on_progress, backend_factory, reuse)
        return _collect(case, summary, spec, on_progress, backend_factory, reuse)


def _sequential(case: Case) -> bool:
    return (case.spec.campaign is not None and "membership" in case.spec.enabled_suites()
            and MembershipDesign.of(case.spec).sequential)


def _membership_progress(case: Case) -> Any:  # noqa: ANN401 - suites.membership.Progress
    """The membership suite's primary e-process on what the store holds now (the analysis's own rule)."""
    from provenance.analysis.view import EvidenceView
    from provenance.planning import deployed_as_now
    from provenance.suites import SuiteContext

    spec = case.spec
    with EvidenceStore.open_existing(case.evidence_path, case.id) as store:
        view = EvidenceView.load(store, keep=deployed_as_now(spec))
    teacher = spec.campaign_teacher().name
    ctx = SuiteContext(view=view, suspect=spec.suspect.name, teacher=teacher,
                       controls=tuple(c.name for c in spec.control), teacher_claims=(), seed=spec.case.seed,
                       campaign=spec.campaign.name, campaign_teacher=teacher, membership=MembershipDesign.of(spec))
    return SUITES["membership"].progress(ctx)  # type: ignore[attr-defined]


def _collect_sequentially(case: Case, summary: CollectionSummary, on_progress: ProgressCallback | None,
                          backend_factory: BackendFactory, reuse: list[EvidenceStore]) -> CollectionSummary:
    """Collect the membership suite's logged exchanges a few at a time until its e-process decides.

    Each round is an ordinary collection of the first N exchanges of the seeded order
    (every other suite whole): what is stored is never re-asked, so a round asks only
    the next ``LOOK_EVERY`` exchanges, and the rows a stopped collection stored are
    exactly the first rows a longer one would have stored. After each round the
    analysis's own rule is replayed on the stored evidence (``MembershipSuite.progress``);
    collection stops once it has decided, when the log ends, or at the case's budget.
    """
    _, probes = suite_probes(case, "membership", case.spec.enabled_suites()["membership"])
    total = len(probes)
    rounds = [{"membership": min(total, n)} for n in range(LOOK_EVERY, total + LOOK_EVERY, LOOK_EVERY)] or [{"membership": 0}]

    def after(prefix: dict[str, int]) -> tuple[str, bool, dict[str, Any]]:
        progress, asked = _membership_progress(case), prefix["membership"]
        record = {"line": progress.line(), "test_id": progress.test_id, "exchanges_asked": asked, "exchanges_total": total,
                  **({"reason": progress.outcome.reason, "e_value": progress.outcome.e_value,
                      "threshold": progress.outcome.threshold, "stopped_at": progress.outcome.stopped_at}
                     if progress.outcome is not None else {"reason": "running"})}
        return progress.line(), progress.decided or asked >= total, record

    return _collect_in_rounds(case, summary, on_progress, backend_factory, reuse, rounds, after,
                              f"membership: 0 of {total} logged exchanges")


def _collect_in_looks(case: Case, plan: Any, summary: CollectionSummary, on_progress: ProgressCallback | None,  # noqa: ANN401
                      backend_factory: BackendFactory, reuse: list[EvidenceStore]) -> CollectionSummary:
    """Collect a case's group-sequential plan (``[case] looks``) a look at a time until the verdict is decided.

    Look ``j`` is an ordinary collection of each suite's first ``n_j`` probes (what is stored is
    never re-asked); after it, the analysis's own rule runs on the stored evidence
    (``analysis.run.look_outcome``), and collection stops at the first look whose verdict
    supports derivation, after the last look, or at the case's budget.
    """
    from provenance.analysis.run import look_outcome

    def after(prefix: dict[str, int]) -> tuple[str, bool, dict[str, Any]]:
        outcome = look_outcome(case, plan)
        line = outcome.line(plan)
        return line, outcome.reason == "decided" or prefix == plan.prefix(plan.looks - 1), {**outcome.to_dict(plan), "line": line}

    rounds = [plan.prefix(j) for j in range(plan.looks)]
    return _collect_in_rounds(case, summary, on_progress, backend_factory, reuse, rounds, after,
                              f"look 1 of {plan.looks}: collecting")


def _collect_in_rounds(case: Case, summary: CollectionSummary, on_progress: ProgressCallback | None,
                       backend_factory: BackendFactory, reuse: list[EvidenceStore], rounds: Sequence[dict[str, int]],
                       after: Callable[[dict[str, int]], tuple[str, bool, dict[str, Any]]], first_line: str) -> CollectionSummary:
    """Ordinary collections of growing prefixes of suites' probes; after each, ``after`` says where the evidence
    stands (a progress line, whether to stop, the record for the summary). Backends stay loaded between rounds."""
    loaded: dict[str, Backend] = {}

    def factory(model: ModelSpec, path: Path, identity: ModelIdentity) -> Backend:
        key = f"{model.name}:{identity.key}"
        if key not in loaded:
            loaded[key] = backend_factory(model, path, identity)
        return loaded[key]

    earlier = CollectionSummary(evidence_path=case.evidence_path)
    evidence = [first_line]

    def tick(done: int, planned: int, label: str) -> None:  # the model being asked, and where the evidence stands
        if on_progress:
            on_progress(done, planned, f"{label}; {evidence[0]}")
    try:
        for prefix in rounds:
            round_summary = CollectionSummary(evidence_path=case.evidence_path)
            _collect(case, round_summary, case.spec, tick, factory, reuse, prefix=prefix)
            summary = _merged(earlier, round_summary)
            earlier = summary
            if summary.budget_exhausted:
                break
            line, done, record = after(prefix)
            summary.sequential = record
            evidence[0] = line
            if on_progress:
                on_progress(summary.cached + summary.stored, summary.planned, line)
            if done:
                break
    finally:
        loaded.clear()
        gc.collect()
    return summary


def _merged(before: CollectionSummary, now: CollectionSummary) -> CollectionSummary:
    """One summary for the rounds so far: ``now`` describes the final plan; stored counts add up over rounds."""
    merged = replace(now, stored=before.stored + now.stored, copied=before.copied + now.copied,
                     cached=now.cached - before.stored, per_model={}, skipped=[*before.skipped, *now.skipped])
    for name, counts in now.per_model.items():
        old = before.per_model.get(name, {"stored": 0})
        merged.per_model[name] = {"planned": counts["planned"], "stored": old["stored"] + counts["stored"],
                                  "cached": counts["cached"] - old["stored"]}
    return merged


def _collect(case: Case, summary: CollectionSummary, spec: Any, on_progress: ProgressCallback | None,
             backend_factory: BackendFactory, reuse: list[EvidenceStore],
             prefix: dict[str, int] | None = None) -> CollectionSummary:
    with EvidenceStore.open(case.evidence_path, case.id) as store:
        record_design(store, case)  # pre-registration: the design is fixed before the first request
        identities: dict[str, tuple[ModelIdentity, str]] = {}
        models = case_models(case)
        for model in models:
            identity = identify_model(model, case.model_path(model))
            if case.spec.role_of(model.name) == "campaign":
                identity = _campaign_identity(case, identity)
            identities[model.name] = (identity, store.register_model(identity.to_dict()))
        generation = {m.name: list(plan_generation(case, m, identities[m.name][1], prefix)) for m in models}
        scorers = [*spec.control, spec.suspect]
        logged = models[len(spec.models()):]  # the campaign, when the membership suite runs
        sources = [*logged, *spec.teacher, *spec.reference, *spec.control]
        teachers = frozenset(t.name for t in spec.teacher)
        # What the scorers score: reference and teacher answers (cross-likelihood); the logged
        # answers and the campaign teacher's fresh twins (membership).
        controls = {c.name for c in spec.control}
        scored = {m.name: [r for r in generation[m.name]
                           if r.suite.name in SCORED_SUITES or (r.suite.name == "membership" and m.name not in controls)]
                  for m in sources}
        summary.planned = sum(len(v) for v in generation.values()) + sum(
            len(scored[src.name]) for scorer in scorers for src in sources if src.name != scorer.name
        )
        collector = _Collector(case, store, summary, backend_factory, on_progress, reuse)

        def stored_answers() -> list[tuple[PlannedRequest, str]]:
            out = []
            for source in sources:
                for request in scored[source.name]:
                    row = store.lookup(request.key)
                    if row is not None:
                        out.append((request, str(row.response["text"])))
            return out

        for model in [*logged, *spec.teacher, *spec.reference]:
            if not collector.run_model(model, identities[model.name][0], generation[model.name]):
                return summary
        asked: dict[str, set[str]] = {}
        for model in scorers:  # controls first, so the suspect finds their answers stored
            identity, model_key = identities[model.name]
            scoring = list(plan_scoring(model, model_key, stored_answers(), teachers=teachers))
            asked[model.name] = {r.key for r in scoring}
            if not collector.run_model(model, identity, generation[model.name] + scoring):
                return summary
        for model in scorers:  # controls score the answers of controls collected after them
            identity, model_key = identities[model.name]
            late = [r for r in plan_scoring(model, model_key, stored_answers(), teachers=teachers)
                    if r.key not in asked[model.name]]
            if late and not collector.run_model(model, identity, late):
                return summary
        # What suites need stored beyond the answers (the watermark suite's reading mode: each
        # model reads its own stored answers), planned once every answer is stored.
        suites = [SUITES[name] for name in case.spec.enabled_suites() if name in SUITES]
        for model in scorers:
            identity, model_key = identities[model.name]
            extra = [r for suite in suites for r in suite.plan_collection(case, store, model, model_key,
                                                                           generation[model.name])]
            summary.planned += len(extra)
            if extra and not collector.run_model(model, identity, extra):
                return summary
    return summary
