"""A planned request: what collection asks a model, and the key its answer is stored under.

Shared by ``collect`` (which plans and runs the probes' requests) and by suites that
need more than answers stored before analysis (``Suite.plan_collection``: the
watermark suite's reading mode), so neither has to import the other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from provenance.backends import GenerationParams
from provenance.case import ModelSpec
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
