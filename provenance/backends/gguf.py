"""GGUF files (how many open models are released) through the ``transformers`` backend.

A GGUF file holds the weights (often quantised), the tokenizer and the chat template in
one file. ``transformers`` de-quantises it to float tensors (``gguf_file=``), so a GGUF
model gets every capability of ``HFBackend``: generation, scoring, top log-probs.

Why the checks here rather than in ``transformers``: a damaged file or an architecture
``transformers`` cannot de-quantise would otherwise surface as a deep traceback half a
minute into loading; an analyst needs one line naming the file and the architecture.

Identity: the evidence must say which file answered, so it records the file's SHA-256
plus what the file says about itself (architecture, name, quantisation). Two files with
the same name but different bytes get different identities.

GGUF holds no pickled code, so loading one is safe by default.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from provenance.backends.base import ModelIdentity
from provenance.backends.gguf_tokenizer import DESCRIPTION as TOKENIZER_REBUILT
from provenance.backends.gguf_tokenizer import SpmVocabulary, needs_rebuild, rebuild
from provenance.backends.tokenizer_check import require_faithful_tokenizer
from provenance.errors import ModelLoadError
from provenance.hashing import sha256_file, sha256_text

GGUF_SUFFIX = ".gguf"
_MAGIC = b"GGUF"
#: Metadata keys copied into the identity (strings and small numbers only; the
#: tokenizer's vocabulary is hashed as part of the file, not copied).
_IDENTITY_KEYS = (
    "general.architecture",
    "general.name",
    "general.organization",
    "general.basename",
    "general.finetune",
    "general.size_label",
    "general.license",
    "general.quantization_version",
)
#: ``transformers`` calls a few architectures by another name than llama.cpp does.
_TRANSFORMERS_NAMES = {"qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe", "t5encoder": "t5"}
_DAMAGED_HINT = "the file looks truncated or damaged: copy it again and compare its SHA-256 with the publisher's"


def is_gguf(path: Path) -> bool:
    """Whether a model path names a GGUF file (by suffix; the magic is checked on load)."""
    return path.suffix.lower() == GGUF_SUFFIX and not path.is_dir()


def _gguf_import() -> Any:
    try:
        import gguf
    except ImportError as exc:
        raise ModelLoadError(
            "reading GGUF files needs the gguf package", hint="pip install gguf accelerate"
        ) from exc
    return gguf


def _plain(value: Any) -> Any:
    """A GGUF metadata value as JSON-ready Python (numpy scalars become numbers)."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_gguf_metadata(path: Path) -> dict[str, Any]:
    """What a GGUF file says about itself, read without de-quantising anything.

    Returns the identity keys present (``general.*``), ``file_type`` (llama.cpp's name
    for the dominant quantisation, e.g. ``MOSTLY_Q4_1``), ``tensor_types`` (how many
    tensors of each storage type), ``tensor_count`` and a hash of the chat template.
    Raises ``ModelLoadError`` for a missing, foreign, truncated or unparsable file.
    """
    if not path.exists():
        raise ModelLoadError(
            f"GGUF file {path} does not exist",
            hint="check the model's path in the case file (relative paths are relative to the case file)",
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != _MAGIC:
        raise ModelLoadError(f"{path} is not a GGUF file (it does not start with 'GGUF')", hint=_DAMAGED_HINT)
    gguf = _gguf_import()
    try:
        reader = gguf.GGUFReader(str(path), "r")
        fields = {name: field.contents() for name, field in reader.fields.items() if not name.startswith("tokenizer.ggml.")}
        tensor_types = Counter(t.tensor_type.name for t in reader.tensors)
        # A truncated file can parse its header; its last tensor then ends past the file.
        size = path.stat().st_size
        ends = [int(t.data_offset) + int(t.n_bytes) for t in reader.tensors]
        if ends and max(ends) > size:
            raise ValueError(f"tensor data ends at byte {max(ends)} but the file has {size} bytes")
    except ModelLoadError:
        raise
    except (ValueError, IndexError, KeyError, OSError, EOFError, UnicodeDecodeError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelLoadError(f"cannot read GGUF file {path}: {first_line}", hint=_DAMAGED_HINT) from exc
    meta: dict[str, Any] = {key: _plain(fields[key]) for key in _IDENTITY_KEYS if key in fields}
    if "general.architecture" not in meta:
        raise ModelLoadError(f"GGUF file {path} names no architecture (general.architecture)", hint=_DAMAGED_HINT)
    file_type = fields.get("general.file_type")
    if file_type is not None:
        try:
            meta["file_type"] = gguf.LlamaFileType(int(_plain(file_type))).name
        except ValueError:
            meta["file_type"] = f"unknown ({_plain(file_type)})"
    meta["tensor_types"] = dict(sorted(tensor_types.items()))
    meta["tensor_count"] = len(reader.tensors)
    template = fields.get("tokenizer.chat_template")
    if template is not None:
        meta["chat_template_sha256"] = sha256_text(str(template))
    tokenizer_model = reader.fields.get("tokenizer.ggml.model")
    if needs_rebuild(meta, str(tokenizer_model.contents()) if tokenizer_model is not None else None):
        meta["tokenizer"] = TOKENIZER_REBUILT  # the model key says the tokenizer is not transformers' conversion
    return meta


def supported_architectures() -> frozenset[str]:
    """Architectures the installed ``transformers`` can de-quantise from GGUF."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    return frozenset(a for a in GGUF_SUPPORTED_ARCHITECTURES if a not in ("general", "tokenizer"))


def check_gguf_file(path: Path) -> dict[str, Any]:
    """Refuse a GGUF file that cannot be loaded, before ``transformers`` sees it; return its metadata."""
    meta = read_gguf_metadata(path)
    architecture = str(meta["general.architecture"])
    supported = supported_architectures()
    if architecture not in supported and _TRANSFORMERS_NAMES.get(architecture) not in supported:
        import transformers

        raise ModelLoadError(
            f"GGUF file {path} has architecture '{architecture}', which transformers "
            f"{transformers.__version__} cannot de-quantise",
            hint=f"supported: {', '.join(sorted(supported))}; serve the file with llama.cpp's server and use "
            'backend = "openai" instead',
        )
    return meta


def gguf_identity(path: Path, name: str, metadata: dict[str, Any] | None = None) -> ModelIdentity:
    """SHA-256 of the file plus its embedded metadata: which released file answered."""
    meta = metadata if metadata is not None else check_gguf_file(path)
    return ModelIdentity(
        name=name,
        backend="hf",
        source=str(path.resolve()),
        files={path.name: sha256_file(path)},
        details={"format": "gguf", "gguf": meta},
    )


def _fix_special_tokens(tokenizer: Any, path: Path) -> None:
    """Take bos/eos/pad/unk from the file's own token ids.

    ``transformers`` 4.57's llama GGUF tokenizer converter sets ``eos_token`` to the
    *bos* token (SmolLM2: eos ``<|im_start|>`` instead of ``<|im_end|>``), and drops
    the padding id; generation would then never stop at the end of a turn and the
    decoded answer would run on into invented turns. The file is the authority.
    """
    gguf = _gguf_import()
    reader = gguf.GGUFReader(str(path), "r")
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    if tokens is None:
        return
    vocab_size = len(tokens.data)

    def token(key: str) -> str | None:
        field = reader.fields.get(f"tokenizer.ggml.{key}")
        if field is None:
            return None
        index = int(_plain(field.contents()))
        if not 0 <= index < vocab_size:
            return None
        return tokenizer.convert_ids_to_tokens(index)

    for attribute, key in (("bos_token", "bos_token_id"), ("eos_token", "eos_token_id"),
                           ("pad_token", "padding_token_id"), ("unk_token", "unknown_token_id")):  # fmt: skip
        value = token(key)
        if value is not None:
            setattr(tokenizer, attribute, value)


def _rebuilt_tokenizer(path: Path) -> tuple[Any, SpmVocabulary]:
    """The SentencePiece-BPE tokenizer the file describes (see ``gguf_tokenizer``), with its chat template."""
    gguf = _gguf_import()
    reader = gguf.GGUFReader(str(path), "r")
    template = reader.fields.get("tokenizer.chat_template")
    description = SpmVocabulary.read(reader)
    return rebuild(description, chat_template=str(template.contents()) if template is not None else None), description


def load_gguf_model(path: Path, *, device: str = "auto", quiet: bool = False) -> tuple[Any, Any, dict[str, Any]]:
    """De-quantise a GGUF file: (``transformers`` model in float32, its tokenizer, the file's metadata).

    ``HFBackend.load`` wraps the pair as a backend; this module never imports the
    backend, so the layering runs one way (hf -> gguf). Loading takes a while
    (SmolLM2-135M Q4_1: about half a minute on 2 cores), so a line on stderr says what is
    loading and how long it took, and ``transformers`` shows its own de-quantisation
    progress bar; ``quiet`` silences the lines.
    """
    meta = check_gguf_file(path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    label = f"{meta.get('general.name', path.name)} ({meta['general.architecture']}, {meta.get('file_type', '?')})"
    started = time.monotonic()
    if not quiet:
        print(f"loading GGUF {path.name}: {label}, {path.stat().st_size / 1e6:.0f} MB ...", file=sys.stderr, flush=True)
    try:
        if meta.get("tokenizer") == TOKENIZER_REBUILT:
            tokenizer, description = _rebuilt_tokenizer(path)
        else:
            tokenizer, description = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name, local_files_only=True), None
            _fix_special_tokens(tokenizer, path)
        # transformers sets clean_up_tokenization_spaces for llama-3-style GGUF tokenizers, which
        # rewrites decoded text (" 'mice'" becomes "'mice'" glued to the word before, as it
        # matches " 'm"); the evidence must hold exactly the text the model produced.
        tokenizer.clean_up_tokenization_spaces = False
        check = require_faithful_tokenizer(tokenizer, str(path), description=description)  # before the weights
        if not quiet:
            print(f"tokenizer of {path.name}: {check.summary()}", file=sys.stderr, flush=True)
        model = AutoModelForCausalLM.from_pretrained(
            path.parent, gguf_file=path.name, local_files_only=True, dtype=torch.float32
        )
    except (OSError, ValueError, KeyError, NotImplementedError, ImportError) as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelLoadError(
            f"cannot load GGUF file {path} ({meta['general.architecture']}): {first_line}",
            hint="transformers may not support this file's tokenizer or quantisation; "
            'serve it with llama.cpp and use backend = "openai"',
        ) from exc
    model.to(device)
    if not quiet:
        print(f"loaded {path.name} in {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return model, tokenizer, meta
