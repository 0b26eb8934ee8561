"""Watermark: do the suspect's outputs, or its weights, carry the teacher's watermark?

The seed scenario's main defence. The teacher's operator biases word choices with a
secret key (KGW green lists, Kirchenbauer et al. 2023); a student trained on those
outputs inherits the bias ("radioactivity", Sander et al. 2024). Two tests, both
against a null that is known exactly (green with probability gamma), so no control
is needed for validity; controls are tested the same way and reported as a
calibration, outside the family:

* closed model: the suspect's sampled answers, re-tokenised with the teacher's
  tokenizer, pooled, (context, token) pairs de-duplicated, prompt contexts
  excluded; exact binomial test of the green fraction.
* reading mode (open weights; collected only where the backend exposes next-token
  distributions): the suspect's own next-token mass on green lists while reading
  its answers, one position per distinct context (the flattest), weighted by
  1 - sum p^2; Bennett-bound test of the excess mass over gamma.

Needs the key (``[[watermark]]`` in the case file) at collection and analysis; only
its SHA-256 is recorded, and stored readings made under another key are refused.
"""

from __future__ import annotations

from typing import Any

from provenance.analysis.view import Answer, ReadingRecord
from provenance.backends.base import Capability
from provenance.errors import CaseFileError
from provenance.stats import StatsInputError
from provenance.suites.base import Suite, SuiteContext, SuiteSkipped, SuiteTest
from provenance.watermark.detect import detect_text, mark_green, tokenize, z_score
from provenance.watermark.reading import reading_test
from provenance.watermark.schemes import Scheme
from provenance.watermark.selection import select_tokens

#: Exhibits per test: the suspect's answers with the highest green-hit z-score.
EXHIBITS = 3


def _drops(dropped: dict[str, int]) -> str:
    parts = [f"{v} {k.replace('_', ' ')}" for k, v in dropped.items() if v]
    return ", ".join(parts) if parts else "none"


