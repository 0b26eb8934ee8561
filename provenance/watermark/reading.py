"""Open-model radioactivity ("reading mode"): no sampling, just the suspect's distributions.

A student trained on watermarked text learns to prefer green tokens after the
contexts it saw. With open weights that preference is measured directly: feed the
suspect text, and at every position take the probability mass its next-token
distribution puts on the green list of that position's context. Each position
then contributes a whole distribution's worth of evidence instead of one sampled
token. (Measured on the lab, docs/watermark.md: it reaches p < 1e-3 from about as many
answers as closed mode and then goes much further with them; the answers it reads
hold only so many distinct contexts.)

Division of labour (a backend never tests anything): collection asks the backend
for ``subset_mass`` with the set function from :func:`green_set`, and stores the
per-position mass and collision numbers with the scheme's identity; analysis
selects one position per distinct context (the flattest) and calls
``stats.green_mass_test``, which weighs each by how far it is from certain.

The text must not depend on the key, or the test is invalid: text that carries the
watermark would push any good language model toward green tokens. The suite feeds
each model its own answers, which do not depend on the key under the null.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from provenance.stats import TestResult
from provenance.watermark.schemes import Scheme
from provenance.watermark.selection import Selection, select_contexts
from provenance.watermark.stats import green_mass_test


def green_set(scheme: Scheme) -> Callable[[Sequence[int], int], np.ndarray]:
    """The token set a backend weighs at each position: green after the prefix's last h tokens."""
    cache: dict[tuple[tuple[int, ...], int], np.ndarray] = {}
    h = scheme.context_width

    def subset(prefix: Sequence[int], vocab_size: int) -> np.ndarray:
        ctx = tuple(int(t) for t in prefix[len(prefix) - h :]) if h else ()
        if len(ctx) < h:
            return np.zeros(vocab_size, dtype=bool)  # no context yet; such positions are never scored
        mask = cache.get((ctx, vocab_size))
        if mask is None:
            mask = cache[(ctx, vocab_size)] = scheme.green_mask(ctx, vocab_size)
        return mask

    return subset


def reading_test(
    token_ids: Sequence[Sequence[int]],
    mass: Sequence[Sequence[float]],
    collision: Sequence[Sequence[float]],
    scheme: Scheme,
) -> tuple[TestResult, Selection]:
    """Test stored per-position numbers of several texts, one position per distinct context."""
    for ids, m, c in zip(token_ids, mass, collision, strict=True):
        if not len(ids) == len(m) == len(c):
            raise ValueError("token_ids, mass and collision must have one entry per position")
    selection = select_contexts(token_ids, context_width=scheme.context_width, collision=collision)
    m = np.array([mass[s][t] for s, t in selection.origin], dtype=float)
    c = np.array([collision[s][t] for s, t in selection.origin], dtype=float)
    result = green_mass_test(m, c, scheme.gamma, dropped=selection.dropped, total=selection.total)
    return result, selection
