"""Case files: the template is valid, and every mistake names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from provenance.case import init_case, load_case
from provenance.errors import CaseFileError

from conftest import write_case


def test_template_from_init_is_a_valid_case(tmp_path: Path) -> None:
    path = init_case(tmp_path / "my case")
    case = load_case(path.parent)
    assert case.id == "my-case"
    # a panel the model-level null can decide with at alpha = 0.01 (stats.panel.MIN_PANEL_PARAMETRIC or more)
    assert [m.name for m in case.spec.models()] == ["suspect", "teacher", *(f"control-{i}" for i in range(1, 7))]
    assert case.model_path(case.spec.suspect) == path.parent / "models/suspect"
    assert len(case.sha256) == 64


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    init_case(tmp_path)
    with pytest.raises(CaseFileError, match="already exists"):
        init_case(tmp_path)
    init_case(tmp_path, force=True)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.replace("batch_size = 4\n", "batch_sise = 4\n", 1), r"suspect\.batch_sise: unknown key"),
        (lambda t: t.replace('analyst = "pytest"\n', ""), r"case\.analyst: required key is missing"),
        (lambda t: t.replace("seed = 7", 'seed = "seven"'), r"case\.seed: .*integer"),
        (lambda t: t + "\n[suites.telepathy]\n", r"suites: .*unknown suite\(s\) telepathy"),
        (lambda t: t.replace('name = "teacher"', 'name = "suspect"'), r"model names must be unique; repeated: suspect"),
        (lambda t: t.replace("limit = 6", "limit = 6\nsamples = 3"), r"samples > 1 needs temperature > 0"),
        (lambda t: t.replace("[case]", "[case\n"), r"not valid TOML"),
        (lambda t: t.replace('[[teacher]]\nname = "teacher"', '[[teacher]]\nname = "teacher"\nallow_pickle = "yes"'),
         r"teacher\[0\]\.allow_pickle"),
    ],
)
def test_bad_case_file_names_file_and_key(tmp_path: Path, edit, expected: str) -> None:
    path = write_case(tmp_path, Path("/m/a"), Path("/m/b"))
    path.write_text(edit(path.read_text()))
    with pytest.raises(CaseFileError, match=expected) as info:
        load_case(path)
    assert str(path) in info.value.message


def test_missing_case_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError, match="no case file") as info:
        load_case(tmp_path)
    assert "provenance case init" in (info.value.hint or "")


def test_relation_is_declared_on_a_panel_model_only(tmp_path: Path) -> None:
    extra = '[[control]]\nname = "base"\npath = "m/base"\nrelation = "suspect-base"\n'
    case = load_case(write_case(tmp_path / "ok", Path("m/s"), Path("m/t"), extra=extra).parent)
    assert case.spec.control[0].relation == "suspect-base"
    text = (tmp_path / "ok" / "case.toml").read_text().replace('path = "m/t"', 'path = "m/t"\nrelation = "suspect-base"', 1)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "case.toml").write_text(text)
    with pytest.raises(CaseFileError, match="relation"):
        load_case(tmp_path / "bad")


def test_keys_added_later_stay_out_of_the_design_at_their_defaults(tmp_path: Path) -> None:
    """A store whose design was recorded before [case] looks or the money budget existed still matches its case
    file; set, they are design (pre-registered, and a change is reported)."""
    from provenance.journal import design_of

    path = write_case(tmp_path / "c", tmp_path / "s", tmp_path / "t")
    plain = design_of(load_case(path).spec)
    assert "looks" not in plain["case"] and "max_cost" not in plain["budget"]
    assert "input_price_per_million" not in plain["suspect"]
    path.write_text(path.read_text().replace("seed = 7\n", "seed = 7\nlooks = 3\n", 1))
    assert design_of(load_case(path).spec)["case"]["looks"] == 3
