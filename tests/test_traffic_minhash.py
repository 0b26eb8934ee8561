"""Vectorised MinHash (issue 18): the same signatures as datasketch, the same LSH candidates, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from provenance.traffic import minhash


def _sets(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    return [np.unique(rng.integers(0, 1 << 32, size=rng.integers(1, 40), dtype=np.uint64)) for _ in range(count)]


@pytest.mark.parametrize("batch", [1, 7, 1 << 18])  # a set bigger than the batch, sets split across batches, one batch
def test_signatures_equal_datasketch_minhash(batch: int) -> None:
    sets = _sets(np.random.default_rng(0), 60)
    starts = np.cumsum([0] + [len(s) for s in sets[:-1]])
    ours = minhash.signatures(np.concatenate(sets), starts, 64, batch=batch)
    for k, values in enumerate(sets):
        theirs = MinHash(num_perm=64, seed=1, hashfunc=lambda v: v)
        theirs.update_batch([int(v) for v in values])
        assert np.array_equal(ours[:, k], theirs.hashvalues)


def test_lsh_buckets_find_the_candidates_datasketch_finds() -> None:
    rng = np.random.default_rng(1)
    base = _sets(rng, 30)
    near = [np.unique(np.concatenate([s[: max(1, len(s) * 4 // 5)], rng.integers(0, 1 << 32, 2, dtype=np.uint64)])) for s in base]
    sets = base + near + _sets(rng, 30)  # 30 near-duplicate pairs among 90 sets
    starts = np.cumsum([0] + [len(s) for s in sets[:-1]])
    signature = minhash.signatures(np.concatenate(sets), starts, 64)
    bands, rows = minhash.lsh_bands(0.5, 64)
    shared = minhash.bucket_sizes(minhash.band_keys(signature, bands, rows)).max(axis=0) >= 2
    index = MinHashLSH(num_perm=64, params=(bands, rows))
    hashes = [MinHash(num_perm=64, seed=1, scheme="affine32", hashvalues=signature[:, k]) for k in range(len(sets))]
    for k, h in enumerate(hashes):
        index.insert(k, h)
    theirs = np.array([len(index.query(h)) > 1 for h in hashes])
    assert np.array_equal(shared, theirs) and shared[:30].mean() >= 0.7  # near-duplicates of 1-40 elements
    salted = minhash.bucket_sizes(minhash.band_keys(signature, bands, rows, salt=np.arange(len(sets)))).max(axis=0)
    assert (salted == 1).all()  # a salt per set: nothing is shared across salts


def test_bad_starts_are_refused() -> None:
    with pytest.raises(ValueError, match="starts"):
        minhash.signatures(np.arange(5, dtype=np.uint64), np.array([0, 3, 3]), 64)
