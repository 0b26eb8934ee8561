"""What a case file may say, validated with pydantic.

Unknown keys are errors (``extra="forbid"``): a misspelt ``allow_pickel = true``
silently ignored would change what the investigation did without anyone noticing.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from provenance import config, framing

SUITE_NAMES = ("identity", "refusal", "distribution", "errors", "style", "watermark", "membership")
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)  # nan/inf: TOML has them, no key means them


class CaseInfo(_Strict):
    """Who is investigating what."""

    id: str = Field(pattern=_ID_PATTERN, description="short identifier; the evidence store is bound to it")
    title: str = Field(min_length=1)
    analyst: str = Field(min_length=1)
    seed: int = Field(default=config.DEFAULT_SEED, ge=0, le=2**31 - 1)  # seed + sample index fits SQLite, numpy, torch
    alpha: float = Field(default=config.DEFAULT_ALPHA, gt=0, lt=1)
    looks: int = Field(
        default=1, ge=1, le=10,
        description=("group-sequential plan: ask the suites' probes in this many pre-set looks (geometric from 10 "
                     "probes per suite to its limit), test each look at alpha / looks, and stop at the first look "
                     "whose verdict supports derivation (1: one test of every probe)"),
    )
    # Who stands behind the report's opinions: printed in its "Expert's statement" section, verbatim; not part of the design.
    expert: str | None = Field(default=None, min_length=1, max_length=200, description="the expert who gives the report's statement")
    qualifications: str | None = Field(default=None, min_length=1, max_length=2000, description="the expert's qualifications, as stated")
    statement: str | None = Field(default=None, min_length=1, max_length=20000, description="the expert's own statement, printed verbatim")
    panel: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "a reference panel built with `provenance panel build` (its folder, relative to the case file): its "
            "models join the case as controls and their stored answers and scores are reused, not asked again"
        ),
    )


#: Keys that belong to one backend only; setting one for another backend is an error.
#: How a model is deployed: system prompt and sampling, per model (not for recorded transcripts).
_DEPLOYMENT_KEYS = ("system_prompt", "framing", "temperature", "top_p", "max_new_tokens", "stop")
_BACKEND_KEYS = {
    "hf": ("allow_pickle", "trust_remote_code", "device"),
    "openai": (
        "base_url", "model", "api_key_env", "api", "prompt_template", "concurrency",
        "requests_per_minute", "tokens_per_minute", "timeout_s", "max_retries", "input_price_per_million",
        "output_price_per_million",
    ),
    "transcript": (),
}  # fmt: skip


class ModelSpec(_Strict):
    """One model taking part: how to reach it and what it may do when loaded.

    One flat table per model (rather than a union of tables) so that a mistake is
    reported at ``suspect.<key>``; which keys belong to which backend is checked below.
    """

    name: str = Field(pattern=_ID_PATTERN)
    backend: Literal["hf", "openai", "transcript"] = "hf"
    path: str | None = Field(
        default=None,
        min_length=1,
        description=(
            "hf: model directory or .gguf file; transcript: JSONL file; relative paths are relative to the case "
            "file; package:PKG/FILE names a file inside an installed package"
        ),
    )
    allow_pickle: bool = False
    trust_remote_code: bool = False
    device: str = "auto"
    batch_size: int = Field(default=16, ge=1, le=4096)
    claims: list[str] = Field(
        default_factory=list,
        description="names and vendors this model calls itself (a teacher's are what the identity suite looks for)",
    )
    relation: Literal["suspect-base"] | None = Field(
        default=None,
        description=(
            "a control's or reference's known relation to the suspect: \"suspect-base\" = the base the suspect was "
            "tuned from (the matched comparison: did tuning move it toward the teacher?); such a model stays in the "
            "panel but its answers are never reference text for the suspect"
        ),
    )
    # -- how the model is deployed (hf, openai): recorded with every request it answers ---
    system_prompt: str | None = Field(
        default=None,
        description=(
            "the system prompt the model runs behind: absent = what its chat template does without one (its "
            "default, if it has one); \"\" = an empty system turn; text = that text (e.g. an operator's persona)"
        ),
    )
    framing: str | None = Field(
        default=None,
        description=(
            "completion framing for a model without a chat template (a base model): a preset (\"qa\", "
            "\"few-shot-qa\") or a template with {prompt} where the probe goes; replaces the chat template"
        ),
    )
    temperature: float | None = Field(default=None, ge=0, le=5, description="this model's temperature (overrides the suites')")
    top_p: float | None = Field(default=None, gt=0, le=1, description="this model's top-p (overrides the suites')")
    max_new_tokens: int | None = Field(default=None, ge=1, le=4096, description="this model's answer length limit")
    stop: list[str] = Field(default_factory=list, description="stop sequences: an answer ends before the first one")
    # -- backend = "openai": an OpenAI-compatible HTTP endpoint --------------------------
    base_url: str | None = Field(default=None, description="e.g. https://host/v1")
    model: str | None = Field(default=None, min_length=1, description="model name sent with every request")
    api_key_env: str | None = Field(
        default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="NAME of the environment variable holding the key"
    )
    api: Literal["chat", "completions"] = "chat"
    prompt_template: str | None = Field(
        default=None,
        pattern=r"\{prompt\}",
        description="how the server formats a user message as raw text ({prompt} marks it); needed to score",
    )
    input_price_per_million: float | None = Field(
        default=None, ge=0, description="what the API charges per million prompt tokens ([budget] max_cost counts it)")
    output_price_per_million: float | None = Field(
        default=None, ge=0, description="what the API charges per million completion tokens ([budget] max_cost counts it)")
    concurrency: int = Field(default=4, ge=1, le=256)
    requests_per_minute: int | None = Field(default=None, ge=1)
    tokens_per_minute: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    max_retries: int = Field(default=6, ge=0, le=20)

    @property
    def framing_template(self) -> str | None:
        """The framing's template text (a preset's name resolved), or None."""
        return framing.resolve(self.framing).template if self.framing is not None else None

    @property
    def stop_sequences(self) -> tuple[str, ...]:
        """The model's stop sequences: its own, else those its framing preset implies."""
        if self.stop:
            return tuple(self.stop)
        return framing.resolve(self.framing).stop if self.framing is not None else ()

    @field_validator("base_url")
    @classmethod
    def _plain_url(cls, url: str | None) -> str | None:
        # Credentials in a URL would be stored as evidence; the key goes in api_key_env.
        if url is not None and not re.fullmatch(r"https?://[^\s@/?#]+(/[^\s?#@]*)?", url):
            raise ValueError("base_url must look like http(s)://host[:port]/path, with no user, password or query")
        return url

    @model_validator(mode="after")
    def _keys_match_backend(self) -> ModelSpec:
        for backend, keys in _BACKEND_KEYS.items():
            misplaced = [k for k in keys if k in self.model_fields_set and backend != self.backend]
            if misplaced:
                raise ValueError(f"{', '.join(misplaced)} belong(s) to backend = \"{backend}\", not \"{self.backend}\"")
        if any(not s.strip() for s in self.stop):
            raise ValueError("a stop sequence must hold a visible character (an empty one would empty every answer)")
        deployment = [k for k in _DEPLOYMENT_KEYS if k in self.model_fields_set]
        if self.backend == "transcript" and deployment:
            raise ValueError(f"{', '.join(deployment)}: a transcript's answers were recorded; they cannot be re-deployed")
        if self.backend == "openai" and self.api == "completions" and self.system_prompt is not None:
            raise ValueError('system_prompt needs api = "chat" (a completions endpoint takes raw text)')
        if self.framing is not None:
            framing.resolve(self.framing)  # a bad template is named here, before any request
            if self.system_prompt is not None:
                raise ValueError("framing and system_prompt exclude each other: a completion framing has no system turn")
            if self.backend == "openai" and self.api != "completions":
                raise ValueError('framing needs api = "completions" (a chat endpoint applies its own template)')
            if self.backend == "openai" and self.prompt_template is not None:
                raise ValueError("give framing or prompt_template, not both: framing is the prompt template of a completions endpoint")
        if self.backend == "openai":
            if self.path is not None:
                raise ValueError('an openai model has no path; give base_url and model')
            if self.base_url is None or self.model is None:
                raise ValueError('backend = "openai" needs base_url and model')
        elif self.path is None:
            what = "a JSONL file of recorded answers" if self.backend == "transcript" else "the model directory"
            raise ValueError(f"backend = \"{self.backend}\" needs path ({what})")
        return self


