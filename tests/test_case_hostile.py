"""Hostile case files (issue 28): one line naming file and key, exit 2, and paths from the case folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from provenance.case import load_case
from provenance.errors import CaseFileError
from provenance.probes import probes_dir

from conftest import write_case


def _case(tmp_path: Path, edit=lambda t: t) -> Path:  # noqa: ANN001
    path = write_case(tmp_path / "case", Path("/m/a"), Path("/m/b"))
    path.write_text(edit(path.read_text()), encoding="utf-8")
    return path


def test_case_file_with_a_byte_order_mark_says_so(tmp_path: Path) -> None:
    path = _case(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    with pytest.raises(CaseFileError, match="byte-order mark") as caught:
        load_case(path)
    assert "Invalid statement" not in str(caught.value) and "without BOM" in caught.value.hint


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda t: t.replace("seed = 7", "seed = 9223372036854775808"), r"case\.seed: .*less than or equal to 2147483647"),
    (lambda t: t.replace("seed = 7", "seed = 7\nalpha = nan"), r"case\.alpha: .*finite number"),
    (lambda t: t.replace("seed = 7", "seed = 7\nalpha = inf"), r"case\.alpha: .*finite number"),
    (lambda t: t.replace("max_new_tokens = 8", "max_new_tokens = 8\ntemperature = nan"), r"temperature: .*finite number"),
])  # fmt: skip
def test_case_file_numbers_out_of_range_or_nan_name_the_key(tmp_path: Path, edit, expected: str) -> None:  # noqa: ANN001
    with pytest.raises(CaseFileError, match=expected):
        load_case(_case(tmp_path, edit))


@pytest.mark.parametrize("char", ["\u202e", "\x00", "\u200b", "\x1b"])
@pytest.mark.parametrize("key", ["title", "analyst"])
def test_case_file_refuses_invisible_characters_in_title_and_analyst(tmp_path: Path, key: str, char: str) -> None:
    escaped = char.encode("unicode_escape").decode().replace("\\x", "\\u00")
    path = _case(tmp_path, lambda t: t.replace(f'{key} = "', f'{key} = "J. {escaped}Doe ', 1))
    with pytest.raises(CaseFileError, match=rf"case\.{key}: holds the invisible character \[U\+{ord(char):04X}\]"):
        load_case(path)


def test_case_file_nested_absurdly_deep_is_one_line(tmp_path: Path) -> None:
    path = _case(tmp_path, lambda t: t + "\nx = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(CaseFileError, match="not valid TOML"):
        load_case(path)


def test_case_probes_path_resolves_against_the_case_folder_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.collect import suite_probes

    path = _case(tmp_path, lambda t: t.replace("[suites.identity]", '[suites.identity]\nprobes = "x.toml"'))
    shutil.copyfile(probes_dir() / "identity.toml", path.parent / "x.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(probes_dir() / "refusal.toml", elsewhere / "x.toml")  # a decoy of the same name
    monkeypatch.chdir(elsewhere)
    case = load_case(path)
    suite, probes = suite_probes(case, "identity", case.spec.suites["identity"])
    assert suite.name == "identity" and suite.path == str((path.parent / "x.toml").resolve()) and probes
    (path.parent / "x.toml").unlink()
    with pytest.raises(CaseFileError, match=f"no probe file {path.parent.resolve() / 'x.toml'}"):
        suite_probes(case, "identity", case.spec.suites["identity"])
