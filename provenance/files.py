"""Writing a file so that a crash never leaves half of one: write beside it, flush to disk, rename over it.

Reports, audit indexes, keys and scan outputs are evidence or point to it; a reader must find
either the old file or the whole new one. Every file the project writes goes through here:

* the temporary file is created beside the target with ``O_CREAT | O_EXCL | O_NOFOLLOW``
  under a name no one can predict (process id and a random token), so a file or symbolic
  link planted at a temporary name is never written through and never removed;
* a target that is a symbolic link is refused unless the caller asks to follow it (then the
  file the link points to is replaced): a planted ``key.pub -> victim`` cannot redirect a write;
* the file's mode is set explicitly (``fchmod``), whatever the umask: 0644 by default, 0600
  for secrets.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from provenance.errors import OutputPathError

#: Mode of an ordinary output file (reports, indexes, public keys); secrets use 0600.
PUBLIC_MODE = 0o644
SECRET_MODE = 0o600
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _target(path: Path, follow_symlinks: bool) -> Path:
    if path.is_symlink():
        if not follow_symlinks:
            raise OutputPathError(
                f"{path} is a symbolic link (to {os.readlink(path)}); refusing to write through it",
                hint="remove the link, or write to the file itself",
            )
        path = path.resolve()
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder, not a file", hint="give a file name")
    return path


@contextmanager
def atomic_open(
    path: Path, mode: str = "w", *, file_mode: int = PUBLIC_MODE, follow_symlinks: bool = False
) -> Iterator[IO[Any]]:
    """A handle on a temporary file beside ``path`` that replaces it only if the block ends without an error.

    Raises ``OutputPathError`` (one line, exit 2) when ``path`` is a symbolic link (unless
    ``follow_symlinks``), a folder, or in a folder that cannot be written.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open writes a whole file: mode 'w' or 'wb', not {mode!r}")
    path = _target(Path(path), follow_symlinks)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(6)}")
    try:
        fd = os.open(tmp, _FLAGS, SECRET_MODE)
    except OSError as exc:
        raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}", hint="give a path in a folder you can write") from None
    try:
        os.fchmod(fd, file_mode)  # explicit: the umask neither widens nor narrows it
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise OutputPathError(f"cannot write {path}: {exc.strerror or exc}", hint="give a path you can write") from None
    finally:
        tmp.unlink(missing_ok=True)  # ours: created with O_EXCL above


def atomic_write(path: Path, data: bytes | str, *, file_mode: int = PUBLIC_MODE, follow_symlinks: bool = False) -> None:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` whole or not at all (see ``atomic_open``)."""
    with atomic_open(path, "wb" if isinstance(data, bytes) else "w", file_mode=file_mode, follow_symlinks=follow_symlinks) as handle:
        handle.write(data)


def make_folder(path: Path) -> Path:
    """``mkdir -p`` that names the folder in one line (``OutputPathError``) when it cannot be made."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{path} is a file, not a folder", hint="give a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(f"cannot create folder {path}: {exc.strerror or exc}", hint="give a folder you can write") from None
    return path
