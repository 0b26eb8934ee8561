"""Model backends behind one interface (see ``base``)."""

from __future__ import annotations

from pathlib import Path

from provenance.backends.base import (
    Backend,
    BatchInterrupted,
    Capability,
    Generation,
    GenerationParams,
    ModelIdentity,
    Scored,
    TopToken,
)

__all__ = [
    "Backend",
    "BatchInterrupted",
    "Capability",
    "Generation",
    "GenerationParams",
    "ModelIdentity",
    "Scored",
    "TopToken",
    "identify_model",
    "open_backend",
]


def identify_model(spec, path: Path) -> ModelIdentity:  # noqa: ANN001 - ModelSpec, avoids an import cycle
    """The identity a model's evidence rows point to, computed WITHOUT loading it.

    Hashing files is enough to know whether stored evidence came from this very
    model, so a resumed collection need not load a model whose answers are all
    stored. The same safety checks as loading run first.
    """
    if spec.backend == "openai":
        from provenance.backends.openai import openai_identity

        return openai_identity(spec)  # no request is sent: the identity is the endpoint and model name
    if spec.backend == "transcript":
        from provenance.backends.transcript import transcript_identity

        return transcript_identity(spec, path)
    from provenance.backends.gguf import gguf_identity, is_gguf
    from provenance.backends.hf import check_model_dir, local_model_identity

    if is_gguf(path):
        return gguf_identity(path, spec.name)  # checks the file (readable, supported architecture) first
    check_model_dir(path, allow_pickle=spec.allow_pickle, trust_remote_code=spec.trust_remote_code)
    return local_model_identity(path, spec.name)


def open_backend(spec, path: Path, identity: ModelIdentity | None = None) -> Backend:  # noqa: ANN001
    """Load the backend a case file's model entry describes."""
    if spec.backend == "openai":
        from provenance.backends.openai import OpenAIBackend

        return OpenAIBackend.from_spec(spec, identity)
    if spec.backend == "transcript":
        from provenance.backends.transcript import TranscriptBackend

        return TranscriptBackend.load(path, name=spec.name, identity=identity)
    from provenance.backends.hf import HFBackend

    return HFBackend.load(
        path,
        name=spec.name,
        allow_pickle=spec.allow_pickle,
        trust_remote_code=spec.trust_remote_code,
        device=spec.device,
        batch_size=spec.batch_size,
        identity=identity,
        system_prompt=spec.system_prompt,
        framing=spec.framing_template,
    )
