"""Safe writes (issue 28): planted symbolic links and umask never decide where or how a file is written."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from provenance.errors import OutputPathError
from provenance.files import atomic_write


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_keygen_refuses_planted_symlinks_and_leaves_their_targets_alone(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    keys = tmp_path / "keys"
    keys.mkdir()
    victims = {name: tmp_path / name for name in ("victim1.txt", "victim2.txt", "victim3.txt")}
    for victim in victims.values():
        victim.write_text("victim")
    (keys / "evil.key.tmp").symlink_to(victims["victim2.txt"])  # the old fixed temporary name
    (keys / "evil.key.pub").symlink_to(victims["victim3.txt"])
    code, _, err = run_cli(capsys, "keygen", str(keys / "evil.key"))
    assert code == 2 and "symbolic link" in err and "Traceback" not in err
    (keys / "evil.key.pub").unlink()
    (keys / "evil.key").symlink_to(victims["victim1.txt"])
    code, _, err = run_cli(capsys, "keygen", str(keys / "evil.key"), "--force")
    assert code == 2 and "symbolic link" in err
    (keys / "evil.key").unlink()
    code, _, err = run_cli(capsys, "keygen", str(keys / "evil.key"))  # the planted .tmp is never written through
    assert code == 0, err
    assert all(v.read_text() == "victim" for v in victims.values())
    assert b"PRIVATE KEY" in (keys / "evil.key").read_bytes() and (keys / "evil.key.tmp").is_symlink()


def test_keygen_sets_modes_explicitly_whatever_the_umask(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    old = os.umask(0o000)
    try:
        code, _, err = run_cli(capsys, "keygen", str(tmp_path / "a.key"))
    finally:
        os.umask(old)
    assert code == 0, err
    assert _mode(tmp_path / "a.key") == 0o600 and _mode(tmp_path / "a.key.pub") == 0o644
    old = os.umask(0o277)  # even a umask that would make the public key unreadable
    try:
        atomic_write(tmp_path / "report.html", "x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "report.html") == 0o644


def test_keygen_into_a_folder_that_cannot_hold_files_is_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    code, _, err = run_cli(capsys, "keygen", "/proc/x.key")
    assert code == 2 and "/proc/x.key" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2


def test_atomic_write_refuses_a_symlinked_target_unless_asked(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("victim")
    link = tmp_path / "findings.json"
    link.symlink_to(victim)
    with pytest.raises(OutputPathError, match="symbolic link"):
        atomic_write(link, "{}")
    assert victim.read_text() == "victim"
    atomic_write(link, "{}", follow_symlinks=True)
    assert victim.read_text() == "{}" and link.is_symlink()
    with pytest.raises(OutputPathError, match="is a folder"):
        atomic_write(tmp_path, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "victim.txt"]  # no temporary left


def test_a_corrupt_public_key_is_named_as_corrupt_not_as_readable_by_others(tmp_path: Path) -> None:
    from provenance.report.errors import KeyFileError
    from provenance.report.keys import generate_key, load_public_key

    generate_key(tmp_path / "k.key")
    pub = tmp_path / "k.key.pub"
    pub.write_bytes(pub.read_bytes()[:40])
    with pytest.raises(KeyFileError, match="not a PEM public key") as caught:
        load_public_key(pub)
    assert "readable by other users" not in str(caught.value)
