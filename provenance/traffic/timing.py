"""Lock-step links that survive a dispatcher's random per-account delays: activity cross-correlation at several
scales, against the same pair's correlation at shifted times.

One dispatcher firing several accounts makes them active at nearly the same moments,
whatever else differs; adding a random delay per account moves each request by seconds,
which defeats an exact 5-second co-occurrence. Here two accounts are compared at several
window widths (``WINDOWS``): the share of each one's requests that have a request of the
other within the window. Coincidence is judged against the pair's own *shift null*: the
same share with one account's times moved by whole minutes (1-30) and whole hours (1-24),
both ways. Clock-driven jobs (cron at the top of the hour or minute) and dense overlapping
bursts stay aligned under those shifts and score as high shifted as unshifted, so they
are not linked; a dispatcher firing at irregular moments is aligned only at shift zero.

Accounts that send every minute or so (``DENSE_GAP``) or on the clock (``ON_THE_CLOCK``) are
not compared: at every shift they coincide with everyone active at the time. Candidates come from MinHash LSH over each account's coarse time bins on two staggered
grids (``BIN_SECONDS``), so two requests less than half a bin apart always share a bin;
each candidate pair is then tested exactly on the request times.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from provenance.traffic import minhash
from provenance.traffic.features import NUM_PERM, AccountFeatures

#: An account needs this many requests to be compared by timing.
MIN_EVENTS = 20
#: Requests kept per account (the first ones in time; bounds the cost of a very busy account).
MAX_EVENTS = 4000
#: An account whose median gap between requests is under this (seconds) is active in nearly every window at every
#: shift: co-activity cannot single out a dispatcher there (the shift null rejects every such pair), so it is not
#: compared. Twice the widest window.
DENSE_GAP = 120.0
#: An account firing mostly in the first seconds of a minute (a cron job) is not compared either: clock schedules
#: align under every whole-minute shift, and thousands of them would crowd every candidate bucket.
ON_THE_CLOCK = 0.5
#: Coarse bins for candidates: two grids staggered by half a bin.
BIN_SECONDS = 240
#: Bin-set Jaccard similarity from which a pair is a candidate.
CANDIDATE_JACCARD = 0.3
#: Window half-widths (seconds) at which co-activity is measured: exact lock-step up to delays of about a minute.
WINDOWS = (5.0, 20.0, 60.0)
#: Shifts of the null: whole minutes and whole hours, both ways (clock schedules stay aligned under them).
SHIFTS = np.array(sorted({s * k for k in range(1, 31) for s in (60.0, -60.0)} | {s * k for k in range(1, 25) for s in (3600.0, -3600.0)}))
#: A pair is in lock-step when, at some window, at least this share of requests coincide ...
LOCKSTEP_SHARE = 0.6
#: ... and that share exceeds the highest share under any shift by at least this much.
LOCKSTEP_MARGIN = 0.3


@dataclass(frozen=True)
class Lockstep:
    """How two accounts' requests coincide: at ``window`` seconds, ``share`` unshifted vs ``null`` at best shifted."""

    window: float
    share: float
    null: float


def activity(con: Any, features: dict[str, AccountFeatures]) -> None:  # noqa: ANN401
    """Each account's request times (epoch seconds, sorted, at most ``MAX_EVENTS``) into ``activity_signature``."""
    rows = con.execute(f"""
        SELECT account_id, epoch(ts) AS t FROM (
            SELECT account_id, ts, count(*) OVER (PARTITION BY account_id) AS n,
                   row_number() OVER (PARTITION BY account_id ORDER BY ts) AS i FROM x)
        WHERE n >= {MIN_EVENTS} AND i <= {MAX_EVENTS} ORDER BY account_id, t
    """).fetchnumpy()  # fmt: skip
    names, times = rows["account_id"], np.asarray(rows["t"], dtype=np.float64)
    if not len(times):
        return
    starts = minhash.run_starts(names)
    for begin, end in zip(starts.tolist(), np.append(starts[1:], len(times)).tolist()):
        features[str(names[begin])].activity_signature = times[begin:end].copy()


def _nearest(x: np.ndarray, y: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For each offset (rows) and each time of ``x`` (columns), the distance to the nearest time of ``y + offset``."""
    targets = x[None, :] - offsets[:, None]  # y + offset near x  <=>  y near x - offset
    padded = np.concatenate([[-np.inf], y, [np.inf]])
    index = np.searchsorted(padded, targets)
    return np.minimum(targets - padded[index - 1], padded[index] - targets)


def coincidence(a: np.ndarray, b: np.ndarray, window: float, shifts: np.ndarray) -> np.ndarray:
    """For each shift, the mean of (share of ``a`` with a ``b + shift`` within ``window``) and the converse."""
    return ((_nearest(a, b, shifts) <= window).mean(axis=1) + (_nearest(b, a, -shifts) <= window).mean(axis=1)) / 2


def lockstep(a: np.ndarray, b: np.ndarray) -> Lockstep | None:
    """The strongest window at which ``a`` and ``b`` coincide beyond their shift null, or None."""
    if coincidence(a, b, max(WINDOWS), np.zeros(1))[0] < LOCKSTEP_SHARE:  # the widest window coincides least rarely
        return None
    offsets = np.concatenate([[0.0], SHIFTS])
    forward, backward = _nearest(a, b, offsets), _nearest(b, a, -offsets)
    best = None
    for window in WINDOWS:
        shares = ((forward <= window).mean(axis=1) + (backward <= window).mean(axis=1)) / 2
        share, null = float(shares[0]), float(shares[1:].max())
        if share >= LOCKSTEP_SHARE and share - null >= LOCKSTEP_MARGIN and (best is None or share - null > best.share - best.null):
            best = Lockstep(window, round(share, 3), round(null, 3))
    return best


def _bins(times: np.ndarray) -> np.ndarray:
    """The account's time bins on two grids staggered by half a bin, as 32-bit hashes."""
    grid = np.floor(times / BIN_SECONDS).astype(np.int64) * 2
    staggered = np.floor(times / BIN_SECONDS + 0.5).astype(np.int64) * 2 + 1
    tokens = np.unique(np.concatenate([grid, staggered]))
    return (tokens.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) >> np.uint64(32)).astype(np.uint64)


def lockstep_pairs(features: dict[str, AccountFeatures], group: dict[str, str] | None = None) -> list[tuple[str, str, Lockstep]]:
    """Pairs of accounts in lock-step (``lockstep``), found among LSH candidates over their time bins.

    ``group``: each account's group by the other links, if known; a pair already in one group is not
    tested (the link would join nothing: a proxy swarm's hundreds of accounts, active together, are
    linked by their template already and would cost hundreds of thousands of tests)."""
    from provenance.traffic.campaigns import similar_pairs

    names = sorted(a for a, f in features.items() if f.activity_signature is not None and f.clock_aligned_share < ON_THE_CLOCK
                   and float(np.median(np.diff(f.activity_signature))) >= DENSE_GAP)  # fmt: skip
    if len(names) < 2:
        return []
    sets = [_bins(features[a].activity_signature) for a in names]
    starts = np.cumsum([0] + [len(s) for s in sets[:-1]])
    signature = minhash.signatures(np.concatenate(sets), starts, NUM_PERM)
    found = []
    for first, second in similar_pairs(names, list(signature.T), CANDIDATE_JACCARD):
        if group is not None and group.get(first) == group.get(second):
            continue
        link = lockstep(features[first].activity_signature, features[second].activity_signature)
        if link is not None:
            found.append((first, second, link))
    return found
