"""``lab.json``: what the lab built, and the ground truth for every ordered pair of models.

Tests and calibration read provenance labels only from here. ``pair(a, b).derived``
answers "is ``a`` derived from ``b``?"; ``related`` is true when either descends
from the other or both descend from the same teacher weights; ``relation`` is one of
:data:`RELATIONS`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "provenance.lab/1"
MANIFEST_FILE = "lab.json"

#: Relations of an ordered pair (a, b), read as "a <relation> b".
RELATIONS = {
    "same-weights": "a has exactly b's weights (only the sampling-time watermark differs)",
    "distilled-from": "a was fine-tuned on b's sampled outputs, obtained by querying b",
    "distilled-from-same-weights": "a was distilled from a model with b's weights (another deployment of b)",
    "teacher-of": "b was distilled from a (a is b's ancestor; b is derived, a is not)",
    "common-teacher": "a and b were both distilled from the same teacher weights, from independent inits",
    "independent": "no weights or outputs of one were used to train the other",
}


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str
    path: str
    persona: str
    params: int
    seed: int
    data_sha256: str
    final_loss: float | None
    build_seconds: float
    training: list[dict[str, Any]] = field(default_factory=list)
    watermark: dict[str, Any] | None = None
    notes: str = ""


@dataclass(frozen=True)
class PairTruth:
    a: str
    b: str
    derived: bool
    related: bool
    relation: str
    how: str
    shares: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LabManifest:
    root: Path
    size: str
    seed: int
    cache_key: str
    total_seconds: float
    models: dict[str, ModelEntry]
    pairs: list[PairTruth]
    data: dict[str, Any]

    def path(self, name: str) -> Path:
        """The model directory of ``name`` (absolute)."""
        return self.root / self.models[name].path

    def pair(self, a: str, b: str) -> PairTruth:
        for p in self.pairs:
            if p.a == a and p.b == b:
                return p
        raise KeyError(f"no pair ({a}, {b}) in the lab manifest")

    def derived(self, a: str, b: str) -> bool:
        return self.pair(a, b).derived

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "size": self.size,
            "seed": self.seed,
            "cache_key": self.cache_key,
            "total_seconds": self.total_seconds,
            "relations": RELATIONS,
            "models": [asdict(m) for m in self.models.values()],
            "pairs": [asdict(p) for p in self.pairs],
            "data": self.data,
        }

    def write(self) -> Path:
        path = self.root / MANIFEST_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, root: str | Path) -> LabManifest:
        root = Path(root)
        raw = json.loads((root / MANIFEST_FILE).read_text(encoding="utf-8"))
        if raw.get("schema") != SCHEMA:
            raise ValueError(f"{root / MANIFEST_FILE} has schema {raw.get('schema')!r}, expected {SCHEMA!r}")
        return cls(
            root=root,
            size=raw["size"],
            seed=raw["seed"],
            cache_key=raw["cache_key"],
            total_seconds=raw["total_seconds"],
            models={m["name"]: ModelEntry(**m) for m in raw["models"]},
            pairs=[PairTruth(**p) for p in raw["pairs"]],
            data=raw["data"],
        )

    def table(self) -> list[dict[str, Any]]:
        """One row per model: name, role, parameters, training-data hash, loss, build seconds."""
        return [
            {
                "model": m.name,
                "role": m.role,
                "params": m.params,
                "data_sha256": m.data_sha256[:12],
                "final_loss": m.final_loss,
                "build_seconds": m.build_seconds,
            }
            for m in self.models.values()
        ]
