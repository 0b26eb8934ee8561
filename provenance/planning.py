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
