"""Ed25519 signing keys: creating one, loading it, naming it.

The analyst's private key stays on the analyst's machine: a report carries only the
public key and its fingerprint. A key file readable by others is refused rather
than silently used, because a signature is worth only as much as the key's secrecy.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from provenance.files import PUBLIC_MODE, SECRET_MODE, atomic_write, make_folder
from provenance.report.errors import KeyFileError


def public_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key (what reports embed, as hex)."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey | bytes) -> str:
    """``SHA256:<first 32 hex digits>`` of the raw public key: short enough to read aloud."""
    raw = key if isinstance(key, bytes) else public_bytes(key)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()[:32]


def write_private(path: Path, data: bytes) -> None:
    """Write secret bytes readable by the owner only (mode 0600, whatever the umask), atomically.

    Through ``atomic_write``: the temporary file is created with O_EXCL | O_NOFOLLOW under an
    unpredictable name, and a target that is a symbolic link is refused, so a planted link
    cannot receive the key.
    """
    make_folder(path.parent)
    atomic_write(path, data, file_mode=SECRET_MODE)


def write_public(path: Path, data: bytes) -> None:
    """Write a public key or certificate (mode 0644, whatever the umask), atomically; a symbolic link is refused."""
    make_folder(path.parent)
    atomic_write(path, data, file_mode=PUBLIC_MODE)


def refuse_unwritable(*targets: Path) -> None:
    """Refuse, before anything is written, a target that is a symbolic link or a folder.

    Checked for every file a key or certificate is written to before the first is written:
    otherwise a refusal of the second leaves the first behind (a private key without its .pub).
    """
    for target in targets:
        if target.is_symlink():  # --force or not: a link may point anywhere
            raise KeyFileError(f"{target} is a symbolic link (to {os.readlink(target)})",
                               hint="remove it and choose a key path that is a plain file")  # fmt: skip
        if target.is_dir():
            raise KeyFileError(f"{target} is a folder, not a file", hint="choose a key path that is not a folder")


def generate_key(path: str | Path, *, force: bool = False) -> Ed25519PublicKey:
    """Write a new Ed25519 private key (PEM, PKCS#8, mode 0600) and its ``.pub`` beside it."""
    path = Path(path)
    public_path = path.with_name(path.name + ".pub")
    refuse_unwritable(path, public_path)
    if path.exists() and not force:
        raise KeyFileError(f"{path} already exists", hint="choose another path, or pass --force to replace the key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private(path, pem)
    public = key.public_key()
    pub_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_public(public_path, pub_pem)
    return public


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    """Load the analyst's key; refuse one that group or others can read."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no signing key at {path}", hint="create one with `provenance keygen KEYFILE`")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyFileError(
            f"signing key {path} is readable by other users (mode {mode:04o})",
            hint=f"run `chmod 600 {path}`; a key others can read proves nothing",
        )
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError(
            f"{path} is not an unencrypted PEM private key", hint="create one with `provenance keygen KEYFILE`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key", hint="create one with `provenance keygen`")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    """A public key from a ``.pub`` PEM file, or derived from a private key file."""
    path = Path(path)
    if not path.is_file():
        raise KeyFileError(f"no key at {path}", hint="give the analyst's .pub file")
    data = path.read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        if b"-----BEGIN PRIVATE KEY-----" not in data:  # neither a public nor a private key: say so, not "mode 0644"
            raise KeyFileError(f"{path} is not a PEM public key (it may be truncated or corrupt)",
                               hint="give the analyst's .pub file as `provenance keygen` wrote it") from None  # fmt: skip
        return load_private_key(path).public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path} is not an Ed25519 public key", hint="give the analyst's .pub file")
    return key
