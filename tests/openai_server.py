"""A minimal OpenAI-compatible server on loopback that serves real models, with fault injection.

Why not llama.cpp's server: ``llama-cpp-python[server]`` compiles llama.cpp from source
(about 9 minutes on 2 cores), which does not fit CI's 15 minutes for install plus suite.
This server is small on purpose: Starlette + uvicorn over provenance's own ``HFBackend``,
so for the same seed an answer over HTTP is the very answer the HF backend gives, and a
case run through the HTTP backend can be compared with the same case run locally.

Endpoints (the parts of the OpenAI API the client uses):

* ``POST /v1/chat/completions``: ``messages`` (last user message), ``max_tokens``,
  ``temperature``, ``top_p``, ``seed``, ``n`` (choice i uses seed + i), ``logprobs``,
  ``top_logprobs``;
* ``POST /v1/completions``: raw-text ``prompt`` with the same sampling fields and legacy
  ``logprobs = k``; with ``echo = true, max_tokens = 0`` it returns the log-prob of every
  prompt token with ``tokens``/``text_offset`` (what lm-evaluation-harness uses to score);
* ``GET /v1/models``; ``GET /_stats`` (requests and time spent in the model: the server's
  own capacity, for the benchmark); ``POST /_faults`` (queue faults from another process).

Faults are real HTTP behaviour, applied to the next requests in order: ``429`` (with
``Retry-After``), ``500``, ``drop`` (headers and half a body, then the connection is
closed), ``slow`` (answers only after a delay longer than the client's timeout) and
``malformed`` (a 200 whose body is not JSON). Every request is logged with the fault it
got, so tests can assert that nothing was lost, duplicated or sent twice.

Run on its own: ``python tests/openai_server.py NAME=MODEL_DIR [...] [--port N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from provenance.backends.base import GenerationParams
from provenance.backends.hf import HFBackend


@dataclass(frozen=True)
class Fault:
    """What the server does to one request instead of answering it normally."""

    kind: str  # "429" | "500" | "drop" | "slow" | "malformed"
    retry_after: float | None = None  # for 429
    delay_s: float = 0.0  # for slow
    match: str | None = None  # only a request whose body contains this text gets the fault


class _RawText(HFBackend):
    """The same model seeing raw text (the completions endpoint): no chat template added."""

    def format_prompt(self, prompt: str) -> str:
        return prompt

    def encode_prompt(self, prompt: str) -> list[int]:
        return list(self.tokenizer(prompt, add_special_tokens=False)["input_ids"])


def _error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status)


class OpenAICompatServer:
    """Serves ``{name: model_dir}`` on 127.0.0.1 (port 0: the OS picks), in a background thread."""

    def __init__(
        self, models: dict[str, Path], *, api_key: str | None = None, port: int = 0, logprobs: bool = True,
        echo_key: bool = False,
    ) -> None:
        """``logprobs = False`` plays a server that never returns log-probs (and refuses echo).

        ``echo_key = True`` plays a hostile or careless server that quotes the request's
        ``Authorization`` header at the start of every chat answer.
        """
        self.backends = {name: HFBackend.load(path, batch_size=1) for name, path in models.items()}
        self.raw = {
            name: _RawText(b.model, b.tokenizer, b.identity, batch_size=1) for name, b in self.backends.items()
        }
        self.api_key = api_key
        self.port = port
        self.logprobs = logprobs
        self.echo_key = echo_key
        self.in_flight = 0
        self.max_in_flight = 0
        self.faults: deque[Fault] = deque()
        self.log: list[dict[str, Any]] = []
        self.model_time_s = 0.0
        self._model_lock = threading.Lock()  # one forward pass at a time: the server's capacity
        self._log_lock = threading.Lock()
        self._counter = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        routes = [
            Route("/v1/chat/completions", self._chat, methods=["POST"]),
            Route("/v1/completions", self._completions, methods=["POST"]),
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/_stats", self._stats, methods=["GET"]),
            Route("/_faults", self._queue_faults, methods=["POST"]),
        ]
        self.app = Starlette(routes=routes)

    # ------------------------------------------------------------------ lifecycle

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> OpenAICompatServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self._asgi, interface="asgi3", log_level="critical", lifespan="off", timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the OpenAI-compatible test server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> OpenAICompatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the log and queued faults (between tests sharing one server)."""
        with self._log_lock:
            self.log.clear()
            self.faults.clear()
            self.max_in_flight = 0

    def inject(self, *faults: Fault) -> None:
        """Apply ``faults`` to the next requests, one each, in order."""
        self.faults.extend(faults)

    def _take_fault(self, raw: bytes) -> Fault | None:
        with self._log_lock:
            text = raw.decode("utf-8", "replace")
            for fault in self.faults:
                if fault.match is None or fault.match in text:
                    self.faults.remove(fault)
                    return fault
        return None

    def requests(self, path_suffix: str = "") -> list[dict[str, Any]]:
        """Logged model requests (bodies) whose path ends with ``path_suffix``."""
        with self._log_lock:
            return [e for e in self.log if e["path"].endswith(path_suffix)]

    # ------------------------------------------------------------------ faults (raw ASGI)

    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/") or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        fault = self._take_fault(raw)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self._log_lock:
            self.log.append(
                {"path": scope["path"], "body": body, "fault": fault.kind if fault else None, "headers": headers,
                 "at": time.monotonic()}
            )  # fmt: skip
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._answer(scope, raw, fault, send)
        finally:
            with self._log_lock:
                self.in_flight -= 1

    async def _answer(self, scope: dict[str, Any], raw: bytes, fault: Fault | None, send: Any) -> None:

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        if fault is None:
            await self.app(scope, replay, send)
        elif fault.kind in ("429", "500"):
            extra = [(b"retry-after", str(fault.retry_after).encode())] if fault.retry_after is not None else []
            payload = json.dumps({"error": {"message": f"injected {fault.kind}", "type": "server_error"}}).encode()
            await send(
                {"type": "http.response.start", "status": int(fault.kind),
                 "headers": [(b"content-type", b"application/json"), *extra]}
            )  # fmt: skip
            await send({"type": "http.response.body", "body": payload})
        elif fault.kind == "drop":
            await send(
                {"type": "http.response.start", "status": 200,
                 "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]}
            )  # fmt: skip
            await send({"type": "http.response.body", "body": b'{"id": "cut-', "more_body": True})
            raise ConnectionAbortedError("injected: connection dropped mid-response")
        elif fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            await self.app(scope, replay, send)
        elif fault.kind == "malformed":
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": b'{"choices": [{"message": {"content": "tru'})
        else:
            raise ValueError(f"unknown fault {fault.kind}")

    # ------------------------------------------------------------------ helpers

    def _next_id(self, prefix: str) -> str:
        with self._log_lock:
            self._counter += 1
            return f"{prefix}-{self._counter}"

    def _check(self, request: Request, body: Any) -> JSONResponse | None:
        if self.api_key is not None:
            given = request.headers.get("authorization", "")
            if given != f"Bearer {self.api_key}":
                # Real providers quote the key they were given; the client must redact it.
                return _error(401, f"Incorrect API key provided: {given.removeprefix('Bearer ')}", "invalid_api_key")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        if body.get("model") not in self.backends:
            return _error(404, f"The model {body.get('model')!r} does not exist", "model_not_found")
        return None

    def _timed(self, fn: Any) -> Any:
        with self._model_lock:
            started = time.perf_counter()
            try:
                return fn()
            finally:
                self.model_time_s += time.perf_counter() - started

    def _envelope(self, kind: str, model: str, choices: list[dict[str, Any]], prompt_tokens: int, completion_tokens: int) -> JSONResponse:
        fingerprint = "fp_" + self.backends[model].identity.key[:10]
        body = {
            "id": self._next_id("chatcmpl" if kind == "chat.completion" else "cmpl"),
            "object": kind,
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": fingerprint,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        headers = {"x-request-id": body["id"], "openai-processing-ms": "1", "set-cookie": "session=secret-cookie"}
        return JSONResponse(body, headers=headers)

    @staticmethod
    def _params(body: dict[str, Any], default_max: int) -> tuple[GenerationParams, int, int]:
        params = GenerationParams(
            max_new_tokens=int(body.get("max_tokens") or default_max),
            temperature=float(body.get("temperature", 1.0)),
            top_p=float(body.get("top_p", 1.0)),
            stop=tuple(body.get("stop") or ()),
        )
        return params, int(body.get("seed") or 0), int(body.get("n") or 1)

    def _position_tops(self, backend: HFBackend, prompt_ids: list[int], new_ids: list[int], k: int) -> list[list[tuple[str, float]]]:
        """Top-k next tokens at each generated position (one forward pass)."""
        import torch

        ids = torch.tensor([prompt_ids + new_ids])
        with torch.inference_mode():
            logits = backend.model(input_ids=ids).logits[0]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        out = []
        for step in range(len(new_ids)):
            values, indices = logprobs[len(prompt_ids) - 1 + step].topk(k)
            out.append([(backend.tokenizer.decode([i]), float(v)) for v, i in zip(values.tolist(), indices.tolist())])
        return out

    # ------------------------------------------------------------------ endpoints

    async def _models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": n, "object": "model"} for n in self.backends]})

    async def _stats(self, request: Request) -> JSONResponse:
        return JSONResponse({"requests": len(self.log), "model_time_s": self.model_time_s})

    async def _queue_faults(self, request: Request) -> JSONResponse:
        self.inject(*(Fault(**f) for f in await request.json()))
        return JSONResponse({"queued": len(self.faults)})

    async def _chat(self, request: Request) -> JSONResponse:
        body = await request.json()
        if (problem := self._check(request, body)) is not None:
            return problem
        users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
        if not users:
            return _error(400, "messages must hold a user message")
        prompt = str(users[-1].get("content", ""))
        params, seed, n = self._params(body, 16)
        backend = self.backends[body["model"]]
        systems = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "system"]
        if systems:  # the operator's system prompt, through the model's own chat template
            backend = copy.copy(backend)
            backend.system_prompt = str(systems[-1].get("content", ""))
        want_logprobs = bool(body.get("logprobs")) and self.logprobs
        k = int(body.get("top_logprobs") or 0)
        echoed = f"your key is {request.headers.get('authorization', '')}. " if self.echo_key else ""

        def work() -> tuple[list[dict[str, Any]], int, int]:
            prompt_ids = backend.encode_prompt(prompt)
            choices, completion = [], 0
            for i in range(n):
                gen = backend.generate([prompt], params, seed + i)[0]
                completion += len(gen.token_ids)
                choice: dict[str, Any] = {
                    "index": i,
                    "message": {"role": "assistant", "content": echoed + gen.text},
                    "finish_reason": gen.finish_reason,
                    "logprobs": None,
                }
                if want_logprobs:
                    tops = self._position_tops(backend, prompt_ids, list(gen.token_ids), k) if k else None
                    content = []
                    for step, (tok, lp) in enumerate(zip(gen.token_ids, gen.logprobs or ())):
                        piece = backend.tokenizer.decode([tok])
                        entry = {"token": piece, "logprob": lp, "bytes": list(piece.encode()), "top_logprobs": []}
                        if tops:
                            entry["top_logprobs"] = [
                                {"token": t, "logprob": v, "bytes": list(t.encode())} for t, v in tops[step]
                            ]
                        content.append(entry)
                    choice["logprobs"] = {"content": content}
                choices.append(choice)
            return choices, len(prompt_ids), completion

        choices, prompt_tokens, completion_tokens = await run_in_threadpool(self._timed, work)
        return self._envelope("chat.completion", body["model"], choices, prompt_tokens, completion_tokens)

    async def _completions(self, request: Request) -> JSONResponse:
        body = await request.json()
        if (problem := self._check(request, body)) is not None:
            return problem
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return _error(400, "this server takes prompt as one string")
        raw = self.raw[body["model"]]
        k = int(body.get("logprobs") or 0) if self.logprobs else 0
        if body.get("echo"):
            if not self.logprobs:
                return _error(400, "echo is not supported")
            if int(body.get("max_tokens", 16)) != 0:
                return _error(400, "this server supports echo only with max_tokens = 0 (scoring)")
            choice, prompt_tokens = await run_in_threadpool(self._timed, lambda: self._echo(raw, prompt, k))
            return self._envelope("text_completion", body["model"], [choice], prompt_tokens, 0)
        params, seed, n = self._params(body, 16)

        def work() -> tuple[list[dict[str, Any]], int, int]:
            prompt_ids = raw.encode_prompt(prompt)
            choices, completion = [], 0
            for i in range(n):
                gen = raw.generate([prompt], params, seed + i)[0]
                completion += len(gen.token_ids)
                logprobs = None
                if k:
                    tops = self._position_tops(raw, prompt_ids, list(gen.token_ids), k)
                    logprobs = {
                        "tokens": [raw.tokenizer.decode([t]) for t in gen.token_ids],
                        "token_logprobs": list(gen.logprobs or ()),
                        "top_logprobs": [dict(step) for step in tops],
                        "text_offset": _offsets(raw, list(gen.token_ids), len(prompt)),
                    }
                choices.append({"index": i, "text": gen.text, "finish_reason": gen.finish_reason, "logprobs": logprobs})
            return choices, len(prompt_ids), completion

        choices, prompt_tokens, completion_tokens = await run_in_threadpool(self._timed, work)
        return self._envelope("text_completion", body["model"], choices, prompt_tokens, completion_tokens)

    def _echo(self, raw: _RawText, prompt: str, k: int) -> tuple[dict[str, Any], int]:
        """Log-prob of every prompt token given the ones before it (the first has none)."""
        import torch

        ids = raw.encode_prompt(prompt)
        with torch.inference_mode():
            logits = raw.model(input_ids=torch.tensor([ids])).logits[0]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        token_logprobs: list[float | None] = [None]
        tops: list[dict[str, float] | None] = [None]
        for i in range(1, len(ids)):
            token_logprobs.append(float(logprobs[i - 1, ids[i]]))
            if k:
                values, indices = logprobs[i - 1].topk(k)
                tops.append({raw.tokenizer.decode([t]): float(v) for v, t in zip(values.tolist(), indices.tolist())})
        choice = {
            "index": 0,
            "text": prompt,
            "finish_reason": "length",
            "logprobs": {
                "tokens": [raw.tokenizer.decode([t]) for t in ids],
                "token_logprobs": token_logprobs,
                "top_logprobs": tops if k else None,
                "text_offset": _offsets(raw, ids, 0),
            },
        }
        return choice, len(ids)


def _offsets(backend: HFBackend, ids: list[int], start: int) -> list[int]:
    """Character offset of each token in the decoded text (decoding prefixes, as a client would)."""
    return [start + len(backend.tokenizer.decode(ids[:i])) for i in range(len(ids))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="NAME=MODEL_DIR")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key-env", default=None, help="require the key held by this environment variable")
    args = parser.parse_args(argv)
    import os

    models = dict(item.split("=", 1) for item in args.models)
    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    server = OpenAICompatServer({k: Path(v) for k, v in models.items()}, api_key=key, port=args.port).start()
    print(server.base_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
