"""Watermarks: generate with a key, detect green hits in text, test a student for radioactivity.

Modules, one job each:
  keys        read a key from a file or environment variable; only its SHA-256 is ever recorded
  schemes     KGW (context width h) and Unigram green lists, keyed, vectorised
  processor   the generation side: a transformers LogitsProcessor (imports torch)
  selection   which tokens may be scored: de-duplication and prompt exclusion, with counts of what was dropped
  stats       the two tests (exact binomial on green hits; reading-mode green-mass test)
  detect      black-box detection on text with the teacher's tokenizer; exhibits
  reading     open-model "reading mode": the suspect's own next-token green mass
  case        a case file's [[watermark]] table resolved (key, tokenizer)
  collection  the reading-mode requests collection adds
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from provenance.watermark.keys import WatermarkKey, key_from_env, key_from_file
from provenance.watermark.schemes import SCHEMES, Scheme, scheme_from_config


def logits_processors_from_config(config: Mapping[str, Any], *, tokenizer: Any, vocab_size: int) -> list[Any]:
    """The LogitsProcessors that watermark sampling from a model with this watermark config.

    ``config`` is the lab's ``provenance_watermark.json`` format; this is the one
    function ``provenance.lab.watermark_hook`` calls. ``tokenizer`` is accepted for
    schemes that need it (none yet): KGW and Unigram work on token ids.
    """
    from provenance.watermark.processor import WatermarkLogitsProcessor

    del tokenizer
    return [WatermarkLogitsProcessor(scheme_from_config(config), vocab_size)]


__all__ = [
    "SCHEMES",
    "Scheme",
    "WatermarkKey",
    "key_from_env",
    "key_from_file",
    "logits_processors_from_config",
    "scheme_from_config",
]
