"""The command line: exit codes, one-line errors for bad input, evidence left intact."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from provenance.cli import main
from provenance.evidence import EvidenceStore

from conftest import write_case


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``provenance ARGS`` in-process through the real entry point."""
    old_argv = sys.argv
    sys.argv = ["provenance", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old_argv
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_init_collect_verify_round_trip(tmp_path: Path, tiny_model: Path, tiny_model_b: Path, capsys) -> None:
    code, out, _ = run_cli(capsys, "case", "init", str(tmp_path / "new"))
    assert code == 0 and "case.toml" in out
    case = write_case(tmp_path / "c", tiny_model, tiny_model_b, limit=2)
    code, out, _ = run_cli(capsys, "case", "collect", str(case.parent), "--json")
    assert code == 0 and '"stored": 4' in out
    code, out, _ = run_cli(capsys, "verify", str(case.parent / "evidence.sqlite"))
    assert code == 0 and "evidence intact: 4 rows" in out


def test_tampered_evidence_fails_verify_with_exit_1_naming_the_row(tmp_path: Path, tiny_model, tiny_model_b, capsys) -> None:
    case = write_case(tmp_path, tiny_model, tiny_model_b, limit=3)
    assert run_cli(capsys, "case", "collect", str(case))[0] == 0
    with sqlite3.connect(tmp_path / "evidence.sqlite") as conn:
        conn.execute("DROP TRIGGER IF EXISTS evidence_no_update")
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("UPDATE evidence SET response_json = replace(response_json, '\"text\":\"', '\"text\":\"X') WHERE id = 2")
    code, _, err = run_cli(capsys, "case", "verify", str(case))
    assert code == 1 and "row 2" in err


def test_missing_model_directory_is_exit_2_with_one_line(tmp_path: Path, tiny_model: Path, capsys) -> None:
    case = write_case(tmp_path, tiny_model, tmp_path / "nowhere", limit=2)
    code, _, err = run_cli(capsys, "case", "run", str(case))
    assert code == 2 and len(_error_lines(err)) == 1 and "does not exist" in err
    assert "Traceback" not in err


def test_pickle_only_checkpoint_is_exit_2_without_allow_pickle(tmp_path: Path, tiny_model: Path, capsys) -> None:
    from transformers import AutoModelForCausalLM

    pickled = tmp_path / "pickled"
    AutoModelForCausalLM.from_pretrained(tiny_model).save_pretrained(pickled, safe_serialization=False)
    case = write_case(tmp_path / "c", tiny_model, pickled, limit=2)
    code, _, err = run_cli(capsys, "case", "collect", str(case))
    assert code == 2 and "pickle" in err and "allow_pickle = true" in err


def test_malformed_case_file_is_exit_2_naming_the_key(tmp_path: Path, capsys) -> None:
    case = write_case(tmp_path, tmp_path, tmp_path)
    case.write_text(case.read_text().replace("[budget]", "[budget]\nmax_requets = 3"))
    code, _, err = run_cli(capsys, "case", "run", str(case))
    assert code == 2 and "budget.max_requets: unknown key" in err and str(case) in err


def test_evidence_of_another_case_is_refused_and_left_intact(tmp_path: Path, tiny_model, tiny_model_b, capsys) -> None:
    first = write_case(tmp_path / "a", tiny_model, tiny_model_b, case_id="case-a", limit=2)
    assert run_cli(capsys, "case", "collect", str(first))[0] == 0
    second = write_case(tmp_path / "b", tiny_model, tiny_model_b, case_id="case-b", limit=2)
    shutil.copy(tmp_path / "a" / "evidence.sqlite", tmp_path / "b" / "evidence.sqlite")
    before = (tmp_path / "b" / "evidence.sqlite").read_bytes()
    code, _, err = run_cli(capsys, "case", "collect", str(second))
    assert code == 2 and "written by case 'case-a', not 'case-b'" in err
    assert (tmp_path / "b" / "evidence.sqlite").read_bytes() == before


def test_budget_reached_is_exit_3(tmp_path: Path, tiny_model, tiny_model_b, capsys) -> None:
    case = write_case(tmp_path, tiny_model, tiny_model_b, limit=3, max_requests=2)
    code, out, err = run_cli(capsys, "case", "collect", str(case))
    assert code == 3 and "newly stored 2" in out and "budget" in err


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size``; skips where this user may not mount (needs root)."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_disk_full_is_exit_2_and_store_stays_intact(tmp_path: Path, tiny_model, tiny_model_b, capsys) -> None:
    with small_filesystem(tmp_path / "disk", "160k") as disk:
        case = write_case(disk / "case", tiny_model, tiny_model_b, limit=73, batch_size=8)
        code, _, err = run_cli(capsys, "case", "collect", str(case))
        assert code == 2 and "full" in err, err
        with EvidenceStore.open_existing(disk / "case" / "evidence.sqlite") as store:
            report = store.verify()
            kept = store.count()
        assert report.ok and kept > 0
        subprocess.run(["mount", "-o", "remount,size=20m", str(disk)], check=True)
        code, out, _ = run_cli(capsys, "case", "collect", str(case), "--json")
        assert code == 0 and f'"cached": {kept}' in out


def test_read_only_evidence_path_is_exit_2(tmp_path: Path, tiny_model, tiny_model_b, capsys) -> None:
    with small_filesystem(tmp_path / "ro", "1m") as disk:
        case = write_case(disk / "case", tiny_model, tiny_model_b, limit=2)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        code, _, err = run_cli(capsys, "case", "collect", str(case))
        assert code == 2 and len(_error_lines(err)) == 1 and "evidence store" in err
