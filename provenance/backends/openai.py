"""OpenAI-compatible HTTP endpoints: the suspects that are only reachable through an API.

The same three capabilities as a local model, mapped onto the public API:

* ``generate``: ``/chat/completions`` (the prompt as one user message) or, with
  ``api = "completions"``, ``/completions`` with the prompt put into ``prompt_template``;
  ``max_tokens``, ``temperature``, ``top_p`` and ``seed`` are sent as given, and per-token
  log-probs are asked for when the server has shown it returns them.
* ``score``: the legacy completions form that lm-evaluation-harness uses
  (``echo = true, max_tokens = 0, logprobs = 1``): the server returns the log-prob of
  every prompt token, and the continuation's tokens are those whose ``text_offset``
  lies past the formatted prompt. This needs ``prompt_template`` (how the server would
  format the user message as raw text), because a chat endpoint never shows it.
* ``top_logprobs``: one generated token with ``top_logprobs = k``.

Capabilities are declared from what the server actually returns, found with at most
three one-token probes the first time a capability is asked about, never from
configuration alone. Each response carries identity evidence in ``meta`` (endpoint,
requested and returned model, system fingerprint, response id, filtered headers,
latency, timestamp, retries, usage), which collection stores with the row.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from provenance.backends.base import (
    Backend,
    BatchInterrupted,
    Capability,
    Generation,
    GenerationParams,
    ModelIdentity,
    Scored,
    TopToken,
)
from provenance.backends.openai_http import HttpResult, OpenAIHttpClient, header_problem
from provenance.backends.ratelimit import RateLimiter
from provenance.errors import CapabilityError, EndpointError

_T = TypeVar("_T")
_PROBE_TEXT = "Hello"
_CHARS_PER_TOKEN = 3  # a conservative guess for pacing before the server reports usage


def openai_identity(spec: Any) -> ModelIdentity:
    """Who answers, known without contacting the server: endpoint, model name, API form.

    Fingerprints and returned model names vary per response, so they are stored per
    row (``meta``) rather than here; the identity must be the same on every re-run so
    that stored answers are found again.
    """
    return ModelIdentity(
        name=spec.name,
        backend="openai",
        source=spec.base_url.rstrip("/"),
        details={
            "endpoint": spec.base_url.rstrip("/"),
            "model": spec.model,
            "api": spec.api,
            "prompt_template": spec.prompt_template,
        },
    )


def api_key_from_env(variable: str | None) -> str | None:
    """The API key from the environment variable the case file names (never the file)."""
    if variable is None:
        return None
    key = os.environ.get(variable)
    if not key:
        raise EndpointError(
            f"the environment variable {variable} named by api_key_env is not set",
            hint=f"export {variable}=<your key> before running; the case file names the variable, never the key",
        )
    problem = header_problem(key)
    if problem:
        raise EndpointError(
            f"the API key in {variable} holds {problem}, which an HTTP header cannot carry",
            hint=f"check the value of {variable}: copied with a line end, a space or a look-alike letter?",
        )
    return key



class OpenAIBackend(Backend):
    """A model behind an OpenAI-compatible endpoint (OpenAI, vLLM, llama.cpp, ...)."""

    def __init__(
        self,
        client: OpenAIHttpClient,
        identity: ModelIdentity,
        *,
        model: str,
        api: str = "chat",
        prompt_template: str | None = None,
        concurrency: int = 4,
        system_prompt: str | None = None,
    ) -> None:
        self.client = client
        #: Sent as the system message of every chat request (None: none is sent; the server's default applies).
        self.system_prompt = system_prompt
        self._identity = identity
        self.model = model
        self.api = api
        self.prompt_template = prompt_template if prompt_template or api != "completions" else "{prompt}"
        self.concurrency = concurrency
        self._caps: frozenset[Capability] | None = None
        self._token_logprobs = False
        self._probe_lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: Any, identity: ModelIdentity | None = None) -> OpenAIBackend:
        """The backend a case file's ``backend = "openai"`` entry describes."""
        client = OpenAIHttpClient(
            spec.base_url,
            api_key=api_key_from_env(spec.api_key_env),
            api_key_env=spec.api_key_env,
            timeout_s=spec.timeout_s,
            max_retries=spec.max_retries,
            limiter=RateLimiter(spec.requests_per_minute, spec.tokens_per_minute),
            max_connections=spec.concurrency,
        )
        return cls(
            client,
            identity or openai_identity(spec),
            model=spec.model,
            api=spec.api,
            prompt_template=spec.prompt_template or spec.framing_template,  # a framing is the completions template
            concurrency=spec.concurrency,
            system_prompt=spec.system_prompt,
        )

    @property
    def identity(self) -> ModelIdentity:
        return self._identity

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------ capabilities

    @property  # type: ignore[override]
    def capabilities(self) -> frozenset[Capability]:
        """What the server has shown it does; probed once, on first use."""
        if self._caps is None:
            with self._probe_lock:
                if self._caps is None:
                    self._caps = self._probe()
        return self._caps

    def _probe(self) -> frozenset[Capability]:
        caps = {Capability.GENERATE}
        if self.api == "chat":
            result = self.client.post(
                "/chat/completions",
                self._chat_body(_PROBE_TEXT, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=2),
                accept_4xx=True,
            )
            content = _chat_logprob_content(result) if result else None
            self._token_logprobs = bool(content) and isinstance(content[0].get("logprob"), (int, float))
            if self._token_logprobs and content[0].get("top_logprobs"):
                caps.add(Capability.TOP_LOGPROBS)
        else:
            result = self.client.post(
                "/completions", self._completion_body(_PROBE_TEXT, max_tokens=1, logprobs=2), accept_4xx=True
            )
            lp = _legacy_logprobs(result) if result else None
            self._token_logprobs = bool(lp and lp.get("token_logprobs"))
            if self._token_logprobs and (lp or {}).get("top_logprobs"):
                caps.add(Capability.TOP_LOGPROBS)
        if self.prompt_template is not None:
            result = self.client.post("/completions", self._echo_body(_PROBE_TEXT, " world"), accept_4xx=True)
            lp = _legacy_logprobs(result) if result else None
            if lp and len(lp.get("token_logprobs") or ()) >= 2 and len(lp.get("text_offset") or ()) >= 2:
                if isinstance(lp["token_logprobs"][-1], (int, float)):
                    caps.add(Capability.SCORE)
        return frozenset(caps)

    # ------------------------------------------------------------ request bodies

    def _format(self, prompt: str) -> str:
        assert self.prompt_template is not None
        return self.prompt_template.replace("{prompt}", prompt)

    def _chat_body(self, prompt: str, **fields: Any) -> dict[str, Any]:
        system = [] if self.system_prompt is None else [{"role": "system", "content": self.system_prompt}]
        return {"model": self.model, "messages": [*system, {"role": "user", "content": prompt}], **fields}

    def _completion_body(self, prompt: str, **fields: Any) -> dict[str, Any]:
        return {"model": self.model, "prompt": self._format(prompt), **fields}

    def _echo_body(self, prompt: str, continuation: str) -> dict[str, Any]:
        return {
            "model": self.model,
            "prompt": self._format(prompt) + continuation,
            "max_tokens": 0,
            "echo": True,
            "logprobs": 1,
            "temperature": 0.0,
        }

    def _sampling(self, params: GenerationParams, seed: int) -> dict[str, Any]:
        body = {"max_tokens": params.max_new_tokens, "temperature": params.temperature, "top_p": params.top_p, "seed": seed}
        return {**body, "stop": list(params.stop)} if params.stop else body

    @staticmethod
    def _estimate(text: str, max_tokens: int) -> int:
        return len(text) // _CHARS_PER_TOKEN + max_tokens + 8

    # ------------------------------------------------------------ evidence

    def _meta(self, result: HttpResult, path: str) -> dict[str, Any]:
        body = result.body
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else None
        meta = {
            "endpoint": f"{self.client.base_url}{path}",
            "requested_model": self.model,
            "returned_model": body.get("model"),
            "system_fingerprint": body.get("system_fingerprint"),
            "response_id": body.get("id"),
            "created": body.get("created"),
            "headers": result.headers,
            "latency_s": round(result.latency_s, 6),
            "timestamp": result.timestamp,
            "attempts": result.attempts,
            "retries": result.retries,
            "usage": usage,
            "capabilities": sorted(c.value for c in (self._caps or ())),
        }
        return {k: (self.client.redact(v) if isinstance(v, str) else v) for k, v in meta.items()}

    def _post(self, path: str, body: dict[str, Any], est_text: str) -> HttpResult:
        result = self.client.post(path, body, est_tokens=self._estimate(est_text, int(body.get("max_tokens") or 0)))
        assert result is not None  # only probes accept a 4xx
        return result

    def _map(self, fn: Callable[[int], _T], count: int) -> list[_T]:
        """``fn(i)`` for every index, ``concurrency`` at a time, results in order.

        If a request fails for good, the others still finish (they are paid for) and
        ``BatchInterrupted`` carries their answers, so collection can store them.
        """
        done: dict[int, _T] = {}
        failure: BaseException | None = None
        if count <= 1 or self.concurrency == 1:
            for i in range(count):
                try:
                    done[i] = fn(i)
                except Exception as exc:  # noqa: BLE001 - re-raised below, with what was obtained
                    failure = exc
                    break
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, count)) as pool:
                futures = {pool.submit(fn, i): i for i in range(count)}
                for future, i in futures.items():
                    try:
                        done[i] = future.result()
                    except Exception as exc:  # noqa: BLE001
                        failure = failure or exc
        if failure is not None:
            if not done:
                raise failure
            raise BatchInterrupted(done, failure) from failure
        return [done[i] for i in range(count)]

    def _shape_error(self, path: str, what: str) -> EndpointError:
        return EndpointError(
            f"{self.client.base_url}{path} answered in an unexpected shape ({what})",
            hint="the server is not OpenAI-compatible for this request; check base_url and api in the case file",
        )

    # ------------------------------------------------------------ the three capabilities

    def generate(self, prompts: Sequence[str], params: GenerationParams, seed: int) -> list[Generation]:
        """One request per prompt (``n = 1``); see ``sample`` for several choices per request."""
        self.capabilities  # noqa: B018 - probe first: it decides whether to ask for log-probs
        return self._map(lambda i: self._generate_n(prompts[i], params, seed, 1)[0], len(prompts))

    def sample(self, prompt: str, params: GenerationParams, seed: int, n: int) -> list[Generation]:
        """``n`` choices for one prompt in one request (the API's ``n``); cheaper on the prompt tokens."""
        if n < 1:
            raise ValueError("n must be at least 1")
        self.capabilities  # noqa: B018
        return self._generate_n(prompt, params, seed, n)

    def _generate_n(self, prompt: str, params: GenerationParams, seed: int, n: int) -> list[Generation]:
        sampling = self._sampling(params, seed)
        if n > 1:
            sampling["n"] = n
        if self.api == "chat":
            path = "/chat/completions"
            body = self._chat_body(prompt, **sampling, **({"logprobs": True} if self._token_logprobs else {}))
        else:
            path = "/completions"
            body = self._completion_body(prompt, **sampling, **({"logprobs": 1} if self._token_logprobs else {}))
        result = self._post(path, body, prompt)
        choices = sorted(result.body["choices"], key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
        if len(choices) != n:
            raise self._shape_error(path, f"{len(choices)} choices for n = {n}")
        meta = self._meta(result, path)
        return [self._parse_choice(path, choice, meta) for choice in choices]

    def _parse_choice(self, path: str, choice: Any, meta: dict[str, Any]) -> Generation:
        try:
            if self.api == "chat":
                text = choice["message"]["content"] or ""
                content = (choice.get("logprobs") or {}).get("content")
                logprobs = tuple(_logprob(t["logprob"]) for t in content) if content else None
            else:
                text = choice["text"]
                values = (choice.get("logprobs") or {}).get("token_logprobs")
                logprobs = tuple(_logprob(x) for x in values) if values else None
        except _NotLogProb as exc:
            raise self._shape_error(path, str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._shape_error(path, f"choice without {exc}") from None
        if not isinstance(text, str):
            raise self._shape_error(path, f"answer text is a {type(text).__name__}, not a string")
        clean = self.client.redact(text)
        if clean != text:  # a server that quotes the key back: stored (and hashed) without it, and the row says so
            meta = {**meta, "redacted": "the API key, quoted by the server in its answer, was replaced by [redacted]"}
        return Generation(text=clean, logprobs=logprobs, finish_reason=choice.get("finish_reason") or "stop", meta=meta)

    def score(self, prompts: Sequence[str], continuations: Sequence[str]) -> list[Scored]:
        if len(prompts) != len(continuations):
            raise ValueError("score() needs one continuation per prompt")
        if Capability.SCORE not in self.capabilities:
            raise CapabilityError(
                f"{self._identity.name}: the endpoint did not return prompt log-probs (echo), so it cannot score",
                hint="set prompt_template for this model if its server supports echo = true with max_tokens = 0",
            )
        return self._map(lambda i: self._score_one(prompts[i], continuations[i]), len(prompts))

    def _score_one(self, prompt: str, continuation: str) -> Scored:
        context = self._format(prompt)
        full = context + continuation
        result = self._post("/completions", self._echo_body(prompt, continuation), full)
        meta = self._meta(result, "/completions")
        if not continuation:
            return Scored((), (), meta=meta)
        lp = _legacy_logprobs(result) or {}
        offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
        if not isinstance(offsets, list) or not isinstance(values, list) or len(offsets) != len(values):
            raise self._shape_error("/completions", "echo without matching text_offset and token_logprobs")
        # Tokens that start inside the continuation; one straddling the boundary (rare
        # with BPE, which splits at whitespace) is counted with the continuation.
        picked = [i for i, off in enumerate(offsets) if len(context) <= off < len(full)]
        straddle = [i for i, off in enumerate(offsets) if off < len(context)]
        if straddle and picked and straddle[-1] + 1 == picked[0] and _token_end(lp, straddle[-1]) > len(context):
            picked.insert(0, straddle[-1])
            meta["boundary_token_shared"] = True
        if any(values[i] is None for i in picked):
            raise CapabilityError(
                f"{self._identity.name}: no log-prob for the first token of a text without context",
                hint="score continuations after a non-empty prompt_template",
            )
        try:
            scored = tuple(_logprob(values[i]) for i in picked)
        except (_NotLogProb, TypeError, ValueError) as exc:
            raise self._shape_error("/completions", f"echo log-probs: {exc}") from None
        return Scored(token_ids=(), logprobs=scored, meta=meta)

    def top_logprobs(self, prompts: Sequence[str], k: int) -> list[list[TopToken]]:
        if Capability.TOP_LOGPROBS not in self.capabilities:
            raise CapabilityError(f"{self._identity.name}: the endpoint does not return top log-probs")
        return self._map(lambda i: self._top_one(prompts[i], k), len(prompts))

    def _top_one(self, prompt: str, k: int) -> list[TopToken]:
        path = "/chat/completions" if self.api == "chat" else "/completions"
        try:
            if self.api == "chat":
                body = self._chat_body(prompt, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=k)
                result = self._post(path, body, prompt)
                content = _chat_logprob_content(result) or [{}]
                entries = [(str(t["token"]), _logprob(t["logprob"])) for t in content[0].get("top_logprobs") or ()]
            else:
                result = self._post(path, self._completion_body(prompt, max_tokens=1, temperature=0.0, logprobs=k), prompt)
                tops = (_legacy_logprobs(result) or {}).get("top_logprobs") or [{}]
                entries = [(str(tok), _logprob(val)) for tok, val in (tops[0] or {}).items()]
        except _NotLogProb as exc:
            raise self._shape_error(path, f"top log-probs: {exc}") from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._shape_error(path, f"top log-probs without {exc}") from None
        entries.sort(key=lambda e: -e[1])
        return [TopToken(token=tok, token_id=None, logprob=val) for tok, val in entries[:k]]


class _NotLogProb(ValueError):
    """A value an endpoint gave as a log-probability that is not one."""


#: Largest log-probability taken as such: 0 plus the rounding servers' float32 arithmetic leaves.
_LOGPROB_SLACK = 1e-4


def _logprob(value: Any) -> float:  # noqa: ANN401 - whatever the server sent
    """``value`` as a log-probability: a finite number <= 0 (NaN, infinities, booleans and positives refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _NotLogProb(f"log-prob {value!r} is not a number")
    number = float(value)
    if not (math.isfinite(number) and number <= _LOGPROB_SLACK):
        raise _NotLogProb(f"log-prob {number} is not a log-probability (a finite number <= 0)")
    return number


def _chat_logprob_content(result: HttpResult | None) -> list[dict[str, Any]] | None:
    if result is None:
        return None
    choice = result.body["choices"][0]
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    return content if isinstance(content, list) and content and isinstance(content[0], dict) else None


def _legacy_logprobs(result: HttpResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    choice = result.body["choices"][0]
    logprobs = choice.get("logprobs") if isinstance(choice, dict) else None
    return logprobs if isinstance(logprobs, dict) else None


def _token_end(lp: dict[str, Any], index: int) -> int:
    tokens = lp.get("tokens") or []
    token = tokens[index] if index < len(tokens) and isinstance(tokens[index], str) else ""
    return int(lp["text_offset"][index]) + len(token)
