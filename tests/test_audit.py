"""Audits over the lab family, with real models in real worker processes.

Truth comes from the lab's lab.json only. Suites are cut to the identity suite's
first probes to keep this file fast; the full-size audit with timings is
benchmarks/audit_lab.py (results in docs/audit.md).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import LAB_CONTROLS
from provenance.audit import EXIT_NEW_FINDING, EXIT_NOTHING_NEW, diff_audit, run_audit

FIRST = ("teacher", "teacher-wm", "student", "student-stripped", "control-same-data", "control-other")
CONTROLS = LAB_CONTROLS  # a panel the model-level null can decide with (tests/conftest.py)


def write_audit(root: Path, lab, *, suspects: tuple[str, ...] = (), scan: bool = True) -> Path:  # noqa: ANN001
    """An audit of the lab against its teacher, with the independent lab models as controls."""
    root.mkdir(parents=True, exist_ok=True)
    controls = "".join(f'[[control]]\nname = "{c}"\npath = "{lab.path(c)}"\n\n' for c in CONTROLS)
    named = "".join(f'[[suspect]]\nname = "{s}"\npath = "{lab.path(s)}"\n\n' for s in suspects)
    text = textwrap.dedent(
        f"""\
        [audit]
        id = "labwatch"
        title = "lab audit"
        analyst = "pytest"
        seed = 11
        output = "out"

        [[teacher]]
        name = "teacher"
        path = "{lab.path('teacher')}"
        claims = ["Aurora", "Northwind Labs"]

        [suites.identity]
        max_new_tokens = 12
        limit = 40  # a rate among six independent models' needs more than a dozen answers to be an outlier

        [report]
        pdf = false

        """
    )
    text += '[[scan]]\npath = "incoming"\n\n' if scan else ""
    (root / "audit.toml").write_text(text + controls + named, encoding="utf-8")
    return root / "audit.toml"


def verdicts(pairs: list[dict]) -> dict[str, bool | None]:
    return {p["suspect"]: p["supports_derivation"] for p in pairs}


def _kill_after_first_pair(command: list[str], history: Path, timeout: float = 600) -> None:
    """Start the CLI audit and kill its whole process group once one pair is recorded."""
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if history.is_file():
                try:
                    with sqlite3.connect(history) as db:
                        if db.execute("SELECT count(*) FROM pairs WHERE status = 'done'").fetchone()[0]:
                            break
                except sqlite3.OperationalError:  # the file exists, its tables not yet (slow machine)
                    pass
            time.sleep(0.5)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module")
def first_run(lab, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    """Run 1 of the lab audit: killed after its first pair, then re-run to completion."""
    root = tmp_path_factory.mktemp("audit")
    incoming = root / "incoming"
    incoming.mkdir()
    for name in FIRST:
        shutil.copytree(lab.path(name), incoming / name)
    audit = write_audit(root, lab)
    cli = [sys.executable, "-c", "from provenance.cli import main; main()", "audit", "run", str(audit), "--workers", "2"]
    _kill_after_first_pair(cli, root / "out" / "history.sqlite")
    with sqlite3.connect(root / "out" / "history.sqlite") as db:
        finished_before_kill = {r[0] for r in db.execute("SELECT suspect FROM pairs WHERE status = 'done'")}
        assert db.execute("SELECT count(*) FROM runs WHERE status = 'finished'").fetchone()[0] == 0
    result = run_audit(audit, workers=2)
    return root, audit, result, finished_before_kill


def test_lab_audit_finds_exactly_the_derived_models(first_run, lab) -> None:  # noqa: ANN001
    _, _, result, _ = first_run
    found = verdicts(result.pairs)
    # The scanned folder holds a byte-identical copy of the teacher: a copy, found without statistics.
    teacher_copy = next(p for p in result.pairs if p["suspect"] == "teacher")
    assert teacher_copy["status"] == "identical" and found.pop("teacher") is True
    truth = {name: lab.derived(name, "teacher") for name in found}
    assert found == truth, (found, truth)
    assert sum(truth.values()) >= 3 and not all(truth.values())
    assert result.exit_code == EXIT_NEW_FINDING  # a first run's findings are all new


def test_killed_audit_resumes_and_reuses_the_pairs_it_finished(first_run) -> None:  # noqa: ANN001
    _, _, result, finished_before_kill = first_run
    assert finished_before_kill, "the kill came before any pair finished"
    reused = {p["suspect"] for p in result.pairs if p["status"] == "reused"}
    assert finished_before_kill <= reused
    assert result.ran == 5 - len(finished_before_kill)


def test_second_run_reruns_nothing_and_new_models_run_alone(first_run, lab) -> None:  # noqa: ANN001
    root, audit, first, _ = first_run
    second = run_audit(audit, workers=2)
    assert second.ran == 0 and second.failed == 0
    assert verdicts(second.pairs) == verdicts(first.pairs)
    assert second.exit_code == EXIT_NOTHING_NEW
    assert diff_audit(audit).changes == []

    incoming = root / "incoming"
    shutil.copytree(lab.path("student-wm"), incoming / "student-wm")
    half = incoming / "student-copy"  # a copy of the student still in progress
    shutil.copytree(lab.path("student"), half)
    weights = (half / "model.safetensors").read_bytes()
    (half / "model.safetensors").write_bytes(weights[: len(weights) // 3])
    broken = incoming / "broken"  # complete files, but no architecture transformers knows
    shutil.copytree(lab.path("control-other"), broken)
    config = json.loads((broken / "config.json").read_text())
    (broken / "config.json").write_text(json.dumps({**config, "model_type": "no-such-architecture"}))

    # From now on each new pair also gets its report (pdf is not part of a pair's key).
    audit.write_text(audit.read_text().replace("pdf = false", "pdf = true"))
    third = run_audit(audit, workers=2)
    rows = {p["suspect"]: p for p in third.pairs}
    assert {p["suspect"] for p in third.pairs if p["status"] == "done"} == {"student-wm"}
    assert rows["student-wm"]["supports_derivation"] is lab.derived("student-wm", "teacher") is True
    assert rows["student-copy"]["status"] == "failed" and "still being copied" in rows["student-copy"]["error"]
    assert rows["broken"]["status"] == "failed" and "no-such-architecture" in rows["broken"]["error"]
    assert third.ran == 2  # student-wm and broken (which failed while loading); nothing else re-ran
    assert third.exit_code == EXIT_NEW_FINDING

    diff = diff_audit(audit)
    assert diff.before == second.run_id and diff.after == third.run_id
    assert diff.new_models == ["broken", "student-copy", "student-wm"]
    assert diff.new_findings == [("student-wm", "teacher")]
    assert {f[0] for f in diff.failed} == {"broken", "student-copy"}
    index = json.loads(third.index_json.read_text())
    assert {p["suspect"] for p in index["pairs"] if p["new_finding"]} == {"student-wm"}
    link = next(p["findings"] for p in index["pairs"] if p["suspect"] == "student-wm")
    assert (third.index_json.parent / link).is_file()
    report = next(p["report"] for p in index["pairs"] if p["suspect"] == "student-wm")
    assert report.endswith("report.pdf") and (third.index_json.parent / report).read_bytes().startswith(b"%PDF")
    assert next(p["report"] for p in index["pairs"] if p["suspect"] == "student") is None  # reused: no new report
    assert "student-wm" in third.index_html.read_text()

    # The copy completes: the next run tests it. Its files are the student's, already
    # audited under the same pair key, so the stored result is reused.
    shutil.copy(lab.path("student") / "model.safetensors", half / "model.safetensors")
    fourth = run_audit(audit, workers=1)
    rows = {p["suspect"]: p for p in fourth.pairs}
    assert rows["student-copy"]["status"] == "reused" and rows["student-copy"]["supports_derivation"] is True
    assert fourth.ran == 1 and rows["broken"]["status"] == "failed"  # only the broken model was retried


def test_cli_diff_exit_code_and_bad_audit_file_exit_2(first_run, tmp_path: Path) -> None:  # noqa: ANN001
    _, audit, _, _ = first_run
    cli = [sys.executable, "-c", "from provenance.cli import main; main()", "audit"]
    shown = subprocess.run([*cli, "diff", str(audit)], capture_output=True, text=True)
    assert shown.returncode in (EXIT_NOTHING_NEW, EXIT_NEW_FINDING, 2), shown.stderr
    assert "changes in run" in shown.stdout
    bad = tmp_path / "audit.toml"
    bad.write_text(audit.read_text().replace("[audit]", "[audit]\nwokers = 2"))
    refused = subprocess.run([*cli, "run", str(bad)], capture_output=True, text=True)
    assert refused.returncode == 2 and "audit.wokers" in refused.stderr


def test_ray_runs_pairs_with_the_same_results_as_the_pool(first_run, lab, tmp_path: Path) -> None:  # noqa: ANN001
    pytest.importorskip("ray")
    root, _, first, _ = first_run
    audit = write_audit(tmp_path, lab, suspects=("student", "control-other"), scan=False)
    result = run_audit(audit, workers=2, ray_address="local")
    assert result.ran == 2 and result.failed == 0
    assert verdicts(result.pairs) == {"student": True, "control-other": False}
    for name in ("student", "control-other"):
        pool_row = next(p for p in first.pairs if p["suspect"] == name)
        ray_row = next(p for p in result.pairs if p["suspect"] == name)
        assert ray_row["pair_key"] == pool_row["pair_key"]
        pool_tests = json.loads(Path(pool_row["findings_path"]).read_text())["tests"]
        ray_tests = json.loads(Path(ray_row["findings_path"]).read_text())["tests"]
        assert [t["result"] for t in ray_tests] == [t["result"] for t in pool_tests]
