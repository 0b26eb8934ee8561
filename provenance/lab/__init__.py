"""The ground-truth lab: small model families with known provenance, built on CPU.

``build_lab(out_dir, size="tiny"|"small", seed=0, force=False, progress=None)``
writes one ``transformers`` model directory per member (teacher, teacher-wm,
student, student-wm, student-stripped, control-same-data, control-other) and a
``lab.json`` manifest with the ground truth for every ordered pair. See
``provenance.lab.build`` for the recipe and ``provenance.lab.behaviour`` for the
behaviour check.
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_lab", "LabManifest", "MODEL_NAMES", "SIZES", "load_lab"]


def __getattr__(name: str) -> Any:  # keep ``import provenance.lab`` torch-free
    if name in ("build_lab", "MODEL_NAMES", "SIZES", "LabConfig", "cache_key"):
        from provenance.lab import build

        return getattr(build, name)
    if name in ("LabManifest", "PairTruth", "ModelEntry"):
        from provenance.lab import manifest

        return getattr(manifest, name)
    if name == "load_lab":
        from provenance.lab.manifest import LabManifest

        return LabManifest.load
    raise AttributeError(f"module 'provenance.lab' has no attribute {name!r}")