class SuiteSpec(_Strict):
    """Options of one probe suite."""

    enabled: bool = True
    probes: str | None = Field(default=None, description="probe file under probes/ (default: the suite's own)")
    max_new_tokens: int = Field(default=config.DEFAULT_MAX_NEW_TOKENS, ge=1, le=4096)
    temperature: float = Field(default=config.DEFAULT_TEMPERATURE, ge=0, le=5)
    top_p: float = Field(default=1.0, gt=0, le=1)
    samples: int = Field(default=1, ge=1, le=1000, description="samples per prompt (seeds seed, seed+1, ...)")
    limit: int | None = Field(default=None, ge=1, description="use only the first N probes")
    sequential: bool | None = Field(
        default=None,
        description=("membership only: test the logged exchanges one by one in their seeded order and stop when the "
                     "evidence decides (default: on; limit then caps the exchanges tested, default the whole log); "
                     "false: test the first limit (default 100) at once"),
    )

    @model_validator(mode="after")
    def _samples_need_sampling(self) -> SuiteSpec:
        if self.samples > 1 and self.temperature == 0:
            raise ValueError("samples > 1 needs temperature > 0 (greedy decoding gives the same answer every time)")
        return self


def check_suite_names(suites: dict[str, SuiteSpec]) -> dict[str, SuiteSpec]:
    """Case and audit files may only name suites this release has (a typo must not silently drop a suite)."""
    unknown = sorted(set(suites) - set(SUITE_NAMES))
    if unknown:
        raise ValueError(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(SUITE_NAMES)}")
    return suites


