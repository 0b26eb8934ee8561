"""The HTTP side of the OpenAI-compatible backend: one POST, retried until it succeeds or must stop.

Kept apart from the backend so that the rules that cost money live in one place:

* retry only what may succeed later: 429, 408, 5xx, timeouts, dropped connections and
  unreadable 200 bodies; never another 4xx (asking again would fail again, and may bill);
* wait as the server says (``Retry-After``) or back off exponentially with jitter;
* pace requests (``RateLimiter``) so the provider's per-minute limits are not hit at all;
* the API key lives only in the ``Authorization`` header of the HTTP client: it is never
  put in a message, a log line or evidence, and any text quoted from the server is
  redacted in case the server echoes it.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import httpx

from provenance.backends.ratelimit import RateLimiter, parse_retry_after, retry_delay
from provenance.errors import EndpointError

#: Response headers worth keeping as identity evidence. Anything else (cookies, auth
#: challenges, tracing with user data) is dropped: evidence keeps only what identifies
#: the answering system or explains its pacing.
EVIDENCE_HEADERS = frozenset(
    {
        "date", "server", "content-type", "x-request-id", "request-id", "openai-model",
        "openai-organization-id", "openai-processing-ms", "openai-version", "x-ratelimit-limit-requests",
        "x-ratelimit-limit-tokens", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-requests", "x-ratelimit-reset-tokens", "retry-after", "via", "cf-ray",
    }
)  # fmt: skip
_RETRY_STATUS = frozenset({408, 429})
#: What a server says when it does not support a parameter (a capability probe's "no").
_PARAMETER_REJECTED = frozenset({400, 422})
_QUOTE_LIMIT = 200  # characters of a server's error text quoted in a message


@dataclass(frozen=True)
class HttpResult:
    """A successful response and how it was obtained (all of it goes into evidence)."""

    body: dict[str, Any]
    status: int
    headers: dict[str, str]
    latency_s: float
    attempts: int
    timestamp: str
    retries: list[str] = field(default_factory=list)


@dataclass
class ClientStats:
    """Counters for the benchmark and the closing note; guarded by the client's lock."""

    requests: int = 0
    retries: int = 0
    succeeded: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class _Retry(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def header_problem(key: str) -> str | None:
    """What in ``key`` an ``Authorization`` header cannot carry (None when it can): visible ASCII only."""
    for index, char in enumerate(key):
        if not "!" <= char <= "~":
            name = {"\r": "a carriage return", "\n": "a line end", " ": "a space", "\t": "a tab"}.get(char)
            return f"{name or f'the character U+{ord(char):04X}'} at position {index + 1}"
    return None

class OpenAIHttpClient:
    """POSTs JSON to an OpenAI-compatible server, with pacing, retries and redaction."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 6,
        limiter: RateLimiter | None = None,
        max_connections: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 30.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = api_key or None
        self._key_env = api_key_env
        self.max_retries = max_retries
        self.limiter = limiter or RateLimiter()
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._lock = threading.Lock()
        self.stats = ClientStats()
        headers = {"Accept": "application/json", "User-Agent": "provenance"}
        if self._secret and header_problem(self._secret):
            raise EndpointError(f"the API key holds {header_problem(self._secret)}, which an HTTP header cannot carry",
                                hint="check the key's value: copied with a line end, a space or a look-alike letter?")  # fmt: skip
        if self._secret:
            headers["Authorization"] = f"Bearer {self._secret}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            headers=headers,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            follow_redirects=False,  # a redirect could carry the key to another host
        )

    def __repr__(self) -> str:  # never show the header dict
        return f"OpenAIHttpClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    # ------------------------------------------------------------------ helpers

    def redact(self, text: str) -> str:
        """``text`` with the API key (if any) replaced: for anything quoted from a server."""
        if self._secret and self._secret in text:
            text = text.replace(self._secret, "[redacted]")
        return text

    def _quote(self, response: httpx.Response) -> str:
        try:
            body = response.json()
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            text = str(message or body)
        except (ValueError, RecursionError):
            text = response.text
        text = " ".join(self.redact(text).split())
        return text[:_QUOTE_LIMIT] + ("..." if len(text) > _QUOTE_LIMIT else "")

    def _evidence_headers(self, response: httpx.Response) -> dict[str, str]:
        return {
            name.lower(): self.redact(value)
            for name, value in response.headers.items()
            if name.lower() in EVIDENCE_HEADERS
        }

    def _count(self, reason: str | None) -> None:
        with self._lock:
            self.stats.requests += 1
            if reason is None:
                self.stats.succeeded += 1
            else:
                self.stats.retries += 1
                self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1

    def _refuse(self, url: str, response: httpx.Response) -> EndpointError:
        """The error for a 4xx that must not be retried, with what the user can do."""
        status = response.status_code
        quoted = self._quote(response)
        if status in (401, 403):
            hint = (
                f"check the key in the environment variable {self._key_env}"
                if self._key_env
                else "this endpoint needs a key: set api_key_env in the case file to the NAME of a variable holding it"
            )
            return EndpointError(f"{url} refused the request: HTTP {status} ({quoted})", hint=hint)
        if status == 404:
            return EndpointError(
                f"{url} answered HTTP 404 ({quoted})",
                hint="check base_url (it usually ends in /v1) and the model name in the case file",
            )
        return EndpointError(
            f"{url} rejected the request: HTTP {status} ({quoted})",
            hint="the server does not accept these parameters; check the model's settings in the case file",
        )

    # ------------------------------------------------------------------ sending

    def _attempt(self, url: str, payload: dict[str, Any], *, accept_4xx: bool) -> tuple[httpx.Response, dict[str, Any] | None]:
        try:
            response = self._http.post(url, json=payload)
        except httpx.TimeoutException:
            raise _Retry("timeout") from None
        except httpx.TransportError as exc:
            raise _Retry(f"connection ({type(exc).__name__})") from None
        status = response.status_code
        if status in _RETRY_STATUS or status >= 500:
            raise _Retry(f"HTTP {status}", parse_retry_after(response.headers.get("retry-after")))
        if status >= 400:
            if accept_4xx and status in _PARAMETER_REJECTED:
                return response, None
            raise self._refuse(url, response)
        try:
            body = response.json()
        except (ValueError, RecursionError):  # not JSON, or nested deeper than a parser should follow
            raise _Retry("malformed JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
            raise _Retry("malformed JSON")
        return response, body

    def post(
        self, path: str, payload: dict[str, Any], *, est_tokens: int = 0, accept_4xx: bool = False
    ) -> HttpResult | None:
        """POST ``payload`` to ``base_url + path``; the parsed body and its evidence.

        Retries as described in the module docstring; raises ``EndpointError`` when it
        must stop. With ``accept_4xx`` (capability probes) a 400 or 422 returns None
        instead of raising: "the server does not take that parameter" is an answer, while
        a wrong key, URL or model name (401, 403, 404) stops at once.
        """
        url = f"{self.base_url}{path}"
        retries: list[str] = []
        for attempt in range(1, self.max_retries + 2):
            slot = self.limiter.acquire(est_tokens)
            started = time.perf_counter()
            try:
                response, body = self._attempt(url, payload, accept_4xx=accept_4xx)
            except _Retry as retry:
                self._count(retry.reason)
                retries.append(retry.reason)
                if attempt > self.max_retries:
                    break
                self._sleep(
                    retry_delay(
                        attempt, retry_after=retry.retry_after, base_s=self.backoff_base_s,
                        cap_s=self.backoff_cap_s, rng=self._rng,
                    )
                )  # fmt: skip
                continue
            latency = time.perf_counter() - started
            self._count(None)
            if body is None:
                return None
            usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
            if isinstance(usage.get("total_tokens"), int):
                self.limiter.settle(slot, usage["total_tokens"])
            return HttpResult(
                body=body,
                status=response.status_code,
                headers=self._evidence_headers(response),
                latency_s=latency,
                attempts=attempt,
                timestamp=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                retries=retries,
            )
        last = retries[-1] if retries else "no answer"
        if all(r.startswith("connection") for r in retries):
            raise EndpointError(
                f"cannot reach {url} after {len(retries)} attempts ({last})",
                hint="check base_url in the case file and that the server is running",
            )
        raise EndpointError(
            f"{url} kept failing: gave up after {len(retries)} attempts (last: {last})",
            hint="the server is failing or overloaded; re-run later: stored answers are kept and not asked again",
        )

