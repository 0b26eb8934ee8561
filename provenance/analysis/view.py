"""A read-only view of one case's evidence, shaped for analysis.

Analysis reads only the evidence store (and the case file for roles and alpha),
never the models: years later the weights may be gone, and the numbers must still
come out the same. Rows are grouped by the model name recorded with them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from provenance.evidence import EvidenceRow, EvidenceStore


@dataclass(frozen=True)
class Answer:
    """One stored generation: what was asked, what came back, and where it is stored."""

    row_id: int
    probe_id: str
    prompt: str
    text: str
    seed: int | None
    probe: dict[str, Any]
    token_ids: tuple[int, ...]
    #: The generating model's own log-probability of each generated token (empty if the backend gave none).
    logprobs: tuple[float, ...] = ()
    #: The stored request's key (what a score row's ``source_request`` points at).
    request_key: str = ""

    @property
    def mean_logprob(self) -> float | None:
        """The model's own mean log-probability per token of this answer (nats), if known."""
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else None

    @property
    def logprob_per_byte(self) -> float | None:
        """The model's own log-probability of this answer per byte of UTF-8 text (nats), if known."""
        return per_byte(self.logprobs, self.text)

    @classmethod
    def from_row(cls, row: EvidenceRow) -> Answer:
        return cls(
            row_id=row.id,
            probe_id=row.probe_id,
            prompt=row.prompt,
            text=str(row.response.get("text", "")),
            seed=row.seed,
            probe=dict((row.extra or {}).get("probe", {})),
            token_ids=tuple(row.response.get("token_ids") or ()),
            logprobs=tuple(float(x) for x in row.response.get("logprobs") or ()),
            request_key=row.request_key,
        )


def per_byte(logprobs: tuple[float, ...], text: str) -> float | None:
    """Total log-probability of ``text`` divided by its length in UTF-8 bytes (nats/byte).

    Why bytes, not tokens: a per-token mean depends on the scorer's tokenizer (a model
    with a larger vocabulary spends fewer, costlier tokens on the same text), so per-token
    scores of two models are not on one scale. Every model reads the same bytes, so a
    per-byte score compares them on the same text (bits-per-byte, as in the language-
    modelling literature, e.g. Gao et al. 2020, The Pile). None when nothing was scored.
    """
    n_bytes = len(text.encode("utf-8"))
    if not logprobs or n_bytes == 0:
        return None
    return sum(logprobs) / n_bytes


@dataclass(frozen=True)
class ScoreRecord:
    """One stored cross-likelihood score: another model's answer scored under the scorer."""

    row_id: int
    probe_id: str
    source_request: str
    logprobs: tuple[float, ...]
    #: The scored text (the continuation), as stored in the request.
    text: str = ""

    @property
    def mean_logprob(self) -> float:
        """Mean log-probability per token (nats); kept for the record, not compared across tokenizers."""
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else 0.0

    @property
    def logprob_per_byte(self) -> float | None:
        """Log-probability per byte of the scored text (nats/byte): comparable across tokenizers."""
        return per_byte(self.logprobs, self.text)


@dataclass(frozen=True)
class ReadingRecord:
    """One stored watermark reading: per-position green mass of a text under a model (reading mode)."""

    row_id: int
    probe_id: str
    teacher: str
    scheme: dict[str, Any]
    token_ids: tuple[int, ...]
    mass: tuple[float, ...]
    collision: tuple[float, ...]


