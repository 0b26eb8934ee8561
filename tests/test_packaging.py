"""`pip install .` gives a working tool outside the checkout: probes and templates ship inside."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("provenance-*.whl"))


def test_wheel_holds_every_subpackage_and_the_probe_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "provenance/_probes/identity.toml" in names
    shipped = {Path(n).parent.as_posix() for n in names if n.endswith("__init__.py")}
    in_repo = {
        p.parent.relative_to(ROOT).as_posix()
        for p in (ROOT / "provenance").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert in_repo <= shipped, f"subpackages missing from pyproject's package list: {sorted(in_repo - shipped)}"
    for probe_file in (ROOT / "probes").glob("*.toml"):
        assert f"provenance/_probes/{probe_file.name}" in names
    for report_file in ("report.html.j2", "report.css", "fonts.css", "assets/DejaVuSans.ttf", "assets/WenQuanYiMicroHei.ttf",
                        "assets/FONTS.md", "assets/calibration.json"):  # fmt: skip
        assert f"provenance/_reports/{report_file}" in names, report_file


def test_installed_wheel_finds_its_probes_outside_the_checkout(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True)
    code = "import provenance.probes as p; s = p.load_suite('identity'); print(len(s.probes), p.probes_dir())"
    done = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    count, where = done.stdout.split()
    assert int(count) >= 60 and where.startswith(str(target))
