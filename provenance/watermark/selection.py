"""Which tokens may be scored, and why the others are dropped.

A green-hit count is a valid binomial only if every scored trial is a fresh coin:
a (context, token) pair scored twice is the same coin counted twice, and text with
repeated n-grams (lists, code, a student that loops) then looks watermarked when it
is not. So, following Sander et al. (2024, "Watermarking Makes Language Models
Radioactive", sec. 4), each (context, token) pair is scored once across the whole
sample (first occurrence kept), and a token is not scored when its context occurs
in the prompt, where copying the prompt rather than the model's own choice decides
the token. Every dropped token is counted under its reason, because a report must
say how much of the text was actually tested.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

#: Reasons a token is not scored, in the order they are checked.
NO_CONTEXT = "no_context"
CONTEXT_IN_PROMPT = "context_in_prompt"
REPEATED = "repeated"
DROP_REASONS = (NO_CONTEXT, CONTEXT_IN_PROMPT, REPEATED)


@dataclass(frozen=True)
class Selection:
    """The scored (context, token) pairs and where each came from.

    ``origin[i]`` is (sequence index, position) of the i-th scored token;
    ``dropped`` counts the others by reason (``DROP_REASONS``).
    """

    contexts: np.ndarray
    tokens: np.ndarray
    origin: tuple[tuple[int, int], ...]
    total: int
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.tokens.size)


def _prompt_windows(prompt: Sequence[int], width: int) -> set[tuple[int, ...]]:
    """Every ``width``-gram of the prompt (for width 0: every token, as 1-tuples)."""
    w = max(width, 1)
    return {tuple(prompt[i : i + w]) for i in range(len(prompt) - w + 1)}


def select_tokens(
    sequences: Sequence[Sequence[int]],
    *,
    context_width: int,
    prompts: Sequence[Sequence[int]] | None = None,
    dedup: bool = True,
    exclude_prompt: bool = True,
) -> Selection:
    """Choose the tokens to score in ``sequences`` (token ids of answers, prompt not included).

    A token at position t has context ``seq[t-h:t]``; the first h tokens of an
    answer have no context inside the answer (the formatted prompt that preceded
    them is unknown in black-box detection) and are dropped. With ``dedup`` a
    (context, token) pair is scored at its first occurrence only; with
    ``exclude_prompt`` a token whose context (for h = 0: the token itself) occurs
    in its own prompt is dropped. ``dedup=False, exclude_prompt=False`` gives the
    naive count, kept only to show why it is wrong.
    """
    h = int(context_width)
    if prompts is not None and len(prompts) != len(sequences):
        raise ValueError("give one prompt per sequence")
    dropped = dict.fromkeys(DROP_REASONS, 0)
    seen: set[tuple[int, ...]] = set()
    contexts: list[tuple[int, ...]] = []
    tokens: list[int] = []
    origin: list[tuple[int, int]] = []
    total = 0
    for s, seq in enumerate(sequences):
        seq = [int(t) for t in seq]
        total += len(seq)
        windows = _prompt_windows([int(t) for t in prompts[s]], h) if (exclude_prompt and prompts is not None) else set()
        for t in range(len(seq)):
            if t < h:
                dropped[NO_CONTEXT] += 1
                continue
            ctx = tuple(seq[t - h : t])
            if windows and (ctx if h else (seq[t],)) in windows:
                dropped[CONTEXT_IN_PROMPT] += 1
                continue
            pair = (*ctx, seq[t])
            if dedup:
                if pair in seen:
                    dropped[REPEATED] += 1
                    continue
                seen.add(pair)
            contexts.append(ctx)
            tokens.append(seq[t])
            origin.append((s, t))
    return Selection(
        contexts=np.asarray(contexts, dtype=np.int64).reshape(len(contexts), h),
        tokens=np.asarray(tokens, dtype=np.int64),
        origin=tuple(origin),
        total=total,
        dropped=dropped,
    )


def select_contexts(
    sequences: Sequence[Sequence[int]], *, context_width: int, collision: Sequence[Sequence[float]] | None = None
) -> Selection:
    """Reading mode: one position per distinct context across all sequences.

    In reading mode the unit is a context, not a (context, token) pair: every
    position with the same context is weighed against the same green list, so two
    of them are not independent. ``tokens`` holds the token that followed (for
    reference only; the test uses the model's distribution, not the token).

    Which occurrence: the first, or with ``collision`` (sum of squared next-token
    probabilities per position) the flattest one, where a learnt green-list bias can
    move the most mass. The choice looks at the model's distribution only, never at
    the key, so the null distribution of the test is unchanged.
    """
    h = int(context_width)
    if h < 1:
        raise ValueError("reading mode needs context_width >= 1 (a fixed green list has only one context)")
    if collision is not None and len(collision) != len(sequences):
        raise ValueError("give one collision sequence per token sequence")
    dropped = dict.fromkeys((NO_CONTEXT, REPEATED), 0)
    chosen: dict[tuple[int, ...], tuple[float, int, int, int]] = {}  # context -> (collision, seq, pos, token)
    total = 0
    for s, seq in enumerate(sequences):
        seq = [int(t) for t in seq]
        total += len(seq)
        for t in range(len(seq)):
            if t < h:
                dropped[NO_CONTEXT] += 1
                continue
            ctx = tuple(seq[t - h : t])
            flatness = float(collision[s][t]) if collision is not None else 0.0
            if ctx in chosen:
                dropped[REPEATED] += 1
                if flatness >= chosen[ctx][0]:
                    continue
            chosen[ctx] = (flatness, s, t, seq[t])
    contexts = list(chosen)
    return Selection(
        contexts=np.asarray(contexts, dtype=np.int64).reshape(len(contexts), h),
        tokens=np.asarray([v[3] for v in chosen.values()], dtype=np.int64),
        origin=tuple((v[1], v[2]) for v in chosen.values()),
        total=total,
        dropped=dropped,
    )