@dataclass
class EvidenceView:
    """Answers and scores by model name, suite and probe id."""

    answers: dict[str, dict[str, dict[str, list[Answer]]]] = field(default_factory=dict)
    scores: dict[str, dict[str, dict[str, dict[str, ScoreRecord]]]] = field(default_factory=dict)
    #: Watermark reading-mode rows, by reader model, in row order.
    readings: dict[str, list[ReadingRecord]] = field(default_factory=dict)
    model_keys: dict[str, str] = field(default_factory=dict)
    identities: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: Models whose identity (weights hash, endpoint record) changed between collections: only the latest is analysed.
    changed_models: list[str] = field(default_factory=list)
    #: Stored rows per model asked under settings the case no longer names (set aside, not analysed).
    set_aside: dict[str, int] = field(default_factory=dict)
    head_hash: str = ""
    row_count: int = 0

    @classmethod
    def load(cls, store: EvidenceStore, *, keep: Callable[[EvidenceRow, str], bool] | None = None) -> EvidenceView:
        """Every row of the store, by model name; ``keep(row, model_name)`` sets aside rows asked under
        settings the case no longer names (``planning.deployed_as_now``)."""
        rows = list(store.rows())
        models = store.models()
        view = cls(head_hash=store.head_hash(), row_count=len(rows))
        latest_key: dict[str, tuple[int, str]] = {}
        for row in rows:
            name = str((row.extra or {}).get("model_name", row.model_key[:12]))
            if name not in latest_key or row.id > latest_key[name][0]:
                latest_key[name] = (row.id, row.model_key)
        view.model_keys = {name: key for name, (_, key) in latest_key.items()}
        view.identities = {name: models.get(key, {}) for name, key in view.model_keys.items()}
        stale: set[str] = set()
        set_aside: dict[str, int] = defaultdict(int)
        answers: dict[str, dict[str, dict[str, list[Answer]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
        scores: dict[str, dict[str, dict[str, dict[str, ScoreRecord]]]] = defaultdict(lambda: defaultdict(dict))
        for row in rows:
            name = str((row.extra or {}).get("model_name", row.model_key[:12]))
            if row.model_key != view.model_keys[name]:
                stale.add(name)
                continue
            if keep is not None and not keep(row, name):
                set_aside[name] += 1
                continue
            if row.method == "generate":
                answers[name][row.suite][row.probe_id].append(Answer.from_row(row))
            elif row.method == "score" and "reading" in row.params:
                view.readings.setdefault(name, []).append(
                    ReadingRecord(
                        row_id=row.id,
                        probe_id=row.probe_id,
                        teacher=str(row.params.get("teacher", "")),
                        scheme=dict(row.params["reading"]),
                        token_ids=tuple(int(t) for t in row.response.get("token_ids") or ()),
                        mass=tuple(float(x) for x in row.response.get("mass") or ()),
                        collision=tuple(float(x) for x in row.response.get("collision") or ()),
                    )
                )
            elif row.method == "score":
                record = ScoreRecord(
                    row_id=row.id,
                    probe_id=row.probe_id,
                    source_request=str(row.params.get("source_request", "")),
                    logprobs=tuple(float(x) for x in row.response.get("logprobs") or ()),
                    text=str(row.params.get("continuation", "")),
                )
                # Rows scoring a teacher's answer name it "teacher" (the first collections wrote only
                # those); rows scoring a reference source's answer name it "source".
                source = str(row.params.get("source", row.params.get("teacher", "")))
                scores[name][row.suite].setdefault(source, {})[row.probe_id] = record
        view.changed_models = sorted(stale)
        view.set_aside = dict(sorted(set_aside.items()))
        for name in sorted(stale):
            view.warnings.append(
                f"model '{name}' changed (new weights hash) between collections; only rows of its latest version are analysed"
            )
        for name, count in sorted(set_aside.items()):
            view.warnings.append(
                f"{count} stored rows of model '{name}' were asked under other settings than the case file names now "
                "(an edited system prompt, framing or sampling setting); they stay in the store but are not analysed"
            )
        view.answers = {m: {s: dict(p) for s, p in suites.items()} for m, suites in answers.items()}
        view.scores = {m: {s: dict(t) for s, t in suites.items()} for m, suites in scores.items()}
        return view

    def first_answers(self, model: str, suite: str) -> dict[str, Answer]:
        """One answer per probe: the one with the lowest seed (the greedy or first sample)."""
        by_probe = self.answers.get(model, {}).get(suite, {})
        return {probe: min(items, key=lambda a: (a.seed or 0, a.row_id)) for probe, items in by_probe.items()}

    def all_answers(self, model: str, suite: str) -> list[Answer]:
        by_probe = self.answers.get(model, {}).get(suite, {})
        return [a for probe in sorted(by_probe) for a in sorted(by_probe[probe], key=lambda a: (a.seed or 0, a.row_id))]

    def scores_of(self, scorer: str, suite: str, source: str) -> dict[str, ScoreRecord]:
        """``scorer``'s stored scores of ``source``'s answers (a teacher's or a reference's), by probe."""
        return self.scores.get(scorer, {}).get(suite, {}).get(source, {})