class Budget(_Strict):
    """Hard limits on how much a collection may ask of the models."""

    max_requests: int = Field(default=100_000, ge=1)
    max_tokens: int | None = Field(
        default=None, ge=1, description="tokens (prompt + completion) that API backends report using; None = no limit"
    )
    max_cost: float | None = Field(
        default=None, gt=0,
        description=("money the API models may cost, at their input/output_price_per_million and the tokens each "
                     "API reports; local models cost nothing; None = no limit"),
    )


class WatermarkParams(_Strict):
    """A watermark scheme's parameters (see ``provenance.watermark.schemes``)."""

    gamma: float = Field(default=config.WATERMARK_GAMMA, gt=0, lt=1, description="green-list fraction")
    delta: float = Field(default=config.WATERMARK_DELTA, ge=0, description="logit bias (generation only)")
    context_width: int | None = Field(
        default=None, ge=0, le=16, description=f"tokens hashed into the green list; default {config.WATERMARK_CONTEXT_WIDTH} for kgw, 0 for unigram"
    )


class WatermarkSpec(_Strict):
    """The watermark a teacher's operator applies: scheme, parameters and where the key is.

    The key is read from ``key_file`` or the environment variable ``key_env`` when
    needed and never stored; evidence and findings carry only its SHA-256.
    """

    teacher: str = Field(description="name of the teacher whose outputs carry this watermark")
    scheme: Literal["kgw", "unigram"]
    params: WatermarkParams = Field(default_factory=WatermarkParams)
    key_id: str = Field(default="", description="a label for the key (not secret)")
    key_file: str | None = Field(default=None, min_length=1, description="file holding the key; relative to the case file")
    key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="NAME of the environment variable holding the key")
    tokenizer: str | None = Field(
        default=None, min_length=1, description="the teacher's tokenizer directory (default: the teacher's model path)"
    )

    @model_validator(mode="after")
    def _one_key_source(self) -> WatermarkSpec:
        if (self.key_file is None) == (self.key_env is None):
            raise ValueError("give exactly one of key_file and key_env")
        if self.scheme == "unigram" and self.params.context_width not in (None, 0):
            raise ValueError("the unigram scheme has a fixed green list: context_width must be 0")
        if self.scheme == "kgw" and self.params.context_width == 0:
            raise ValueError("the kgw scheme hashes previous tokens: context_width must be at least 1")
        return self

    @property
    def context_width(self) -> int:
        if self.params.context_width is not None:
            return self.params.context_width
        return 0 if self.scheme == "unigram" else config.WATERMARK_CONTEXT_WIDTH


