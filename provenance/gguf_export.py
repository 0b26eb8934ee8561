"""Write llama-architecture ``transformers`` models to GGUF, the way llama.cpp's converter does.

Why the project writes GGUF itself: the GGUF path (file checks, identity, de-quantisation,
the tokenizer ``transformers`` rebuilds from the file) must be tested in every run, and the
only real released GGUF here is 93 MB. A tiny llama model written by this module goes
through exactly the code a released file goes through, and because we know the float
weights it came from, a test can check that loading gives back the same model.

The layout follows llama.cpp's ``convert_hf_to_gguf.py`` for ``LlamaForCausalLM``:
standard tensor names (``gguf.get_tensor_name_map``), the q/k rows permuted into
llama.cpp's rotary layout (``transformers`` permutes them back on load), a byte-level
BPE tokenizer stored as ``tokenizer.ggml.model = "gpt2"`` with its merges, and the chat
template. 2-D weights may be stored quantised (Q8_0, Q4_1) with ``gguf.quants``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: ChatML, as SmolLM2 uses, without a default system prompt.
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
_FILE_TYPES = {"F32": "ALL_F32", "F16": "MOSTLY_F16", "Q8_0": "MOSTLY_Q8_0", "Q4_1": "MOSTLY_Q4_1"}


def _permute(weights: Any, n_head: int) -> Any:
    """llama.cpp's rotary layout for q/k rows (the inverse of transformers' ``_reverse_permute_weights``)."""
    return weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(
        weights.shape
    )


def export_llama_gguf(model: Any, tokenizer: Any, out_file: str | Path, *, name: str, quantisation: str = "F32") -> Path:
    """Write a ``LlamaForCausalLM`` and its byte-level BPE fast tokenizer to one GGUF file.

    ``quantisation`` is how 2-D weight matrices are stored (``F32``, ``F16``, ``Q8_0``,
    ``Q4_1``); norms always stay F32, as llama.cpp keeps them.
    """
    import gguf
    import numpy as np

    if quantisation not in _FILE_TYPES:
        raise ValueError(f"quantisation must be one of {', '.join(_FILE_TYPES)}")
    config = model.config
    if config.model_type != "llama":
        raise ValueError(f"only llama models can be exported (got {config.model_type})")
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    n_layers, n_head = config.num_hidden_layers, config.num_attention_heads
    n_kv = config.num_key_value_heads or n_head
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name(name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(n_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(float(getattr(config, "rope_theta", 10000.0)))
    writer.add_rope_dimension_count(config.hidden_size // n_head)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(gguf.LlamaFileType[_FILE_TYPES[quantisation]].value)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    _add_tokenizer(writer, tokenizer, config.vocab_size)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # no output.weight: transformers ties it back to the embeddings
        base, _, suffix = hf_name.rpartition(".")
        gguf_name = names.get_name(base)
        if gguf_name is None:
            raise ValueError(f"no GGUF name for tensor {hf_name}")
        data = tensor.detach().float().cpu().numpy()
        if hf_name.endswith("q_proj.weight"):
            data = _permute(data, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = _permute(data, n_kv)
        full = f"{gguf_name}.{suffix}"
        if data.ndim < 2 or quantisation == "F32":
            writer.add_tensor(full, np.ascontiguousarray(data, dtype=np.float32))
        elif quantisation == "F16":
            writer.add_tensor(full, np.ascontiguousarray(data, dtype=np.float16))
        else:
            qtype = gguf.GGMLQuantizationType[quantisation]
            writer.add_tensor(full, gguf.quants.quantize(np.ascontiguousarray(data), qtype), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def _add_tokenizer(writer: Any, tokenizer: Any, vocab_size: int) -> None:
    """The tokenizer as llama.cpp stores a byte-level BPE ("gpt2") vocabulary."""
    import gguf

    state = json.loads(tokenizer.backend_tokenizer.to_str())
    if state["model"]["type"] != "BPE":
        raise ValueError("only byte-level BPE tokenizers can be exported")
    tokens = tokenizer.convert_ids_to_tokens(list(range(vocab_size)))
    if any(t is None for t in tokens):
        raise ValueError("the tokenizer has gaps in its ids below the model's vocab_size")
    special = set(tokenizer.all_special_ids)
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_types(
        [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(vocab_size)]
    )
    writer.add_token_merges(merges)
    for key, value in (
        ("bos", tokenizer.bos_token_id),
        ("eos", tokenizer.eos_token_id),
        ("pad", tokenizer.pad_token_id),
        ("unk", tokenizer.unk_token_id),
    ):
        if value is not None:
            getattr(writer, f"add_{key}_token_id")(value)
    writer.add_add_bos_token(False)
    if getattr(tokenizer, "chat_template", None):
        writer.add_chat_template(tokenizer.chat_template)


def build_tiny_llama(out_dir: str | Path, *, seed: int = 0, vocab_size: int = 384) -> tuple[Any, Any]:
    """A seeded random tiny llama chat model with a ChatML BPE tokenizer trained on stdlib text.

    Special tokens mirror SmolLM2 (``<|endoftext|>`` 0, ``<|im_start|>`` 1 = bos,
    ``<|im_end|>`` 2 = eos and pad), so a test on it meets the same token-id handling as
    the real model. Returns ``(model, tokenizer)`` and saves both to ``out_dir``.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    from provenance.tinymodel import stdlib_text

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    raw.train_from_iterator(stdlib_text(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )  # fmt: skip
    tokenizer.chat_template = CHATML_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        initializer_range=0.2,  # peaked next-token distributions: clear greedy winners
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config).eval()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(out)
    model.save_pretrained(out, safe_serialization=True)
    return model, tokenizer
