"""What the watermark suite adds to collection: reading-mode requests.

Closed-model radioactivity needs nothing special: the suspect answers the
watermark probes like any suite's (``collect.plan_generation``; sample many with
``samples`` and ``temperature`` in ``[suites.watermark]``). Reading mode needs the
model itself, so its numbers are collected and stored before analysis: each
model with a backend that exposes next-token distributions reads its own stored
watermark answers, and the backend returns, per position, the mass on that
position's green list and the distribution's collision probability. The request's
parameters carry the scheme's identity (name, parameters, key SHA-256), so another
key is another request, and the key itself is never stored.
"""

from __future__ import annotations

from provenance.case import Case, ModelSpec
from provenance.evidence import EvidenceStore
from provenance.planning import PlannedRequest, deployment_params
from provenance.watermark.case import watermark_for
from provenance.watermark.reading import green_set

SUITE = "watermark"


def plan_reading(
    case: Case, store: EvidenceStore, model: ModelSpec, model_key: str, generated: list[PlannedRequest]
) -> list[PlannedRequest]:
    """Reading requests for ``model``: its stored watermark answers, once per watermarked teacher.

    ``generated`` are the model's planned generate requests (from
    ``collect.plan_generation``); those not yet answered are skipped here and
    planned on the next run.
    """
    if SUITE not in case.spec.enabled_suites():
        return []
    answers = [(r, store.lookup(r.key)) for r in generated if r.suite.name == SUITE and r.method == "generate"]
    answered = [(r, str(row.response.get("text", ""))) for r, row in answers if row is not None]
    requests: list[PlannedRequest] = []
    for teacher in case.spec.teacher:
        watermark = watermark_for(case, teacher.name)
        if watermark is None or not answered:
            continue
        scheme = watermark.scheme()
        if scheme.context_width < 1:
            continue  # a fixed green list has one context: reading mode has nothing independent to test
        subset = green_set(scheme)
        for request, text in answered:
            if not text.strip():
                continue
            params = {
                "continuation": text,
                "source_request": request.key,
                "teacher": teacher.name,
                "reading": scheme.identity(),
                # the model reads behind the same system prompt or framing it answered behind (issue 16)
                **deployment_params(model),
            }
            fields = {
                "model_key": model_key,
                "method": "score",
                "suite": SUITE,
                "probe_id": request.probe.id,
                "prompt": request.probe.prompt,
                "params": params,
                "seed": None,
            }
            requests.append(
                PlannedRequest(
                    model=model, model_key=model_key, suite=request.suite, probe=request.probe, method="score",
                    params=params, seed=None, key=EvidenceStore.request_key(**fields), continuation=text,
                    subset=subset,
                )
            )
    return requests
