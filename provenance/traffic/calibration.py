"""A flagged group's estimated chance that ordinary traffic of the same log scores as high: an account-permuted null.

The campaign score of a group is its members' mean behaviour (the sum of their capped robust
z-scores) plus a term for the separate payers among them. The null keeps the group's *link
structure* (its size and its separate payers) and replaces its members by accounts drawn at
random from the log's *benign-looking* population (every account outside the groups that reach
the threshold, hard negatives and odd automation included), ``draws`` times: the share of draws
that score at least as high as the group (with the usual +1 correction, so it is never 0)
estimates how often ordinary accounts of this log, linked the same way, would look as bad as the
group does. It does not estimate the chance that the links themselves arose by chance (each
link's own evidence says that), and a campaign the scan missed is part of the population drawn
from (which makes the estimate conservative); it is reported beside the score, not instead of it.
"""

from __future__ import annotations

import numpy as np

#: Random groups drawn per group (fewer for a very large group: at most ``CELLS`` account draws in all).
DRAWS = 10_000
CELLS = 5_000_000


def null_probability(totals: np.ndarray, size: int, payer_term: float, score: float, *, seed: int = 0) -> tuple[float, int]:
    """(estimated chance, draws): random groups of ``size`` accounts (behaviour ``totals`` each) plus ``payer_term``
    scoring at least ``score``."""
    draws = int(max(500, min(DRAWS, CELLS // max(size, 1))))
    rng = np.random.default_rng(seed)
    null = np.zeros(draws)
    chunk = max(1, CELLS // 10 // max(size, 1))
    for first in range(0, draws, chunk):
        count = min(chunk, draws - first)
        null[first : first + count] = totals[rng.integers(0, len(totals), size=(count, size))].mean(axis=1)
    above = int(np.count_nonzero(null + payer_term >= score - 1e-9))
    return (above + 1) / (draws + 1), draws
