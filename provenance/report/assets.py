"""Where the report's own files are.

Templates, CSS and fonts ship inside the wheel as ``provenance._reports`` (the
``reports/`` folder of the repository). The only URLs a report may load are files
under that folder: see :mod:`provenance.report.fetcher`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def reports_dir() -> Path:
    """The folder holding the templates, CSS and the ``assets/`` folder (fonts)."""
    return Path(str(resources.files("provenance._reports"))).resolve()


def base_url() -> str:
    """Base URL for relative links in the templates: the reports folder itself."""
    return reports_dir().as_uri() + "/"
