"""Style: does the suspect share the teacher's idiosyncrasies (length, formatting, phrases)?

Has no probes of its own: it reads every answer the other suites collected, and
compares, prompt by prompt, the suspect's style-feature vector with the teacher's
and with each control's (features standardised on the pooled answers).

Descriptive, outside the family: overall style similarity is what a fluent model,
or a model trained on the same kind of data, shares with any other. On the bench's
tuning seed (docs/bench.md) it found 3 of 11 independent pairs "closer to the
teacher", the stronger SmolLM2 among them, while every derived pair was found by
other suites. The teacher-specific black-box tests are ``distribution/teacher-markers`` and
``distribution/teacher-attribution`` (a classifier of the teacher's writing, on held-apart prompts).
"""

from __future__ import annotations

import numpy as np

from provenance.features import feature_matrix
from provenance.stats import token_match_rate_test
from provenance.suites.base import Suite, SuiteContext, SuiteSkipped, SuiteTest


class StyleSuite(Suite):
    name = "style"
    question = "Does the suspect share the teacher's idiosyncrasies (phrases, formatting)?"
    statistic = (
        "per-prompt style similarity 1/(1+distance) of standardised style features, suspect-teacher vs "
        "suspect-each-control (paired permutation, intersection-union over controls); descriptive"
    )
    collects = False

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest]:
        ctx.require_controls()
        models = (ctx.suspect, ctx.teacher, *ctx.controls)
        keys: set[tuple[str, str]] | None = None
        per_model = {}
        for m in models:
            answers = {(suite, p): a for suite in ctx.view.answers.get(m, {}) for p, a in ctx.view.first_answers(m, suite).items()}
            per_model[m] = answers
            keys = set(answers) if keys is None else keys & set(answers)
        shared = sorted(keys or ())
        if len(shared) < 2:
            raise SuiteSkipped("fewer than 2 prompts answered by every model")
        matrices = {m: feature_matrix([per_model[m][k].text for k in shared]) for m in models}
        pooled = np.vstack(list(matrices.values()))
        scale = pooled.std(axis=0)
        scale[scale == 0] = 1.0
        z = {m: (x - pooled.mean(axis=0)) / scale for m, x in matrices.items()}

        def similarity(other: str) -> np.ndarray:
            return 1.0 / (1.0 + np.linalg.norm(z[ctx.suspect] - z[other], axis=1) / np.sqrt(pooled.shape[1]))

        with_teacher = similarity(ctx.teacher)
        with_controls = {c: similarity(c) for c in ctx.controls}
        rows = tuple(sorted(per_model[m][k].row_id for m in models for k in shared))
        summary = (
            f"Over {len(shared)} answers, the suspect's style was {with_teacher.mean():.3f} similar to the teacher's; "
            + ", ".join(f"{v.mean():.3f} to the control '{c}''s" for c, v in with_controls.items())
            + " (1 = identical style features)."
        )
        result = token_match_rate_test(with_teacher, with_controls, seed=ctx.seed + 6)
        return [SuiteTest(self.name, "style-similarity", result, False, rows, summary)]
