"""Black-box detection: does this text carry the watermark of this key?

Needs only text, the teacher's tokenizer and the key: the text is re-tokenised with
the teacher's tokenizer (the green lists live in the teacher's vocabulary, whatever
tokenizer the suspect uses), tokens are selected (``selection``), their green flags
computed (``schemes``) and tested (``stats.green_hits_test``). The same path serves
one teacher answer, a pool of a suspect's samples (closed-model radioactivity) and
the exhibits (each response's own score, with its green tokens marked).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from provenance.stats import TestResult
from provenance.watermark.schemes import Scheme
from provenance.watermark.selection import Selection, select_tokens
from provenance.watermark.stats import green_hits_test


@dataclass(frozen=True)
class Detection:
    """A test over a pool of sequences, and what was scored in each."""

    result: TestResult
    selection: Selection
    green: np.ndarray

    def per_sequence(self, n_sequences: int) -> list[tuple[int, int]]:
        """(green, scored) counts of each sequence, in the pooled (de-duplicated) selection."""
        counts = [[0, 0] for _ in range(n_sequences)]
        for (s, _), g in zip(self.selection.origin, self.green):
            counts[s][0] += int(g)
            counts[s][1] += 1
        return [(g, n) for g, n in counts]


def tokenize(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text under ``tokenizer``, without special tokens (as a continuation is tokenised)."""
    return [list(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]


def detect_sequences(
    sequences: Sequence[Sequence[int]],
    scheme: Scheme,
    *,
    prompts: Sequence[Sequence[int]] | None = None,
    dedup: bool = True,
    exclude_prompt: bool = True,
) -> Detection:
    """Pool ``sequences`` (teacher-vocabulary token ids), select, score green hits, test."""
    selection = select_tokens(
        sequences, context_width=scheme.context_width, prompts=prompts, dedup=dedup, exclude_prompt=exclude_prompt
    )
    green = scheme.is_green(selection.contexts, selection.tokens)
    result = green_hits_test(green, scheme.gamma, dropped=selection.dropped, total=selection.total)
    return Detection(result=result, selection=selection, green=green)


def detect_text(
    texts: Sequence[str],
    scheme: Scheme,
    tokenizer: Any,
    *,
    prompts: Sequence[str] | None = None,
    dedup: bool = True,
    exclude_prompt: bool = True,
) -> Detection:
    """Black-box detection on texts: re-tokenise with the teacher's ``tokenizer``, then ``detect_sequences``."""
    return detect_sequences(
        tokenize(tokenizer, texts),
        scheme,
        prompts=tokenize(tokenizer, prompts) if prompts is not None else None,
        dedup=dedup,
        exclude_prompt=exclude_prompt,
    )


def z_score(green: int, scored: int, gamma: float) -> float:
    """One response's green-hit z-score (for ranking exhibits; 0 when nothing was scored)."""
    if scored == 0:
        return 0.0
    return (green - gamma * scored) / math.sqrt(scored * gamma * (1 - gamma))


def mark_green(
    sequence: Sequence[int], scheme: Scheme, tokenizer: Any, *, prompt: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """One response's tokens with their status, for an exhibit: ``green``, ``red`` or the drop reason.

    The response is scored on its own here (de-duplicated within itself), so an
    exhibit reads the same whichever other responses were collected.
    """
    selection = select_tokens([sequence], context_width=scheme.context_width,
                              prompts=[prompt] if prompt is not None else None)
    green = scheme.is_green(selection.contexts, selection.tokens)
    status = {pos: ("green" if g else "red") for (_, pos), g in zip(selection.origin, green)}
    h = scheme.context_width
    out = []
    for pos, tok in enumerate(sequence):
        state = status.get(pos)
        if state is None:
            state = "no_context" if pos < h else "not_scored"
        out.append({"text": tokenizer.decode([int(tok)]), "status": state})
    return out
