"""Detection throughput of each watermark scheme: scored tokens per second, CPU only.

Run:  .venv/bin/python benchmarks/watermark_throughput.py [--tokens 1000000] [--vocab 50257]

Detection needs no model: token selection (de-duplication, prompt exclusion) in
Python plus vectorised keyed hashing in numpy, then one exact binomial test. Input
is 200-token answers of uniformly random token ids (the worst case for
de-duplication bookkeeping: almost every pair is new). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from provenance.watermark import WatermarkKey
from provenance.watermark.detect import detect_sequences
from provenance.watermark.schemes import Scheme

SCHEMES = (("kgw", 1), ("kgw", 4), ("unigram", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--vocab", type=int, default=50257)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sequences = [list(row) for row in rng.integers(0, args.vocab, size=(args.tokens // 200, 200))]
    prompts = [list(row) for row in rng.integers(0, args.vocab, size=(len(sequences), 20))]
    print(f"{args.tokens:,} tokens in {len(sequences):,} answers of 200, vocabulary {args.vocab:,}, best of {args.repeats}\n")
    print("| scheme | context width h | tokens/s (selection + hashing + test) | tokens/s (hashing only) |")
    print("|---|---|---|---|")
    for name, h in SCHEMES:
        scheme = Scheme(name=name, gamma=0.25, delta=2.0, context_width=h, key=WatermarkKey("benchmark-key"))
        best = best_hash = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            detection = detect_sequences(sequences, scheme, prompts=prompts)
            best = min(best, time.perf_counter() - start)
            start = time.perf_counter()
            scheme.is_green(detection.selection.contexts, detection.selection.tokens)
            best_hash = min(best_hash, time.perf_counter() - start)
        total = detection.selection.total
        print(f"| {name} | {h} | {total / best:,.0f} | {detection.selection.n / best_hash:,.0f} |")


if __name__ == "__main__":
    main()
