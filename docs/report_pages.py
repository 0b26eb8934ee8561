"""Regenerate the README's two report pictures from a rendered demo report, so they stay true.

    python docs/report_pages.py casefiles/demo/report.pdf      # writes docs/report-cover.png, docs/report-results.png

The cover is page 1; the results picture is the page on which section 4 ("Results")
begins, found by its text (pypdf), not by a page number that moves when the report
grows. Pages are drawn by poppler's ``pdftoppm`` (Debian ``poppler-utils``).
``--all DIR`` also writes every page to DIR, to look at before a release.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from pypdf import PdfReader

DOCS = Path(__file__).resolve().parent
RESOLUTION = 90  # pixels per inch: a page is 745 x 1053 pixels, legible in the README at half width


def results_page(pdf: Path) -> int:
    """1-based number of the page on which the results section begins."""
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        if "4. Results" in (page.extract_text() or ""):
            return number
    raise SystemExit(f"{pdf}: no page holds '4. Results'")


def render(pdf: Path, page: int, out: Path, resolution: int = RESOLUTION) -> Path:
    """Page ``page`` of ``pdf`` as the PNG ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "page"
        subprocess.run(["pdftoppm", "-png", "-r", str(resolution), "-f", str(page), "-l", str(page), "-singlefile",
                        str(pdf), str(stem)], check=True)
        shutil.move(f"{stem}.png", out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", type=Path)
    parser.add_argument("--all", type=Path, default=None, help="also write every page to this folder (page-NN.png)")
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        raise SystemExit("pdftoppm not found: apt-get install poppler-utils")
    print(render(args.pdf, 1, DOCS / "report-cover.png"))
    print(render(args.pdf, results_page(args.pdf), DOCS / "report-results.png"))
    if args.all is not None:
        args.all.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(args.pdf), str(args.all / "page")], check=True)
        print(f"every page in {args.all}")


if __name__ == "__main__":
    main()
