"""Watermark radioactivity on the lab family, where the truth is known by construction.

teacher-wm samples through the KGW processor; student-wm was distilled from those
samples; student from the same weights' unwatermarked samples; the controls never
saw either. The full curves (queries to p < 1e-3, reading-mode tokens, 500-run
false-positive rates) are measured in benchmarks/watermark_radioactivity.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provenance.api import run_case
from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend
from provenance.lab import watermark_hook
from provenance.probes import load_suite
from provenance.watermark import scheme_from_config
from provenance.watermark.detect import detect_sequences, tokenize

ALPHA = 0.01


def _prompts(n: int) -> list[str]:
    return [p.prompt for p in load_suite("watermark").probes[:n]]


def test_teacher_wm_outputs_are_detected_within_200_scored_tokens_and_plain_outputs_are_not(lab) -> None:  # noqa: ANN001
    config = watermark_hook.read_watermark(lab.path("teacher-wm"))
    assert config is not None and lab.models["student-wm"].notes.startswith("watermark applied")
    scheme = scheme_from_config(config)
    backend = HFBackend.load(lab.path("teacher-wm"), device="cpu", batch_size=40)
    prompts = _prompts(40)
    params = GenerationParams(max_new_tokens=48, temperature=0.7, top_p=0.95)
    backend.logits_processors = watermark_hook.sampling_processors(lab.path("teacher-wm"), backend.tokenizer)
    marked = tokenize(backend.tokenizer, [g.text for g in backend.generate(prompts, params, 1)])
    backend.logits_processors = []
    plain = tokenize(backend.tokenizer, [g.text for g in backend.generate(prompts, params, 1)])
    ptoks = tokenize(backend.tokenizer, prompts)
    # the shortest run of answers that gives 200 scored tokens
    k = 1
    while detect_sequences(marked[: k + 1], scheme, prompts=ptoks[: k + 1]).selection.n <= 200 and k < len(marked) - 1:
        k += 1
    hit = detect_sequences(marked[:k], scheme, prompts=ptoks[:k])
    assert hit.selection.n <= 200 and hit.result.p_value < 1e-6, (hit.selection.n, hit.result.p_value)
    assert detect_sequences(plain, scheme, prompts=ptoks).result.p_value > ALPHA


def test_case_finds_student_wm_radioactive_and_clears_the_unwatermarked_student_and_controls(lab, tmp_path: Path) -> None:  # noqa: ANN001
    case_dir = tmp_path / "wm-case"
    case_dir.mkdir()
    key_file = lab.path("teacher-wm") / watermark_hook.WATERMARK_FILE
    key = str(json.loads(key_file.read_text(encoding="utf-8"))["key"])
    controls = ("student", "control-other")  # all of them, over more queries: benchmarks/watermark_radioactivity.py
    text = f"""
[case]
id = "wm-lab"
title = "watermark radioactivity on the lab"
analyst = "pytest"
seed = 3

[suspect]
name = "student-wm"
path = "{lab.path('student-wm')}"
batch_size = 64

[[teacher]]
name = "aurora"
path = "{lab.path('teacher-wm')}"
batch_size = 64
""" + "".join(
        f'\n[[control]]\nname = "{c}"\npath = "{lab.path(c)}"\nbatch_size = 64\n' for c in controls
    ) + f"""
[suites.watermark]
temperature = 0.7
top_p = 0.95
max_new_tokens = 48
samples = 2
limit = 40

[[watermark]]
teacher = "aurora"
scheme = "kgw"
key_id = "lab-seed-0"
key_file = "{key_file}"
params = {{ gamma = 0.25, context_width = 1 }}
"""
    (case_dir / "case.toml").write_text(text, encoding="utf-8")
    result = run_case(case_dir)
    findings = result.findings
    tests = {t.test_id: t for t in findings.tests}
    closed = tests["closed-model-green-hits"]
    assert closed.reject and closed.result["p_value"] < 1e-3, closed.summary
    assert closed.result["details"]["key_sha256"] == scheme_from_config(json.loads(key_file.read_text())).key.sha256
    assert closed.result["details"]["exhibits"][0]["tokens"]
    assert "reading-mode-green-mass" in tests
    for control in controls:
        for mode in ("closed-model-green-hits", "reading-mode-green-mass"):
            t = tests[f"{mode}-control-{control}"]
            assert not t.in_family and t.result["p_value"] > ALPHA, (control, mode, t.summary)
    assert findings.verdicts[0].supports_derivation
    # the key is used but never stored: not in the evidence, not in the findings
    assert key.encode() not in (case_dir / "evidence.sqlite").read_bytes()
    assert key not in (case_dir / "findings.json").read_text(encoding="utf-8")


def test_a_case_without_the_key_skips_the_suite_with_a_reason(tmp_path: Path, tiny_model: Path) -> None:
    from conftest import write_case

    from provenance.api import analyze
    from provenance.collect import collect
    from provenance.case import load_case

    path = write_case(tmp_path / "c", tiny_model, tiny_model, limit=2, extra="""
[suites.watermark]
max_new_tokens = 8
limit = 2

[[watermark]]
teacher = "teacher"
scheme = "kgw"
key_env = "PROVENANCE_TEST_WM_KEY_UNSET"
""")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROVENANCE_TEST_WM_KEY_UNSET", "k")
        collect(load_case(path))
    findings, _ = analyze(path)
    reasons = [s.reason for s in findings.skipped if s.suite == "watermark"]
    assert reasons and "PROVENANCE_TEST_WM_KEY_UNSET" in reasons[0]
