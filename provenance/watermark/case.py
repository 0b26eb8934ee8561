"""A case file's ``[[watermark]]`` table, resolved: the scheme with its key, and the teacher's tokenizer.

Collection needs the scheme to compute reading-mode green masses; analysis needs it
to score green hits in stored text, which it re-tokenises with the teacher's
tokenizer. Both read the key from its file or environment variable at that
moment, and both check it against the key SHA-256 recorded in the evidence, so an
analysis re-run with another key fails loudly instead of testing something else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provenance.case import Case
from provenance.case.schema import WatermarkSpec
from provenance.errors import CaseFileError
from provenance.hashing import sha256_file, sha256_json
from provenance.watermark.keys import WatermarkKey, key_from_env, key_from_file
from provenance.watermark.schemes import Scheme

#: Files that define a Hugging Face tokenizer; hashed to identify the one used.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                    "tokenizer.model", "special_tokens_map.json")


@dataclass(frozen=True)
class CaseWatermark:
    """One teacher's watermark as the case file describes it (nothing read yet)."""

    spec: WatermarkSpec
    directory: Path
    teacher_path: Path | None

    def _path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.directory / path

    def key(self) -> WatermarkKey:
        if self.spec.key_file is not None:
            return key_from_file(self._path(self.spec.key_file))
        assert self.spec.key_env is not None
        return key_from_env(self.spec.key_env)

    def scheme(self) -> Scheme:
        """The scheme with its key (read now); raises CaseFileError when the key is unavailable."""
        p = self.spec.params
        return Scheme(name=self.spec.scheme, gamma=p.gamma, delta=p.delta, context_width=self.spec.context_width,
                      key=self.key(), key_id=self.spec.key_id)

    @property
    def tokenizer_dir(self) -> Path:
        if self.spec.tokenizer is not None:
            return self._path(self.spec.tokenizer)
        if self.teacher_path is None:
            raise CaseFileError(f"teacher {self.spec.teacher!r} has no local path to take its tokenizer from",
                                hint="set tokenizer = \"DIR\" in its [[watermark]] table")
        return self.teacher_path

    def tokenizer(self) -> Any:
        """The teacher's tokenizer, from local files only."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import AutoTokenizer

        directory = self.tokenizer_dir
        try:
            return AutoTokenizer.from_pretrained(directory, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise CaseFileError(f"cannot load the teacher's tokenizer from {directory}: {str(exc).splitlines()[0]}",
                                hint="point tokenizer in the [[watermark]] table at the teacher's tokenizer files") from exc

    def tokenizer_sha256(self) -> str:
        """SHA-256 over the tokenizer's defining files (name -> file hash), recorded with every result."""
        directory = self.tokenizer_dir
        files = {name: sha256_file(directory / name) for name in _TOKENIZER_FILES if (directory / name).is_file()}
        return sha256_json(files)


def watermark_for(case: Case, teacher: str) -> CaseWatermark | None:
    """The watermark the case names for ``teacher``, or None."""
    spec = case.spec.watermark_of(teacher)
    if spec is None:
        return None
    model = next(t for t in case.spec.teacher if t.name == teacher)
    path = getattr(model, "path", None)
    teacher_path = case.model_path(model) if path else None
    return CaseWatermark(spec=spec, directory=case.directory, teacher_path=teacher_path)
