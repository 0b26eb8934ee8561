"""The commented case-file template written by ``provenance case init``."""

from __future__ import annotations

from pathlib import Path

from provenance.case.loader import CASE_FILE_NAME
from provenance.errors import CaseFileError

TEMPLATE = """\
# A provenance case: which model is suspected of being derived from which.
# Every key is checked: an unknown or misspelt key is an error, not ignored.

[case]
id = "{case_id}"                  # letters, digits, . _ -; the evidence store is bound to it
title = "Is the suspect distilled from the teacher?"
analyst = "Your Name"
seed = 20260101                   # master seed; each sampled request derives its own from it
alpha = 0.01                      # family-wise significance level for the verdict

# The model under suspicion. Paths are relative to this file.
[suspect]
name = "suspect"
backend = "hf"                    # local transformers model directory
path = "models/suspect"
allow_pickle = false              # true lets .bin/.pt pickle checkpoints load (they can run code)
trust_remote_code = false         # true runs the model's own Python code (read it first)
device = "auto"                   # "auto" uses CUDA when present
batch_size = 16

# One or more candidate teachers.
[[teacher]]
name = "teacher"
path = "models/teacher"
# claims = ["Aurora", "Northwind Labs"]   # names the teacher calls itself; found from its answers if left out

# Zero or more independent controls: models known NOT to be derived from the teacher.
# They calibrate how similar unrelated models look.
[[control]]
name = "control"
path = "models/control"

# Probe suites to run, each with its own options.
[suites.identity]
max_new_tokens = 48
temperature = 0.0                 # 0 = greedy
samples = 1                       # samples per prompt (needs temperature > 0 to differ)
# limit = 20                      # use only the first N probes

[budget]
max_requests = 100000             # collection stops cleanly when reached; rerun to resume
"""


def init_case(directory: str | Path, *, force: bool = False) -> Path:
    """Write a commented ``case.toml`` template into ``directory``."""
    directory = Path(directory)
    target = directory / CASE_FILE_NAME
    if target.exists() and not force:
        raise CaseFileError(f"{target} already exists", hint="pass --force to overwrite it")
    directory.mkdir(parents=True, exist_ok=True)
    case_id = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in directory.resolve().name) or "case"
    target.write_text(TEMPLATE.format(case_id=case_id.lstrip("._-") or "case"), encoding="utf-8")
    return target
