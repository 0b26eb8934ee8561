"""JSON Lines split the way the format means: on "\\n" only.

``str.splitlines()`` also splits on U+0085, U+2028, U+2029, \\v, \\f and \\x1c-\\x1e,
which JSON allows unescaped inside strings and which ``json.dumps(ensure_ascii=False)``
writes as they are. Model output contains them (a real answer can hold a U+2028; a
random model's bytes decoded as text produced U+0085), and one such answer would
cut its line in two and make the file unreadable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def jsonl_lines(text: str, *, keepends: bool = False) -> list[str]:
    """The lines of JSONL ``text``, like ``splitlines`` but split on "\\n" (and "\\r\\n") only."""
    parts = text.split("\n")
    ends = ["\n"] * (len(parts) - 1) + [""]
    lines = [(part, end) for part, end in zip(parts, ends) if part or end]  # no empty line after the last "\n"
    if keepends:
        return [part + end for part, end in lines]
    return [part.removesuffix("\r") for part, _ in lines]


def jsonl_rows(path: str | Path) -> list[Any]:
    """Every non-blank line of the JSONL file at ``path``, parsed."""
    return [json.loads(line) for line in jsonl_lines(Path(path).read_text(encoding="utf-8")) if line.strip()]
