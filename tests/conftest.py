"""Shared fixtures: real tiny transformers models built once per test session."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from provenance.tinymodel import build_tiny_model


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - LabManifest
    """The tiny lab family (seed 0), built once per session; PROVENANCE_LAB_CACHE reuses a build."""
    from provenance.lab import build_lab

    cache = os.environ.get("PROVENANCE_LAB_CACHE")
    out = Path(cache) / "tiny-seed0-panel" if cache else tmp_path_factory.mktemp("lab")
    return build_lab(out, size="tiny", seed=0, panel_controls=4)


#: The tests' lab has six models independent of its teacher: the lab's two controls and four panel controls,
#: so that a derived suspect is tested against a panel of six and an independent one against the other five,
#: the smallest panel whose spread the model-level null estimates (``stats.panel.MIN_PANEL_PARAMETRIC``).
LAB_CONTROLS = ("control-same-data", "control-other", "control-panel-1", "control-panel-2", "control-panel-3",
                "control-panel-4")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded random GPT-2-shaped chat model (safetensors, BPE tokenizer)."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-a", seed=1)


@pytest.fixture(scope="session")
def tiny_model_b(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second, independent tiny model (other seed)."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-b", seed=2)


@pytest.fixture(scope="session")
def report_case(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, tiny_model_b: Path) -> Path:
    """A collected and analysed case with hostile model output (tests/report_case.py), for every report test."""
    from report_case import build_report_case

    return build_report_case(tmp_path_factory.mktemp("report-case"), tmp_path_factory.mktemp("models"), tiny_model, tiny_model_b)


def write_case(
    directory: Path,
    suspect: Path,
    teacher: Path,
    *,
    case_id: str = "test-case",
    limit: int = 6,
    batch_size: int = 4,
    max_requests: int = 100_000,
    extra: str = "",
) -> Path:
    """Write a small valid case file into ``directory`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(
        f"""\
        [case]
        id = "{case_id}"
        title = "test"
        analyst = "pytest"
        seed = 7

        [suspect]
        name = "suspect"
        path = "{suspect}"
        batch_size = {batch_size}

        [[teacher]]
        name = "teacher"
        path = "{teacher}"
        batch_size = {batch_size}

        [suites.identity]
        max_new_tokens = 8
        limit = {limit}

        [budget]
        max_requests = {max_requests}
        """
    )
    path = directory / "case.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path
