"""The lines of a JSON Lines log, framed for DuckDB: the only pass over its bytes made in Python.

DuckDB parses and validates the lines (``logs``); this pass makes sure DuckDB can
read the file as one text column per line, *and that row n is line n*, so every
exchange keeps the line number an analyst quotes. It reads the log in large chunks
and does per-line work only in a chunk that needs it:

* a line that is not UTF-8, or holds a byte that no JSON line may hold raw (NUL,
  the ``\\x1e``/``\\x1f`` separators, a carriage return inside a line that is not
  valid JSON), is skipped and counted here, and replaced by a placeholder line;
* a line longer than ``MAX_LINE`` is skipped and counted the same way;
* an empty line is replaced by the placeholder too (a CSV reader would drop it and
  shift every later line number); a trailing ``\\r`` (CRLF logs) is removed.
* a UTF-8 byte-order mark at the start of the file (some Windows tools write one) is
  removed: it is not part of the first line's JSON.

A clean log (the usual case) is read in place; only a log that needs a change is
copied, from its first changed chunk on. Samples of (line number, text) taken on
the way let the caller check after loading that DuckDB's rows are the file's lines.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol


class SkipCounter(Protocol):
    """Where a skipped line is counted (``logs.ReadReport``)."""

    def skip(self, reason: str, line: int) -> None: ...


#: The line DuckDB sees for a line this pass skipped (or an empty one); never a valid JSON line.
PLACEHOLDER = "\x1e"
#: Bytes a JSON line never holds raw (control characters outside whitespace); ``\r`` is checked apart.
_FORBIDDEN = (b"\x00", b"\x1e", b"\x1f")
#: How the framed copy is created: a new file, never through a symbolic link.
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
#: The UTF-8 byte-order mark, dropped from the start of a log.
BOM = b"\xef\xbb\xbf"
#: Bytes read at a time (a chunk ends at a line end); half of MAX_LINE, so line lengths need measuring only in the
#: rare chunk that a line longer than a chunk made oversized.
CHUNK = 8 * 1024 * 1024
#: The longest line read (DuckDB's reader needs a bound, and reads four times that at once per thread); a longer
#: one is skipped and counted. 16 MiB holds millions of tokens of request and response.
MAX_LINE = 16 * 1024 * 1024


@dataclass
class Framed:
    """Where DuckDB reads a log's lines, how many there are, and samples to check row n is line n."""

    path: Path
    lines: int
    samples: dict[int, str] = field(default_factory=dict)
    copied: bool = False


def _chunks(handle: BinaryIO, size: int) -> Iterator[bytes]:
    """Chunks that end at a line end (the last may not)."""
    rest = b""
    while True:
        block = handle.read(size)
        if not block:
            if rest:
                yield rest
            return
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        rest = block[cut + 1 :]
        yield block[: cut + 1]


def _clean(chunk: bytes, after_newline: bool) -> bool:
    """Whether a chunk can go to DuckDB as it is (no per-line work needed)."""
    if len(chunk) > MAX_LINE and _longest_line(chunk) > MAX_LINE:  # a shorter chunk cannot hold a longer line
        return False
    if any(b in chunk for b in _FORBIDDEN) or b"\r" in chunk or b"\n\n" in chunk:
        return False
    if after_newline and chunk.startswith(b"\n"):
        return False
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _longest_line(chunk: bytes) -> int:
    import numpy as np

    ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == ord("\n"))
    return int(np.diff(np.concatenate(([-1], ends, [len(chunk)]))).max()) - 1


def _line(raw: bytes, number: int, report: SkipCounter) -> bytes:
    """One line of a chunk that needs care, as DuckDB should see it (or the placeholder)."""
    placeholder = PLACEHOLDER.encode()
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    if not raw.strip(b" \t\r\f"):  # empty or whitespace only: blank, as DuckDB's check calls a line without a CR
        return placeholder
    if len(raw) > MAX_LINE:
        report.skip(f"line longer than {MAX_LINE:,} bytes", number)
        return placeholder
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        report.skip("not UTF-8", number)
        return placeholder
    if any(b in raw for b in _FORBIDDEN):
        report.skip("not JSON", number)
        return placeholder
    if b"\r" in raw:  # JSON allows a raw CR only as whitespace between tokens, where a space means the same
        try:
            json.loads(raw)
        except ValueError:
            report.skip("not JSON", number)
            return placeholder
        raw = raw.replace(b"\r", b" ")
    return raw


def frame(log: Path, work: Path, report: SkipCounter, *, chunk_size: int = CHUNK) -> Framed:
    """Check a log's lines as bytes; returns the file DuckDB should read (the log itself when clean)."""
    work.mkdir(parents=True, exist_ok=True)
    copy_path = work / f"{log.name}.framed"
    out: BinaryIO | None = None
    offset = 0  # bytes of the original already passed
    lines = 0
    samples: dict[int, str] = {}
    after_newline = True
    try:
        with open(log, "rb") as handle:
            for original in _chunks(handle, chunk_size):
                chunk = original[len(BOM):] if offset == 0 and original.startswith(BOM) else original
                clean = chunk is original and _clean(chunk, after_newline)
                if out is None and not clean:
                    copy_path.unlink(missing_ok=True)  # a planted link is removed, never written through
                    out = os.fdopen(os.open(copy_path, _CREATE, 0o600), "wb")  # noqa: SIM115 - closed in finally
                    with open(log, "rb") as head:
                        _copy_prefix(head, out, offset)
                if clean:
                    framed = chunk
                else:
                    pieces = chunk.split(b"\n")
                    tail = pieces.pop() if not chunk.endswith(b"\n") else None
                    if chunk.endswith(b"\n"):
                        pieces.pop()  # the empty string after the last line end
                    fixed = [_line(raw, lines + i, report) for i, raw in enumerate(pieces, start=1)]
                    if tail is not None:
                        fixed.append(_line(tail, lines + len(pieces) + 1, report))
                    if offset == 0 and fixed and fixed[0].startswith(BOM):  # a second BOM: DuckDB would drop it unseen
                        report.skip("not JSON", 1)
                        fixed[0] = PLACEHOLDER.encode()
                    framed = b"\n".join(fixed) + b"\n"
                first = framed[: framed.find(b"\n")] if b"\n" in framed else framed
                samples[lines + 1] = first.decode("utf-8")
                lines += framed.count(b"\n") + (0 if framed.endswith(b"\n") else 1)
                if out is not None:
                    out.write(framed if framed.endswith(b"\n") else framed + b"\n")
                offset += len(original)
                after_newline = chunk.endswith(b"\n")
    finally:
        if out is not None:
            out.close()
    if out is None:
        return Framed(log, lines, samples)
    return Framed(copy_path, lines, samples, copied=True)


def _copy_prefix(source: BinaryIO, out: BinaryIO, size: int) -> None:
    left = size
    while left:
        block = source.read(min(left, CHUNK))
        if not block:
            break
        out.write(block)
        left -= len(block)
