"""Throughput of the HF backend against a naive one-prompt-at-a-time loop.

Run:  .venv/bin/python benchmarks/backend_throughput.py [--prompts 64] [--new-tokens 32]

Builds a small GPT-2-shaped model (4 layers, d=256) in a temporary folder and
times, in one run:
  * generate: HFBackend.generate (batched, left-padded, KV cache) vs a loop of
    model.generate on one prompt at a time;
  * score: HFBackend.score (one batched forward pass) vs one forward per prompt.
Prints tokens/s for each and the ratio. Results go into docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.probes import load_suite
from provenance.tinymodel import build_tiny_model


def naive_generate(backend: HFBackend, prompts: list[str], new_tokens: int) -> int:
    tokens = 0
    for prompt in prompts:
        ids = torch.tensor([backend.encode_prompt(prompt)])
        with torch.inference_mode():
            out = backend.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=backend.tokenizer.pad_token_id,
            )
        tokens += out.shape[1] - ids.shape[1]
    return tokens


def naive_score(backend: HFBackend, prompts: list[str], continuations: list[str]) -> int:
    tokens = 0
    for prompt, cont in zip(prompts, continuations):
        ctx = backend.encode_prompt(prompt)
        cont_ids = backend.tokenizer(cont, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([ctx + cont_ids])
        with torch.inference_mode():
            logits = backend.model(ids).logits
        torch.log_softmax(logits[0, len(ctx) - 1 : -1], dim=-1)
        tokens += len(cont_ids)
    return tokens


def timed(fn):  # noqa: ANN001, ANN201
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    prompts = [p.prompt for p in load_suite("identity").probes]
    prompts = (prompts * (args.prompts // len(prompts) + 1))[: args.prompts]
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_model(Path(tmp) / "bench", seed=0, n_layer=4, n_embd=256, n_head=4, vocab_size=2048)
        backend = HFBackend.load(path, batch_size=args.batch_size)
        # EOS is masked out so both sides generate exactly --new-tokens tokens per prompt.
        eos = backend.tokenizer.eos_token_id
        backend.logits_processors.append(lambda ids, scores: scores.index_fill(-1, torch.tensor([eos]), float("-inf")))
        params = GenerationParams(max_new_tokens=args.new_tokens, temperature=0.0)
        backend.generate(prompts[:2], params, seed=0)  # warm-up

        generations, t_batched = timed(lambda: backend.generate(prompts, params, seed=0))
        batched_tokens = sum(len(g.token_ids) for g in generations)
        naive_tokens, t_naive = timed(lambda: naive_generate(backend, prompts, args.new_tokens))

        continuations = [g.text for g in generations]
        scored, t_score = timed(lambda: backend.score(prompts, continuations))
        score_tokens = sum(len(s.token_ids) for s in scored)
        naive_score_tokens, t_naive_score = timed(lambda: naive_score(backend, prompts, continuations))

    print(f"model: GPT-2 shaped, 4 layers, d=256; {args.prompts} prompts, {args.new_tokens} new tokens, "
          f"batch size {args.batch_size}, torch threads {torch.get_num_threads()}")
    print(f"{'what':<10}{'backend tok/s':>15}{'naive tok/s':>14}{'speed-up':>10}")
    for what, (tb, sb), (tn, sn) in (
        ("generate", (batched_tokens, t_batched), (naive_tokens, t_naive)),
        ("score", (score_tokens, t_score), (naive_score_tokens, t_naive_score)),
    ):
        fast, slow = tb / sb, tn / sn
        print(f"{what:<10}{fast:>15.0f}{slow:>14.0f}{fast / slow:>9.1f}x")


if __name__ == "__main__":
    main()
