"""The only URLs a report may load: the report's own packaged files.

weasyprint fetches stylesheets, fonts and images through a URL fetcher; ours serves
regular files under the reports folder and refuses everything else (other files,
``data:`` and network URLs, symlinks that lead out), so nothing a model wrote can make
the renderer read a local file or call out, even if escaping failed. Kept apart from
:mod:`provenance.report.assets` because importing weasyprint loads Pango.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from provenance.report.assets import reports_dir


class AssetOnlyFetcher(URLFetcher):
    """A weasyprint URL fetcher that serves only regular files under ``root``.

    Every URL asked for is recorded in ``served`` or ``refused`` so a caller (and a
    test) can see what the renderer tried to load.
    """

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=False)
        self.root = (root or reports_dir()).resolve()
        self.served: list[str] = []
        self.refused: list[str] = []

    def _path(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query:
            return None
        path = Path(url2pathname(unquote(parts.path))).resolve()  # resolves "..", symlinks
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Serve a packaged asset; raise (weasyprint then skips the resource) for anything else."""
        path = self._path(url)
        if path is None:
            self.refused.append(url)
            raise ValueError(f"a report may load only its own packaged assets; refused {url[:200]!r}")
        self.served.append(url)
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix == ".ttf":
            mime = "font/ttf"
        return URLFetcherResponse(url, path.read_bytes(), headers={"Content-Type": mime})
