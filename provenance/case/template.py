"""The commented case-file template written by ``provenance case init``."""

from __future__ import annotations

from pathlib import Path

from provenance.case.loader import CASE_FILE_NAME
from provenance.errors import CaseFileError
from provenance.files import atomic_write, make_folder

TEMPLATE = """\
# A provenance case: which model is suspected of being derived from which.
# Every key is checked: an unknown or misspelt key is an error, not ignored.

[case]
id = "{case_id}"                  # letters, digits, . _ -; the evidence store is bound to it
title = "Is the suspect distilled from the teacher?"
analyst = "Your Name"
seed = 20260101                   # master seed; each sampled request derives its own from it
alpha = 0.01                      # family-wise significance level for the verdict
# looks = 5                       # ask the probes in 5 pre-set looks, each tested at alpha / 5; stop when decided
# expert = "Dr. Dana Expert"      # optional: the report's "Expert's statement" section, printed verbatim
# qualifications = "PhD in machine learning; 12 years of forensic analysis"
# statement = "I have read the findings below; my opinion is ..."
# panel = "../panels/open-small"  # a reusable reference panel (`provenance panel build`), relative to this
#                                 # file: its models join the [[control]] models below, and their stored
#                                 # answers and scores are copied, not asked again

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

# The panel: independent models known NOT to be derived from the teacher. Every family test
# computes its statistic for the suspect and for each of them the same way, and asks whether
# the suspect is an outlier among independent models. The panel's size decides what can be
# decided: with fewer than 5 models only the exact rank p-value, (1 + models at least as
# close) / (K + 1), is used, and its floor 1/(K + 1) is far above alpha = 0.01; from 5 models
# on, a prediction interval over the spread between models (checked on the panel) can reach
# it. Use 6 to 10: of about the suspect's size and quality (a suspect more capable than every
# panel model is "not decidable"), from other lineages, some distilled from OTHER teachers.
# Reference models ([[reference]]) join the panel for the suites they answer.
[[control]]
name = "control-1"
path = "models/control-1"

[[control]]
name = "control-2"
path = "models/control-2"

[[control]]
name = "control-3"
path = "models/control-3"

[[control]]
name = "control-4"
path = "models/control-4"

[[control]]
name = "control-5"
path = "models/control-5"

[[control]]
name = "control-6"
path = "models/control-6"
# relation = "suspect-base"       # this control is the base the suspect was tuned from: it stays in the
#                                 # panel (the matched comparison), its answers are never reference text
#                                 # for the suspect

# Reference models (optional): more independent models that answer the distribution suite only,
# as authors of reference text and as panel members of its tests.
# [[reference]]
# name = "reference"
# path = "models/reference"

# Any model may instead be reached over an OpenAI-compatible API:
# [[control]]
# name = "api-model"
# backend = "openai"
# base_url = "https://api.example.com/v1"
# model = "vendor-model-name"        # sent with every request
# api_key_env = "VENDOR_API_KEY"     # the NAME of the variable holding the key, never the key
# api = "chat"                       # or "completions" (raw text through prompt_template)
# prompt_template = "<|user|>\\n{{prompt}}\\n<|assistant|>\\n"  # how the server formats a message; needed to score
# concurrency = 4                    # requests in flight at once
# requests_per_minute = 60           # pacing below the provider's limits
# tokens_per_minute = 100000
# timeout_s = 60
# max_retries = 6                    # on 429, 408, 5xx, timeouts, dropped connections
#
# or read from answers recorded elsewhere (JSONL: prompt, response, model, timestamp, source, logprobs?):
# backend = "transcript"
# path = "recorded.jsonl"

# Probe suites to run, each with its own options.
[suites.identity]
max_new_tokens = 48
temperature = 0.0                 # 0 = greedy
samples = 1                       # samples per prompt (needs temperature > 0 to differ)
# limit = 20                      # use only the first N probes

# Membership: was the suspect trained on the very exchanges a campaign harvested from the teacher?
# (the transcript `provenance traffic scan` exports per flagged campaign)
# [campaign]
# path = "scan-out/campaigns/campaign-001.jsonl"
# teacher = "teacher"              # the teacher the campaign queried (default: the first)
# scan = "scan-out/campaigns.json" # with rank: the report names the accounts, span and score
# rank = 1
#
# [suites.membership]
# sequential = true                # test the logged exchanges one by one (seeded order), stop when decided
# limit = 456                      # at most this many logged exchanges (default: the whole log; 100 if not sequential)
# temperature = 1.0                # the campaign's sampling settings: the teacher's fresh twins use them
# top_p = 1.0
# max_new_tokens = 256

[budget]
max_requests = 100000             # collection stops cleanly when reached; rerun to resume
# max_tokens = 2000000             # tokens API models report using (prompt + completion); same rule
"""


def init_case(directory: str | Path, *, force: bool = False) -> Path:
    """Write a commented ``case.toml`` template into ``directory``."""
    directory = Path(directory)
    target = directory / CASE_FILE_NAME
    if target.exists() and not force:
        raise CaseFileError(f"{target} already exists", hint="pass --force to overwrite it")
    make_folder(directory)
    case_id = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in directory.resolve().name) or "case"
    atomic_write(target, TEMPLATE.format(case_id=case_id.lstrip("._-") or "case"))
    return target
