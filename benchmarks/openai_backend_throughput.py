"""Requests/s through the OpenAI-compatible backend against the server's own capacity.

Run:  .venv/bin/python benchmarks/openai_backend_throughput.py [--prompts 64] [--new-tokens 16] [--threads 1]

Starts the loopback test server (tests/openai_server.py) in its own process, serving a
small GPT-2-shaped model (4 layers, d=256), and measures:

  * capacity: the server answers one request at a time (one forward loop per request), so
    its capacity is requests / seconds spent in the model, as the server itself reports
    (GET /_stats); and, as a cross-check, the same model called directly in this process
    one prompt at a time (no HTTP at all);
  * through the backend: OpenAIBackend.generate over all prompts at concurrency 1, 4 and 8;
  * with faults: the same at concurrency 4 while the server answers 10 % of requests with
    429 (Retry-After: 0.2 s) and 5 % with 500, to show what retries cost.

Prints a markdown table; results go into docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import torch

from provenance.backends.base import GenerationParams, ModelIdentity
from provenance.backends.hf import HFBackend
from provenance.backends.openai import OpenAIBackend
from provenance.backends.openai_http import OpenAIHttpClient
from provenance.probes import load_suite
from provenance.tinymodel import build_tiny_model

ROOT = Path(__file__).resolve().parents[1]


def start_server(model_dir: Path, threads: int) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "openai_server.py"), f"bench={model_dir}"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": str(threads)},
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def stats(base_url: str) -> dict[str, float]:
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/_stats") as response:
        return json.load(response)


def inject(base_url: str, faults: list[dict[str, object]]) -> None:
    request = urllib.request.Request(
        base_url.removesuffix("/v1") + "/_faults", data=json.dumps(faults).encode(), method="POST",
        headers={"content-type": "application/json"},
    )  # fmt: skip
    urllib.request.urlopen(request).read()


def backend(base_url: str, concurrency: int) -> OpenAIBackend:
    client = OpenAIHttpClient(base_url, timeout_s=60, max_connections=concurrency)
    identity = ModelIdentity(name="bench", backend="openai", source=base_url)
    b = OpenAIBackend(client, identity, model="bench", concurrency=concurrency)
    b.capabilities  # noqa: B018 - probe outside the timed part
    return b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--new-tokens", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in this process and in the server")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    probes = load_suite("identity").limited(None) + load_suite("refusal").limited(None)
    prompts = [p.prompt for p in probes][: args.prompts]
    params = GenerationParams(max_new_tokens=args.new_tokens)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_model(Path(tmp) / "m", seed=0, n_layer=4, n_embd=256, n_head=4, vocab_size=2048)
        direct = HFBackend.load(model_dir, batch_size=1)
        direct.generate(prompts[:2], params, seed=0)  # warm-up
        start = time.perf_counter()
        for prompt in prompts:
            direct.generate([prompt], params, seed=0)
        direct_rps = len(prompts) / (time.perf_counter() - start)
        del direct

        process, base_url = start_server(model_dir, args.threads)
        try:
            rows = []
            for concurrency in (1, 4, 8):
                b = backend(base_url, concurrency)
                before = stats(base_url)
                start = time.perf_counter()
                b.generate(prompts, params, seed=0)
                wall = time.perf_counter() - start
                after = stats(base_url)
                model_s = after["model_time_s"] - before["model_time_s"]
                rows.append((f"backend, concurrency {concurrency}", len(prompts) / wall, len(prompts) / model_s, 0))
            b = backend(base_url, 4)
            n = len(prompts)
            faults = [{"kind": "429", "retry_after": 0.2}] * (n // 10) + [{"kind": "500"}] * (n // 20)
            inject(base_url, faults)
            before = stats(base_url)
            start = time.perf_counter()
            b.generate(prompts, params, seed=0)
            wall = time.perf_counter() - start
            after = stats(base_url)
            rows.append(
                ("backend, concurrency 4, 15 % faults", n / wall,
                 n / (after["model_time_s"] - before["model_time_s"]), b.client.stats.retries)
            )  # fmt: skip
        finally:
            process.terminate()
            process.wait()

    print(f"{len(prompts)} prompts, {args.new_tokens} new tokens each, greedy, {args.threads} torch thread(s); "
          f"direct HFBackend in-process, one prompt per call: {direct_rps:.1f} req/s")
    print("| run | requests/s through backend | server capacity (req / model-s) | share of capacity | retries |")
    print("|---|---:|---:|---:|---:|")
    for name, rps, capacity, retries in rows:
        print(f"| {name} | {rps:.1f} | {capacity:.1f} | {rps / capacity:.0%} | {retries} |")


if __name__ == "__main__":
    main()
