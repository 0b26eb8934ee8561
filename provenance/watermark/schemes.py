"""Green-list watermark schemes: which tokens are "green" after which context, under a key.

KGW (Kirchenbauer et al. 2023, "A Watermark for Large Language Models") hashes the
previous ``context_width`` (h) tokens with the secret key to seed a green list
holding a fraction ``gamma`` of the vocabulary, and adds ``delta`` to the green
tokens' logits before sampling. Unigram (Zhao et al. 2023, "Provable Robust
Watermarking for AI-Generated Text") uses one fixed green list (h = 0), which
survives edits that scramble contexts.

How the green list is drawn, and why: every (context, token) pair is green
independently with probability gamma, decided by a keyed 64-bit hash
(splitmix64) of the key, the context tokens and the token. KGW's reference code
instead takes the first gamma*|V| entries of a seeded permutation. The
difference matters for the test, not for the watermark: with independent
membership, distinct (context, token) pairs scored against an unrelated text are
exactly independent Bernoulli(gamma) trials (the key is modelled as a random
oracle), so the exact binomial test over de-duplicated pairs is exact, and the
green mass of a next-token distribution has a known mean and variance (reading
mode). Hashing is vectorised with numpy, so detection costs no model and no
per-token Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from provenance import config as defaults
from provenance.errors import CaseFileError
from provenance.hashing import sha256_text
from provenance.watermark.keys import WatermarkKey

SCHEMES = ("kgw", "unigram")

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TOKEN_SALT = np.uint64(0xD6E8FEB86659FD93)


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Steele et al.'s splitmix64 finaliser on uint64 arrays (wrap-around arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class Scheme:
    """One watermark scheme under one key.

    ``identity()`` is what evidence and findings record: the scheme's name, its
    parameters and the key's SHA-256, never the key itself.
    """

    name: str
    gamma: float
    delta: float
    context_width: int
    key: WatermarkKey = field(repr=False)
    key_id: str = ""

    def __post_init__(self) -> None:
        if self.name not in SCHEMES:
            raise CaseFileError(f"unknown watermark scheme {self.name!r}", hint=f"use one of {', '.join(SCHEMES)}")
        if not 0.0 < self.gamma < 1.0:
            raise CaseFileError(f"watermark gamma must be in (0, 1), got {self.gamma!r}")
        if self.delta < 0:
            raise CaseFileError(f"watermark delta must be >= 0, got {self.delta!r}")
        if self.name == "unigram" and self.context_width != 0:
            raise CaseFileError("the unigram scheme has a fixed green list: context_width must be 0")
        if self.name == "kgw" and self.context_width < 1:
            raise CaseFileError("the kgw scheme hashes the previous tokens: context_width must be at least 1")

    # -- hashing ----------------------------------------------------------------------

    @property
    def _key_seed(self) -> np.uint64:
        return np.uint64(int(sha256_text(f"provenance-watermark\x00{self.name}\x00{self.key.material}")[:16], 16))

    @property
    def _threshold(self) -> np.uint64:
        # green iff hash < gamma * 2^64: probability gamma up to 2^-64.
        return np.uint64(min(int(self.gamma * 2.0**64), 2**64 - 1))

    def context_seeds(self, contexts: np.ndarray) -> np.ndarray:
        """One uint64 seed per row of ``contexts`` (shape (n, h)): the key chained with each context token."""
        contexts = np.asarray(contexts, dtype=np.int64)
        if contexts.ndim != 2:
            contexts = contexts.reshape(1, 0) if self.context_width == 0 else contexts.reshape(-1, self.context_width)
        seeds = np.full(contexts.shape[0], self._key_seed, dtype=np.uint64)
        for col in range(self.context_width):
            seeds = splitmix64(seeds ^ contexts[:, col].astype(np.uint64))
        return seeds

    def _green(self, seeds: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            salted = splitmix64(tokens.astype(np.uint64) * _TOKEN_SALT)
        return splitmix64(seeds ^ salted) < self._threshold

    def is_green(self, contexts: np.ndarray, tokens: Sequence[int] | np.ndarray) -> np.ndarray:
        """Green flags of ``tokens[i]`` after ``contexts[i]`` (shape (n, h)); vectorised."""
        tokens = np.asarray(tokens, dtype=np.int64)
        return self._green(self.context_seeds(contexts), tokens)

    def green_mask(self, context: Sequence[int], vocab_size: int) -> np.ndarray:
        """The green list after ``context`` (its last h tokens count) as a bool array over the vocabulary."""
        ctx = np.asarray(list(context)[len(context) - self.context_width :] if self.context_width else [], dtype=np.int64)
        if ctx.size != self.context_width:
            raise ValueError(f"need {self.context_width} context tokens, got {ctx.size}")
        seed = self.context_seeds(ctx.reshape(1, -1))
        return self._green(np.repeat(seed, vocab_size), np.arange(vocab_size, dtype=np.int64))

    def identity(self) -> dict[str, Any]:
        """What evidence records: name, parameters and the key's SHA-256 (never the key)."""
        return {
            "scheme": self.name,
            "params": {"gamma": self.gamma, "delta": self.delta, "context_width": self.context_width},
            "key_id": self.key_id,
            "key_sha256": self.key.sha256,
        }


def scheme_from_config(config: Mapping[str, Any], key: WatermarkKey | None = None) -> Scheme:
    """A scheme from the lab's watermark file format: ``{"scheme", "key_id", "key", "params"}``.

    ``key`` overrides the config's ``"key"`` (case files give the key by reference).
    """
    params = dict(config.get("params", {}))
    name = str(config.get("scheme", ""))
    if key is None:
        if "key" not in config:
            raise CaseFileError("watermark config has no key", hint="give key_file or key_env")
        key = WatermarkKey(str(config["key"]), source="watermark config")
    unknown = sorted(set(params) - {"gamma", "delta", "context_width"})
    if unknown:
        raise CaseFileError(f"unknown watermark parameter(s) {', '.join(unknown)}", hint="use gamma, delta, context_width")
    default_h = 0 if name == "unigram" else defaults.WATERMARK_CONTEXT_WIDTH
    return Scheme(
        name=name,
        gamma=float(params.get("gamma", defaults.WATERMARK_GAMMA)),
        delta=float(params.get("delta", defaults.WATERMARK_DELTA)),
        context_width=int(params.get("context_width", default_h)),
        key=key,
        key_id=str(config.get("key_id", "")),
    )
