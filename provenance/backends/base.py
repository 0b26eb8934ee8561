"""The one interface every model backend implements.

Every statistic downstream depends on exactly what these methods return, so each
method's docstring is a contract (after lm-evaluation-harness's ``LM`` class):
where the prompt ends and the continuation begins, what is tokenised how, and
what comes back.

A backend declares what it can do in ``capabilities``; a suite that needs a
capability the backend lacks is skipped with a reason instead of failing.
"""

from __future__ import annotations

import enum
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


class Capability(str, enum.Enum):
    """What a backend can be asked for."""

    GENERATE = "generate"
    SCORE = "score"
    TOP_LOGPROBS = "top_logprobs"
    #: The whole next-token distribution at every position of a given text (open weights
    #: only; needed by the watermark suite's reading mode, see ``Backend.subset_mass``).
    NEXT_TOKEN_DISTRIBUTION = "next_token_distribution"


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters. ``temperature == 0`` means greedy decoding.

    These are stored verbatim with every request in the evidence store, so a
    request is identified by (model, prompt, params, seed).
    """

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    #: Stop sequences: the answer ends before the first one (as an API operator sets them).
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError("max_new_tokens must be at least 1")
        if any(not s.strip() for s in self.stop):
            raise ValueError("a stop sequence must hold a visible character (an empty one would empty every answer)")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0 (0 means greedy)")
        if not 0 < self.top_p <= 1:
            raise ValueError("top_p must be in (0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """The stored form; ``stop`` only when set, so requests without one keep their keys."""
        data = asdict(self)
        if self.stop:
            data["stop"] = list(self.stop)
        else:
            del data["stop"]
        return data


@dataclass(frozen=True)
class Generation:
    """One generated continuation.

    ``token_ids`` are the generated tokens only (no prompt, no padding; the end-of-
    sequence token is dropped). ``logprobs[i]`` is the log-probability of
    ``token_ids[i]`` under the model's own next-token distribution (before
    temperature, top-p or watermark processing), or ``None`` where the backend
    cannot report it. ``finish_reason`` is ``"stop"`` (end-of-sequence) or
    ``"length"`` (hit ``max_new_tokens``).
    """

    text: str
    token_ids: tuple[int, ...] = ()
    logprobs: tuple[float, ...] | None = None
    finish_reason: str = "stop"
    #: Who answered, per response (API backends: endpoint, returned model, fingerprint,
    #: response id, headers, latency, usage). Stored in the evidence row's ``extra``,
    #: not in the response, so the same answer compares equal whichever backend gave it.
    meta: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "token_ids": list(self.token_ids),
            "logprobs": None if self.logprobs is None else list(self.logprobs),
            "finish_reason": self.finish_reason,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Generation:
        lp = data.get("logprobs")
        return cls(
            text=data["text"],
            token_ids=tuple(data.get("token_ids") or ()),
            logprobs=None if lp is None else tuple(lp),
            finish_reason=data.get("finish_reason", "stop"),
        )


@dataclass(frozen=True)
class Scored:
    """Log-probabilities of a given continuation after a given prompt.

    ``token_ids`` are the continuation's tokens as the backend's tokenizer cut them,
    ``logprobs[i]`` the log-probability of ``token_ids[i]`` given the prompt and
    ``token_ids[:i]``.
    """

    token_ids: tuple[int, ...]
    logprobs: tuple[float, ...]
    #: As ``Generation.meta``: per-response identity evidence, stored in ``extra``.
    meta: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def total(self) -> float:
        return float(sum(self.logprobs))

    def to_dict(self) -> dict[str, Any]:
        return {"token_ids": list(self.token_ids), "logprobs": list(self.logprobs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scored:
        return cls(token_ids=tuple(data["token_ids"]), logprobs=tuple(data["logprobs"]))


@dataclass(frozen=True)
class SubsetMass:
    """Per position of a given continuation: the model's probability of a token set.

    ``mass[i]`` is the total probability, under the model's next-token distribution
    after the prompt and ``token_ids[:i]``, of the tokens in the set the caller's
    function chose for that prefix; ``collision[i]`` is that distribution's sum of
    squared probabilities (what the null variance of such a mass depends on).
    """

    token_ids: tuple[int, ...]
    mass: tuple[float, ...]
    collision: tuple[float, ...]
    #: As ``Generation.meta``: per-response identity evidence, stored in ``extra``.
    meta: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"token_ids": list(self.token_ids), "mass": list(self.mass), "collision": list(self.collision)}


@dataclass(frozen=True)
class TopToken:
    """One entry of a next-token distribution."""

    token: str
    token_id: int | None
    logprob: float


@dataclass(frozen=True)
class ModelIdentity:
    """Who answered: enough to tell two models apart years later.

    For local models ``files`` maps every file of the model directory (weights,
    tokenizer, config) to its SHA-256; for APIs ``details`` holds endpoint, model
    name and fingerprint. ``key`` is a hash over all of it and is what evidence rows
    point to.
    """

    name: str
    backend: str
    source: str
    revision: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        from provenance.hashing import canonical_json

        return hashlib.sha256(canonical_json(self.to_dict()).encode()).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "backend": self.backend,
            "source": self.source,
            "revision": self.revision,
            "files": dict(sorted(self.files.items())),
            "details": self.details,
        }


class BatchInterrupted(Exception):
    """A batch call failed part-way; the answers already obtained are in ``done``.

    API answers are paid for, so a backend that sends a batch's requests separately
    raises this (instead of the bare ``cause``) and collection stores ``done`` (prompt
    index -> answer) before re-raising ``cause``.
    """

    def __init__(self, done: dict[int, Any], cause: BaseException) -> None:
        super().__init__(str(cause))
        self.done = done
        self.cause = cause


class Backend(ABC):
    """A model the investigation can query.

    Implementations are stateless with respect to requests: the same call with the
    same arguments returns the same result, which is what lets the evidence store
    serve repeats from its cache.
    """

    #: What this backend can do; suites check this before asking.
    capabilities: frozenset[Capability] = frozenset()

    @property
    @abstractmethod
    def identity(self) -> ModelIdentity:
        """The model's identity as recorded in evidence."""

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    @abstractmethod
    def generate(
        self, prompts: Sequence[str], params: GenerationParams, seed: int
    ) -> list[Generation]:
        """Continue each prompt; one ``Generation`` per prompt, in order.

        A prompt is the user's message: chat models get it wrapped in their chat
        template (with the generation prompt appended); others see the raw text.
        The result for a prompt depends only on (model, prompt, params, seed), never
        on which other prompts share its batch or where it stands in it.
        """

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Scored]:
        """Log-probabilities of ``continuations[i]`` following ``prompts[i]``.

        The prompt is formatted exactly as ``generate`` formats it; the
        continuation is tokenised on its own (no special tokens) and appended, so
        scoring a continuation that ``generate`` produced scores the same tokens
        the model chose (up to tokenizer round-trip). One forward pass per batch.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot score continuations")

    def top_logprobs(self, prompts: Sequence[str], k: int) -> list[list[TopToken]]:
        """The ``k`` most likely next tokens after each formatted prompt, most likely first."""
        raise NotImplementedError(f"{type(self).__name__} cannot report top log-probs")

    def subset_mass(
        self,
        prompts: Sequence[str],
        continuations: Sequence[str],
        subset: Callable[[Sequence[int], int], Any],
    ) -> list[SubsetMass]:
        """Probability of a token set at every position of ``continuations[i]`` after ``prompts[i]``.

        Prompt and continuation are formatted and tokenised exactly as in ``score``.
        ``subset(prefix_ids, vocab_size)`` gets the token ids before a position (formatted
        prompt plus the continuation so far) and the width of the model's output
        layer, and returns a boolean mask of that length;
        the backend returns numbers only and never interprets them (the watermark
        suite passes green lists here and tests the masses itself).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot report next-token distributions")
