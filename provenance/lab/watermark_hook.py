"""Where the watermark scheme plugs into the lab (the scheme itself lives in ``provenance.watermark``).

``teacher-wm`` has the teacher's weights plus one extra file, ``provenance_watermark.json``:

.. code-block:: json

    {"scheme": "kgw", "key_id": "lab-seed-0", "key": 123456789,
     "params": {"gamma": 0.25, "delta": 2.0, "context_width": 1}}

Whoever samples from a model directory for the lab (the distillation campaign in
``provenance.lab.build``) asks :func:`sampling_processors` for the logits processors
to install on ``HFBackend.logits_processors``. That returns ``[]`` (plain sampling)
when the directory has no watermark file, or when ``provenance.watermark`` does not
yet provide ``logits_processors_from_config(config, *, tokenizer, vocab_size)``, the
one function this hook calls. :func:`watermark_available` says which case holds, and
the lab records it per model in ``lab.json`` (``watermark_applied``), so calibration
never counts an unwatermarked student as watermarked.

The key is stored in the model directory because in the lab the teacher's owner and
the investigator are the same person; a real teacher keeps its key elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from provenance.hashing import sha256_text

WATERMARK_FILE = "provenance_watermark.json"


def lab_watermark_config(seed: int) -> dict[str, Any]:
    """The teacher-wm watermark: KGW green list (Kirchenbauer et al. 2023), key derived from the lab seed."""
    return {
        "scheme": "kgw",
        "key_id": f"lab-seed-{seed}",
        "key": int(sha256_text(f"provenance-lab-watermark-{seed}")[:15], 16),
        # gamma: green-list fraction; delta: logit bias; context_width: tokens hashed into the seed (h).
        # delta = 4 rather than KGW's usual 2: the tiny teacher is near-deterministic (templated answers),
        # so a bias of 2 barely moved its choices and student-wm inherited too little to measure
        # (closed-model p = 0.002 from 480 queries; 4e-7 from 120 with delta = 4; docs/watermark.md).
        "params": {"gamma": 0.25, "delta": 4.0, "context_width": 1},
    }


def read_watermark(model_dir: str | Path) -> dict[str, Any] | None:
    """The model directory's watermark config, or None if it has none."""
    path = Path(model_dir) / WATERMARK_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def write_watermark(model_dir: str | Path, config: dict[str, Any]) -> None:
    (Path(model_dir) / WATERMARK_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _factory() -> Any:
    try:
        from provenance import watermark
    except ImportError:
        return None
    return getattr(watermark, "logits_processors_from_config", None)


def watermark_available() -> bool:
    """True once ``provenance.watermark.logits_processors_from_config`` exists."""
    return _factory() is not None


def sampling_processors(model_dir: str | Path, tokenizer: Any, vocab_size: int | None = None) -> list[Any]:
    """Logits processors to apply when sampling from ``model_dir``: its watermark, or none."""
    config = read_watermark(model_dir)
    factory = _factory()
    if config is None or factory is None:
        return []
    return list(factory(config, tokenizer=tokenizer, vocab_size=vocab_size or len(tokenizer)))