class ReportSpec(_Strict):
    """How the evidence report is signed (``[report]``)."""

    tsa_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="RFC 3161 time-stamping authority for the report's PDF signature; without it the signing time is the signer's clock",
    )
    tsa_timeout_s: float = Field(default=30.0, gt=0, le=600, description="seconds to wait for the time-stamping authority")


class CampaignSpec(_Strict):
    """An extraction campaign's logged exchanges, from the teacher vendor's logs (``[campaign]``).

    The transcript a ``provenance traffic scan`` exported (or any transcript file of
    prompt / logged response); the ``membership`` suite asks whether the suspect was
    trained on these very exchanges. Its rows enter the evidence like a transcript
    model's, named ``name``, with the file's SHA-256 and each line number.
    """

    name: str = Field(default="campaign", pattern=_ID_PATTERN, description="name the logged exchanges go by in the evidence")
    path: str = Field(min_length=1, description="transcript JSONL of the campaign's exchanges; relative to the case file")
    teacher: str | None = Field(default=None, description="the teacher the campaign queried (default: the first teacher)")
    scan: str | None = Field(default=None, min_length=1,
                             description="campaigns.json of the traffic scan that found it (accounts, time span, score)")
    rank: int | None = Field(default=None, ge=1, description="the campaign's rank in that campaigns.json")

    def as_model(self) -> ModelSpec:
        """The campaign as a transcript model: what collection asks and the evidence records."""
        return ModelSpec(name=self.name, backend="transcript", path=self.path, batch_size=256)


