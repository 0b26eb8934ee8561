"""Tiny, real ``transformers`` models for tests and benchmarks.

They are GPT-2 shaped, saved with ``save_pretrained`` as safetensors, with a
byte-level BPE tokenizer trained on text that ships with Python itself (standard-
library docstrings), so nothing is downloaded. Weights are random but seeded: the
point is the machinery (loading, batching, hashing), not good answers. Models with
known provenance and real behaviour come from ``provenance.lab``.
"""

from __future__ import annotations

import inspect
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def stdlib_text() -> list[str]:
    """Docstrings of a few standard-library modules: real English, always present."""
    import collections
    import functools
    import json
    import pathlib
    import textwrap
    import typing

    texts: list[str] = []
    for module in (collections, functools, json, pathlib, textwrap, typing):
        for _, obj in inspect.getmembers(module):
            doc = inspect.getdoc(obj)
            if doc and len(doc) > 40:
                texts.append(doc)
    return texts


def build_tiny_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    chat_template: bool = True,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 2,
    vocab_size: int = 512,
    n_positions: int = 256,
) -> Path:
    """Write a seeded random GPT-2-shaped model and its tokenizer to ``out_dir``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from provenance.lab.train import new_model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(stdlib_text(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)

    # A wider init than GPT-2's 0.02 gives peaked next-token distributions, so greedy
    # decoding has clear winners instead of near-ties.
    model = new_model(
        tokenizer,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        n_positions=n_positions,
        seed=seed,
        initializer_range=0.2,
    )
    model.save_pretrained(out, safe_serialization=True)
    return out
