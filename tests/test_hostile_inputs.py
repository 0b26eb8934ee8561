"""Hostile inputs that used to end in a traceback with exit 1 (issue 28): each is one line and exit 2 now."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from provenance.errors import ModelLoadError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_trust_remote_code_model_whose_class_is_missing_is_a_model_load_error(tmp_path: Path, tiny_model: Path) -> None:
    from provenance.backends.hf import HFBackend

    model = tmp_path / "remote"
    shutil.copytree(tiny_model, model)
    config = json.loads((model / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_remote.MissingForCausalLM"}
    (model / "config.json").write_text(json.dumps(config))
    (model / "modeling_remote.py").write_text("# the class auto_map names is not here\n")
    with pytest.raises(ModelLoadError, match="its own code .* failed: AttributeError"):
        HFBackend.load(model, name="remote", trust_remote_code=True)


def _damaged_case(tmp_path: Path) -> Path:
    """A case whose evidence store has 4 KiB in the middle overwritten."""
    from provenance.evidence import EvidenceStore

    from conftest import write_case
    from test_evidence_store import IDENTITY, _append

    case = write_case(tmp_path / "case", Path("/m/a"), Path("/m/b"), case_id="c1").parent
    store_path = case / "evidence.sqlite"
    with EvidenceStore.open(store_path, "c1") as store:
        key = store.register_model(IDENTITY)
        for i in range(1, 200):
            _append(store, key, i, response={"text": "answer " * 200})
    size = store_path.stat().st_size
    with open(store_path, "r+b") as handle:
        handle.seek(size // 2 // 4096 * 4096)
        handle.write(bytes(range(256)) * 16)
    return case


def test_a_damaged_evidence_store_fails_verify_and_is_one_line_for_analyze(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    case = _damaged_case(tmp_path)
    code, _, err = run_cli(capsys, "verify", str(case / "evidence.sqlite"))
    assert code == 1 and "cannot be read as an evidence store" in err and "Traceback" not in err
    code, _, err = run_cli(capsys, "case", "analyze", str(case))
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) <= 2, err
    assert not (case / "findings.json").exists()
    with pytest.raises(sqlite3.DatabaseError):  # --debug: the traceback, for whoever reports it
        run_cli(capsys, "--debug", "case", "analyze", str(case))


def test_report_out_pointing_at_a_file_is_one_line_and_leaves_the_file(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from conftest import write_case
    from test_cli import run_cli

    case = write_case(tmp_path / "case", Path("/m/a"), Path("/m/b")).parent
    target = tmp_path / "out.txt"
    target.write_text("keep me")
    code, _, err = run_cli(capsys, "report", str(case), "--out", str(target))
    assert code == 2 and "is a file, not a folder" in err and "Traceback" not in err
    assert target.read_text() == "keep me"


def test_a_seed_sqlite_cannot_hold_is_refused_before_anything_is_stored(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from conftest import write_case
    from test_cli import run_cli

    path = write_case(tmp_path / "case", Path("/m/a"), Path("/m/b"))
    path.write_text(path.read_text().replace("seed = 7", "seed = 9223372036854775808"))
    code, _, err = run_cli(capsys, "case", "collect", str(path.parent))
    assert code == 2 and "case.seed" in err and "Traceback" not in err
    assert not (path.parent / "evidence.sqlite").exists()


def test_a_missing_optional_dependency_is_an_environment_problem_with_exit_3() -> None:
    from provenance.errors import EnvironmentProblem

    try:
        import ray  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("ray is installed here")
    from provenance.audit.raypool import _ray

    with pytest.raises(EnvironmentProblem, match="--ray needs the optional Ray extra") as caught:
        _ray()
    assert caught.value.exit_code == 3


def test_lab_traffic_out_that_cannot_be_a_folder_is_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    target = tmp_path / "file"
    target.write_text("keep me")
    code, _, err = run_cli(capsys, "lab", "traffic", "--out", str(target), "--scale", "0.01")
    assert code == 2 and "is a file, not a folder" in err and "Traceback" not in err and target.read_text() == "keep me"


def test_an_output_path_under_a_file_is_bad_input_with_exit_2(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from test_cli import run_cli

    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    code, _, err = run_cli(capsys, "lab", "build", "--out", str(blocker / "lab"))
    assert code == 2 and "Not a directory" in err and "Traceback" not in err and blocker.read_text() == "keep me"