class WatermarkSuite(Suite):
    name = "watermark"
    question = "Do the suspect's outputs (or its next-token distributions) carry the teacher's watermark?"
    statistic = (
        "closed model: exact binomial test of the green fraction over de-duplicated (context, token) pairs of the "
        "suspect's answers, prompt contexts excluded; reading mode: Bennett-bound test of the suspect's excess "
        "next-token mass on green lists at distinct contexts, weighted by 1 - sum p^2"
    )
    needs = frozenset({Capability.GENERATE})

    def plan_collection(self, case, store, model, model_key, generated):  # noqa: ANN001, ANN201 - see Suite
        """Reading mode: each model with next-token distributions reads its own stored watermark answers."""
        from provenance.watermark.collection import plan_reading

        return plan_reading(case, store, model, model_key, generated)

    def analyze(self, ctx: SuiteContext) -> list[SuiteTest]:
        if ctx.watermark is None:
            raise SuiteSkipped(
                f"the case names no [[watermark]] for teacher '{ctx.teacher}': a watermark is tested only with its key"
            )
        try:
            scheme: Scheme = ctx.watermark.scheme()
            tokenizer = ctx.watermark.tokenizer()
            tokenizer_sha = ctx.watermark.tokenizer_sha256()
        except CaseFileError as exc:
            raise SuiteSkipped(f"watermark key or tokenizer unavailable: {exc}") from exc
        about = {**scheme.identity(), "tokenizer_sha256": tokenizer_sha}
        tests: list[SuiteTest] = []
        for model in (ctx.suspect, *ctx.controls):
            closed = self._closed(ctx, model, scheme, tokenizer, about)
            if closed is not None:
                tests.append(closed)
            reading = self._reading(ctx, model, scheme, about)
            if reading is not None:
                tests.append(reading)
        if not any(t.in_family for t in tests):
            raise SuiteSkipped(f"no stored watermark answers or readings from the suspect '{ctx.suspect}'")
        return tests

    # -- closed model --------------------------------------------------------------------

    def _closed(
        self, ctx: SuiteContext, model: str, scheme: Scheme, tokenizer: Any, about: dict[str, Any]
    ) -> SuiteTest | None:
        answers = [a for a in ctx.view.all_answers(model, self.name) if a.text.strip()]
        if not answers:
            return None
        try:
            detection = detect_text([a.text for a in answers], scheme, tokenizer, prompts=[a.prompt for a in answers])
        except StatsInputError:
            return None
        result = detection.result
        sel = detection.selection
        exhibits = self._exhibits(answers, scheme, tokenizer) if model == ctx.suspect else []
        result = _with_details(result, {**about, "answers": len(answers), "exhibits": exhibits})
        suspect = model == ctx.suspect
        who = "suspect" if suspect else f"control '{model}'"
        summary = (
            f"Across {len(answers)} answers of the {who}, {int(result.statistic)} of {sel.n} scored tokens were green "
            f"under the teacher's key (expected fraction {scheme.gamma:g}; z = {result.details['z_score']:.2f}); "
            f"{sel.total} tokens in all, dropped: {_drops(sel.dropped)}."
        )
        test_id = "closed-model-green-hits" if suspect else f"closed-model-green-hits-control-{model}"
        return SuiteTest(self.name, test_id, result, suspect, tuple(sorted(a.row_id for a in answers)), summary)

    def _exhibits(self, answers: list[Answer], scheme: Scheme, tokenizer: Any) -> list[dict[str, Any]]:
        """The answers with the highest z-score scored on their own, green tokens marked."""
        ranked = []
        seqs = tokenize(tokenizer, [a.text for a in answers])
        prompts = tokenize(tokenizer, [a.prompt for a in answers])
        for answer, seq, prompt in zip(answers, seqs, prompts):
            sel = select_tokens([seq], context_width=scheme.context_width, prompts=[prompt])
            green = int(scheme.is_green(sel.contexts, sel.tokens).sum()) if sel.n else 0
            ranked.append((-z_score(green, sel.n, scheme.gamma), answer.row_id, answer, seq, prompt, green, sel.n))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [
            {
                "row_id": answer.row_id,
                "probe_id": answer.probe_id,
                "prompt": answer.prompt,
                "z_score": -neg_z,
                "green": green,
                "scored": n,
                "tokens": mark_green(seq, scheme, tokenizer, prompt=prompt),
            }
            for neg_z, _, answer, seq, prompt, green, n in ranked[:EXHIBITS]
        ]

    # -- reading mode ----------------------------------------------------------------------

    def _reading(self, ctx: SuiteContext, model: str, scheme: Scheme, about: dict[str, Any]) -> SuiteTest | None:
        records: list[ReadingRecord] = [r for r in ctx.view.readings.get(model, []) if r.teacher == ctx.teacher]
        if not records:
            return None
        other_keys = sorted({r.scheme.get("key_sha256", "") for r in records} - {scheme.key.sha256})
        if other_keys:
            raise SuiteSkipped(
                f"stored readings of '{model}' were made with another key (SHA-256 {other_keys[0][:12]}...) than the "
                "case's key now; re-collect the readings or give the key they were made with"
            )
        try:
            result, sel = reading_test(
                [r.token_ids for r in records], [r.mass for r in records], [r.collision for r in records], scheme
            )
        except StatsInputError:
            return None
        result = _with_details(result, {**about, "texts": len(records)})
        suspect = model == ctx.suspect
        who = "suspect" if suspect else f"control '{model}'"
        summary = (
            f"Reading its own {len(records)} answers, the {who} put on average {result.effect:.3f} of its next-token "
            f"probability on the teacher's green lists at {sel.n} distinct contexts (expected {scheme.gamma:g} "
            f"without the watermark; weighted z = {result.statistic:.2f})."
        )
        test_id = "reading-mode-green-mass" if suspect else f"reading-mode-green-mass-control-{model}"
        return SuiteTest(self.name, test_id, result, suspect, tuple(sorted(r.row_id for r in records)), summary)


def _with_details(result: Any, extra: dict[str, Any]) -> Any:
    import dataclasses

    return dataclasses.replace(result, details={**result.details, **extra})