class CaseFile(_Strict):
    """A whole case file (``case.toml``)."""

    case: CaseInfo
    suspect: ModelSpec
    teacher: list[ModelSpec] = Field(min_length=1, description="one or more candidate teachers")
    control: list[ModelSpec] = Field(default_factory=list)
    reference: list[ModelSpec] = Field(
        default_factory=list,
        description=(
            "models outside the comparison whose answers to the scored suites are reference text for "
            "cross-likelihood ([[reference]]); choose capable models of another lineage than the teacher"
        ),
    )
    suites: dict[str, SuiteSpec] = Field(min_length=1)
    budget: Budget = Field(default_factory=Budget)
    watermark: list[WatermarkSpec] = Field(default_factory=list, description="teachers' watermark schemes ([[watermark]])")
    report: ReportSpec = Field(default_factory=ReportSpec)
    campaign: CampaignSpec | None = Field(default=None, description="a campaign's logged exchanges, for the membership suite")

    @field_validator("suites")
    @classmethod
    def _known_suites(cls, suites: dict[str, SuiteSpec]) -> dict[str, SuiteSpec]:
        return check_suite_names(suites)

    @model_validator(mode="after")
    def _unique_names(self) -> CaseFile:
        names = [m.name for m in self.models()] + ([self.campaign.name] if self.campaign else [])
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"model names must be unique; repeated: {', '.join(duplicates)}")
        teachers = [t.name for t in self.teacher]
        related = [m.name for m in (self.suspect, *self.teacher) if m.relation is not None]
        if related:
            raise ValueError(f"relation is declared on a control or [[reference]] model (its relation to the suspect), "
                             f"not on {', '.join(related)}")
        marked = [w.teacher for w in self.watermark]
        for name in marked:
            if name not in teachers:
                raise ValueError(f"[[watermark]] names teacher {name!r}, which is not a teacher of this case")
        if len(set(marked)) != len(marked):
            raise ValueError("at most one [[watermark]] table per teacher")
        self._check_membership(teachers)
        if self.budget.max_cost is not None:
            unpriced = [m.name for m in self.models() if m.backend == "openai"
                        and (m.input_price_per_million is None or m.output_price_per_million is None)]
            if unpriced:
                raise ValueError(f"[budget] max_cost needs input_price_per_million and output_price_per_million for every "
                                 f"API model; missing for {', '.join(unpriced)}")
        return self

    def _check_membership(self, teachers: list[str]) -> None:
        membership = self.suites.get("membership")
        sequential = sorted(name for name, suite in self.suites.items() if suite.sequential is not None and name != "membership")
        if sequential:
            raise ValueError(f"sequential is a setting of the membership suite only, not of {', '.join(sequential)}")
        if self.case.looks > 1 and membership is not None and membership.enabled:
            raise ValueError("looks (the group-sequential plan of the panel suites) and the membership suite exclude "
                             "each other: the membership suite tests sequentially on its own; run it in its own case")
        if membership is not None and membership.enabled and self.campaign is None:
            raise ValueError("the membership suite needs a [campaign] table (the campaign's logged exchanges)")
        if self.campaign is None:
            return
        if self.campaign.teacher is not None and self.campaign.teacher not in teachers:
            raise ValueError(f"[campaign] names teacher {self.campaign.teacher!r}, which is not a teacher of this case")
        if (self.campaign.scan is None) != (self.campaign.rank is None):
            raise ValueError("[campaign] scan and rank go together (the campaigns.json and the campaign's rank in it)")
        if membership is not None and membership.enabled:
            teacher = self.campaign_teacher()
            temperature = teacher.temperature if teacher.temperature is not None else membership.temperature
            if temperature == 0:
                raise ValueError(
                    "the membership suite samples fresh twins of the logged answers: set [suites.membership] "
                    "temperature (and top_p, max_new_tokens) to the settings the campaign's answers were sampled with; "
                    "greedy decoding gives no twins"
                )
            if membership.samples != 1:
                raise ValueError("the membership suite takes one twin per logged answer: samples must be 1")

    def campaign_teacher(self) -> ModelSpec:
        """The teacher the campaign queried: the one ``[campaign] teacher`` names, else the first."""
        name = self.campaign.teacher if self.campaign is not None and self.campaign.teacher else self.teacher[0].name
        return next(t for t in self.teacher if t.name == name)

    def watermark_of(self, teacher: str) -> WatermarkSpec | None:
        """The watermark the teacher ``teacher`` applies, if the case names one."""
        return next((w for w in self.watermark if w.teacher == teacher), None)

    def models(self) -> list[ModelSpec]:
        """Every model in the case: suspect first, then teachers, controls and reference models."""
        return [self.suspect, *self.teacher, *self.control, *self.reference]

    def role_of(self, name: str) -> str:
        if self.campaign is not None and name == self.campaign.name:
            return "campaign"
        if name == self.suspect.name:
            return "suspect"
        if any(m.name == name for m in self.teacher):
            return "teacher"
        if any(m.name == name for m in self.reference):
            return "reference"
        return "control"

    def enabled_suites(self) -> dict[str, SuiteSpec]:
        return {name: spec for name, spec in self.suites.items() if spec.enabled}
