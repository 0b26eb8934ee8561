"""MinHash signatures and LSH buckets for many small sets at once (numpy, no Python loop per set).

Templatedness needs a MinHash signature for every sampled prompt of every account:
hundreds of thousands of small sets per million exchanges. ``datasketch`` builds one
object per set (about 240 microseconds each, two thirds of a million-exchange scan);
here the same signatures are computed for a whole batch of sets with array
arithmetic. The permutations and the formula are datasketch's own ``legacy`` scheme
(``(a * h + b) mod (2**61 - 1)``, kept to 32 bits, with datasketch's seeded ``a, b``),
so a signature equals ``datasketch.MinHash(scheme="legacy").update_batch`` of the
same hash values (tested); the LSH band and row counts are the ones datasketch finds
optimal for the Jaccard threshold. Two sets are LSH candidates when any band of
their signatures is equal, as in ``datasketch.MinHashLSH``; here the bands become
64-bit keys and candidates are found by counting equal keys (``numpy.unique``).
"""

from __future__ import annotations

import functools

import numpy as np

_PRIME = np.uint64((1 << 61) - 1)
_MAX_HASH = np.uint64((1 << 32) - 1)


@functools.lru_cache(maxsize=None)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's ``a`` and ``b`` for ``num_perm`` permutations (legacy scheme), as column vectors."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="legacy").permutations
    return a.astype(np.uint64)[:, None], b.astype(np.uint64)[:, None]


@functools.lru_cache(maxsize=None)
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """The LSH (bands, rows) datasketch finds optimal for ``threshold`` (false positives and negatives weighed equally)."""
    from datasketch import MinHashLSH

    index = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return index.b, index.r


def signatures(hashes: np.ndarray, starts: np.ndarray, num_perm: int, *, seed: int = 1, batch: int = 1 << 18) -> np.ndarray:
    """MinHash signatures of consecutive sets: ``hashes[starts[k]:starts[k+1]]`` is set k (32-bit hash values).

    Returns a ``(num_perm, len(starts))`` uint64 array. Work is done ``batch`` hash values
    at a time (whole sets per batch) so memory stays bounded: ``num_perm * batch * 8`` bytes.
    """
    a, b = permutations(num_perm, seed)
    hashes = np.asarray(hashes, dtype=np.uint64)
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) and (starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= len(hashes)):
        raise ValueError("starts must begin at 0 and rise strictly within the hash values (every set non-empty)")
    out = np.empty((num_perm, len(starts)), dtype=np.uint64)
    buffer = np.empty((num_perm, max(batch, 1)), dtype=np.uint64)
    ends = np.append(starts[1:], len(hashes))
    first = 0
    while first < len(starts):
        # as many whole sets as fit in the buffer (at least one, growing the buffer for a huge set)
        last = max(first + 1, int(np.searchsorted(ends, starts[first] + buffer.shape[1], side="right")))
        lo, hi = int(starts[first]), int(ends[last - 1])
        if hi - lo > buffer.shape[1]:
            buffer = np.empty((num_perm, hi - lo), dtype=np.uint64)
        work = buffer[:, : hi - lo]
        np.multiply(a, hashes[None, lo:hi], out=work)
        np.add(work, b, out=work)
        np.remainder(work, _PRIME, out=work)
        np.bitwise_and(work, _MAX_HASH, out=work)
        out[:, first:last] = np.minimum.reduceat(work, starts[first:last] - lo, axis=1)
        first = last
    return out


def band_keys(signature: np.ndarray, bands: int, rows: int, salt: np.ndarray | None = None) -> np.ndarray:
    """One 64-bit key per (band, set): equal keys mean an equal band (``salt`` keeps groups apart, e.g. accounts).

    Returns a ``(bands, n)`` uint64 array; a key mixes the band's values with fixed odd
    multipliers, the band's index and the salt, so unequal bands share a key with
    probability about 2**-64.
    """
    mix = np.random.default_rng(20260318).integers(1, 1 << 63, size=(rows + 2, 1), dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    n = signature.shape[1]
    keys = np.empty((bands, n), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(bands):
            block = signature[band * rows : (band + 1) * rows]
            key = (block * mix[:rows]).sum(axis=0, dtype=np.uint64)
            key = key * mix[rows] + np.uint64(band)
            if salt is not None:
                key = (key ^ np.asarray(salt, dtype=np.uint64)) * mix[rows + 1]
            keys[band] = key
    return keys


def bucket_sizes(keys: np.ndarray) -> np.ndarray:
    """For every (band, set), how many sets share its key (1: no LSH candidate in that band)."""
    _, inverse, counts = np.unique(keys.ravel(), return_inverse=True, return_counts=True)
    return counts[inverse].reshape(keys.shape)
