"""Reading-mode radioactivity: which position per context, which weights, which bound.

Run:  .venv/bin/python benchmarks/watermark_reading.py [--lab .lab-cache/tiny-seed0] [--null-keys 100]

Each lab model reads its own sampled answers to the watermark probes once; the full
next-token distributions are kept, so the green mass under any key is a dot product.
For every variant of the reading statistic this prints

* power: the p-value on every model against the teacher-wm key, by number of texts read
  (only student-wm learnt the key);
* validity: the false-positive rate over ``--null-keys`` random keys on every model
  (no model can depend on a random key), and the teacher-wm key on the five others.

Two statistics: "previous" (first occurrence of each context, unweighted sum,
Bernstein bound) and "ours" (``watermark.reading.reading_test``: the flattest
occurrence, weights 1 - sum p^2, Bennett bound). They differ only in choices that do
not look at the key, so both are valid under the null; the null runs check that.
Prints Markdown (docs/watermark.md holds a run's output).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from watermark_radioactivity import first_below, sample  # noqa: E402

from provenance.backends.hf import HFBackend  # noqa: E402
from provenance.lab import LabManifest, watermark_hook  # noqa: E402
from provenance.probes import load_suite  # noqa: E402
from provenance.watermark import WatermarkKey, scheme_from_config  # noqa: E402
from provenance.watermark.schemes import Scheme  # noqa: E402
from provenance.watermark.reading import green_set  # noqa: E402
from provenance.watermark.selection import select_contexts  # noqa: E402
from provenance.watermark.stats import green_mass_test  # noqa: E402

MODELS = ("student-wm", "student", "student-stripped", "control-same-data", "control-other", "teacher")
READ_GRID = (5, 10, 20, 30, 60, 120, 240, 480)
VARIANTS = ("previous", "ours")


def read_model(backend: HFBackend, prompts: list[str], texts: list[str]) -> list[tuple[list[int], np.ndarray]]:
    """Per text: its token ids and the next-token distribution before each of them."""
    out: list[tuple[list[int], np.ndarray] | None] = [None] * len(texts)
    for index, _, cont, steps in backend.next_token_probs(prompts, texts):
        out[index] = (cont, steps.numpy().astype(np.float32))
    return [o for o in out if o is not None]


def green_matrix(scheme: Scheme, vocab: int) -> np.ndarray:
    """Row c: the green list after context token c (h = 1)."""
    return np.stack([scheme.green_mask([c], vocab) for c in range(vocab)])


def masses(read: list[tuple[list[int], np.ndarray]], green: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per text and position t >= 1: green mass after token t-1, and the collision probability."""
    mass, coll = [], []
    for ids, probs in read:
        rows = green[np.asarray(ids[:-1], dtype=np.int64)]
        mass.append(np.concatenate([[0.0], (probs[1:] * rows).sum(-1)]))  # t = 0: context outside the text
        coll.append((probs * probs).sum(-1))
    return mass, coll


def p_value(read, mass, coll, gamma: float, variant: str) -> tuple[float, int, float]:
    """(p, distinct contexts, z) of one variant on texts ``read``."""
    ids = [i for i, _ in read]
    if variant == "ours":
        sel = select_contexts(ids, context_width=1, collision=coll)
        m = np.array([mass[s][t] for s, t in sel.origin])
        c = np.array([coll[s][t] for s, t in sel.origin])
        r = green_mass_test(m, c, gamma)
        return r.p_value, sel.n, r.statistic
    # previous: first occurrence, unweighted, Bernstein (the suite's statistic before this benchmark)
    sel = select_contexts(ids, context_width=1)
    m = np.array([mass[s][t] for s, t in sel.origin])
    c = np.array([coll[s][t] for s, t in sel.origin])
    excess, var, bound = float(np.sum(m - gamma)), gamma * (1 - gamma) * float(np.sum(c)), (1 - gamma) * float(np.sqrt(c.max()))
    p = 1.0 if excess <= 0 else min(1.0, float(np.exp(-(excess**2) / (2 * (var + bound * excess / 3)))))
    return p, sel.n, excess / np.sqrt(var)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default=".lab-cache/tiny-seed0")
    parser.add_argument("--null-keys", type=int, default=100)
    args = parser.parse_args()
    t0 = time.perf_counter()
    lab = LabManifest.load(args.lab)
    config = watermark_hook.read_watermark(lab.path("teacher-wm"))
    scheme = scheme_from_config(config)
    prompts = [p.prompt for p in load_suite("watermark").probes]
    reads = {}
    for name in MODELS:
        backend = HFBackend.load(lab.path(name), device="cpu", batch_size=64)
        texts, asked = sample(backend, prompts, 4)
        reads[name] = read_model(backend, asked, texts)
        vocab = reads[name][0][1].shape[1]
        # the masses computed here are the backend's own (what a case stores)
        stored = backend.subset_mass(asked[:3], texts[:3], green_set(scheme))
        mine = masses(reads[name][:3], green_matrix(scheme, vocab))[0]
        for got, want in zip(mine, stored):
            assert np.allclose(got[1:], want.mass[1:], atol=1e-5), "benchmark masses differ from subset_mass"
        print(f"{name}: {len(texts)} texts read ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    true_green = green_matrix(scheme, vocab)
    print(f"lab {args.lab}; scheme {scheme.identity()}\n")
    print("## power and the teacher-wm key: p-value by texts read (distinct contexts, z)\n")
    for variant in VARIANTS:
        print(f"\n### {variant}\n")
        print("| model | " + " | ".join(str(q) for q in READ_GRID) + " | texts to p < 1e-3 | tokens read then |")
        print("|---|" + "---|" * (len(READ_GRID) + 2))
        for name in MODELS:
            mass, coll = masses(reads[name], true_green)
            curve = []
            for q in READ_GRID:
                p, n, z = p_value(reads[name][:q], mass[:q], coll[:q], scheme.gamma, variant)
                curve.append((q, p, n, z))
            reached = first_below([(q, p) for q, p, *_ in curve], 1e-3)
            tokens = sum(len(ids) for ids, _ in reads[name][: int(reached)]) if reached.isdigit() else "-"
            print(f"| {name} | " + " | ".join(f"{p:.2g} ({n}, z={z:.1f})" for _, p, n, z in curve)
                  + f" | {reached} | {tokens} |")
    print(f"\n## null: {args.null_keys} random keys on each model (all texts)\n")
    print("| variant | runs | FPR at 0.01 | FPR at 0.05 | smallest p | z mean | z sd |")
    print("|---|---|---|---|---|---|---|")
    null = {v: [] for v in VARIANTS}
    null_z = {v: [] for v in VARIANTS}
    for k in range(args.null_keys):
        key_scheme = Scheme(name="kgw", gamma=scheme.gamma, delta=scheme.delta, context_width=1,
                            key=WatermarkKey(f"reading-null-{k}"))
        green = green_matrix(key_scheme, vocab)
        for name in MODELS:
            mass, coll = masses(reads[name], green)
            for variant in VARIANTS:
                p, _, z = p_value(reads[name], mass, coll, scheme.gamma, variant)
                null[variant].append(p)
                null_z[variant].append(z)
    for variant, ps in null.items():
        a, z = np.array(ps), np.array(null_z[variant])
        print(f"| {variant} | {a.size} | {np.mean(a <= 0.01):.4f} | {np.mean(a <= 0.05):.4f} | {a.min():.2g} "
              f"| {z.mean():.2f} | {z.std(ddof=1):.2f} |")
    print(f"\n(total {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
