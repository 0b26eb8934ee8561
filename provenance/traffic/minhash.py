"""MinHash signatures and LSH buckets for many small sets at once (numpy, no Python loop per set).

Templatedness needs a MinHash signature for every sampled prompt of every account:
hundreds of thousands of small sets per million exchanges. ``datasketch`` builds one
object per set (about 240 microseconds each, two thirds of a million-exchange scan);
here the same signatures are computed for a whole batch of sets with array
arithmetic. The permutations and the formula are datasketch's own default scheme
(``affine32``: each 32-bit hash value mixed once by the MurmurHash3 finaliser, then
``a * h + b`` modulo 2**32 per permutation, with datasketch's seeded odd ``a`` and
``b``), so a signature equals ``datasketch.MinHash().update_batch`` of the same hash
values (tested); about 1.6 ns per hash value and permutation on this machine, where
the older ``legacy`` scheme's modulo a Mersenne prime costs 6. The LSH band and row counts are the ones datasketch finds
optimal for the Jaccard threshold. Two sets are LSH candidates when any band of
their signatures is equal, as in ``datasketch.MinHashLSH``; here the bands become
64-bit keys and candidates are found by counting equal keys (``numpy.unique``).
"""

from __future__ import annotations

import functools

import numpy as np

#: MurmurHash3's 32-bit finaliser (shifts and multipliers), as datasketch applies it before its affine permutations.
_FMIX = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)


def _fmix32(values: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX
    values = values ^ (values >> np.uint32(s1))
    values = values * np.uint32(m1)
    values = values ^ (values >> np.uint32(s2))
    values = values * np.uint32(m2)
    return values ^ (values >> np.uint32(s3))


@functools.lru_cache(maxsize=None)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's ``a`` and ``b`` for ``num_perm`` permutations (its default ``affine32`` scheme), as column vectors."""
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return a.astype(np.uint32)[:, None], b.astype(np.uint32)[:, None]


@functools.lru_cache(maxsize=None)
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """The LSH (bands, rows) datasketch finds optimal for ``threshold`` (false positives and negatives weighed equally)."""
    from datasketch import MinHashLSH

    index = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return index.b, index.r


def signatures(hashes: np.ndarray, starts: np.ndarray, num_perm: int, *, seed: int = 1, batch: int = 1 << 18) -> np.ndarray:
    """MinHash signatures of consecutive sets: ``hashes[starts[k]:starts[k+1]]`` is set k (32-bit hash values).

    Returns a ``(num_perm, len(starts))`` uint32 array. Work is done ``batch`` hash values
    at a time (whole sets per batch) so memory stays bounded: ``num_perm * batch * 4`` bytes.
    """
    a, b = permutations(num_perm, seed)
    hashes = _fmix32(np.asarray(hashes, dtype=np.uint64).astype(np.uint32))
    starts = np.asarray(starts, dtype=np.int64)
    if len(starts) and (starts[0] != 0 or np.any(np.diff(starts) <= 0) or starts[-1] >= len(hashes)):
        raise ValueError("starts must begin at 0 and rise strictly within the hash values (every set non-empty)")
    out = np.empty((num_perm, len(starts)), dtype=np.uint32)
    buffer = np.empty((num_perm, max(batch, 1)), dtype=np.uint32)
    ends = np.append(starts[1:], len(hashes))
    first = 0
    while first < len(starts):
        # as many whole sets as fit in the buffer (at least one, growing the buffer for a huge set)
        last = max(first + 1, int(np.searchsorted(ends, starts[first] + buffer.shape[1], side="right")))
        lo, hi = int(starts[first]), int(ends[last - 1])
        if hi - lo > buffer.shape[1]:
            buffer = np.empty((num_perm, hi - lo), dtype=np.uint32)
        work = buffer[:, : hi - lo]
        np.multiply(a, hashes[None, lo:hi], out=work)  # modulo 2**32: uint32 arithmetic wraps
        np.add(work, b, out=work)
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
            block = signature[band * rows : (band + 1) * rows].astype(np.uint64)
            key = (block * mix[:rows]).sum(axis=0, dtype=np.uint64)
            key = key * mix[rows] + np.uint64(band)
            if salt is not None:
                key = (key ^ np.asarray(salt, dtype=np.uint64)) * mix[rows + 1]
            keys[band] = key
    return keys


def bucket_sizes(keys: np.ndarray) -> np.ndarray:
    """For every (band, set), how many sets share its key (1: no LSH candidate in that band)."""
    flat = keys.ravel()
    order = np.argsort(flat)
    _, counts = sorted_counts(flat[order])
    sizes = np.empty(len(flat), dtype=np.int64)
    sizes[order] = np.repeat(counts, counts)
    return sizes.reshape(keys.shape)


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values begins in a sorted (or grouped) array."""
    return np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if len(ordered) else np.zeros(0, dtype=np.int64)


def sorted_counts(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs (``numpy.unique`` without its hashing,
    several times slower on millions of 64-bit keys)."""
    first = run_starts(ordered)
    return ordered[first], np.diff(np.append(first, len(ordered)))
