"""Watermark detection and radioactivity on the lab, with the null runs that calibrate them.

Run:  .venv/bin/python benchmarks/watermark_radioactivity.py [--lab .lab-cache/tiny-seed0] [--null-runs 1000]

Measures, on one lab family (models with known provenance):

1. teacher-wm's own outputs: p-value from at most 200 scored tokens (10 disjoint pools);
2. the null: unwatermarked teacher outputs against --null-runs random keys (the text
   cannot depend on them): false-positive rate at alpha = 0.01 and a KS test of uniformity;
   the same runs with the naive count (no de-duplication, no prompt exclusion);
3. closed-model radioactivity: each model's sampled answers to the watermark probes,
   pooled; p-value against the teacher's key by number of queries;
4. reading mode: each model reads its own sampled answers; p-value by number of texts,
   with the tokens read and the distinct contexts scored.

Prints Markdown tables (docs/watermark.md holds a run's output).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as st

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.lab import build_lab, watermark_hook
from provenance.probes import load_suite
from provenance.watermark import WatermarkKey, scheme_from_config
from provenance.watermark.detect import detect_sequences, tokenize
from provenance.watermark.reading import green_set, reading_test
from provenance.watermark.schemes import Scheme

ALPHA = 0.01
MODELS = ("student-wm", "student", "student-stripped", "control-same-data", "control-other", "teacher")
QUERY_GRID = (10, 20, 30, 60, 120, 240, 480)
READ_GRID = (30, 60, 120, 240, 480)


def sample(backend: HFBackend, prompts: list[str], samples: int) -> tuple[list[str], list[str]]:
    params = GenerationParams(max_new_tokens=48, temperature=0.7, top_p=0.95)
    texts, asked = [], []
    for s in range(samples):
        texts += [g.text for g in backend.generate(prompts, params, 1000 + s)]
        asked += prompts
    return texts, asked


def first_below(curve: list[tuple[int, float]], level: float) -> str:
    return next((str(q) for q, p in curve if p < level), f"> {curve[-1][0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default=".lab-cache/tiny-seed0")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--null-runs", type=int, default=1000)
    parser.add_argument("--null-only", action="store_true", help="sections 1 and 2 only (minutes less)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    lab = build_lab(args.lab, size="tiny", seed=args.seed)
    config = watermark_hook.read_watermark(lab.path("teacher-wm"))
    scheme = scheme_from_config(config)
    prompts = [p.prompt for p in load_suite("watermark").probes]
    print(f"lab {args.lab} (seed {args.seed}); scheme {scheme.identity()}; {len(prompts)} probes\n")

    # 1. teacher-wm outputs, 200 scored tokens
    teacher = HFBackend.load(lab.path("teacher-wm"), device="cpu", batch_size=64)
    teacher.logits_processors = watermark_hook.sampling_processors(lab.path("teacher-wm"), teacher.tokenizer)
    marked = tokenize(teacher.tokenizer, sample(teacher, prompts, 1)[0])
    teacher.logits_processors = []
    plain_texts, plain_prompts = sample(teacher, prompts, 4)
    plain = tokenize(teacher.tokenizer, plain_texts)
    ptok = tokenize(teacher.tokenizer, prompts)
    rows = []
    for start in range(0, len(marked), 12):
        k = start + 1
        while k < len(marked) and detect_sequences(marked[start : k + 1], scheme, prompts=ptok[start : k + 1]).selection.n <= 200:
            k += 1
        d = detect_sequences(marked[start:k], scheme, prompts=ptok[start:k])
        rows.append((d.result.p_value, d.selection.n, d.selection.total))
    print("## teacher-wm outputs (T = 0.7), pools of consecutive answers up to 200 scored tokens\n")
    print("| pools | scored tokens (median) | raw tokens (median) | p-value median | p-value worst |")
    print("|---|---|---|---|---|")
    print(f"| {len(rows)} | {int(np.median([r[1] for r in rows]))} | {int(np.median([r[2] for r in rows]))} | "
          f"{np.median([r[0] for r in rows]):.2g} | {max(r[0] for r in rows):.2g} |\n")

    # 2. null runs: unwatermarked teacher text against random keys
    pplain = tokenize(teacher.tokenizer, plain_prompts)
    pools = [(plain[i : i + 12], pplain[i : i + 12]) for i in range(0, len(plain), 12)]
    ours, naive, sizes, rand_inputs = [], [], [], []
    for run in range(args.null_runs):
        key_scheme = Scheme(name="kgw", gamma=scheme.gamma, delta=scheme.delta, context_width=scheme.context_width,
                            key=WatermarkKey(f"null-run-{run}"))
        seqs, pr = pools[run % len(pools)]
        d = detect_sequences(seqs, key_scheme, prompts=pr)
        ours.append(d.result.p_value)
        rand_inputs.append((int(d.result.details["k"]), int(d.result.details["n"])))
        sizes.append(d.selection.n)
        naive.append(detect_sequences(seqs, key_scheme, prompts=pr, dedup=False, exclude_prompt=False).result.p_value)
    ours_a, naive_a = np.array(ours), np.array(naive)
    # Exact binomial p-values are discrete, hence conservative and not exactly uniform; their
    # randomised versions P(X > k) + U P(X = k) are exactly uniform under the null, so the KS
    # test of uniformity is run on those (Habiger & Pena 2011).
    u = np.random.default_rng(args.seed).random(len(rand_inputs))
    randomised = np.array([st.binom.sf(k, n, scheme.gamma) + ui * st.binom.pmf(k, n, scheme.gamma)
                           for (k, n), ui in zip(rand_inputs, u)])
    print(f"## null: unwatermarked teacher outputs vs {args.null_runs} random keys (pools of 12 answers)\n")
    print("| test | FPR at 0.01 | FPR at 0.05 | KS p (exact p-values) | KS p (randomised p-values) | scored tokens per run (median) |")
    print("|---|---|---|---|---|---|")
    print(f"| de-duplicated (ours) | {np.mean(ours_a <= 0.01):.4f} | {np.mean(ours_a <= 0.05):.4f} | "
          f"{st.kstest(ours_a, 'uniform').pvalue:.3g} | {st.kstest(randomised, 'uniform').pvalue:.3g} | {int(np.median(sizes))} |")
    print(f"| naive (every token) | {np.mean(naive_a <= 0.01):.4f} | {np.mean(naive_a <= 0.05):.4f} | "
          f"{st.kstest(naive_a, 'uniform').pvalue:.3g} | | {int(np.median([sum(len(s) for s in p[0]) for p in pools]))} |\n")
    del teacher
    if args.null_only:
        return

    # 3 and 4. radioactivity by model
    closed_rows, read_rows = [], []
    for name in MODELS:
        backend = HFBackend.load(lab.path(name), device="cpu", batch_size=64)
        texts, asked = sample(backend, prompts, 4)
        seqs, pr = tokenize(backend.tokenizer, texts), tokenize(backend.tokenizer, asked)
        curve = [(q, detect_sequences(seqs[:q], scheme, prompts=pr[:q]).result.p_value) for q in QUERY_GRID]
        final = detect_sequences(seqs, scheme, prompts=pr)
        closed_rows.append((name, curve, final))
        readings = backend.subset_mass(asked, texts, green_set(scheme))
        rcurve = []
        for q in READ_GRID:
            r, sel = reading_test([x.token_ids for x in readings[:q]], [x.mass for x in readings[:q]],
                                  [x.collision for x in readings[:q]], scheme)
            rcurve.append((q, r.p_value, sel.total, sel.n, r.statistic))
        read_rows.append((name, rcurve))
        del backend
    print("## closed model: p-value by number of queries (answers pooled, T = 0.7)\n")
    print("| model | " + " | ".join(f"{q}" for q in QUERY_GRID) + " | queries to p < 1e-3 | green fraction at 480 |")
    print("|---|" + "---|" * (len(QUERY_GRID) + 2))
    for name, curve, final in closed_rows:
        print(f"| {name} | " + " | ".join(f"{p:.2g}" for _, p in curve)
              + f" | {first_below(curve, 1e-3)} | {final.result.effect:.3f} ({final.selection.n} scored of {final.selection.total}) |")
    print("\n## reading mode: p-value by number of own answers read (tokens read / distinct contexts scored)\n")
    print("| model | " + " | ".join(f"{q}" for q in READ_GRID) + " | texts to p < 1e-3 |")
    print("|---|" + "---|" * (len(READ_GRID) + 1))
    for name, rcurve in read_rows:
        print(f"| {name} | " + " | ".join(f"{p:.2g} ({tot}/{n}, z={z:.1f})" for _, p, tot, n, z in rcurve)
              + f" | {first_below([(q, p) for q, p, *_ in rcurve], 1e-3)} |")
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
