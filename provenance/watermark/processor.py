"""The generation side: a ``transformers`` LogitsProcessor that adds delta to green logits.

It runs before any sampler in ``HFBackend.logits_processors`` (the Gumbel sampler
is appended after it), so the watermark shapes the distribution that is then
sampled, as in Kirchenbauer et al. (2023), Algorithm 2. Green lists are cached
per context because the same contexts recur constantly during generation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import LogitsProcessor

from provenance.watermark.schemes import Scheme

_CACHE_LIMIT = 65536


class WatermarkLogitsProcessor(LogitsProcessor):
    """Adds ``scheme.delta`` to the logits of the tokens green after each row's last h tokens."""

    def __init__(self, scheme: Scheme, vocab_size: int) -> None:
        self.scheme = scheme
        self.vocab_size = int(vocab_size)
        self._cache: dict[tuple[int, ...], torch.Tensor] = {}

    def _mask(self, context: tuple[int, ...], width: int, device: Any) -> torch.Tensor:
        mask = self._cache.get(context)
        if mask is None:
            green = self.scheme.green_mask(context, self.vocab_size)
            full = np.zeros(width, dtype=bool)
            n = min(width, self.vocab_size)
            full[:n] = green[:n]
            mask = torch.from_numpy(full)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[context] = mask
        return mask.to(device)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        h = self.scheme.context_width
        if h and input_ids.shape[1] < h:
            return scores  # not enough context yet: nothing to hash
        rows = input_ids[:, input_ids.shape[1] - h :].tolist() if h else [[] for _ in range(input_ids.shape[0])]
        masks = torch.stack([self._mask(tuple(row), scores.shape[-1], scores.device) for row in rows])
        return scores + masks.to(scores.dtype) * self.scheme.delta
