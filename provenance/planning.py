"""A planned request: what collection asks a model, and the key its answer is stored under.

Shared by ``collect`` (which plans and runs the probes' requests) and by suites that
need more than answers stored before analysis (``Suite.plan_collection``: the
watermark suite's reading mode), so neither has to import the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from provenance.backends import GenerationParams
from provenance.case import ModelSpec
from provenance.case.schema import SuiteSpec
from provenance.probes import Probe, ProbeSuite


@dataclass(frozen=True)
class PlannedRequest:
    """One request to one model, and the key its answer is stored under.

    For ``generate`` requests ``generation`` holds the sampling parameters; for
    ``score`` requests ``continuation`` is the teacher's answer being scored (its
    source row's request key is in ``params["source_request"]``).
    """

    model: ModelSpec
    model_key: str
    suite: ProbeSuite
    probe: Probe
    method: str
    params: dict[str, Any]
    seed: int | None
    key: str
    generation: GenerationParams | None = None
    continuation: str | None = None
    #: For watermark reading requests: the token set whose mass ``Backend.subset_mass``
    #: reports at each position (see ``provenance.watermark.collection``).
    subset: Callable[[Sequence[int], int], Any] | None = None


def deployment_params(model: ModelSpec) -> dict[str, Any]:
    """What a request records about how the model was deployed beyond sampling.

    Its system prompt and its completion framing (the template text), when set:
    with the recorded prompt they give the exact text the model saw.
    """
    recorded: dict[str, Any] = {}
    if model.system_prompt is not None:
        recorded["system_prompt"] = model.system_prompt
    if model.framing is not None:
        recorded["framing"] = model.framing_template
    return recorded


def suite_params(spec: SuiteSpec, model: ModelSpec | None = None) -> GenerationParams:
    """The suite's sampling settings, with the model's own deployment settings where it has them."""
    def pick(own: Any, suite_value: Any) -> Any:
        return suite_value if own is None else own

    return GenerationParams(
        max_new_tokens=pick(model and model.max_new_tokens, spec.max_new_tokens),
        temperature=pick(model and model.temperature, spec.temperature),
        top_p=pick(model and model.top_p, spec.top_p),
        stop=model.stop_sequences if model is not None else (),
    )


def generation_params(case_spec: Any, suite: str, spec: SuiteSpec, model: ModelSpec) -> GenerationParams:  # noqa: ANN401
    """The settings ``model`` answers ``suite`` under in this case.

    The suite's settings with the model's own, except in the membership suite: there
    the suite's settings are the *campaign's* (its teacher samples fresh twins with
    them), and the suspect and controls answer each logged prompt greedily (their most
    likely answer), unless the case deploys them with a temperature of their own.
    """
    params = suite_params(spec, model)
    if suite == "membership" and case_spec.role_of(model.name) in ("suspect", "control") and model.temperature is None:
        params = replace(params, temperature=0.0, top_p=1.0)
    return params


def deployed_as_now(case_spec: Any) -> Callable[[Any, str], bool]:  # noqa: ANN401 - CaseFile, EvidenceRow
    """A filter: was this stored row asked under the settings the case file names *now*?

    A case file edited after collection (a persona added, a temperature changed)
    makes new requests; the old answers stay in the store (nothing is deleted from
    evidence) but must not be pooled with the new ones. Generation rows must carry
    exactly the suite's and the model's current sampling and deployment settings;
    scoring rows the model's current system prompt and framing. Models or suites the
    case no longer names are left to the analysis (it does not read them).
    """
    models = {m.name: m for m in case_spec.models()}
    suites = case_spec.enabled_suites()
    generation = {(name, suite): {**generation_params(case_spec, suite, spec, model).to_dict(), **deployment_params(model)}
                  for name, model in models.items() for suite, spec in suites.items()}  # fmt: skip
    deployment = {name: deployment_params(model) for name, model in models.items()}

    def keep(row: Any, name: str) -> bool:  # noqa: ANN401
        if name not in models:
            return True
        if row.method == "generate":
            expected = generation.get((name, row.suite))
            return expected is None or dict(row.params) == expected
        return {k: row.params[k] for k in ("system_prompt", "framing") if k in row.params} == deployment[name]

    return keep
