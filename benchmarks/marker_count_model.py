"""A count model for the marker test's sparse panels, tried on a development seed and not adopted (issue 30).

Run (after ``provenance_bench.py collect --seeds S``; S a development seed, ``TUNING_SEEDS``):
    .venv/bin/python benchmarks/marker_count_model.py --seed 15 --out docs/marker-count-model.md

Where most independent models use none of the teacher's markers, the marker test's panel of
cube-root rates is mostly zeros, fails the Shapiro-Wilk check, and falls to the exact rank form,
whose floor 1/(K + 1) cannot reach alpha: the main cause of "not decidable" on the bench. The
principled model of such data is a count one: model i uses y_i markers in n_i n-gram positions,
y_i ~ Poisson(lambda_i n_i), with the between-model spread lambda_i ~ Gamma(shape a, mean r), so
y_i is negative binomial. The suspect's p-value is the posterior predictive P(Y >= y_s) of one
more model with the suspect's exposure, integrated over (a, r) on a grid (priors: Jeffreys'
r^(-1/2) for the rate, (1 + a)^(-2) for the shape). This script computes it for every recommended-
panel assignment of the seed beside the test the release runs (``panel_outlier_test`` on the
cube-root scale), on the same markers (chosen per model without it, as in the suite).

What it shows on seed 15 (docs/marker-count-model.md), and why it was not adopted: a panel of
mostly zeros cannot exclude a heavy-tailed spread (a small shape a), and the count model, honest
about that, gives a full student far outside the panel (515 markers against 0 to 6) p = 0.01; at
50 probes per suite even a suspect whose every n-gram were a marker (the column "floor") would get
0.005 to 0.01 against the lab teacher's panel, above Holm's first threshold (alpha / m). With
every probe, where the cube-root form passes its checks, the count model is the weaker (derived
assignments below alpha: 5/9 against 8/9). Such a panel needs more models, not another model of them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import stats as sps
from scipy.special import gammaln, logsumexp

sys.path.insert(0, str(Path(__file__).resolve().parent))
import provenance_bench as B  # noqa: E402

from provenance.analysis.view import EvidenceView  # noqa: E402
from provenance.evidence import EvidenceStore  # noqa: E402
from provenance.features.markers import MarkerCounts, marker_rate, ngrams  # noqa: E402
from provenance.lab import LabManifest  # noqa: E402
from provenance.stats.panel import ModelStatistic, panel_outlier_test  # noqa: E402
from provenance.suites import SuiteContext  # noqa: E402
from provenance.suites.distribution import DistributionSuite  # noqa: E402
from provenance.suites.identity import case_aliases  # noqa: E402

#: Even at alpha itself, before Holm's correction over the family.
ALPHA = B.ALPHA
LOG_SHAPE = np.linspace(np.log(0.02), np.log(500), 90)


def gamma_poisson_p(counts: np.ndarray, exposures: np.ndarray, count: int, exposure: float) -> float:
    """Posterior predictive P(Y >= count) for one more model of ``exposure`` n-grams, over a (shape, rate) grid."""
    mean_rate = (counts.sum() + 0.5) / exposures.sum()
    log_rate = np.linspace(np.log(mean_rate) - 9, np.log(mean_rate) + 6, 140)
    a = np.exp(LOG_SHAPE)[:, None]
    r = np.exp(log_rate)[None, :]
    mu = r[..., None] * exposures[None, None, :]
    aa = a[..., None]
    loglik = (gammaln(counts + aa) - gammaln(aa) - gammaln(counts + 1) + aa * np.log(aa / (aa + mu))
              + counts * np.log(mu / (aa + mu))).sum(-1)
    # Priors on the log grid (their densities times the Jacobian): r^(-1/2) * r, (1 + a)^(-2) * a.
    log_weight = loglik + 0.5 * np.log(r) + np.log(a) - 2 * np.log1p(a)
    weight = np.exp(log_weight - logsumexp(log_weight))
    tail = sps.nbinom.sf(count - 1, a, a / (a + r * exposure)) if count > 0 else np.ones_like(weight)
    return float((weight * tail).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--workdir", type=Path, default=Path(".lab-cache/bench"))
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    args = parser.parse_args()
    if args.seed not in B.TUNING_SEEDS:
        parser.error(f"seed {args.seed} is held back (TUNING_SEEDS: {B.TUNING_SEEDS}): measure methods on development seeds")
    root = B.panel_dir(args.workdir, args.seed)
    lab = LabManifest.load(B.lab_dir(args.seed))
    with EvidenceStore.open_existing(root / "evidence.sqlite", f"bench-panel-{args.seed}") as store:
        full = EvidenceView.load(store)
    models = [m for m in (*B.LAB_MODELS, *B.REALISTIC_MODELS, *B.PANEL_MODELS, "smollm2") if m in full.answers]
    suite = DistributionSuite()
    tally: dict[tuple[str, str], list[tuple[float, float]]] = {}
    rows = ["| probes per suite | suspect | teacher | truth | suspect's markers | panel's (sorted) | release: form, p | "
            "gamma-Poisson p | its floor |", "|---|---|---|---|---|---|---|---|---|"]
    for budget in (50, None):
        view = B.restricted(full, budget, 7000 + args.seed, True)
        for suspect, teacher, controls, references, panel in B.pairs(models, lab):
            if panel != B.RECOMMENDED:
                continue
            claims = [c for m in models if m != teacher for c in B.CLAIMS[m]]
            ctx = SuiteContext(view=view, suspect=suspect, teacher=teacher, controls=controls,
                               teacher_claims=tuple(B.CLAIMS[teacher]), seed=2000 + args.seed,
                               custom_aliases=case_aliases(claims, B.CLAIMS[teacher]), references=references)
            setup = suite._held_apart(ctx, ctx.shared_probes(suite.name)[1], "teacher-markers")
            if not hasattr(setup, "answers"):
                continue
            answers, selection, test = setup.answers, setup.selection, setup.test
            counts = MarkerCounts([answers[teacher][p].text for p in selection],
                                  {m: [answers[m][p].text for p in selection] for m in setup.backgrounds})
            used, exposure, stat = {}, {}, {}
            for m, background in setup.backgrounds.items():
                markers = set(counts.select(background))
                grams = [ngrams(answers[m][p].text) for p in test]
                hits = [len(markers.intersection(g)) for g in grams]
                used[m], exposure[m] = sum(hits), sum(len(g) for g in grams)
                stat[m] = ModelStatistic.mean_of([marker_rate(answers[m][p].text, markers) for p in test],
                                                 chances=exposure[m])
            others = [m for m in setup.backgrounds if m != suspect]
            release = panel_outlier_test(stat[suspect], {m: stat[m] for m in others}, name="teacher-markers",
                                         quantity="marker rate", unit="markers used per n-gram", null_words="",
                                         alt_words="", scale="cbrt")
            count_p = gamma_poisson_p(np.array([used[m] for m in others], float),
                                      np.array([exposure[m] for m in others], float), used[suspect], exposure[suspect])
            # The smallest p-value the count model could give here: a suspect whose every n-gram were a marker.
            floor = gamma_poisson_p(np.array([used[m] for m in others], float),
                                    np.array([exposure[m] for m in others], float), exposure[suspect], exposure[suspect])
            truth = "derived" if B.derived_in(lab, suspect, teacher) else "independent"
            tally.setdefault(("all" if budget is None else str(budget), truth), []).append((release.p_value, count_p, floor))
            rows.append(f"| {'all' if budget is None else budget} | {suspect} | {teacher} | {truth} | {used[suspect]} | "
                        f"{sorted(used[m] for m in others)} | {release.details['form']}, {release.p_value:.3g} | "
                        f"{count_p:.3g} | {floor:.3g} |")
            print(rows[-1], file=sys.stderr, flush=True)
    text = (f"# The marker test's sparse panels: a count model, seed {args.seed} (development)\n\n"
            "`benchmarks/marker_count_model.py` (its docstring has the model). Markers used on the test half "
            "(counted once per answer), recommended panel.\n\n"
            + "".join(f"- {'every probe' if budget == 'all' else budget + ' probes per suite'}, {truth}: p < {ALPHA} in {sum(r < ALPHA for r, *_ in ps)}/{len(ps)} "
                      f"by the release's test, {sum(c < ALPHA for _, c, _ in ps)}/{len(ps)} by the count model, whose floor "
                      f"(every n-gram a marker) is {min(f for *_, f in ps):.3g} to {max(f for *_, f in ps):.3g}\n"
                      for (budget, truth), ps in sorted(tally.items()))
            + "\n" + "\n".join(rows) + "\n")
    if args.out:
        args.out.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
